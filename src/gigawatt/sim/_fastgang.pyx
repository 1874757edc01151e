# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled core for the closed gang model on pooled pools (one-accelerator nodes, whole
accelerators): jobs placed first fit in queue order, FIFO or with EASY backfill; hardware
failures in calendar time (busy or idle), hot spares, checkpoints with a write cost, restart
cost and repairs; scheduled outages of whole pools (overlapping ones keep a pool down until
the last ends; its jobs stop, keep their last durable checkpoint and wait for the pool, or
go to other pools with failover); a price per pool. No node identity.

Same semantics, event order and failure stream (xorshift64*, gigawatt.sim.rng) as
gigawatt.sim.cluster.GangCluster under a first-fit policy on pooled pools, so a seed gives
the same run in both cores, to the event.
"""

from libc.math cimport log, floor, ceil, INFINITY, isfinite
from libc.stdlib cimport malloc, free, qsort

import numpy as np

cdef struct Ev:
    double t
    long long seq
    int kind        # see the enum below
    int idx         # a job, a pool or an outage
    long long ver
    double amount

cdef class _Heap:
    cdef Ev* data
    cdef Py_ssize_t n, cap
    cdef long long seq

    def __cinit__(self, Py_ssize_t cap):
        self.cap = cap if cap > 16 else 16
        self.data = <Ev*> malloc(self.cap * sizeof(Ev))
        self.n = 0
        self.seq = 0

    def __dealloc__(self):
        free(self.data)

    cdef inline bint less(self, Ev* a, Ev* b) noexcept nogil:
        return a.t < b.t or (a.t == b.t and a.seq < b.seq)

    cdef void push(self, double t, int kind, int idx, long long ver, double amount) noexcept:
        cdef Py_ssize_t i, parent
        cdef Ev e
        if self.n == self.cap:
            self.cap *= 2
            self.data = <Ev*> realloc_ev(self.data, self.cap)
        self.seq += 1
        e.t = t; e.seq = self.seq; e.kind = kind; e.idx = idx; e.ver = ver; e.amount = amount
        i = self.n
        self.n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if self.less(&e, &self.data[parent]):
                self.data[i] = self.data[parent]
                i = parent
            else:
                break
        self.data[i] = e

    cdef Ev pop(self) noexcept:
        cdef Ev top = self.data[0]
        cdef Ev last
        cdef Py_ssize_t i = 0, child
        self.n -= 1
        if self.n > 0:
            last = self.data[self.n]
            while True:
                child = 2 * i + 1
                if child >= self.n:
                    break
                if child + 1 < self.n and self.less(&self.data[child + 1], &self.data[child]):
                    child += 1
                if self.less(&self.data[child], &last):
                    self.data[i] = self.data[child]
                    i = child
                else:
                    break
            self.data[i] = last
        return top


cdef extern from "stdlib.h":
    void* realloc(void* ptr, size_t size)

cdef inline Ev* realloc_ev(Ev* p, Py_ssize_t cap) noexcept:
    return <Ev*> realloc(p, cap * sizeof(Ev))


cdef inline double next_uniform(unsigned long long* s) noexcept nogil:
    cdef unsigned long long x = s[0]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    s[0] = x
    return ((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0)


cdef int _cmp_ll(const void* a, const void* b) noexcept nogil:
    cdef long long x = (<long long*> a)[0], y = (<long long*> b)[0]
    return (x > y) - (x < y)


cdef inline double ckpts_before(double remaining, double interval) noexcept nogil:
    cdef double k
    if remaining <= 0 or not isfinite(interval):
        return 0.0
    k = ceil(remaining / interval - 1e-12) - 1
    return k if k > 0 else 0.0


cdef inline void segment_progress(double t, double interval, double stall, double write,
                          double* stalled, double* computed, double* kept) noexcept nogil:
    cdef double cycle, k, rest, durable
    if t <= 0:
        stalled[0] = 0.0; computed[0] = 0.0; kept[0] = 0.0
        return
    if not isfinite(interval):
        stalled[0] = 0.0; computed[0] = t; kept[0] = 0.0
        return
    cycle = interval + stall
    k = floor(t / cycle)
    rest = t - k * cycle - interval
    stalled[0] = k * stall + (rest if rest > 0.0 else 0.0)
    computed[0] = t - stalled[0]
    durable = floor((t + stall - write) / cycle)
    if durable < 0:
        durable = 0
    kept[0] = durable * interval
    if kept[0] > computed[0]:
        kept[0] = computed[0]


cdef enum:
    ARRIVAL = 0
    FINISH = 1
    FAILURE = 2
    REPAIRED = 3
    SPARE_BACK = 4
    OUTAGE_BEGINS = 5
    OUTAGE_ENDS = 6
    FAILOVER_DUE = 7


cdef class _Gang:
    """The state of one run: per-job and per-pool arrays, the queue (a linked list) and the heap."""
    # inputs
    cdef double[:] arrival, size, work, capacity, speed, price, out_duration
    cdef unsigned char[:, :] allowed, hits
    cdef unsigned char[:] gantt
    cdef double interval, stall, write, restart, repair, bucket_s
    cdef bint backfill, failover, keep, moving
    cdef double failover_after, transfer
    cdef unsigned char[:, :] moves, same_acc       # job -> pools it may fail over to; pool -> pools of its accelerator
    cdef unsigned char[:] anywhere, transfer_due
    cdef double[:] down_since, fo
    cdef long long[:] fo_to
    cdef Py_ssize_t n, npools, depth, nb
    # per job
    cdef double[:] fs, fin, alloc, lo, rs, dn, cs, intr, fi, ss, so, ee, cost
    cdef long long[:] ver, po, sl, pin, qnext, qprev
    # per pool
    cdef double[:] fr, br
    cdef long long[:] nr, sf, down
    cdef long long[:, :] rn
    cdef double[:, :] se_end           # running jobs per pool by (expected end, id), for backfill
    cdef long long[:, :] se_id
    # clock, timeline, queue
    cdef double now, busy, last
    cdef double[:] bk
    cdef object buckets, segments, arrays
    cdef long long qhead, qtail, qn, nrun_total
    cdef _Heap heap
    cdef long long* order

    def __dealloc__(self):
        free(self.order)

    cdef inline void push(self, double t, int kind, Py_ssize_t idx, long long ver, double amount=0.0) noexcept:
        if t < self.now:               # as Engine.at: never before now
            t = self.now
        self.heap.push(t, kind, <int> idx, ver, amount)

    cdef int integrate(self, double t) except -1:
        """Busy accelerators into the timeline's buckets up to t."""
        cdef double tt, edge
        cdef Py_ssize_t k
        if self.busy > 0 and t > self.last:
            tt = self.last
            while tt < t:
                k = <Py_ssize_t>(tt / self.bucket_s)
                if (k + 1) * self.bucket_s <= tt:
                    k += 1
                edge = (k + 1) * self.bucket_s
                if edge > t:
                    edge = t
                if k >= self.nb:           # grow the timeline (rare: runs past the estimate)
                    self.buckets = np.concatenate([self.buckets, np.zeros(max(self.nb, k + 1 - self.nb))])
                    self.bk = self.buckets
                    self.nb = self.buckets.shape[0]
                self.bk[k] += self.busy * (edge - tt)
                tt = edge
        self.last = t
        return 0

    # --- the queue: a doubly linked list of job ids ---

    cdef inline void q_append(self, long long i) noexcept:
        self.qprev[i] = self.qtail
        self.qnext[i] = -1
        if self.qtail >= 0:
            self.qnext[self.qtail] = i
        else:
            self.qhead = i
        self.qtail = i
        self.qn += 1

    cdef inline void q_appendleft(self, long long i) noexcept:
        self.qnext[i] = self.qhead
        self.qprev[i] = -1
        if self.qhead >= 0:
            self.qprev[self.qhead] = i
        else:
            self.qtail = i
        self.qhead = i
        self.qn += 1

    cdef inline void q_remove(self, long long i) noexcept:
        cdef long long p = self.qprev[i], nx = self.qnext[i]
        if p >= 0:
            self.qnext[p] = nx
        else:
            self.qhead = nx
        if nx >= 0:
            self.qprev[nx] = p
        else:
            self.qtail = p
        self.qn -= 1

    # --- mechanics ---

    cdef void start(self, long long i, Py_ssize_t j) noexcept:
        cdef double compute, run
        self.fr[j] -= self.size[i]
        self.busy += self.size[i]
        self.po[i] = j
        self.sl[i] = self.nr[j]
        self.rn[j, self.nr[j]] = i
        self.nr[j] += 1
        self.nrun_total += 1
        self.ver[i] += 1
        self.ss[i] = self.now
        self.so[i] = self.restart if self.intr[i] > 0 else 0.0
        if self.moving and self.transfer_due[i]:     # its checkpoint moves to another pool first
            self.so[i] += self.transfer
            self.transfer_due[i] = 0
        if self.fs[i] != self.fs[i]:
            self.fs[i] = self.now
        compute = (self.work[i] - self.dn[i]) / self.speed[j]
        run = self.so[i] + compute + ckpts_before(compute, self.interval) * self.stall
        self.ee[i] = self.now + run
        self.by_end_insert(i, j)
        self.push(self.now + run, FINISH, i, self.ver[i])

    cdef inline Py_ssize_t by_end_position(self, long long i, Py_ssize_t j) noexcept:
        """Where (ee[i], i) goes in pool j's running jobs by (expected end, id): binary search."""
        cdef Py_ssize_t lo = 0, hi = self.nr[j] - 1, mid
        cdef double e = self.ee[i]
        if self.backfill == 0:
            return 0
        # nr[j] already counts job i on insertion; search the others
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.se_end[j, mid] < e or (self.se_end[j, mid] == e and self.se_id[j, mid] < i):
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef inline void by_end_insert(self, long long i, Py_ssize_t j) noexcept:
        cdef Py_ssize_t m, at
        if not self.backfill:
            return
        at = self.by_end_position(i, j)
        m = self.nr[j] - 1
        while m > at:
            self.se_end[j, m] = self.se_end[j, m - 1]
            self.se_id[j, m] = self.se_id[j, m - 1]
            m -= 1
        self.se_end[j, at] = self.ee[i]
        self.se_id[j, at] = i

    cdef inline void by_end_remove(self, long long i, Py_ssize_t j) noexcept:
        """Before nr[j] drops: take job i out of pool j's list by expected end."""
        cdef Py_ssize_t m, last = self.nr[j] - 1, lo = 0, hi = self.nr[j] - 1, mid
        cdef double e = self.ee[i]
        if not self.backfill:
            return
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.se_end[j, mid] < e or (self.se_end[j, mid] == e and self.se_id[j, mid] < i):
                lo = mid + 1
            else:
                hi = mid
        for m in range(lo, last):
            self.se_end[j, m] = self.se_end[j, m + 1]
            self.se_id[j, m] = self.se_id[j, m + 1]

    cdef int release(self, long long i) except -1:
        """Give back a running job's accelerators and book the time it held them."""
        cdef Py_ssize_t j = self.po[i], m
        cdef double held = self.now - self.ss[i]
        if self.keep and self.gantt[i]:
            self.segments.append((i, self.ss[i], self.ss[i] + held, j))
        self.fr[j] += self.size[i]
        self.by_end_remove(i, j)
        m = self.sl[i]
        self.nr[j] -= 1
        self.rn[j, m] = self.rn[j, self.nr[j]]
        self.sl[self.rn[j, m]] = m
        self.sl[i] = -1
        self.nrun_total -= 1
        self.busy -= self.size[i]
        self.alloc[i] += held * self.size[i]
        if self.price[j] != 0:
            self.cost[i] += held * self.size[i] * self.price[j] / 3600.0
        self.po[i] = -1
        return 0

    cdef int interrupt(self, long long i) except -1:
        """Stop a running job: keep its durable checkpointed work, lose the rest."""
        cdef Py_ssize_t j = self.po[i]
        cdef double elapsed = self.now - self.ss[i], st, co, ke
        segment_progress(elapsed - self.so[i], self.interval, self.stall, self.write, &st, &co, &ke)
        self.dn[i] = self.dn[i] + ke * self.speed[j]
        if self.dn[i] > self.work[i]:
            self.dn[i] = self.work[i]
        self.lo[i] += (co - ke) * self.size[i]
        self.cs[i] += st * self.size[i]
        self.rs[i] += (elapsed if elapsed < self.so[i] else self.so[i]) * self.size[i]
        self.intr[i] += 1
        self.ver[i] += 1
        self.release(i)
        return 0

    cdef inline Py_ssize_t first_fit(self, long long i, bint* usable) noexcept:
        """The first pool, in fleet order, among those job i may use now, with room for it (-1: none).
        `usable` says whether job i may use any pool now (all down, or its pinned one down: no)."""
        cdef Py_ssize_t k, p = self.pin[i]
        if p >= 0:
            usable[0] = self.down[p] == 0
            return p if usable[0] and self.fr[p] >= self.size[i] else -1
        usable[0] = False
        for k in range(self.npools):
            if self.allowed[i, k] and self.down[k] == 0:
                usable[0] = True
                if self.fr[k] >= self.size[i]:
                    return k
        return -1

    cdef int dispatch(self) except -1:
        """Start jobs in queue order until one that could run somewhere must wait for room; a job
        whose pools are all down holds no place in line. Then, with backfill, jobs behind it."""
        cdef long long cur = self.qhead, i
        cdef Py_ssize_t j
        cdef bint usable
        while cur >= 0:
            i = cur
            j = self.first_fit(i, &usable)
            if not usable:
                cur = self.qnext[i]
                continue
            if j < 0:
                break
            cur = self.qnext[i]
            self.q_remove(i)
            self.start(i, j)
        if cur >= 0 and self.backfill:
            self.backfill_behind(cur)
        return 0

    cdef int backfill_behind(self, long long head) except -1:
        """EASY: reserve the head's earliest start; later jobs may run if they don't delay it."""
        cdef double shadow = INFINITY, spare = 0.0, free_, ends
        cdef Py_ssize_t k, m, spool = -1, j, p = self.pin[head]
        cdef long long cur, i, pos = 0
        cdef bint usable
        for k in range(self.npools):
            if p >= 0:
                if k != p:
                    continue
            elif not (self.allowed[head, k] and self.down[k] == 0):
                continue
            free_ = self.fr[k]
            if free_ >= self.size[head]:
                shadow, spool, spare = self.now, k, free_ - self.size[head]
                break
            for m in range(self.nr[k]):
                free_ += self.size[self.se_id[k, m]]
                if free_ >= self.size[head]:
                    if self.se_end[k, m] < shadow:
                        shadow, spool, spare = self.se_end[k, m], k, free_ - self.size[head]
                    break
        cur = self.qnext[head]
        while cur >= 0:
            pos += 1
            if pos > self.depth:
                break
            i = cur
            cur = self.qnext[i]
            j = self.first_fit(i, &usable)
            if j < 0:
                continue
            ends = self.now + (self.work[i] - self.dn[i]) / self.speed[j] + (self.restart if self.intr[i] > 0 else 0.0)
            if j != spool or ends <= shadow or self.size[i] <= spare:
                if j == spool and ends > shadow:
                    spare -= self.size[i]
                self.q_remove(i)
                self.start(i, j)
        return 0

    cdef Py_ssize_t running_by_id(self, Py_ssize_t j) noexcept:
        """Pool j's running jobs into `order`, by id; returns how many."""
        cdef Py_ssize_t m, cnt = self.nr[j]
        for m in range(cnt):
            self.order[m] = self.rn[j, m]
        qsort(self.order, cnt, sizeof(long long), _cmp_ll)
        return cnt

    cdef int outage_begins(self, Py_ssize_t o) except -1:
        cdef Py_ssize_t k, m, cnt
        for k in range(self.npools):
            if not self.hits[o, k]:
                continue
            self.down[k] += 1              # overlapping outages: up again only when the last one ends
            if self.down[k] > 1:
                continue
            if self.moving:
                self.down_since[k] = self.now
            cnt = self.running_by_id(k)
            for m in range(cnt):
                self.interrupt(self.order[m])
                if not self.failover:
                    self.pin[self.order[m]] = k
                self.q_appendleft(self.order[m])
        self.push(self.now + self.out_duration[o], OUTAGE_ENDS, o, 0)
        if self.moving:                    # after the outage's end: a pool back just then keeps its jobs
            for k in range(self.npools):
                if self.hits[o, k] and self.down[k] == 1:
                    self.push(self.now + self.failover_after, FAILOVER_DUE, k, 0, self.now)
        return 0

    cdef inline bint waits_for(self, long long i, Py_ssize_t k) noexcept:
        """Is queued job i held up only by pool k being down?"""
        cdef bint usable
        if self.pin[i] >= 0:
            return self.pin[i] == k
        if self.anywhere[i] or not self.allowed[i, k]:
            return False
        self.first_fit(i, &usable)
        return not usable

    cdef int failover_due(self, Py_ssize_t k, double since) except -1:
        """Pool k has been down failover_after without a break: jobs waiting for it that may fail
        over move, in queue order, to the first pool of their set that is up and has room now."""
        cdef long long cur, i
        cdef Py_ssize_t t, m
        if self.down[k] == 0 or self.down_since[k] != since:
            return 0
        cur = self.qhead
        while cur >= 0:
            i = cur
            cur = self.qnext[i]
            if not self.waits_for(i, k):
                continue
            for t in range(self.npools):
                if t != k and self.moves[i, t] and self.down[t] == 0 and self.fr[t] >= self.size[i]:
                    break
            else:
                continue
            self.q_remove(i)
            self.pin[i] = -1
            for m in range(self.npools):
                self.allowed[i, m] = self.same_acc[t, m]
            self.anywhere[i] = 0
            self.fo[i] += 1
            self.fo_to[i] = t
            self.transfer_due[i] = 1
            self.start(i, t)
        return 0

    cdef void outage_ends(self, Py_ssize_t o) noexcept:
        cdef Py_ssize_t k
        cdef long long cur
        for k in range(self.npools):
            if self.hits[o, k]:
                self.down[k] -= 1
        cur = self.qhead
        while cur >= 0:
            if self.pin[cur] >= 0 and self.down[self.pin[cur]] == 0:
                self.pin[cur] = -1
            cur = self.qnext[cur]


