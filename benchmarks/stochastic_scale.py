"""Stochastic planning at scale: the extensive form of examples/openai-2025.yaml over N futures.

Per N: variables, inputs s (one build_inputs per future), model build s, solve s, MIP gap, and
the process's peak memory (ru_maxrss, sizes run smallest first). Baseline, same run: the same
futures solved one by one as deterministic plans (what a user without the stochastic planner
does, and what EVPI needs); ratio = extensive form (build + solve) / one-by-one total.

    python benchmarks/stochastic_scale.py                 # N = 10, 50, 100
    python benchmarks/stochastic_scale.py --futures 10 50 100 200
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from gigawatt.plan import plan
from gigawatt.plan.inputs import build_inputs
from gigawatt.plan.stochastic import (
    build_extensive_form,
    decision_quarter,
    futures_of,
    solve_extensive_form,
    stack_inputs,
)
from gigawatt.scenario import load_scenario
from gigawatt.scenario.apply import apply_sample


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def extensive(s, n: int, seed: int) -> dict[str, float]:
    t0 = time.perf_counter()
    futures, prob = futures_of(s, n, seed)
    p = stack_inputs([build_inputs(apply_sample(s, f)) for f in futures])
    t1 = time.perf_counter()
    sm = build_extensive_form(p, prob, decision_quarter(s))
    t2 = time.perf_counter()
    solved = solve_extensive_form(sm, s, time.perf_counter() + float(s.policy.time_limit_s))
    t3 = time.perf_counter()
    return {"variables": int(sm.m.nvars), "binaries": int(sm.m.variables.binaries.nvars),
            "inputs_s": t1 - t0, "build_s": t2 - t1, "solve_s": t3 - t2, "gap": solved["mip_gap"],
            "termination": solved["termination"], "objective": float(sm.m.objective.value or np.nan),
            "peak_mb": peak_mb()}


def one_by_one(s, n: int, seed: int, limit: int) -> tuple[float, int]:
    """Seconds to plan the first `limit` futures deterministically, scaled to all n."""
    futures, _ = futures_of(s, n, seed)
    k = min(n, limit)
    t0 = time.perf_counter()
    for f in futures[:k]:
        plan(apply_sample(s, f))
    return (time.perf_counter() - t0) * n / k, k


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--futures", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-limit", type=int, default=10,
                    help="deterministic plans actually solved for the baseline (scaled to N)")
    ap.add_argument("--scenario", default="examples/openai-2025.yaml")
    args = ap.parse_args()
    s = load_scenario(args.scenario)
    single = [time.perf_counter()]
    for _ in range(3):
        t = time.perf_counter()
        plan(s)
        single.append(time.perf_counter() - t)
    print(f"{args.scenario}: one deterministic plan {statistics.median(single[1:]):.2f} s (median of 3)")
    print(f"{'N':>5} {'variables':>10} {'binaries':>8} {'inputs s':>9} {'build s':>8} {'solve s':>8} "
          f"{'build %':>8} {'gap':>7} {'peak MB':>8} {'1-by-1 s':>9} {'ratio':>6}")
    for n in args.futures:
        r = extensive(s, n, args.seed)
        base, solved = one_by_one(s, n, args.seed, args.baseline_limit)
        total = r["inputs_s"] + r["build_s"] + r["solve_s"]
        print(f"{n:>5} {r['variables']:>10,} {r['binaries']:>8} {r['inputs_s']:>9.1f} {r['build_s']:>8.1f} "
              f"{r['solve_s']:>8.1f} {100 * (r['inputs_s'] + r['build_s']) / total:>7.0f}% {r['gap']:>7.2%} "
              f"{r['peak_mb']:>8.0f} {base:>9.1f} {total / base:>6.2f}"
              + ("" if r["termination"] == "optimal" else f"  ({r['termination']})")
              + ("" if solved == n else f"  (baseline: {solved} solved, scaled)"))


if __name__ == "__main__":
    main()
