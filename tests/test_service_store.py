"""The store on real databases (SQLite file and a PostgreSQL server): migrations, the queue's
claims under concurrency, leases, bounded re-queues, idempotency, atomic finishes."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

pytest.importorskip("sqlalchemy")

from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from gigawatt.service.auth import create_token  # noqa: E402
from gigawatt.service.store import Store, queue  # noqa: E402
from gigawatt.service.store.migrate import head, upgrade  # noqa: E402
from gigawatt.service.store.models import Artifact, Base, Run, RunLog, Scenario  # noqa: E402


@pytest.fixture
def store(db_url: str):  # type: ignore[no-untyped-def]
    s = Store(db_url)
    upgrade(s)
    yield s
    s.dispose()


def workspace_with_scenario(store: Store, name: str = "acme") -> tuple[str, str]:
    token, _ = create_token(store, name, "editor")
    scenario_id = uuid.uuid4().hex
    with store.write() as session:
        session.add(Scenario(id=scenario_id, workspace_id=token.workspace_id, name="s", version=1,
                             yaml="name: s", sha256="0" * 64, created_at=time.time()))
    return token.workspace_id, scenario_id


def enqueue(store: Store, ws: str, scenario: str, key: str | None = None) -> str:
    run, _ = queue.enqueue(store, workspace_id=ws, scenario_id=scenario, kind="plan", options={},
                           request_sha256="r", idempotency_key=key)
    return run.id


def test_migrations_reach_head_and_match_the_models(store: Store) -> None:
    assert upgrade(store) == head() == "0001"          # a second upgrade is a no-op
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_concurrent_workers_claim_each_run_exactly_once(store: Store, db_url: str) -> None:
    ws, scenario = workspace_with_scenario(store)
    ids = {enqueue(store, ws, scenario) for _ in range(60)}
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        own = Store(db_url)       # each worker its own engine and connections, as processes have
        try:
            while (c := queue.claim(own, f"w{n}", lease_s=60)) is not None:
                with lock:
                    claimed.append(c.run_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(claimed) == sorted(ids)        # none lost, none twice
    with store.read() as session:
        assert session.scalar(select(func.count()).where(Run.status == queue.RUNNING)) == 60
        assert session.scalar(select(func.max(Run.attempts))) == 1


def test_claims_go_oldest_first(store: Store) -> None:
    ws, scenario = workspace_with_scenario(store)
    first, second = enqueue(store, ws, scenario), enqueue(store, ws, scenario)
    assert queue.claim(store, "w", 60).run_id == first  # type: ignore[union-attr]
    assert queue.claim(store, "w", 60).run_id == second  # type: ignore[union-attr]
    assert queue.claim(store, "w", 60) is None


def test_a_lost_lease_is_requeued_then_failed_after_the_last_attempt(store: Store) -> None:
    ws, scenario = workspace_with_scenario(store)
    run_id = enqueue(store, ws, scenario)
    for attempt in (1, 2):
        c = queue.claim(store, f"dead-{attempt}", lease_s=0.01)
        assert c is not None and c.attempt == attempt
        time.sleep(0.02)
        assert queue.requeue_lost(store, max_attempts=2) == [run_id]
    with store.read() as session:
        run = session.get_one(Run, run_id)
        lines = session.scalars(select(RunLog.line).where(RunLog.run_id == run_id).order_by(RunLog.id)).all()
    assert (run.status, run.attempts) == (queue.FAILED, 2)
    assert run.error == "worker dead-2 stopped renewing its lease (attempt 2); gave up after 2 attempts"
    assert "worker dead-1 stopped renewing its lease (attempt 1); re-queued" in lines
    assert queue.claim(store, "w", 60) is None


def test_a_worker_that_lost_its_lease_cannot_write_results(store: Store) -> None:
    ws, scenario = workspace_with_scenario(store)
    run_id = enqueue(store, ws, scenario)
    stale = queue.claim(store, "stale", lease_s=0.01)
    assert stale is not None
    time.sleep(0.02)
    queue.requeue_lost(store, max_attempts=3)
    fresh = queue.claim(store, "fresh", lease_s=60)
    assert fresh is not None and fresh.run_id == run_id and fresh.attempt == 2
    assert queue.heartbeat(store, stale, 60) is None
    assert not queue.finish(store, stale, queue.SUCCEEDED, artifacts={"plan/x": b"stale"})
    assert queue.finish(store, fresh, queue.SUCCEEDED, artifacts={"plan/x": b"fresh"}, version="9")
    with store.read() as session:
        assert session.scalars(select(Artifact.data).where(Artifact.run_id == run_id)).all() == [b"fresh"]
        run = session.get_one(Run, run_id)
    assert (run.status, run.progress, run.gigawatt_version, run.worker) == (queue.SUCCEEDED, 1.0, "9", "fresh")


def test_a_failed_finish_stores_no_artifacts(store: Store) -> None:
    ws, scenario = workspace_with_scenario(store)
    run_id = enqueue(store, ws, scenario)
    c = queue.claim(store, "w", 60)
    assert c is not None
    with pytest.raises(Exception), store.write() as session:   # noqa: B017, PT011
        session.add(Artifact(run_id=run_id, name="half", data=b"x"))
        raise RuntimeError("crash mid-write")
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Artifact)) == 0
        assert session.get_one(Run, run_id).status == queue.RUNNING


def test_the_same_idempotency_key_makes_one_run_even_when_racing(store: Store, db_url: str) -> None:
    ws, scenario = workspace_with_scenario(store)
    got: list[str] = []

    def post() -> None:
        own = Store(db_url)
        got.append(enqueue(own, ws, scenario, key="retry-1"))
        own.dispose()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len(set(got)) == 1
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1


def test_cancel_stops_a_queued_run_at_once_and_flags_a_running_one(store: Store) -> None:
    ws, scenario = workspace_with_scenario(store)
    queued, running = enqueue(store, ws, scenario), enqueue(store, ws, scenario)
    c = queue.claim(store, "w", 60)
    assert c is not None and c.run_id == queued
    assert queue.cancel(store, ws, running).status == queue.CANCELLED  # type: ignore[union-attr]
    assert queue.heartbeat(store, c, 60) is False
    assert queue.cancel(store, ws, queued).cancel_requested is True  # type: ignore[union-attr]
    assert queue.heartbeat(store, c, 60) is True
    assert queue.cancel(store, "another-workspace", queued) is None
