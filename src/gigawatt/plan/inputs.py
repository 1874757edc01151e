"""Turn a scenario plus the catalog into labelled arrays the model is built from.

Everything the optimisation needs is computed here, once, and checked for NaN
and alignment before any variable exists (a silent NaN drops terms in linopy).
One function per family (money, accelerators, sites, offers, contracts, demand),
as the model's define_* functions are split.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import xarray as xr

from gigawatt.catalog import load_catalog
from gigawatt.economics.finance import accelerators_in_mw, usd_per_exaflop_day
from gigawatt.economics.hardware_prices import installed_price_table, scenario_curves
from gigawatt.errors import PlanError
from gigawatt.periods import (
    HOURS_PER_QUARTER,
    SECONDS_PER_QUARTER,
    parse_quarter,
    quarter_label,
    quarter_year,
)
from gigawatt.scenario.model import Scenario, SiteKind

BUILDABLE = (SiteKind.owned, SiteKind.colocation)
UNMET_PENALTY_MULTIPLE = 2.0  # unmet compute costs twice the dearest catalog cloud price


@dataclass(frozen=True)
class AcceleratorSpec:
    id: str
    tflops: float
    it_kw: float | None
    unit_price_usd: float | None
    decline: float
    life_quarters: int

    @property
    def peak_ef(self) -> float:
        """Peak dense BF16 exaFLOP/s of one accelerator."""
        return self.tflops / 1e6


@dataclass
class PlanInputs:
    """Labelled parameters of one planning problem (coords are pandas Indexes)."""

    scenario: Scenario
    period: pd.Index
    year: xr.DataArray                  # period -> calendar year
    discount: xr.DataArray              # period -> discount factor to the start of money.base_year
    discount_end: float                 # discount factor at the horizon's end
    accelerators: dict[str, AcceleratorSpec]
    fabric_overhead: float
    default_pue: float
    # owned / colocation sites
    site: pd.Index
    site_provider: xr.DataArray
    site_region: xr.DataArray
    site_max_mw: xr.DataArray
    site_existing_mw: xr.DataArray
    site_energised_mw: xr.DataArray     # site x period
    site_pue: xr.DataArray
    site_elec: xr.DataArray             # USD/MWh
    site_capex_per_mw: xr.DataArray     # USD per MW of facility power (the IT-MW price / PUE)
    site_lead_quarters: xr.DataArray
    site_online_matrix: xr.DataArray    # site x period x vintage: 1 if MW started in vintage is online
    facility_residual: xr.DataArray     # site x vintage: share of facility value left at horizon end
    install_mask: xr.DataArray          # site x acc x period
    acc: pd.Index
    acc_peak_ef: xr.DataArray
    acc_kw_all_in_per_pue: xr.DataArray  # IT kW x (1 + fabric), times a site's PUE gives facility kW
    acc_price: xr.DataArray             # acc x period, USD per unit bought that period
    acc_ships_from: xr.DataArray        # acc: first quarter (absolute) it ships in volume; 0 = always
    alive_matrix: xr.DataArray          # acc x period x vintage
    acc_residual: xr.DataArray          # acc x vintage: share of unit value left at horizon end
    supply_cap: xr.DataArray            # acc x period (inf where no deal limits it)
    supply_deals: dict[str, list[str]]  # acc -> deal ids limiting it
    # cloud
    offer: pd.Index
    offer_provider: xr.DataArray
    offer_region: xr.DataArray
    offer_acc: xr.DataArray
    offer_cap: xr.DataArray             # offer (inf = unlimited)
    offer_available: xr.DataArray       # offer x period
    lot: pd.Index                       # offer x term, flattened
    lot_offer: xr.DataArray
    lot_price_hour: xr.DataArray
    lot_active_matrix: xr.DataArray     # lot x period x vintage
    # contracts in force
    contract: pd.Index
    contract_provider: xr.DataArray
    contract_region: xr.DataArray
    contract_acc: xr.DataArray
    contract_units: xr.DataArray        # contract x period: capacity when fully taken
    contract_payment: xr.DataArray      # contract x period: USD when fully taken
    contract_min_take: xr.DataArray     # contract: share paid for whether used or not (1 = take-or-pay)
    # demand
    demand: pd.Index
    demand_kind: xr.DataArray           # training | inference
    demand_mfu: xr.DataArray
    demand_ef: xr.DataArray             # demand x period, effective EF/s (training: its average rate)
    demand_penalty: xr.DataArray        # demand: USD per effective EF/s-quarter unmet (inference)
    training_work: xr.DataArray         # demand: effective EF/s-quarters a run needs (0 for inference)
    training_miss_penalty: xr.DataArray  # demand: USD if a run does not complete in its window
    training_end_discount: xr.DataArray  # demand: discount factor at the end of its window
    compat: xr.DataArray                # demand x acc
    demand_site_ok: xr.DataArray        # demand x site: the site is in a region the demand allows
    demand_offer_ok: xr.DataArray       # demand x offer
    demand_contract_ok: xr.DataArray    # demand x contract
    run: pd.Index                       # co-located training runs
    run_min_units: xr.DataArray
    # finance and policy
    budget: xr.DataArray                # year (inf = none)
    revenue: xr.DataArray               # year
    providers: pd.Index
    it_life_years: float
    notes: list[str] = field(default_factory=list)
    # sampled futures of a stochastic plan: recourse variables carry this dimension (None: one future)
    futures: pd.Index | None = None
    # arrays derived from the fields above, each computed once (see `derived`); replace() starts
    # afresh
    derived_arrays: dict[str, Any] = field(default_factory=dict, init=False, repr=False,
                                           compare=False)

    @property
    def site_units_per_mw(self) -> xr.DataArray:
        """site x acc: accelerators one MW of facility power holds there (inf for rent-only parts)."""
        return 1000 / (self.acc_kw_all_in_per_pue * self.site_pue)

    @property
    def is_training(self) -> xr.DataArray:
        return self.demand_kind == "training"

    @property
    def serves_site(self) -> xr.DataArray:
        """demand x site x acc: the pool may serve the demand (accelerator and region)."""
        return self.compat & self.demand_site_ok & self.install_mask.any("period")

    @property
    def serves_offer(self) -> xr.DataArray:
        """demand x offer."""
        return self.compat.sel(acc=self.offer_acc).drop_vars("acc") & self.demand_offer_ok

    @property
    def serves_contract(self) -> xr.DataArray:
        """demand x contract."""
        return self.compat.sel(acc=self.contract_acc).drop_vars("acc") & self.demand_contract_ok


T = TypeVar("T")


def derived(compute: Callable[[PlanInputs], T]) -> Callable[[PlanInputs], T]:
    """A value computed from the inputs once per PlanInputs: several build steps read it (host
    eligibility, serve bounds), and the inputs do not change once built."""
    @functools.wraps(compute)
    def once(p: PlanInputs) -> T:
        key = f"{compute.__module__}.{compute.__qualname__}"
        if key not in p.derived_arrays:
            p.derived_arrays[key] = compute(p)
        return cast(T, p.derived_arrays[key])
    return once


def _da(values: object, *coords: pd.Index) -> xr.DataArray:
    if not coords:
        return xr.DataArray(values)
    data = np.asarray(values, dtype=float).reshape([len(c) for c in coords])  # empty lists keep their shape
    return xr.DataArray(data, coords=list(coords))


def _accelerator_specs(s: Scenario, it_life_years: float) -> dict[str, AcceleratorSpec]:
    """Catalog accelerators with the scenario's overrides; prices from economics.hardware_prices."""
    cat = load_catalog()
    curves = scenario_curves(s)
    life = max(1, round(it_life_years * 4))

    def price(acc_id: str) -> tuple[float | None, float]:
        c = curves.get(acc_id)
        return (c.launch_usd, c.decline_per_year) if c else (None, 0.0)

    specs: dict[str, AcceleratorSpec] = {}
    for acc in cat.accelerators.values():
        specs[acc.id] = AcceleratorSpec(
            acc.id, acc.bf16_dense_tflops, acc.it_kw.value if acc.it_kw else None, *price(acc.id), life,
        )
    for o in s.accelerators:
        base = specs.get(o.id) or AcceleratorSpec(o.id, 0.0, None, None, 0.0, life)
        specs[o.id] = AcceleratorSpec(
            id=o.id,
            tflops=o.bf16_dense_tflops or base.tflops,
            it_kw=o.it_kw if o.it_kw is not None else base.it_kw,
            unit_price_usd=price(o.id)[0],
            decline=price(o.id)[1],
            life_quarters=max(1, round(o.life_years * 4)) if o.life_years else base.life_quarters,
        )
    return specs


