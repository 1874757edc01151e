"""Plan -> operations: a saved plan's whole horizon through the simulator, quarter by quarter.

Each quarter the fleet is the plan's capacity in that quarter, one pool per location and
accelerator, made of the catalog's nodes. The plan's `serve` table says what each pool gives
each demand; a demand gets `serve / (MFU x availability x peak EF/s per accelerator)`
accelerators of that pool (gangs in whole nodes), and its jobs run there (the plan's hosts).
With `failover_after_s`, a training job whose pool has been down that long moves to another pool
of the same accelerator, in a region the run allows, that has the room idle, restarting from its
last checkpoint after the restart time and `transfer_s`; it stays there for the quarter, and a
run behind the plan continues where it last ran. Which runs failover saved is measured against
the same round trip without it. A training run is a gang job per pool it is served from; the work it
has not done at a quarter's end carries over, and a run with work left after its last planned
quarter keeps its last allocation, queued behind the plan's own jobs, until it is done or the
horizon ends. An inference load holds its accelerators for the quarter: an outage takes them
away (a failed replica is replaced at once, so node failures do not). Failures at the catalog's
or the scenario's rate, the scenario's scripted and random outages, calendar time from the
horizon's start.

Measured per training run: completion against the plan's, ETTR; per inference load: the served
share of its planned compute-time (`slo_attainment`); per period and demand: planned vs
delivered effective exaFLOP. The availability per demand (ETTR, served share) is what
`gigawatt plan --derate-from` plans with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from gigawatt.errors import SimulationError
from gigawatt.json_values import finite
from gigawatt.periods import SECONDS_PER_QUARTER
from gigawatt.plan.inputs import in_regions
from gigawatt.plan.result import Plan
from gigawatt.scenario.model import Scenario
from gigawatt.sim.failures import FailureModel, Outage, young_daly
from gigawatt.sim.fleet import Fleet, Pool, catalog_node_size
from gigawatt.sim.from_scenario import outages_from_scenario, price_pools
from gigawatt.sim.simulate import simulate

DAY = 86400.0
DONE_SHARE = 1e-9        # work left below this share of a run's total is float noise: the run is done
Progress = Callable[[int, int], None]


@dataclass
class Demand:
    id: str
    kind: str                       # training | inference
    mfu: float                      # MFU (utilisation) x availability: effective share of peak
    required_exaflop: float = 0.0   # training: its whole work
    remaining: float = 0.0          # exaFLOP still to do
    last: dict[str, float] = field(default_factory=dict)   # pool -> accelerators planned in its last quarter
    finish_s: float = math.nan
    productive_s: float = 0.0       # accelerator-seconds of useful work (inference: serving)
    held_s: float = 0.0             # accelerators held x wall time from each quarter's submission
    planned_s: float = 0.0          # accelerators the plan gives it x the same wall time
    interruptions: int = 0
    failure_interruptions: int = 0
    delivered: float = 0.0          # effective exaFLOP
    quarter: float = 0.0            # effective exaFLOP delivered in the quarter being simulated
    locations: set[str] = field(default_factory=set)       # where it ran
    regions: list[str] = field(default_factory=list)       # where it may run (empty: anywhere)
    failovers: int = 0


@dataclass(frozen=True)
class JobSpec:
    demand: Demand
    pool: str
    planned: float                  # accelerators the plan gives it (before whole nodes and spares)
    late: bool = False


@dataclass
class RoundTrip:
    runs: pd.DataFrame          # per training run: planned vs simulated completion, ETTR
    inference: pd.DataFrame     # per inference load: served share of its planned compute (SLO attainment)
    periods: pd.DataFrame       # per period x demand: planned vs delivered effective exaFLOP
    capacity: pd.DataFrame      # per period: the plan's accelerators, peak EF/s and MW simulated
    summary: dict[str, Any]
    notes: list[str]

    @property
    def availability(self) -> dict[str, float]:
        """Per demand, the share of held accelerator-time that did useful work (what a derate uses)."""
        out = {str(r.run): float(r.availability) for r in self.runs.itertuples() if np.isfinite(r.availability)}
        out.update({str(r.load): float(r.slo_attainment) for r in self.inference.itertuples()
                    if np.isfinite(r.slo_attainment)})
        return out

    def late_runs(self) -> list[str]:
        return [str(r) for r in self.runs.loc[self.runs["status"].isin(["late", "not finished"]), "run"]]

    def to_json(self) -> dict[str, Any]:
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return finite(df.to_dict(orient="records"))

        return {**self.summary, "late_runs": self.late_runs(), "availability": self.availability,
                "runs": records(self.runs), "inference_loads": records(self.inference),
                "periods": records(self.periods), "notes": self.notes}


def _peak_per_accelerator(capacity: pd.DataFrame) -> dict[str, float]:
    """Peak EF/s of one accelerator, as the plan counted it (catalog and scenario overrides)."""
    rows = capacity[capacity["accelerators"] > 0]
    return (rows["peak_exaflops"] / rows["accelerators"]).groupby(rows["accelerator"]).first().to_dict()


def _pool_names(capacity: pd.DataFrame) -> dict[str, str]:
    """The serve table's pool name ('site/acc', or an offer or contract id) -> the fleet's pool id."""
    names: dict[str, str] = {}
    for loc, acc in capacity[["location", "accelerator"]].drop_duplicates().itertuples(index=False):
        names[f"{loc}/{acc}"] = f"{loc}/{acc}"
        names.setdefault(str(loc), f"{loc}/{acc}")
    return names


def _demands(s: Scenario, plan: Plan) -> dict[str, Demand]:
    required = plan.tables["training"].set_index("run")["required_exaflop"] if not plan.tables["training"].empty \
        else pd.Series(dtype=float)
    out = {r.id: Demand(r.id, "training", r.mfu * r.availability, float(required.get(r.id, 0.0)),
                        regions=list(r.regions)) for r in s.demand.training}
    for d in out.values():
        d.remaining = d.required_exaflop
    out.update({x.id: Demand(x.id, "inference", x.utilization * x.availability) for x in s.demand.inference})
    return out


def node_sizes(wanted: dict[str, float], capacity: float, g: float, first: frozenset[str] = frozenset()
               ) -> dict[str, float]:
    """Accelerators each job gets on one pool: a job of a node or more in whole nodes, a smaller one
    in whole accelerators. The jobs in `first` (training: a deadline) go first and round up; the
    others round to the nearest node and get what is left, never more nodes than the pool has."""
    free = int(capacity // g + 1e-9)
    room = 0.0                      # accelerators left on nodes opened for jobs smaller than a node
    out = {}
    for k in sorted(wanted, key=lambda k: (k not in first, k)):
        v = wanted[k]
        if v <= 0:
            continue
        if v < g:
            take = float(min(g, max(1.0, round(v))))
            if take > room + 1e-9:
                if free < 1:
                    continue
                free, room = free - 1, room + g
            room -= take
            out[k] = take
            continue
        n = min(free, math.ceil(v / g - 1e-9) if k in first else math.floor(v / g + 0.5))
        if n > 0:
            out[k] = n * g
            free -= n
    return out


def spare_nodes(pool: Pool, failures: FailureModel) -> int:
    """Hot spare nodes that cover the pool's nodes in repair at once (mean, plus three of its
    Poisson deviations): failures per node-hour x nodes x repair hours, by Little's law."""
    if not failures.enabled or failures.rate_per_accelerator_hour <= 0 or pool.capacity <= 0:
        return 0
    in_repair = failures.rate_per_accelerator_hour * pool.capacity * failures.repair_hours
    return min(pool.full_nodes, math.ceil(in_repair + 3 * math.sqrt(in_repair)))


