# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled core for the closed model: FIFO gang jobs on pooled pools (one-accelerator nodes,
first fit), hardware failures in calendar time (busy or idle), hot spares, checkpoints with
a write cost, restart cost and repairs. No outages, no backfill, no node identity.

Same semantics, event order and failure stream (xorshift64*, gigawatt.sim.rng) as
gigawatt.sim.cluster.GangCluster with the "fifo" policy on pooled pools, so a seed gives the
same run in both cores.
"""

from libc.math cimport log, floor, ceil, INFINITY, isfinite
from libc.stdlib cimport malloc, free, qsort

import numpy as np

cdef struct Ev:
    double t
    long long seq
    int kind        # 0 arrival, 1 finish, 2 failure, 3 repair
    int idx         # job (0-2) or pool (3)
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


def run_fifo(double[:] arrival, double[:] size, double[:] work, unsigned char[:, :] allowed,
             double[:] capacity, double[:] speed, long long[:] spares, double rate_per_s, double interval_s,
             double stall_s, double write_s, double restart_s, double repair_s, double until, double bucket_s,
             Py_ssize_t n_buckets, unsigned long long seed, unsigned char[:] gantt=None, progress=None,
             double span=1.0, long long progress_every=1 << 18):
    """Returns per-job arrays, bucketed busy accelerator-seconds, event and failure counts.

    `gantt` flags jobs whose segments (job, start, end, pool) are kept; `progress(done, span)`
    is called every `progress_every` events."""
    cdef Py_ssize_t n = arrival.shape[0], npools = capacity.shape[0], nb
    cdef Py_ssize_t i, j, k, m, head, tail, qn, arrived = 0, nrun_total = 0
    cdef double now = 0.0, run, compute, elapsed, busy = 0.0, last = 0.0, tt, edge, u
    cdef double st, co, ke
    cdef long long processed = 0, failures = 0
    cdef unsigned long long rng = seed * 6364136223846793005ULL + 1442695040888963407ULL
    cdef _Heap heap = _Heap(n + 16)
    cdef Ev ev
    cdef long long* order
    cdef bint keep = gantt is not None
    segments = []
    if rng == 0:
        rng = 88172645463325252ULL
    nb = n_buckets if n_buckets > 1 else 1
    first_start = np.full(n, np.nan); finish = np.full(n, np.nan)
    allocated = np.zeros(n); lost = np.zeros(n); restart = np.zeros(n); done = np.zeros(n)
    ckpt = np.zeros(n); interruptions = np.zeros(n); seg_start = np.zeros(n); seg_over = np.zeros(n)
    version = np.zeros(n, dtype=np.int64); pool_of = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    freecap = np.array(capacity, dtype=float)
    broken = np.zeros(npools); spare_free = np.array(spares, dtype=np.int64)
    nrun = np.zeros(npools, dtype=np.int64)
    width = n
    if n > 0 and np.min(np.asarray(size)) >= 1:    # a pool runs at most capacity jobs of size >= 1
        width = min(n, int(np.max(np.asarray(capacity))) + 1)
    running = np.zeros((npools, width if width > 0 else 1), dtype=np.int64)   # running jobs per pool
    buckets = np.zeros(nb)
    queue = np.zeros(n + 1, dtype=np.int64)
    cdef double[:] fs = first_start, fin = finish, alloc = allocated, lo = lost, rs = restart, dn = done
    cdef double[:] cs = ckpt, intr = interruptions, ss = seg_start, so = seg_over, fr = freecap, bk = buckets
    cdef double[:] br = broken
    cdef long long[:] ver = version, po = pool_of, q = queue, sl = slot, nr = nrun, sf = spare_free
    cdef long long[:, :] rn = running
    order = <long long*> malloc((n + 1) * sizeof(long long))
    head = 0; tail = 0; qn = 0
    if n > 0:
        heap.push(arrival[0], 0, 0, 0, 0.0)
    if rate_per_s > 0:
        for j in range(npools):
            if capacity[j] > 0:
                heap.push(now + (-log(1.0 - next_uniform(&rng)) / (rate_per_s * 1.0 * capacity[j])),
                          2, <int>j, 0, 0.0)
    while heap.n > 0 and heap.data[0].t <= until:
        ev = heap.pop()
        # integrate busy accelerators up to this event
        if busy > 0 and ev.t > last:
            tt = last
            while tt < ev.t:
                k = <Py_ssize_t>(tt / bucket_s)
                if (k + 1) * bucket_s <= tt:
                    k += 1
                edge = (k + 1) * bucket_s
                if edge > ev.t:
                    edge = ev.t
                if k >= nb:                    # grow the timeline (rare: runs past the estimate)
                    buckets = np.concatenate([buckets, np.zeros(max(nb, k + 1 - nb))])
                    bk = buckets
                    nb = buckets.shape[0]
                bk[k] += busy * (edge - tt)
                tt = edge
        last = ev.t
        now = ev.t
        processed += 1
        if progress is not None and processed % progress_every == 0:
            progress(now if now < span else span, span)
        if ev.kind == 0:                       # arrival
            i = ev.idx
            arrived += 1
            if i + 1 < n:
                heap.push(arrival[i + 1], 0, <int>(i + 1), 0, 0.0)
            q[tail] = i; tail = (tail + 1) % (n + 1); qn += 1
        elif ev.kind == 1:                     # finish
            i = ev.idx
            if ev.ver != ver[i]:
                continue
            j = po[i]
            elapsed = now - ss[i]
            if keep and gantt[i]:
                segments.append((i, ss[i], now, j))
            fr[j] += size[i]
            m = sl[i]; nr[j] -= 1; rn[j, m] = rn[j, nr[j]]; sl[rn[j, m]] = m; sl[i] = -1
            nrun_total -= 1
            busy -= size[i]
            alloc[i] += elapsed * size[i]
            rs[i] += so[i] * size[i]
            cs[i] += ckpts_before((work[i] - dn[i]) / speed[j], interval_s) * stall_s * size[i]
            dn[i] = work[i]
            fin[i] = now
            po[i] = -1
        elif ev.kind == 2:                     # a failure somewhere in pool ev.idx
            j = ev.idx
            if not (arrived < n or qn > 0 or nrun_total > 0):
                continue                       # nothing left to hit: the stream stops
            heap.push(now + (-log(1.0 - next_uniform(&rng)) / (rate_per_s * 1.0 * capacity[j])),
                      2, <int>j, 0, 0.0)
            u = next_uniform(&rng) * capacity[j]
            for m in range(nr[j]):
                order[m] = rn[j, m]
            qsort(order, nr[j], sizeof(long long), _cmp_ll)
            i = -1
            for m in range(nr[j]):
                u -= size[order[m]]
                if u < 0:
                    i = order[m]
                    break
            if i >= 0:                         # the failed accelerator was busy: its job stops
                failures += 1
                elapsed = now - ss[i]
                if keep and gantt[i]:
                    segments.append((i, ss[i], now, j))
                segment_progress(elapsed - so[i], interval_s, stall_s, write_s, &st, &co, &ke)
                dn[i] = dn[i] + ke * speed[j]
                if dn[i] > work[i]:
                    dn[i] = work[i]
                lo[i] += (co - ke) * size[i]
                cs[i] += st * size[i]
                rs[i] += (elapsed if elapsed < so[i] else so[i]) * size[i]
                intr[i] += 1
                ver[i] += 1
                fr[j] += size[i]
                m = sl[i]; nr[j] -= 1; rn[j, m] = rn[j, nr[j]]; sl[rn[j, m]] = m; sl[i] = -1
                nrun_total -= 1
                busy -= size[i]
                alloc[i] += elapsed * size[i]
                po[i] = -1
                head = (head - 1 + n + 1) % (n + 1); q[head] = i; qn += 1
            elif u < br[j] or fr[j] < 1.0:     # already out for repair (or no whole idle one)
                continue
            else:
                failures += 1
            if sf[j] > 0:                      # a hot spare takes its place
                sf[j] -= 1
                heap.push(now + repair_s, 4, <int>j, 0, 0.0)
            else:
                fr[j] -= 1.0
                br[j] += 1.0
                heap.push(now + repair_s, 3, <int>j, 0, 0.0)
        elif ev.kind == 3:                     # repaired
            fr[ev.idx] += 1.0
            br[ev.idx] -= 1.0
        else:                                  # a repaired node back among the spares
            sf[ev.idx] += 1
            continue
        # dispatch: FIFO, first fit, head of line blocks
        while qn > 0:
            i = q[head]
            j = -1
            for k in range(npools):
                if allowed[i, k] and fr[k] >= size[i]:
                    j = k
                    break
            if j < 0:
                break
            head = (head + 1) % (n + 1); qn -= 1
            fr[j] -= size[i]
            busy += size[i]
            po[i] = j
            sl[i] = nr[j]; rn[j, nr[j]] = i; nr[j] += 1
            nrun_total += 1
            ver[i] += 1
            ss[i] = now
            so[i] = restart_s if intr[i] > 0 else 0.0
            if fs[i] != fs[i]:
                fs[i] = now
            compute = (work[i] - dn[i]) / speed[j]
            run = so[i] + compute + ckpts_before(compute, interval_s) * stall_s
            heap.push(now + run, 1, <int>i, ver[i], 0.0)
    free(order)
    if until < INFINITY and until > now:
        now = until
    # close the books for jobs still running
    for i in range(n):
        if po[i] >= 0:
            elapsed = now - ss[i]
            if keep and gantt[i]:
                segments.append((i, ss[i], now, po[i]))
            alloc[i] += elapsed * size[i]
            segment_progress(elapsed - so[i], interval_s, stall_s, write_s, &st, &co, &ke)
            dn[i] = dn[i] + co * speed[po[i]]
            if dn[i] > work[i]:
                dn[i] = work[i]
            cs[i] += st * size[i]
            rs[i] += (elapsed if elapsed < so[i] else so[i]) * size[i]
    if busy > 0 and now > last:
        tt = last
        while tt < now:
            k = <Py_ssize_t>(tt / bucket_s)
            if (k + 1) * bucket_s <= tt:
                k += 1
            edge = (k + 1) * bucket_s
            if edge > now:
                edge = now
            if k >= nb:
                buckets = np.concatenate([buckets, np.zeros(max(nb, k + 1 - nb))])
                bk = buckets
                nb = buckets.shape[0]
            bk[k] += busy * (edge - tt)
            tt = edge
    return {"first_start": first_start, "finish": finish, "allocated_s": allocated, "lost_s": lost,
            "restart_s": restart, "checkpoint_s": ckpt, "interruptions": interruptions, "done": done,
            "buckets": buckets, "events": processed, "failures": failures, "now": now, "segments": segments}
