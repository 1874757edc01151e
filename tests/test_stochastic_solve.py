"""The extensive form's solve (the planner's relaxation-and-rounding path) and SAA's time limit."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from test_stochastic_hand import FUTURES, UNITS, by_hand, hedge_case

from gigawatt.hedging.evaluate import evaluate_first_stages, first_stage_of, futures_inputs
from gigawatt.hedging.saa import solve_in_batches
from gigawatt.plan import stochastic
from gigawatt.plan.stochastic import futures_of, relaxation_method, solve_futures
from gigawatt.scenario import load_scenario


def test_extensive_form_reports_its_plan_against_the_relaxation_bound() -> None:
    # openai-2025 has co-located runs (binary hosts, missed runs): the plan comes from rounding
    # the relaxation, and its gap is that plan's objective against the relaxation's bound
    s = load_scenario("examples/openai-2025.yaml")
    futures, prob = futures_of(s, 3, seed=0)
    sol = solve_futures(s, futures_inputs(s, futures), prob, deadline=time.perf_counter() + 120)
    st = sol.stats
    assert st["binaries"] > 0
    assert st["relaxation_method"] == "simplex"     # small blocks: about 2,850 variables a future
    assert st["placement_method"] in ("relax-and-round", "branch-and-bound")
    assert st["objective_bound_usd"] <= st["objective_usd"]
    assert st["mip_gap"] == pytest.approx(
        (st["objective_usd"] - st["objective_bound_usd"]) / abs(st["objective_usd"]), rel=1e-9, abs=1e-12)
    assert st["mip_gap"] <= s.policy.mip_gap
    assert float(np.dot(sol.costs, prob)) == pytest.approx(st["objective_usd"], rel=1e-9)
    hosted = sol.first_stage["hosts"]
    assert hosted["run"].is_unique     # rounded: each co-located run in one place


def test_relaxation_method_goes_by_the_size_of_one_future() -> None:
    assert relaxation_method(200 * 2_850, 200) == "simplex"      # openai-2025 at 200 futures
    assert relaxation_method(244_834, 5) == "ipm"                # plan_scale.py's 32 quarters at 5
    assert relaxation_method(20_000, 1) == "simplex" and relaxation_method(20_001, 1) == "ipm"


def test_interior_point_relaxation_gives_the_same_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # the relaxation's optimum is one number whichever algorithm finds it; the plan rounded from
    # interior point's (crossed-over) solution is within the gap of it
    s = load_scenario("examples/openai-2025.yaml")
    futures, prob = futures_of(s, 3, seed=0)
    inputs = futures_inputs(s, futures)
    by_simplex = solve_futures(s, inputs, prob, deadline=time.perf_counter() + 120).stats
    monkeypatch.setattr(stochastic, "IPM_FROM_VARIABLES_PER_FUTURE", 0)
    by_ipm = solve_futures(s, inputs, prob, deadline=time.perf_counter() + 120).stats
    assert by_simplex["relaxation_method"] == "simplex" and by_ipm["relaxation_method"] == "ipm"
    assert by_ipm["objective_bound_usd"] == pytest.approx(by_simplex["objective_bound_usd"], rel=1e-7)
    assert by_ipm["mip_gap"] <= s.policy.mip_gap


def test_past_the_deadline_only_the_first_first_stage_is_evaluated() -> None:
    s = hedge_case()
    hedge = {"rentals": pd.DataFrame({"lot": ["dear/4q"], "period": ["2027Q2"], "units_started": [0.6 * UNITS]})}
    stages = [first_stage_of(s, hedge, "2028Q1"), first_stage_of(s, {}, "2028Q1")]
    every = evaluate_first_stages(s, stages, FUTURES)
    late = evaluate_first_stages(s, stages, FUTURES, deadline=time.perf_counter() - 1.0)
    assert len(every) == 2 and len(late) == 1
    pd.testing.assert_frame_equal(late[0], every[0])


def test_batches_past_the_time_limit_keep_the_first_proposal_and_say_so() -> None:
    # batch 0 is the default future: its plan hedges; batch 1's would not. With the time limit
    # already passed the first batch still solves (1 s, it is tiny), the second is skipped, and
    # the one proposal is evaluated in both futures: the hedge, at its hand-computed expected cost
    s = hedge_case()
    prob = np.array([0.3, 0.7])
    sol = solve_in_batches(s, FUTURES, prob, futures_inputs(s, FUTURES), 2, deadline=time.perf_counter() - 1.0)
    st = sol.stats
    assert st["proposals"] == 1 and st["proposals_evaluated"] == 1 and st["batches_without_plan"] == 1
    assert st["termination"] == "time_limit" and np.isnan(st["lower_bound_usd"])
    assert float(np.dot(sol.costs, prob)) == pytest.approx(by_hand(2.0, 0.3)["stoch"], rel=1e-7)
    assert sol.first_stage["rentals"]["units_started"].sum() == pytest.approx(UNITS, rel=1e-6)
