"""What goes wrong: accelerator failures (independent) and outages (correlated, whole pools)."""

from __future__ import annotations

from dataclasses import dataclass

from gigawatt.catalog import load_catalog


@dataclass(frozen=True)
class FailureModel:
    """Independent accelerator failures; a gang job fails when any of its accelerators does."""

    rate_per_accelerator_hour: float
    repair_hours: float
    restart_minutes: float
    checkpoint_minutes: float
    enabled: bool = True

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


@dataclass(frozen=True)
class Outage:
    """A whole site, provider or pool down (OpenDC's intensity 1.0 on that pool)."""

    target: str            # a pool id, site or provider
    start_s: float
    duration_s: float
