"""plan_stochastic(scenario, ...) -> Plan: one first stage that hedges across sampled futures.

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

import gigawatt
from gigawatt.errors import PlanError
from gigawatt.periods import parse_quarter, quarter_label
from gigawatt.plan.build import define_model
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.plan.objective import money_npv, penalty_terms
from gigawatt.plan.pools import cover_groups
from gigawatt.plan.result import Plan
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.model import Scenario
from gigawatt.scenario.sample import draw

Future = dict[str, float]
Progress = Callable[[str, dict[str, Any]], None]


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
        arrays = [getattr(q, f.name).transpose(*a.dims) for q in inputs]
        if all(x.identical(a) for x in arrays[1:]):
            continue
        changes[f.name] = xr.concat(arrays, dim=futures)
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
            m.add_constraints(build.sel(period=first) - shared == 0, name="non_anticipative_build")
        if len(p.lot):
            cloud = m.variables["cloud_new"]
            open_lots = (cloud.labels.sel(period=first) >= 0).any("scenario")
            shared = m.add_variables(lower=0, coords=[p.lot, first], mask=open_lots, name="cloud_new_first")
            m.add_constraints(cloud.sel(period=first) - shared == 0, mask=cloud.labels.sel(period=first) >= 0,
                              name="non_anticipative_cloud")
    money = money_npv(m, p, ex)
    terms = penalty_terms(m, p)
    cost = money + sum(terms.values())
    prob = xr.DataArray(probability, coords=[p.futures])
    expected = (cost * prob).sum()
    objective = expected
    cvar = None
    if risk_weight > 0:
        eta = m.add_variables(name="value_at_risk")
        excess = m.add_variables(lower=0, coords=[p.futures], name="cost_excess")
        m.add_constraints(excess - cost + eta >= 0, name="cvar_excess")
        cvar = eta + (excess * prob).sum() / (1 - risk_alpha)
        objective = expected + risk_weight * cvar
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


def _highs(scenario: Scenario, time_left: float) -> dict[str, Any]:
    return {"output_flag": False, "log_to_console": False, "threads": 1,
            "time_limit": max(time_left, 1.0), "mip_rel_gap": scenario.policy.mip_gap}


def solve_extensive_form(sm: StochasticModel, scenario: Scenario, deadline: float) -> dict[str, Any]:
    from gigawatt.plan.solve import _quiet_stdout

    m = sm.m
    with _quiet_stdout():
        status, condition = m.solve(solver_name="highs", io_api="direct",
                                    **_highs(scenario, deadline - time.perf_counter()))
    if m.objective.value is None or not np.isfinite(m.objective.value):
        raise PlanError(f"HiGHS found no stochastic plan (status {status}, {condition}); "
                        "try fewer futures, a larger policy.time_limit_s or a looser policy.mip_gap")
    gap = 0.0
    if m.variables.binaries.nvars:
        gap = max(float(m.solver_model.getInfo().mip_gap), 0.0)
    return {"solver_status": status, "termination": str(condition), "mip_gap": gap}


def _table(var: Any, name: str, keep: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    df = var.solution.to_dataframe(name).reset_index()
    df = df[df[name].abs() > 1e-6].reset_index(drop=True)
    return keep(df) if keep else df


def first_stage_tables(sm: StochasticModel) -> dict[str, pd.DataFrame]:
    """builds, rentals and hosts the stochastic plan fixes for every future."""
    m = sm.m
    builds = (_table(m.variables["build_mw_first"], "mw_started") if "build_mw_first" in m.variables
              else pd.DataFrame(columns=["site", "period", "mw_started"]))
    rentals = (_table(m.variables["cloud_new_first"], "units_started") if "cloud_new_first" in m.variables
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
           "scenario_builds": _table(m.variables["build_mw"], "mw_started"),
           "scenario_purchases": _table(m.variables["install"], "units"),
           "scenario_rentals": _table(m.variables["cloud_new"], "units_started")}
    if "unmet" in m.variables:
        out["scenario_unmet"] = _table(m.variables["unmet"], "unmet_ef")
    return out


class _OutOfTime(Exception):
    pass


def _in_time(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise _OutOfTime


def evaluate_first_stage(scenario: Scenario, fs_tables: dict[str, pd.DataFrame], futures: Sequence[Future],
                         horizon_label: str, deadline: float | None = None) -> np.ndarray:
    """Each future's cost (money + penalties) with this first stage fixed, by the stress evaluator."""
    # the rebuild evaluator: the in-place one refuses openai-2025 on main (its self-check fails)
    from gigawatt.stress.evaluate import RebuildEvaluator
    from gigawatt.stress.first_stage import FirstStage

    contracts = [c.id for c in scenario.contracts]
    fs = FirstStage(horizon_label, fs_tables["builds"], fs_tables["rentals"], fs_tables["hosts"], contracts)
    ev = RebuildEvaluator(scenario, fs)
    costs = []
    for values in futures:
        _in_time(deadline)
        costs.append(ev.objective(dict(values)))
    return np.array(costs, dtype=float)


