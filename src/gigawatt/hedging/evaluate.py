"""A first stage's cost in given futures, by the stress evaluator on a stress executor."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from gigawatt.errors import PlanError
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.plan.stochastic import Future, decided_before
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.model import Scenario
from gigawatt.stress import risk
from gigawatt.stress.evaluate import InPlaceEvaluator
from gigawatt.stress.executors import Batch, Executor, Job, evaluate_batch, make_executor
from gigawatt.stress.first_stage import FirstStage
from gigawatt.stress.inputs import SampledInputs
from gigawatt.stress.run import frame

Tick = Callable[[int, int], None]


class OutOfTime(Exception):
    """The deadline passed before every future was evaluated."""


def first_stage_of(scenario: Scenario, tables: dict[str, pd.DataFrame], label: str) -> FirstStage:
    """The first stage a plan's tables fix: builds and terms started before `label`, hosts, contracts."""
    empty = pd.DataFrame(columns=["run", "kind", "location"])
    return FirstStage(label, decided_before(tables.get("builds", pd.DataFrame()), label),
                      decided_before(tables.get("rentals", pd.DataFrame()), label),
                      tables.get("hosts", empty), [c.id for c in scenario.contracts])


def futures_inputs(scenario: Scenario, futures: Sequence[Future], cached_from: int = 40) -> list[PlanInputs]:
    """Each future's PlanInputs. From `cached_from` futures on, from one build_inputs and cached
    rows (stress's sampled inputs: a fixed set-up of about a dozen build_inputs, then
    milliseconds a future), checked array by array against a full build_inputs on the first
    future; below it one build_inputs per future is quicker."""
    if len(futures) < cached_from:
        return [build_inputs(apply_sample(scenario, dict(f))) for f in futures]
    sampled = SampledInputs(scenario)
    sampled.check(dict(futures[0]))
    return [sampled(dict(f)) for f in futures]


def evaluate_futures(scenario: Scenario, fs: FirstStage, futures: Sequence[Future], *,
                     executor: str | Executor = "serial", workers: int | None = None, batch_size: int = 25,
                     deadline: float | None = None, tick: Tick | None = None) -> pd.DataFrame:
    """The stress table (sample, metric, key, value) of `fs` in `futures`, sample i = futures[i]."""
    n = len(futures)
    batches = [Batch(b, [(i, dict(futures[i])) for i in range(b * batch_size, min(n, (b + 1) * batch_size))])
               for b in range(math.ceil(n / batch_size))]
    runner = make_executor(executor, workers) if isinstance(executor, str) else executor
    parts, done = [], 0
    for result in runner.run(Job(scenario, fs), batches):
        parts.append(frame(result.rows))
        done += len(batches[result.number].samples)
        if tick:
            tick(done, n)
        if deadline is not None and time.perf_counter() > deadline and done < n:
            raise OutOfTime
    table = pd.concat(parts, ignore_index=True) if parts else frame([])
    return table.sort_values(["sample", "metric", "key"], kind="stable").reset_index(drop=True)


def objective_costs(table: pd.DataFrame, n: int) -> np.ndarray:
    """Each future's cost as the planner counts it (money + penalties: stress's npv_usd metric)."""
    solved = risk.scalar(table, "solved").reindex(range(n)).fillna(0.0)
    if (solved < 0.5).any():
        bad = [int(i) for i in solved.index[solved < 0.5]][:5]
        raise PlanError(f"the stress evaluator could not solve future(s) {bad} with this first stage")
    return risk.scalar(table, "npv_usd").reindex(range(n)).to_numpy(dtype=float)


def evaluate_first_stages(scenario: Scenario, first_stages: Sequence[FirstStage], futures: Sequence[Future], *,
                          executor: str | Executor = "serial", workers: int | None = None,
                          tick: Tick | None = None, deadline: float | None = None) -> list[pd.DataFrame]:
    """The stress table of each first stage in the same futures, in order. Serial: one live model,
    its first stage swapped in place between them; otherwise one executor run per first stage.
    Past the deadline no further first stage is started (the first always is): the list is then
    shorter than `first_stages`."""
    tables: list[pd.DataFrame] = []
    if executor != "serial":
        for fs in first_stages:
            if tables and deadline is not None and time.perf_counter() > deadline:
                break
            tables.append(evaluate_futures(scenario, fs, futures, executor=executor, workers=workers, tick=tick))
        return tables
    evaluator: InPlaceEvaluator | None = None
    for fs in first_stages:
        if tables and deadline is not None and time.perf_counter() > deadline:
            break
        if evaluator is None:
            evaluator = InPlaceEvaluator(scenario, fs)
        else:
            evaluator.refix(fs)
        rows = evaluate_batch(evaluator, Batch(0, [(i, dict(f)) for i, f in enumerate(futures)])).rows
        if tick:
            tick(len(futures), len(futures))
        tables.append(frame(rows).sort_values(["sample", "metric", "key"], kind="stable").reset_index(drop=True))
    return tables
