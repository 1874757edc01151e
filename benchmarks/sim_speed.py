"""Simulator speed: gigawatt's engine vs a SimPy implementation of the same model, same inputs.

Model: gang jobs (power-of-two sizes up to 512) arriving at random on one 8,192-accelerator
pool, FIFO, independent accelerator failures at the catalog's rate (x `--failure-boost`
to stress the failure path), checkpoints, restart cost, repair. Both count the same
logical events (arrival, finish, failure, repair) and divide by wall time.

One difference, in SimPy's favour: SimPy's Container has no way to put a failed job
back at the head of the queue, so there it rejoins at the tail.

    python benchmarks/sim_speed.py              # 100k jobs
    python benchmarks/sim_speed.py --jobs 20000
    python benchmarks/sim_speed.py --jobs 1000000 --failure-boost 0 --json   # the compiled core applies

The compiled core runs only failure-free FIFO on one-accelerator nodes today; with failures
it reports itself unavailable and the Python core's figures stand.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time

import simpy

from gigawatt.sim import FailureModel, Fleet, Pool, simulate
from gigawatt.sim.workload import synthetic_jobs

CAPACITY = 8192


def run_gigawatt(jobs, failures: FailureModel, core: str) -> tuple[int, float, float]:
    fleet = Fleet([Pool(id="p", site="s", provider="x", accelerator="h100", capacity=CAPACITY)])
    r = simulate(fleet, jobs, "fifo", failures=failures, seed=1, gantt_jobs=0, core=core)
    return r.events, r.wall_seconds, r.utilization


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


if __name__ == "__main__":
    main()
