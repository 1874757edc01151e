"""Which core runs: without the compiled extension everything still runs on the Python core."""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

from gigawatt.errors import SimulationError
from gigawatt.sim import FailureModel, Fleet, Outage, Pool, simulate

JOBS = pd.DataFrame([{"name": "run", "arrival_s": 0.0, "accelerators": 8.0, "work_s": 1000.0, "allowed": "",
                      "kind": "training"}])
simulate_module = importlib.import_module("gigawatt.sim.simulate")   # the module, not the function
CKPT = FailureModel(rate_per_accelerator_hour=0.0, repair_hours=1.0, restart_minutes=1.0, checkpoint_minutes=5.0)


def fleet() -> Fleet:
    return Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=8)])


def test_without_the_extension_auto_runs_the_python_core(monkeypatch):
    monkeypatch.setattr(simulate_module, "_compiled_core", lambda: None)
    r = simulate(fleet(), JOBS, "easy-backfill", failures=CKPT, outages=[Outage("pa", 700.0, 300.0)])
    assert "compiled core" not in r.notes
    # kept 600 s at the checkpoint of t=600, back at 1,000: 60 s restart and 400 s of work
    assert (r.jobs["first_start"].iloc[0], r.jobs["finish"].iloc[0]) == (0.0, 1460.0)
    with pytest.raises(SimulationError, match="compiled core is unavailable"):
        simulate(fleet(), JOBS, "fifo", core="compiled")
