# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled core for the closed model: FIFO gang jobs on pools (first fit), independent
accelerator failures, checkpoints, restart cost and repairs. No outages, no backfill.

Same semantics as gigawatt.sim.cluster.GangCluster with the "fifo" policy; its own RNG
(xorshift64*), so runs are reproducible per seed but differ event by event from the
Python core once failures are on.
"""

from libc.math cimport log, floor, INFINITY
from libc.stdlib cimport malloc, free

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


def run_fifo(double[:] arrival, double[:] size, double[:] work, unsigned char[:, :] allowed,
             double[:] capacity, double[:] speed, double rate_per_s, double ckpt_s, double restart_s,
             double repair_s, double until, double bucket_s, Py_ssize_t n_buckets, unsigned long long seed):
    """Returns per-job arrays, bucketed busy accelerator-seconds and the event count."""
    cdef Py_ssize_t n = arrival.shape[0], npools = capacity.shape[0], nb
    cdef Py_ssize_t i, j, k, head, tail, qn
    cdef double now = 0.0, run, ttf, elapsed, running, kept, busy = 0.0, last = 0.0, tt, edge, broken
    cdef long long processed = 0
    cdef unsigned long long rng = seed * 6364136223846793005ULL + 1442695040888963407ULL
    cdef _Heap heap = _Heap(n + 16)
    cdef Ev ev
    if rng == 0:
        rng = 88172645463325252ULL
    nb = n_buckets if n_buckets > 1 else 1
    first_start = np.full(n, np.nan); finish = np.full(n, np.nan)
    allocated = np.zeros(n); lost = np.zeros(n); restart = np.zeros(n); done = np.zeros(n)
    interruptions = np.zeros(n); seg_start = np.zeros(n); seg_over = np.zeros(n)
    version = np.zeros(n, dtype=np.int64); pool_of = np.full(n, -1, dtype=np.int64)
    freecap = np.array(capacity, dtype=float)
    buckets = np.zeros(nb)
    queue = np.zeros(n + 1, dtype=np.int64)
    cdef double[:] fs = first_start, fin = finish, alloc = allocated, lo = lost, rs = restart, dn = done
    cdef double[:] intr = interruptions, ss = seg_start, so = seg_over, fr = freecap, bk = buckets
    cdef long long[:] ver = version, po = pool_of, q = queue
    head = 0; tail = 0; qn = 0
    if n > 0:
        heap.push(arrival[0], 0, 0, 0, 0.0)
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
        if ev.kind == 0:                       # arrival
            i = ev.idx
            if i + 1 < n:
                heap.push(arrival[i + 1], 0, <int>(i + 1), 0, 0.0)
            q[tail] = i; tail = (tail + 1) % (n + 1); qn += 1
        elif ev.kind == 1 or ev.kind == 2:     # finish or failure
            i = ev.idx
            if ev.ver != ver[i]:
                continue
            j = po[i]
            elapsed = now - ss[i]
            alloc[i] += elapsed * size[i]
            busy -= size[i]
            if ev.kind == 1:
                fr[j] += size[i]
                rs[i] += so[i] * size[i]
                dn[i] = work[i]
                fin[i] = now
            else:
                running = elapsed - so[i]
                if running < 0:
                    running = 0
                kept = floor(running / ckpt_s) * ckpt_s if ckpt_s > 0 else running
                dn[i] = dn[i] + kept * speed[j]
                if dn[i] > work[i]:
                    dn[i] = work[i]
                lo[i] += (running - kept) * size[i]
                rs[i] += (elapsed if elapsed < so[i] else so[i]) * size[i]
                intr[i] += 1
                ver[i] += 1
                broken = 1.0 if size[i] > 1.0 else size[i]
                fr[j] += size[i] - broken
                heap.push(now + repair_s, 3, <int>j, 0, broken)
                head = (head - 1 + n + 1) % (n + 1); q[head] = i; qn += 1
            po[i] = -1
        else:                                  # repair
            fr[ev.idx] += ev.amount
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
            ver[i] += 1
            ss[i] = now
            so[i] = restart_s if intr[i] > 0 else 0.0
            if fs[i] != fs[i]:
                fs[i] = now
            run = so[i] + (work[i] - dn[i]) / speed[j]
            if rate_per_s > 0:
                ttf = -log(1.0 - next_uniform(&rng)) / (rate_per_s * size[i])
                if ttf < run:
                    heap.push(now + ttf, 2, <int>i, ver[i], 0.0)
                    continue
            heap.push(now + run, 1, <int>i, ver[i], 0.0)
    if until < INFINITY and until > now:
        now = until
    # close the books for jobs still running
    for i in range(n):
        if po[i] >= 0:
            elapsed = now - ss[i]
            alloc[i] += elapsed * size[i]
            running = elapsed - so[i]
            if running < 0:
                running = 0
            dn[i] = dn[i] + running * speed[po[i]]
            if dn[i] > work[i]:
                dn[i] = work[i]
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
            "restart_s": restart, "interruptions": interruptions, "done": done,
            "buckets": buckets, "events": processed, "now": now}
