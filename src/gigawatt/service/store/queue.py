"""The run queue in the database: enqueue, claim, heartbeat, finish, re-queue the lost.

Workers are separate processes that share nothing but the database. A claim takes a lease;
the worker renews it while the run executes. A run whose lease lapses (its worker died) is
re-queued, at most `max_attempts` claims in all, then failed with the reason.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gigawatt.service.errors import conflict
from gigawatt.service.store.db import Store
from gigawatt.service.store.models import Artifact, Run, RunLog, Scenario

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED})


def new_id() -> str:
    return uuid.uuid4().hex


def log(session: Session, run_id: str, line: str, at: float | None = None) -> None:
    session.add(RunLog(run_id=run_id, at=at or time.time(), line=line))


def enqueue(store: Store, *, workspace_id: str, scenario_id: str, kind: str, options: dict[str, Any],
            request_sha256: str, idempotency_key: str | None) -> tuple[Run, bool]:
    """A new queued run, or the one an earlier request with the same idempotency key made.

    Returns (run, created). The same key with a different request body is a conflict.
    """
    def existing(session: Session) -> Run | None:
        if idempotency_key is None:
            return None
        run = session.scalar(select(Run).where(Run.workspace_id == workspace_id,
                                               Run.idempotency_key == idempotency_key))
        if run is not None and run.request_sha256 != request_sha256:
            raise conflict("this Idempotency-Key was used for a different request; use a new key")
        return run

    try:
        with store.write() as session:
            found = existing(session)
            if found is not None:
                return found, False
            now = time.time()
            run = Run(id=new_id(), workspace_id=workspace_id, scenario_id=scenario_id, kind=kind,
                      options=options, status=QUEUED, progress=0.0, phase="queued", attempts=0,
                      cancel_requested=False, idempotency_key=idempotency_key,
                      request_sha256=request_sha256, created_at=now)
            session.add(run)
            session.flush()
            log(session, run.id, f"queued {kind}", now)
            return run, True
    except IntegrityError:
        # Another request with the same key committed between our check and our insert.
        with store.read() as session:
            found = existing(session)
        if found is None:
            raise
        return found, False


@dataclass(frozen=True)
class Claim:
    """What a worker needs to execute a run, and the lease that makes its writes count."""

    run_id: str
    worker: str
    attempt: int
    kind: str
    options: dict[str, Any]
    scenario_name: str
    scenario_version: int
    scenario_yaml: str


def claim(store: Store, worker: str, lease_s: float) -> Claim | None:
    """Take the oldest queued run, or None. Safe with any number of workers on either backend.

    PostgreSQL: the row is picked FOR UPDATE SKIP LOCKED, so workers never wait on each other.
    SQLite: the write transaction holds the database's single write lock (BEGIN IMMEDIATE),
    and the UPDATE re-checks status='queued', so one run goes to one worker.
    """
    now = time.time()
    oldest = (select(Run.id).where(Run.status == QUEUED).order_by(Run.created_at, Run.id).limit(1)
              .with_for_update(skip_locked=True).scalar_subquery())
    with store.write() as session:
        run_id = session.execute(
            update(Run).where(Run.id == oldest, Run.status == QUEUED)
            .values(status=RUNNING, worker=worker, attempts=Run.attempts + 1, lease_until=now + lease_s,
                    started_at=now, progress=0.0, phase="starting")
            .returning(Run.id),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if run_id is None:
            return None
        run, scenario = session.execute(
            select(Run, Scenario).join(Scenario, Scenario.id == Run.scenario_id).where(Run.id == run_id)
        ).one()
        log(session, run_id, f"attempt {run.attempts}: claimed by worker {worker}", now)
        return Claim(run_id=run.id, worker=worker, attempt=run.attempts, kind=run.kind,
                     options=dict(run.options), scenario_name=scenario.name,
                     scenario_version=scenario.version, scenario_yaml=scenario.yaml)


def _ours(c: Claim) -> Any:
    return (Run.id == c.run_id) & (Run.worker == c.worker) & (Run.attempts == c.attempt) & \
        (Run.status == RUNNING)


def heartbeat(store: Store, c: Claim, lease_s: float, progress: float | None = None,
              phase: str | None = None, lines: list[tuple[float, str]] | None = None) -> bool | None:
    """Renew the lease and record progress. Returns whether a cancel was asked for,
    or None when the run is no longer this worker's (its lease lapsed and it was re-queued)."""
    values: dict[str, Any] = {"lease_until": time.time() + lease_s}
    if progress is not None:
        values["progress"] = progress
    if phase is not None:
        values["phase"] = phase[:200]
    with store.write() as session:
        cancel = session.execute(update(Run).where(_ours(c)).values(**values).returning(Run.cancel_requested),
                                 execution_options={"synchronize_session": False}).scalar_one_or_none()
        if cancel is None:
            return None
        for at, line in lines or []:
            log(session, c.run_id, line, at)
        return bool(cancel)


