"""What goes wrong: accelerator failures (independent) and outages (correlated, whole pools)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from gigawatt.catalog import load_catalog
from gigawatt.errors import SimulationError


@dataclass(frozen=True)
class FailureModel:
    """Hardware fails in calendar time, busy or idle, at a rate per accelerator-hour.

    A failure takes down a whole node (a pool's unit: an HGX board, an NVL72 domain) for
    `repair_hours`, or is swapped at once for a hot spare; every job on that node stops,
    loses its work since its last durable checkpoint and restarts (`restart_minutes`).

    A job checkpoints after every `checkpoint_minutes` of computing. Writing one takes
    `checkpoint_write_s`; the job stalls for `checkpoint_stall_share` of it (1.0: blocking;
    below 1: asynchronous, the rest is written in the background) and the checkpoint is
    durable `checkpoint_write_s` after it began.
    """

    rate_per_accelerator_hour: float
    repair_hours: float
    restart_minutes: float
    checkpoint_minutes: float
    enabled: bool = True
    checkpoint_write_s: float = 0.0
    checkpoint_stall_share: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rate_per_accelerator_hour", "repair_hours", "restart_minutes", "checkpoint_write_s"):
            if getattr(self, name) < 0:
                raise SimulationError(f"failure model: {name} = {getattr(self, name)} must be >= 0")
        if self.checkpoint_minutes <= 0:
            raise SimulationError(f"failure model: checkpoint_minutes = {self.checkpoint_minutes} must be > 0")
        if not 0 <= self.checkpoint_stall_share <= 1:
            raise SimulationError(f"failure model: checkpoint_stall_share = {self.checkpoint_stall_share} "
                                  "must be between 0 (fully asynchronous) and 1 (blocking)")

    @property
    def stall_s(self) -> float:
        """Seconds a job stops computing per checkpoint."""
        return self.checkpoint_write_s * self.checkpoint_stall_share

    @classmethod
    def from_catalog(cls, enabled: bool = True, **overrides: float | None) -> FailureModel:
        rel = load_catalog().reliability
        values = {
            "rate_per_accelerator_hour": rel["failure_rate_per_accelerator_hour"]["value"],
            "repair_hours": rel["repair_hours"]["value"],
            "restart_minutes": rel["restart_minutes"]["value"],
            "checkpoint_minutes": rel["checkpoint_minutes"]["value"],
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(enabled=enabled, **values)

    @classmethod
    def none(cls) -> FailureModel:
        return cls(0.0, 0.0, 0.0, 1e9, enabled=False)


def young_daly(write_s: float, mtbf_s: float) -> tuple[float, float]:
    """Optimal compute between checkpoints: Young (1974) sqrt(2 d M) and Daly (2006)'s higher-order form."""
    young = math.sqrt(2 * write_s * mtbf_s)
    if write_s >= 2 * mtbf_s:
        return young, mtbf_s
    x = math.sqrt(write_s / (2 * mtbf_s))
    return young, young * (1 + x / 3 + x * x / 9) - write_s


@dataclass(frozen=True)
class NodeFailure:
    """One node of one pool fails at a given time (for what-if runs and exact tests)."""

    pool: str
    node: int
    at_s: float


@dataclass(frozen=True)
class Outage:
    """A whole site, provider or pool down (OpenDC's intensity 1.0 on that pool)."""

    target: str            # a pool id, site or provider
    start_s: float
    duration_s: float
