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
import xarray as xr
from linopy import Model

import gigawatt
from gigawatt.errors import PlanError
from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan import extract
from gigawatt.plan.build import build_model
from gigawatt.plan.explain import binding_constraints, explain_shortfalls, slack_explanations
from gigawatt.plan.expressions import Expressions, contract_cost
from gigawatt.plan.inputs import PlanInputs, build_inputs
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


def _solve(m: Model, p: PlanInputs, log_fn: str | None) -> tuple[str, str]:
    policy = p.scenario.policy
    options: dict[str, Any] = {"output_flag": log_fn is not None, "log_to_console": False,
                               "time_limit": float(policy.time_limit_s), "mip_rel_gap": policy.mip_gap}
    if log_fn:
        options["log_file"] = log_fn
    with _quiet_stdout():
        status, condition = m.solve(solver_name="highs", io_api="direct", **options)
    if m.objective.value is None or not np.isfinite(m.objective.value):
        raise PlanError(f"HiGHS found no solution (status {status}, {condition}); "
                        "try a larger policy.time_limit_s or a looser policy.mip_gap")
    return status, str(condition)


def _solve_placements(p: PlanInputs, m: Model, log: str | None,
                      report: Progress) -> tuple[Model, Expressions, dict[str, Any]]:
    """Place co-located runs by branch and bound, then pin them and re-solve the LP for duals.

    MIPs give no duals; with the placements fixed the model is an LP whose duals price
    compute and show which limits bind, at the MIP's own optimum.
    """
    status, condition = _solve(m, p, log)
    info = m.solver_model.getInfo()
    gap = float(info.mip_gap)
    report("placed", {"mip_gap": gap})
    fixed, fixed_ex = build_model(p, fixed_hosts=_host_solution(m))
    _solve(fixed, p, None)
    return fixed, fixed_ex, {"mip_gap": max(gap, 0.0), "placement_method": "branch-and-bound",
                             "lower_bound": float(info.mip_dual_bound),
                             "solver_status": status, "termination": condition}


def _host_solution(m: Model) -> dict[str, xr.DataArray]:
    return {kind: m.variables[f"host_{kind}"].solution for kind in ("site", "offer", "contract")
            if f"host_{kind}" in m.variables}


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
    placement: dict[str, Any] = {"mip_gap": 0.0, "placement_method": "none"}
    if m.variables.binaries.nvars:
        # The final model has placements pinned, so it is an LP and its duals price compute.
        m, ex, placement = _solve_placements(p, m, log, report)
    else:
        placement["solver_status"], placement["termination"] = _solve(m, p, log)
    t_solve = time.perf_counter() - t1
    objective = float(m.objective.value or 0.0)
    report("results", {})
    result = _assemble(p, m, ex, objective)
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


def _assemble(p: PlanInputs, m: Model, ex: Expressions, objective: float) -> Plan:
    """Tables, binding limits and explanations from a solved LP (placements pinned)."""
    spend = extract.spend_table(p, ex)
    unmet = extract.unmet_table(p, m)
    decisions = extract.decision_tables(p, m)
    binding = binding_constraints(m, p)
    explanations = explain_shortfalls(p, unmet, binding, decisions["hosts"]) + slack_explanations(m, p)
    fixed_npv = float((contract_cost(p) * p.discount).sum())
    capacity = extract.capacity_table(p, ex)
    total_spend = float(spend["total_usd"].sum())
    acc_hours = float(capacity["accelerators"].sum() * HOURS_PER_QUARTER) if not capacity.empty else 0.0
    peak_ef_days = float(capacity["peak_exaflops"].sum() * HOURS_PER_QUARTER / 24) if not capacity.empty else 0.0
    unit_costs = {
        "usd_per_accelerator_hour": total_spend / acc_hours if acc_hours else float("nan"),
        "usd_per_exaflop_day": total_spend / peak_ef_days if peak_ef_days else float("nan"),
    }
    slack_used = bool(explanations)
    tables = {
        "capacity": capacity, "spend": spend, "finance": extract.finance_table(p, spend, m),
        "unmet": unmet, "shadow_price": extract.shadow_price_table(p, m),
        "security": extract.security_table(p, ex), **decisions,
    }
    return Plan(
        status="shortfall" if slack_used else "optimal",
        npv_usd=objective + fixed_npv,
        tables=tables,
        binding=[str(b["text"]) for b in binding],
        explanations=explanations,
        unit_costs=unit_costs,
    )
