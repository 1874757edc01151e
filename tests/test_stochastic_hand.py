"""Stochastic planning on a case where hedging must pay, every figure computed by hand.

Two providers: cheapco's take-or-pay contract covers all demand for two years; dearco rents
the same accelerator on a 4-quarter term. cheapco defaults at the start of year 2 with
probability 0.3 (then it delivers and is paid nothing). Every rental is first-stage
(decision horizon after the horizon), so only a term signed now can cover year 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_helpers import inference, scenario

from gigawatt.hedging import plan_stochastic
from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan import plan
from gigawatt.plan.stochastic import cvar
from gigawatt.scenario import Scenario

H100_EF = 989e-6
RATE = 0.08
EF, UTIL = 0.5, 0.5
UNITS = EF / UTIL / H100_EF                      # accelerators that serve the demand
CONTRACT_Q = 2.0e6                               # cheapco, USD per quarter
PEN_DAY = 1.0e6                                  # unmet, USD per effective EF/s-day
DEFAULT_Q = 2027 * 4                             # 2027Q1
D = [(1 + RATE) ** (-t / 4) for t in range(8)]   # discount per quarter, 2026Q1..2027Q4
Y1, Y2 = sum(D[:4]), sum(D[4:])


def hedge_case(price: float = 2.0, default_p: float = 0.3) -> Scenario:
    return scenario(**hedge_sections(price, default_p))


def hedge_sections(price: float = 2.0, default_p: float = 0.3) -> dict[str, Any]:
    return dict(
        name="hedge",
        horizon={"start": "2026Q1", "end": "2027Q4"},
        money={"discount_rate": RATE},
        providers=[{"id": "cheapco", "kind": "cloud"}, {"id": "dearco", "kind": "cloud"}],
        contracts=[{"id": "cheap", "counterparty": "cheapco", "accelerator": "nvidia_h100_sxm",
                    "capacity_accelerators": UNITS, "start": "2026Q1", "term_quarters": 8,
                    "payment_usd_per_year": 4 * CONTRACT_Q}],
        cloud_offers=[{"id": "dear", "provider": "dearco", "accelerator": "nvidia_h100_sxm",
                       "terms": [{"quarters": 4, "price_usd_per_accelerator_hour": price}]}],
        demand={"inference": [inference(ef=EF, util=UTIL)]},
        policy={"unmet_penalty_usd_per_exaflop_day": PEN_DAY},
        uncertainty={"decision_horizon": "2028Q1", "providers": [
            {"provider": "cheapco", "default": {"probability_per_year": default_p, "from": "2027Q1"}}]},
    )


FUTURES = [{"provider.cheapco.default": float(DEFAULT_Q)}, {"provider.cheapco.default": math.inf}]


def by_hand(price: float, p: float) -> dict[str, float]:
    unmet_q = PEN_DAY * HOURS_PER_QUARTER / 24 * EF          # a quarter of the whole demand unmet
    rent = UNITS * price * HOURS_PER_QUARTER * Y2             # a 4-quarter term from 2027Q1
    contract = CONTRACT_Q * (Y1 + (1 - p) * Y2)               # paid until the default
    hedged = contract + rent
    # the mean future's plan: a default date's median future (it has no mean) defaults iff p >= 0.5,
    # and then the plan hedges whenever renting costs less than leaving year 2 unmet
    det = hedged if p >= 0.5 and rent < unmet_q * Y2 else contract + p * unmet_q * Y2
    stoch = min(det, hedged)
    wait_and_see = p * (CONTRACT_Q * Y1 + min(rent, unmet_q * Y2)) + (1 - p) * CONTRACT_Q * (Y1 + Y2)
    return {"det": det, "stoch": stoch, "vss": det - stoch, "evpi": stoch - wait_and_see, "rent": rent}


@pytest.fixture(scope="module")
def hedged():
    return plan_stochastic(hedge_case(), FUTURES, probabilities=[0.3, 0.7])


def test_deterministic_plan_takes_the_cheap_provider_only() -> None:
    d = plan(hedge_case())
    assert d.tables["rentals"].empty or d.tables["rentals"]["units_started"].sum() == pytest.approx(0, abs=1e-6)
    assert d.npv_usd == pytest.approx(CONTRACT_Q * (Y1 + Y2), rel=1e-9)


def test_stochastic_plan_signs_the_dearer_provider_for_year_two(hedged) -> None:
    r = hedged.tables["rentals"]
    assert list(r["lot"].str.startswith("dear")) == [True]
    assert r["period"].tolist() == ["2027Q1"]
    assert r["units_started"].sum() == pytest.approx(UNITS, rel=1e-6)


def test_expected_cost_vss_and_evpi_equal_the_hand_figures(hedged) -> None:
    want = by_hand(2.0, 0.3)
    s = hedged.metadata["stochastic"]
    assert want["stoch"] < want["det"]
    assert s["expected_cost_usd"] == pytest.approx(want["stoch"], rel=1e-7)
    assert s["deterministic_expected_cost_usd"] == pytest.approx(want["det"], rel=1e-7)
    assert s["vss_usd"] == pytest.approx(want["vss"], rel=1e-6)
    assert s["vss_usd"] > 0
    assert s["evpi_usd"] == pytest.approx(want["evpi"], rel=1e-6)
    # per-future costs: default then no default
    costs = hedged.tables["scenario_costs"]["cost_usd"].tolist()
    assert costs[0] == pytest.approx(CONTRACT_Q * Y1 + want["rent"], rel=1e-9)
    assert costs[1] == pytest.approx(CONTRACT_Q * (Y1 + Y2) + want["rent"], rel=1e-9)


def test_plan_tables_are_the_base_future_with_the_hedge_fixed(hedged) -> None:
    # the Plan's NPV: the base (no default) future, paying the contract and the hedge
    assert hedged.npv_usd == pytest.approx(CONTRACT_Q * (Y1 + Y2) + by_hand(2.0, 0.3)["rent"], rel=1e-9)


def test_cvar_by_hand_and_risk_weight_zero_is_risk_neutral(hedged) -> None:
    costs = np.array(hedged.tables["scenario_costs"]["cost_usd"])
    # with alpha 0.5 and probabilities 0.3 / 0.7 the worst half is the no-default future alone
    assert cvar(costs, np.array([0.3, 0.7]), 0.5) == pytest.approx(costs[1], rel=1e-12)
    # alpha 0.8: 0.2 of mass in the tail, all of it the dearer future
    assert cvar(np.array([1.0, 3.0]), np.array([0.7, 0.3]), 0.8) == pytest.approx(3.0)
    # alpha 0.5: tail = 0.3 at 3 and 0.2 at 1 -> (0.9 + 0.2) / 0.5
    assert cvar(np.array([1.0, 3.0]), np.array([0.7, 0.3]), 0.5) == pytest.approx(2.2)
    zero = plan_stochastic(hedge_case(), FUTURES, probabilities=[0.3, 0.7], risk_weight=0.0,
                           risk_alpha=0.5, value_of_hedging=False)
    assert zero.metadata["stochastic"]["expected_cost_usd"] == pytest.approx(
        hedged.metadata["stochastic"]["expected_cost_usd"], rel=1e-12)
    assert zero.tables["rentals"].equals(hedged.tables["rentals"])


def test_risk_aversion_hedges_part_where_the_neutral_plan_does_not() -> None:
    # price 12/h: hedging costs more than the expected loss it avoids, so the neutral plan does not
    # hedge. With weight 1 on CVaR_0.75 it hedges a share f of the demand: the tail is the default
    # future while it costs more, the no-default one after; the optimum is where both cost the
    # same: unmet x (1 - f) = contract, per quarter of year 2.
    price = 12.0
    assert by_hand(price, 0.3)["vss"] == 0.0
    unmet_q = PEN_DAY * HOURS_PER_QUARTER / 24 * EF
    rent_q = UNITS * price * HOURS_PER_QUARTER
    f = 1 - CONTRACT_Q / unmet_q
    averse = plan_stochastic(hedge_case(price), FUTURES, probabilities=[0.3, 0.7], risk_alpha=0.75,
                             risk_weight=1.0)
    s = averse.metadata["stochastic"]
    # which quarters are covered is not unique (each costs the same share of what it saves), the
    # discounted accelerator-quarters of cover are: f of the demand's through year 2
    quarters = ["2026Q1", "2026Q2", "2026Q3", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4"]
    cover = sum(r.units_started * sum(D[quarters.index(r.period):quarters.index(r.period) + 4])
                for r in averse.tables["rentals"].itertuples())
    assert cover == pytest.approx(f * UNITS * Y2, rel=1e-6)
    expected = CONTRACT_Q * (Y1 + 0.7 * Y2) + (0.3 * unmet_q * (1 - f) + rent_q * f) * Y2
    assert s["expected_cost_usd"] == pytest.approx(expected, rel=1e-7)
    assert s["cvar_usd"] == pytest.approx(CONTRACT_Q * (Y1 + Y2) + rent_q * f * Y2, rel=1e-7)
    neutral_expected = CONTRACT_Q * (Y1 + 0.7 * Y2) + 0.3 * unmet_q * Y2
    neutral_cvar = CONTRACT_Q * Y1 + unmet_q * Y2      # 0.25 of mass, all in the default future
    price_of_risk = s["price_of_risk_aversion"]
    assert price_of_risk["expected_cost_up_usd"] == pytest.approx(expected - neutral_expected, rel=1e-6)
    assert price_of_risk["cvar_down_usd"] == pytest.approx(neutral_cvar - s["cvar_usd"], rel=1e-6)
    assert price_of_risk["expected_cost_up_usd"] > 0 and price_of_risk["cvar_down_usd"] > 0


def test_no_default_risk_no_value_and_the_plans_coincide() -> None:
    s = hedge_case(default_p=0.0)
    stoch = plan_stochastic(s, 4, seed=3)      # drawn by the stress sampler: no future defaults
    det = plan(s)
    meta = stoch.metadata["stochastic"]
    assert meta["vss_usd"] == pytest.approx(0.0, abs=1e-6 * det.npv_usd)
    assert meta["evpi_usd"] == pytest.approx(0.0, abs=1e-6 * det.npv_usd)
    assert stoch.npv_usd == pytest.approx(det.npv_usd, rel=1e-9)
    assert stoch.tables["rentals"].empty == det.tables["rentals"].empty


def test_one_future_equal_to_the_base_is_the_deterministic_plan() -> None:
    s = hedge_case()
    one = plan_stochastic(s, [{}], value_of_hedging=False)
    assert one.objective_usd == pytest.approx(plan(s).objective_usd, rel=1e-9)
    assert one.metadata["stochastic"]["expected_cost_usd"] == pytest.approx(plan(s).objective_usd, rel=1e-9)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(price=st.floats(0.5, 20.0), p=st.floats(0.0, 1.0))
def test_vss_and_evpi_never_negative(price: float, p: float) -> None:
    got = plan_stochastic(hedge_case(price), FUTURES, probabilities=[p, 1 - p]).metadata["stochastic"]
    scale = CONTRACT_Q * (Y1 + Y2)
    assert got["vss_usd"] >= -1e-7 * scale
    assert got["evpi_usd"] >= -1e-7 * scale
    want = by_hand(price, p)
    assert got["vss_usd"] == pytest.approx(want["vss"], rel=1e-6, abs=1e-7 * scale)


def test_batches_propose_evaluate_and_bound_by_hand() -> None:
    # two batches of one future each: the default future's own plan hedges, the other's does not;
    # both are evaluated in both futures and the hedge wins (price 2: hedging pays). The batches'
    # weighted optima are the wait-and-see cost, so the gap estimate is exactly the EVPI.
    want = by_hand(2.0, 0.3)
    got = plan_stochastic(hedge_case(), FUTURES, probabilities=[0.3, 0.7], batches=2, value_of_hedging=False)
    s = got.metadata["stochastic"]
    ef = s["extensive_form"]
    assert ef["batches"] == 2 and ef["proposals"] == 2
    assert s["expected_cost_usd"] == pytest.approx(want["stoch"], rel=1e-7)
    assert got.tables["rentals"]["units_started"].sum() == pytest.approx(UNITS, rel=1e-6)
    wait_and_see = want["stoch"] - want["evpi"]
    assert ef["lower_bound_usd"] == pytest.approx(wait_and_see, rel=1e-7)
    assert ef["gap_estimate_usd"] == pytest.approx(want["evpi"], rel=1e-6)
    assert ef["gap_bound_95_usd"] > ef["gap_estimate_usd"]


def test_futures_inputs_cached_rows_equal_one_build_inputs_per_future() -> None:
    import dataclasses

    import xarray as xr

    from gigawatt.hedging.evaluate import futures_inputs

    s = hedge_case()
    futures = [*FUTURES, {"provider.cheapco.default": float(DEFAULT_Q + 2)}]
    direct = futures_inputs(s, futures, cached_from=100)
    cached = futures_inputs(s, futures, cached_from=1)
    for a, b in zip(direct, cached, strict=True):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, xr.DataArray):
                xr.testing.assert_allclose(x, y.transpose(*x.dims))


def test_first_stage_swapped_in_place_equals_a_fresh_evaluator() -> None:
    import pandas as pd

    from gigawatt.hedging.evaluate import evaluate_first_stages, evaluate_futures, first_stage_of

    s = hedge_case()
    hedge = {"rentals": pd.DataFrame({"lot": ["dear/4q"], "period": ["2027Q2"], "units_started": [0.6 * UNITS]})}
    stages = [first_stage_of(s, {}, "2028Q1"), first_stage_of(s, hedge, "2028Q1"), first_stage_of(s, {}, "2028Q1")]
    futures = [*FUTURES, {"provider.cheapco.default": float(DEFAULT_Q + 3)}]
    swapped = evaluate_first_stages(s, stages, futures)
    for fs, table in zip(stages, swapped, strict=True):
        fresh = evaluate_futures(s, fs, futures, executor="processes", workers=1)
        pd.testing.assert_frame_equal(table, fresh, check_exact=False, rtol=1e-9)
    assert not swapped[0].equals(swapped[1])
