"""The fast build (plan/terms.py) makes the same LP as the plain linopy-operator formulation.

Each family rewritten onto plan.terms is rebuilt the plain way (benchmarks/plain_formulation.py:
chains of linopy's ``*``, ``.sum``, ``.groupby``, ``-``, as the planner was first written) from
the same model's variables, and compared row by row: which rows exist, their sign and right-hand side, and each
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
from linopy import LinearExpression, Model

from gigawatt.hedging.evaluate import futures_inputs
from gigawatt.plan.build import build_model
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.plan.pools import CoverGroups
from gigawatt.plan.stochastic import (
    build_extensive_form,
    decision_quarter,
    futures_of,
    stack_inputs,
)
from gigawatt.scenario import load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from plain_formulation import plain_cost, plain_families, plain_spend  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
Row = tuple[str, float, dict[int, float], bool]  # sign, rhs, terms, in the matrix


# --- comparing rows ---


def _keys(a: xr.DataArray) -> tuple[list[str], np.ndarray]:
    dims = sorted(str(d) for d in a.dims)
    grid = (
        np.meshgrid(*[np.asarray(a.indexes[d]).astype(str) for d in dims], indexing="ij")
        if dims
        else []
    )
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
    return {
        keys[i]: (
            str(sign[i]),
            float(rhs[i]),
            _row_map(vars_[i], coeffs[i]),
            bool((vars_[i] >= 0).any()),
        )
        for i in zip(*np.nonzero(labels >= 0), strict=True)
    }


def plain_rows(lhs: LinearExpression, sign: str, rhs: Any, mask: Any) -> dict[str, Row]:
    con = lhs.to_constraint(sign, rhs)
    template = con.rhs
    dims, keys = _keys(template)
    vars_ = con.vars.transpose(*dims, "_term").values
    coeffs = con.coeffs.transpose(*dims, "_term").values
    rhs_v = con.rhs.transpose(*dims).values
    sign_v = con.sign.broadcast_like(template).transpose(*dims).values
    keep = ~np.isnan(
        rhs_v
    )  # an absent operand (v1 semantics) leaves no row; the model does not auto-mask
    assert not lhs.model.auto_mask
    if mask is not None:
        keep &= xr.DataArray(mask).broadcast_like(template).transpose(*dims).values.astype(bool)
    same = {"==": "="}  # linopy stores an equality as "="
    return {
        keys[i]: (
            same.get(str(sign_v[i]), str(sign_v[i])),
            float(rhs_v[i]),
            _row_map(vars_[i], coeffs[i]),
            bool((vars_[i] >= 0).any()),
        )
        for i in zip(*np.nonzero(keep), strict=True)
    }


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
        assert g_in_matrix == in_matrix, (
            f"{name}[{key}]: a row with only zero coefficients must stay in the matrix"
        )
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


def check_model(
    m: Model, ex: Expressions, p: PlanInputs, groups: CoverGroups, cost: LinearExpression
) -> None:
    families = plain_families(m, p, groups)
    checked = 0
    for name, (lhs, sign, rhs, mask) in families.items():
        if name not in m.constraints:
            assert not plain_rows(lhs, sign, rhs, mask), (
                f"{name}: the plain formulation has rows, the model none"
            )
            continue
        assert_same_rows(name, model_rows(m, name), plain_rows(lhs, sign, rhs, mask))
        checked += 1
    assert checked >= 8
    spend = plain_spend(m, p)
    for name in (
        "facility_capex",
        "it_capex",
        "energy_cost",
        "cloud_cost",
        "contract_cost",
        "spend",
    ):
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
    sm = build_extensive_form(
        stack_inputs(futures_inputs(s, futures)), prob, decision_quarter(s), risk_weight=0.5
    )
    assert "scenario" in sm.m.variables["alive"].dims
    check_model(sm.m, sm.ex, sm.p, sm.ex.groups, sm.cost)
    prob_da = xr.DataArray(prob, coords=[sm.p.futures])
    assert_same_expression("expected", sm.expected, (plain_cost(sm.m, sm.p) * prob_da).sum())


def test_a_provider_owning_every_site_builds_the_plain_formulations_lp() -> None:
    from plan_scale import large_scenario

    p = build_inputs(large_scenario(4))
    owners = p.site_provider.to_series().value_counts()
    assert owners.iloc[0] == len(p.site) > 1  # the case grouping by provider must not blow up
    m, ex = build_model(p)
    check_model(m, ex, p, ex.groups, m.objective.expression)


def test_the_comparison_sees_a_changed_coefficient() -> None:
    """The check is not vacuous: one coefficient off by 1e-9 relative is a different LP."""
    p = build_inputs(load_scenario(ROOT / "examples" / "openai-2025.yaml"))
    m, ex = build_model(p)
    lhs, sign, rhs, mask = plain_families(m, p, ex.groups)["site_capacity"]
    assert_same_rows(
        "site_capacity", model_rows(m, "site_capacity"), plain_rows(lhs, sign, rhs, mask)
    )
    with pytest.raises(AssertionError, match="site_capacity"):
        assert_same_rows(
            "site_capacity",
            model_rows(m, "site_capacity"),
            plain_rows(lhs * (1 + 1e-9), sign, rhs, mask),
        )