def _pools(rows: pd.DataFrame, s: Scenario, period: str, spares: int | None, failures: FailureModel) -> list[Pool]:
    """The plan's pools in one quarter, priced, with hot spare nodes taken out of their capacity
    (`spares` per pool, or by `spare_nodes`); each tagged with its own id so jobs stay where planned."""
    pools = [Pool(id=f"{r.location}/{r.accelerator}", site=str(r.location), provider=str(r.provider),
                  accelerator=str(r.accelerator), capacity=float(round(r.accelerators)),
                  node_size=catalog_node_size(str(r.accelerator)), node_identity=False, pooled=True)
             for r in rows.itertuples() if round(r.accelerators) >= 1]
    price_pools(Fleet(pools), s, period)
    for pool in pools:
        pool.accelerator = pool.id
        n = min(pool.full_nodes, spare_nodes(pool, failures) if spares is None else spares)
        pool.capacity -= n * pool.g
        pool.spares = n
        pool.reset()
    return pools


def _quarter_outages(all_outages: list[Outage], start: float, length: float) -> list[Outage]:
    out = []
    for o in all_outages:
        a, b = max(o.start_s, start), min(o.start_s + o.duration_s, start + length)
        if b > a:
            out.append(Outage(o.target, a - start, o.start_s + o.duration_s - a))
    return out


