"""Sample-average approximation in batches: past the size one extensive form can hold.

The N futures are dealt into K batches; each batch's extensive form (N/K futures) is solved
on its own and proposes a first stage. Every distinct proposal is then evaluated in all N
futures by the stress evaluator (on a stress executor), and the best by the objective wins.
Statistical optimality gap (Mak, Morton and Wood 1999): the batches' lower bounds, weighted by
their futures' probability, bound the N-future optimum from below and estimate a lower bound on
the true optimum (E[v_n] <= v*); the winner's mean cost in the N futures is an upper one; the
gap bound adds 1.645 standard errors of both (one-sided 95%).

Time limit: the batches have 60% of it, one after another (once it has passed, the batches
left are skipped if any has proposed); proposals are evaluated in the order found until the
limit has passed (at least one is), and the best evaluated is the plan (termination
"time_limit" if any batch found none or was skipped, or any proposal went unevaluated).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gigawatt.errors import PlanError
from gigawatt.hedging.evaluate import evaluate_first_stages, first_stage_of, objective_costs
from gigawatt.periods import quarter_label
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.stochastic import (
    ExtensiveSolution,
    Future,
    NoPlanInTime,
    cvar,
    decision_quarter,
    solve_futures,
)
from gigawatt.scenario.model import Scenario
from gigawatt.stress import risk

Report = Callable[[str, dict[str, Any]], None]
Z95 = 1.645
BATCH_SHARE = 0.6   # of the time limit for the batches; evaluating their proposals gets the rest


def deal(n: int, k: int) -> list[np.ndarray]:
    """Future indices of each of k batches, dealt in turn (batch j: j, j + k, j + 2k, ...)."""
    return [np.arange(j, n, k) for j in range(k)]


def _key(tables: dict[str, pd.DataFrame]) -> str:
    """Proposals that differ by solver noise only count once."""
    parts = []
    for name in ("builds", "rentals", "hosts"):
        df = tables[name]
        parts.append(df.round(3).sort_values(list(df.columns)).to_csv(index=False) if not df.empty else "")
    return "|".join(parts)


def solve_in_batches(scenario: Scenario, futures: Sequence[Future], prob: np.ndarray, inputs: Sequence[PlanInputs],
                     batches: int, *, risk_alpha: float = 0.95, risk_weight: float = 0.0, executor: str = "serial",
                     workers: int | None = None, deadline: float, report: Report | None = None) -> ExtensiveSolution:
    say = report or (lambda phase, info: None)
    n = len(futures)
    k = min(batches, n)
    label = quarter_label(decision_quarter(scenario))
    t0 = time.perf_counter()
    batches_until = t0 + BATCH_SHARE * (deadline - t0)
    proposals: dict[str, dict[str, pd.DataFrame]] = {}
    bounds, weights, sizes, gaps, build_s, solve_s = [], [], [], [], 0.0, 0.0
    missed = 0
    for j, idx in enumerate(deal(n, k)):
        left = batches_until - time.perf_counter()
        if left <= 0 and proposals:     # out of time: the proposals so far go to evaluation
            missed += 1
            continue
        say(f"batch {j + 1} of {k}: extensive form over {len(idx)} futures", {})
        share = prob[idx] / prob[idx].sum()
        try:
            # each batch may use all the batches' time left: one that runs out finds nothing (an
            # even share per batch left every batch short of it on a loaded machine)
            sol = solve_futures(scenario, [inputs[i] for i in idx], share, risk_alpha=risk_alpha,
                                risk_weight=risk_weight, deadline=time.perf_counter() + max(left, 1.0))
        except NoPlanInTime as e:       # no plan within the time left: the others still propose
            missed += 1
            build_s += e.stats["build_seconds"]
            solve_s += e.stats["solve_seconds"]
            continue
        bounds.append(sol.stats["objective_bound_usd"])
        weights.append(float(prob[idx].sum()))
        gaps.append(sol.stats["mip_gap"])
        sizes.append(sol.stats["variables"])
        build_s += sol.stats["build_seconds"]
        solve_s += sol.stats["solve_seconds"]
        proposals.setdefault(_key(sol.first_stage), sol.first_stage)
    if not proposals:
        raise PlanError(f"no batch found a plan within policy.time_limit_s ({k} batches shared it); "
                        "raise it or use fewer batches")
    t1 = time.perf_counter()
    scored = []
    say(f"evaluating {len(proposals)} proposals in all {n} futures (stress evaluator)", {})
    stages = [first_stage_of(scenario, tables, label) for tables in proposals.values()]
    # past the deadline no further proposal is evaluated: the best of those that were is the plan
    evaluated = evaluate_first_stages(scenario, stages, futures, executor=executor, workers=workers,
                                      deadline=deadline)
    for tables, table in zip(list(proposals.values())[:len(evaluated)], evaluated, strict=True):
        costs = objective_costs(table, n)
        score = float(np.dot(costs, prob)) + (risk_weight * cvar(costs, prob, risk_alpha) if risk_weight else 0.0)
        scored.append((score, tables, costs, table))
    t2 = time.perf_counter()
    score, tables, costs, table = min(scored, key=lambda s: s[0])
    # sum_k w_k min_x F_k(x) <= min_x sum_k w_k F_k(x): a lower bound on the N-future optimum too
    # (only when every batch reported its bound)
    lower = float(np.dot(weights, bounds)) if not missed else math.nan
    se_lower = float(np.std(bounds, ddof=1) / math.sqrt(k)) if len(bounds) > 1 else math.nan
    se_upper = float(math.sqrt(np.dot(prob, (costs - costs @ prob) ** 2) / n)) if n > 1 else math.nan
    gap = score - lower
    spread = Z95 * math.sqrt((se_lower if math.isfinite(se_lower) else 0.0) ** 2 + se_upper ** 2)
    money = risk.scalar(table, "cost_usd").reindex(range(n)).to_numpy(dtype=float)
    recourse = {"scenario_costs": pd.DataFrame({"scenario": np.arange(n), "probability": prob, "money_usd": money,
                                                "penalty_usd": costs - money, "cost_usd": costs})}
    stats = {"method": "sample-average approximation in batches", "batches": k, "batches_without_plan": missed,
             "futures_per_batch": int(math.ceil(n / k)), "proposals": len(proposals),
             "proposals_evaluated": len(evaluated),
             "variables": int(max(sizes)), "batch_mip_gaps": gaps,
             "build_seconds": build_s, "solve_seconds": solve_s, "batch_seconds": t1 - t0,
             "evaluation_seconds": t2 - t1,
             "termination": "optimal" if not missed and len(evaluated) == len(proposals)
             and max(gaps) <= scenario.policy.mip_gap + 1e-12 else "time_limit", "mip_gap": max(gaps), "objective_usd": score,
             "lower_bound_usd": lower, "lower_bound_se_usd": se_lower, "upper_bound_se_usd": se_upper,
             "gap_estimate_usd": gap, "gap_bound_95_usd": gap + spread,
             "gap_bound_95_share": (gap + spread) / abs(score) if score else math.nan}
    return ExtensiveSolution(tables, recourse, costs, stats)
