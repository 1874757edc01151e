"""The fleet a simulation runs on: pools of one accelerator type at one place."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from heapq import heappop, heappush
from pathlib import Path
from typing import Any

import pandas as pd

from gigawatt.catalog import load_catalog
from gigawatt.errors import SimulationError

PLACEMENTS = ("first-fit", "best-fit", "worst-fit", "random-fit")
MAX_NODES = 1 << 20          # beyond this a pool is pooled (no node identity): memory stays bounded


def catalog_node_size(accelerator: str) -> float:
    """Accelerators per node (scale-up domain) from the catalog: 8 on HGX boards, 72 on NVL72; else 1."""
    acc = load_catalog().accelerators.get(accelerator)
    return float(acc.scale_up_domain) if acc is not None and acc.scale_up_domain else 1.0


@dataclass(slots=True, eq=False)
class Pool:
    """Accelerators of one type at one place, made of nodes (the unit of placement and of failure).

    A gang no larger than a node runs on one node; a larger one takes whole idle nodes.
    `node_size` defaults to the catalog's scale-up domain for the accelerator (1 when unknown,
    which is the pooled model). `spares` hot spare nodes stand by outside `capacity`: a failed
    node is swapped for one at once, and the repaired node becomes a spare.
    """

    id: str
    site: str
    provider: str
    accelerator: str
    capacity: float
    speed: float = 1.0                 # throughput relative to the workload's reference accelerator
    usd_per_hour: float = 0.0          # per accelerator
    node_size: float | None = None
    spares: int = 0
    node_identity: bool = True         # False: gangs in whole nodes, counted not placed (a failure takes a node's worth)
    free: float = 0.0
    up: bool = True
    outages: int = 0                   # outages under way on this pool (they may overlap)
    running: set = field(default_factory=set)
    node_cap: list[float] = field(default_factory=list)
    node_free: list[float] = field(default_factory=list)
    node_up: list[bool] = field(default_factory=list)
    node_jobs: list[list] = field(default_factory=list)
    idle: list[int] = field(default_factory=list)       # heap of whole idle full-size nodes (lazy: see is_idle)
    is_idle: list[bool] = field(default_factory=list)   # the heap's entries for other nodes are stale
    idle_count: int = 0
    partial: dict[int, float] = field(default_factory=dict)   # other up nodes with room: node -> free
    spares_free: int = 0
    pooled: bool = False               # no node identity (one-accelerator nodes and whole jobs, or huge pools)
    broken: float = 0.0                # accelerators out for repair (pooled)

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise SimulationError(f"pool {self.id}: capacity {self.capacity} is negative")
        if self.node_size is None:
            self.node_size = catalog_node_size(self.accelerator)
        if self.node_size <= 0:
            raise SimulationError(f"pool {self.id}: node_size {self.node_size} must be positive")
        if self.spares < 0:
            raise SimulationError(f"pool {self.id}: spares {self.spares} is negative")
        self.reset()

    @property
    def g(self) -> float:
        return self.node_size or 1.0

    def reset(self) -> None:
        """All nodes up and idle (a fleet may be reused across runs)."""
        if self.capacity / self.g > MAX_NODES:
            self.pooled = True
        self.free, self.up, self.outages, self.running = self.capacity, True, 0, set()
        self.spares_free, self.broken = self.spares, 0.0
        if self.pooled:
            self.node_cap, self.node_free, self.node_up, self.node_jobs, self.idle, self.partial = \
                [], [], [], [], [], {}
            self.is_idle, self.idle_count = [], 0
            return
        g = self.g
        full = int(self.capacity // g + 1e-9)
        rest = self.capacity - full * g
        self.node_cap = [g] * full + ([rest] if rest > 1e-9 else [])
        self.node_free = list(self.node_cap)
        self.node_up = [True] * len(self.node_cap)
        self.node_jobs = [[] for _ in self.node_cap]
        self.idle = list(range(full))
        self.is_idle = [True] * full + [False] * (len(self.node_cap) - full)
        self.idle_count = full
        self.partial = {full: rest} if rest > 1e-9 else {}

    @property
    def full_nodes(self) -> int:
        return int(self.capacity // self.g + 1e-9)

    def largest_gang(self, group: float = 0.0) -> float:
        """The largest gang this pool can ever hold (in groups of `group` within one node, if asked)."""
        if self._grouped(group):
            return sum(math.floor(cap / group + 1e-9) for cap in self.node_cap) * group
        if self.pooled or group <= 0 or group <= self.g:
            return max(self.full_nodes * self.g, max(self.node_cap, default=0.0))
        return 0.0                       # a scale-up domain larger than the pool's nodes

    def nodes_for(self, size: float) -> int:
        return math.ceil(size / self.g - 1e-9) if size > self.g else 1

    def _grouped(self, group: float) -> bool:
        """Does a scale-up request change placement here? (groups smaller than a node, with node identity)"""
        return 0 < group < self.g and not self.pooled

    def fits(self, size: float, group: float = 0.0) -> bool:
        if self.pooled:
            return self.free >= size
        if self._grouped(group) and size > group:
            per_idle = math.floor(self.g / group + 1e-9)
            slots = self.idle_count * per_idle + sum(math.floor(f / group + 1e-9) for f in self.partial.values())
            return slots >= math.ceil(size / group - 1e-9)
        if size > self.g:
            return self.idle_count >= self.nodes_for(size)
        if self.idle_count:
            return True
        return any(free >= size - 1e-9 for free in self.partial.values())

    def place(self, size: float, how: str = "first-fit", rng: Any = None,
              group: float = 0.0) -> list[tuple[int, float]] | None:
        """Nodes and amounts for a gang of `size` under a placement rule; None if it does not fit now.

        By default a gang no larger than a node takes one node and a larger one whole nodes; a
        scale-up request `group` below the node size places it as groups of that many, each
        within one node (nodes may be shared), as a tensor-parallel group needs one NVLink domain."""
        if self.pooled:
            if self.free < size:
                return None
            self.free -= size
            return [(-1, size)]
        if self._grouped(group) and size > group:
            return self._place_groups(size, group, how, rng)
        g = self.g
        if size > g:
            k = self.nodes_for(size)
            if self.idle_count < k:
                return None
            nodes = [self._pop_idle() for _ in range(k)]
            for n in nodes:
                self.node_free[n] = 0.0
            self.free -= k * g
            return [(n, g) for n in nodes]
        fits = [(free, n) for n, free in self.partial.items() if free >= size - 1e-9]
        if self.idle_count:
            fits.append((g, self._peek_idle()))
        if not fits:
            return None
        if how == "best-fit":
            free, n = min(fits)
        elif how == "worst-fit":
            free, n = max(fits, key=lambda f: (f[0], -f[1]))
        elif how == "random-fit":
            free, n = fits[rng.randrange(len(fits))] if rng is not None else fits[0]
        else:
            free, n = min(fits, key=lambda f: f[1])
        if n in self.partial:
            left = free - size
            if left > 1e-9:
                self.partial[n] = left
            else:
                del self.partial[n]
        else:
            self._pop_idle()
            left = g - size
            if left > 1e-9:
                self.partial[n] = left
        self.node_free[n] = max(0.0, free - size)
        self.free -= size
        return [(n, size)]

    def _place_groups(self, size: float, group: float, how: str, rng: Any) -> list[tuple[int, float]] | None:
        if not self.fits(size, group):
            return None
        k = math.ceil(size / group - 1e-9)
        room = dict(self.partial)                 # node -> free, growing as idle nodes are opened
        used: dict[int, float] = {}
        for i in range(k):
            need = group if i < k - 1 else size - group * (k - 1)
            fits = [(free, n) for n, free in room.items() if free >= need - 1e-9]
            if not fits or (how == "worst-fit" and self.idle_count):
                if not self.idle_count:
                    return None                  # fits() counted the slots: cannot happen
                n = self._pop_idle()
                room[n] = self.g
                fits = [(self.g, n)]
            if how == "best-fit":
                free, n = min(fits)
            elif how == "worst-fit":
                free, n = max(fits, key=lambda f: (f[0], -f[1]))
            elif how == "random-fit" and rng is not None:
                free, n = fits[rng.randrange(len(fits))]
            else:
                free, n = min(fits, key=lambda f: f[1])
            room[n] = free - need
            used[n] = used.get(n, 0.0) + need
        for n in used:
            left = room[n]
            self.node_free[n] = max(0.0, left)
            if left > 1e-9:
                self.partial[n] = left
            else:
                self.partial.pop(n, None)
        self.free -= size
        return sorted(used.items())

    def _peek_idle(self) -> int:
        while not self.is_idle[self.idle[0]]:
            heappop(self.idle)
        return self.idle[0]

    def _pop_idle(self) -> int:
        n = heappop(self.idle)
        while not self.is_idle[n]:
            n = heappop(self.idle)
        self.is_idle[n] = False
        self.idle_count -= 1
        return n

    def give_back(self, placement: list[tuple[int, float]]) -> None:
        """Return a gang's nodes (only those still up)."""
        if self.pooled:
            self.free += placement[0][1]
            return
        for n, amount in placement:
            if not self.node_up[n]:
                continue
            self._add(n, amount)

    def _add(self, n: int, amount: float) -> None:
        free = self.node_free[n] + amount
        self.node_free[n] = free
        self.free += amount
        if free >= self.node_cap[n] - 1e-9 and self.node_cap[n] == self.g:
            self.partial.pop(n, None)
            self.node_free[n] = self.g
            if not self.is_idle[n]:
                self.is_idle[n] = True
                self.idle_count += 1
                heappush(self.idle, n)
        else:
            self.partial[n] = free

    def node_down(self, n: int) -> None:
        """Take node n out (its jobs already stopped and gave back their share)."""
        if self.pooled:
            raise AssertionError("pooled pools take accelerators out with take_out")
        self.node_up[n] = False
        self.free -= self.node_free[n]
        self.node_free[n] = 0.0
        self.partial.pop(n, None)
        if self.is_idle[n]:            # its heap entry goes stale: dropped when it reaches the top
            self.is_idle[n] = False
            self.idle_count -= 1

    def take_out(self, amount: float) -> None:
        """Pooled: `amount` accelerators leave for repair."""
        self.free -= amount
        self.broken += amount

    def put_back(self, amount: float) -> None:
        self.free += amount
        self.broken -= amount

    def node_repaired(self, n: int) -> None:
        self.node_up[n] = True
        self.node_free[n] = 0.0
        self._add(n, self.node_cap[n])


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
