"""One function per family of constraints; names say what they define."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from linopy import Model, Variable

from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs, derived
from gigawatt.plan.pools import CoverGroups, host_eligibility
from gigawatt.plan.sharing import carries, serve_carrier, served_demand
from gigawatt.plan.terms import Terms, constrain, grouped, previous, term


def define_stock_balances(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Stocks equal their flows: alive = bought within life, online = built past lead time,
    rented = active cloud terms.

    Written as period-to-period changes (stock now - stock before = what starts counting - what
    stops), not as sums over every vintage: a few terms per row instead of one per past quarter,
    which makes the LP several times sparser and faster to solve.
    """
    if len(p.site):
        constrain(m, [term(ex.alive_units), term(previous(ex.alive_units), -1.0),
                      -ex.vintage_terms("install", stock_step(p.alive_matrix))],
                  "==", 0, mask=p.install_mask, name="alive_balance")
        first = xr.DataArray(np.arange(len(p.period)) == 0, coords=[p.period])
        constrain(m, [term(ex.online_mw), term(previous(ex.online_mw), -1.0),
                      -ex.vintage_terms("build_mw", stock_step(p.site_online_matrix))],
                  "==", p.site_existing_mw * first, name="online_balance")
    if len(p.offer):
        # group lots by offer: an incidence product would grow with offers x lots
        starts = ex.vintage_terms("cloud_new", stock_step(p.lot_active_matrix))
        starts = grouped(starts, "lot", p.lot_offer, p.offer)
        constrain(m, [term(ex.offer_units), term(previous(ex.offer_units), -1.0), -starts],
                  "==", 0, mask=p.offer_available, name="rented_balance")


def stock_step(matrix: xr.DataArray) -> xr.DataArray:
    """[period, vintage] change of a vintage matrix from the period before: +1 where a vintage
    starts counting, -1 where it stops."""
    return matrix - matrix.shift(period=1, fill_value=0.0)


def define_site_build_limit(m: Model, p: PlanInputs) -> None:
    """Existing plus all facility MW started never exceeds a site's maximum power."""
    if len(p.site) == 0:
        return
    constrain(m, [term(m.variables["build_mw"], over="period")], "<=",
              p.site_max_mw - p.site_existing_mw, name="site_max_power")


