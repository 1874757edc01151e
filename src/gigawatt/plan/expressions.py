"""Quantities built from the variables: what is online, alive, rented, spent.

Each is computed once per model (cached) because several constraint families,
the objective and the results all read it.
"""

from __future__ import annotations

from functools import cached_property

import xarray as xr
from linopy import LinearExpression, Model, Variable

from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.pools import CoverGroups
from gigawatt.plan.terms import Terms, linear, term


class Expressions:
    def __init__(self, m: Model, p: PlanInputs, groups: CoverGroups) -> None:
        self.m = m
        self.p = p
        self.groups = groups

    def vintage_terms(self, name: str, matrix: xr.DataArray) -> Terms:
        """A per-period decision summed, with `matrix`'s weights, over the vintages that still
        count in each period."""
        return term(self.m.variables[name].labels.rename(period="vintage"), matrix, over="vintage")

    @property
    def alive_units(self) -> Variable:
        """Accelerators installed and not yet retired, per site x acc x period."""
        return self.m.variables["alive"]

    @property
    def online_mw(self) -> Variable:
        """Facility MW online per site: existing plus builds past their lead time."""
        return self.m.variables["online_mw"]

    @property
    def offer_units(self) -> Variable:
        """Accelerators rented per offer and period, over all its terms."""
        return self.m.variables["rented"]

    @property
    def contract_units(self) -> Variable:
        """Contracted accelerators taken per contract and period."""
        return self.m.variables["contract_take"]

    @cached_property
    def facility_draw(self) -> Terms:
        """Facility MW drawn by installed accelerators (IT with fabric, times PUE), per site."""
        p = self.p
        return term(self.alive_units, p.acc_kw_all_in_per_pue * p.site_pue / 1000.0, over="acc")

    # --- spending, undiscounted USD per period: the objective's and the budget's terms ---

    @cached_property
    def spend_terms(self) -> dict[str, Terms]:
        """Each kind of spending per period, as terms (the budget and the objective sum them)."""
        p, v = self.p, self.m.variables
        per_unit = (p.contract_payment / p.contract_units).where(p.contract_units > 0, 0.0)
        return {
            "facility_capex": term(v["build_mw"], p.site_capex_per_mw, over="site"),
            "it_capex": term(v["install"], p.acc_price, over=["site", "acc"]),
            "energy_cost": self.facility_draw.times(HOURS_PER_QUARTER * p.site_elec).summed(["site"]),
            "cloud_cost": self.vintage_terms("cloud_new", p.lot_active_matrix * p.lot_price_hour
                                             * HOURS_PER_QUARTER).summed(["lot"]),
            # payments for contracted capacity taken (all of it under take-or-pay)
            "contract_cost": term(v["contract_take"], per_unit, over="contract"),
        }

    @cached_property
    def facility_capex(self) -> LinearExpression:
        return linear(self.m, self.spend_terms["facility_capex"])

    @cached_property
    def it_capex(self) -> LinearExpression:
        return linear(self.m, self.spend_terms["it_capex"])

    @cached_property
    def energy_cost(self) -> LinearExpression:
        return linear(self.m, self.spend_terms["energy_cost"])

    @cached_property
    def cloud_cost(self) -> LinearExpression:
        return linear(self.m, self.spend_terms["cloud_cost"])

    @cached_property
    def contract_cost(self) -> LinearExpression:
        return linear(self.m, self.spend_terms["contract_cost"])

    @cached_property
    def spend(self) -> LinearExpression:
        """Everything the plan pays per period, undiscounted: the budget's and the NPV's terms."""
        return linear(self.m, *self.spend_terms.values())