def run(double[:] arrival, double[:] size, double[:] work, unsigned char[:, :] allowed, unsigned char[:] service,
        double[:] capacity, double[:] speed, long long[:] spares, double[:] price, double[:] node_size,
        double[:] fail_rate, double rate_per_s, double interval_s, double stall_s, double write_s, double restart_s, double repair_s,
        double[:] outage_start, double[:] outage_duration, unsigned char[:, :] outage_hits,
        bint backfill, bint failover, Py_ssize_t depth,
        double failover_after, double transfer_s, unsigned char[:, :] moves, unsigned char[:, :] same_acc,
        unsigned char[:] anywhere,
        double until, double bucket_s, Py_ssize_t n_buckets, unsigned long long seed,
        unsigned char[:] gantt=None, progress=None, double span=1.0, long long progress_every=1 << 18):
    """Returns per-job arrays, bucketed busy accelerator-seconds, event and failure counts.

    `service[i]`: job i is an inference service (a failure on it replaces the replica: nothing
    stops, nothing goes to repair). `fail_rate[k]`: failures per second in pool k (the Python
    core's rate x node size x nodes, computed the same way); `rate_per_s` > 0 turns them on; a
    failure takes a node's worth (`node_size`, at most what is idle) to repair.
    `outage_hits[o, k]`: outage o takes pool k down. `gantt` flags jobs whose segments
    (job, start, end, pool) are kept; `progress(done, span)` is called every `progress_every`
    events."""
    cdef Py_ssize_t n = arrival.shape[0], npools = capacity.shape[0], nout = outage_start.shape[0]
    cdef Py_ssize_t i, j, o, m, arrived = 0, width
    cdef double u, st, co, ke, held
    cdef long long processed = 0, failures = 0
    cdef unsigned long long rng = seed * 6364136223846793005ULL + 1442695040888963407ULL
    cdef Ev ev
    cdef _Gang g = _Gang()
    if rng == 0:
        rng = 88172645463325252ULL
    g.arrival, g.size, g.work, g.allowed = arrival, size, work, allowed
    g.capacity, g.speed, g.price = capacity, speed, price
    g.out_duration, g.hits = outage_duration, outage_hits
    g.interval, g.stall, g.write, g.restart, g.repair = interval_s, stall_s, write_s, restart_s, repair_s
    g.backfill, g.failover, g.depth = backfill, failover, depth
    g.moving = failover_after >= 0          # failover after a delay (negative: never)
    g.failover_after, g.transfer = failover_after, transfer_s
    g.moves, g.same_acc, g.anywhere = moves, same_acc, anywhere
    g.transfer_due = np.zeros(n, dtype=np.uint8)
    g.down_since = np.full(npools, -1.0)
    g.keep = gantt is not None
    if g.keep:
        g.gantt = gantt
    g.n, g.npools = n, npools
    g.bucket_s = bucket_s
    g.nb = n_buckets if n_buckets > 1 else 1
    g.buckets = np.zeros(g.nb)
    g.bk = g.buckets
    g.segments = []
    g.heap = _Heap(n + nout + 16)
    arrays = {k: np.zeros(n) for k in ("allocated_s", "lost_s", "restart_s", "done", "checkpoint_s",
                                       "interruptions", "failure_interruptions", "seg_start", "seg_over",
                                       "expected_end", "cost_usd", "failovers")}
    arrays["first_start"] = np.full(n, np.nan)
    arrays["finish"] = np.full(n, np.nan)
    g.fs, g.fin, g.alloc, g.lo = arrays["first_start"], arrays["finish"], arrays["allocated_s"], arrays["lost_s"]
    g.rs, g.dn, g.cs = arrays["restart_s"], arrays["done"], arrays["checkpoint_s"]
    g.intr, g.fi = arrays["interruptions"], arrays["failure_interruptions"]
    g.ss, g.so, g.ee, g.cost = arrays["seg_start"], arrays["seg_over"], arrays["expected_end"], arrays["cost_usd"]
    g.ver = np.zeros(n, dtype=np.int64)
    g.po = np.full(n, -1, dtype=np.int64)
    g.sl = np.full(n, -1, dtype=np.int64)
    g.pin = np.full(n, -1, dtype=np.int64)
    g.fo = arrays["failovers"]
    arrays["failover_pool"] = np.full(n, -1, dtype=np.int64)
    g.fo_to = arrays["failover_pool"]
    g.qnext = np.full(n, -1, dtype=np.int64)
    g.qprev = np.full(n, -1, dtype=np.int64)
    g.qhead, g.qtail, g.qn, g.nrun_total = -1, -1, 0, 0
    g.fr = np.array(capacity, dtype=float)
    g.br = np.zeros(npools)
    g.sf = np.array(spares, dtype=np.int64)
    g.nr = np.zeros(npools, dtype=np.int64)
    g.down = np.zeros(npools, dtype=np.int64)
    width = n
    if n > 0 and np.min(np.asarray(size)) >= 1:    # a pool runs at most capacity jobs of size >= 1
        width = min(n, int(np.max(np.asarray(capacity))) + 1)
    if width < 1:
        width = 1
    g.rn = np.zeros((npools, width), dtype=np.int64)   # running jobs per pool
    g.se_end = np.zeros((npools, width if backfill else 1))
    g.se_id = np.zeros((npools, width if backfill else 1), dtype=np.int64)
    g.order = <long long*> malloc(width * sizeof(long long))
    g.now, g.busy, g.last = 0.0, 0.0, 0.0
    # the Python core's start-up order: first arrival, outages, then each pool's failure stream
    if n > 0:
        g.push(arrival[0], ARRIVAL, 0, 0)
    for o in range(nout):
        g.push(outage_start[o], OUTAGE_BEGINS, o, 0)
    if rate_per_s > 0:
        for j in range(npools):
            if capacity[j] > 0:
                g.push(g.now + (-log(1.0 - next_uniform(&rng)) / fail_rate[j]), FAILURE, j, 0)
    while g.heap.n > 0 and g.heap.data[0].t <= until:
        ev = g.heap.pop()
        g.integrate(ev.t)
        g.now = ev.t
        processed += 1
        if progress is not None and processed % progress_every == 0:
            progress(g.now if g.now < span else span, span)
        if ev.kind == ARRIVAL:
            i = ev.idx
            arrived += 1
            if i + 1 < n:
                g.push(arrival[i + 1], ARRIVAL, i + 1, 0)
            g.q_append(i)
        elif ev.kind == FINISH:
            i = ev.idx
            if ev.ver != g.ver[i]:
                continue
            j = g.po[i]
            g.release(i)
            g.rs[i] += g.so[i] * size[i]
            g.cs[i] += ckpts_before((work[i] - g.dn[i]) / speed[j], interval_s) * stall_s * size[i]
            g.dn[i] = work[i]
            g.fin[i] = g.now
        elif ev.kind == FAILURE:               # a failure somewhere in pool ev.idx
            j = ev.idx
            if not (arrived < n or g.qn > 0 or g.nrun_total > 0):
                continue                       # nothing left to hit: the stream stops
            g.push(g.now + (-log(1.0 - next_uniform(&rng)) / fail_rate[j]), FAILURE, j, 0)
            u = next_uniform(&rng) * capacity[j]
            if g.down[j] > 0:                  # the pool is out: nothing to hit
                continue
            i = -1
            for m in range(g.running_by_id(j)):
                u -= size[g.order[m]]
                if u < 0:
                    i = g.order[m]
                    break
            if i >= 0 and service[i]:         # a service replaces the replica and carries on
                failures += 1
                continue
            if i >= 0:                         # the failed accelerator was busy: its job stops
                failures += 1
                g.interrupt(i)
                g.fi[i] += 1
                g.q_appendleft(i)
            elif u < g.br[j] or g.fr[j] < 1.0:     # already out for repair (or no whole idle one)
                continue
            else:
                failures += 1
            if g.sf[j] > 0:                    # a hot spare takes its place
                g.sf[j] -= 1
                g.push(g.now + repair_s, SPARE_BACK, j, 0)
            else:                              # a node's worth, at most what is idle, to repair
                u = node_size[j] if node_size[j] <= g.fr[j] else g.fr[j]
                g.fr[j] -= u
                g.br[j] += u
                g.push(g.now + repair_s, REPAIRED, j, 0, u)
        elif ev.kind == REPAIRED:
            g.fr[ev.idx] += ev.amount
            g.br[ev.idx] -= ev.amount
        elif ev.kind == SPARE_BACK:            # a repaired node back among the spares
            g.sf[ev.idx] += 1
            continue
        elif ev.kind == OUTAGE_BEGINS:
            g.outage_begins(ev.idx)
        elif ev.kind == OUTAGE_ENDS:
            g.outage_ends(ev.idx)
        else:
            g.failover_due(ev.idx, ev.amount)
            continue
        g.dispatch()
    if until < INFINITY and until > g.now:
        g.now = until
    # close the books for jobs still running
    for i in range(n):
        j = g.po[i]
        if j >= 0:
            held = g.now - g.ss[i]
            if g.keep and gantt[i]:
                g.segments.append((i, g.ss[i], g.ss[i] + held, j))
            g.alloc[i] += held * size[i]
            if price[j] != 0:
                g.cost[i] += held * size[i] * price[j] / 3600.0
            segment_progress(held - g.so[i], interval_s, stall_s, write_s, &st, &co, &ke)
            g.dn[i] = g.dn[i] + co * speed[j]
            if g.dn[i] > work[i]:
                g.dn[i] = work[i]
            g.cs[i] += st * size[i]
            g.rs[i] += (held if held < g.so[i] else g.so[i]) * size[i]
    g.integrate(g.now)
    for k in ("seg_start", "seg_over", "expected_end"):
        del arrays[k]
    arrays.update({"buckets": g.buckets, "events": processed, "failures": failures, "now": g.now,
                   "segments": g.segments})
    return arrays
