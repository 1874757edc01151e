"""Sourced default uncertainty factors: credit spreads, delays, supply gaps."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

RECOVERY_RATE = 0.40  # market convention for senior unsecured CDS


def default_probability_from_spread(spread: float, recovery: float = RECOVERY_RATE) -> float:
    """Yearly default probability implied by a CDS spread (hazard-rate approximation).

    lambda = spread / (1 - recovery); P(default within a year) = 1 - exp(-lambda).
    """
    return 1.0 - math.exp(-spread / (1.0 - recovery))


class UncertaintyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    id: str
    kind: Literal["default", "delay_quarters", "share"]
    source: str
    confidence: str
    as_of: str | None = None
    distribution: dict[str, Any] | None = None
    cds_spread: float | None = None
    recovery: float = RECOVERY_RATE

    @property
    def annual_default_probability(self) -> float:
        if self.cds_spread is None:
            raise ValueError(f"catalog uncertainty entry '{self.id}' has no cds_spread")
        return default_probability_from_spread(self.cds_spread, self.recovery)


@lru_cache(maxsize=1)
def load_uncertainty_catalog() -> dict[str, UncertaintyEntry]:
    text = resources.files("gigawatt.catalog").joinpath("data", "uncertainty.yaml").read_text("utf-8")
    rows = yaml.safe_load(text)["entries"]
    return {row["id"]: UncertaintyEntry(**{**row, "as_of": str(row.get("as_of"))}) for row in rows}
