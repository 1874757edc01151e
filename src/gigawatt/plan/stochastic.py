"""The extensive form: one first stage that hedges across sampled futures (the planner's layer).

The extensive form is the planner's own model over one more coordinate, ``scenario`` (a sampled
future): every uncertain input array is stacked along it, the same ``define_*`` functions build
the variables and constraints, and broadcasting repeats recourse per future. First-stage
decisions follow ``stress.first_stage`` (facility builds and cloud terms started before the
decision horizon, where co-located runs are hosted): hosts are variables without the scenario
dimension, and builds and cloud terms before the horizon are tied to shared variables without
it (``build_mw_first``, ``cloud_new_first``), so the plan is non-anticipative by construction.

Objective: probability-weighted expected cost (real money plus penalties, per future) plus
``w * CVaR_alpha`` of the futures' costs (Rockafellar-Uryasev:
``eta + 1/(1-alpha) * sum_s prob_s * max(0, cost_s - eta)``).

This module knows the planner only: it takes each future's ``PlanInputs`` and returns the
solved model's first stage and recourse. Evaluating plans in futures (VSS, the out-of-sample
check, batched sample-average approximation) needs the stress evaluator and lives above both,
in ``gigawatt.hedging``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from linopy import LinearExpression, Model

from gigawatt.errors import PlanError
from gigawatt.periods import parse_quarter
from gigawatt.plan.build import define_model
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.objective import cost_terms, money_npv
from gigawatt.plan.pools import cover_groups
from gigawatt.plan.sharing import shortfall_by_demand
from gigawatt.plan.solve import solve_model
from gigawatt.plan.terms import constrain, linear, term
from gigawatt.scenario.model import Scenario
from gigawatt.scenario.sample import draw

Future = dict[str, float]


@dataclasses.dataclass(frozen=True)
class StochasticModel:
    m: Model
    p: PlanInputs                 # inputs stacked over the futures
    ex: Expressions
    first: pd.Index               # periods before the decision horizon
    cost: LinearExpression        # per-future cost (money + penalties), scenario dim
    money: LinearExpression       # per-future real money
    expected: LinearExpression
    cvar: LinearExpression | None


def decision_quarter(scenario: Scenario) -> int:
    """First quarter of recourse: the same rule as stress.first_stage."""
    given = scenario.uncertainty.decision_horizon if scenario.uncertainty else None
    return parse_quarter(given) if given else parse_quarter(scenario.horizon.start) + 4


def stack_inputs(inputs: Sequence[PlanInputs]) -> PlanInputs:
    """One PlanInputs over the futures: arrays that differ between futures gain a scenario dim."""
    base = inputs[0]
    futures = pd.Index(range(len(inputs)), name="scenario")
    changes: dict[str, Any] = {"futures": futures}
    for f in dataclasses.fields(PlanInputs):
        a = getattr(base, f.name)
        if isinstance(a, pd.Index):
            for other in inputs[1:]:
                if not a.equals(getattr(other, f.name)):
                    raise PlanError(f"internal: futures differ in their {f.name} (a sampled future must keep "
                                    "every id of the scenario)")
        if not isinstance(a, xr.DataArray):
            continue
        arrays = [getattr(q, f.name) for q in inputs]
        if all(x is a for x in arrays[1:]):      # futures derived from one base share its arrays
            continue
        own = a.indexes
        for x in arrays[1:]:
            theirs = x.indexes
            if set(x.dims) != set(a.dims) or not all(theirs[d].equals(own[d]) for d in own):
                raise PlanError(f"internal: futures differ in the coordinates of {f.name}")
        values = np.stack([np.asarray(x.values if x.dims == a.dims else x.transpose(*a.dims).values)
                           for x in arrays])
        if (values == values[0]).all() or (values.dtype.kind == "f" and np.array_equal(values, values[:1].repeat(
                len(values), 0), equal_nan=True)):
            continue
        # one numpy stack instead of xr.concat: the futures share every coordinate (checked above)
        changes[f.name] = xr.DataArray(values, coords={"scenario": futures, **a.coords}, dims=("scenario", *a.dims),
                                       name=a.name, attrs=a.attrs)
    return dataclasses.replace(base, **changes)


def build_extensive_form(p: PlanInputs, probability: np.ndarray, decision_q: int, risk_alpha: float = 0.95,
                         risk_weight: float = 0.0) -> StochasticModel:
    assert p.futures is not None
    m = Model(force_dim_names=True)
    ex = define_model(m, p, cover_groups_of(p))
    first = pd.Index([q for q in p.period if parse_quarter(str(q)) < decision_q], name="period")
    if len(first):
        if len(p.site):
            build = m.variables["build_mw"]
            shared = m.add_variables(lower=0, coords=[p.site, first], name="build_mw_first")
            constrain(m, [term(build.labels.sel(period=first)), term(shared, -1.0)], "==", 0,
                      name="non_anticipative_build")
        if len(p.lot):
            cloud = m.variables["cloud_new"].labels.sel(period=first)
            shared = m.add_variables(lower=0, coords=[p.lot, first], mask=(cloud >= 0).any("scenario"),
                                     name="cloud_new_first")
            constrain(m, [term(cloud), term(shared, -1.0)], "==", 0, mask=cloud >= 0,
                      name="non_anticipative_cloud")
    money = money_npv(m, p, ex)
    costs = cost_terms(m, p, ex)
    cost = linear(m, *costs)
    prob = xr.DataArray(probability, coords=[p.futures])
    weighted = [t.times(prob).summed(["scenario"]) for t in costs]
    expected = linear(m, *weighted)
    objective = expected
    cvar = None
    if risk_weight > 0:
        eta = m.add_variables(name="value_at_risk")
        excess = m.add_variables(lower=0, coords=[p.futures], name="cost_excess")
        constrain(m, [term(excess), *(-t for t in costs), term(eta)], ">=", 0, name="cvar_excess")
        tail = [term(eta), term(excess, prob / (1 - risk_alpha), over="scenario")]
        cvar = linear(m, *tail)
        objective = linear(m, *weighted, *(t.times(risk_weight) for t in tail))
    m.add_objective(objective)
    return StochasticModel(m, p, ex, first, cost, money, expected, cvar)


def cover_groups_of(p: PlanInputs) -> Any:
    """N-1 cover groups from the first future's structure (every future keeps the same ids)."""
    if p.futures is None:
        return cover_groups(p)
    one = {f.name: getattr(p, f.name).isel(scenario=0, drop=True) for f in dataclasses.fields(PlanInputs)
           if isinstance(getattr(p, f.name), xr.DataArray) and "scenario" in getattr(p, f.name).dims}
    return cover_groups(dataclasses.replace(p, futures=None, **one))


