"""Refuse a simulation that would run for hours or exhaust memory, before it starts."""

from __future__ import annotations

import math

import pandas as pd

from gigawatt.errors import SimulationError
from gigawatt.sim.failures import FailureModel

MAX_JOBS = 5_000_000
MAX_FAILURES = 2_000_000


def check_simulation_size(jobs: pd.DataFrame, failures: FailureModel, until_s: float | None,
                          capacity: float = 0.0, fastest: float = 1.0) -> None:
    """Jobs and the expected number of failure events must stay in what runs in minutes.

    Hardware fails in calendar time, busy or idle: while jobs remain, the whole fleet
    (`capacity` accelerators) draws failures, so the count is at least capacity x the time
    until the last job could end (its arrival plus its work on the `fastest` pool), not only
    the busy hours."""
    if len(jobs) > MAX_JOBS:
        raise SimulationError(f"the workload has {len(jobs):,} jobs; the simulator takes at most "
                              f"{MAX_JOBS:,}; simulate a shorter window or a sample of the trace")
    if not failures.enabled or failures.rate_per_accelerator_hour <= 0 or jobs.empty:
        return
    limit = math.inf if until_s is None else until_s
    busy_hours = float((jobs["accelerators"] * jobs["work_s"].clip(upper=limit)).sum()) / 3600
    span_h = min(limit, float((jobs["arrival_s"] + jobs["work_s"] / fastest).max())) / 3600
    busy_hours = max(busy_hours, capacity * span_h)
    expected = busy_hours * failures.rate_per_accelerator_hour
    if expected > MAX_FAILURES:
        raise SimulationError(
            f"about {expected:,.0f} accelerator failures would be simulated ({busy_hours:,.0f} "
            f"accelerator-hours at {failures.rate_per_accelerator_hour:g} per hour); at most "
            f"{MAX_FAILURES:,} run in reasonable time: give a shorter --until, --no-failures, or a "
            "lower operations.failure_rate_per_accelerator_hour")
