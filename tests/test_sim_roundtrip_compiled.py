"""The round trip gives the same answer on the compiled core as on the Python core, to the bit:
its pools have no node identity, so every quarter (training gangs, inference services, failures
with spares, outages, failover after a delay) runs compiled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_sim_roundtrip import SCENARIO

from gigawatt.periods import SECONDS_PER_QUARTER
from gigawatt.plan import plan as make_plan
from gigawatt.scenario.load import load_scenario
from gigawatt.sim.failures import FailureModel
from gigawatt.sim.from_scenario import failures_from_scenario
from gigawatt.sim.roundtrip import RoundTrip, round_trip
from gigawatt.sim.simulate import _compiled_core

pytestmark = pytest.mark.skipif(_compiled_core() is None, reason="compiled core not built (no C compiler or Cython)")


def assert_same(py: RoundTrip, c: RoundTrip) -> None:
    for name in ("runs", "inference", "periods", "capacity"):
        pd.testing.assert_frame_equal(getattr(py, name), getattr(c, name), check_exact=True, obj=name)
    drop = ("wall_seconds",)
    assert {k: v for k, v in py.summary.items() if k not in drop} == \
        {k: v for k, v in c.summary.items() if k not in drop}
    assert py.notes == c.notes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_hand_round_trip_with_failures_and_an_outage(tmp_path, seed):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    s = load_scenario(path)
    p = make_plan(s)
    failing = FailureModel.from_catalog(rate_per_accelerator_hour=1e-4, checkpoint_write_s=30.0,
                                        checkpoint_stall_share=0.5)
    py, c = (round_trip(s, p, failing, seed=seed, core=core) for core in ("python", "compiled"))
    assert_same(py, c)
    assert py.summary["failures"] > 0 and py.runs["interruptions"].iloc[0] > 1


def test_openai_2025_first_quarters_with_inference_and_spares():
    s = load_scenario(Path(__file__).parents[1] / "examples" / "openai-2025.yaml")
    p = make_plan(s)
    runs = [round_trip(s, p, failures_from_scenario(s), seed=4, until_s=6 * SECONDS_PER_QUARTER, core=core)
            for core in ("python", "compiled")]
    assert_same(*runs)
    assert not runs[0].inference.empty and runs[0].summary["failures"] > 1000


def test_the_failover_round_trip(tmp_path):
    from test_sim_roundtrip_failover import NO_RANDOM_FAILURES, PROVIDER
    from test_sim_roundtrip_failover import SCENARIO as FAILOVER

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(FAILOVER))
    host = str(make_plan(load_scenario(path)).tables["hosts"]["location"].iloc[0])
    data = {**FAILOVER, "operations": {"outages": [{"target": PROVIDER[host], "start_hours": 500.25,
                                                    "duration_hours": 100}]}}
    path.write_text(yaml.safe_dump(data))
    s = load_scenario(path)
    p = make_plan(s)
    for fail in (NO_RANDOM_FAILURES, FailureModel.from_catalog(rate_per_accelerator_hour=1e-4)):
        py, c = (round_trip(s, p, fail, seed=1, core=core, failover_after_s=6 * 3600, transfer_s=3600)
                 for core in ("python", "compiled"))
        assert_same(py, c)
        assert py.runs["failovers"].iloc[0] >= 1
