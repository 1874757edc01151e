"""plan(scenario) -> Plan: build, solve with HiGHS, read duals, explain."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from linopy import Model, Variable, solvers

import gigawatt
from gigawatt.errors import PlanError
from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan import extract
from gigawatt.plan.build import build_model
from gigawatt.plan.explain import (
    binding_constraints,
    explain_missed_runs,
    explain_shortfalls,
    slack_explanations,
)
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.plan.objective import money_npv, penalty_terms
from gigawatt.plan.result import Plan
from gigawatt.plan.rounding import round_hosts, round_missed
from gigawatt.scenario.model import Scenario

Progress = Callable[[str, dict[str, Any]], None]


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on fd 1 even when told not to log; keep JSON output clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def _linopy_status_warnings_muted() -> Iterator[None]:
    """Rounding tries pins that may be infeasible: linopy would log "Optimization potentially
    failed" for each, although the planner reads every status itself and says what it means."""
    log = logging.getLogger("linopy")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _highs_options(p: PlanInputs, log_fn: str | None) -> dict[str, Any]:
    """Options for the live model (each run sets its own time limit: see `_run`)."""
    options: dict[str, Any] = {"output_flag": log_fn is not None, "log_to_console": False,
                               "mip_rel_gap": p.scenario.policy.mip_gap, "threads": 1}
    if log_fn:
        options["log_file"] = log_fn
    return options


def _check_solution(objective: float | None, status: str, condition: str) -> None:
    if objective is None or not np.isfinite(objective):
        raise PlanError(f"HiGHS found no solution (status {status}, {condition}); "
                        "try a larger policy.time_limit_s or a looser policy.mip_gap")


def _require_solved(p: PlanInputs, outcome: Outcome) -> None:
    """The LP the plan's tables and duals come from must be solved, not stopped by a limit."""
    _check_solution(outcome.objective, outcome.status, outcome.condition)
    if not outcome.solved:
        raise PlanError(f"the time limit ran out before the plan's final LP was solved ({outcome.condition}); "
                        f"raise policy.time_limit_s (now {p.scenario.policy.time_limit_s:g} s)")


@dataclass(frozen=True)
class Outcome:
    """One HiGHS run as the planner reads it: linopy's status and condition, the objective, and
    each variable's value by linopy label. Only the final LP is written back onto the model
    (every variable and dual: about 0.2 s a run at 50k variables); the rounding re-solves read
    the few values they need from here."""
    status: str
    condition: str
    objective: float | None
    primal: np.ndarray

    @property
    def solved(self) -> bool:
        """An LP solved to optimality (a limit that stopped HiGHS leaves an unfinished solution)."""
        return _solved(self.status, self.condition) and self.objective is not None

    def value(self, var: Variable) -> xr.DataArray:
        """The variable's values (NaN where it has no entry), as `var.solution` would give them."""
        labels = var.labels.values
        found = len(self.primal) > 0
        values = self.primal[np.where(labels >= 0, labels, 0)] if found else np.zeros(labels.shape)
        values = np.where((labels >= 0) & found, values, np.nan) / var.solver_scaling.values
        return xr.DataArray(values, var.labels.coords, dims=var.labels.dims)


def _run(solver: solvers.Solver, m: Model, deadline: float, algorithm: str = "choose",
         *, mip: bool = False, write_back: bool = False) -> Outcome:
    """Apply the model's changes to the live HiGHS model in place and re-run it (warm).

    Note linopy's status is "ok" when a limit stopped HiGHS with a solution in hand: only
    condition "optimal" means the LP was solved. `write_back`: also write every value and dual
    onto the model (`var.solution`, `con.dual`, `m.objective.value`), as the plan's tables need."""
    h = solver.solver_model
    left = max(deadline - time.perf_counter(), 1.0)
    # HiGHS holds an LP's time limit against the instance's run time summed over every run so
    # far, and branch and bound's against its own time since it started
    h.setOptionValue("time_limit", left if mip else h.getRunTime() + left)
    h.setOptionValue("solver", algorithm)
    with _quiet_stdout(), _linopy_status_warnings_muted():
        result = solver.solve(model=m, disallow_rebuild=True)
        if write_back:
            m.assign_result(result, solver=solver)
    solution = result.solution
    objective = solution.objective / m.objective.scaling if solution is not None else None
    return Outcome(status=result.status.status.value, condition=str(result.status.termination_condition.value),
                   objective=float(objective) if objective is not None and np.isfinite(objective) else None,
                   primal=solution.primal if solution is not None else np.array([]))


