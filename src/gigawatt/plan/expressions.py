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


def incidence(owner: xr.DataArray, index: xr.DataArray) -> xr.DataArray:
    """0/1 matrix [entity, index] saying which index value owns each entity."""
    return (owner == index).astype(float)


def contract_capacity_ef(p: PlanInputs) -> xr.DataArray:
    """Peak EF/s held through signed contracts, per provider and period."""
    peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
    providers = xr.DataArray(p.providers, coords=[p.providers])
    return (p.contract_units * peak * incidence(p.contract_provider, providers)).sum("contract")


def required_peak_ef(p: PlanInputs) -> xr.DataArray:
    """Peak EF/s needed to serve all demand at its MFU, per period."""
    return (p.demand_ef / p.demand_mfu).sum("demand")


def contract_cost(p: PlanInputs) -> xr.DataArray:
    return p.contract_payment.sum("contract")


class Expressions:
    def __init__(self, m: Model, p: PlanInputs) -> None:
        self.m = m
        self.p = p

    def vintage_sum(self, name: str, matrix: xr.DataArray) -> LinearExpression:
        """Sum a per-period decision over the vintages that still count in each period."""
        return (self.m.variables[name].rename(period="vintage") * matrix).sum("vintage")

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
    def provider_capacity_ef(self) -> Variable:
        """Peak EF/s each provider holds per period: owned sites, rentals and contracts."""
        return self.m.variables["provider_ef"]

    @cached_property
    def facility_draw_mw(self) -> LinearExpression:
        """Facility power drawn by installed accelerators (IT with fabric, times PUE)."""
        p = self.p
        return (self.alive_units * p.acc_kw_all_in_per_pue).sum("acc") * p.site_pue / 1000.0

    @cached_property
    def cloud_active_units(self) -> LinearExpression:
        """Rented accelerators active per lot and period (a term keeps them for its length)."""
        return self.vintage_sum("cloud_new", self.p.lot_active_matrix)

    # --- spending, undiscounted USD per period: the objective's and the budget's terms ---

    @cached_property
    def facility_capex(self) -> LinearExpression:
        return (self.m.variables["build_mw"] * self.p.site_capex_per_mw).sum("site")

    @cached_property
    def it_capex(self) -> LinearExpression:
        return (self.m.variables["install"] * self.p.acc_price).sum(["site", "acc"])

    @cached_property
    def energy_cost(self) -> LinearExpression:
        return (self.facility_draw_mw * HOURS_PER_QUARTER * self.p.site_elec).sum("site")

    @cached_property
    def cloud_cost(self) -> LinearExpression:
        return (self.cloud_active_units * self.p.lot_price_hour * HOURS_PER_QUARTER).sum("lot")

    @cached_property
    def variable_spend(self) -> LinearExpression:
        return self.facility_capex + self.it_capex + self.energy_cost + self.cloud_cost
