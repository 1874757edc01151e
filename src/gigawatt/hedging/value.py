"""What hedging is worth in the futures it was planned for: VSS and EVPI."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from gigawatt.hedging.evaluate import evaluate_futures, objective_costs
from gigawatt.plan.result import Plan
from gigawatt.plan.solve import plan as plan_one
from gigawatt.plan.stochastic import Future, mean_future
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.model import Scenario
from gigawatt.stress.first_stage import FirstStage


def mean_future_plan(scenario: Scenario, futures: Sequence[Future], prob: np.ndarray) -> Plan:
    """The deterministic plan a stochastic plan is measured against: the expected-value future's."""
    return plan_one(apply_sample(scenario, mean_future(futures, prob)))


def value_of_stochastic_solution(scenario: Scenario, futures: Sequence[Future], prob: np.ndarray, expected: float,
                                 deterministic: FirstStage, *, executor: str = "serial",
                                 deadline: float | None = None) -> dict[str, Any]:
    """VSS: the deterministic plan's first stage evaluated in the same futures, minus the stochastic
    plan's expected cost; EVPI: the stochastic expected cost minus the mean of each future's optimum."""
    table = evaluate_futures(scenario, deterministic, futures, executor=executor, deadline=deadline)
    det_expected = float(np.dot(objective_costs(table, len(futures)), prob))
    out: dict[str, Any] = {"deterministic_expected_cost_usd": det_expected, "vss_usd": det_expected - expected}
    own = []
    for f in futures:
        if deadline is not None and time.perf_counter() > deadline:
            return {**out, "evpi_usd": None, "value_note": "EVPI not computed within policy.time_limit_s (it needs "
                    "one plan per future); raise it to see it"}
        own.append(plan_one(apply_sample(scenario, dict(f))).objective_usd)
    wait_and_see = float(np.dot(np.array(own), prob))
    out.update({"wait_and_see_cost_usd": wait_and_see, "evpi_usd": expected - wait_and_see})
    return out