def _plan_with_first_stage(scenario: Scenario, fs_tables: dict[str, pd.DataFrame], horizon_label: str,
                           deadline: float) -> Plan:
    """The base future's plan with the stochastic first stage fixed: the tables a Plan shows."""
    from gigawatt.plan.build import build_model
    from gigawatt.plan.solve import _assemble, _solve
    from gigawatt.stress.first_stage import FirstStage, fix_first_stage

    p = build_inputs(scenario)
    m, ex = build_model(p)
    fs = FirstStage(horizon_label, fs_tables["builds"], fs_tables["rentals"], fs_tables["hosts"],
                    [c.id for c in scenario.contracts])
    fix_first_stage(m, p, fs)
    placement = _solve(p, m, None, deadline, lambda phase, info: None)
    result = _assemble(p, m, ex)
    result.metadata.update(placement)
    return result


def plan_stochastic(scenario: Scenario, futures: int | Sequence[Future] = 10, *, seed: int = 0,
                    probabilities: Sequence[float] | None = None, risk_alpha: float = 0.95,
                    risk_weight: float = 0.0, value_of_hedging: bool = True,
                    progress: Progress | None = None) -> Plan:
    """A plan whose first stage hedges across `futures` (a number to draw with `seed`, or the
    futures themselves as factor values), minimising expected cost + risk_weight * CVaR."""
    from gigawatt.plan.solve import scenario_hash

    report = progress or (lambda phase, info: None)
    if not 0 < risk_alpha < 1:
        raise PlanError(f"--risk-alpha must lie strictly between 0 and 1, got {risk_alpha}")
    if risk_weight < 0:
        raise PlanError(f"--risk-weight must be 0 or more, got {risk_weight}")
    t0 = time.perf_counter()
    deadline = t0 + float(scenario.policy.time_limit_s)
    if isinstance(futures, int):
        if futures < 1:
            raise PlanError(f"--stochastic needs at least 1 future, got {futures}")
        drawn, prob = futures_of(scenario, futures, seed)
    else:
        drawn = [dict(f) for f in futures]
        prob = np.full(len(drawn), 1.0 / len(drawn)) if probabilities is None else np.asarray(probabilities, float)
    if len(prob) != len(drawn) or not math.isclose(float(prob.sum()), 1.0, rel_tol=1e-9) or (prob < 0).any():
        raise PlanError("futures' probabilities must be one per future, non-negative, and sum to 1")
    report("inputs", {"futures": len(drawn)})
    p = stack_inputs([build_inputs(apply_sample(scenario, f)) for f in drawn])
    decision_q = decision_quarter(scenario)
    label = quarter_label(decision_q)
    report("build", {})
    sm = build_extensive_form(p, prob, decision_q, risk_alpha, risk_weight)
    t_build = time.perf_counter() - t0
    report("solve", {"variables": int(sm.m.nvars), "constraints": int(sm.m.ncons),
                     "binaries": int(sm.m.variables.binaries.nvars)})
    t1 = time.perf_counter()
    solved = solve_extensive_form(sm, scenario, deadline)
    t_solve = time.perf_counter() - t1
    report("results", {})
    fs_tables = first_stage_tables(sm)
    per_future = recourse_tables(sm, prob)
    costs = per_future["scenario_costs"]["cost_usd"].to_numpy()
    expected = float(np.dot(costs, prob))
    stats: dict[str, Any] = {
        "futures": len(drawn), "seed": seed if isinstance(futures, int) else None,
        "decision_horizon": label, "risk_alpha": risk_alpha, "risk_weight": risk_weight,
        "expected_cost_usd": expected, "cvar_usd": cvar(costs, prob, risk_alpha),
        "extensive_form": {"variables": int(sm.m.nvars), "constraints": int(sm.m.ncons),
                           "binaries": int(sm.m.variables.binaries.nvars), "build_seconds": t_build,
                           "solve_seconds": t_solve, **solved},
    }
    if value_of_hedging:
        report("measuring the value of hedging: the mean future's plan and each future's own plan", {})
        try:
            stats.update(value_of_stochastic_solution(scenario, drawn, prob, expected, label, deadline))
        except _OutOfTime:
            stats.update({"vss_usd": None, "evpi_usd": None, "value_note": "VSS and EVPI not computed within "
                          "policy.time_limit_s (they need one plan per future); raise it to see them"})
        if risk_weight > 0:
            neutral = plan_stochastic(scenario, drawn, probabilities=list(prob), risk_alpha=risk_alpha,
                                      value_of_hedging=False)
            n_stats = neutral.metadata["stochastic"]
            stats["price_of_risk_aversion"] = {
                "expected_cost_up_usd": expected - n_stats["expected_cost_usd"],
                "cvar_down_usd": n_stats["cvar_usd"] - stats["cvar_usd"]}
    result = _plan_with_first_stage(scenario, fs_tables, label, max(deadline, time.perf_counter() + 60))
    result.tables.update(per_future)
    result.metadata.update({
        "scenario": scenario.name, "scenario_hash": scenario_hash(scenario), "version": gigawatt.__version__,
        "solver": "highs", "build_seconds": t_build, "solve_seconds": t_solve,
        "variables": int(sm.m.nvars), "constraints": int(sm.m.ncons), "stochastic": stats,
        "mip_gap": max(solved["mip_gap"], float(result.metadata.get("mip_gap", 0.0))),
    })
    if solved["termination"] != "optimal" and result.status == "optimal":
        result.status = "feasible"
    return result


