"""The planner's model written plainly with linopy's operators: the build's baseline.

Every family plan/terms.py assembles in one step is written here as the planner first wrote it,
as chains of linopy's ``*``, ``.sum``, ``.groupby``, ``-`` (each building and aligning a whole
expression). ``tests/test_plan_build_equivalence.py`` checks the fast build makes this LP row by
row; ``benchmarks/plan_build.py`` times both in the same run. Families the fast path does not
rewrite (variables, demand balance) are the planner's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from linopy import LinearExpression, Model, Variable

from gigawatt.periods import HOURS_PER_QUARTER, parse_quarter
from gigawatt.plan import variables as v
from gigawatt.plan.constraints import host_serve_bounds
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.objective import BUDGET_OVERRUN_PENALTY, peak_penalty
from gigawatt.plan.pools import CoverGroups, cover_groups
from gigawatt.plan.sharing import carries, serve_carrier, served_demand
from gigawatt.plan.stochastic import cover_groups_of


def _vintage_sum(m: Model, name: str, matrix: xr.DataArray) -> LinearExpression:
    return (m.variables[name].rename(period="vintage") * matrix).sum("vintage")


def _step(matrix: xr.DataArray) -> xr.DataArray:
    return matrix - matrix.shift(period=1, fill_value=0.0)


def _previous(stock: Variable) -> LinearExpression:
    return stock.shift(period=1).fillna(0)


def _compact(expr: LinearExpression) -> LinearExpression:
    """The expression without its absent terms, its term axis cut to the longest row."""
    present = expr.vars >= 0
    return LinearExpression(
        expr.data.assign(coeffs=expr.coeffs.where(present, 0.0)), expr.model
    ).densify_terms()


def _by_provider(
    expr: LinearExpression, owner: xr.DataArray, providers: xr.DataArray
) -> LinearExpression:
    grouped = _compact(_compact(expr).groupby(owner.rename("provider")).sum())
    return grouped.reindex(provider=providers.values).fillna(0)


def served_ef(m: Model) -> LinearExpression:
    """Effective EF/s each demand (or class sharing serve variables) gets per period."""
    return (
        m.variables["serve_site"].sum(["site", "acc"])
        + m.variables["serve_offer"].sum("offer")
        + m.variables["serve_contract"].sum("contract")
    )


def _runs(a: Any, p: PlanInputs) -> Any:
    return a.sel(demand=p.run.rename("demand")).rename(demand="run")


Plain = tuple[LinearExpression, str, Any, Any]  # lhs, sign, rhs, mask


def plain_families(m: Model, p: PlanInputs, groups: CoverGroups) -> dict[str, Plain]:
    v = m.variables
    alive, online, rented, taken = v["alive"], v["online_mw"], v["rented"], v["contract_take"]
    out: dict[str, Plain] = {}
    first = xr.DataArray(np.arange(len(p.period)) == 0, coords=[p.period])
    out["alive_balance"] = (
        alive - _previous(alive) - _vintage_sum(m, "install", _step(p.alive_matrix)),
        "==",
        0,
        p.install_mask,
    )
    out["online_balance"] = (
        online - _previous(online) - _vintage_sum(m, "build_mw", _step(p.site_online_matrix)),
        "==",
        p.site_existing_mw * first,
        None,
    )
    starts = _vintage_sum(m, "cloud_new", _step(p.lot_active_matrix))
    change = starts.groupby(p.lot_offer.rename("offer")).sum().reindex(offer=p.offer).fillna(0)
    out["rented_balance"] = (rented - _previous(rented) - change, "==", 0, p.offer_available)
    out["site_max_power"] = (
        v["build_mw"].sum("period"),
        "<=",
        p.site_max_mw - p.site_existing_mw,
        None,
    )
    draw = (alive * p.acc_kw_all_in_per_pue).sum("acc") * p.site_pue / 1000.0
    holds = p.install_mask.any("acc")
    out["facility_power"] = (draw - online, "<=", 0, holds)
    out["grid_power"] = (draw, "<=", p.site_energised_mw, holds)
    capped = np.isfinite(p.supply_cap)
    if bool(capped.any()):
        out["chip_supply"] = (
            v["install"].sum("site"),
            "<=",
            p.supply_cap.where(capped, 0),
            capped & p.install_mask.any("site"),
        )
    offer_capped = np.isfinite(p.offer_cap)
    if bool(offer_capped.any()):
        out["cloud_availability"] = (
            1 * rented,
            "<=",
            p.offer_cap.where(offer_capped, 0).broadcast_like(p.offer_available),
            xr.DataArray(offer_capped).broadcast_like(p.offer_available),
        )
    mfu = p.demand_mfu
    offer_peak = p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
    contract_peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")

    def some(name: str) -> bool:
        return bool((v[name].labels != -1).any())

    if some("serve_site"):
        out["site_capacity"] = (
            (v["serve_site"] / mfu).sum("demand") - alive * p.acc_peak_ef,
            "<=",
            0,
            p.install_mask,
        )
    if some("serve_offer"):
        out["offer_capacity"] = (
            (v["serve_offer"] / mfu).sum("demand") - rented * offer_peak,
            "<=",
            0,
            p.offer_available,
        )
    if some("serve_contract"):
        out["contract_capacity"] = (
            (v["serve_contract"] / mfu).sum("demand") - taken * contract_peak,
            "<=",
            0,
            p.contract_units > 0,
        )
    if len(p.run):
        window = _runs(p.demand_ef, p) > 0
        bounds = host_serve_bounds(p)
        work = _runs(p.training_work, p)
        hosts = []
        for kind, extra in (("site", ["acc"]), ("offer", []), ("contract", [])):
            if v[f"serve_{kind}"].size == 0 or f"host_{kind}" not in v:
                continue
            host = v[f"host_{kind}"]
            serve = _runs(v[f"serve_{kind}"], p)
            if extra:
                serve = serve.sum(extra)
            out[f"colocation_{kind}"] = (serve - (bounds[kind] * host).fillna(0), "<=", 0, window)
            whole = xr.where(bounds[kind].sum("period") < work, bounds[kind].sum("period"), work)
            out[f"colocation_{kind}_window"] = (
                serve.sum("period") - (whole * host).fillna(0),
                "<=",
                0,
                None,
            )
            if host.size:
                hosts.append(host.sum(kind))
        if hosts:
            out["one_host"] = (sum(hosts[1:], hosts[0]), "<=", 1, None)
        k = p.run_min_units
        if bool((k > 0).any()):
            compat = _runs(p.serves_site, p)
            needs = window & (k > 0)
            out["min_cluster_site"] = (
                (alive * compat).sum("acc") - k * v["host_site"],
                ">=",
                0,
                needs,
            )
            if len(p.offer):
                out["min_cluster_offer"] = (rented - k * v["host_offer"], ">=", 0, needs)
            if len(p.contract):
                out["min_cluster_contract"] = (taken - k * v["host_contract"], ">=", 0, needs)
    providers = xr.DataArray(p.providers, coords=[p.providers])
    if "served_peak" in v:
        total: LinearExpression = 1 * v["served_peak"]
        for name, owner, extra in (
            ("serve_site", p.site_provider, ["acc"]),
            ("serve_offer", p.offer_provider, []),
            ("serve_contract", p.contract_provider, []),
        ):
            if len(owner):
                total = total - _by_provider(
                    (v[name] / mfu).sum(["demand", *extra]), owner, providers
                )
        out["served_balance"] = (total, "==", 0, None)
    if p.scenario.policy.max_provider_share < 1:
        share = p.scenario.policy.max_provider_share
        served = v["served_peak"]
        out["concentration"] = (
            served - share * served.sum("provider") - v["concentration_over"],
            "<=",
            0,
            None,
        )
    if "usable_ef" in v:
        usable: LinearExpression = 1 * v["usable_ef"]
        if len(p.site):
            cap = (alive * p.acc_peak_ef * groups.site.astype(float)).sum("acc")
            usable = usable - _by_provider(cap, p.site_provider, providers)
        if len(p.offer):
            usable = usable - _by_provider(
                rented * offer_peak * groups.offer.astype(float), p.offer_provider, providers
            )
        if len(p.contract):
            usable = usable - _by_provider(
                taken * contract_peak * groups.contract.astype(float),
                p.contract_provider,
                providers,
            )
        out["usable_balance"] = (usable, "==", 0, groups.cover_mask(p))
    if p.scenario.policy.n_minus_1_alpha > 0 and "usable_ef" in v:
        need = p.scenario.policy.n_minus_1_alpha * groups.need_peak_ef(p)
        u = v["usable_ef"]
        out["n_minus_1"] = (u.sum("provider") - u + v["security_short"], ">=", need, need > 0)
    demand = served_demand(p)
    inference = (demand > 0) & ~p.is_training & carries(p)
    if bool(inference.any()):
        unmet = _compact(v["unmet"].groupby(serve_carrier(p)).sum()).rename(carrier="demand")
        out["demand_balance"] = (served_ef(m) + unmet.reindex(demand=p.demand), "==", demand, inference)
    runs = p.is_training & (p.training_work > 0)
    if bool(runs.any()):
        out["training_completion"] = (
            served_ef(m).sum("period") + p.training_work * v["missed"],
            ">=",
            p.training_work,
            runs,
        )
    limited = np.isfinite(p.budget)
    if bool(limited.any()):
        year_of = xr.DataArray(p.year.values, coords=[p.period], name="year")
        spend = plain_spend(m, p)["spend"].groupby(year_of).sum()
        out["budget"] = (spend - v["budget_over"], "<=", p.budget.where(limited, 0), limited)
    return out


def plain_spend(m: Model, p: PlanInputs) -> dict[str, LinearExpression]:
    v = m.variables
    draw = (v["alive"] * p.acc_kw_all_in_per_pue).sum("acc") * p.site_pue / 1000.0
    per_unit = (p.contract_payment / p.contract_units).where(p.contract_units > 0, 0.0)
    parts = {
        "facility_capex": (v["build_mw"] * p.site_capex_per_mw).sum("site"),
        "it_capex": (v["install"] * p.acc_price).sum(["site", "acc"]),
        "energy_cost": (draw * HOURS_PER_QUARTER * p.site_elec).sum("site"),
        "cloud_cost": (
            _vintage_sum(m, "cloud_new", p.lot_active_matrix) * p.lot_price_hour * HOURS_PER_QUARTER
        ).sum("lot"),
        "contract_cost": (v["contract_take"] * per_unit).sum("contract"),
    }
    spend = parts["facility_capex"]
    for name in ("it_capex", "energy_cost", "cloud_cost", "contract_cost"):
        spend = spend + parts[name]
    return {**parts, "spend": spend}


def plain_cost(m: Model, p: PlanInputs) -> LinearExpression:
    """Money (discounted spend - residual value) plus penalties, per future."""

    def per_future(e: LinearExpression) -> LinearExpression:
        return e.sum([d for d in e.dims if d != "scenario"])

    v = m.variables
    df = p.discount
    facility = v["build_mw"].rename(period="vintage") * (p.site_capex_per_mw * p.facility_residual)
    hardware = v["install"].rename(period="vintage") * (
        p.acc_price.rename(period="vintage") * p.acc_residual
    )
    cost = (
        per_future(plain_spend(m, p)["spend"] * df)
        - (per_future(facility) + per_future(hardware)) * p.discount_end
    )
    cost = cost + per_future(v["unmet"] * p.demand_penalty * df)
    cost = cost + per_future(v["missed"] * p.training_miss_penalty * p.training_end_discount)
    if bool(np.isfinite(p.budget).any()):
        cost = cost + BUDGET_OVERRUN_PENALTY * per_future(1 * v["budget_over"])
    for name in ("security_short", "concentration_over"):
        if name in v:
            cost = cost + per_future(v[name] * peak_penalty(p) * df)
    return cost


def build_plain_model(p: PlanInputs, groups: CoverGroups | None = None) -> Model:
    """The whole deterministic model the plain way: the planner's variables, the plain families
    in the planner's order, the planner's demand balance, the plain objective."""
    m = Model(force_dim_names=True)
    groups = cover_groups(p) if groups is None else groups
    define_variables(m, p, groups)
    add_families(m, p, groups)
    m.add_objective(plain_cost(m, p))
    return m


def build_plain_extensive_form(
    p: PlanInputs,
    probability: np.ndarray,
    decision_q: int,
    risk_alpha: float = 0.95,
    risk_weight: float = 0.0,
) -> Model:
    """plan.stochastic.build_extensive_form the plain way."""
    m = Model(force_dim_names=True)
    groups = cover_groups_of(p)
    define_variables(m, p, groups)
    add_families(m, p, groups)
    first = pd.Index([q for q in p.period if parse_quarter(str(q)) < decision_q], name="period")
    if len(first):
        if len(p.site):
            shared = m.add_variables(lower=0, coords=[p.site, first], name="build_mw_first")
            m.add_constraints(
                m.variables["build_mw"].sel(period=first) - shared == 0,
                name="non_anticipative_build",
            )
        if len(p.lot):
            cloud = m.variables["cloud_new"]
            open_lots = (cloud.labels.sel(period=first) >= 0).any("scenario")
            shared = m.add_variables(
                lower=0, coords=[p.lot, first], mask=open_lots, name="cloud_new_first"
            )
            m.add_constraints(
                cloud.sel(period=first) - shared == 0,
                mask=cloud.labels.sel(period=first) >= 0,
                name="non_anticipative_cloud",
            )
    cost = plain_cost(m, p)
    prob = xr.DataArray(probability, coords=[p.futures])
    objective = (cost * prob).sum()
    if risk_weight > 0:
        eta = m.add_variables(name="value_at_risk")
        excess = m.add_variables(lower=0, coords=[p.futures], name="cost_excess")
        m.add_constraints(excess - cost + eta >= 0, name="cvar_excess")
        objective = objective + risk_weight * (eta + (excess * prob).sum() / (1 - risk_alpha))
    m.add_objective(objective)
    return m


def define_variables(m: Model, p: PlanInputs, groups: CoverGroups) -> None:
    for define in (
        v.define_facility_variables,
        v.define_install_variables,
        v.define_cloud_variables,
        v.define_contract_variables,
        v.define_serve_variables,
        v.define_state_variables,
        v.define_unmet_variables,
        v.define_host_variables,
    ):
        define(m, p)
    v.define_risk_variables(m, p, groups)
    v.define_slack_variables(m, p, groups)


def add_families(m: Model, p: PlanInputs, groups: CoverGroups) -> None:
    """The plain families."""
    for name, (lhs, sign, rhs, mask) in plain_families(m, p, groups).items():
        m.add_constraints(lhs, sign, rhs, mask=mask, name=name)