def _vintage_matrix(starts_online_after: np.ndarray, lasts: np.ndarray, n: int) -> np.ndarray:
    """[entity, period, vintage] = 1 where a unit started in `vintage` counts in `period`."""
    p = np.arange(n)[None, :, None]
    v = np.arange(n)[None, None, :]
    lag = starts_online_after[:, None, None]
    life = lasts[:, None, None]
    return ((p >= v + lag) & (p < v + lag + life)).astype(float)


def in_regions(pool_region: str, allowed: list[str]) -> bool:
    """A pool in 'us-east' serves demand allowed in 'us' or 'us-east'; no list means anywhere."""
    region = pool_region.lower()
    return not allowed or any(region == a.lower() or region.startswith(a.lower() + "-") for a in allowed)


def _region_matrix(allowed: list[list[str]], demand: pd.Index, regions: xr.DataArray) -> xr.DataArray:
    pools = regions.dims[0]
    ok = np.array([[in_regions(str(r), a) for r in regions.values] for a in allowed], dtype=bool)
    return xr.DataArray(ok.reshape(len(demand), regions.size), coords=[demand, regions.indexes[pools]])


def _money(s: Scenario, qs: np.ndarray, period: pd.Index) -> dict[str, object]:
    d = load_catalog().defaults
    rate = s.money.discount_rate if s.money.discount_rate is not None else d["discount_rate"].value
    base_q = 4 * s.money.base_year if s.money.base_year is not None else qs[0]
    years_from_base = (qs - base_q) / 4.0
    end_years = (qs[-1] + 1 - base_q) / 4.0
    return {
        "discount": _da((1 + rate) ** -years_from_base, period),
        "discount_end": float((1 + rate) ** -end_years),
        "year": xr.DataArray([quarter_year(q) for q in qs], coords=[period]),
    }


