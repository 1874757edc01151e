"""The out-of-sample check: the deterministic and the hedged plan stressed side by side, by hand.

The hedge case of test_stochastic_hand: cheapco's contract covers the demand; dearco rents the
same accelerator on 4-quarter terms; every rental is first stage. The deterministic (mean
future) plan rents nothing; the hedged plan rents the whole demand for 2027. In four fresh
futures (cheapco defaults 2027Q1, 2027Q3, never, never) every figure follows from the prices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_stochastic_hand import CONTRACT_Q, EF, FUTURES, PEN_DAY, UNITS, Y1, Y2, D, hedge_case

from gigawatt.hedging import plan_stochastic
from gigawatt.hedging.out_of_sample import summary
from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan.stochastic import futures_of

FRESH = [{"provider.cheapco.default": float(2027 * 4)}, {"provider.cheapco.default": float(2027 * 4 + 2)},
         {"provider.cheapco.default": math.inf}, {"provider.cheapco.default": math.inf}]
UNMET_Q = PEN_DAY * HOURS_PER_QUARTER / 24 * EF     # a quarter with the whole demand unmet
RENT = UNITS * 2.0 * HOURS_PER_QUARTER * Y2          # the hedge: 2027's four quarters rented


def by_hand() -> dict[str, dict[str, float]]:
    contract = [CONTRACT_Q * Y1, CONTRACT_Q * (Y1 + D[4] + D[5]), CONTRACT_Q * (Y1 + Y2), CONTRACT_Q * (Y1 + Y2)]
    unmet = [UNMET_Q * Y2, UNMET_Q * (D[6] + D[7]), 0.0, 0.0]
    det = [c + u for c, u in zip(contract, unmet, strict=True)]
    hedged = [c + RENT for c in contract]
    a, b = det[0], det[1]                         # a > b > det[2] = det[3]: sorted c, c, b, a
    h_c = hedged[2]                               # the hedged plan's worst: no default, both paid
    return {
        "deterministic": {"cost_mean_usd": sum(det) / 4, "cost_p90_usd": b + 0.7 * (a - b), "cost_cvar95_usd": a,
                          "spend_mean_usd": sum(contract) / 4, "shortfall_probability": 0.5},
        "hedged": {"cost_mean_usd": sum(hedged) / 4, "cost_p90_usd": h_c, "cost_cvar95_usd": h_c,
                   "spend_mean_usd": sum(hedged) / 4, "shortfall_probability": 0.0},
        "costs": {"deterministic": det, "hedged": hedged},  # type: ignore[dict-item]
    }


@pytest.fixture(scope="module")
def checked():
    return plan_stochastic(hedge_case(), FUTURES, probabilities=[0.3, 0.7], out_of_sample=FRESH)


def test_side_by_side_figures_equal_the_hand_figures(checked) -> None:
    want = by_hand()
    oos = checked.metadata["stochastic"]["out_of_sample"]
    assert oos["futures"] == 4
    for plan in ("deterministic", "hedged"):
        for key, value in want[plan].items():
            assert oos[plan][key] == pytest.approx(value, rel=1e-7, abs=1e-9), (plan, key)
    rows = checked.tables["out_of_sample"]
    for plan in ("deterministic", "hedged"):
        got = rows[rows["plan"] == plan].sort_values("sample")["cost_usd"].tolist()
        assert got == pytest.approx(want["costs"][plan], rel=1e-7)
    saves = oos["hedging_saves_usd"]
    assert saves["mean"] == pytest.approx(want["deterministic"]["cost_mean_usd"] - want["hedged"]["cost_mean_usd"],
                                          rel=1e-7)
    assert saves["cvar95"] > 0 and saves["mean"] > 0


def test_summary_of_a_table_by_hand() -> None:
    import pandas as pd

    rows = pd.DataFrame({"cost_usd": [1.0, 2.0, 3.0, 10.0], "spend_usd": [1.0, 1.0, 1.0, 1.0],
                         "shortfall": [False, False, True, True]})
    s = summary(rows)
    assert s["cost_mean_usd"] == pytest.approx(4.0)
    assert s["cost_p90_usd"] == pytest.approx(3.0 + 0.7 * 7.0)
    assert s["cost_cvar95_usd"] == pytest.approx(10.0)
    assert s["shortfall_probability"] == pytest.approx(0.5)


def test_drawn_out_of_sample_futures_are_fresh_and_priced_as_by_hand() -> None:
    s = hedge_case()
    got = plan_stochastic(s, 4, seed=2, out_of_sample=12, value_of_hedging=False)
    oos = got.metadata["stochastic"]["out_of_sample"]
    assert oos["seed"] == 3
    fresh = futures_of(s, 12, 3)[0]
    assert fresh[:4] != futures_of(s, 4, 2)[0]          # not the futures it was planned for
    quarters = [f"{2026 + t // 4}Q{t % 4 + 1}" for t in range(8)]
    rentals = got.tables["rentals"]
    rows = got.tables["out_of_sample"]
    for plan, terms in (("deterministic", []), ("hedged", list(zip(rentals["period"], rentals["units_started"],
                                                                    strict=True)))):
        # units rented in each quarter (a term runs 4 quarters from its start, within the horizon)
        units = [sum(u for start, u in terms if 0 <= t - quarters.index(start) < 4) for t in range(8)]
        rent = sum(units[t] * 2.0 * HOURS_PER_QUARTER * D[t] for t in range(8))
        want = []
        for f in fresh:
            gone = [2026 * 4 + t >= f["provider.cheapco.default"] for t in range(8)]
            contract = CONTRACT_Q * sum(D[t] for t in range(8) if not gone[t])
            unmet = UNMET_Q * sum(D[t] * (1 - min(units[t] / UNITS, 1.0)) for t in range(8) if gone[t])
            want.append(contract + rent + unmet)
        cost = rows[rows["plan"] == plan].sort_values("sample")["cost_usd"].to_numpy()
        assert cost == pytest.approx(np.array(want), rel=1e-7)
    assert oos["deterministic"]["shortfall_probability"] == pytest.approx(
        np.mean([f["provider.cheapco.default"] <= 2027 * 4 + 3 for f in fresh]))
