"""simulate(fleet, workload, policy, seed) -> SimResult: a pure function over plain data."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from gigawatt.errors import SimulationError
from gigawatt.sim.cluster import GangCluster, Job
from gigawatt.sim.engine import Engine
from gigawatt.sim.failures import FailureModel, NodeFailure, Outage
from gigawatt.sim.fleet import PLACEMENTS, Fleet
from gigawatt.sim.policies import Policy, first_fit, get_policy
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
    groups = df["scale_up"].tolist() if "scale_up" in df.columns else [0.0] * len(df)
    moves = df["failover"].tolist() if "failover" in df.columns else [""] * len(df)
    return [
        Job(id=i, name=n, arrival=a, size=s, work=w, allowed=allowed(al), kind=k, group=gr,
            failover=frozenset(x for x in mv.split("|") if x) or None)
        for i, (n, a, s, w, al, k, gr, mv) in enumerate(zip(*columns, groups, moves, strict=True))
    ]


def _allowed_sets(table: pd.DataFrame) -> tuple[np.ndarray, list[frozenset[str] | None]]:
    """Each job's code into the distinct allowed sets (None = any accelerator)."""
    codes, uniques = pd.factorize(table["allowed"], sort=False)
    return codes, [frozenset(x for x in str(u).split("|") if x) or None for u in uniques]


def _fitting(table: pd.DataFrame, fleet: Fleet) -> tuple[pd.DataFrame, list[str]]:
    """Jobs some usable pool could ever hold; a gang larger than every pool would block FIFO forever."""
    codes, sets = _allowed_sets(table)
    room = np.array([max((p.largest_gang() for p in fleet.pools if a is None or p.accelerator in a), default=0.0)
                     for a in sets])
    size = table["accelerators"].to_numpy(float)
    fits = size <= room[codes] if len(table) else np.ones(0, bool)
    if "scale_up" in table.columns and (table["scale_up"] > 0).any():      # few such jobs: one by one
        room = room[codes].copy()
        for i in np.flatnonzero(table["scale_up"].to_numpy(float) > 0):
            q, a = float(table["scale_up"].iloc[i]), sets[codes[i]]
            room[i] = max((p.largest_gang(q) for p in fleet.pools if a is None or p.accelerator in a), default=0.0)
            fits[i] = size[i] <= room[i] + 1e-9
        codes, room = np.arange(len(table)), room
    notes = [f"job {name} needs {need:,.0f} accelerators at once but the pools it may use hold a gang of at most "
             f"{most:,.0f} (whole nodes, or its scale-up groups); it is left out"
             for name, need, most in zip(table["name"][~fits], size[~fits], room[codes][~fits], strict=True)]
    return (table if fits.all() else table[fits].reset_index(drop=True)), notes


