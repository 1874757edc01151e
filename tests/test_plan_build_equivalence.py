"""The fast build (plan/terms.py) makes the same LP as the plain linopy-operator formulation.

Each family rewritten onto plan.terms is rebuilt here the plain way (chains of linopy's
``*``, ``.sum``, ``.groupby``, ``-``, as the planner was first written) from the same model's
variables, and compared row by row: which rows exist, their sign and right-hand side, and each
row's variable -> coefficient map (zero coefficients dropped, repeats summed). The objective
and the per-period spending expressions are compared the same way. Cases: openai-2025 (sites,
offers, contracts, co-located runs, N-1, share cap), neocloud (a budget), a 3-future extensive
form (the scenario dimension, CVaR) and plan_scale's generated model at 4 quarters (one
provider owning every site: the grouping that must not pad every provider to it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from linopy import LinearExpression, Model, Variable

from gigawatt.hedging.evaluate import futures_inputs
from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan.build import build_model
from gigawatt.plan.constraints import host_serve_bounds, served_ef
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.plan.objective import BUDGET_OVERRUN_PENALTY, peak_penalty
from gigawatt.plan.pools import CoverGroups
from gigawatt.plan.stochastic import (
    build_extensive_form,
    decision_quarter,
    futures_of,
    stack_inputs,
)
from gigawatt.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
Row = tuple[str, float, dict[int, float], bool]     # sign, rhs, terms, in the matrix


# --- the plain formulation, written with linopy's operators ---

def _vintage_sum(m: Model, name: str, matrix: xr.DataArray) -> LinearExpression:
    return (m.variables[name].rename(period="vintage") * matrix).sum("vintage")


def _step(matrix: xr.DataArray) -> xr.DataArray:
    return matrix - matrix.shift(period=1, fill_value=0.0)


def _previous(stock: Variable) -> LinearExpression:
    return stock.shift(period=1).fillna(0)


def _by_provider(expr: LinearExpression, owner: xr.DataArray, providers: xr.DataArray) -> LinearExpression:
    return expr.groupby(owner.rename("provider")).sum().reindex(provider=providers.values).fillna(0)


def _runs(a: Any, p: PlanInputs) -> Any:
    return a.sel(demand=p.run.rename("demand")).rename(demand="run")


Plain = tuple[LinearExpression, str, Any, Any]     # lhs, sign, rhs, mask


def plain_families(m: Model, p: PlanInputs, groups: CoverGroups) -> dict[str, Plain]:
    v = m.variables
    alive, online, rented, taken = v["alive"], v["online_mw"], v["rented"], v["contract_take"]
    out: dict[str, Plain] = {}
    first = xr.DataArray(np.arange(len(p.period)) == 0, coords=[p.period])
    out["alive_balance"] = (alive - _previous(alive) - _vintage_sum(m, "install", _step(p.alive_matrix)), "==", 0,
                            p.install_mask)
    out["online_balance"] = (online - _previous(online) - _vintage_sum(m, "build_mw", _step(p.site_online_matrix)),
                             "==", p.site_existing_mw * first, None)
    starts = _vintage_sum(m, "cloud_new", _step(p.lot_active_matrix))
    change = starts.groupby(p.lot_offer.rename("offer")).sum().reindex(offer=p.offer).fillna(0)
    out["rented_balance"] = (rented - _previous(rented) - change, "==", 0, p.offer_available)
    out["site_max_power"] = (v["build_mw"].sum("period"), "<=", p.site_max_mw - p.site_existing_mw, None)
    draw = (alive * p.acc_kw_all_in_per_pue).sum("acc") * p.site_pue / 1000.0
    holds = p.install_mask.any("acc")
    out["facility_power"] = (draw - online, "<=", 0, holds)
    out["grid_power"] = (draw, "<=", p.site_energised_mw, holds)
    capped = np.isfinite(p.supply_cap)
    if bool(capped.any()):
        out["chip_supply"] = (v["install"].sum("site"), "<=", p.supply_cap.where(capped, 0),
                              capped & p.install_mask.any("site"))
    offer_capped = np.isfinite(p.offer_cap)
    if bool(offer_capped.any()):
        out["cloud_availability"] = (1 * rented, "<=", p.offer_cap.where(offer_capped, 0).broadcast_like(p.offer_available),
                                     xr.DataArray(offer_capped).broadcast_like(p.offer_available))
    mfu = p.demand_mfu
    offer_peak = p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")
    contract_peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
    def some(name: str) -> bool:
        return bool((v[name].labels != -1).any())

    if some("serve_site"):
        out["site_capacity"] = ((v["serve_site"] / mfu).sum("demand") - alive * p.acc_peak_ef, "<=", 0, p.install_mask)
    if some("serve_offer"):
        out["offer_capacity"] = ((v["serve_offer"] / mfu).sum("demand") - rented * offer_peak, "<=", 0,
                                 p.offer_available)
    if some("serve_contract"):
        out["contract_capacity"] = ((v["serve_contract"] / mfu).sum("demand") - taken * contract_peak, "<=", 0,
                                    p.contract_units > 0)
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
            out[f"colocation_{kind}_window"] = (serve.sum("period") - (whole * host).fillna(0), "<=", 0, None)
            if host.size:
                hosts.append(host.sum(kind))
        if hosts:
            out["one_host"] = (sum(hosts[1:], hosts[0]), "<=", 1, None)
        k = p.run_min_units
        if bool((k > 0).any()):
            compat = _runs(p.serves_site, p)
            needs = window & (k > 0)
            out["min_cluster_site"] = ((alive * compat).sum("acc") - k * v["host_site"], ">=", 0, needs)
            if len(p.offer):
                out["min_cluster_offer"] = (rented - k * v["host_offer"], ">=", 0, needs)
            if len(p.contract):
                out["min_cluster_contract"] = (taken - k * v["host_contract"], ">=", 0, needs)
    providers = xr.DataArray(p.providers, coords=[p.providers])
    if "served_peak" in v:
        total: LinearExpression = 1 * v["served_peak"]
        for name, owner, extra in (("serve_site", p.site_provider, ["acc"]), ("serve_offer", p.offer_provider, []),
                                   ("serve_contract", p.contract_provider, [])):
            if len(owner):
                total = total - _by_provider((v[name] / mfu).sum(["demand", *extra]), owner, providers)
        out["served_balance"] = (total, "==", 0, None)
    if p.scenario.policy.max_provider_share < 1:
        share = p.scenario.policy.max_provider_share
        served = v["served_peak"]
        out["concentration"] = (served - share * served.sum("provider") - v["concentration_over"], "<=", 0, None)
    if "usable_ef" in v:
        usable: LinearExpression = 1 * v["usable_ef"]
        if len(p.site):
            cap = (alive * p.acc_peak_ef * groups.site.astype(float)).sum("acc")
            usable = usable - _by_provider(cap, p.site_provider, providers)
        if len(p.offer):
            usable = usable - _by_provider(rented * offer_peak * groups.offer.astype(float), p.offer_provider, providers)
        if len(p.contract):
            usable = usable - _by_provider(taken * contract_peak * groups.contract.astype(float), p.contract_provider,
                                           providers)
        out["usable_balance"] = (usable, "==", 0, groups.cover_mask(p))
    if p.scenario.policy.n_minus_1_alpha > 0 and "usable_ef" in v:
        need = p.scenario.policy.n_minus_1_alpha * groups.need_peak_ef(p)
        u = v["usable_ef"]
        out["n_minus_1"] = (u.sum("provider") - u + v["security_short"], ">=", need, need > 0)
    runs = p.is_training & (p.training_work > 0)
    if bool(runs.any()):
        out["training_completion"] = (served_ef(m).sum("period") + p.training_work * v["missed"], ">=",
                                      p.training_work, runs)
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
        "cloud_cost": (_vintage_sum(m, "cloud_new", p.lot_active_matrix) * p.lot_price_hour * HOURS_PER_QUARTER).sum("lot"),
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
    hardware = v["install"].rename(period="vintage") * (p.acc_price.rename(period="vintage") * p.acc_residual)
    cost = per_future(plain_spend(m, p)["spend"] * df) - (per_future(facility) + per_future(hardware)) * p.discount_end
    cost = cost + per_future(v["unmet"] * p.demand_penalty * df)
    cost = cost + per_future(v["missed"] * p.training_miss_penalty * p.training_end_discount)
    if bool(np.isfinite(p.budget).any()):
        cost = cost + BUDGET_OVERRUN_PENALTY * per_future(1 * v["budget_over"])
    for name in ("security_short", "concentration_over"):
        if name in v:
            cost = cost + per_future(v[name] * peak_penalty(p) * df)
    return cost


# --- comparing rows ---

def _keys(a: xr.DataArray) -> tuple[list[str], np.ndarray]:
    dims = sorted(str(d) for d in a.dims)
    grid = np.meshgrid(*[np.asarray(a.indexes[d]).astype(str) for d in dims], indexing="ij") if dims else []
    keys = np.full(tuple(len(a.indexes[d]) for d in dims), "", dtype=object)
    for d, g in zip(dims, grid, strict=True):
        keys = keys + f"{d}=" + g.astype(object) + ";"
    return dims, keys


def _row_map(vars_: np.ndarray, coeffs: np.ndarray) -> dict[int, float]:
    out: dict[int, float] = {}
    for label, c in zip(vars_, coeffs, strict=True):
        if label >= 0 and c != 0:
            out[int(label)] = out.get(int(label), 0.0) + float(c)
    return {k: c for k, c in out.items() if c != 0}


def model_rows(m: Model, name: str) -> dict[str, Row]:
    con = m.constraints[name]
    dims, keys = _keys(con.labels)
    labels = con.labels.transpose(*dims).values
    vars_ = con.vars.transpose(*dims, "_term").values
    coeffs = con.coeffs.transpose(*dims, "_term").values
    rhs = con.rhs.broadcast_like(con.labels).transpose(*dims).values
    sign = con.sign.broadcast_like(con.labels).transpose(*dims).values
    return {keys[i]: (str(sign[i]), float(rhs[i]), _row_map(vars_[i], coeffs[i]), bool((vars_[i] >= 0).any()))
            for i in zip(*np.nonzero(labels >= 0), strict=True)}


def plain_rows(lhs: LinearExpression, sign: str, rhs: Any, mask: Any) -> dict[str, Row]:
    con = lhs.to_constraint(sign, rhs)
    template = con.rhs
    dims, keys = _keys(template)
    vars_ = con.vars.transpose(*dims, "_term").values
    coeffs = con.coeffs.transpose(*dims, "_term").values
    rhs_v = con.rhs.transpose(*dims).values
    sign_v = con.sign.broadcast_like(template).transpose(*dims).values
    keep = ~np.isnan(rhs_v)      # an absent operand (v1 semantics) leaves no row; the model does not auto-mask
    assert not lhs.model.auto_mask
    if mask is not None:
        keep &= xr.DataArray(mask).broadcast_like(template).transpose(*dims).values.astype(bool)
    same = {"==": "="}      # linopy stores an equality as "="
    return {keys[i]: (same.get(str(sign_v[i]), str(sign_v[i])), float(rhs_v[i]), _row_map(vars_[i], coeffs[i]),
                      bool((vars_[i] >= 0).any())) for i in zip(*np.nonzero(keep), strict=True)}


def expression_rows(e: LinearExpression) -> dict[str, dict[int, float]]:
    dims, keys = _keys(e.const)
    vars_ = e.vars.transpose(*dims, "_term").values
    coeffs = e.coeffs.transpose(*dims, "_term").values
    return {keys[i]: _row_map(vars_[i], coeffs[i]) for i in np.ndindex(keys.shape)}


def assert_same_rows(name: str, got: dict[str, Row], want: dict[str, Row]) -> None:
    assert set(got) == set(want), f"{name}: rows differ, e.g. {sorted(set(got) ^ set(want))[:3]}"
    for key, (sign, rhs, terms, in_matrix) in want.items():
        g_sign, g_rhs, g_terms, g_in_matrix = got[key]
        assert g_sign == sign and g_rhs == pytest.approx(rhs, rel=1e-12, abs=1e-9), f"{name}[{key}]"
        assert g_in_matrix == in_matrix, f"{name}[{key}]: a row with only zero coefficients must stay in the matrix"
        assert set(g_terms) == set(terms), f"{name}[{key}]: variables differ"
        for label, c in terms.items():
            assert g_terms[label] == pytest.approx(c, rel=1e-12), f"{name}[{key}] variable {label}"


def assert_same_expression(name: str, got: LinearExpression, want: LinearExpression) -> None:
    g, w = expression_rows(got), expression_rows(want)
    assert set(g) == set(w), name
    for key, terms in w.items():
        assert set(g[key]) == set(terms), f"{name}[{key}]"
        for label, c in terms.items():
            assert g[key][label] == pytest.approx(c, rel=1e-12), f"{name}[{key}] variable {label}"


def check_model(m: Model, ex: Expressions, p: PlanInputs, groups: CoverGroups, cost: LinearExpression) -> None:
    families = plain_families(m, p, groups)
    checked = 0
    for name, (lhs, sign, rhs, mask) in families.items():
        if name not in m.constraints:
            assert not plain_rows(lhs, sign, rhs, mask), f"{name}: the plain formulation has rows, the model none"
            continue
        assert_same_rows(name, model_rows(m, name), plain_rows(lhs, sign, rhs, mask))
        checked += 1
    assert checked >= 8
    spend = plain_spend(m, p)
    for name in ("facility_capex", "it_capex", "energy_cost", "cloud_cost", "contract_cost", "spend"):
        assert_same_expression(name, getattr(ex, name), spend[name])
    assert_same_expression("cost", cost, plain_cost(m, p))


# --- cases ---

def _deterministic(path: Path) -> None:
    p = build_inputs(load_scenario(path))
    m, ex = build_model(p)
    check_model(m, ex, p, ex.groups, m.objective.expression)


def test_openai_2025_builds_the_plain_formulations_lp() -> None:
    _deterministic(ROOT / "examples" / "openai-2025.yaml")


def test_a_budgeted_plan_builds_the_plain_formulations_lp() -> None:
    _deterministic(ROOT / "examples" / "neocloud.yaml")


def test_the_extensive_form_builds_the_plain_formulations_lp() -> None:
    s = load_scenario(ROOT / "examples" / "openai-2025.yaml")
    futures, prob = futures_of(s, 3, 0)
    sm = build_extensive_form(stack_inputs(futures_inputs(s, futures)), prob, decision_quarter(s), risk_weight=0.5)
    assert "scenario" in sm.m.variables["alive"].dims
    check_model(sm.m, sm.ex, sm.p, sm.ex.groups, sm.cost)
    prob_da = xr.DataArray(prob, coords=[sm.p.futures])
    assert_same_expression("expected", sm.expected, (plain_cost(sm.m, sm.p) * prob_da).sum())


def test_a_provider_owning_every_site_builds_the_plain_formulations_lp() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from plan_scale import large_scenario

    p = build_inputs(large_scenario(4))
    owners = p.site_provider.to_series().value_counts()
    assert owners.iloc[0] == len(p.site) > 1         # the case grouping by provider must not blow up
    m, ex = build_model(p)
    check_model(m, ex, p, ex.groups, m.objective.expression)


def test_the_comparison_sees_a_changed_coefficient() -> None:
    """The check is not vacuous: one coefficient off by 1e-9 relative is a different LP."""
    p = build_inputs(load_scenario(ROOT / "examples" / "openai-2025.yaml"))
    m, ex = build_model(p)
    lhs, sign, rhs, mask = plain_families(m, p, ex.groups)["site_capacity"]
    assert_same_rows("site_capacity", model_rows(m, "site_capacity"), plain_rows(lhs, sign, rhs, mask))
    with pytest.raises(AssertionError, match="site_capacity"):
        assert_same_rows("site_capacity", model_rows(m, "site_capacity"), plain_rows(lhs * (1 + 1e-9), sign, rhs, mask))