def futures_of(scenario: Scenario, n: int, seed: int) -> tuple[list[Future], np.ndarray]:
    """n futures drawn exactly as `gigawatt stress` draws them (same sampler, same seed)."""
    if scenario.uncertainty is None:
        raise PlanError("--stochastic needs an uncertainty: section in the scenario; add one "
                        "(see examples/openai-2025.yaml)")
    drawn = draw(scenario.uncertainty, scenario.horizon.start, n, seed)
    return [drawn.sample(i) for i in range(n)], np.full(n, 1.0 / n)


def mean_future(futures: Sequence[Future], probability: np.ndarray) -> Future:
    """The expected-value future: each factor's weighted mean; its weighted median where a value
    can be infinite (a default quarter: 'never' has no mean)."""
    names = sorted({k for f in futures for k in f})
    out: Future = {}
    for name in names:
        values = np.array([f.get(name, math.nan) for f in futures], dtype=float)
        if np.isfinite(values).all():
            out[name] = float(np.dot(values, probability))
        else:
            order = np.argsort(values)
            cum = np.cumsum(probability[order])
            out[name] = float(values[order][np.searchsorted(cum, 0.5 - 1e-12)])
    return out


# Above this many variables a future, the relaxation goes to interior point. Dual simplex wins on
# many small blocks (openai-2025, 2.8k a future: 11 s against 39 s at 100 futures); on large ones
# its iterations grow with the block and it loses (plan_scale.py's 32-quarter model, 49k a future:
# at 5 futures not done in 300 s, interior point 262 s). A single future of that size is what the
# deterministic planner already solves by interior point.
IPM_FROM_VARIABLES_PER_FUTURE = 20_000


def relaxation_method(variables: int, futures: int) -> str:
    """HiGHS's algorithm for the extensive form's LP relaxation, by the size of one future's block."""
    return "ipm" if variables / max(futures, 1) > IPM_FROM_VARIABLES_PER_FUTURE else "simplex"


def solve_extensive_form(sm: StochasticModel, scenario: Scenario, deadline: float) -> dict[str, Any]:
    """Solve within the deadline by the planner's own path (plan.solve): the LP relaxation as the
    bound (by dual simplex where the futures' blocks are small, by interior point where they are
    large: `relaxation_method`), hosts and missed runs rounded from it and re-solved warm, branch
    and bound from there only if the rounded plan is beyond policy.mip_gap. Returns the plan's
    termination, its gap to the relaxation's bound, that bound and the relaxation's method."""
    p = dataclasses.replace(sm.p, scenario=scenario)
    n = len(sm.p.futures) if sm.p.futures is not None else 1
    method = relaxation_method(int(sm.m.nvars), n)
    try:
        placed = solve_model(p, sm.m, None, deadline, lambda phase, info: None, relaxation=method)
    except PlanError as e:
        raise PlanError(f"no stochastic plan over {n} futures: {e}; or plan fewer futures, or the same "
                        "in batches (--batches K)") from None
    return {"solver_status": placed["solver_status"], "termination": placed["termination"],
            "mip_gap": placed["mip_gap"], "placement_method": placed["placement_method"],
            "relaxation_method": method,
            "objective_usd": float(sm.m.objective.value or 0.0), "objective_bound_usd": placed["objective_bound_usd"]}