def round_trip(s: Scenario, plan: Plan, failures: FailureModel, *, policy: str = "fifo", seed: int = 0,
               until_s: float | None = None, spares: int | None = None, placement: str = "first-fit",
               daly: bool = False, progress: Progress | None = None, failover_after_s: float | None = None,
               transfer_s: float = 0.0, core: str = "auto") -> RoundTrip:
    """Operate the plan over its horizon (or up to `until_s` from its start). Pure: no printing.

    `spares`: hot spare nodes per pool, taken out of the plan's capacity (None: enough to cover
    the nodes expected in repair at once, see `spare_nodes`). `daly`: each quarter, checkpoint at
    Daly's optimal interval for its largest training job (needs a checkpoint write time).
    `failover_after_s`: training jobs leave a pool down this long (None: they wait for it);
    then the round trip runs again without failover, to say which runs it saved. `core`: as in
    `simulate` (the round trip's pools have no node identity: the compiled core runs it when built)."""
    kw: dict[str, Any] = {"policy": policy, "seed": seed, "until_s": until_s, "spares": spares,
                          "placement": placement, "daly": daly, "core": core}
    if failover_after_s is None:
        return _round_trip(s, plan, failures, progress=progress, **kw)

    def step(second: bool) -> Progress | None:          # two passes share one bar
        if progress is None:
            return None
        report = progress
        return lambda k, n: report(k + (n if second else 0), 2 * n)

    rt = _round_trip(s, plan, failures, progress=step(False), failover_after_s=failover_after_s,
                     transfer_s=transfer_s, **kw)
    without = _round_trip(s, plan, failures, progress=step(True), **kw).runs.set_index("run")["status"]
    rt.runs["status_without_failover"] = rt.runs["run"].map(without)
    on_time = rt.runs["status"].isin(["on time", "done (plan missed it)"])
    saved = rt.runs.loc[on_time & rt.runs["status_without_failover"].isin(["late", "not finished"]), "run"]
    rt.summary.update({"failover_after_s": failover_after_s, "transfer_s": transfer_s,
                       "failovers": int(rt.runs["failovers"].sum()), "saved_by_failover": [str(r) for r in saved]})
    rt.notes.append(f"failover after {failover_after_s / 3600:g} h (transfer {transfer_s / 3600:g} h): "
                    f"{rt.summary['failovers']} moves; runs saved by failover (late or unfinished without it, "
                    f"on time with it, same seed): {', '.join(rt.summary['saved_by_failover']) or 'none'}")
    return rt


