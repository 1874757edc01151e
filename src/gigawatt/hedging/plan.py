"""plan_stochastic(scenario, ...) -> Plan: one first stage for sampled futures, and what it is worth."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import gigawatt
from gigawatt.errors import PlanError
from gigawatt.hedging.evaluate import OutOfTime, first_stage_of, futures_inputs
from gigawatt.hedging.out_of_sample import out_of_sample as check_out_of_sample
from gigawatt.hedging.saa import solve_in_batches
from gigawatt.hedging.value import mean_future_plan, value_of_stochastic_solution
from gigawatt.periods import quarter_label
from gigawatt.plan.build import build_model
from gigawatt.plan.inputs import build_inputs
from gigawatt.plan.result import Plan
from gigawatt.plan.solve import plan_from_model, scenario_hash
from gigawatt.plan.stochastic import Future, cvar, decision_quarter, futures_of, solve_futures
from gigawatt.scenario.model import Scenario
from gigawatt.stress.first_stage import FirstStage, fix_first_stage

Progress = Callable[[str, dict[str, Any]], None]


def plan_with_first_stage(scenario: Scenario, fs: FirstStage, deadline: float) -> Plan:
    """The base future's plan with the stochastic first stage fixed: the tables a Plan shows."""
    p = build_inputs(scenario)
    m, ex = build_model(p)
    fix_first_stage(m, p, fs)
    return plan_from_model(p, m, ex, deadline=deadline)


def plan_stochastic(scenario: Scenario, futures: int | Sequence[Future] = 10, *, seed: int = 0,
                    probabilities: Sequence[float] | None = None, risk_alpha: float = 0.95,
                    risk_weight: float = 0.0, value_of_hedging: bool = True, batches: int = 1,
                    out_of_sample: int | Sequence[Future] = 0, out_of_sample_seed: int | None = None,
                    executor: str = "serial", progress: Progress | None = None) -> Plan:
    """A plan whose first stage hedges across `futures` (a number to draw with `seed`, or the
    futures themselves as factor values), minimising expected cost + risk_weight * CVaR.

    batches > 1 solves that many extensive forms over a share of the futures each and keeps the
    proposal that does best in all of them (sample-average approximation); out_of_sample stresses
    the deterministic and the hedged plan side by side in that many fresh futures (drawn with
    out_of_sample_seed, default seed + 1), or in the futures given.
    """
    report = progress or (lambda phase, info: None)
    if not 0 < risk_alpha < 1:
        raise PlanError(f"--risk-alpha must lie strictly between 0 and 1, got {risk_alpha}")
    if risk_weight < 0:
        raise PlanError(f"--risk-weight must be 0 or more, got {risk_weight}")
    if batches < 1:
        raise PlanError(f"--batches must be at least 1, got {batches}")
    t0 = time.perf_counter()
    deadline = t0 + float(scenario.policy.time_limit_s)
    if isinstance(futures, int):
        if futures < 1:
            raise PlanError(f"--stochastic needs at least 1 future, got {futures}")
        drawn, prob = futures_of(scenario, futures, seed)
    else:
        drawn = [dict(f) for f in futures]
        prob = np.full(len(drawn), 1.0 / len(drawn)) if probabilities is None else np.asarray(probabilities, float)
    if len(prob) != len(drawn) or not math.isclose(float(prob.sum()), 1.0, rel_tol=1e-9) or (prob < 0).any():
        raise PlanError("futures' probabilities must be one per future, non-negative, and sum to 1")
    report("inputs", {"futures": len(drawn)})
    inputs = futures_inputs(scenario, drawn)
    t_inputs = time.perf_counter() - t0
    label = quarter_label(decision_quarter(scenario))
    if batches == 1:
        report("build", {})
        sol = solve_futures(scenario, inputs, prob, risk_alpha=risk_alpha, risk_weight=risk_weight, deadline=deadline)
    else:
        sol = solve_in_batches(scenario, drawn, prob, inputs, batches, risk_alpha=risk_alpha, risk_weight=risk_weight,
                               executor=executor, deadline=deadline, report=report)
    hedged_fs = first_stage_of(scenario, sol.first_stage, label)
    expected = float(np.dot(sol.costs, prob))
    stats: dict[str, Any] = {
        "futures": len(drawn), "seed": seed if isinstance(futures, int) else None,
        "decision_horizon": label, "risk_alpha": risk_alpha, "risk_weight": risk_weight,
        "expected_cost_usd": expected, "cvar_usd": cvar(sol.costs, prob, risk_alpha),
        "extensive_form": {**sol.stats, "inputs_seconds": t_inputs},
    }
    det_fs = None
    if value_of_hedging or out_of_sample:
        report("the deterministic plan (the mean future's) to measure hedging against", {})
        det_fs = first_stage_of(scenario, mean_future_plan(scenario, drawn, prob).tables, label)
    if value_of_hedging and det_fs is not None:
        report("measuring the value of hedging: the deterministic plan and each future's own plan", {})
        try:
            stats.update(value_of_stochastic_solution(scenario, drawn, prob, expected, det_fs, executor=executor,
                                                      deadline=deadline))
        except OutOfTime:
            stats.update({"vss_usd": None, "evpi_usd": None,
                          "value_note": "VSS and EVPI not computed within policy.time_limit_s (they need the "
                          "deterministic plan in every future and one plan per future); raise it to see them"})
        if risk_weight > 0:
            neutral = plan_stochastic(scenario, drawn, probabilities=list(prob), risk_alpha=risk_alpha,
                                      value_of_hedging=False, batches=batches, executor=executor)
            n_stats = neutral.metadata["stochastic"]
            stats["price_of_risk_aversion"] = {
                "expected_cost_up_usd": expected - n_stats["expected_cost_usd"],
                "cvar_down_usd": n_stats["cvar_usd"] - stats["cvar_usd"]}
    result = plan_with_first_stage(scenario, hedged_fs, max(deadline, time.perf_counter() + 60))
    result.tables.update(sol.recourse)
    if out_of_sample and det_fs is not None:
        fresh, fresh_seed = _fresh_futures(scenario, out_of_sample, seed, out_of_sample_seed)
        report(f"out-of-sample check: both plans stressed in {len(fresh)} fresh futures", {})
        summary, rows = check_out_of_sample(scenario, {"deterministic": det_fs, "hedged": hedged_fs}, fresh,
                                            seed=fresh_seed, executor=executor)
        stats["out_of_sample"] = summary
        result.tables["out_of_sample"] = rows
    result.metadata.update({
        "scenario": scenario.name, "scenario_hash": scenario_hash(scenario), "version": gigawatt.__version__,
        "solver": "highs", "build_seconds": sol.stats["build_seconds"] + t_inputs,
        "solve_seconds": sol.stats["solve_seconds"], "variables": sol.stats["variables"],
        "constraints": sol.stats.get("constraints"), "stochastic": stats,
        "mip_gap": max(sol.stats["mip_gap"], float(result.metadata.get("mip_gap", 0.0))),
    })
    if sol.stats["termination"] != "optimal" and result.status == "optimal":
        result.status = "feasible"
    return result


def _fresh_futures(scenario: Scenario, given: int | Sequence[Future], seed: int,
                   fresh_seed: int | None) -> tuple[list[Future], int | None]:
    if not isinstance(given, int):
        return [dict(f) for f in given], fresh_seed
    s = seed + 1 if fresh_seed is None else fresh_seed
    return futures_of(scenario, given, s)[0], s
