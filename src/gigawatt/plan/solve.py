"""plan(scenario) -> Plan: build, solve with HiGHS, read duals, explain."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from linopy import Model

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


def _highs_options(p: PlanInputs, log_fn: str | None, time_left: float) -> dict[str, Any]:
    options: dict[str, Any] = {"output_flag": log_fn is not None, "log_to_console": False,
                               "time_limit": max(time_left, 1.0), "mip_rel_gap": p.scenario.policy.mip_gap,
                               "threads": 1}
    if log_fn:
        options["log_file"] = log_fn
    return options


def _check_solution(m: Model, status: str, condition: str) -> None:
    if m.objective.value is None or not np.isfinite(m.objective.value):
        raise PlanError(f"HiGHS found no solution (status {status}, {condition}); "
                        "try a larger policy.time_limit_s or a looser policy.mip_gap")


def _fix_binaries_and_resolve(m: Model, time_left: float) -> tuple[str, str]:
    """Pin every binary at its MIP value in the live HiGHS model and re-solve the LP for duals.

    MIPs give no duals; with the choices fixed the model is an LP whose duals price compute and
    show which limits bind, at the MIP's own optimum. The model is changed in place: no rebuild.
    """
    solver = m.solver
    assert solver is not None
    h = solver.solver_model
    labels = np.asarray(solver._vlabels)
    column = np.full(int(labels.max()) + 1 if labels.size else 0, -1, dtype=np.int64)
    column[labels] = np.arange(labels.size)
    binary = np.concatenate([m.variables[n].labels.values.ravel() for n in m.variables.binaries])
    cols = column[binary[binary >= 0]]
    cols = cols[cols >= 0].astype(np.int32)
    values = np.round(np.asarray(h.getSolution().col_value)[cols])
    h.changeColsIntegrality(cols.size, cols, np.zeros(cols.size, dtype=np.uint8))
    h.changeColsBounds(cols.size, cols, values, values)
    h.setOptionValue("time_limit", max(time_left, 1.0))
    result = solver.solve()
    status, condition = m.assign_result(result, solver=solver)
    _check_solution(m, status, condition)
    return status, str(condition)


def _solve(p: PlanInputs, m: Model, log: str | None, deadline: float,
           report: Progress) -> dict[str, Any]:
    """Solve; with binaries (co-location, training completion) pin them and re-solve for duals."""
    time_left = deadline - time.perf_counter()
    with _quiet_stdout():
        status, condition = m.solve(solver_name="highs", io_api="direct", **_highs_options(p, log, time_left))
    _check_solution(m, status, str(condition))
    out: dict[str, Any] = {"mip_gap": 0.0, "placement_method": "none", "solver_status": status,
                           "termination": str(condition), "objective_bound_usd": float(m.objective.value or 0.0)}
    if m.variables.binaries.nvars:
        info = m.solver_model.getInfo()
        gap = max(float(info.mip_gap), 0.0)
        report("placed", {"mip_gap": gap})
        out.update({"mip_gap": gap, "placement_method": "branch-and-bound",
                    "objective_bound_usd": float(info.mip_dual_bound)})
        with _quiet_stdout():
            _fix_binaries_and_resolve(m, deadline - time.perf_counter())
    return out


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
    # the time limit holds for the whole solve: the LP re-solve gets what the MIP left
    placement = _solve(p, m, log, t0 + float(scenario.policy.time_limit_s), report)
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
    placement = _solve(p, m, None, deadline, progress or (lambda phase, info: None))
    result = _assemble(p, m, ex)
    if placement["termination"] != "optimal" and result.status == "optimal":
        result.status = "feasible"
    result.metadata.update(placement)
    return result
