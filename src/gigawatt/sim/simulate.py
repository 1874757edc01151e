"""simulate(fleet, workload, policy, seed) -> SimResult: a pure function over plain data."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from gigawatt.sim.cluster import GangCluster, Job
from gigawatt.sim.engine import Engine
from gigawatt.sim.failures import FailureModel, Outage
from gigawatt.sim.fleet import Fleet
from gigawatt.sim.policies import Policy, get_policy
from gigawatt.sim.result import SimResult, _quantiles
from gigawatt.sim.workload import validate_jobs

Progress = Callable[[float, float], None]   # (simulated seconds done, until)


def jobs_from_table(df: pd.DataFrame) -> list[Job]:
    allowed_cache: dict[str, frozenset[str] | None] = {}

    def allowed(text: str) -> frozenset[str] | None:
        if text not in allowed_cache:
            allowed_cache[text] = frozenset(x for x in text.split("|") if x) or None
        return allowed_cache[text]

    columns = [df[c].tolist() for c in ("name", "arrival_s", "accelerators", "work_s", "allowed", "kind")]
    return [
        Job(id=i, name=n, arrival=a, size=s, work=w, allowed=allowed(al), kind=k)
        for i, (n, a, s, w, al, k) in enumerate(zip(*columns, strict=True))
    ]


def simulate(
    fleet: Fleet,
    workload: pd.DataFrame,
    policy: Policy | str = "fifo",
    *,
    failures: FailureModel | None = None,
    outages: list[Outage] | None = None,
    until_s: float | None = None,
    seed: int = 0,
    timeline_step_s: float | None = None,
    gantt_jobs: int = 20,
    record: bool = False,
    progress: Progress | None = None,
) -> SimResult:
    """Run gang jobs on a fleet. No printing, no globals: safe in worker processes."""
    pol = get_policy(policy) if isinstance(policy, str) else policy
    fail = failures or FailureModel.none()
    table = validate_jobs(workload.copy(), "workload")
    jobs = jobs_from_table(table)
    for pool in fleet.pools:                       # a fleet may be reused across runs
        pool.free, pool.up, pool.running = pool.capacity, True, set()
    horizon = until_s if until_s is not None else math.inf
    span = horizon if math.isfinite(horizon) else max(
        [j.arrival + j.work for j in jobs] or [3600.0])
    step = timeline_step_s or max(60.0, span / 200)
    largest = sorted(jobs, key=lambda j: -j.size * j.work)[:gantt_jobs]
    engine = Engine(seed, record=record)
    cluster = GangCluster(engine, fleet, jobs, pol, fail, outages, step)
    for job in largest:
        job.segments = []
    cluster.start()
    t0 = time.perf_counter()
    if progress is None:
        engine.run(horizon)
    else:
        chunk = span / 50
        t = 0.0
        while engine.peek() <= horizon and engine.peek() < math.inf:
            t = min(horizon, max(t + chunk, engine.peek()))
            engine.run(t)
            progress(min(t, span), span)
        engine.run(horizon)
    wall = time.perf_counter() - t0
    cluster.finish_accounting()
    end = engine.now if math.isfinite(horizon) else max(engine.now, 1e-9)
    return _result(cluster, fleet, engine, end, wall, largest, record)


def _result(cluster: GangCluster, fleet: Fleet, engine: Engine, end: float, wall: float,
            largest: list[Job], record: bool) -> SimResult:
    a = cluster.arrays()
    capacity = fleet.capacity
    allocated = a["allocated_s"].sum()
    lost = a["lost_s"].sum()
    restart = a["restart_s"].sum()
    tl = cluster.timeline
    keys = range(int(end // tl.step) + 1)
    busy = np.array([tl.buckets.get(k, 0.0) for k in keys])
    widths = np.array([min(tl.step, end - k * tl.step) for k in keys])
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_busy = np.where(widths > 0, busy / widths, 0.0)
    timeline = pd.DataFrame({"time_h": np.array(list(keys)) * tl.step / 3600, "busy_accelerators": avg_busy,
                             "utilization": avg_busy / capacity if capacity else 0.0})
    jobs = pd.DataFrame({"name": [j.name for j in cluster.jobs], **a})
    gantt = pd.DataFrame([{"job": j.name, "start_h": s / 3600, "end_h": e / 3600, "pool": p, "accelerators": j.size}
                          for j in largest for s, e, p in (j.segments or [])])
    done = np.isfinite(a["finish"])
    notes = [] if not record else [f"{len(engine.log)} events recorded"]
    return SimResult(
        utilization=float(allocated / (capacity * end)) if capacity and end else 0.0,
        goodput=float((allocated - lost - restart) / allocated) if allocated else 0.0,
        jobs_total=len(cluster.jobs),
        jobs_completed=int(done.sum()),
        allocated_accelerator_hours=float(allocated / 3600),
        work_lost_accelerator_hours=float(lost / 3600),
        restart_accelerator_hours=float(restart / 3600),
        interruptions=int(a["interruptions"].sum()),
        failures=cluster.failure_events,
        queueing_delay_s=_quantiles(a["first_start"] - a["arrival"]),
        completion_time_s=_quantiles(a["finish"][done] - a["arrival"][done]),
        slo_attainment=None,
        cost_usd=float(a["cost_usd"].sum()),
        events=engine.processed,
        wall_seconds=wall,
        until_s=end,
        timeline=timeline,
        jobs=jobs,
        gantt=gantt,
        notes=notes,
    )

