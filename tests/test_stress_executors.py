"""A sample's result is the same on every executor; a killed run resumes to the same table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from stress_helpers import stress_plan, stress_scenario, write_case

from gigawatt.stress import stress
from gigawatt.stress.executors import ProcessExecutor, RayExecutor


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=False,
                                  rtol=1e-9, atol=1e-6)


@pytest.fixture(scope="module")
def serial_run():
    return stress(stress_scenario(), stress_plan(), samples=12, seed=4, batch_size=3, with_tornado=False)


def test_processes_give_the_serial_table(serial_run) -> None:
    got = stress(stress_scenario(), stress_plan(), samples=12, seed=4, batch_size=3, with_tornado=False,
                 executor=ProcessExecutor(workers=2))
    _same(serial_run.table, got.table)


def test_batch_size_does_not_change_results(serial_run) -> None:
    got = stress(stress_scenario(), stress_plan(), samples=12, seed=4, batch_size=5, with_tornado=False)
    _same(serial_run.table, got.table)


def test_ray_gives_the_serial_table(serial_run) -> None:
    pytest.importorskip("ray")
    got = stress(stress_scenario(), stress_plan(), samples=12, seed=4, batch_size=3, with_tornado=False,
                 executor=RayExecutor(workers=1, init_kwargs={"num_cpus": 1}))
    import ray

    assert not ray.is_initialized()      # the executor shut down the Ray it started
    _same(serial_run.table, got.table)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gigawatt", "stress", *args]


def test_killed_run_resumes_to_the_uninterrupted_table(tmp_path: Path) -> None:
    scenario_file, plan_dir = write_case(tmp_path)
    common = [str(scenario_file), "--plan", str(plan_dir), "--samples", "30", "--seed", "9", "--json"]
    full = tmp_path / "full"
    done = subprocess.run(_cli(*common, "--out", str(full)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    cut = tmp_path / "cut"
    proc = subprocess.Popen(_cli(*common, "--out", str(cut)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = cut / "parts"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(parts.glob("batch-*.parquet"))) < 2 and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list(parts.glob("batch-*.parquet")))
    assert 0 < kept < 8, "the kill should land mid-run"   # 30 samples in batches of 4 = 8 parts
    assert not (cut / "samples.parquet").exists()

    again = subprocess.run(_cli(*common, "--out", str(cut), "--resume"), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    import json

    assert json.loads(again.stdout)["metadata"]["resumed_batches"] == kept
    _same(pd.read_parquet(full / "samples.parquet"), pd.read_parquet(cut / "samples.parquet"))
