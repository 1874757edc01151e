"""A solved plan as data: tidy tables plus metadata, saved and loaded losslessly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gigawatt.json_values import finite

TABLES = (
    "capacity", "spend", "finance", "unmet", "shadow_price", "security", "training",
    "builds", "purchases", "rentals", "serve", "hosts",
)


@dataclass
class Plan:
    """A solved plan. `npv_usd` is real money only (capex, energy, cloud, contracts, minus residual
    value, discounted); what the solver also weighed (unmet demand, missed runs, risk and budget
    slacks) is in `penalties_usd`, by kind, and never in the NPV."""

    status: str                      # optimal | feasible (stopped early, see mip_gap) | shortfall (slacks used)
    npv_usd: float
    tables: dict[str, pd.DataFrame]
    binding: list[str]
    explanations: list[str]
    unit_costs: dict[str, float | None]
    metadata: dict[str, Any] = field(default_factory=dict)
    penalties_usd: dict[str, float] = field(default_factory=dict)

    @property
    def objective_usd(self) -> float:
        """What the solver minimised: real money plus every penalty."""
        return self.npv_usd + sum(self.penalties_usd.values())

    # --- views people ask for first ---

    def capacity_mw(self) -> dict[str, dict[str, float]]:
        """period -> provider -> MW (owned: facility draw; rented: accelerators' facility-equivalent)."""
        cap = self.tables["capacity"]
        if cap.empty:
            return {}
        pivot = cap.groupby(["period", "provider"])["mw"].sum().unstack(fill_value=0.0)
        return {str(t): {str(k): float(v) for k, v in row.items()} for t, row in pivot.iterrows()}

    def spend_by_year(self) -> dict[str, float]:
        s = self.tables["spend"]
        return {str(int(y)): float(v) for y, v in zip(s["year"], s["total_usd"], strict=True)}

    def funding_gap_by_year(self) -> dict[str, float]:
        f = self.tables["finance"]
        return {str(int(y)): float(v) for y, v in zip(f["year"], f["funding_gap_usd"], strict=True)}

    def unmet_summary(self) -> list[dict[str, Any]]:
        return self.tables["unmet"].to_dict(orient="records")

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "npv_usd": self.npv_usd,
            "penalties_usd": self.penalties_usd,
            "capacity_mw": self.capacity_mw(),
            "spend_usd": self.spend_by_year(),
            "funding_gap_usd": self.funding_gap_by_year(),
            "unmet": self.unmet_summary(),
            "binding": self.binding,
            "explanations": self.explanations,
            "unit_costs": self.unit_costs,
            "shadow_price_usd_per_exaflop_day": {
                str(r.period): float(r.usd_per_exaflop_day)
                for r in self.tables["shadow_price"].itertuples()
            } if not self.tables["shadow_price"].empty else {},
            "metadata": self.metadata,
        }

    # --- persistence ---

    def save(self, directory: str | Path, fmt: str = "csv") -> Path:
        """Write every table and plan.json; a failure or kill at any point leaves one whole plan.

        See gigawatt.plan.store: the new plan is written beside the old one and switched in by
        renames; the manifest carries each table's checksum.
        """
        from gigawatt.plan.store import write_plan

        meta = {
            "status": self.status, "npv_usd": self.npv_usd, "penalties_usd": self.penalties_usd,
            "binding": self.binding,
            "explanations": self.explanations, "unit_costs": self.unit_costs,
            "metadata": self.metadata,
        }
        return write_plan(directory, finite(meta), self.tables, fmt)

    @classmethod
    def load(cls, directory: str | Path) -> Plan:
        """Read a plan directory; a damaged or mixed one is a one-line PlanError."""
        from gigawatt.plan.store import read_plan

        meta, tables = read_plan(directory)
        return cls(status=meta["status"], npv_usd=meta["npv_usd"], tables=tables, binding=meta["binding"],
                   explanations=meta["explanations"], unit_costs=meta["unit_costs"], metadata=meta["metadata"],
                   penalties_usd=meta.get("penalties_usd") or {})

