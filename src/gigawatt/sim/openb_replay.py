"""Replay the openb trace over time on its own nodes: CPU, memory and GPU shares per node.

Tasks arrive at their `creation_time` and hold their CPU, memory and GPUs (whole GPUs, or a
share of one GPU) for as long as they ran in the trace (`deletion_time - scheduled_time`).
A task goes to a node with room by a placement policy of `packing` (best-fit, worst-fit,
random-fit, FGD); one with no room waits. Waiting tasks are retried in arrival order whenever
something leaves, and one that does not fit does not hold up those behind it (as Kubernetes'
scheduler retries each pending pod). CPU-only tasks count: they take CPU and memory on the
GPU nodes. Tasks the trace never scheduled are left out and counted.

The pooled model (`simulate --trace` without `--node-level`) sees one interchangeable count of
GPUs per model; here a task also needs its CPU and memory on the node that has its GPUs.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gigawatt.errors import TraceError
from gigawatt.sim.packing import (
    FULL,
    PACKING_POLICIES,
    NodeCluster,
    TaskShapes,
    fragmentation,
    gpu_requests,
    place_at,
)
from gigawatt.sim.result import _quantiles


@dataclass
class ReplayResult:
    policy: str
    tasks: int
    placed: int
    waiting_at_end: int
    capacity_gpus: float
    mean_allocated_gpus: float            # time-weighted over the replay
    peak_allocated_gpus: float
    queueing_delay_s: dict[str, float]    # over every task that arrived; still waiting: up to the end
    recorded_delay_s: dict[str, float]    # the trace's own waits, for comparison
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        return {"policy": self.policy, "tasks": self.tasks, "placed": self.placed,
                "waiting_at_end": self.waiting_at_end, "mean_allocated_share": self.mean_allocated_gpus
                / self.capacity_gpus if self.capacity_gpus else 0.0,
                "peak_allocated_gpus": self.peak_allocated_gpus,
                "mean_delay_s": self.queueing_delay_s.get("mean", 0.0),
                "p99_delay_s": self.queueing_delay_s.get("p99", 0.0)}


def timed_tasks(tasks: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Tasks with an arrival and a run time; never-scheduled ones left out (counted)."""
    for col in ("creation_time", "scheduled_time", "deletion_time"):
        if col not in tasks.columns:
            raise TraceError(f"the openb pod list lacks column {col}; a replay needs creation_time, "
                             "scheduled_time and deletion_time")
    times = {c: pd.to_numeric(tasks[c], errors="coerce") for c in ("creation_time", "scheduled_time", "deletion_time")}
    ran = times["scheduled_time"].notna() & times["deletion_time"].notna() & times["creation_time"].notna()
    notes = [f"{int((~ran).sum()):,} tasks never scheduled in the trace (pending) left out"] if (~ran).any() else []
    out = tasks[ran].assign(arrival_s=times["creation_time"][ran],
                            run_s=(times["deletion_time"] - times["scheduled_time"])[ran].clip(lower=0),
                            recorded_delay_s=(times["scheduled_time"] - times["creation_time"])[ran])
    return out.sort_values("arrival_s", kind="stable").reset_index(drop=True), notes


def replay(nodes: pd.DataFrame, tasks: pd.DataFrame, policy: str = "best-fit", *, seed: int = 0,
           until_s: float | None = None, compress: float = 1.0) -> ReplayResult:
    """Replay on the node list. `compress`: arrivals come that many times faster (run times kept),
    so the load is that many times the trace's (which peaks at ~66 of the 6,212 GPUs)."""
    if not compress > 0:
        raise TraceError(f"compress = {compress}: arrivals must come faster by a factor above 0")
    if policy not in PACKING_POLICIES:
        raise TraceError(f"unknown node-level placement '{policy}'; choose one of {', '.join(PACKING_POLICIES)}")
    table, notes = timed_tasks(tasks)
    cl = NodeCluster(nodes)
    shapes = TaskShapes.of(table)
    rng = np.random.default_rng(seed)
    frag = fragmentation(cl.cpu, cl.mem, cl.gpu, shapes) if policy == "fgd" else None
    k, d = gpu_requests(table)
    shape = list(zip(k.tolist(), d.tolist(), table["cpu_milli"].to_numpy(float).tolist(),
                     table["memory_mib"].to_numpy(float).tolist(), table["gpu_spec"].astype(str).tolist(), strict=True))
    arrival, run = table["arrival_s"].to_numpy(float) / compress, table["run_s"].to_numpy(float)
    end = until_s if until_s is not None else math.inf
    start = np.full(len(table), np.nan)
    held: dict[int, tuple[int, np.ndarray, float, float]] = {}     # task -> node, GPU shares taken, cpu, mem
    waiting: list[int] = []
    leaving: list[tuple[float, int]] = []
    used_s, last, used, peak = 0.0, 0.0, 0.0, 0.0

    def advance(now: float) -> None:
        nonlocal used_s, last
        used_s += used * (now - last)
        last = now

    shadow = cl.gpu.copy()                    # free GPU shares before the latest placement

    def try_place(i: int, now: float) -> bool:
        nonlocal used, peak
        n = place_at(cl, shape[i], policy, shapes, frag, rng)
        if n is None:
            return False
        taken = shadow[n] - cl.gpu[n]
        shadow[n] = cl.gpu[n]
        held[i] = (n, taken, shape[i][2], shape[i][3])
        used += float(taken.sum()) / FULL
        peak = max(peak, used)
        start[i] = now
        heapq.heappush(leaving, (now + run[i], i))
        return True

    nxt = 0
    while True:
        t_arr = arrival[nxt] if nxt < len(table) else math.inf
        t_dep = leaving[0][0] if leaving else math.inf
        now = min(t_arr, t_dep)
        if now > end or now == math.inf:
            break
        advance(now)
        if t_dep <= t_arr:
            _, i = heapq.heappop(leaving)
            n, taken, cpu, mem = held.pop(i)
            cl.gpu[n] += taken
            cl.cpu[n] += cpu
            cl.mem[n] += mem
            shadow[n] = cl.gpu[n]
            used -= float(taken.sum()) / FULL
            if frag is not None:
                frag[n] = fragmentation(cl.cpu[n:n + 1], cl.mem[n:n + 1], cl.gpu[n:n + 1], shapes)[0]
            waiting = [j for j in waiting if not try_place(j, now)]
        else:
            if not try_place(nxt, now):
                waiting.append(nxt)
            nxt += 1
    stop = end if math.isfinite(end) else last
    advance(stop)
    arrived = arrival <= stop
    waited = np.where(np.isnan(start), stop - arrival, start - arrival)[arrived]
    queueing = _quantiles(waited)
    return ReplayResult(policy, int(arrived.sum()), int((~np.isnan(start)).sum()), len(waiting), cl.capacity_gpus,
                        used_s / stop if stop > 0 else 0.0, peak, queueing,
                        _quantiles(table["recorded_delay_s"].to_numpy(float)[arrived]), notes)
