"""plan.terms on a model small enough to write every row out by hand."""

from __future__ import annotations

import linopy
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from linopy import LinearExpression, Model

from gigawatt.plan.terms import constrain, grouped, linear, previous, term

linopy.options["semantics"] = "v1"

A = pd.Index(["a0", "a1", "a2"], name="pool")
B = pd.Index(["b0", "b1"], name="period")
GROUPS = pd.Index(["g0", "g1", "g2"], name="owner")


def small() -> tuple[Model, linopy.Variable]:
    m = Model(force_dim_names=True)
    present = xr.DataArray([[True, True], [True, True], [True, False]], coords=[A, B])   # x[a2, b1] absent
    return m, m.add_variables(lower=0, coords=[A, B], mask=present, name="x")


def rows(e: LinearExpression, dim: str) -> dict[str, dict[int, float]]:
    out = {}
    for key in e.coords[dim].values:
        cell = e.data.sel({dim: key})
        out[str(key)] = {int(v): float(c) for v, c in zip(cell.vars.values, cell.coeffs.values, strict=True)
                         if v >= 0}
    return out


def test_grouped_sums_each_groups_members_and_a_group_owning_nothing_gets_no_terms() -> None:
    m, x = small()
    weight = xr.DataArray([1.0, 2.0, 3.0], coords=[A])
    owner = xr.DataArray(["g0", "g1", "g0"], coords=[A])       # g2 owns nothing
    e = linear(m, grouped(term(x, weight, over="period"), "pool", owner, GROUPS))
    lab = x.labels
    assert rows(e, "owner") == {
        "g0": {int(lab.sel(pool="a0", period="b0")): 1.0, int(lab.sel(pool="a0", period="b1")): 1.0,
               int(lab.sel(pool="a2", period="b0")): 3.0},    # x[a2, b1] is absent
        "g1": {int(lab.sel(pool="a1", period="b0")): 2.0, int(lab.sel(pool="a1", period="b1")): 2.0},
        "g2": {},
    }


def test_terms_add_per_row_and_previous_is_the_period_before() -> None:
    m, x = small()
    e = linear(m, term(x, 2.0), term(previous(x), -0.5))
    lab = x.labels
    assert rows(e.sel(pool="a1"), "period") == {
        "b0": {int(lab.sel(pool="a1", period="b0")): 2.0},
        "b1": {int(lab.sel(pool="a1", period="b1")): 2.0, int(lab.sel(pool="a1", period="b0")): -0.5},
    }


def test_constrain_keeps_masked_rows_out_and_an_all_zero_row_in_the_matrix() -> None:
    m, x = small()
    weight = xr.DataArray([0.0, 1.0, 4.0], coords=[A])            # pool a0's terms are all zero
    mask = xr.DataArray([True, True, False], coords=[A])           # no row for a2
    constrain(m, [term(x, weight, over="period")], "<=", xr.DataArray([1.0, 2.0, 3.0], coords=[A]),
              name="cap", mask=mask)
    con = m.constraints["cap"]
    assert (con.labels.values >= 0).tolist() == [True, True, False]
    assert con.rhs.values[:2].tolist() == [1.0, 2.0] and str(con.sign.values.flat[0]) == "<="
    a0 = con.data.sel(pool="a0")
    assert (a0.vars.values >= 0).sum() == 1 and (a0.coeffs.values == 0).all()   # one zero term: still a row
    a1 = con.data.sel(pool="a1")
    assert sorted(a1.coeffs.values[a1.vars.values >= 0].tolist()) == [1.0, 1.0]
    assert m.constraints.ncons == 2


def test_a_right_hand_side_on_other_coordinates_is_refused() -> None:
    m, x = small()
    shuffled = xr.DataArray([1.0, 2.0, 3.0], coords=[A[::-1]])
    with pytest.raises(ValueError, match="right-hand side of cap"):
        constrain(m, [term(x, over="period")], "<=", shuffled, name="cap")


def test_a_coefficient_that_is_not_finite_is_refused() -> None:
    m, x = small()
    with pytest.raises(ValueError, match="not finite"):
        linear(m, term(x, xr.DataArray([1.0, np.nan, 1.0], coords=[A])))
