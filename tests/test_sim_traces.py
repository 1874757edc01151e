"""Replaying the two real public traces end to end (read from ../shared, never copied)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import need_traces

from gigawatt.errors import TraceError
from gigawatt.sim import simulate
from gigawatt.sim.fleet import fleet_from_openb_nodes
from gigawatt.sim.inference import ServiceModel, simulate_service
from gigawatt.sim.traces import TRACE_FORMATS, load_trace


def test_openb_replay_matches_trace_utilisation_and_bounds_delay():
    root = need_traces("alibaba-openb-2023")
    fmt, jobs = load_trace(root / "openb_pod_list_default.csv")
    assert fmt.name == "alibaba-openb"
    fleet = fleet_from_openb_nodes(root / "openb_node_list_gpu_node.csv")
    assert fleet.capacity == 6212
    r = simulate(fleet, jobs, "fifo")
    assert r.jobs_completed == len(jobs)
    # allocated GPU-hours equal the trace's own (each task holds its GPUs for its recorded run time)
    recorded = float((jobs["accelerators"] * jobs["work_s"]).sum()) / 3600
    assert r.allocated_accelerator_hours == pytest.approx(recorded, rel=1e-9)
    replay_delay = (r.jobs["first_start"] - r.jobs["arrival"]).to_numpy()
    # a pooled model has no node fragmentation, so it never waits longer than the trace did on average
    assert np.nanmean(replay_delay) <= jobs["recorded_delay_s"].mean()


def test_azure_llm_requests_drive_a_service():
    root = need_traces("azure-llm-2023")
    fmt, req = load_trace(root / "AzureLLMInferenceTrace_conv.csv")
    assert fmt.name == "azure-llm" and len(req) == 19_366
    assert req["arrival_s"].max() == pytest.approx(3600, rel=0.05)
    out = simulate_service(req, ServiceModel(accelerator="nvidia_h100_sxm"))
    assert 0 <= out["slo_attainment"] <= 1 and out["requests"] == 19_366
    tight = simulate_service(req, ServiceModel(accelerator="nvidia_h100_sxm", batch=1), replicas=1)
    assert tight["slo_attainment"] < out["slo_attainment"]    # one slot cannot keep up


def test_bad_trace_rows_are_named(tmp_path):
    bad = tmp_path / "jobs.csv"
    pd.DataFrame([{"name": "a", "arrival_s": 0, "accelerators": 1, "work_s": 5, "allowed": "", "kind": "batch"},
                  {"name": "b", "arrival_s": "soon", "accelerators": 1, "work_s": 5, "allowed": "", "kind": "batch"}]
                 ).to_csv(bad, index=False)
    with pytest.raises(TraceError, match=r"line 3 \(b\): arrival_s = 'soon'"):
        load_trace(bad)
    unknown = tmp_path / "x.csv"
    unknown.write_text("foo,bar\n1,2\n")
    with pytest.raises(TraceError, match="unknown trace format"):
        load_trace(unknown)


def test_registry_has_the_formats():
    assert {"gigawatt-jobs", "alibaba-openb", "azure-llm"} <= set(TRACE_FORMATS)


def test_cli_simulate_json(examples):
    r = subprocess.run([sys.executable, "-m", "gigawatt", "simulate", str(examples / "minimal.yaml"), "--json",
                        "--until", "400d", "--seed", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("utilization", "goodput", "jobs_completed", "work_lost_accelerator_hours", "slo_attainment"):
        assert key in data
    bad = subprocess.run([sys.executable, "-m", "gigawatt", "simulate", str(examples / "minimal.yaml"),
                          "--policy", "nope"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown policy 'nope'" in bad.stderr and "Traceback" not in bad.stderr
