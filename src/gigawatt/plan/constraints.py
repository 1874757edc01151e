"""One function per family of constraints; names say what they define."""

from __future__ import annotations

import numpy as np
import xarray as xr
from linopy import LinearExpression, Model

from gigawatt.plan.expressions import (
    Expressions,
    contract_capacity_ef,
    contract_cost,
    incidence,
    required_peak_ef,
)
from gigawatt.plan.inputs import PlanInputs


def define_stock_balances(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Stocks equal their flows: alive = bought within life, online = built past lead time,
    rented = active cloud terms, provider EF/s = what each provider holds."""
    if len(p.site):
        m.add_constraints(ex.alive_units - ex.vintage_sum("install", p.alive_matrix) == 0,
                          mask=p.install_mask, name="alive_balance")
        m.add_constraints(ex.online_mw - ex.vintage_sum("build_mw", p.site_online_matrix) == p.site_existing_mw,
                          name="online_balance")
    if len(p.offer):
        lot_of_offer = incidence(p.lot_offer, xr.DataArray(p.offer, coords=[p.offer]))
        active = (ex.cloud_active_units * lot_of_offer).sum("lot")
        m.add_constraints(ex.offer_units - active == 0, mask=p.offer_available, name="rented_balance")
    providers = xr.DataArray(p.providers, coords=[p.providers])
    held: LinearExpression = 1 * ex.provider_capacity_ef
    if len(p.site):
        held = held - (ex.alive_units * p.acc_peak_ef * incidence(p.site_provider, providers)).sum(["site", "acc"])
    if len(p.offer):
        offer_peak = p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
        held = held - (ex.offer_units * offer_peak * incidence(p.offer_provider, providers)).sum("offer")
    m.add_constraints(held == contract_capacity_ef(p), name="provider_balance")


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
    bounds = host_serve_bounds(p)
    for kind, serve_name, extra in families:
        if m.variables[serve_name].size == 0 or f"host_{kind}" not in m.variables:
            continue
        host = m.variables[f"host_{kind}"]
        serve = m.variables[serve_name].sel(demand=p.run.rename("demand")).rename(demand="run")
        if extra:
            serve = serve.sum(extra)
        # where a location may not host the run (too small), fillna(0) makes it serve nothing
        m.add_constraints(serve - (bounds[kind] * host).fillna(0) <= 0, mask=window, name=f"colocation_{kind}")
        if host.size:
            hosts.append(host.sum(kind))
    if hosts:
        m.add_constraints(sum(hosts[1:], hosts[0]) <= 1, name="one_host")
    k = p.run_min_units
    if bool((k > 0).any()):
        compat = p.compat.sel(demand=p.run.rename("demand")).rename(demand="run")
        site_units = (ex.alive_units * compat).sum("acc")
        m.add_constraints(site_units >= k * m.variables["host_site"], mask=window & (k > 0),
                          name="min_cluster_site")
        if len(p.offer):
            m.add_constraints(ex.offer_units >= k * m.variables["host_offer"], mask=window & (k > 0),
                              name="min_cluster_offer")


def host_serve_bounds(p: PlanInputs) -> dict[str, xr.DataArray]:
    """Tightest big-M for serve <= M x host: the run's demand, or all a location could ever
    deliver to it that period if less. Tight Ms make the relaxation respect co-location."""
    runs = p.run.rename("demand")
    demand = p.demand_ef.sel(demand=runs).rename(demand="run")
    mfu = p.demand_mfu.sel(demand=runs).rename(demand="run")
    compat = p.compat.sel(demand=runs).rename(demand="run")
    site_units = p.site_energised_mw * p.site_units_per_mw
    site_peak = (site_units * p.acc_peak_ef).where(p.install_mask & compat & (p.acc_kw_all_in_per_pue > 0), 0.0)
    # the best accelerator a site could hold (zero where there is none: an empty max has no value)
    site_best = site_peak.max("acc") if len(p.acc) else site_peak.sum("acc")
    offer_peak = p.offer_cap * p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
    contract_peak = p.contract_units * p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
    return {
        "site": xr.where(demand < site_best * mfu, demand, site_best * mfu),
        "offer": xr.where(demand < offer_peak * mfu, demand, offer_peak * mfu),
        "contract": xr.where(demand < contract_peak * mfu, demand, contract_peak * mfu),
    }


def define_concentration_limits(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """No provider holds more than the allowed share of total capacity."""
    share = p.scenario.policy.max_provider_share
    if share >= 1:
        return
    cap = ex.provider_capacity_ef
    m.add_constraints(cap - share * cap.sum("provider") - m.variables["concentration_over"] <= 0,
                      name="concentration")


def define_n_minus_1_security(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Without any one provider, the rest still hold alpha of each period's needed peak compute."""
    alpha = p.scenario.policy.n_minus_1_alpha
    if alpha <= 0:
        return
    cap = ex.provider_capacity_ef
    need = (alpha * required_peak_ef(p)).broadcast_like(xr.DataArray(p.providers, coords=[p.providers]))
    m.add_constraints(cap.sum("provider") - cap + m.variables["security_short"] >= need, name="n_minus_1")


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
