"""The compiled core runs the closed FIFO model exactly as the Python core does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sim_invariants import workloads

from gigawatt.sim import FailureModel, Fleet, Pool, simulate
from gigawatt.sim.simulate import _compiled_core

pytestmark = pytest.mark.skipif(_compiled_core() is None, reason="compiled core not built (no C compiler or Cython)")


def fleet() -> Fleet:
    return Fleet([Pool(id="pa", site="s", provider="p", accelerator="a", capacity=16),
                  Pool(id="pb", site="s", provider="p", accelerator="b", capacity=24, speed=2.0)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_identical_to_python_core_without_failures(df):
    py = simulate(fleet(), df, "fifo", gantt_jobs=0, core="python")
    c = simulate(fleet(), df, "fifo", gantt_jobs=0, core="compiled")
    assert c.notes == ["compiled core"]
    for col in ("first_start", "finish", "allocated_s"):
        assert np.allclose(py.jobs[col], c.jobs[col], equal_nan=True), col
    assert c.events == py.events
    assert c.utilization == pytest.approx(py.utilization)
    assert np.allclose(py.timeline["busy_accelerators"], c.timeline["busy_accelerators"])


@settings(max_examples=30, deadline=None)
@given(workloads(), st.integers(0, 50))
def test_compiled_with_failures_keeps_the_books(df, seed):
    fail = FailureModel(rate_per_accelerator_hour=0.02, repair_hours=0.5, restart_minutes=2, checkpoint_minutes=5)
    a = simulate(fleet(), df, "fifo", gantt_jobs=0, core="compiled", failures=fail, seed=seed)
    b = simulate(fleet(), df, "fifo", gantt_jobs=0, core="compiled", failures=fail, seed=seed)
    assert a.jobs.equals(b.jobs) and a.events == b.events            # same seed, same run
    j = a.jobs
    useful = j["allocated_s"] - j["lost_s"] - j["restart_s"]
    sped = df.set_index("name").loc[j["name"]]
    assert (useful >= -1e-6).all()
    assert np.isfinite(j["finish"]).all()                              # everything finishes
    assert (j["lost_s"] <= j["interruptions"] * 300 * j["size"] + 1e-6).all()
    assert len(sped) == len(j)


def test_llama3_on_the_compiled_core():
    fleet16k = Fleet([Pool(id="h100", site="m", provider="m", accelerator="h100", capacity=16_384 + 64)])
    job = pd.DataFrame([{"name": "run", "arrival_s": 0.0, "accelerators": 16_384.0, "work_s": 108 * 86400.0,
                         "allowed": "", "kind": "training"}])
    r = simulate(fleet16k, job, "fifo", failures=FailureModel.from_catalog(), until_s=54 * 86400.0,
                 gantt_jobs=0, core="compiled")
    assert abs(r.interruptions - 419) <= 63 and 0.90 <= r.ettr < 1.0