def define_power_limits(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Installed accelerators' facility draw fits in online facility MW and in energised grid power."""
    if len(p.site) == 0:
        return
    holds = p.install_mask.any("acc")     # quarters a site may hold something (not before it ships)
    constrain(m, [ex.facility_draw, term(ex.online_mw, -1.0)], "<=", 0, mask=holds,
              name="facility_power")
    constrain(m, [ex.facility_draw], "<=", p.site_energised_mw, mask=holds, name="grid_power")


def define_chip_supply_limits(m: Model, p: PlanInputs) -> None:
    """Units bought per accelerator and period stay within the chip deals that supply them."""
    capped = np.isfinite(p.supply_cap)
    if len(p.site) == 0 or not bool(capped.any()):
        return
    buyable = p.install_mask.any("site")   # no row for quarters before an accelerator ships
    constrain(m, [term(m.variables["install"], over="site")], "<=", p.supply_cap.where(capped, 0),
              mask=capped & buyable, name="chip_supply")


def define_cloud_availability(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Rented accelerators per offer stay under the provider's availability cap."""
    capped = np.isfinite(p.offer_cap)
    if len(p.offer) == 0 or not bool(capped.any()):
        return
    cap = p.offer_cap.where(capped, 0).broadcast_like(p.offer_available)
    constrain(m, [term(ex.offer_units)], "<=", cap,
              mask=xr.DataArray(capped).broadcast_like(p.offer_available), name="cloud_availability")


def define_demand_balance(m: Model, p: PlanInputs) -> None:
    """Served plus unmet compute equals each inference demand, every period it is active (for
    demands sharing serve variables: served plus every member's unmet equals their total)."""
    demand = served_demand(p)
    inference = (demand > 0) & ~p.is_training & carries(p)
    if not bool(inference.any()):
        return
    unmet = grouped(term(m.variables["unmet"]), "demand", serve_carrier(p), pd.Index(p.demand, name="demand"))
    constrain(m, [*served_terms(m), unmet], "==", demand, mask=inference, name="demand_balance")


def define_training_completion(m: Model, p: PlanInputs) -> None:
    """A training run gets its whole compute within its window (at any pace), unless missed."""
    runs = p.is_training & (p.training_work > 0)
    if not bool(runs.any()):
        return
    work = [t.summed(["period"]) for t in served_terms(m)]      # EF/s x quarters
    constrain(m, [*work, term(m.variables["missed"], p.training_work)], ">=", p.training_work,
              mask=runs, name="training_completion")


def served_terms(m: Model) -> list[Terms]:
    """Effective EF/s each demand (or class sharing serve variables) gets per period, from all pools."""
    v = m.variables
    return [term(v["serve_site"], over=["site", "acc"]), term(v["serve_offer"], over="offer"),
            term(v["serve_contract"], over="contract")]


def _any(m: Model, name: str) -> bool:
    """The variable family has at least one entry (a fully masked one has none)."""
    return bool((m.variables[name].labels != -1).any())


def define_pool_capacity(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Each pool's peak EF/s covers what it serves divided by each demand's MFU (a pool no
    demand can use has nothing to cover)."""
    per_peak = 1 / p.demand_mfu
    if _any(m, "serve_site"):
        constrain(m, [term(m.variables["serve_site"], per_peak, over="demand"),
                      term(ex.alive_units, -p.acc_peak_ef)],
                  "<=", 0, mask=p.install_mask, name="site_capacity")
    if _any(m, "serve_offer"):
        offer_peak = p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
        constrain(m, [term(m.variables["serve_offer"], per_peak, over="demand"),
                      term(ex.offer_units, -offer_peak)],
                  "<=", 0, mask=p.offer_available, name="offer_capacity")
    if _any(m, "serve_contract"):
        contract_peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
        constrain(m, [term(m.variables["serve_contract"], per_peak, over="demand"),
                      term(ex.contract_units, -contract_peak)],
                  "<=", 0, mask=p.contract_units > 0, name="contract_capacity")


def define_colocation(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """A frontier run is served from one place only, big enough for its minimum cluster."""
    if len(p.run) == 0:
        return
    runs = p.run.rename("demand")
    window = p.demand_ef.sel(demand=runs).rename(demand="run") > 0
    work = p.training_work.sel(demand=runs).rename(demand="run")
    families: tuple[tuple[str, str, list[str]], ...] = (("site", "serve_site", ["acc"]), ("offer", "serve_offer", []), ("contract", "serve_contract", []))
    hosts = []
    bounds = host_serve_bounds(p)
    for kind, serve_name, extra in families:
        if m.variables[serve_name].size == 0 or f"host_{kind}" not in m.variables:
            continue
        host = m.variables[f"host_{kind}"]
        serve = m.variables[serve_name].labels.sel(demand=runs).rename(demand="run")
        # where a location may not host the run (too small) there is no host term: it serves nothing
        # a pool that cannot serve the run needs no row (a sum over accelerators is never absent)
        rows = window if extra else window & (serve >= 0)
        constrain(m, [term(serve, over=extra), term(host, -bounds[kind])], "<=", 0, mask=rows,
                  name=f"colocation_{kind}")
        # the whole window at once: a host delivers at most the run's work (keeps the relaxation tight)
        whole = xr.where(bounds[kind].sum("period") < work, bounds[kind].sum("period"), work)
        constrain(m, [term(serve, over=[*extra, "period"]), term(host, -whole)], "<=", 0,
                  name=f"colocation_{kind}_window")
        if host.size:
            hosts.append(term(host, over=kind))
    if hosts:
        constrain(m, hosts, "<=", 1, name="one_host")
    k = p.run_min_units
    if bool((k > 0).any()):
        compat = p.serves_site.sel(demand=runs).rename(demand="run")
        # rows only where the run may be hosted there (and, for rented pools, the pool exists then)
        needs = window & (k > 0)
        host = m.variables["host_site"]
        constrain(m, [term(ex.alive_units, compat.astype(float), over="acc"), term(host, -k)],
                  ">=", 0, mask=needs & (host.labels >= 0), name="min_cluster_site")
        for kind, units in (("offer", ex.offer_units), ("contract", ex.contract_units)):
            if len(getattr(p, kind)):
                host = m.variables[f"host_{kind}"]
                present = (host.labels >= 0) & (units.labels >= 0)
                constrain(m, [term(units), term(host, -k)], ">=", 0, mask=needs & present,
                          name=f"min_cluster_{kind}")


@derived
def host_serve_bounds(p: PlanInputs) -> dict[str, xr.DataArray]:
    """Tightest big-M for serve <= M x host: the run's whole work (it may all run in one quarter),
    or all a location could ever deliver to it that period if less. Tight Ms make the relaxation
    respect co-location."""
    runs = p.run.rename("demand")
    window = p.demand_ef.sel(demand=runs).rename(demand="run") > 0
    demand = (p.training_work.sel(demand=runs).rename(demand="run") * window).where(window, 0.0)
    mfu = p.demand_mfu.sel(demand=runs).rename(demand="run")
    serves = p.serves_site.sel(demand=runs).rename(demand="run")
    site_units = p.site_energised_mw * p.site_units_per_mw
    site_peak = (site_units * p.acc_peak_ef).where(p.install_mask & serves & (p.acc_kw_all_in_per_pue > 0), 0.0)
    # the best accelerator a site could hold (zero where there is none: an empty max has no value)
    site_best = site_peak.max("acc") if len(p.acc) else site_peak.sum("acc")
    offer_peak = p.offer_cap * p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
    contract_peak = p.contract_units * p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
    return {
        "site": xr.where(demand < site_best * mfu, demand, site_best * mfu),
        "offer": xr.where(demand < offer_peak * mfu, demand, offer_peak * mfu),
        "contract": xr.where(demand < contract_peak * mfu, demand, contract_peak * mfu),
    }


def uncompletable_runs(p: PlanInputs) -> xr.DataArray:
    """[demand]: co-located runs no single location can complete within their window (each
    eligible host delivers at most the sum of its per-quarter bounds). Such a run is missed in
    every plan; saying so up front keeps the relaxation from serving it in part."""
    cannot = xr.zeros_like(p.training_work, dtype=bool)
    if len(p.run) == 0:
        return cannot
    bounds, eligible = host_serve_bounds(p), host_eligibility(p)
    work = p.training_work.sel(demand=p.run.rename("demand")).rename(demand="run")
    most = xr.zeros_like(work)
    for kind, bound in bounds.items():
        if bound.sizes.get(kind, 0) == 0:
            continue
        at_best = bound.where(eligible[kind], 0.0).sum("period").max(kind)
        most = xr.where(at_best > most, at_best, most)
    short = (most < work * (1 - 1e-9)) & (work > 0)
    return short.rename(run="demand").reindex(demand=p.demand, fill_value=False)


def define_risk_balances(m: Model, p: PlanInputs, ex: Expressions, groups: CoverGroups) -> None:
    """served_peak = peak EF/s each provider's pools serve; usable_ef = capacity each provider
    holds that a cover group's demands can use (accelerator, region, co-location)."""
    providers = pd.Index(p.providers, name="provider")
    owner = {"site": p.site_provider, "offer": p.offer_provider, "contract": p.contract_provider}
    if "served_peak" in m.variables:
        served = [term(m.variables["served_peak"])]
        for kind, extra in (("site", ["acc"]), ("offer", []), ("contract", [])):
            if len(owner[kind]):
                peak = term(m.variables[f"serve_{kind}"], 1 / p.demand_mfu, over=["demand", *extra])
                served.append(-grouped(peak, kind, owner[kind], providers))
        constrain(m, served, "==", 0, name="served_balance")
    if "usable_ef" in m.variables:
        usable = [term(m.variables["usable_ef"])]
        offer_peak = p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
        contract_peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
        held: tuple[tuple[str, Variable, xr.DataArray, list[str]], ...] = (
            ("site", ex.alive_units, p.acc_peak_ef, ["acc"]),
            ("offer", ex.offer_units, offer_peak, []),
            ("contract", ex.contract_units, contract_peak, []))
        for kind, units, unit_peak, extra in held:
            if len(getattr(p, kind)):
                cap = term(units, unit_peak * getattr(groups, kind).astype(float), over=extra)
                usable.append(-grouped(cap, kind, owner[kind], providers))
        constrain(m, usable, "==", 0, mask=groups.cover_mask(p), name="usable_balance")


def define_concentration_limits(m: Model, p: PlanInputs) -> None:
    """No provider carries more than the allowed share of the compute served in a period."""
    share = p.scenario.policy.max_provider_share
    if share >= 1:
        return
    served = m.variables["served_peak"]
    total = term(served.labels.rename(provider="of"), -share, over="of")   # all providers', each row
    constrain(m, [term(served), total, term(m.variables["concentration_over"], -1.0)], "<=", 0,
              name="concentration")


def define_n_minus_1_security(m: Model, p: PlanInputs, groups: CoverGroups) -> None:
    """Without any one provider, the others still hold alpha of each group's need in capacity
    the group's demands can use."""
    alpha = p.scenario.policy.n_minus_1_alpha
    if alpha <= 0 or "usable_ef" not in m.variables:
        return
    usable = m.variables["usable_ef"]
    need = alpha * groups.need_peak_ef(p)
    total = term(usable.labels.rename(provider="of"), over="of")
    # rows where the lost provider could hold cover for the group (where usable_ef exists)
    constrain(m, [total, term(usable, -1.0), term(m.variables["security_short"])], ">=", need,
              mask=(need > 0) & (usable.labels >= 0), name="n_minus_1")


def define_budget_limits(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Spending per calendar year stays within the budget (elastic: overrun is a reported slack)."""
    limited = np.isfinite(p.budget)
    if not bool(limited.any()):
        return
    year_of = xr.DataArray(p.year.values, coords=[p.period])
    years = p.budget.indexes["year"]
    spend = [grouped(t, "period", year_of, years) for t in ex.spend_terms.values()]
    rhs = p.budget.where(limited, 0)
    constrain(m, [*spend, term(m.variables["budget_over"], -1.0)], "<=", rhs, mask=limited,
              name="budget")
