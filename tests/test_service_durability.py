"""kill -9 the server and its workers mid-run, start again: every accepted run ends
succeeded (re-queued after its lease lapsed) or failed with the reason; none lost or doubled.

Runs the real `gigawatt serve` and `gigawatt token create` commands on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from service_support import ENV, GIGAWATT, Server  # noqa: E402


def _group_gone(pgid: int, wait_s: float = 10) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:     # killed processes linger as zombies until reaped
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


# long enough to catch two workers inside a plan (examples/minimal.yaml plans in ~0.5 s: all
# five could finish between two polls)
OPENAI_YAML = (Path(__file__).resolve().parents[1] / "examples" / "openai-2025.yaml").read_text()


def _running_in(db_url: str, ids: list[str]) -> set[str]:
    from sqlalchemy import select

    from gigawatt.service.store.db import Store
    from gigawatt.service.store.models import Run

    store = Store(db_url)
    try:
        with store.read() as session:
            return set(session.scalars(select(Run.id).where(Run.id.in_(ids), Run.status == "running")))
    finally:
        store.dispose()


def test_kill_minus_nine_mid_run_then_restart(db_url: str, tmp_path: Path) -> None:
    token = subprocess.run([*GIGAWATT, "token", "create", "--workspace", "acme", "--role", "editor",
                            "--db", db_url], env=ENV, capture_output=True, text=True, check=True).stdout.strip()
    assert token.startswith("gw_")
    server = Server(db_url, tmp_path / "serve.log")
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert client.post("/api/v1/scenarios", json={"name": "openai", "yaml": OPENAI_YAML}).status_code == 201
    ids = [client.post("/api/v1/runs", json={"kind": "plan", "scenario": "openai"},
                       headers={"Idempotency-Key": f"k{i}"}).json()["id"] for i in range(5)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:        # wait until both workers are inside a plan
        runs = [client.get(f"/api/v1/runs/{i}").json() for i in ids]
        if sum(r["status"] == "running" and r["progress"] > 0 for r in runs) == 2:
            break
        time.sleep(0.1)
    assert sum(r["status"] == "running" for r in runs) == 2, [r["status"] for r in runs]
    client.close()
    server.kill()
    assert _group_gone(server.proc.pid)
    # the runs the kill interrupted, as the database holds them: one seen running a moment
    # before may have finished before the kill landed
    running = _running_in(db_url, ids)
    assert running, "the kill interrupted no run"

    server = Server(db_url, tmp_path / "serve.log")
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    # A retried POST after the crash still finds its run, not a new one.
    assert client.post("/api/v1/runs", json={"kind": "plan", "scenario": "openai"},
                       headers={"Idempotency-Key": "k0"}).json()["id"] == ids[0]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        runs = [client.get(f"/api/v1/runs/{i}").json() for i in ids]
        if all(r["status"] in ("succeeded", "failed", "cancelled") for r in runs):
            break
        time.sleep(0.5)
    listed = client.get("/api/v1/runs", params={"limit": 100}).json()["items"]
    npvs = {client.get(f"/api/v1/runs/{i}/result").json()["summary"]["npv_usd"] for i in ids}
    logs = {i: [x["line"] for x in client.get(f"/api/v1/runs/{i}/log").json()["lines"]] for i in running}
    client.close()
    server.stop()

    assert sorted(r["id"] for r in listed) == sorted(ids)          # none lost, none doubled
    assert [r["status"] for r in runs] == ["succeeded"] * 5
    assert len(npvs) == 1                                           # every result whole and the same
    for r in runs:
        assert r["attempts"] == (2 if r["id"] in running else 1), r
    for lines in logs.values():
        assert any("stopped renewing its lease (attempt 1); re-queued" in line for line in lines), lines
        assert lines[-1] == "succeeded"


def test_a_killed_worker_is_replaced_and_its_run_requeued(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'one.db'}"
    token = subprocess.run([*GIGAWATT, "token", "create", "--workspace", "acme", "--role", "editor",
                            "--db", db_url], env=ENV, capture_output=True, text=True, check=True).stdout.strip()
    server = Server(db_url, tmp_path / "serve.log", workers=1)
    try:
        client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        # a plan of several seconds: a faster one could finish between the poll and the kill
        client.post("/api/v1/scenarios", json={"name": "openai", "yaml": OPENAI_YAML})
        run_id = client.post("/api/v1/runs", json={"kind": "plan", "scenario": "openai"}).json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/v1/runs/{run_id}").json()["progress"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        claimed = next(x["line"] for x in client.get(f"/api/v1/runs/{run_id}/log").json()["lines"]
                       if "claimed by worker" in x["line"])
        os.kill(int(claimed.rsplit(":", 2)[1]), signal.SIGKILL)     # worker names are host:pid:tag
        deadline = time.monotonic() + 90
        while (run := client.get(f"/api/v1/runs/{run_id}").json())["status"] not in ("succeeded", "failed") \
                and time.monotonic() < deadline:
            time.sleep(0.3)
        client.close()
    finally:
        server.stop()
    assert (run["status"], run["attempts"]) == ("succeeded", 2)