def _ships_from(acc: str) -> int:
    """First quarter an accelerator can be bought: its first volume shipments in the fact base."""
    known = load_catalog().accelerators.get(acc)
    return (known.ships_from or 0) if known else 0


def _accelerators(s: Scenario, sites: list, qs: np.ndarray, period: pd.Index, specs: dict[str, AcceleratorSpec],
                  fabric: float, default_pue: float) -> dict[str, object]:
    n = len(qs)
    vintage = period.rename("vintage")
    buyable = sorted({a for a, sp in specs.items() if sp.it_kw and sp.unit_price_usd})
    used_at_sites: set[str] = set()
    for x in sites:
        for a in x.accelerators:
            sp = specs[a]
            if not (sp.it_kw and sp.unit_price_usd):
                raise PlanError(
                    f"site '{x.id}' lists '{a}', which is rent-only or has no power/price in the catalog; "
                    f"remove it from sites[].accelerators or give it_kw and unit_price_usd under accelerators"
                )
        used_at_sites |= set(x.accelerators or buyable)
    deals = [dl for dl in s.chip_deals if dl.status in s.policy.statuses_in_force]
    acc_ids = sorted(used_at_sites | {o.accelerator for o in s.cloud_offers}
                     | {c.accelerator for c in s.contracts} | {dl.accelerator for dl in s.chip_deals})
    acc = pd.Index(acc_ids, name="acc")
    price = installed_price_table(s, acc_ids, qs)
    lives = np.array([specs[a].life_quarters for a in acc_ids], dtype=int)
    # an accelerator any deal covers is bought only through the deals in force (none in force: none)
    supply = np.full((len(acc_ids), n), np.inf)
    for deal in s.chip_deals:
        supply[acc_ids.index(deal.accelerator)] = 0.0
    supply_deals: dict[str, list[str]] = {}
    for deal in deals:
        j = acc_ids.index(deal.accelerator)
        sp = specs[deal.accelerator]
        if deal.units_per_quarter is not None:
            units = deal.units_per_quarter
        else:
            if not sp.it_kw:
                raise PlanError(f"chip deal '{deal.id}' is in MW but '{deal.accelerator}' has no it_kw; give units_per_quarter")
            units = accelerators_in_mw(deal.mw_per_quarter or 0.0, sp.it_kw, fabric, default_pue)
        supply[j, (qs >= parse_quarter(deal.start)) & (qs <= parse_quarter(deal.end))] += units
        supply_deals.setdefault(deal.accelerator, []).append(deal.id)
    return {
        "acc": acc, "buyable": buyable,
        "acc_peak_ef": _da([specs[a].peak_ef for a in acc_ids], acc),
        "acc_kw_all_in_per_pue": _da([(specs[a].it_kw or 0.0) * (1 + fabric) for a in acc_ids], acc),
        "acc_price": _da(price, acc, period),
        "acc_ships_from": _da([_ships_from(a) for a in acc_ids], acc),
        "alive_matrix": _da(_vintage_matrix(np.zeros(len(acc_ids), dtype=int), lives, n), acc, period, vintage),
        "acc_residual": _da(np.clip((np.arange(n)[None, :] + lives[:, None] - n) / lives[:, None], 0, 1),
                            acc, vintage),
        "supply_cap": _da(supply, acc, period),
        "supply_deals": supply_deals,
    }


