"""An LLM inference service driven by request traces: replicas, continuous batching, an SLO.

Tokens become accelerator time through the catalog's per-accelerator figures:
prefill is compute-bound (2 x parameters FLOP per prompt token at dense BF16 x MFU),
decode is memory-bound (every step streams the weights from HBM once, shared by the
batch). Model size, MFU and bandwidth efficiency are the caller's assumptions.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

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

    def times(self, prompt: np.ndarray, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acc = load_catalog().accelerator(self.accelerator)
        if acc.hbm_bw_tbps is None:
            raise SimulationError(f"{self.accelerator} has no HBM bandwidth in the catalog; pick another accelerator")
        flops = acc.bf16_dense_tflops * 1e12 * self.accelerators_per_replica * self.prefill_mfu
        prefill = prompt * 2 * self.model_params_b * 1e9 / flops
        bandwidth = acc.hbm_bw_tbps * 1e12 * self.accelerators_per_replica * self.bandwidth_efficiency
        step = self.model_params_b * 1e9 * 2 / bandwidth            # BF16 weights read once per step
        return prefill, output * step


def replicas_for(requests: pd.DataFrame, model: ServiceModel, target_utilization: float = 0.7) -> int:
    prefill, decode = model.times(requests["prompt_tokens"].to_numpy(float), requests["output_tokens"].to_numpy(float))
    span = max(float(requests["arrival_s"].max() - requests["arrival_s"].min()), 1.0)
    busy_slots = float((prefill + decode).sum()) / span
    return max(1, math.ceil(busy_slots / (model.batch * target_utilization)))


def simulate_service(requests: pd.DataFrame, model: ServiceModel, replicas: int | None = None,
                     seed: int = 0) -> dict[str, float]:
    """Serve requests FIFO on replicas x batch slots; report SLO attainment and accelerator time."""
    if requests.empty:
        raise SimulationError("no requests to serve")
    n = replicas or replicas_for(requests, model)
    prefill, decode = model.times(requests["prompt_tokens"].to_numpy(float), requests["output_tokens"].to_numpy(float))
    arrivals = requests["arrival_s"].to_numpy(float)
    ttft = np.full(len(arrivals), np.nan)
    latency = np.full(len(arrivals), np.nan)
    engine = Engine(seed)
    free = [n * model.batch]
    waiting: deque[int] = deque()

    def begin(i: int) -> None:
        free[0] -= 1
        ttft[i] = engine.now - arrivals[i] + prefill[i]
        engine.after(prefill[i] + decode[i], done, i)

    def arrive(i: int) -> None:
        if i + 1 < len(arrivals):
            engine.at(arrivals[i + 1], arrive, i + 1)
        if free[0] > 0:
            begin(i)
        else:
            waiting.append(i)

    def done(i: int) -> None:
        latency[i] = engine.now - arrivals[i]
        free[0] += 1
        if waiting:
            begin(waiting.popleft())

    engine.at(arrivals[0], arrive, 0)
    t0 = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - t0
    span = float(engine.now - arrivals[0]) or 1.0
    slot_seconds = float((prefill + decode).sum())
    return {
        "requests": float(len(arrivals)),
        "replicas": float(n),
        "accelerators": float(n * model.accelerators_per_replica),
        "slo_ttft_s": model.slo_ttft_s,
        "slo_attainment": float(np.mean(ttft <= model.slo_ttft_s)),
        "ttft_p50_s": float(np.nanquantile(ttft, 0.5)),
        "ttft_p99_s": float(np.nanquantile(ttft, 0.99)),
        "latency_p50_s": float(np.nanquantile(latency, 0.5)),
        "latency_p99_s": float(np.nanquantile(latency, 0.99)),
        "slot_utilization": slot_seconds / (n * model.batch * span),
        "accelerator_seconds": slot_seconds / model.batch * model.accelerators_per_replica,
        "events": float(engine.processed),
        "wall_seconds": wall,
    }