def _table(values: xr.DataArray, name: str, keep: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    df = values.to_dataframe(name).reset_index()
    df = df[df[name].abs() > 1e-6].reset_index(drop=True)
    return keep(df) if keep else df


def first_stage_tables(sm: StochasticModel) -> dict[str, pd.DataFrame]:
    """builds, rentals and hosts the stochastic plan fixes for every future."""
    m = sm.m
    builds = (_table(m.variables["build_mw_first"].solution, "mw_started") if "build_mw_first" in m.variables
              else pd.DataFrame(columns=["site", "period", "mw_started"]))
    rentals = (_table(m.variables["cloud_new_first"].solution, "units_started") if "cloud_new_first" in m.variables
               else pd.DataFrame(columns=["lot", "period", "units_started"]))
    hosts = []
    for kind in ("site", "offer", "contract"):
        name = f"host_{kind}"
        if name in m.variables and m.variables[name].size:
            sol = m.variables[name].solution.to_dataframe("on").reset_index()
            hosts += [{"run": r["run"], "kind": kind, "location": r[kind]} for _, r in sol.iterrows() if r["on"] > 0.5]
    return {"builds": builds, "rentals": rentals,
            "hosts": pd.DataFrame(hosts, columns=["run", "kind", "location"])}


def recourse_tables(sm: StochasticModel, probability: np.ndarray) -> dict[str, pd.DataFrame]:
    """Per-future costs and recourse decisions (the scenario column is the future's index)."""
    m = sm.m
    cost = sm.cost.solution.to_pandas()
    money = sm.money.solution.to_pandas()
    costs = pd.DataFrame({"scenario": cost.index.astype(int), "probability": probability,
                          "money_usd": money.values, "penalty_usd": (cost - money).values,
                          "cost_usd": cost.values})
    out = {"scenario_costs": costs,
           "scenario_builds": _table(m.variables["build_mw"].solution, "mw_started"),
           "scenario_purchases": _table(m.variables["install"].solution, "units"),
           "scenario_rentals": _table(m.variables["cloud_new"].solution, "units_started")}
    if "unmet" in m.variables:
        # a class's shortfall shared by demand in each future (which member the LP left short is arbitrary)
        out["scenario_unmet"] = _table(shortfall_by_demand(m.variables["unmet"].solution, sm.p), "unmet_ef")
    return out


def decided_before(df: pd.DataFrame, label: str) -> pd.DataFrame:
    if df is None or df.empty:
        return pd.DataFrame(columns=list(df.columns) if df is not None else [])
    first = parse_quarter(label)
    return df[[parse_quarter(str(q)) < first for q in df["period"]]].reset_index(drop=True)


def cvar(costs: np.ndarray, prob: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution (Rockafellar-Uryasev, exact at the atoms)."""
    order = np.argsort(costs)
    c, w = costs[order], prob[order]
    cum = np.cumsum(w)
    var = float(c[np.searchsorted(cum, alpha - 1e-12)])
    return var + float(np.dot(w, np.maximum(c - var, 0.0))) / (1 - alpha)


class NoPlanInTime(PlanError):
    """The extensive form found no plan within the time limit; `stats` says how big it was and
    where the time went."""

    def __init__(self, message: str, stats: dict[str, Any]) -> None:
        super().__init__(message)
        self.stats = stats


@dataclasses.dataclass
class ExtensiveSolution:
    first_stage: dict[str, pd.DataFrame]      # builds, rentals, hosts shared by every future
    recourse: dict[str, pd.DataFrame]         # scenario_costs, scenario_builds, ...
    costs: np.ndarray                         # each future's cost (money + penalties)
    stats: dict[str, Any]                     # size, build and solve seconds, termination, gap, bound


def solve_futures(scenario: Scenario, inputs: Sequence[PlanInputs], probability: np.ndarray, *,
                  risk_alpha: float = 0.95, risk_weight: float = 0.0, deadline: float) -> ExtensiveSolution:
    """Stack the futures' inputs, build the extensive form, solve it within the deadline."""
    t0 = time.perf_counter()
    p = stack_inputs(inputs)
    sm = build_extensive_form(p, probability, decision_quarter(scenario), risk_alpha, risk_weight)
    t1 = time.perf_counter()
    size = {"variables": int(sm.m.nvars), "constraints": int(sm.m.ncons),
            "binaries": int(sm.m.variables.binaries.nvars)}     # the solve relaxes them
    try:
        solved = solve_extensive_form(sm, scenario, deadline)
    except PlanError as e:
        raise NoPlanInTime(str(e), {**size, "build_seconds": t1 - t0,
                                    "solve_seconds": time.perf_counter() - t1}) from None
    t2 = time.perf_counter()
    recourse = recourse_tables(sm, probability)
    first = first_stage_tables(sm)
    stats = {**size, "build_seconds": t1 - t0, "solve_seconds": t2 - t1,
             "tables_seconds": time.perf_counter() - t2, **solved}
    return ExtensiveSolution(first, recourse, recourse["scenario_costs"]["cost_usd"].to_numpy(), stats)
