"""Where samples are evaluated: in this process, in local worker processes, or on Ray.

One small interface: `run(job, batches)` yields each batch's result as it finishes. A
worker builds its evaluator (the one live model) once, then evaluates batch after batch.
Every batch carries its sample indices and factor values, so a sample's result depends
only on the sample, never on the worker or the order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from gigawatt.scenario.model import Scenario
from gigawatt.stress.evaluate import InPlaceEvaluator, Row, Timings
from gigawatt.stress.first_stage import FirstStage, StressError


@dataclass(frozen=True)
class Job:
    """What every worker needs (sent once per worker)."""

    scenario: Scenario
    first_stage: FirstStage


@dataclass(frozen=True)
class Batch:
    number: int
    samples: list[tuple[int, dict[str, float]]]


@dataclass
class BatchResult:
    number: int
    rows: list[Row]
    timings: Timings


def evaluate_batch(evaluator: InPlaceEvaluator, batch: Batch) -> BatchResult:
    t = Timings()
    rows: list[Row] = []
    for index, values in batch.samples:
        rows += evaluator.evaluate(index, values, t)
    return BatchResult(batch.number, rows, t)


class Executor(Protocol):
    def run(self, job: Job, batches: Iterable[Batch]) -> Iterator[BatchResult]: ...


class SerialExecutor:
    """Everything in this process: the default on a small machine (no start-up cost)."""

    def run(self, job: Job, batches: Iterable[Batch]) -> Iterator[BatchResult]:
        evaluator = InPlaceEvaluator(job.scenario, job.first_stage)
        for batch in batches:
            yield evaluate_batch(evaluator, batch)


_WORKER: InPlaceEvaluator | None = None


def _init_worker(job: Job) -> None:
    global _WORKER
    _WORKER = InPlaceEvaluator(job.scenario, job.first_stage)


def _run_in_worker(batch: Batch) -> BatchResult:
    assert _WORKER is not None
    return evaluate_batch(_WORKER, batch)


class ProcessExecutor:
    """Local worker processes (spawned: safe with HiGHS and threads), one model each."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, (os.cpu_count() or 2))

    def run(self, job: Job, batches: Iterable[Batch]) -> Iterator[BatchResult]:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker, initargs=(job,)) as pool:
            pending: set[Future[BatchResult]] = set()
            todo = iter(batches)
            for batch in todo:          # keep a small window in flight: results stream back
                pending.add(pool.submit(_run_in_worker, batch))
                if len(pending) >= 2 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)


class RayExecutor:
    """Ray actors, one live model each; joins RAY_ADDRESS if set, else starts a local Ray."""

    def __init__(self, workers: int | None = None, init_kwargs: dict[str, Any] | None = None) -> None:
        self.workers = workers
        self.init_kwargs = init_kwargs or {}

    def run(self, job: Job, batches: Iterable[Batch]) -> Iterator[BatchResult]:
        try:
            import ray
        except ImportError:
            raise StressError("the ray executor needs Ray: pip install -e '.[ray]'") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False,
                     log_to_driver=False, **self.init_kwargs)
        try:
            yield from self._run(ray, job, batches)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, job: Job, batches: Iterable[Batch]) -> Iterator[BatchResult]:
        @ray.remote(num_cpus=1)
        class Worker:
            def __init__(self, job: Job) -> None:
                self.evaluator = InPlaceEvaluator(job.scenario, job.first_stage)

            def run(self, batch: Batch) -> BatchResult:
                return evaluate_batch(self.evaluator, batch)

        n = self.workers or max(1, int(ray.available_resources().get("CPU", 1)))
        ref = ray.put(job)                       # shared inputs go to the object store once
        actors = [Worker.remote(ref) for _ in range(n)]  # type: ignore[attr-defined]
        pending: dict[Any, Any] = {}
        free = list(actors)
        todo = iter(batches)
        while True:
            while free:
                batch = next(todo, None)
                if batch is None:
                    break
                actor = free.pop()
                pending[actor.run.remote(batch)] = actor
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            for d in done:
                free.append(pending.pop(d))
                yield ray.get(d)


def make_executor(name: str, workers: int | None = None) -> Executor:
    if name == "serial":
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(workers)
    raise StressError(f"unknown executor '{name}'; use serial, processes or ray")
