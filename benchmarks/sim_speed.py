"""Simulator speed: gigawatt's engine vs a SimPy implementation of the same model, same inputs.

Model: gang jobs (power-of-two sizes up to 512) arriving at random on one 8,192-accelerator
pool, FIFO, independent accelerator failures at the catalog's rate (x `--failure-boost`
to stress the failure path), checkpoints, restart cost, repair. Both count the same
logical events (arrival, finish, failure, repair) and divide by wall time.

One difference, in SimPy's favour: SimPy's Container has no way to put a failed job
back at the head of the queue, so there it rejoins at the tail.

    python benchmarks/sim_speed.py              # 100k jobs
    python benchmarks/sim_speed.py --jobs 20000
    python benchmarks/sim_speed.py --jobs 1000000 --json

A second case, `outages_backfill` in the JSON: the same jobs on four 2,048-accelerator pools
of four providers, each provider down 6 h once a week (staggered), EASY backfill, the same
failures. Its baseline is the Python core on the same model (identical runs, event by event;
on the first 100k jobs, median of the repeats); SimPy's rate above is for the FIFO model
without outages or backfill and is given for scale only.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time

import numpy as np
import simpy

from gigawatt.sim import FailureModel, Fleet, Outage, Pool, simulate
from gigawatt.sim.workload import synthetic_jobs

CAPACITY = 8192


def run_gigawatt(jobs, failures: FailureModel, core: str) -> tuple[int, float, float]:
    fleet = Fleet([Pool(id="p", site="s", provider="x", accelerator="h100", capacity=CAPACITY)])
    r = simulate(fleet, jobs, "fifo", failures=failures, seed=1, gantt_jobs=0, core=core)
    return r.events, r.wall_seconds, r.utilization


def outage_fleet() -> Fleet:
    return Fleet([Pool(id=f"pool{k}", site=f"site{k}", provider=f"provider{k}", accelerator="h100",
                       capacity=CAPACITY // 4) for k in range(4)])


def weekly_outages(span_s: float) -> list[Outage]:
    """Each provider down 6 h once a week, the four staggered by 1.75 days."""
    starts = np.arange(86400.0, span_s, 7 * 86400.0 / 4)
    return [Outage(f"provider{k % 4}", float(t), 6 * 3600.0) for k, t in enumerate(starts)]


def run_outages_backfill(jobs, failures: FailureModel, core: str, repeat: int) -> dict[str, float]:
    """Median end-to-end and loop seconds over `repeat` runs of the outages + backfill case."""
    outages = weekly_outages(float(jobs["arrival_s"].max()))
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = simulate(outage_fleet(), jobs, "easy-backfill", failures=failures, outages=outages, seed=1,
                     gantt_jobs=0, core=core)
        runs.append((time.perf_counter() - t0, r.wall_seconds))
    total, loop = (statistics.median(x) for x in zip(*runs, strict=True))
    return {"jobs": len(jobs), "outages": len(outages), "end_to_end_s": total, "loop_s": loop, "events": r.events,
            "events_per_s": r.events / loop, "interruptions": r.interruptions, "utilization": r.utilization}


def outages_backfill_case(jobs, failures: FailureModel, repeat: int, s_rate: float) -> dict[str, object]:
    """The compiled core on all jobs; the Python core (the baseline) and the compiled one on the first 100k."""
    subset = jobs.iloc[: min(len(jobs), 100_000)]
    py = run_outages_backfill(subset, failures, "python", repeat)
    out: dict[str, object] = {"python_core_jobs": len(subset), "python_core_events_per_s": py["events_per_s"],
                              "python_core_end_to_end_s": py["end_to_end_s"]}
    try:
        same = run_outages_backfill(subset, failures, "compiled", repeat)
        full = run_outages_backfill(jobs, failures, "compiled", repeat)
    except Exception as exc:  # the compiled core is optional
        return {**out, "core": "python", "compiled": f"unavailable ({exc})"}
    return {**out, "core": "compiled", **full,
            "ratio_vs_python_core_same_jobs": py["end_to_end_s"] / same["end_to_end_s"],
            "ratio_vs_python_core_events_per_s": full["events_per_s"] / py["events_per_s"],
            "ratio_vs_simpy_fifo_events_per_s": full["events_per_s"] / s_rate}


def run_simpy(jobs, failures: FailureModel) -> tuple[int, float]:
    env = simpy.Environment()
    pool = simpy.Container(env, capacity=CAPACITY, init=CAPACITY)
    rng = random.Random(1)
    rate = failures.rate_per_accelerator_hour / 3600.0
    ckpt = failures.checkpoint_minutes * 60.0
    restart = failures.restart_minutes * 60.0
    repair = failures.repair_hours * 3600.0
    events = [0]

    def repairer(amount: float):
        yield env.timeout(repair)
        events[0] += 1
        yield pool.put(amount)

    def job(size: float, work: float):
        done, interrupted = 0.0, False
        while True:
            yield pool.get(size)
            overhead = restart if interrupted else 0.0
            run = overhead + (work - done)
            to_failure = rng.expovariate(rate * size) if rate else math.inf
            if to_failure >= run:
                yield env.timeout(run)
                events[0] += 1                       # finish
                yield pool.put(size)
                return
            yield env.timeout(to_failure)
            events[0] += 1                           # failure
            running = max(0.0, to_failure - overhead)
            done = min(work, done + math.floor(running / ckpt) * ckpt)
            interrupted = True
            broken = min(1.0, size)
            if size - broken > 0:
                yield pool.put(size - broken)
            env.process(repairer(broken))

    def arrivals():
        last = 0.0
        for arrival, size, work in zip(jobs["arrival_s"], jobs["accelerators"], jobs["work_s"], strict=True):
            yield env.timeout(arrival - last)
            last = arrival
            events[0] += 1                           # arrival
            env.process(job(float(size), float(work)))

    env.process(arrivals())
    t0 = time.perf_counter()
    env.run()
    return events[0], time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--failure-boost", type=float, default=10.0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeat", type=int, default=3, help="runs of gigawatt's core (median reported)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    jobs = synthetic_jobs(args.jobs, seed=1, max_size=512, mean_interarrival_s=60, mean_work_s=3600)
    base = FailureModel.from_catalog()
    failures = FailureModel(base.rate_per_accelerator_hour * args.failure_boost, base.repair_hours,
                            base.restart_minutes, base.checkpoint_minutes, enabled=args.failure_boost > 0)
    build_s = time.perf_counter() - t_start
    subset = jobs.iloc[: min(len(jobs), 100_000)]            # SimPy on a subset: its rate, not its total
    s_events, s_wall = run_simpy(subset, failures)
    s_rate = s_events / s_wall
    out: dict[str, object] = {"jobs": args.jobs, "accelerators": CAPACITY, "failure_boost": args.failure_boost,
                              "simpy_jobs": len(subset), "simpy_events_per_s": s_rate}
    for core in ("compiled", "python"):
        runs = []
        try:
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                g_events, g_wall, util = run_gigawatt(jobs, failures, core)
                runs.append((time.perf_counter() - t0, g_wall))
        except Exception:  # the compiled core is optional or does not apply
            continue
        total, loop = (statistics.median(x) for x in zip(*runs, strict=True))
        # end to end: the job table in, the SimResult (per-job table, timeline, metrics) out
        out.update({"core": core, "end_to_end_s": total, "loop_s": loop, "workload_build_s": build_s,
                    "events": g_events, "events_per_s": g_events / loop,
                    "ratio_vs_simpy": g_events / loop / s_rate, "utilization": util, "repeats": args.repeat})
        break
    case = outages_backfill_case(jobs, failures, args.repeat, s_rate)
    out["outages_backfill"] = case
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.jobs:,} gang jobs on {CAPACITY:,} accelerators, failures x{args.failure_boost:g} the catalog rate")
    print(f"  SimPy (baseline, {len(subset):,} jobs): {s_events:,} events in {s_wall:.2f} s = {s_rate:,.0f} events/s")
    for core in ("python", "compiled"):
        try:
            t0 = time.perf_counter()
            g_events, g_wall, util = run_gigawatt(jobs, failures, core)
            g_total = time.perf_counter() - t0
        except Exception as exc:  # the compiled core is optional
            print(f"  gigawatt {core:8s} core     : unavailable ({exc})")
            continue
        g_rate = g_events / g_wall
        print(f"  gigawatt {core:8s} core     : {g_events:,} events in {g_wall:.2f} s = {g_rate:,.0f} events/s, "
              f"{g_rate / s_rate:.1f}x SimPy (whole {args.jobs:,}-job replay incl. set-up {g_total:.2f} s; "
              f"utilisation {util:.1%})")
    py_rate = case["python_core_events_per_s"]
    print(f"  outages + EASY backfill, 4 pools x {CAPACITY // 4:,} (median of {args.repeat}):")
    print(f"    gigawatt python   core     : {py_rate:,.0f} events/s on the first {case['python_core_jobs']:,} jobs, "
          f"{case['python_core_end_to_end_s']:.2f} s end to end")
    if case["core"] == "compiled":
        print(f"    gigawatt compiled core     : {case['events']:,} events, {case['outages']} outages, "
              f"{case['interruptions']:,} interruptions; {args.jobs:,} jobs end to end {case['end_to_end_s']:.2f} s, "
              f"{case['events_per_s']:,.0f} events/s = {case['ratio_vs_python_core_events_per_s']:.1f}x the "
              f"Python core, {case['ratio_vs_simpy_fifo_events_per_s']:.1f}x SimPy's FIFO rate; same first {case['python_core_jobs']:,} jobs "
              f"{case['ratio_vs_python_core_same_jobs']:.1f}x faster end to end than the Python core")
    else:
        print(f"    gigawatt compiled core     : {case['compiled']}")


if __name__ == "__main__":
    main()