def _pin(m: Model, values: dict[str, xr.DataArray]) -> None:
    """Fix binaries at the given 0/1 values by their bounds: the model keeps its shape, so HiGHS
    re-solves in place from where it was."""
    for name, value in values.items():
        var = m.variables[name]
        fixed = value.broadcast_like(var.lower).fillna(0.0)
        var.update(lower=fixed, upper=fixed)


def _unpin(m: Model, bounds: dict[str, tuple[xr.DataArray, xr.DataArray]]) -> None:
    """Give binaries back the bounds the model was built with (a run missed up front stays missed)."""
    for name, (lower, upper) in bounds.items():
        m.variables[name].update(lower=lower, upper=upper)


def _round(m: Model, solver: solvers.Solver, deadline: float, relaxed: Outcome) -> Outcome | None:
    """From the solved relaxation: each run may only be hosted where the relaxation hosts most of
    it; re-solve. A run then hosted there only in part (its cluster conflicts with others', e.g.
    chip deals cannot fill every cluster at once) is either hosted there whole or nowhere: both
    are tried, the cheaper kept. Then pin which runs are missed (those the re-solve misses half
    of; if serving the rest whole is infeasible, any it misses). Every re-solve starts warm.
    The pinned plan's solve, the model left pinned at it (beyond the gap, it is where branch and
    bound starts: far better than what HiGHS's own heuristics find first on large models), or
    None if pinning left no feasible plan or no time."""
    hosts = [name for name in m.variables if name.startswith("host_")]
    chosen = round_hosts({name: relaxed.value(m.variables[name]) for name in hosts})
    for name, pick in chosen.items():
        m.variables[name].update(lower=0.0, upper=pick.fillna(0.0))
    restricted = _run(solver, m, deadline, "simplex")
    if not restricted.solved:
        return None
    solution = {name: restricted.value(m.variables[name]) for name in hosts}
    # a hair under 1 is HiGHS's tolerance, not a split: pin the value it found, not a rounded 1
    nowhere = {name: v.where(v >= 1 - 1e-6, 0.0) for name, v in solution.items()}
    whole = {name: v.where(v >= 1 - 1e-6, (v > 1e-6).astype(float)) for name, v in solution.items()}
    split = any(not whole[name].equals(nowhere[name]) for name in hosts)
    options = [nowhere, whole] if split else [nowhere]
    tried = [_pin_hosts_and_missed(m, solver, deadline, hosting) for hosting in options]
    feasible = [found for found in tried if found is not None]
    if not feasible:
        return None
    best = min(feasible, key=lambda found: found[0].objective or 0.0)
    if best is tried[-1]:          # the model holds the last one tried
        return best[0]
    _pin(m, best[1])
    again = _run(solver, m, deadline, "simplex")
    return again if again.solved else None


def _pin_hosts_and_missed(m: Model, solver: solvers.Solver, deadline: float, hosting: dict[str, xr.DataArray],
                          ) -> tuple[Outcome, dict[str, xr.DataArray]] | None:
    """Pin the hosts, re-solve, pin which runs are missed, re-solve: the solve and every pin."""
    _pin(m, hosting)
    hosted = _run(solver, m, deadline, "simplex")
    if not hosted.solved:
        return None
    solved = hosted.value(m.variables["missed"]) if "missed" in m.variables else None
    near, safe = round_missed(solved, up=False), round_missed(solved, up=True)
    same = all(near[name].equals(safe[name]) for name in near)
    for choice in [near] if same else [near, safe]:
        _pin(m, choice)
        outcome = _run(solver, m, deadline, "simplex")
        if outcome.solved:
            return outcome, {**hosting, **choice}
    return None


def _solved(status: str, condition: str) -> bool:
    """An LP solved to optimality (a limit that stopped HiGHS leaves an unfinished solution)."""
    return status == "ok" and condition == "optimal"


