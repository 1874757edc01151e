"""`gigawatt --server URL plan|simulate`: the same commands executed by a real server give the
same answers as running them here, and a bad scenario fails with the same one-line error."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("httpx")

from service_support import ENV, GIGAWATT, Server  # noqa: E402

from gigawatt.plan.result import Plan  # noqa: E402


@pytest.fixture(scope="module")
def remote(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("remote")
    db = f"sqlite:///{tmp / 'remote.db'}"
    token = subprocess.run([*GIGAWATT, "token", "create", "--workspace", "cli", "--role", "editor", "--db", db],
                           env=ENV, capture_output=True, text=True, check=True).stdout.strip()
    server = Server(db, tmp / "serve.log", workers=1)
    yield {**os.environ, "GIGAWATT_SERVER": server.url, "GIGAWATT_TOKEN": token}
    server.stop()


def gigawatt(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIGAWATT, *args], env=env or dict(os.environ), capture_output=True, text=True,
                          timeout=300)


def test_remote_plan_equals_the_local_plan(remote, examples, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    there = gigawatt("plan", str(examples / "minimal.yaml"), "--json", "--out", str(tmp_path / "remote"),
                     env=remote)
    assert there.returncode == 0, there.stderr
    here = gigawatt("plan", str(examples / "minimal.yaml"), "--json", "--out", str(tmp_path / "local"))
    assert here.returncode == 0, here.stderr
    a, b = json.loads(there.stdout), json.loads(here.stdout)
    assert a["npv_usd"] == pytest.approx(b["npv_usd"], rel=1e-9)
    assert a["status"] == b["status"] and a["binding"] == b["binding"]
    assert a["outputs"]["run"].startswith(remote["GIGAWATT_SERVER"] + "/api/v1/runs/")
    saved, local = Plan.load(tmp_path / "remote"), Plan.load(tmp_path / "local")
    for name in ("capacity", "spend", "finance"):
        pd.testing.assert_frame_equal(saved.tables[name], local.tables[name], check_exact=False, rtol=1e-9)


def test_remote_simulate_equals_the_local_one(remote, examples) -> None:  # type: ignore[no-untyped-def]
    args = ("simulate", str(examples / "minimal.yaml"), "--seed", "5", "--until", "90d", "--json")
    there, here = gigawatt(*args, env=remote), gigawatt(*args)
    assert there.returncode == 0 and here.returncode == 0, there.stderr + here.stderr
    a, b = json.loads(there.stdout), json.loads(here.stdout)
    for key in ("utilization", "goodput", "jobs_completed", "failures", "events", "cost_usd"):
        assert a[key] == pytest.approx(b[key], rel=1e-12), key


def test_a_bad_scenario_fails_remotely_with_the_local_message(remote, examples, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text((examples / "minimal.yaml").read_text().replace("pue: 1.15", "pue: 0.5"))
    there = gigawatt("plan", str(bad), env=remote)
    here = gigawatt("validate", str(bad))
    assert there.returncode == here.returncode == 2
    assert there.stderr.strip() == here.stderr.strip()
    assert there.stderr.strip() == f"error: {bad}:20: sites[0].pue: must be at least 1 (got 0.5)"


def test_local_only_options_and_a_missing_token_are_clear_errors(remote, examples) -> None:  # type: ignore[no-untyped-def]
    trace = gigawatt("simulate", str(examples / "minimal.yaml"), "--trace", "x.csv", env=remote)
    assert trace.returncode == 2 and "--trace is not available with --server" in trace.stderr
    no_token = {**remote, "GIGAWATT_TOKEN": ""}
    r = gigawatt("plan", str(examples / "minimal.yaml"), env=no_token)
    assert r.returncode == 2 and "--server needs a token" in r.stderr