def _sites(s: Scenario, qs: np.ndarray, period: pd.Index, acc: pd.Index, buyable: list[str],
           default_pue: float, notes: list[str]) -> dict[str, object]:
    d = load_catalog().defaults
    n = len(qs)
    vintage = period.rename("vintage")
    sites = [x for x in s.sites if x.kind in BUILDABLE]
    notes += [f"site '{x.id}' is a cloud region: nothing is built there; rent it through cloud_offers"
              for x in s.sites if x.kind not in BUILDABLE]
    site = pd.Index([x.id for x in sites], name="site")
    energised = np.zeros((len(sites), n))
    for i, x in enumerate(sites):
        if not x.energisation:
            energised[i, :] = x.max_power_mw
        for step in sorted(x.energisation, key=lambda e: parse_quarter(e.from_)):
            energised[i, qs >= parse_quarter(step.from_)] = min(step.mw, x.max_power_mw)
    leads = np.array([
        x.construction_lead_time_quarters if x.construction_lead_time_quarters is not None
        else round(d["construction_lead_time_quarters"].value) for x in sites
    ], dtype=int)
    facility_life_q = max(1, round((s.finance.facility_life_years or d["facility_life_years"].value) * 4))
    pue = np.array([x.pue or default_pue for x in sites])
    capex_per_it_mw = np.array([x.facility_capex_usd_per_it_mw if x.facility_capex_usd_per_it_mw is not None
                                else d["facility_capex_usd_per_mw"].value for x in sites])
    mask = np.zeros((len(sites), len(acc), n), dtype=bool)
    for i, x in enumerate(sites):
        allowed = set(x.accelerators or buyable)
        for j, a in enumerate(acc):
            mask[i, j, :] = (a in allowed and a in buyable) & (qs >= _ships_from(a))  # none before it ships
    return {
        "site": site,
        "site_provider": xr.DataArray([x.provider for x in sites], coords=[site]),
        "site_region": xr.DataArray([(x.region or x.country).lower() for x in sites], coords=[site]),
        "site_max_mw": _da([x.max_power_mw for x in sites], site),
        "site_existing_mw": _da([x.existing_mw for x in sites], site),
        "site_energised_mw": _da(energised, site, period),
        "site_pue": _da(pue, site),
        "site_elec": _da([x.electricity_usd_per_mwh if x.electricity_usd_per_mwh is not None
                          else d["electricity_usd_per_mwh"].value for x in sites], site),
        "site_capex_per_mw": _da(capex_per_it_mw / pue if len(sites) else [], site),
        "site_lead_quarters": _da(leads, site),
        "site_online_matrix": _da(_vintage_matrix(leads, np.full(len(sites), 10**6), n), site, period, vintage),
        "facility_residual": _da(np.clip(
            (np.arange(n)[None, :] + leads[:, None] + facility_life_q - n) / facility_life_q, 0, 1
        ), site, vintage),
        "install_mask": xr.DataArray(mask, coords=[site, acc, period]),
    }