def _round_trip(s: Scenario, plan: Plan, failures: FailureModel, *, policy: str, seed: int,
                until_s: float | None, spares: int | None, placement: str, daly: bool,
                progress: Progress | None, failover_after_s: float | None = None,
                transfer_s: float = 0.0, core: str = "auto") -> RoundTrip:
    if daly and failures.stall_s <= 0:
        raise SimulationError("Daly's checkpoint interval needs a checkpoint cost: give a checkpoint write time "
                              "(--checkpoint-write) and a stall share above 0")
    capacity, serve = plan.tables["capacity"], plan.tables["serve"]
    if capacity.empty:
        raise SimulationError("the plan has no capacity to simulate")
    periods = list(s.horizon.periods)
    cap_periods = set(capacity["period"].astype(str))
    if not cap_periods <= set(periods):
        raise SimulationError(f"the plan's periods {min(cap_periods)}..{max(cap_periods)} are not the scenario's "
                              f"horizon {periods[0]}..{periods[-1]}; re-run `gigawatt plan` on this scenario")
    peak = _peak_per_accelerator(capacity)
    demands = _demands(s, plan)
    serve = serve.assign(period=serve["period"].astype(str), pool=serve["pool"].astype(str).map(_pool_names(capacity)))
    unknown = serve["pool"].isna() | ~serve["demand"].isin(list(demands))
    if unknown.any():
        raise SimulationError(f"the plan serves {serve.loc[unknown].iloc[0]['demand']!r} from a pool or for a demand "
                              "this scenario does not have; re-run `gigawatt plan` on this scenario")
    end = len(periods) * SECONDS_PER_QUARTER if until_s is None else min(until_s, len(periods) * SECONDS_PER_QUARTER)
    everywhere = [Pool(id=str(p), site="", provider=str(p), accelerator="", capacity=0.0)
                  for p in sorted(capacity["provider"].astype(str).unique())]
    outages = outages_from_scenario(s, Fleet(everywhere), end, seed)
    totals: dict[str, float] = dict.fromkeys(("allocated", "productive", "capacity_s", "cost", "failures",
                                              "events", "wall", "lost", "restart", "checkpoint"), 0.0)
    period_rows: list[dict[str, Any]] = []
    cap_rows: list[dict[str, Any]] = []
    notes: list[str] = []
    n_quarters = math.ceil(end / SECONDS_PER_QUARTER - 1e-12)
    for k in range(n_quarters):
        label, t0 = periods[k], k * SECONDS_PER_QUARTER
        length = min(SECONDS_PER_QUARTER, end - t0)
        rows = capacity[capacity["period"].astype(str) == label]
        pools = {p.id: p for p in _pools(rows, s, label, spares, failures)}
        here = serve[serve["period"] == label]
        jobs = _planned_jobs(here, demands, pools, peak)
        runs = frozenset(name for name, j in jobs.items() if j.demand.kind == "training")
        by_pool: dict[str, dict[str, float]] = {}
        for name, j in jobs.items():
            by_pool.setdefault(j.pool, {})[name] = j.planned
        sizes = {name: size for pid, want in by_pool.items()
                 for name, size in node_sizes(want, pools[pid].capacity, pools[pid].g, runs).items()}
        sizes.update(_late_jobs(demands, set(here["demand"]), pools, sizes, jobs))
        table = _jobs_table(sizes, jobs, peak, length)
        if failover_after_s is not None and not table.empty:
            table["failover"] = _failover_sets(table, jobs, pools, _regions(s))
        held = sum(p.capacity + p.spares * p.g for p in pools.values()) * length
        totals["capacity_s"] += held
        allocated = 0.0
        moved: dict[str, str] = {}
        if not table.empty:
            fm = _daly_interval(failures, table) if daly else failures
            r = simulate(Fleet(list(pools.values())), table, policy, failures=fm,
                         outages=_quarter_outages(outages, t0, length), until_s=length, seed=seed * 1000 + k,
                         gantt_jobs=0, placement=placement, core=core, failover_after_s=failover_after_s,
                         transfer_s=transfer_s)
            notes += [f"{label}: {n}" for n in r.notes if "still waiting" not in n and n != "compiled core"]
            moved = _account(r.jobs, jobs, peak, t0, length, demands)
            allocated = r.allocated_accelerator_hours * 3600
            for key, value in (("allocated", allocated), ("cost", r.cost_usd),
                               ("failures", r.failures), ("events", r.events), ("wall", r.wall_seconds),
                               ("lost", r.work_lost_accelerator_hours * 3600),
                               ("restart", r.restart_accelerator_hours * 3600),
                               ("checkpoint", r.checkpoint_accelerator_hours * 3600)):
                totals[key] += value
            totals["productive"] += float(r.jobs["productive_s"].sum())
        cap_rows.append({"period": label, "accelerators": float(rows["accelerators"].sum()),
                         "peak_exaflops": float(rows["peak_exaflops"].sum()), "mw": float(rows["mw"].sum()),
                         "spare_accelerators": float(sum(p.spares * p.g for p in pools.values())),
                         "utilization": allocated / held if held else 0.0})
        planned = here.groupby("demand")["exaflops"].sum() * length
        for d in demands.values():
            delivered, d.quarter = d.quarter, 0.0
            if d.id in planned.index or delivered > 0:
                period_rows.append({"period": label, "demand": d.id, "kind": d.kind,
                                    "planned_exaflop": float(planned.get(d.id, 0.0)), "delivered_exaflop": delivered})
            if d.kind == "training" and d.id in planned.index:
                d.last = {j.pool: j.planned for j in jobs.values() if j.demand is d and not j.late}
            for name, to in moved.items():          # a run that failed over continues where it went
                j = jobs[name]
                if j.demand is d and j.pool in d.last:
                    d.last[to] = d.last.pop(j.pool)
        if progress is not None:
            progress(k + 1, n_quarters)
    return _assemble(s, plan, demands, period_rows, cap_rows, totals, end, notes, failures, policy)


