"""The fleet a simulation runs on: pools of one accelerator type at one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gigawatt.catalog import load_catalog
from gigawatt.errors import SimulationError


@dataclass(slots=True, eq=False)
class Pool:
    id: str
    site: str
    provider: str
    accelerator: str
    capacity: float
    speed: float = 1.0                 # throughput relative to the workload's reference accelerator
    usd_per_hour: float = 0.0          # per accelerator
    free: float = 0.0
    up: bool = True
    outages: int = 0                   # outages under way on this pool (they may overlap)
    running: set = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise SimulationError(f"pool {self.id}: capacity {self.capacity} is negative")
        self.free = self.capacity


@dataclass
class Fleet:
    pools: list[Pool]

    @property
    def capacity(self) -> float:
        return sum(p.capacity for p in self.pools)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{k: getattr(p, k) for k in ("id", "site", "provider", "accelerator", "capacity",
                                                           "speed", "usd_per_hour")} for p in self.pools])


REFERENCE = "nvidia_h100_sxm"   # workloads' run times are in seconds on this accelerator


def relative_speed(accelerator: str, reference: str | None = REFERENCE) -> float:
    """Dense BF16 throughput relative to the reference (1.0 when either is not in the catalog)."""
    cat = load_catalog()
    if reference is None or accelerator not in cat.accelerators or reference not in cat.accelerators:
        return 1.0
    return cat.accelerators[accelerator].bf16_dense_tflops / cat.accelerators[reference].bf16_dense_tflops


def fleet_from_capacity(capacity: pd.DataFrame, period: str | None = None,
                        reference: str | None = REFERENCE) -> tuple[Fleet, str]:
    """Pools from a plan's capacity table (one period: the given one or the last)."""
    if capacity.empty:
        raise SimulationError("the plan has no capacity to simulate")
    periods = sorted(capacity["period"].astype(str).unique())
    chosen = period or periods[-1]
    if chosen not in periods:
        raise SimulationError(f"period {chosen} is not in the plan; it has {periods[0]}..{periods[-1]}")
    rows = capacity[capacity["period"].astype(str) == chosen]
    pools = [
        Pool(id=f"{r.location}/{r.accelerator}", site=str(r.location), provider=str(r.provider),
             accelerator=str(r.accelerator), capacity=float(round(r.accelerators)),
             speed=relative_speed(str(r.accelerator), reference))
        for r in rows.itertuples() if r.accelerators >= 1
    ]
    return Fleet(pools), chosen


def fleet_from_plan_dir(directory: str | Path, period: str | None = None) -> tuple[Fleet, str]:
    from gigawatt.plan.result import Plan

    return fleet_from_capacity(Plan.load(directory).tables["capacity"], period)


def fleet_from_openb_nodes(path: str | Path) -> Fleet:
    """One pool per GPU model of the Alibaba openb cluster (GPU sharing: capacity in GPUs)."""
    df = pd.read_csv(path)
    missing = {"sn", "gpu", "model"} - set(df.columns)
    if missing:
        raise SimulationError(f"{path}: missing columns {sorted(missing)}; expected the openb node list")
    by_model = df[df["gpu"] > 0].groupby("model")["gpu"].sum()
    return Fleet([Pool(id=str(m), site="openb", provider="alibaba", accelerator=str(m), capacity=float(n))
                  for m, n in by_model.items()])
