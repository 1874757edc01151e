"""The compiled core runs the closed FIFO model exactly as the Python core does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
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


def test_compiled_core_refuses_what_it_does_not_model():
    from gigawatt.errors import SimulationError
    df = pd.DataFrame([{"name": "j", "arrival_s": 0.0, "accelerators": 1.0, "work_s": 10.0, "allowed": "",
                        "kind": "training"}])
    fail = FailureModel(rate_per_accelerator_hour=0.02, repair_hours=0.5, restart_minutes=2, checkpoint_minutes=5)
    with pytest.raises(SimulationError, match="compiled core .* does not apply"):
        simulate(fleet(), df, "fifo", gantt_jobs=0, core="compiled", failures=fail)
    eight = Fleet([Pool(id="h", site="s", provider="p", accelerator="nvidia_h100_sxm", capacity=16)])
    with pytest.raises(SimulationError, match="one-accelerator nodes"):
        simulate(eight, df, "fifo", gantt_jobs=0, core="compiled")