def solve_model(p: PlanInputs, m: Model, log: str | None, deadline: float,
                report: Progress, relaxation: str = "ipm") -> dict[str, Any]:
    """Solve. With binaries (co-location, training completion): solve the LP relaxation, round it
    and re-solve with the choices pinned; if that plan is within the MIP gap of the relaxation's
    bound it is the answer, else branch and bound starts from it. Either way the final solve is
    an LP with the choices pinned, so duals price compute at the plan's own optimum.
    `relaxation`: HiGHS's algorithm for the relaxation (a stochastic plan's extensive form,
    many loosely linked blocks, solves faster by dual simplex)."""
    options = _highs_options(p, log)
    with _quiet_stdout():     # HiGHS prints its banner when the model is handed over
        solver = solvers.Solver.from_name("highs", model=m, io_api="direct", track_updates=True, options=options,
                                          explicit_coordinate_names=False, set_names=False)
    # a family with no entries (no training runs: `missed` is all masked) places nothing
    binaries = [name for name in m.variables.binaries if bool((m.variables[name].labels >= 0).any())]
    built = {name: (m.variables[name].lower.copy(), m.variables[name].upper.copy()) for name in binaries}
    if not binaries:
        final = _run(solver, m, deadline, write_back=True)
        _require_solved(p, final)
        return {"mip_gap": 0.0, "placement_method": "none", "solver_status": final.status,
                "termination": final.condition, "objective_bound_usd": float(final.objective or 0.0)}
    for name in binaries:
        m.variables[name].relax()
    # IPM: large relaxations solve several times faster than with simplex; crossover leaves a
    # basis, so the pinned re-solve below is a short warm start
    t_relax = time.perf_counter()
    relaxation_run = _run(solver, m, deadline, relaxation)
    # only an optimal relaxation bounds the optimum (one stopped by the time limit bounds nothing)
    relaxed = relaxation_run.solved
    bound = float(relaxation_run.objective or 0.0) if relaxed else -math.inf
    relaxation_s = time.perf_counter() - t_relax
    relaxed_basis = solver.solver_model.getBasis() if relaxed else None
    # a warm re-solve with choices pinned takes a fraction of the relaxation; one that takes
    # longer is usually proving the pins infeasible, and branch and bound should have the time
    rounded = (_round(m, solver, min(deadline, time.perf_counter() + max(relaxation_s, 10.0)), relaxation_run)
               if relaxed else None)
    placed = rounded
    gap = _gap(rounded.objective if rounded else None, bound)
    method = "relax-and-round"
    # leave the final LP its time: warm from the relaxation's basis it takes well under the
    # relaxation's own time
    reserve = min(max(2 * relaxation_s, 10.0), 0.5 * max(deadline - time.perf_counter(), 0.0))
    # branch and bound first solves the LP again from scratch, and HiGHS cannot stop it there:
    # with less time left than the relaxation took it would only overrun the limit
    can_branch = deadline - reserve - time.perf_counter() >= max(relaxation_s, 1.0)
    if gap > p.scenario.policy.mip_gap and not can_branch and rounded is None:
        raise PlanError(f"no plan within policy.time_limit_s ({p.scenario.policy.time_limit_s:g} s): the LP "
                        f"relaxation {'took' if relaxed else 'did not finish in'} {relaxation_s:.0f} s and "
                        "left no time to branch; raise policy.time_limit_s or loosen policy.mip_gap")
    if gap > p.scenario.policy.mip_gap and can_branch:
        _unpin(m, built)
        placed = _branch_and_bound(m, solver, binaries, deadline - reserve, start=rounded is not None)
        _check_solution(placed.objective, "warning", "no integer solution within the time limit")
        info = solver.solver_model.getInfo()
        bound = max(bound, float(info.mip_dual_bound))
        gap, method = _gap(placed.objective, bound), "branch-and-bound"
        if relaxed_basis is not None:
            # the basis branch and bound leaves is far from the pinned LP's; the relaxation's is near
            solver.solver_model.setBasis(relaxed_basis)
    report("placed", {"mip_gap": gap})
    assert placed is not None       # rounding's plan, or branch and bound's (checked above)
    # the final solve is an LP with every choice pinned: MIPs give no duals
    found_values = {name: placed.value(m.variables[name]) for name in binaries}
    for name in binaries:
        m.variables[name].relax()
    _pin(m, {name: value.round() for name, value in found_values.items()})
    final = _run(solver, m, deadline, "simplex", write_back=True)
    if final.status != "ok" and _integral(found_values):
        # HiGHS accepts integers within its tolerance (0.9999999); where a limit binds exactly,
        # pinning the rounded 1 is infeasible by a hair: pin the values it found instead
        _pin(m, found_values)
        final = _run(solver, m, deadline, "simplex", write_back=True)
    _require_solved(p, final)
    return {"mip_gap": max(gap, 0.0), "placement_method": method, "solver_status": final.status,
            "termination": final.condition if gap <= p.scenario.policy.mip_gap else "time_limit",
            "objective_bound_usd": bound}


def _integral(values: dict[str, xr.DataArray], tolerance: float = 1e-5) -> bool:
    return all(bool((abs(v - v.round()).fillna(0.0) <= tolerance).all()) for v in values.values())


def _gap(value: float | None, bound: float) -> float:
    return (value - bound) / max(abs(value), 1.0) if value is not None else float("inf")


