"""A sample's PlanInputs without running build_inputs per sample, yet from build_inputs.

Each factor touches its own rows of the inputs (a contract's units and payments, a site's
online matrix, energised power or electricity price, a deal's share of the chip supply,
the demand rows, cloud prices, a withdrawn cloud offer's availability and active terms,
revenue). For discrete factors (default quarter, whole quarters of delay) the rows are
taken from `build_inputs` run on a scenario where only that factor is set, once per
distinct value, then cached, or cut at the quarter as build_inputs does (defaults);
continuous factors scale rows linearly, as build_inputs does (demand, delivered share,
price multipliers, supply shortfall). `check` compares every array with a full
`build_inputs(apply_sample(...))`: workers run it on their first sample, and the tests on many.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import xarray as xr

from gigawatt.periods import parse_quarter
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.scenario.apply import (
    apply_sample,
    contract_terms,
    demand_multiplier,
    offer_withdrawn_from,
)
from gigawatt.scenario.model import Scenario
from gigawatt.stress.first_stage import StressError

Rows = dict[str, np.ndarray]


def _rows_of(i: int, **fields: str) -> Callable[[PlanInputs], Rows]:
    """Pick row i of some input arrays (name -> PlanInputs field)."""
    return lambda p: {name: np.asarray(getattr(p, f).values[i]) for name, f in fields.items()}


class SampledInputs:
    def __init__(self, scenario: Scenario, base: PlanInputs | None = None) -> None:
        self.scenario = scenario
        self.base = base or build_inputs(scenario)
        self._cache: dict[tuple[object, ...], Rows] = {}
        b = self.base
        self._quarter = np.array([parse_quarter(str(q)) for q in self.base.period])
        self._deal_share: dict[str, np.ndarray] = {}
        for deal in scenario.chip_deals:   # what each deal adds to its accelerator's cap, per period
            without = build_inputs(apply_sample(scenario, {f"chip_deal.{deal.id}.shortfall": 1.0}))
            self._deal_share[deal.id] = np.asarray((b.supply_cap - without.supply_cap).fillna(0.0).values)
        self._demand_ids = [str(d) for d in b.demand]
        self._fixed_miss = {r.id for r in scenario.demand.training if r.miss_penalty_usd is not None}
        self._contracts = {c.id: c for c in scenario.contracts}
        lot_offer = b.lot_offer.values
        self._lots_of = [np.nonzero(lot_offer == str(o))[0] for o in b.offer]
        if [str(o) for o in b.offer] != [o.id for o in scenario.cloud_offers]:
            raise StressError("internal: plan inputs list cloud offers in another order than the scenario")

    def _rows(self, key: tuple[object, ...], values: dict[str, float], pick: Callable[[PlanInputs], Rows]) -> Rows:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = pick(build_inputs(apply_sample(self.scenario, values)))
        return hit

    def __call__(self, values: dict[str, float]) -> PlanInputs:
        b = self.base
        s = self.scenario
        changes: dict[str, object] = {"scenario": apply_sample(s, values)}

        mult = np.array([demand_multiplier(values, d) for d in self._demand_ids])
        if (mult != 1.0).any():
            scale = xr.DataArray(mult, coords=[b.demand])
            changes["demand_ef"] = b.demand_ef * scale
            changes["training_work"] = b.training_work * scale
            # a run's miss penalty is its work at the unmet price, unless the scenario names one
            changes["training_miss_penalty"] = b.training_miss_penalty * xr.DataArray(
                [1.0 if d in self._fixed_miss else m for d, m in zip(self._demand_ids, mult, strict=True)],
                coords=[b.demand])

        if len(b.contract):
            units = b.contract_units.values.copy()
            pay = b.contract_payment.values.copy()
            for i, cid in enumerate(b.contract):      # the contracts in force, in the inputs' order
                c = self._contracts[str(cid)]
                default_q, delay, share = contract_terms(values, c)
                if delay:
                    rows = self._rows(("contract", c.id, delay), {f"contract.{c.id}.delay": delay},
                                      _rows_of(i, units="contract_units", pay="contract_payment"))
                    units[i], pay[i] = rows["units"], rows["pay"]
                if math.isfinite(default_q):     # from the default quarter on: nothing delivered, nothing paid
                    gone = self._quarter >= default_q
                    units[i, gone] = 0.0
                    pay[i, gone] = 0.0
                units[i] *= share
                pay[i] *= share
            changes["contract_units"] = b.contract_units.copy(data=units)
            changes["contract_payment"] = b.contract_payment.copy(data=pay)

        if len(b.site):
            lead = b.site_lead_quarters.values.copy()
            online = b.site_online_matrix.values.copy()
            residual = b.facility_residual.values.copy()
            energised = b.site_energised_mw.values.copy()
            for i, site in enumerate(b.site):
                build = round(max(0.0, values.get(f"site.{site}.construction_delay", 0.0)))
                if build:
                    rows = self._rows(("build", site, build), {f"site.{site}.construction_delay": build},
                                      _rows_of(i, online="site_online_matrix", residual="facility_residual",
                                               lead="site_lead_quarters"))
                    online[i], residual[i], lead[i] = rows["online"], rows["residual"], rows["lead"]
                grid = round(max(0.0, values.get(f"site.{site}.energisation_delay", 0.0)))
                if grid:
                    rows = self._rows(("grid", site, grid), {f"site.{site}.energisation_delay": grid},
                                      _rows_of(i, mw="site_energised_mw"))
                    energised[i] = rows["mw"]
            changes["site_lead_quarters"] = b.site_lead_quarters.copy(data=lead)
            changes["site_online_matrix"] = b.site_online_matrix.copy(data=online)
            changes["facility_residual"] = b.facility_residual.copy(data=residual)
            changes["site_energised_mw"] = b.site_energised_mw.copy(data=energised)
            elec = max(0.0, values.get("prices.electricity", 1.0))
            if elec != 1.0:
                changes["site_elec"] = b.site_elec * elec

        if self._deal_share:
            cap = b.supply_cap.values.copy()
            for deal, part in self._deal_share.items():
                lost = min(1.0, max(0.0, values.get(f"chip_deal.{deal}.shortfall", 0.0)))
                if lost:
                    cap = cap - lost * part
            changes["supply_cap"] = b.supply_cap.copy(data=cap)

        withdrawn = [(i, q) for i, o in enumerate(s.cloud_offers)   # the offers, in the inputs' order
                     if (q := offer_withdrawn_from(values, o)) is not None]
        if withdrawn:       # from the default on: nothing rented, running terms end
            available = b.offer_available.values.copy()
            active = b.lot_active_matrix.values.copy()
            for i, q in withdrawn:
                gone = self._quarter >= q
                available[i, gone] = False
                active[np.ix_(self._lots_of[i], gone)] = 0.0
            changes["offer_available"] = b.offer_available.copy(data=available)
            changes["lot_active_matrix"] = b.lot_active_matrix.copy(data=active)

        cloud = max(0.0, values.get("prices.cloud", 1.0))
        if cloud != 1.0 and len(b.lot):
            changes["lot_price_hour"] = b.lot_price_hour * cloud
        revenue = max(0.0, values.get("revenue", 1.0))
        if revenue != 1.0:
            changes["revenue"] = b.revenue * revenue
        return dataclasses.replace(b, **changes)  # type: ignore[arg-type]

    def check(self, values: dict[str, float], rtol: float = 1e-9) -> None:
        """Every array equals build_inputs(apply_sample(...)); else stop the run, naming the field."""
        fast = self(values)
        full = build_inputs(apply_sample(self.scenario, values))
        for f in dataclasses.fields(PlanInputs):
            a, b = getattr(fast, f.name), getattr(full, f.name)
            if not isinstance(a, xr.DataArray):
                continue
            if a.dtype.kind in "fc":
                same = np.allclose(a.values, b.transpose(*a.dims).values, rtol=rtol, atol=1e-12, equal_nan=True)
            else:
                same = bool((a.values == b.transpose(*a.dims).values).all())
            if not same:
                raise StressError(f"internal: sampled input '{f.name}' differs from build_inputs; "
                                  "gigawatt/stress/inputs.py needs the planner's change")