def _daly_interval(failures: FailureModel, table: pd.DataFrame) -> FailureModel:
    """The failure model with Daly's checkpoint interval for the quarter's largest training job."""
    gangs = table.loc[table["kind"] == "training", "accelerators"]
    if gangs.empty or not failures.enabled or failures.rate_per_accelerator_hour <= 0:
        return failures
    mtbf_s = 3600.0 / (failures.rate_per_accelerator_hour * float(gangs.max()))
    return replace(failures, checkpoint_minutes=young_daly(failures.stall_s, mtbf_s)[1] / 60)


def _planned_jobs(here: pd.DataFrame, demands: dict[str, Demand], pools: dict[str, Pool],
                  peak: dict[str, float]) -> dict[str, JobSpec]:
    """One job per demand and pool the plan serves it from this quarter (a run already done: none)."""
    planned: dict[tuple[str, str], float] = {}
    for row in here.itertuples():
        d = demands[str(row.demand)]
        if (d.kind == "training" and d.remaining <= 0) or str(row.pool) not in pools:
            continue
        acc = str(row.pool).rsplit("/", 1)[-1]
        key = (d.id, str(row.pool))
        planned[key] = planned.get(key, 0.0) + float(row.exaflops) / (d.mfu * peak[acc])
    return {f"{d}@{pid}": JobSpec(demands[d], pid, n) for (d, pid), n in planned.items()}


def _late_jobs(demands: dict[str, Demand], planned: set[str], pools: dict[str, Pool], sizes: dict[str, float],
               jobs: dict[str, JobSpec]) -> dict[str, float]:
    """Runs behind the plan keep their last allocation where the plan's own jobs leave room (in
    whole nodes), queued behind them."""
    used: dict[str, float] = {}
    for name, size in sizes.items():
        pool = pools[jobs[name].pool]
        used[pool.id] = used.get(pool.id, 0.0) + (math.ceil(size / pool.g - 1e-9) * pool.g if size >= pool.g else size)
    out = {}
    for d in demands.values():
        if d.kind != "training" or d.remaining <= 0 or not d.last or d.id in planned:
            continue
        for pid, want in d.last.items():
            if pid not in pools:
                continue
            g = pools[pid].g
            room = pools[pid].full_nodes * g - used.get(pid, 0.0)
            take = min(math.ceil(want / g - 1e-9) * g, math.floor(room / g + 1e-9) * g) \
                if want >= g else min(float(round(want)) or 1.0, math.floor(room))
            if take > 0:
                name = f"{d.id}@{pid}#late"
                out[name] = float(take)
                jobs[name] = JobSpec(d, pid, want, late=True)
                used[pid] = used.get(pid, 0.0) + take
    return out