def _offers(s: Scenario, qs: np.ndarray, period: pd.Index) -> dict[str, object]:
    n = len(qs)
    offer = pd.Index([o.id for o in s.cloud_offers], name="offer")
    lots, lot_offer, lot_price, lot_term = [], [], [], []
    for o in s.cloud_offers:
        for term in o.terms:
            lots.append(f"{o.id}/{term.quarters}q")
            lot_offer.append(o.id)
            lot_price.append(term.price_usd_per_accelerator_hour)
            lot_term.append(term.quarters)
    lot = pd.Index(lots, name="lot")
    available = np.array([
        [o.available_from is None or q >= parse_quarter(o.available_from) for q in qs] for o in s.cloud_offers
    ], dtype=bool).reshape(len(offer), n)
    withdrawn = np.array([
        [o.withdrawn_from is not None and q >= parse_quarter(o.withdrawn_from) for q in qs] for o in s.cloud_offers
    ], dtype=bool).reshape(len(offer), n)
    available &= ~withdrawn
    active = _vintage_matrix(np.zeros(len(lots), dtype=int), np.array(lot_term, dtype=int), n)
    # a withdrawn offer's running terms end with it: no later quarter is delivered or paid
    active[withdrawn[offer.get_indexer(lot_offer)]] = 0.0
    return {
        "offer": offer,
        "offer_provider": xr.DataArray([o.provider for o in s.cloud_offers], coords=[offer]),
        "offer_region": xr.DataArray([o.region.lower() for o in s.cloud_offers], coords=[offer]),
        "offer_acc": xr.DataArray([o.accelerator for o in s.cloud_offers], coords=[offer]),
        "offer_cap": _da([o.max_accelerators if o.max_accelerators is not None else np.inf
                          for o in s.cloud_offers], offer),
        "offer_available": xr.DataArray(available, coords=[offer, period]),
        "lot": lot, "lot_offer": xr.DataArray(lot_offer, coords=[lot]),
        "lot_price_hour": _da(lot_price, lot),
        "lot_active_matrix": _da(active, lot, period, period.rename("vintage")),
    }


def _contracts(s: Scenario, qs: np.ndarray, period: pd.Index, specs: dict[str, AcceleratorSpec],
               fabric: float, default_pue: float, notes: list[str]) -> dict[str, object]:
    in_force = [c for c in s.contracts if c.status in s.policy.statuses_in_force]
    notes += [f"contract '{c.id}' has status '{c.status}', not in policy.statuses_in_force: left out"
              for c in s.contracts if c.status not in s.policy.statuses_in_force]
    notes += [f"chip deal '{dl.id}' has status '{dl.status}', not in policy.statuses_in_force: left out"
              for dl in s.chip_deals if dl.status not in s.policy.statuses_in_force]
    contract = pd.Index([c.id for c in in_force], name="contract")
    units_by_period = np.zeros((len(contract), len(qs)))
    pay = np.zeros((len(contract), len(qs)))
    for i, c in enumerate(in_force):
        active = (qs >= parse_quarter(c.start)) & (qs < parse_quarter(c.start) + c.term_quarters)
        if c.capacity_accelerators is not None:
            units = c.capacity_accelerators
        else:
            sp = specs[c.accelerator]
            if not sp.it_kw:
                raise PlanError(f"contract '{c.id}' is in MW but '{c.accelerator}' has no it_kw; give capacity_accelerators")
            units = accelerators_in_mw(c.capacity_mw or 0.0, sp.it_kw, fabric, default_pue)
        units_by_period[i, active] = units
        pay[i, active] = c.usd_per_quarter
        if not active.any():
            notes.append(f"contract '{c.id}' lies outside the horizon and is ignored")
    return {
        "contract": contract,
        "contract_provider": xr.DataArray([c.counterparty for c in in_force], coords=[contract]),
        "contract_region": xr.DataArray([c.region.lower() for c in in_force], coords=[contract]),
        "contract_acc": xr.DataArray([c.accelerator for c in in_force], coords=[contract]),
        "contract_units": _da(units_by_period, contract, period),
        "contract_payment": _da(pay, contract, period),
        "contract_min_take": _da([1.0 if c.take_or_pay else (c.min_take_share or 0.0) for c in in_force], contract),
    }


