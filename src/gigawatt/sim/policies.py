"""Scheduling policies, pluggable by name: where a job goes and whether others may jump ahead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gigawatt.errors import SimulationError

if TYPE_CHECKING:
    from gigawatt.sim.cluster import Job
    from gigawatt.sim.fleet import Pool

Chooser = Callable[["Job", list["Pool"]], "Pool | None"]


def first_fit(job: Job, pools: list[Pool]) -> Pool | None:
    """The first pool, in fleet order, with room."""
    for pool in pools:
        if pool.fits(job.size, job.group):
            return pool
    return None


def cheapest(job: Job, pools: list[Pool]) -> Pool | None:
    """Least cost for the job's work: price per accelerator-hour over speed."""
    fits = [p for p in pools if p.fits(job.size, job.group)]
    return min(fits, key=lambda p: (p.usd_per_hour / p.speed, -p.speed)) if fits else None


def best_value(job: Job, pools: list[Pool]) -> Pool | None:
    """Heterogeneity-aware: the accelerator where the job runs best relative to cost."""
    fits = [p for p in pools if p.fits(job.size, job.group)]
    return max(fits, key=lambda p: p.speed / (p.usd_per_hour or 1e-9)) if fits else None


@dataclass(frozen=True)
class Policy:
    name: str
    choose: Chooser
    backfill: bool = False
    failover: bool = False           # on an outage, move jobs to other providers' pools
    backfill_depth: int = 64         # queued jobs examined per backfill pass (Slurm's bf_max_job_test)


POLICIES: dict[str, Policy] = {
    "fifo": Policy("fifo", first_fit),
    "easy-backfill": Policy("easy-backfill", first_fit, backfill=True),
    "cost-aware": Policy("cost-aware", cheapest),
    "hetero-aware": Policy("hetero-aware", best_value),
    "failover": Policy("failover", first_fit, failover=True),
    "backfill-failover": Policy("backfill-failover", first_fit, backfill=True, failover=True),
}


def register_policy(policy: Policy) -> None:
    POLICIES[policy.name] = policy


def get_policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise SimulationError(f"unknown policy '{name}'; choose one of {', '.join(POLICIES)}") from None