def _jobs_table(sizes: dict[str, float], jobs: dict[str, JobSpec], peak: dict[str, float],
                length: float) -> pd.DataFrame:
    """Training jobs first (a run's pools share its remaining work so they finish together), then
    inference services, then runs behind the plan."""
    rate: dict[str, float] = {}          # run -> effective EF/s over all its pools
    for name, size in sizes.items():
        j = jobs[name]
        if j.demand.kind == "training":
            rate[j.demand.id] = rate.get(j.demand.id, 0.0) + size * peak[j.pool.rsplit("/", 1)[-1]] * j.demand.mfu
    rows = []
    for name, size in sizes.items():
        j = jobs[name]
        work = j.demand.remaining / rate[j.demand.id] if j.demand.kind == "training" else length
        rows.append({"name": name, "arrival_s": 0.0, "accelerators": size, "work_s": work, "allowed": j.pool,
                     "kind": j.demand.kind, "_order": 2 if j.late else 0 if j.demand.kind == "training" else 1})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def _regions(s: Scenario) -> dict[str, str]:
    """Each plan location's region, as the planner matches demand regions against it."""
    out = {x.id: (x.region or x.country).lower() for x in s.sites}
    out.update({o.id: o.region.lower() for o in s.cloud_offers})
    out.update({c.id: c.region.lower() for c in s.contracts})
    return out


def _failover_sets(table: pd.DataFrame, jobs: dict[str, JobSpec], pools: dict[str, Pool],
                   regions: dict[str, str]) -> list[str]:
    """Per job, the pools a training job may move to: the same accelerator (its speed and the
    plan's peak unchanged), in a region its run allows; services stay."""
    out = []
    for name in table["name"]:
        j = jobs[str(name)]
        acc = j.pool.rsplit("/", 1)[-1]
        out.append("" if j.demand.kind != "training" else "|".join(
            pid for pid, p in pools.items() if pid != j.pool and pid.rsplit("/", 1)[-1] == acc
            and in_regions(regions.get(p.site, ""), j.demand.regions)))
    return out


def _account(out: pd.DataFrame, jobs: dict[str, JobSpec], peak: dict[str, float], t0: float,
             length: float, demands: dict[str, Demand]) -> dict[str, str]:
    """Fold one quarter's per-job outcomes into each demand's books; returns the jobs that failed
    over and the pool each ended on."""
    finished: dict[str, list[float]] = {}
    moved: dict[str, str] = {}
    for row in out.itertuples():
        j = jobs[str(row.name)]
        d = j.demand
        if row.failovers:
            moved[str(row.name)] = str(row.failover_to)
            d.failovers += int(row.failovers)
            d.locations.add(str(row.failover_to).rsplit("/", 1)[0])
        # a service redoes nothing after an outage: it serves while it holds its accelerators
        busy = float(row.productive_s) if d.kind == "training" else float(row.allocated_s - row.restart_s)
        useful = busy * peak[j.pool.rsplit("/", 1)[-1]] * d.mfu
        wall = (float(row.finish) if np.isfinite(row.finish) else length) - float(row.arrival)
        d.quarter += useful
        d.locations.add(j.pool.rsplit("/", 1)[0])
        d.delivered += useful
        d.productive_s += busy
        d.held_s += float(row.size) * wall
        d.planned_s += j.planned * (wall if d.kind == "training" else length)
        d.interruptions += int(row.interruptions)
        d.failure_interruptions += int(row.failure_interruptions)
        if d.kind == "training":
            d.remaining -= useful
            finished.setdefault(d.id, []).append(float(row.finish))
    for run, ends in finished.items():
        d = demands[run]
        if all(np.isfinite(ends)) or d.remaining <= DONE_SHARE * d.required_exaflop:
            d.remaining = 0.0
            d.finish_s = t0 + (max(ends) if all(np.isfinite(ends)) else length)
    return moved