def unmet_price_per_exaflop_quarter(s: Scenario, effective: float) -> float:
    """USD per effective EF/s-quarter not served: the policy's price, or twice what the catalog's
    dearest cloud charges for it. `effective`: the share of peak compute the demand gets from what
    it holds (MFU or utilisation, times availability), as in `demand_mfu`."""
    days_q = HOURS_PER_QUARTER / 24
    if s.policy.unmet_penalty_usd_per_exaflop_day is not None:
        return s.policy.unmet_penalty_usd_per_exaflop_day * days_q
    cat = load_catalog()
    dearest = max(
        usd_per_exaflop_day(p.usd_per_gpu_hour, cat.accelerators[p.accelerator].bf16_dense_tflops)
        for p in cat.cloud_prices.values() if p.usd_per_gpu_hour and p.accelerator
    )
    return UNMET_PENALTY_MULTIPLE * dearest / effective * days_q


def _demand(s: Scenario, qs: np.ndarray, period: pd.Index, acc: pd.Index, specs: dict[str, AcceleratorSpec],
            discount: xr.DataArray, notes: list[str]) -> dict[str, object]:
    n = len(qs)
    ids, kinds, mfus, rows, allowed_accs, allowed_regions = [], [], [], [], [], []
    work, miss, end_df, penalty, runs, run_min = [], [], [], [], [], []
    for r in s.demand.training:
        first, last = parse_quarter(r.start), parse_quarter(r.end)
        window = (qs >= first) & (qs <= last)
        if r.total_exaflop is not None:
            exaflop = r.total_exaflop
        else:
            ref = specs[r.reference_accelerator or ""]
            exaflop = (r.accelerator_hours or 0) * 3600 * ref.tflops * 1e12 * r.mfu / 1e18
        n_q = last - first + 1
        inside = int(window.sum())
        if inside < n_q:
            notes.append(f"training run '{r.id}' runs {r.start}-{r.end}: only {inside} of its {n_q} quarters "
                         "lie in the horizon; that share of its compute is planned")
        ef_quarters = exaflop / SECONDS_PER_QUARTER * inside / n_q
        ids.append(r.id)
        kinds.append("training")
        mfus.append(r.mfu * r.availability)       # held accelerators deliver only this share
        rows.append(np.where(window, exaflop / (n_q * SECONDS_PER_QUARTER), 0.0))
        allowed_accs.append(set(r.allowed_accelerators))
        allowed_regions.append(r.regions)
        work.append(ef_quarters)
        miss.append(r.miss_penalty_usd if r.miss_penalty_usd is not None
                    else ef_quarters * unmet_price_per_exaflop_quarter(s, r.mfu * r.availability))
        end_df.append(float(discount.values[window][-1]) if inside else 1.0)
        penalty.append(0.0)
        if r.colocated if r.colocated is not None else r.min_colocated_accelerators > 0:
            runs.append(r.id)
            run_min.append(r.min_colocated_accelerators)
    for load in s.demand.inference:
        row = np.zeros(n)
        if load.exaflops:
            for label, value in sorted(load.exaflops.items(), key=lambda kv: parse_quarter(kv[0])):
                row[qs >= parse_quarter(label)] = value
        else:
            start = parse_quarter(load.start or quarter_label(qs[0]))
            grow = (1 + load.growth_per_year) ** ((qs - start) / 4.0)
            row = np.where(qs >= start, (load.start_exaflops or 0.0) * grow, 0.0)
        ids.append(load.id)
        kinds.append("inference")
        mfus.append(load.utilization * load.availability)
        rows.append(row)
        allowed_accs.append(set(load.allowed_accelerators))
        allowed_regions.append(load.regions)
        work.append(0.0)
        miss.append(0.0)
        end_df.append(1.0)
        penalty.append(unmet_price_per_exaflop_quarter(s, load.utilization * load.availability))
    demand = pd.Index(ids, name="demand")
    compat = np.array([[not allowed or a in allowed for a in acc] for allowed in allowed_accs], dtype=bool)
    run = pd.Index(runs, name="run")
    return {
        "demand": demand, "allowed_regions": allowed_regions,
        "demand_kind": xr.DataArray(kinds, coords=[demand]),
        "demand_mfu": _da(mfus, demand),
        "demand_ef": _da(np.array(rows).reshape(len(ids), n), demand, period),
        "demand_penalty": _da(penalty, demand),
        "training_work": _da(work, demand),
        "training_miss_penalty": _da(miss, demand),
        "training_end_discount": _da(end_df, demand),
        "compat": xr.DataArray(compat.reshape(len(ids), len(acc)), coords=[demand, acc]),
        "run": run, "run_min_units": _da(run_min, run),
    }


