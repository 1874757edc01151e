"""Gang jobs on a fleet of nodes, with failures, checkpoints, outages and failover, on the event engine.

A job holds all its accelerators at once, on one node or on whole nodes of one pool.
Hardware fails in calendar time, busy or idle: each pool draws node failures at its
accelerators' rate; a failed node stops every job on it and goes to repair (or is swapped
for a hot spare). A stopped job keeps the work of its last durable checkpoint, loses the
rest and goes back to the head of the queue; restarting costs `restart_minutes`, and each
checkpoint stalls it for its write time (see FailureModel). Inference services are placed
like gangs but a failed replica is replaced without stopping the service, so node failures
do not interrupt them. Events carry (job, version): a job's older events are ignored once it
has been interrupted, so nothing needs cancelling.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from gigawatt.sim.engine import Engine
from gigawatt.sim.failures import FailureModel, NodeFailure, Outage
from gigawatt.sim.fleet import Fleet, Pool
from gigawatt.sim.policies import Policy
from gigawatt.sim.rng import XorShift


@dataclass(slots=True, eq=False)
class Job:
    id: int
    name: str
    arrival: float
    size: float
    work: float                      # seconds at speed 1.0
    allowed: frozenset[str] | None
    kind: str = "training"
    group: float = 0.0               # scale-up request: accelerators that must share one node (0: the default rule)
    done: float = 0.0                # checkpointed work, seconds at speed 1.0
    pool: Pool | None = None
    placement: list[tuple[int, float]] | None = None   # (node, accelerators) while running
    pinned: Pool | None = None       # without failover, a job interrupted by an outage waits for its pool
    version: int = 0
    seg_start: float = 0.0
    seg_overhead: float = 0.0
    expected_end: float = 0.0
    first_start: float = math.nan
    finish: float = math.nan
    allocated_s: float = 0.0         # accelerator-seconds held
    lost_s: float = 0.0              # accelerator-seconds of work thrown away
    restart_s: float = 0.0           # accelerator-seconds spent restarting
    checkpoint_s: float = 0.0        # accelerator-seconds stalled writing checkpoints
    interruptions: int = 0
    failures: int = 0                # interruptions by hardware failures
    cost_usd: float = 0.0
    segments: list[tuple[float, float, str]] | None = None   # kept only for jobs drawn in a Gantt
    failover: frozenset[str] | None = None   # where it may move when its pool stays down (see failover_after_s)
    failovers: int = 0
    failover_to: str = ""            # the pool it last moved to
    transfer_due: bool = False       # its next start pays the transfer delay


def checkpoints_before(remaining_s: float, interval_s: float) -> int:
    """Checkpoints written while computing `remaining_s` (none at the very end)."""
    if remaining_s <= 0 or not math.isfinite(interval_s):
        return 0
    return max(0, math.ceil(remaining_s / interval_s - 1e-12) - 1)


def progress(t: float, interval_s: float, stall_s: float, write_s: float) -> tuple[float, float, float]:
    """After `t` seconds of a segment past its restart: (stalled, computed, durably checkpointed)."""
    if t <= 0:
        return 0.0, 0.0, 0.0
    if not math.isfinite(interval_s):
        return 0.0, t, 0.0
    cycle = interval_s + stall_s
    k = math.floor(t / cycle)
    stalled = k * stall_s + max(0.0, t - k * cycle - interval_s)
    durable = max(0, math.floor((t + stall_s - write_s) / cycle))   # checkpoint j is durable at j*cycle - stall + write
    return stalled, t - stalled, min(durable * interval_s, t - stalled)


class Timeline:
    """Busy accelerators integrated into fixed buckets, streamed (no per-event samples)."""

    __slots__ = ("step", "busy", "last", "buckets")

    def __init__(self, step: float) -> None:
        self.step = step
        self.busy = 0.0
        self.last = 0.0
        self.buckets: dict[int, float] = {}

    def change(self, now: float, delta: float) -> None:
        last = self.last
        if self.busy and now > last:
            k = int(last // self.step)
            if now <= (k + 1) * self.step and k * self.step <= last:   # fast path: same bucket
                buckets = self.buckets
                buckets[k] = buckets.get(k, 0.0) + self.busy * (now - last)
                self.last = now
                self.busy += delta
                return
            t, b, step = last, self.busy, self.step
            while t < now:
                k = int(t // step)
                if (k + 1) * step <= t:      # float floor can land one bucket low on an edge
                    k += 1
                edge = min(now, (k + 1) * step)
                self.buckets[k] = self.buckets.get(k, 0.0) + b * (edge - t)
                t = edge
        self.last = now
        self.busy += delta


class GangCluster:
    def __init__(self, engine: Engine, fleet: Fleet, jobs: list[Job], policy: Policy,
                 failures: FailureModel, outages: list[Outage] | None = None,
                 timeline_step_s: float = 3600.0, placement: str = "first-fit",
                 node_failures: list[NodeFailure] | None = None, failover_after_s: float | None = None,
                 transfer_s: float = 0.0) -> None:
        self.engine = engine
        self.fleet = fleet
        self.jobs = sorted(jobs, key=lambda j: j.arrival)
        self.policy = policy
        self.failures = failures
        self.outages = outages or []
        self.node_failures = node_failures or []
        self.placement = placement
        self.queue: deque[Job] = deque()
        self.timeline = Timeline(timeline_step_s)
        self.completed = 0
        self.failure_events = 0
        self._next_arrival = 0
        self._rate = failures.rate_per_accelerator_hour / 3600.0 if failures.enabled else 0.0
        self._interval = failures.checkpoint_minutes * 60.0 if failures.checkpoint_minutes < 1e8 else math.inf
        self._stall = failures.stall_s if failures.enabled else 0.0
        self._write = failures.checkpoint_write_s if failures.enabled else 0.0
        self._restart = failures.restart_minutes * 60.0 if failures.enabled else 0.0
        self._repair = failures.repair_hours * 3600.0
        self._failover_after = failover_after_s
        self._transfer = transfer_s
        self._down_since: dict[str, float] = {}
        self._pools_for: dict[frozenset[str] | None, list[Pool]] = {}
        self._frng = XorShift(engine.seed)          # failure draws: the same stream as the compiled core
        self.fragmented_s = 0.0                     # accelerator-seconds idle but stranded by node layout
        self._frag_level = 0.0
        self._frag_since = 0.0
        self._noded = [p for p in fleet.pools if not p.pooled]
        self._at = engine.at
        self._change = self.timeline.change

    # --- set-up ---

    def start(self) -> None:
        if self.jobs:
            self.engine.at(self.jobs[0].arrival, self._arrive, self.jobs[0])
        for outage in self.outages:
            self.engine.at(outage.start_s, self._outage_begins, outage)
        by_id = {p.id: p for p in self.fleet.pools}
        for nf in self.node_failures:
            pool = by_id.get(nf.pool)
            if pool is None or not (pool.pooled or 0 <= nf.node < len(pool.node_cap)):
                from gigawatt.errors import SimulationError
                raise SimulationError(f"node failure: pool {nf.pool!r} has no node {nf.node}")
            self.engine.at(nf.at_s, self._injected, (pool, nf.node))
        if self._rate:
            for pool in self.fleet.pools:
                if pool.node_cap or (pool.pooled and pool.capacity > 0):
                    self._next_failure(pool)

    def _candidates(self, job: Job) -> list[Pool]:
        if job.pinned is not None:
            return [job.pinned] if job.pinned.up else []
        pools = self._pools_for.get(job.allowed)
        if pools is None:
            pools = [p for p in self.fleet.pools if p.up and (job.allowed is None or p.accelerator in job.allowed)]
            self._pools_for[job.allowed] = pools
        return pools

    # --- events ---

    def _arrive(self, job: Job) -> None:
        i = self._next_arrival = self._next_arrival + 1
        if i < len(self.jobs):
            nxt = self.jobs[i]
            self._at(nxt.arrival, self._arrive, nxt)
        self.queue.append(job)
        self._dispatch()

    def _finish(self, event: tuple[Job, int]) -> None:
        job, version = event
        if version != job.version:
            return
        pool = job.pool
        assert pool is not None
        self._release(job)
        job.restart_s += job.seg_overhead * job.size
        job.checkpoint_s += checkpoints_before((job.work - job.done) / pool.speed, self._interval) \
            * self._stall * job.size
        job.done = job.work
        job.finish = self.engine.now
        self.completed += 1
        self._dispatch()

    def _busy(self) -> bool:
        """Is anything left to happen that a failure could affect?"""
        return self._next_arrival < len(self.jobs) or bool(self.queue) \
            or any(p.running for p in self.fleet.pools)

    def _next_failure(self, pool: Pool) -> None:
        nodes = pool.capacity / pool.g if pool.pooled else len(pool.node_cap)
        self._at(self.engine.now + self._frng.expovariate(self._rate * pool.g * nodes),
                 self._node_failure, pool)

    def _node_failure(self, pool: Pool) -> None:
        """A failure somewhere in the pool: a node drawn uniformly (thinned: nodes already out, smaller nodes)."""
        if not self._busy():
            return
        self._next_failure(pool)
        rng = self._frng
        if pool.pooled:
            self._pooled_failure(pool, rng.random() * pool.capacity)
            return
        n = min(int(rng.random() * len(pool.node_cap)), len(pool.node_cap) - 1)
        if pool.node_cap[n] < pool.g and rng.random() >= pool.node_cap[n] / pool.g:
            return
        if pool.up and pool.node_up[n]:
            self._hit(pool, n)

    def _pooled_failure(self, pool: Pool, u: float) -> None:
        """Accelerators have no identity in a pooled pool: the u-th one, counting busy ones by job first."""
        if not pool.up:
            return
        for job in sorted(pool.running, key=lambda j: j.id):
            u -= job.size
            if u < 0:
                if job.kind != "inference":
                    self.failure_events += 1
                    self._interrupt(job)
                    job.failures += 1
                    self.queue.appendleft(job)
                    self._take_out(pool, -1, min(pool.g, pool.free))
                    self._dispatch()
                else:
                    self.failure_events += 1
                return
        if u < pool.broken or pool.free < 1.0:          # already out for repair (or no whole idle one)
            return
        self.failure_events += 1
        self._take_out(pool, -1, min(pool.g, pool.free))
        self._dispatch()

    def _take_out(self, pool: Pool, n: int, amount: float = 0.0) -> None:
        """Node n (pooled: `amount` accelerators, a node's worth at most) goes to repair, or a spare steps in."""
        if pool.spares_free > 0:                   # swap in a hot spare; the broken node becomes one after repair
            pool.spares_free -= 1
            self.engine.after(self._repair, self._spare_back, pool)
        elif pool.pooled:
            pool.take_out(amount)
            self.engine.after(self._repair, self._put_back, (pool, amount))
        else:
            pool.node_down(n)
            self.engine.after(self._repair, self._repaired, (pool, n))

    def _put_back(self, event: tuple[Pool, float]) -> None:
        pool, amount = event
        pool.put_back(amount)
        self.timeline.change(self.engine.now, 0.0)
        self._dispatch()

    def _injected(self, event: tuple[Pool, int]) -> None:
        pool, n = event
        if pool.pooled:
            self._pooled_failure(pool, self._frng.random() * pool.capacity)
        elif pool.up and pool.node_up[n]:
            self._hit(pool, n)

    def _hit(self, pool: Pool, n: int) -> None:
        self.failure_events += 1
        on_node = pool.node_jobs[n]
        if any(j.kind == "inference" for j in on_node):   # a service replaces the replica and carries on
            return
        for job in list(on_node):
            self._interrupt(job)
            job.failures += 1
            self.queue.appendleft(job)
        self._take_out(pool, n)
        self._dispatch()

    def _spare_back(self, pool: Pool) -> None:
        pool.spares_free += 1

    def _repaired(self, event: tuple[Pool, int]) -> None:
        pool, n = event
        pool.node_repaired(n)
        self.timeline.change(self.engine.now, 0.0)
        self._dispatch()

    def _outage_begins(self, outage: Outage) -> None:
        hit = [p for p in self.fleet.pools if outage.target in (p.id, p.site, p.provider)]
        self._pools_for.clear()
        for pool in hit:
            pool.outages += 1                 # overlapping outages: up again only when the last one ends
            if not pool.up:
                continue
            pool.up = False
            self._down_since[pool.id] = self.engine.now
            for job in sorted(pool.running, key=lambda j: j.id):
                self._interrupt(job)
                if not self.policy.failover:
                    job.pinned = pool
                self.queue.appendleft(job)
        self.engine.after(outage.duration_s, self._outage_ends, hit)
        if self._failover_after is not None:     # after the outage's end: a pool back just then keeps its jobs
            for pool in hit:
                if pool.outages == 1:
                    self.engine.after(self._failover_after, self._failover_due, (pool, self.engine.now))
        self._dispatch()

    def _failover_due(self, event: tuple[Pool, float]) -> None:
        """The pool has been down `failover_after_s` without a break: the jobs waiting for it that may
        fail over move, in queue order, to the first pool (fleet order) of their failover set that is
        up and has room now; the others keep waiting for it."""
        pool, since = event
        if pool.up or self._down_since.get(pool.id) != since:
            return
        for job in [j for j in self.queue if j.failover is not None and self._waits_for(j, pool)]:
            moves = job.failover or frozenset()
            target = next((p for p in self.fleet.pools if p is not pool and p.up and p.accelerator in moves
                           and p.fits(job.size, job.group)), None)
            if target is None:
                continue
            self.queue.remove(job)
            job.pinned = None
            job.allowed = frozenset({target.accelerator})
            job.failovers += 1
            job.failover_to = target.id
            job.transfer_due = True
            self._start(job, target)
        if self._noded:                              # idle room changed on node pools
            self._fragmentation()

    def _waits_for(self, job: Job, pool: Pool) -> bool:
        """Is a queued job held up only by `pool` being down?"""
        if job.pinned is not None:
            return job.pinned is pool
        return job.allowed is not None and pool.accelerator in job.allowed and not self._candidates(job)

    def _outage_ends(self, pools: list[Pool]) -> None:
        self._pools_for.clear()
        for pool in pools:
            pool.outages -= 1
            pool.up = pool.outages == 0
        for job in self.queue:
            if job.pinned is not None and job.pinned.up:
                job.pinned = None
        self._dispatch()

    # --- mechanics ---

    def _start(self, job: Job, pool: Pool) -> None:
        placement = pool.place(job.size, self.placement, self.engine.rng, job.group)
        assert placement is not None
        now = self.engine.now
        if not pool.pooled:
            for n, _ in placement:
                pool.node_jobs[n].append(job)
        pool.running.add(job)
        self._change(now, job.size)
        job.pool = pool
        job.placement = placement
        job.version += 1
        job.seg_start = now
        job.seg_overhead = self._restart if job.interruptions else 0.0
        if job.transfer_due:                        # its checkpoint moves to another pool first
            job.seg_overhead += self._transfer
            job.transfer_due = False
        if job.first_start != job.first_start:      # NaN: first start
            job.first_start = now
        compute = (job.work - job.done) / pool.speed
        run = job.seg_overhead + compute + checkpoints_before(compute, self._interval) * self._stall
        job.expected_end = now + run
        self._at(now + run, self._finish, (job, job.version))

    def _release(self, job: Job) -> None:
        now = self.engine.now
        pool = job.pool
        assert pool is not None and job.placement is not None
        if not pool.pooled:
            for n, _ in job.placement:
                pool.node_jobs[n].remove(job)
        pool.give_back(job.placement)
        pool.running.discard(job)
        self._change(now, -job.size)
        held = now - job.seg_start
        self._account(job, pool, held)
        job.pool = None
        job.placement = None

    def _account(self, job: Job, pool: Pool, held: float) -> None:
        job.allocated_s += held * job.size
        if pool.usd_per_hour:
            job.cost_usd += held * job.size * pool.usd_per_hour / 3600.0
        if job.segments is not None:
            job.segments.append((job.seg_start, job.seg_start + held, pool.id))

    def _interrupt(self, job: Job) -> None:
        """Stop a running job: keep its durable checkpointed work, lose the rest."""
        now = self.engine.now
        pool = job.pool
        assert pool is not None
        elapsed = now - job.seg_start
        stalled, computed, kept = progress(elapsed - job.seg_overhead, self._interval, self._stall, self._write)
        job.done = min(job.work, job.done + kept * pool.speed)
        job.lost_s += (computed - kept) * job.size
        job.checkpoint_s += stalled * job.size
        job.restart_s += min(elapsed, job.seg_overhead) * job.size
        job.interruptions += 1
        job.version += 1
        self._release(job)

    def _dispatch(self) -> None:
        """Start jobs in queue order until one that could run somewhere must wait for room.

        A job whose every usable pool is down holds no place in line: it waits for its pools
        to come back while the jobs behind it run on pools that are up.
        """
        queue = self.queue
        choose = self.policy.choose
        i = 0
        while i < len(queue):
            job = queue[i]
            candidates = self._candidates(job)
            if not candidates:
                i += 1
                continue
            pool = choose(job, candidates)
            if pool is None:
                break
            del queue[i]
            self._start(job, pool)
        if i < len(queue) and self.policy.backfill:
            self._backfill(i)
        if self._noded:
            self._fragmentation()

    def _fragmentation(self) -> None:
        """Idle accelerators no waiting job can use though there are enough of them: a pool's free
        accelerators count while some waiting job it may run needs no more than that, yet none fits
        on its nodes."""
        now = self.engine.now
        self.fragmented_s += self._frag_level * (now - self._frag_since)
        self._frag_since = now
        level = 0.0
        if self.queue:
            depth = self.policy.backfill_depth
            for pool in self._noded:
                if not pool.up or pool.free <= 0:
                    continue
                enough, fits = False, False
                for k, job in enumerate(self.queue):
                    if k > depth:
                        break
                    if job.allowed is not None and pool.accelerator not in job.allowed:
                        continue
                    if job.size <= pool.free + 1e-9:
                        enough = True
                        if pool.fits(job.size, job.group):
                            fits = True
                            break
                if enough and not fits:
                    level += pool.free
        self._frag_level = level

    def _backfill(self, first: int) -> None:
        """EASY: reserve the head's earliest start; later jobs may run if they don't delay it."""
        head = self.queue[first]
        now = self.engine.now
        shadow, shadow_pool, spare = math.inf, None, 0.0
        for pool in self._candidates(head):
            free = pool.free
            if free >= head.size:
                shadow, shadow_pool, spare = now, pool, free - head.size
                break
            for job in sorted(pool.running, key=lambda j: (j.expected_end, j.id)):
                free += job.size
                if free >= head.size:
                    if job.expected_end < shadow:
                        shadow, shadow_pool, spare = job.expected_end, pool, free - head.size
                    break
        started = []
        for i, job in enumerate(self.queue):
            if i <= first:
                continue
            if i - first > self.policy.backfill_depth:
                break
            target = self.policy.choose(job, self._candidates(job))
            if target is None:
                continue
            ends = now + (job.work - job.done) / target.speed + (self._restart if job.interruptions else 0.0)
            if target is not shadow_pool or ends <= shadow or job.size <= spare:
                if target is shadow_pool and ends > shadow:
                    spare -= job.size
                started.append(job)
                self._start(job, target)
        for job in started:
            self.queue.remove(job)

    # --- results ---

    def finish_accounting(self) -> None:
        """Close the books at the end of the run: running jobs count what they have held."""
        now = self.engine.now
        for pool in self.fleet.pools:
            for job in list(pool.running):
                held = now - job.seg_start
                self._account(job, pool, held)
                stalled, computed, _ = progress(held - job.seg_overhead, self._interval, self._stall, self._write)
                job.done = min(job.work, job.done + computed * pool.speed)
                job.checkpoint_s += stalled * job.size
                job.restart_s += min(held, job.seg_overhead) * job.size
        self.timeline.change(now, 0.0)
        self.fragmented_s += self._frag_level * (now - self._frag_since)
        self._frag_since = now

    def arrays(self) -> dict[str, np.ndarray]:
        jobs = self.jobs
        return {
            "arrival": np.fromiter((j.arrival for j in jobs), float, len(jobs)),
            "first_start": np.fromiter((j.first_start for j in jobs), float, len(jobs)),
            "finish": np.fromiter((j.finish for j in jobs), float, len(jobs)),
            "size": np.fromiter((j.size for j in jobs), float, len(jobs)),
            "work": np.fromiter((j.work for j in jobs), float, len(jobs)),
            "allocated_s": np.fromiter((j.allocated_s for j in jobs), float, len(jobs)),
            "lost_s": np.fromiter((j.lost_s for j in jobs), float, len(jobs)),
            "restart_s": np.fromiter((j.restart_s for j in jobs), float, len(jobs)),
            "checkpoint_s": np.fromiter((j.checkpoint_s for j in jobs), float, len(jobs)),
            "failure_interruptions": np.fromiter((j.failures for j in jobs), float, len(jobs)),
            "interruptions": np.fromiter((j.interruptions for j in jobs), float, len(jobs)),
            "cost_usd": np.fromiter((j.cost_usd for j in jobs), float, len(jobs)),
            "failovers": np.fromiter((j.failovers for j in jobs), float, len(jobs)),
            "failover_to": np.array([j.failover_to for j in jobs], dtype=object),
        }
