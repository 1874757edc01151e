"""A solved plan as data: tidy tables plus metadata, saved and loaded losslessly."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gigawatt.errors import PlanError

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
        """Write every table and plan.json; a failure part-way leaves the previous plan intact.

        All files are first written beside their targets as .tmp, then renamed into place
        (plan.json last), so an interrupted save never mixes into a readable half-plan.
        """
        if fmt not in ("csv", "parquet"):
            raise PlanError(f"unknown table format '{fmt}'; use csv or parquet")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        meta = {
            "status": self.status, "npv_usd": self.npv_usd, "penalties_usd": self.penalties_usd,
            "binding": self.binding,
            "explanations": self.explanations, "unit_costs": self.unit_costs,
            "metadata": self.metadata, "format": fmt, "tables": sorted(self.tables),
        }
        staged: list[tuple[Path, Path]] = []
        try:
            for name, df in self.tables.items():
                target = out / f"{name}.{fmt}"
                tmp = target.with_name(target.name + ".tmp")
                if fmt == "parquet":
                    df.to_parquet(tmp, index=False)
                else:
                    df.to_csv(tmp, index=False)
                staged.append((tmp, target))
            tmp = out / "plan.json.tmp"
            tmp.write_text(json.dumps(meta, indent=2, default=str))
            staged.append((tmp, out / "plan.json"))
        except Exception:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, target in staged:
            tmp.replace(target)
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Plan:
        src = Path(directory)
        try:
            meta = json.loads((src / "plan.json").read_text())
        except FileNotFoundError:
            raise PlanError(f"{src}: no plan.json here; point at a directory written by `gigawatt plan --out`") from None
        fmt = meta.get("format", "csv")
        tables = {}
        for name in meta["tables"]:
            path = src / f"{name}.{fmt}"
            if fmt == "parquet":
                tables[name] = pd.read_parquet(path)
            else:
                try:
                    tables[name] = pd.read_csv(path)
                except pd.errors.EmptyDataError:
                    tables[name] = pd.DataFrame()
        return cls(status=meta["status"], npv_usd=meta["npv_usd"], tables=tables, binding=meta["binding"],
                   explanations=meta["explanations"], unit_costs=meta["unit_costs"], metadata=meta["metadata"],
                   penalties_usd=meta.get("penalties_usd", {}))