def _assemble(s: Scenario, plan: Plan, demands: dict[str, Demand], period_rows: list[dict[str, Any]],
              cap_rows: list[dict[str, Any]], totals: dict[str, float], end: float, notes: list[str], failures: FailureModel, policy: str) -> RoundTrip:
    periods = list(s.horizon.periods)
    training = plan.tables["training"].set_index("run") if not plan.tables["training"].empty else pd.DataFrame()
    hosts = plan.tables["hosts"].groupby("run")["location"].agg(lambda x: "+".join(map(str, x))) \
        if not plan.tables["hosts"].empty else pd.Series(dtype=str)
    run_rows = []
    for d in (x for x in demands.values() if x.kind == "training"):
        planned_q = training["completion_period"].get(d.id) if d.id in training.index else None
        planned_q = planned_q if isinstance(planned_q, str) and planned_q in periods else None
        planned_day = (periods.index(planned_q) + 1) * SECONDS_PER_QUARTER / DAY if planned_q else math.nan
        sim_day = d.finish_s / DAY
        if planned_q is None:
            status = "missed in plan" if math.isnan(sim_day) else "done (plan missed it)"
        elif math.isnan(sim_day):
            status = "not finished"
        else:
            status = "late" if sim_day > planned_day + 1 / DAY else "on time"
        run_end = s.demand.training[[r.id for r in s.demand.training].index(d.id)].end
        window_day = (periods.index(run_end) + 1) * SECONDS_PER_QUARTER / DAY if run_end in periods else math.nan
        run_rows.append({
            "run": d.id, "host": str(hosts.get(d.id, "+".join(sorted(d.locations)))), "required_exaflop": d.required_exaflop,
            "delivered_exaflop": d.delivered, "planned_completion": planned_q, "planned_day": planned_day,
            "simulated_completion": periods[min(int(d.finish_s // SECONDS_PER_QUARTER), len(periods) - 1)]
            if np.isfinite(d.finish_s) else None,
            "simulated_day": sim_day, "late_days": sim_day - planned_day, "status": status,
            "within_window": bool(np.isfinite(sim_day) and sim_day <= window_day + 1 / DAY),
            "ettr": d.productive_s / d.held_s if d.held_s > 0 else math.nan,
            "availability": d.productive_s / d.planned_s if d.planned_s > 0 else math.nan,
            "interruptions": d.interruptions, "failure_interruptions": d.failure_interruptions,
            "ran_at": "+".join(sorted(d.locations)), "failovers": d.failovers,
        })
    inference_rows = [{"load": d.id, "planned_accelerator_hours": d.planned_s / 3600,
                       "served_accelerator_hours": d.productive_s / 3600,
                       "slo_attainment": d.productive_s / d.planned_s if d.planned_s else math.nan,
                       "interruptions": d.interruptions}
                      for d in demands.values() if d.kind == "inference"]
    runs = pd.DataFrame(run_rows, columns=["run", "host", "required_exaflop", "delivered_exaflop",
                                           "planned_completion", "planned_day", "simulated_completion",
                                           "simulated_day", "late_days", "status", "within_window", "ettr", "availability",
                                           "interruptions", "failure_interruptions", "ran_at", "failovers"])
    inference = pd.DataFrame(inference_rows, columns=["load", "planned_accelerator_hours",
                                                      "served_accelerator_hours", "slo_attainment", "interruptions"])
    by_period = pd.DataFrame(period_rows, columns=["period", "demand", "kind", "planned_exaflop", "delivered_exaflop"])
    held = sum(d.held_s for d in demands.values() if d.kind == "training")
    useful = sum(d.productive_s for d in demands.values() if d.kind == "training")
    cap = totals["capacity_s"]
    summary = {
        "fleet": f"plan over {periods[0]}-{periods[min(len(periods), math.ceil(end / SECONDS_PER_QUARTER)) - 1]}",
        "policy": policy, "quarters": len(cap_rows), "until_s": end,
        "utilization": totals["allocated"] / cap if cap else 0.0,
        "goodput": totals["productive"] / cap if cap else 0.0,
        "ettr": useful / held if held else None,
        "allocated_accelerator_hours": totals["allocated"] / 3600,
        "work_lost_accelerator_hours": totals["lost"] / 3600,
        "restart_accelerator_hours": totals["restart"] / 3600,
        "checkpoint_accelerator_hours": totals["checkpoint"] / 3600,
        "failures": int(totals["failures"]), "cost_usd": totals["cost"], "events": int(totals["events"]),
        "wall_seconds": totals["wall"], "failure_rate_per_accelerator_hour":
            failures.rate_per_accelerator_hour if failures.enabled else 0.0,
        "planned_exaflop": float(by_period["planned_exaflop"].sum()),
        "delivered_exaflop": float(by_period["delivered_exaflop"].sum()),
    }
    return RoundTrip(runs, inference, by_period, pd.DataFrame(cap_rows), summary, notes)