def _compiled_core():  # type: ignore[no-untyped-def]
    try:
        from gigawatt.sim import _fastgang  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _fastgang


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
    core: str = "auto",
    placement: str = "first-fit",
    node_failures: list[NodeFailure] | None = None,
    failover_after_s: float | None = None,
    transfer_s: float = 0.0,
) -> SimResult:
    """Run gang jobs on a fleet. No printing, no globals: safe in worker processes.

    `core`: "python" (the event engine and pluggable policies), "compiled" (the closed model
    in C: first-fit policies, FIFO or EASY backfill, with or without failover; failures,
    spares, checkpoints, outages, failover after a delay, prices, inference services and the
    Gantt included; no event log or injected node failures; pools without node
    identity: one-accelerator nodes with whole accelerators, or node_identity=False), or
    "auto" (compiled when it applies). `placement`: how a gang is put on a
    pool's nodes (first-fit, best-fit, worst-fit, random-fit). `failover_after_s`: a job with a
    `failover` column entry whose pool has been down this long moves to the first pool of that
    set with room, restarting from its last checkpoint after `transfer_s` more (None: never).
    """
    if placement not in PLACEMENTS:
        raise SimulationError(f"unknown placement '{placement}'; choose one of {', '.join(PLACEMENTS)}")
    if failover_after_s is not None and not (math.isfinite(failover_after_s) and failover_after_s >= 0):
        raise SimulationError(f"failover_after_s = {failover_after_s}: give seconds >= 0 (None: no failover)")
    if not (math.isfinite(transfer_s) and transfer_s >= 0):
        raise SimulationError(f"transfer_s = {transfer_s}: give seconds >= 0")
    pol = get_policy(policy) if isinstance(policy, str) else policy
    fail = failures or FailureModel.none()
    if fleet.capacity <= 0:
        raise SimulationError("the fleet is empty: give a plan (--plan DIR), or contracts, cloud offers with "
                              "max_accelerators or sites with existing_mw in the scenario")
    table, rejected = _fitting(validate_jobs(workload.copy(), "workload"), fleet)
    size = table["accelerators"].to_numpy(float)
    whole = bool((size == np.floor(size)).all())
    for pool in fleet.pools:                       # a fleet may be reused across runs
        pool.pooled = (pool.g == 1 and whole) or not pool.node_identity   # reset() also pools huge pools
        pool.reset()
    horizon = until_s if until_s is not None else math.inf
    span = horizon if math.isfinite(horizon) else \
        float((table["arrival_s"] + table["work_s"]).max()) if len(table) else 3600.0
    step = timeline_step_s or max(60.0, span / 200)
    closed = pol.choose is first_fit and not record and not node_failures \
        and all(p.pooled for p in fleet.pools)
    fast = _compiled_core() if core in ("auto", "compiled") and closed else None
    if core == "compiled" and fast is None:
        raise SimulationError("the compiled core is unavailable or does not apply (it runs first-fit policies "
                              "(fifo, easy-backfill, failover, backfill-failover) without injected node "
                              "failures or event log, on pools without node identity: "
                              "one-accelerator nodes and whole accelerators)")
    if fast is not None:
        result = _run_compiled(fast, fleet, table, pol, fail, outages or [], horizon, span, step, seed,
                               gantt_jobs, progress, failover_after_s, transfer_s)
        result.notes += rejected
        return result
    jobs = jobs_from_table(table)
    largest = [jobs[i] for i in _largest(table, gantt_jobs)]
    engine = Engine(seed, record=record)
    cluster = GangCluster(engine, fleet, jobs, pol, fail, outages, step, placement, node_failures,
                          failover_after_s, transfer_s)
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
    gantt = pd.DataFrame([{"job": j.name, "start_h": s / 3600, "end_h": e / 3600, "pool": p, "accelerators": j.size}
                          for j in largest for s, e, p in (j.segments or [])])
    notes = ([f"{len(engine.log)} events recorded"] if record else []) + rejected
    return _result(cluster.arrays(), [j.name for j in cluster.jobs], cluster.timeline.buckets, step, fleet,
                   end, wall, engine.processed, cluster.failure_events, gantt, notes,
                   gang=np.array([j.kind != "inference" for j in cluster.jobs], dtype=bool),
                   fragmented_s=cluster.fragmented_s)


