"""One function per family of constraints; names say what they define."""

from __future__ import annotations

import numpy as np
import xarray as xr
from linopy import Model

from gigawatt.plan.expressions import (
    Expressions,
    contract_capacity_ef,
    contract_cost,
    required_peak_ef,
)
from gigawatt.plan.inputs import PlanInputs


def define_site_build_limit(m: Model, p: PlanInputs) -> None:
    """Existing plus all facility MW started never exceeds a site's maximum power."""
    if len(p.site) == 0:
        return
    m.add_constraints(m.variables["build_mw"].sum("period") <= p.site_max_mw - p.site_existing_mw,
                      name="site_max_power")


def define_power_limits(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Installed accelerators' facility draw fits in online facility MW and in energised grid power."""
    if len(p.site) == 0:
        return
    m.add_constraints(ex.facility_draw_mw <= ex.online_mw, name="facility_power")
    m.add_constraints(ex.facility_draw_mw <= p.site_energised_mw, name="grid_power")


def define_chip_supply_limits(m: Model, p: PlanInputs) -> None:
    """Units bought per accelerator and period stay within the chip deals that supply them."""
    capped = np.isfinite(p.supply_cap)
    if len(p.site) == 0 or not bool(capped.any()):
        return
    m.add_constraints(m.variables["install"].sum("site") <= p.supply_cap.where(capped, 0), mask=capped,
                      name="chip_supply")


def define_cloud_availability(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Rented accelerators per offer stay under the provider's availability cap."""
    capped = np.isfinite(p.offer_cap)
    if len(p.offer) == 0 or not bool(capped.any()):
        return
    cap = p.offer_cap.where(capped, 0).broadcast_like(p.offer_available)
    m.add_constraints(ex.offer_units <= cap, mask=xr.DataArray(capped).broadcast_like(p.offer_available),
                      name="cloud_availability")


def define_demand_balance(m: Model, p: PlanInputs) -> None:
    """Served plus unmet compute equals each demand, every period it is active."""
    served = (
        m.variables["serve_site"].sum(["site", "acc"])
        + m.variables["serve_offer"].sum("offer")
        + m.variables["serve_contract"].sum("contract")
        + m.variables["unmet"]
    )
    m.add_constraints(served == p.demand_ef, mask=p.demand_ef > 0, name="demand_balance")


def define_pool_capacity(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Each pool's peak EF/s covers what it serves divided by each demand's MFU."""
    mfu = p.demand_mfu
    if len(p.site):
        site_use = (m.variables["serve_site"] / mfu).sum("demand")
        m.add_constraints(site_use <= ex.alive_units * p.acc_peak_ef, mask=p.install_mask, name="site_capacity")
    if len(p.offer):
        offer_peak = p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
        offer_use = (m.variables["serve_offer"] / mfu).sum("demand")
        m.add_constraints(offer_use <= ex.offer_units * offer_peak, mask=p.offer_available, name="offer_capacity")
    if len(p.contract):
        contract_peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
        contract_use = (m.variables["serve_contract"] / mfu).sum("demand")
        m.add_constraints(contract_use <= p.contract_units * contract_peak, mask=p.contract_units > 0,
                          name="contract_capacity")


def define_colocation(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """A frontier run is served from one place only, big enough for its minimum cluster."""
    if len(p.run) == 0:
        return
    run_demand = p.demand_ef.sel(demand=p.run.rename("demand")).rename(demand="run")
    window = run_demand > 0
    families: tuple[tuple[str, str, list[str]], ...] = (("site", "serve_site", ["acc"]), ("offer", "serve_offer", []), ("contract", "serve_contract", []))
    hosts = []
    for kind, serve_name, extra in families:
        host = m.variables[f"host_{kind}"]
        serve = m.variables[serve_name].sel(demand=p.run.rename("demand")).rename(demand="run")
        if extra:
            serve = serve.sum(extra)
        m.add_constraints(serve <= run_demand * host, mask=window, name=f"colocation_{kind}")
        hosts.append(host.sum(kind))
    m.add_constraints(hosts[0] + hosts[1] + hosts[2] <= 1, name="one_host")
    k = p.run_min_units
    if bool((k > 0).any()):
        compat = p.compat.sel(demand=p.run.rename("demand")).rename(demand="run")
        site_units = (ex.alive_units * compat).sum("acc")
        m.add_constraints(site_units >= k * m.variables["host_site"], mask=window & (k > 0),
                          name="min_cluster_site")
        if len(p.offer):
            m.add_constraints(ex.offer_units >= k * m.variables["host_offer"], mask=window & (k > 0),
                              name="min_cluster_offer")


def define_concentration_limits(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """No provider holds more than the allowed share of total capacity."""
    share = p.scenario.policy.max_provider_share
    if share >= 1:
        return
    cap = ex.provider_capacity_ef + contract_capacity_ef(p)
    total = cap.sum("provider")
    m.add_constraints(cap - share * total - m.variables["concentration_over"] <= 0, name="concentration")


def define_n_minus_1_security(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Without any one provider, the rest still hold alpha of each period's needed peak compute."""
    alpha = p.scenario.policy.n_minus_1_alpha
    if alpha <= 0:
        return
    cap = ex.provider_capacity_ef + contract_capacity_ef(p)
    total = cap.sum("provider")
    need = alpha * required_peak_ef(p)
    m.add_constraints(total - cap + m.variables["security_short"] >= need.broadcast_like(cap.const),
                      name="n_minus_1")


def define_budget_limits(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Spending per calendar year stays within the budget (elastic: overrun is a reported slack)."""
    limited = np.isfinite(p.budget)
    if not bool(limited.any()):
        return
    year_of = xr.DataArray(p.year.values, coords=[p.period], name="year")
    spend = ex.variable_spend.groupby(year_of).sum()
    fixed = contract_cost(p).groupby(year_of).sum()
    rhs = (p.budget - fixed).where(limited, 0)
    m.add_constraints(spend - m.variables["budget_over"] <= rhs, mask=limited, name="budget")
