"""The compiled core runs the closed model exactly as the Python core does."""

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


def test_compiled_core_refuses_what_it_does_not_model():
    from gigawatt.errors import SimulationError
    from gigawatt.sim import NodeFailure
    df = pd.DataFrame([{"name": "j", "arrival_s": 0.0, "accelerators": 1.0, "work_s": 10.0, "allowed": "",
                        "kind": "training"}])
    with pytest.raises(SimulationError, match="compiled core .* does not apply"):
        simulate(fleet(), df, "fifo", gantt_jobs=0, core="compiled", node_failures=[NodeFailure("pa", 0, 1.0)])
    with pytest.raises(SimulationError, match="compiled core .* does not apply"):
        simulate(fleet(), df, "cost-aware", gantt_jobs=0, core="compiled")
    with pytest.raises(SimulationError, match="compiled core .* does not apply"):
        simulate(fleet(), df, "fifo", gantt_jobs=0, core="compiled", record=True)
    eight = Fleet([Pool(id="h", site="s", provider="p", accelerator="nvidia_h100_sxm", capacity=16)])
    with pytest.raises(SimulationError, match="one-accelerator nodes"):
        simulate(eight, df, "fifo", gantt_jobs=0, core="compiled")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), st.integers(0, 50), st.sampled_from([0, 2]), st.sampled_from([0.0, 20.0]),
       st.sampled_from([1.0, 0.25]))
def test_identical_to_python_core_with_failures(df, seed, spares, write_s, stall_share):
    fail = FailureModel(rate_per_accelerator_hour=0.02, repair_hours=0.5, restart_minutes=2, checkpoint_minutes=5,
                        checkpoint_write_s=write_s, checkpoint_stall_share=stall_share)

    def run(core: str):
        f = fleet()
        for pool in f.pools:
            pool.spares = spares
        return simulate(f, df, "fifo", gantt_jobs=0, core=core, failures=fail, seed=seed)

    py, c = run("python"), run("compiled")
    assert c.notes[0] == "compiled core"
    for col in ("first_start", "finish", "allocated_s", "lost_s", "restart_s", "checkpoint_s", "interruptions"):
        assert np.allclose(py.jobs[col], c.jobs[col], equal_nan=True, rtol=1e-9, atol=1e-6), col
    assert (c.events, c.failures) == (py.events, py.failures)
    assert c.ettr == pytest.approx(py.ettr, rel=1e-9)


def test_llama3_on_the_compiled_core_matches_the_python_core():
    fleet16k = Fleet([Pool(id="h100", site="m", provider="m", accelerator="h100", capacity=16_384 + 64)])
    job = pd.DataFrame([{"name": "run", "arrival_s": 0.0, "accelerators": 16_384.0, "work_s": 108 * 86400.0,
                         "allowed": "", "kind": "training"}])
    runs = [simulate(fleet16k, job, "fifo", failures=FailureModel.from_catalog(), until_s=54 * 86400.0,
                     gantt_jobs=0, core=core, seed=7) for core in ("compiled", "python")]
    assert runs[0].interruptions == runs[1].interruptions and abs(runs[0].interruptions - 419) <= 63
    assert runs[0].ettr == pytest.approx(runs[1].ettr, rel=1e-9) and 0.90 <= runs[0].ettr < 1.0


def test_compiled_core_draws_the_same_gantt_and_reports_progress():
    from gigawatt.sim.workload import synthetic_jobs
    df = synthetic_jobs(3000, seed=5, max_size=16, mean_interarrival_s=20, mean_work_s=600)
    fail = FailureModel(rate_per_accelerator_hour=0.02, repair_hours=0.5, restart_minutes=2, checkpoint_minutes=5)
    seen: list[tuple[float, float]] = []
    c = simulate(fleet(), df, "fifo", failures=fail, seed=1, gantt_jobs=10, core="compiled",
                 progress=lambda done, total: seen.append((done, total)))
    py = simulate(fleet(), df, "fifo", failures=fail, seed=1, gantt_jobs=10, core="python")
    assert c.notes[0] == "compiled core" and len(c.gantt) >= 10
    pd.testing.assert_frame_equal(c.gantt.reset_index(drop=True), py.gantt.reset_index(drop=True))
    assert c.events == py.events
    assert len(seen) >= 5 and all(0 <= d <= t for d, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