def _branch_and_bound(m: Model, solver: solvers.Solver, binaries: list[str], deadline: float,
                      start: bool) -> Outcome:
    """HiGHS's branch and bound on the model as pinned now, from its current solution if `start`."""
    h = solver.solver_model
    incumbent = h.getSolution() if start else None
    for name in binaries:
        m.variables[name].unrelax()
    if incumbent is not None:
        solver.update(m)            # HiGHS drops a given solution when bounds or types change after it
        h.setSolution(incumbent)
    return _run(solver, m, deadline, mip=True)


def scenario_hash(s: Scenario) -> str:
    return hashlib.sha256(s.model_dump_json().encode()).hexdigest()[:16]


def plan(scenario: Scenario, *, progress: Progress | None = None, log_fn: str | Path | None = None) -> Plan:
    """Least-cost, risk-bounded capacity plan for a scenario. Pure: no printing, no globals."""
    report = progress or (lambda phase, info: None)
    t0 = time.perf_counter()
    report("inputs", {})
    p = build_inputs(scenario)
    report("build", {})
    m, ex = build_model(p)
    t_build = time.perf_counter() - t0
    binaries = int(m.variables.binaries.nvars)
    report("solve", {"variables": int(m.nvars), "constraints": int(m.ncons), "binaries": binaries})
    t1 = time.perf_counter()
    log = str(log_fn) if log_fn else None
    # the time limit holds for the whole solve: each re-solve gets what the earlier ones left
    placement = solve_model(p, m, log, t0 + float(scenario.policy.time_limit_s), report)
    t_solve = time.perf_counter() - t1
    report("results", {})
    result = _assemble(p, m, ex)
    if placement["termination"] != "optimal" and result.status == "optimal":
        result.status = "feasible"      # e.g. the time limit stopped HiGHS: see mip_gap
    result.metadata.update({
        "scenario": scenario.name, "scenario_hash": scenario_hash(scenario), "version": gigawatt.__version__,
        "solver": "highs", **placement,
        "build_seconds": t_build, "solve_seconds": t_solve,
        "variables": int(m.nvars), "constraints": int(m.ncons), "binaries": binaries,
        "notes": p.notes,
    })
    return result


def _assemble(p: PlanInputs, m: Model, ex: Expressions) -> Plan:
    """Tables, binding limits and explanations from a solved LP (placements pinned)."""
    spend = extract.spend_table(p, ex)
    unmet = extract.unmet_table(p, m)
    decisions = extract.decision_tables(p, m)
    binding = binding_constraints(m, p)
    training = extract.training_table(p, m)
    explanations = (explain_missed_runs(p, training, binding, decisions["hosts"])
                    + explain_shortfalls(p, unmet, binding, decisions["hosts"]) + slack_explanations(m, p))
    penalties = {kind: float(term.solution) for kind, term in penalty_terms(m, p).items()}
    capacity = extract.capacity_table(p, ex)
    total_spend = float(spend["total_usd"].sum())
    acc_hours = float(capacity["accelerators"].sum() * HOURS_PER_QUARTER) if not capacity.empty else 0.0
    peak_ef_days = float(capacity["peak_exaflops"].sum() * HOURS_PER_QUARTER / 24) if not capacity.empty else 0.0
    unit_costs = {
        "usd_per_accelerator_hour": total_spend / acc_hours if acc_hours else None,
        "usd_per_exaflop_day": total_spend / peak_ef_days if peak_ef_days else None,
    }
    slack_used = bool(explanations)
    tables = {
        "capacity": capacity, "spend": spend, "finance": extract.finance_table(p, spend, m),
        "unmet": unmet, "shadow_price": extract.shadow_price_table(p, m),
        "security": extract.security_table(p, ex), "training": training,
        **decisions,
    }
    return Plan(
        status="shortfall" if slack_used else "optimal",
        npv_usd=float(money_npv(m, p, ex).solution),
        penalties_usd=penalties,
        tables=tables,
        binding=[str(b["text"]) for b in binding],
        explanations=explanations,
        unit_costs=unit_costs,
    )


quiet_stdout = _quiet_stdout


def plan_from_model(p: PlanInputs, m: Model, ex: Expressions, *, deadline: float,
                    progress: Progress | None = None) -> Plan:
    """Solve a model the caller built and changed (e.g. a first stage pinned), and read the Plan.

    For strategies outside the planner (stochastic planning, stress): the same solve, duals
    and tables as `plan`, without reaching into its private steps.
    """
    placement = solve_model(p, m, None, deadline, progress or (lambda phase, info: None))
    result = _assemble(p, m, ex)
    if placement["termination"] != "optimal" and result.status == "optimal":
        result.status = "feasible"
    result.metadata.update(placement)
    return result
