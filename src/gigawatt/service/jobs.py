"""What a run executes: the same pure functions as the CLI, results turned into artifacts.

`execute` runs in a worker's child process; `emit(progress, phase, line)` reports as it goes.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gigawatt.scenario import parse_scenario
from gigawatt.scenario.model import Scenario

Emit = Callable[[float | None, str, str | None], None]

# Share of a plan's wall time by the phase plan() reports (measured on the examples).
PLAN_PHASES = {"inputs": 0.02, "build": 0.05, "solve": 0.35, "placed": 0.75, "results": 0.9}


def execute(kind: str, options: dict[str, Any], scenario_yaml: str, scenario_file: str,
            emit: Emit, inputs: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """`inputs`: artifacts of the runs this one builds on (a stress run: its plan run's)."""
    scenario = parse_scenario(scenario_yaml, file=scenario_file)
    if kind == "plan":
        return run_plan(scenario, emit)
    if kind == "simulate":
        return run_simulate(scenario, options, emit)
    if kind == "stress":
        return run_stress(scenario, options, inputs or {}, emit)
    raise ValueError(f"unknown run kind {kind!r}")


def run_plan(scenario: Scenario, emit: Emit) -> dict[str, bytes]:
    from gigawatt.plan import plan
    from gigawatt.service.results import plan_artifacts

    def progress(phase: str, info: dict[str, Any]) -> None:
        details = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.4g}" for k, v in info.items())
        emit(PLAN_PHASES.get(phase), phase, f"plan: {phase}" + (f" ({details})" if details else ""))

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "highs.log"
        result = plan(scenario, progress=progress, log_fn=log)
        if log.exists():
            for line in log.read_text(errors="replace").splitlines()[-40:]:
                emit(None, "results", f"highs: {line}")
    emit(0.95, "results", f"plan {result.status}: NPV {result.npv_usd:,.0f} USD")
    return plan_artifacts(result)


def run_simulate(scenario: Scenario, options: dict[str, Any], emit: Emit) -> dict[str, bytes]:
    from gigawatt.service.results import sim_artifacts
    from gigawatt.sim import simulate
    from gigawatt.sim.from_scenario import (
        failures_from_scenario,
        fleet_from_scenario,
        outages_from_scenario,
        workload_from_scenario,
    )

    period = str(options["period"]).upper() if options.get("period") else None
    seed = int(options.get("seed", 0))
    until_s = options.get("until_s")
    horizon = float(until_s) if until_s is not None else math.inf
    policy = options.get("policy") or scenario.operations.policy
    emit(0.01, "inputs", f"simulate: fleet and workload from scenario '{scenario.name}'")
    fleet = fleet_from_scenario(scenario, at=period)
    table = workload_from_scenario(scenario, origin=period)
    fail = failures_from_scenario(scenario, enabled=bool(options.get("failures", True)))
    outages = outages_from_scenario(scenario, fleet, horizon, seed)
    last = [-1.0]

    def progress(done: float, total: float) -> None:
        share = done / total if total else 1.0
        if share - last[0] >= 0.02:
            last[0] = share
            emit(0.05 + 0.9 * share, "simulating", None)

    result = simulate(fleet, table, policy, failures=fail, outages=outages,
                      until_s=None if horizon == math.inf else horizon, seed=seed, progress=progress)
    facts = {"scenario": scenario.name, "seed": seed, "policy": policy, "accelerators": fleet.capacity,
             "fleet": "scenario contracts, cloud offers and existing sites", "events": result.events,
             "period": period or scenario.horizon.start}
    emit(0.97, "results", f"simulated {result.events:,} events: utilisation {result.utilization:.1%}, "
                          f"{result.jobs_completed}/{result.jobs_total} jobs done")
    for note in result.notes:
        emit(None, "results", f"note: {note}")
    return sim_artifacts(result, facts)


def run_stress(scenario: Scenario, options: dict[str, Any], plan_artifacts: dict[str, bytes],
               emit: Emit) -> dict[str, bytes]:
    from gigawatt.service.results import load_plan, stress_artifacts
    from gigawatt.stress import stress

    plan = load_plan(plan_artifacts)
    samples = int(options.get("samples", 200))
    emit(0.01, "sampling", f"stress: {samples} futures of '{scenario.name}', plan run {options['plan_run']}")

    def progress(done: int, total: int, live: dict[str, float]) -> None:
        extra = f"; cost P50 {live['p50']:,.0f} P90 {live['p90']:,.0f} USD" if live else ""
        emit(0.02 + 0.93 * done / max(total, 1), "evaluating", f"stress: {done}/{total} futures{extra}")

    result = stress(scenario, plan, samples=samples, seed=int(options.get("seed", 0)), executor="serial",
                    decision_horizon=options.get("decision_horizon"), progress=progress,
                    plan_dir=f"plan run {options['plan_run']}")
    emit(0.97, "results", f"stress: shortfall probability {result.summary['shortfall_probability']:.1%}")
    return stress_artifacts(result)
