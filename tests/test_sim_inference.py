"""Inference shares a replica's compute (continuous batching): exact small cases, bounds, overload."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import need_traces

from gigawatt.sim.inference import ServiceModel, replicas_for_slo, simulate_service
from gigawatt.sim.traces import load_trace

MODEL = ServiceModel(accelerator="nvidia_h100_sxm", batch=4)


def requests(*rows: tuple[float, float, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["arrival_s", "prompt_tokens", "output_tokens"])


def test_rates_come_from_the_catalog():
    tokens_per_s, steps_per_s = MODEL.rates()
    # 8 x 989 TFLOPS x 0.5 MFU / (2 x 70e9) ; 8 x 3.35 TB/s x 0.7 / (70e9 x 2 bytes)
    assert tokens_per_s == pytest.approx(8 * 989e12 * 0.5 / 140e9, rel=1e-12)
    assert steps_per_s == pytest.approx(8 * 3.35e12 * 0.7 / 140e9, rel=1e-12)


def test_concurrent_prefills_share_the_compute():
    tokens_per_s, steps_per_s = MODEL.rates()
    alone = simulate_service(requests((0.0, 10_000, 0)), MODEL, replicas=1)
    assert alone["ttft_p50_s"] == pytest.approx(10_000 / tokens_per_s, rel=1e-9)
    two = simulate_service(requests((0.0, 10_000, 0), (0.0, 10_000, 0)), MODEL, replicas=1)
    assert two["ttft_p50_s"] == pytest.approx(20_000 / tokens_per_s, rel=1e-9)       # each at half the rate


def test_decode_is_bound_by_bandwidth_alone_and_shares_steps_in_a_batch():
    tokens_per_s, steps_per_s = MODEL.rates()
    one = simulate_service(requests((0.0, 0, 100)), MODEL, replicas=1)
    assert one["latency_p50_s"] == pytest.approx(100 / steps_per_s, rel=1e-9)        # one token per step
    four = simulate_service(requests(*[(0.0, 0, 100)] * 4), MODEL, replicas=1)
    # four sequences decode in the same steps: as fast as one while compute is not the bound
    assert four["latency_p50_s"] == pytest.approx(100 / min(steps_per_s, tokens_per_s / 4), rel=1e-9)
    # a fifth waits for a slot (batch 4) and then decodes alone
    five = simulate_service(requests(*[(0.0, 0, 100)] * 5), MODEL, replicas=1)
    a = 100 / steps_per_s
    assert five["latency_p99_s"] == pytest.approx(float(np.quantile([a, a, a, a, 2 * a], 0.99)), rel=1e-9)


def azure(n: int = 3000) -> pd.DataFrame:
    root = need_traces("azure-llm-2023")
    return load_trace(root / "AzureLLMInferenceTrace_conv.csv")[1].iloc[:n].reset_index(drop=True)


def faster(req: pd.DataFrame, k: float) -> pd.DataFrame:
    out = req.copy()
    out["arrival_s"] = out["arrival_s"] / k
    return out


def test_overload_collapses_the_slo_and_throughput_stays_within_the_hardware():
    model = ServiceModel(accelerator="nvidia_h100_sxm")
    req = azure()
    n = replicas_for_slo(req, model)
    base = simulate_service(req, model, replicas=n)
    over = simulate_service(faster(req, 20), model, replicas=n)
    assert base["slo_attainment"] >= 0.9 and over["slo_attainment"] < 0.5
    tokens_per_s, steps_per_s = model.rates()
    for out in (base, over):
        assert out["tokens_per_s_per_replica"] <= tokens_per_s * (1 + 1e-9)
        assert out["decode_tokens_per_s_per_replica"] <= model.batch * steps_per_s * (1 + 1e-9)
    assert over["compute_utilization"] > base["compute_utilization"]


def test_replicas_to_meet_the_slo_grow_with_the_request_rate():
    model = ServiceModel(accelerator="nvidia_h100_sxm")
    req = azure(2000)
    needed = [replicas_for_slo(faster(req, k), model) for k in (1, 5, 20)]
    assert needed[0] < needed[1] < needed[2]