def finish(store: Store, c: Claim, status: str, *, artifacts: dict[str, bytes] | None = None,
           error: str | None = None, version: str | None = None,
           lines: list[tuple[float, str]] | None = None) -> bool:
    """Mark the run finished and store its results in one transaction: all of it or none.

    False when the lease was lost meanwhile: the run belongs to someone else and nothing is written.
    """
    now = time.time()
    values: dict[str, Any] = {"status": status, "finished_at": now, "lease_until": None, "error": error,
                              "phase": status}
    if status == SUCCEEDED:
        values["progress"] = 1.0
    if version is not None:
        values["gigawatt_version"] = version
    with store.write() as session:
        done = session.execute(update(Run).where(_ours(c)).values(**values).returning(Run.id),
                               execution_options={"synchronize_session": False}).scalar_one_or_none()
        if done is None:
            return False
        for at, line in lines or []:
            log(session, c.run_id, line, at)
        for name, data in (artifacts or {}).items():
            session.add(Artifact(run_id=c.run_id, name=name, data=data))
        log(session, c.run_id, status + (f": {error}" if error else ""), now)
        return True


def requeue_lost(store: Store, max_attempts: int) -> list[str]:
    """Runs whose worker stopped renewing its lease: back to the queue, or failed after
    `max_attempts` claims, or cancelled if a cancel was pending. Returns the ids touched."""
    now = time.time()
    with store.write() as session:
        lost = session.scalars(
            select(Run).where(Run.status == RUNNING, Run.lease_until < now).with_for_update(skip_locked=True)
        ).all()
        for run in lost:
            reason = f"worker {run.worker} stopped renewing its lease (attempt {run.attempts})"
            if run.cancel_requested:
                run.status, run.finished_at, run.phase = CANCELLED, now, CANCELLED
                log(session, run.id, f"{reason}; cancelled as asked", now)
            elif run.attempts >= max_attempts:
                run.status, run.finished_at, run.phase = FAILED, now, FAILED
                run.error = f"{reason}; gave up after {run.attempts} attempts"
                log(session, run.id, f"failed: {run.error}", now)
            else:
                run.status, run.phase, run.progress = QUEUED, "re-queued", 0.0
                log(session, run.id, f"{reason}; re-queued", now)
            run.worker, run.lease_until = None, None
        return [r.id for r in lost]


def cancel(store: Store, workspace_id: str, run_id: str) -> Run | None:
    """A queued run is cancelled at once; a running one is asked to stop (its worker kills it)."""
    now = time.time()
    with store.write() as session:
        run = session.scalar(select(Run).where(Run.id == run_id, Run.workspace_id == workspace_id)
                             .with_for_update())
        if run is None:
            return None
        if run.status in FINISHED:
            raise conflict(f"run {run_id} already {run.status}; there is nothing to cancel")
        if run.status == QUEUED:
            run.status, run.finished_at, run.phase = CANCELLED, now, CANCELLED
            log(session, run.id, "cancelled before it started", now)
        elif not run.cancel_requested:
            run.cancel_requested = True
            log(session, run.id, "cancel requested; the worker stops it", now)
        return run


def release(store: Store, c: Claim, reason: str) -> bool:
    """Hand a run back to the queue without counting the attempt (a worker shutting down)."""
    with store.write() as session:
        done = session.execute(
            update(Run).where(_ours(c)).values(status=QUEUED, worker=None, lease_until=None,
                                               attempts=Run.attempts - 1, phase="re-queued", progress=0.0)
            .returning(Run.id), execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if done is not None:
            log(session, c.run_id, reason)
        return done is not None


def artifacts(store: Store, run_id: str) -> dict[str, bytes]:
    """The stored results of a run (what a later run builds on)."""
    with store.read() as session:
        rows = session.execute(select(Artifact.name, Artifact.data).where(Artifact.run_id == run_id)).all()
    return {name: bytes(data) for name, data in rows}