def build_inputs(s: Scenario) -> PlanInputs:
    cat = load_catalog()
    d = cat.defaults
    labels = s.horizon.periods
    period = pd.Index(labels, name="period")
    qs = np.array([parse_quarter(x) for x in labels])
    it_life = s.finance.it_life_years or d["it_life_years"].value
    fabric = d["fabric_overhead"].value
    default_pue = d["pue"].value
    specs = _accelerator_specs(s, it_life)
    notes: list[str] = []
    money = _money(s, qs, period)
    sites_buildable = [x for x in s.sites if x.kind in BUILDABLE]
    accs = _accelerators(s, sites_buildable, qs, period, specs, fabric, default_pue)
    acc, buyable = accs.pop("acc"), accs.pop("buyable")
    sites = _sites(s, qs, period, acc, buyable, default_pue, notes)  # type: ignore[arg-type]
    offers = _offers(s, qs, period)
    contracts = _contracts(s, qs, period, specs, fabric, default_pue, notes)
    demand = _demand(s, qs, period, acc, specs, money["discount"], notes)  # type: ignore[arg-type]
    allowed_regions = demand.pop("allowed_regions")
    years = sorted({quarter_year(q) for q in qs})
    year = pd.Index(years, name="year")
    inputs = PlanInputs(
        scenario=s, period=period, accelerators=specs, fabric_overhead=fabric, default_pue=default_pue,
        acc=acc, **money, **accs, **sites, **offers, **contracts, **demand,  # type: ignore[arg-type]
        demand_site_ok=_region_matrix(allowed_regions, demand["demand"], sites["site_region"]),  # type: ignore[arg-type]
        demand_offer_ok=_region_matrix(allowed_regions, demand["demand"], offers["offer_region"]),  # type: ignore[arg-type]
        demand_contract_ok=_region_matrix(allowed_regions, demand["demand"], contracts["contract_region"]),  # type: ignore[arg-type]
        budget=_da([s.finance.budget_usd_per_year.get(y, np.inf) for y in years], year),
        revenue=_da([s.finance.revenue_usd_per_year.get(y, 0.0) for y in years], year),
        providers=pd.Index(sorted({p.id for p in s.providers}), name="provider"),
        it_life_years=it_life, notes=notes,
    )
    _check_finite(inputs)
    return inputs


def _check_finite(p: PlanInputs) -> None:
    """No NaN may reach the model: it would silently drop terms."""
    for name, value in vars(p).items():
        if isinstance(value, xr.DataArray) and value.dtype.kind == "f" and bool(value.isnull().any()):
            raise PlanError(f"internal: input '{name}' has NaN values; please report this with your scenario")