def value_of_stochastic_solution(scenario: Scenario, futures: Sequence[Future], prob: np.ndarray,
                                 expected: float, label: str, deadline: float | None = None) -> dict[str, float]:
    """VSS: the mean future's plan evaluated in the same futures, minus the stochastic plan's
    expected cost; EVPI: the stochastic expected cost minus the mean of each future's own optimum."""
    from gigawatt.plan.solve import plan as plan_one

    mean_plan = plan_one(apply_sample(scenario, mean_future(futures, prob)))
    tables = {k: _before(mean_plan.tables.get(k, pd.DataFrame()), label) for k in ("builds", "rentals")}
    tables["hosts"] = mean_plan.tables.get("hosts", pd.DataFrame(columns=["run", "kind", "location"]))
    deterministic = evaluate_first_stage(scenario, tables, futures, label, deadline)
    own = []
    for f in futures:
        _in_time(deadline)
        own.append(plan_one(apply_sample(scenario, dict(f))).objective_usd)
    det_expected = float(np.dot(deterministic, prob))
    wait_and_see = float(np.dot(np.array(own), prob))
    return {"deterministic_expected_cost_usd": det_expected, "vss_usd": det_expected - expected,
            "wait_and_see_cost_usd": wait_and_see, "evpi_usd": expected - wait_and_see}


def _before(df: pd.DataFrame, label: str) -> pd.DataFrame:
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