def _run_compiled(fast, fleet: Fleet, table: pd.DataFrame, pol: Policy, fail: FailureModel,  # type: ignore[no-untyped-def]
                  outages: list[Outage], horizon: float, span: float, step: float, seed: int,
                  gantt_jobs: int = 0, progress: Progress | None = None, failover_after_s: float | None = None,
                  transfer_s: float = 0.0) -> SimResult:
    """The compiled core fed columns: no object per job."""
    pools = fleet.pools
    codes, sets = _allowed_sets(table)
    per_set = np.array([[a is None or p.accelerator in a for p in pools] for a in sets],
                       dtype=np.uint8).reshape(len(sets), len(pools))
    allowed = np.ascontiguousarray(per_set[codes]) if len(table) else np.zeros((0, len(pools)), np.uint8)
    anywhere = np.array([a is None for a in sets], dtype=np.uint8)[codes] if len(table) else np.zeros(0, np.uint8)
    moving = failover_after_s is not None           # its checks are events, as in the Python core
    if moving and "failover" in table.columns and len(table):
        mcodes, moves_to = pd.factorize(table["failover"], sort=False)
        per_move = np.array([[bool(m) and p.accelerator in set(str(m).split("|")) for p in pools] for m in moves_to],
                            dtype=np.uint8).reshape(len(moves_to), len(pools))
        moves = np.ascontiguousarray(per_move[mcodes])
    else:
        moves = np.zeros((len(table) if moving else 0, len(pools)), np.uint8)
    same_acc = np.array([[p.accelerator == q.accelerator for q in pools] for p in pools],
                        dtype=np.uint8).reshape(len(pools), len(pools))
    cols = {k: np.array(table[c].to_numpy(float), dtype=float)        # writable copies for the core
            for k, c in (("arrival", "arrival_s"), ("size", "accelerators"), ("work", "work_s"))}
    f = cols.__getitem__
    hits = np.array([[o.target in (p.id, p.site, p.provider) for p in pools] for o in outages],
                    dtype=np.uint8).reshape(len(outages), len(pools))
    on = fail.enabled
    largest = _largest(table, gantt_jobs)
    flags = np.zeros(len(table), dtype=np.uint8)
    flags[largest] = 1
    t0 = time.perf_counter()
    rate = fail.rate_per_accelerator_hour / 3600.0 if on else 0.0
    service = (table["kind"] == "inference").to_numpy()
    out = fast.run(f("arrival"), f("size"), f("work"), allowed, service.astype(np.uint8),
                   np.array([p.capacity for p in pools], dtype=float),
                   np.array([p.speed for p in pools], dtype=float),
                   np.array([p.spares for p in pools], dtype=np.int64),
                   np.array([p.usd_per_hour for p in pools], dtype=float),
                   np.array([p.g for p in pools], dtype=float),
                   np.array([rate * p.g * (p.capacity / p.g) for p in pools], dtype=float),   # as GangCluster
                   rate,
                   fail.checkpoint_minutes * 60.0 if fail.checkpoint_minutes < 1e8 else math.inf,
                   fail.stall_s if on else 0.0, fail.checkpoint_write_s if on else 0.0,
                   fail.restart_minutes * 60.0 if on else 0.0, fail.repair_hours * 3600.0,
                   np.array([o.start_s for o in outages], dtype=float),
                   np.array([o.duration_s for o in outages], dtype=float), hits,
                   pol.backfill, pol.failover, pol.backfill_depth,
                   float(failover_after_s) if moving and failover_after_s is not None else -1.0, transfer_s,
                   moves, same_acc, anywhere,
                   horizon, step, int(span // step) + 2, seed, flags, progress, span,
                   max(256, 2 * len(table) // 50))      # about 50 progress calls: 2 events a job
    wall = time.perf_counter() - t0
    end = float(out["now"]) if math.isfinite(horizon) else max(float(out["now"]), 1e-9)
    arrays = {k: out[k] for k in ("first_start", "finish", "allocated_s", "lost_s", "restart_s", "checkpoint_s",
                                  "interruptions", "failure_interruptions", "cost_usd", "failovers")}
    ids = np.array([p.id for p in pools] + [""], dtype=object)          # -1: never moved
    arrays.update({"arrival": f("arrival"), "size": f("size"), "work": f("work"),
                   "failover_to": ids[out["failover_pool"]]})
    buckets = {k: float(v) for k, v in enumerate(out["buckets"]) if v}
    names, sizes = table["name"].to_numpy(), f("size")
    order = {int(i): r for r, i in enumerate(largest)}
    segs = sorted(out["segments"], key=lambda seg: (order[seg[0]], seg[1]))
    gantt = pd.DataFrame([{"job": names[i], "start_h": s / 3600, "end_h": e / 3600, "pool": pools[p].id,
                           "accelerators": sizes[i]} for i, s, e, p in segs])
    return _result(arrays, names, buckets, step, fleet, end, wall, int(out["events"]),
                   int(out["failures"]), gantt, ["compiled core"], gang=~service)


def _largest(table: pd.DataFrame, n: int) -> np.ndarray:
    """Row numbers of the n jobs with most accelerator-seconds (ties: first in the table), drawn in a Gantt."""
    if n <= 0 or not len(table):
        return np.zeros(0, dtype=np.int64)
    need = -(table["accelerators"].to_numpy(float) * table["work_s"].to_numpy(float))
    return np.argsort(need, kind="stable")[:n]


def _result(a: dict[str, np.ndarray], names: list[str] | np.ndarray, buckets: dict[int, float], step: float, fleet: Fleet,
            end: float, wall: float, events: int, failures: int, gantt: pd.DataFrame, notes: list[str],
            gang: np.ndarray | None = None, fragmented_s: float = 0.0) -> SimResult:
    """Fleet metrics from per-job arrays; `gang` marks the jobs ETTR is about (not inference services)."""
    capacity = fleet.capacity
    allocated = a["allocated_s"].sum()
    lost = a["lost_s"].sum()
    restart = a["restart_s"].sum()
    checkpoint = a.get("checkpoint_s", np.zeros(len(names)))
    productive = a["allocated_s"] - a["lost_s"] - a["restart_s"] - checkpoint
    keys = range(int(end // step) + 1)
    busy = np.array([buckets.get(k, 0.0) for k in keys])
    widths = np.array([min(step, end - k * step) for k in keys])
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_busy = np.where(widths > 0, busy / widths, 0.0)
    timeline = pd.DataFrame({"time_h": np.array(list(keys)) * step / 3600, "busy_accelerators": avg_busy,
                             "utilization": avg_busy / capacity if capacity else 0.0})
    done = np.isfinite(a["finish"])
    arrived = a["arrival"] <= end
    waiting = arrived & ~np.isfinite(a["first_start"])
    # a job still waiting at the end has waited at least until the end (right-censored)
    delay = np.where(waiting, end - a["arrival"], a["first_start"] - a["arrival"])[arrived]
    wall_s = np.where(done, a["finish"], end) - a["arrival"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ettr_job = np.where(arrived & (wall_s > 0), productive / a["size"] / wall_s, np.nan)
    gang_mask = (np.ones(len(names), bool) if gang is None else gang) & arrived & (wall_s > 0)
    weight = (a["size"] * wall_s)[gang_mask]
    hit = a.get("failure_interruptions", np.zeros(len(names)))
    with np.errstate(invalid="ignore", divide="ignore"):
        mttf_job = np.where(hit > 0, a["allocated_s"] / a["size"] / 3600 / hit, np.nan)
    jobs = pd.DataFrame({"name": names, **a, "productive_s": productive, "ettr": ettr_job,
                         "mttf_hours": mttf_job}, copy=False)       # no copy into one block: 1M rows stay cheap
    queueing = _quantiles(delay)
    if queueing:
        queueing["waiting_at_end"] = float(waiting.sum())
    if waiting.any():
        notes = [*notes, f"{int(waiting.sum())} jobs were still waiting at the end; their queueing delay counts "
                         "up to the end (censored), so the delay figures are lower bounds"]
    return SimResult(
        utilization=float(allocated / (capacity * end)) if capacity and end else 0.0,
        goodput=float(productive.sum() / (capacity * end)) if capacity and end else 0.0,
        ettr=float(productive[gang_mask].sum() / weight.sum()) if weight.sum() > 0 else None,
        jobs_total=len(names),
        jobs_completed=int(done.sum()),
        allocated_accelerator_hours=float(allocated / 3600),
        work_lost_accelerator_hours=float(lost / 3600),
        restart_accelerator_hours=float(restart / 3600),
        checkpoint_accelerator_hours=float(checkpoint.sum() / 3600),
        fragmented_accelerator_hours=fragmented_s / 3600,
        fragmentation=float(fragmented_s / (capacity * end)) if capacity and end else 0.0,
        interruptions=int(a["interruptions"].sum()),
        failures=failures,
        failure_interruptions=int(hit.sum()),
        mttf_hours=float(end / 3600 / failures) if failures else None,
        queueing_delay_s=queueing,
        completion_time_s=_quantiles(a["finish"][done] - a["arrival"][done]),
        slo_attainment=None,
        cost_usd=float(a["cost_usd"].sum()),
        events=events,
        wall_seconds=wall,
        until_s=end,
        timeline=timeline,
        jobs=jobs,
        gantt=gantt,
        notes=notes,
    )
