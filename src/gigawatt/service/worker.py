"""Worker processes: claim runs from the database, execute each in a child process, heartbeat.

The API process never plans: a worker claims a run, forks a child that calls the pure
functions, and meanwhile renews the run's lease, records progress and log lines, and
watches for a cancel (it then kills the child). Only the worker writes to the database,
and only while its lease holds; the result and the final status land in one transaction.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import time
import traceback
import uuid
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import DBAPIError

import gigawatt
from gigawatt.errors import GigawattError
from gigawatt.service.settings import Settings
from gigawatt.service.store import Store, queue
from gigawatt.service.store.queue import CANCELLED, FAILED, SUCCEEDED, Claim

log = logging.getLogger("gigawatt.worker")
REQUEUE_CHECK_S = 1.0
RUN_NICENESS = 10


def _child(conn: Connection, c: Claim, inputs: dict[str, bytes]) -> None:
    """Runs in the forked child: execute and send back ("progress", ...) then ("done"|"error", ...)."""
    from gigawatt.service.jobs import execute

    os.nice(RUN_NICENESS)     # the CPU goes to the API (status reads) first, then to plans

    def emit(progress: float | None, phase: str, line: str | None) -> None:
        conn.send(("progress", progress, phase, line, time.time()))

    try:
        artifacts = execute(c.kind, c.options, c.scenario_yaml, f"{c.scenario_name} v{c.scenario_version}",
                            emit, inputs)
        conn.send(("done", artifacts))
    except GigawattError as exc:
        conn.send(("error", str(exc), None))
    except Exception as exc:
        conn.send(("error", f"internal error: {type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        conn.close()


class Worker:
    def __init__(self, settings: Settings, name: str | None = None, parent_pid: int | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.db_url)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.parent_pid = parent_pid
        self.stopping = False
        self._context = mp.get_context("fork")
        self._last_requeue = 0.0

    def stop(self, *_: Any) -> None:
        self.stopping = True

    def orphaned(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    def run_forever(self) -> None:
        _preload()
        while not self.stopping and not self.orphaned():
            try:
                busy = self.step()
            except DBAPIError as exc:   # database restarting or unreachable: wait and try again
                log.warning("worker %s: database error, retrying: %s", self.name, str(exc).splitlines()[0])
                busy = False
                time.sleep(5 * self.settings.poll_s)
            if not busy:
                time.sleep(self.settings.poll_s)

    def step(self) -> bool:
        """Re-queue lost runs (now and then), claim one and execute it. False when idle."""
        if time.monotonic() - self._last_requeue >= REQUEUE_CHECK_S:
            queue.requeue_lost(self.store, self.settings.max_attempts)
            self._last_requeue = time.monotonic()
        c = queue.claim(self.store, self.name, self.settings.lease_s)
        if c is None:
            return False
        self.execute(c)
        return True

    def execute(self, c: Claim) -> None:
        s = self.settings
        receiver, sender = self._context.Pipe(duplex=False)
        inputs = queue.artifacts(self.store, c.options["plan_run"]) if c.kind == "stress" else {}
        child = self._context.Process(target=_child, args=(sender, c, inputs), daemon=True)
        child.start()
        sender.close()
        lines: list[tuple[float, str]] = []
        progress: float | None = None
        phase: str | None = None
        next_beat = time.monotonic() + s.heartbeat_s
        outcome: tuple[str, dict[str, bytes] | None, str | None] | None = None
        while outcome is None:
            if receiver.poll(0.1):
                try:
                    msg = receiver.recv()
                except EOFError:
                    child.join(5)
                    outcome = (FAILED, None, f"run process ended unexpectedly (exit code {child.exitcode})")
                    continue
                if msg[0] == "progress":
                    _, p, phase, line, at = msg
                    progress = p if p is not None else progress
                    if line:
                        lines.append((at, line))
                elif msg[0] == "done":
                    outcome = (SUCCEEDED, msg[1], None)
                else:
                    if msg[2]:
                        lines.append((time.time(), msg[2]))
                    outcome = (FAILED, None, msg[1])
            if outcome is None and (time.monotonic() >= next_beat or self.stopping or self.orphaned()):
                if self.stopping or self.orphaned():
                    _kill(child)
                    queue.release(self.store, c, "worker stopped; run handed back to the queue")
                    return
                next_beat = time.monotonic() + s.heartbeat_s
                try:
                    cancel = queue.heartbeat(self.store, c, s.lease_s, progress, phase, lines)
                except DBAPIError as exc:   # a blip: keep running; a long outage lapses the lease
                    log.warning("worker %s: heartbeat failed: %s", self.name, str(exc).splitlines()[0])
                    continue
                lines = []
                if cancel is None:       # our lease lapsed and the run went to another worker
                    _kill(child)
                    return
                if cancel:
                    _kill(child)
                    outcome = (CANCELLED, None, None)
        child.join(5)
        status, artifacts, error = outcome
        for attempt in range(3):
            try:
                queue.finish(self.store, c, status, artifacts=artifacts, error=error,
                             version=gigawatt.__version__, lines=lines)
                return
            except DBAPIError:
                if attempt == 2:
                    raise           # the lease lapses and the run is re-queued
                time.sleep(1.0)


def _kill(child: Any) -> None:
    if child.is_alive():
        child.kill()
    child.join(5)


def _preload() -> None:
    """Import the heavy core once, before forking, so each run starts at once."""
    import gigawatt.plan  # noqa: F401
    import gigawatt.service.jobs  # noqa: F401
    import gigawatt.service.results  # noqa: F401
    import gigawatt.sim  # noqa: F401


def main(db_url: str | None = None, parent_pid: int | None = None) -> None:
    worker = Worker(Settings.from_env(db_url), parent_pid=parent_pid)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    try:
        worker.run_forever()
    finally:
        worker.store.dispose()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="a gigawatt service worker")
    parser.add_argument("--db", help="database URL (default: $GIGAWATT_DB)")
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    main(args.db, args.parent_pid)
