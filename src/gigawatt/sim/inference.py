"""An LLM inference service driven by request traces: replicas sharing compute by continuous batching.

Tokens become accelerator time through the catalog's per-accelerator figures. A replica
holds up to `batch` requests at once; in each decode step it streams the weights from HBM
once for every decoding sequence together (memory-bound) and spends 2 x parameters FLOP
per token processed, prefill or decode (compute-bound). So between events a replica's
decode token rate is min(n_decoding x steps/s, compute / (2P)), shared equally by the
decoding requests, and the compute left over goes to prefill, shared equally by the
requests in prefill (processor sharing: the fluid form of continuous batching). A replica
therefore never produces more tokens per second than its compute and memory bandwidth
allow, and overload shows as queueing and a collapsing SLO. Model size, MFU and bandwidth
efficiency are the caller's assumptions.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from heapq import heappop, heappush

import numpy as np
import pandas as pd

from gigawatt.catalog import load_catalog
from gigawatt.errors import SimulationError
from gigawatt.sim.engine import Engine


@dataclass(frozen=True)
class ServiceModel:
    accelerator: str = "nvidia_h100_sxm"
    model_params_b: float = 70.0           # assumption: a 70B dense model (Splitwise studied Llama2-70B)
    accelerators_per_replica: int = 8
    batch: int = 32                        # concurrent sequences per replica
    prefill_mfu: float = 0.5               # assumption
    bandwidth_efficiency: float = 0.7      # assumption: share of peak HBM bandwidth achieved in decode
    slo_ttft_s: float = 2.0                # time to first token target

    def rates(self) -> tuple[float, float]:
        """(tokens per second the replica's compute allows, decode steps per second its bandwidth allows)."""
        acc = load_catalog().accelerator(self.accelerator)
        if acc.hbm_bw_tbps is None:
            raise SimulationError(f"{self.accelerator} has no HBM bandwidth in the catalog; pick another accelerator")
        flops = acc.bf16_dense_tflops * 1e12 * self.accelerators_per_replica * self.prefill_mfu
        bandwidth = acc.hbm_bw_tbps * 1e12 * self.accelerators_per_replica * self.bandwidth_efficiency
        return flops / (2 * self.model_params_b * 1e9), bandwidth / (self.model_params_b * 1e9 * 2)

    def times(self, prompt: np.ndarray, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prefill and decode seconds of each request alone on a replica."""
        tokens_per_s, steps_per_s = self.rates()
        return prompt / tokens_per_s, output / min(steps_per_s, tokens_per_s)


def replicas_for(requests: pd.DataFrame, model: ServiceModel, target_utilization: float = 0.7) -> int:
    """Replicas whose compute serves the trace's tokens at `target_utilization` (and whose
    batches, at one step per token, keep up with its decode work)."""
    tokens_per_s, steps_per_s = model.rates()
    span = max(float(requests["arrival_s"].max() - requests["arrival_s"].min()), 1.0)
    prompt = float(requests["prompt_tokens"].sum())
    output = float(requests["output_tokens"].sum())
    by_compute = (prompt + output) / span / tokens_per_s
    by_steps = output / span / (steps_per_s * model.batch)
    return max(1, math.ceil(max(by_compute, by_steps) / target_utilization))


@dataclass(eq=False)
class _Replica:
    """Virtual service clocks: every request in a phase receives the same tokens per second."""

    prefill: list[tuple[float, int]] = field(default_factory=list)    # (virtual finish, request)
    decode: list[tuple[float, int]] = field(default_factory=list)
    v_prefill: float = 0.0
    v_decode: float = 0.0
    r_prefill: float = 0.0            # tokens/s each prefilling request receives
    r_decode: float = 0.0
    last: float = 0.0
    version: int = 0
    tokens: float = 0.0               # tokens processed so far
    decode_tokens: float = 0.0

    @property
    def active(self) -> int:
        return len(self.prefill) + len(self.decode)

    def advance(self, now: float) -> None:
        dt = now - self.last
        if dt > 0:
            self.v_prefill += self.r_prefill * dt
            self.v_decode += self.r_decode * dt
            done_p = self.r_prefill * len(self.prefill) * dt
            done_d = self.r_decode * len(self.decode) * dt
            self.tokens += done_p + done_d
            self.decode_tokens += done_d
        self.last = now

    def share(self, tokens_per_s: float, steps_per_s: float) -> None:
        n_d, n_p = len(self.decode), len(self.prefill)
        decode_rate = min(n_d * steps_per_s, tokens_per_s)
        self.r_decode = decode_rate / n_d if n_d else 0.0
        self.r_prefill = (tokens_per_s - decode_rate) / n_p if n_p else 0.0

    def next_event(self) -> float:
        """Seconds from `last` until the next request leaves its phase."""
        t = math.inf
        if self.prefill and self.r_prefill > 0:
            t = (self.prefill[0][0] - self.v_prefill) / self.r_prefill
        if self.decode and self.r_decode > 0:
            t = min(t, (self.decode[0][0] - self.v_decode) / self.r_decode)
        return max(t, 0.0)


def simulate_service(requests: pd.DataFrame, model: ServiceModel, replicas: int | None = None,
                     seed: int = 0) -> dict[str, float]:
    """Serve requests on replicas by continuous batching; report SLO attainment and throughput.

    Requests join the replica with the fewest active requests that has a free batch slot,
    else wait in one FIFO queue."""
    if requests.empty:
        raise SimulationError("no requests to serve")
    n = replicas or replicas_for(requests, model)
    tokens_per_s, steps_per_s = model.rates()
    prompt = requests["prompt_tokens"].to_numpy(float)
    output = requests["output_tokens"].to_numpy(float)
    arrivals = requests["arrival_s"].to_numpy(float)
    ttft = np.full(len(arrivals), np.nan)
    latency = np.full(len(arrivals), np.nan)
    engine = Engine(seed)
    reps = [_Replica() for _ in range(n)]
    by_load: list[tuple[int, int]] = [(0, k) for k in range(n)]        # (active, replica): lazy heap
    waiting: deque[int] = deque()
    eps = 1e-9                                   # relative: virtual clocks grow to millions of tokens

    def reschedule(k: int) -> None:
        rep = reps[k]
        rep.share(tokens_per_s, steps_per_s)
        rep.version += 1
        if rep.active:
            dt = rep.next_event()
            if engine.now + dt == engine.now and dt > 0:    # below the clock's resolution: now
                dt = 0.0
            engine.at(engine.now + dt, phase_done, (k, rep.version))
        heappush(by_load, (rep.active, k))

    def admit(i: int, k: int) -> None:
        rep = reps[k]
        rep.advance(engine.now)
        if prompt[i] > 0:
            heappush(rep.prefill, (rep.v_prefill + prompt[i], i))
        else:
            ttft[i] = engine.now - arrivals[i]
            heappush(rep.decode, (rep.v_decode + output[i], i))
        reschedule(k)

    def free_replica() -> int | None:
        while by_load:
            active, k = by_load[0]
            if active != reps[k].active:          # stale entry
                heappop(by_load)
                continue
            return k if active < model.batch else None
        return None

    def arrive(i: int) -> None:
        if i + 1 < len(arrivals):
            engine.at(arrivals[i + 1], arrive, i + 1)
        k = free_replica()
        if k is None:
            waiting.append(i)
        else:
            admit(i, k)

    def phase_done(event: tuple[int, int]) -> None:
        k, version = event
        rep = reps[k]
        if version != rep.version:
            return
        rep.advance(engine.now)
        now = engine.now
        while rep.prefill and rep.prefill[0][0] <= rep.v_prefill + eps * max(1.0, rep.v_prefill):
            _, i = heappop(rep.prefill)
            ttft[i] = now - arrivals[i]
            if output[i] > 0:
                heappush(rep.decode, (rep.v_decode + output[i], i))
            else:
                latency[i] = now - arrivals[i]
        while rep.decode and rep.decode[0][0] <= rep.v_decode + eps * max(1.0, rep.v_decode):
            _, i = heappop(rep.decode)
            latency[i] = now - arrivals[i]
        reschedule(k)
        while waiting and (j := free_replica()) is not None:
            admit(waiting.popleft(), j)

    engine.at(arrivals[0], arrive, 0)
    t0 = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - t0
    span = float(engine.now - arrivals[0]) or 1.0
    for rep in reps:
        rep.advance(engine.now)
    tokens = sum(r.tokens for r in reps)
    served = np.isfinite(latency)
    return {
        "requests": float(len(arrivals)),
        "replicas": float(n),
        "accelerators": float(n * model.accelerators_per_replica),
        "slo_ttft_s": model.slo_ttft_s,
        "slo_attainment": float(np.mean(np.nan_to_num(ttft, nan=np.inf) <= model.slo_ttft_s)),
        "ttft_p50_s": float(np.nanquantile(ttft, 0.5)),
        "ttft_p99_s": float(np.nanquantile(ttft, 0.99)),
        "latency_p50_s": float(np.nanquantile(latency, 0.5)),
        "latency_p99_s": float(np.nanquantile(latency, 0.99)),
        "served": float(served.sum()),
        "tokens_per_s_per_replica": tokens / span / n,
        "replica_token_limit_per_s": tokens_per_s,
        "decode_tokens_per_s_per_replica": sum(r.decode_tokens for r in reps) / span / n,
        "compute_utilization": tokens / (span * n * tokens_per_s),
        "slot_utilization": float(np.nansum(latency)) / (n * model.batch * span),
        "accelerator_seconds": tokens / tokens_per_s * model.accelerators_per_replica,
        "events": float(engine.processed),
        "wall_seconds": wall,
    }


def replicas_for_slo(requests: pd.DataFrame, model: ServiceModel, attainment: float = 0.9,
                     most: int = 4096) -> int:
    """The fewest replicas whose TTFT SLO attainment reaches `attainment` (doubling, then bisection)."""
    def ok(n: int) -> bool:
        return simulate_service(requests, model, replicas=n)["slo_attainment"] >= attainment

    hi = 1
    while not ok(hi):
        hi *= 2
        if hi > most:
            raise SimulationError(f"more than {most} replicas would be needed to reach {attainment:.0%} of the SLO")
    lo = hi // 2 + 1 if hi > 1 else 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi
