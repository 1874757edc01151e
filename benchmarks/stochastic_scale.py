"""Stochastic planning at scale: the extensive form over N futures, and batched SAA past it.

Per N, each in a fresh process (so peak memory is that size's own): variables, inputs s (the
futures' PlanInputs: one build_inputs per future below 40, else one build_inputs and cached
rows), build s (stacking the inputs, every define_* call, the objective), solve s (handing the
matrix to HiGHS, the relaxation, rounding, re-solves: plan.solve's path), rest s (reading the
tables back, and what the total holds beyond the named parts), build share ((inputs + build) /
total), gap (to the relaxation's bound), peak RSS; `--repeats R` runs each row R times, each in
a fresh process, and shows the median run. `--batches K` rows solve K extensive forms over N/K
futures and evaluate each proposal in all N futures with the stress evaluator (sample-average
approximation), with the statistical gap bound.
Baseline, same run: the same futures solved one by one as deterministic plans (what a user
without the stochastic planner does, and what EVPI needs), `--baseline-limit` of them solved
and the time scaled to N; ratio = stochastic total / one-by-one total.

    python benchmarks/stochastic_scale.py --futures 10 50 100 200 --batches 1 10 --baseline-limit 5
    python benchmarks/stochastic_scale.py --futures 10 50 --repeats 3 --baseline-limit 5
    # plan_scale.py's 32-quarter model: the extensive form, and batches of one future each
    python benchmarks/stochastic_scale.py --scale 32 --futures 5 --batches 1 --time-limit 300 --baseline-limit 1
    python benchmarks/stochastic_scale.py --scale 32 --futures 10 --batches 1 --time-limit 600 --baseline-limit 0
    python benchmarks/stochastic_scale.py --scale 32 --futures 5 --batches 5 --time-limit 2400 --baseline-limit 1
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from gigawatt.errors import PlanError
from gigawatt.hedging.evaluate import futures_inputs
from gigawatt.hedging.saa import solve_in_batches
from gigawatt.plan import plan
from gigawatt.plan.stochastic import NoPlanInTime, futures_of, solve_futures
from gigawatt.scenario import Scenario, load_scenario
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.uncertainty import Uncertainty

SCALE_UNCERTAINTY = {      # for plan_scale.py's generated model, which has no uncertainty section
    "decision_horizon": None,
    "demand": [{"demand": "all", "multiplier": {"kind": "triangular", "low": 0.7, "mode": 1.0, "high": 1.4}}],
    "sites": [{"site": f"site{i:02d}", "construction_delay_quarters": {"kind": "uniform", "low": 0, "high": 4}}
              for i in range(0, 40, 4)],
    "chip_deals": [{"deal": f"deal{i}", "shortfall_share": {"kind": "uniform", "low": 0.0, "high": 0.3}}
                   for i in range(4)],
    "prices": {"electricity_multiplier": {"kind": "triangular", "low": 0.8, "mode": 1.0, "high": 1.5},
               "cloud_multiplier": {"kind": "triangular", "low": 0.8, "mode": 1.0, "high": 1.3}},
}


def scenario_for(args: argparse.Namespace) -> Scenario:
    if args.scale:
        sys.path.insert(0, str(Path(__file__).parent))
        from plan_scale import large_scenario

        s = large_scenario(args.scale)
        unc = Uncertainty.model_validate({k: v for k, v in SCALE_UNCERTAINTY.items() if v is not None})
        s = s.model_copy(update={"uncertainty": unc})
    else:
        s = load_scenario(args.scenario)
    policy = s.policy.model_copy(update={"mip_gap": args.gap, "time_limit_s": args.time_limit})
    return s.model_copy(update={"policy": policy})


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stochastic(args: argparse.Namespace, n: int, batches: int) -> dict[str, Any]:
    s = scenario_for(args)
    t0 = time.perf_counter()
    futures, prob = futures_of(s, n, args.seed)
    inputs = futures_inputs(s, futures)
    t1 = time.perf_counter()
    deadline = t1 + float(s.policy.time_limit_s)
    if batches == 1:
        try:
            sol = solve_futures(s, inputs, prob, deadline=deadline)
        except NoPlanInTime as e:     # still say how big it was, how long it built, what it held
            return {**e.stats, "inputs_s": t1 - t0, "build_s": e.stats["build_seconds"], "error": str(e),
                    "solve_s": e.stats["solve_seconds"], "peak_mb": peak_mb()}
    else:
        sol = solve_in_batches(s, futures, prob, inputs, batches, deadline=deadline,
                               report=lambda phase, info: print(f"  N={n} K={batches}: {phase}", file=sys.stderr,
                                                                flush=True))
    total = time.perf_counter() - t0
    st = sol.stats
    return {"variables": st["variables"], "binaries": st.get("binaries"), "inputs_s": t1 - t0,
            "method": st.get("placement_method", ""),
            "build_s": st["build_seconds"], "solve_s": st["solve_seconds"],
            "evaluation_s": st.get("evaluation_seconds", 0.0), "total_s": total, "gap": st["mip_gap"],
            "termination": st["termination"], "expected": float(np.dot(sol.costs, prob)),
            "gap_bound": st.get("gap_bound_95_share"), "proposals": st.get("proposals"),
            "evaluated": st.get("proposals_evaluated"), "missed": st.get("batches_without_plan", 0),
            "peak_mb": peak_mb()}


def one_by_one(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """Seconds to plan the first `limit` futures deterministically, scaled to all n."""
    s = scenario_for(args)
    futures, _ = futures_of(s, n, args.seed)
    k = min(n, args.baseline_limit)
    t0 = time.perf_counter()
    for f in futures[:k]:
        plan(apply_sample(s, f))
    return {"seconds": (time.perf_counter() - t0) * n / k, "solved": k}


def in_child(fn: Any, *a: Any) -> Any:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, a)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--futures", type=int, nargs="+", default=[10, 50, 100, 200])
    ap.add_argument("--batches", type=int, nargs="+", default=[1], help="1: one extensive form; K: SAA")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gap", type=float, default=0.01, help="policy.mip_gap (the goal: <= 1%%)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="policy.time_limit_s")
    ap.add_argument("--baseline-limit", type=int, default=10,
                    help="deterministic plans actually solved for the baseline (scaled to N)")
    ap.add_argument("--scenario", default="examples/openai-2025.yaml")
    ap.add_argument("--scale", type=int, default=0, help="plan_scale.py's generated model with this many quarters")
    ap.add_argument("--repeats", type=int, default=1, help="runs per row, each in a fresh process; the median "
                    "run by total time is shown")
    args = ap.parse_args()
    s = scenario_for(args)
    single = []
    for _ in range(0 if not args.baseline_limit else 1 if args.scale else 3):
        t = time.perf_counter()
        one = plan(s)
        single.append(time.perf_counter() - t)
    if single:
        print(f"{s.name}: one deterministic plan {statistics.median(single):.2f} s (median of {len(single)}: "
              f"build {one.metadata['build_seconds']:.2f} s, solve {one.metadata['solve_seconds']:.2f} s); "
              f"mip_gap {args.gap}, time limit {args.time_limit:g} s")
    else:
        print(f"{s.name}: no baseline; mip_gap {args.gap}, time limit {args.time_limit:g} s")
    print(f"{'N':>5} {'K':>3} {'variables':>10} {'inputs s':>9} {'build s':>8} {'solve s':>8} {'eval s':>7} "
          f"{'rest s':>7} {'total s':>8} {'build %':>8} {'gap':>7} {'peak MB':>8} {'1-by-1 s':>9} {'ratio':>6}")
    for n in args.futures:
        # --baseline-limit 0: no baseline (rows that only measure size, build and memory)
        base = in_child(one_by_one, args, n) if args.baseline_limit else {"seconds": math.nan, "solved": n}
        for k in args.batches:
            if k > n:
                continue
            try:
                runs = sorted((in_child(stochastic, args, n, k) for _ in range(args.repeats)),
                              key=lambda r: r.get("total_s", math.inf))
                r = runs[len(runs) // 2]
            except PlanError as e:
                print(f"{n:>5} {k:>3}  no plan within the time limit: {e}", flush=True)
                continue
            if "error" in r:
                print(f"{n:>5} {k:>3} {r['variables']:>10,} {r['inputs_s']:>9.1f} {r['build_s']:>8.1f} "
                      f"{r['solve_s']:>8.1f}   no plan within the time limit; peak {r['peak_mb']:.0f} MB: "
                      f"{r['error']}", flush=True)
                continue
            share = (r["inputs_s"] + r["build_s"]) / r["total_s"]
            rest = r["total_s"] - r["inputs_s"] - r["build_s"] - r["solve_s"] - r["evaluation_s"]
            gap = f"{r['gap']:>7.2%}"
            if k > 1:
                gap += (f" (SAA 95% bound {r['gap_bound']:.2%}" if not r["missed"]
                        else f" (no SAA bound: {r['missed']} batches found no plan in their share of the time")
                gap += f"; {r['evaluated']} of {r['proposals']} proposals evaluated)"
            print(f"{n:>5} {k:>3} {r['variables']:>10,} {r['inputs_s']:>9.1f} {r['build_s']:>8.1f} "
                  f"{r['solve_s']:>8.1f} {r['evaluation_s']:>7.1f} {rest:>7.1f} {r['total_s']:>8.1f} "
                  f"{100 * share:>7.0f}% {gap} "
                  f"{r['peak_mb']:>8.0f} {base['seconds']:>9.1f} {r['total_s'] / base['seconds']:>6.2f}"
                  + ("" if r["termination"] == "optimal" else f"  ({r['termination']})")
                  + ("" if base["solved"] == n else f"  (baseline: {base['solved']} solved, scaled)"), flush=True)


if __name__ == "__main__":
    main()
