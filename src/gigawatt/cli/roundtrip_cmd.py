"""`gigawatt simulate SCENARIO --plan DIR` without a period: the plan's whole horizon in operation,
and `gigawatt plan SCENARIO --derate-from SIMDIR`: plan again with the availability it measured."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from gigawatt.cli.output import console, duration, escape, money, number, print_json, table

if TYPE_CHECKING:
    from gigawatt.plan.result import Plan
    from gigawatt.scenario.model import Scenario
    from gigawatt.sim.failures import FailureModel
    from gigawatt.sim.roundtrip import RoundTrip


def scenario_for_plan(plan: Plan, s: Scenario, plan_dir: Path) -> Scenario:
    """The scenario a plan was made from: this one, or this one derated as the plan says; else an error."""
    from gigawatt.errors import GigawattError
    from gigawatt.plan.solve import scenario_hash
    from gigawatt.sim.derate import with_availability

    this = scenario_hash(s)
    derate = plan.metadata.get("derate") or {}
    if plan.metadata.get("scenario_hash") == this:
        return s
    if derate.get("base_scenario_hash") == this:
        return with_availability(s, derate.get("availability") or {})[0]
    raise GigawattError(
        f"--plan {plan_dir}: made from another scenario ('{plan.metadata.get('scenario')}', hash "
        f"{plan.metadata.get('scenario_hash')}; this file hashes to {this}); re-run `gigawatt plan` on this scenario")


def run_round_trip(s: Scenario, plan: Plan, plan_dir: Path, failures: FailureModel, *, policy: str, seed: int,
                   until_s: float | None, spares: int | None, placement: str, out: Path | None,
                   report: Path | None, as_json: bool, daly: bool = False,
                   failover_after_s: float | None = None, transfer_s: float = 0.0) -> None:
    from rich.progress import Progress

    from gigawatt.plan.solve import scenario_hash
    from gigawatt.sim.derate import save_round_trip
    from gigawatt.sim.roundtrip import round_trip

    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("simulating the plan quarter by quarter", total=1.0)
        rt = round_trip(scenario_for_plan(plan, s, plan_dir), plan, failures, policy=policy, seed=seed,
                        until_s=until_s, spares=spares, placement=placement, daly=daly,
                        progress=lambda k, n: bar.update(task, completed=k / n),
                        failover_after_s=failover_after_s, transfer_s=transfer_s)
    facts: dict[str, Any] = {"scenario": s.name, "plan": str(plan_dir), "seed": seed,
                             "fleet": f"plan {plan_dir}, {rt.summary['fleet'].removeprefix('plan ')}"}
    saved = save_round_trip(rt, out, scenario_hash(s), str(plan_dir), {"seed": seed, "policy": policy,
                                                                      "failover_after_s": failover_after_s,
                                                                      "transfer_s": transfer_s}) \
        if out is not None else None
    if report is not None:
        from gigawatt.report.sim_report import write_round_trip_report

        write_round_trip_report(rt, report, s.name, facts)
    if as_json:
        return print_json({**rt.to_json(), **facts, "out": str(saved) if saved else None,
                           "report": str(report) if report else None})
    print_round_trip(rt, facts)
    if saved:
        console.print(f"round trip written to {escape(str(saved))} (plan with it: gigawatt plan SCENARIO "
                      f"--derate-from {escape(str(saved))})")
    if report:
        console.print(f"report written to {escape(str(report))}")


def print_round_trip(rt: RoundTrip, facts: dict[str, Any]) -> None:
    sm = rt.summary
    console.print(escape(f"fleet: {facts['fleet']}; policy {sm['policy']}; {sm['quarters']} quarters; "
                         f"{number(sm['failures'])} failures; {number(sm['events'])} events in "
                         f"{duration(sm['wall_seconds'])}"))

    def day(x: float) -> str:
        return "-" if x != x else f"{x:,.1f}"

    failover = "failover_after_s" in sm
    console.print(table("Training runs: planned vs simulated completion (days from the horizon start)",
                        ["run", "host", "planned", "simulated", "late (days)", "status", "ETTR", "availability",
                         "interruptions"] + (["ran at", "failovers", "without failover"] if failover else []),
                        [[escape(str(r.run)), escape(str(r.host)), f"{_label(r.planned_completion)} ({day(r.planned_day)})",
                          f"{_label(r.simulated_completion)} ({day(r.simulated_day)})", day(r.late_days), r.status,
                          _share(r.ettr), _share(r.availability), number(r.interruptions)]
                         + ([escape(str(r.ran_at)), number(r.failovers), str(r.status_without_failover)]
                            if failover else [])
                         for r in rt.runs.itertuples()]))
    if not rt.inference.empty:
        console.print(table("Inference loads: served share of the planned compute-time (SLO attainment)",
                            ["load", "planned accelerator-hours", "served", "SLO attainment"],
                            [[escape(str(r.load)), number(r.planned_accelerator_hours),
                              number(r.served_accelerator_hours), _share(r.slo_attainment)]
                             for r in rt.inference.itertuples()]))
    per = rt.periods.groupby("period")[["planned_exaflop", "delivered_exaflop"]].sum().reset_index()
    console.print(table("Compute per period: planned vs delivered (effective exaFLOP)",
                        ["period", "planned", "delivered", "share"],
                        [[r.period, number(r.planned_exaflop), number(r.delivered_exaflop),
                          _share(r.delivered_exaflop / r.planned_exaflop if r.planned_exaflop else float("nan"))]
                         for r in per.itertuples()]))
    late = rt.late_runs()
    console.print(f"late runs: {escape(', '.join(late)) if late else 'none'}; utilisation {sm['utilization']:.1%}, "
                  f"cost {money(sm['cost_usd'])}")
    if failover:
        saved = sm["saved_by_failover"]
        console.print(f"saved by failover: {escape(', '.join(saved)) if saved else 'none'} "
                      f"({number(sm['failovers'])} moves)")
    for note in rt.notes:
        console.print(f"note: {escape(str(note))}")


def _label(x: object) -> str:
    return x if isinstance(x, str) else "-"


def _share(x: float) -> str:
    return "-" if x != x else f"{x:.1%}"


def derated_scenario(s: Scenario, simdir: Path) -> tuple[Scenario, dict[str, Any]]:
    """`plan --derate-from`: the scenario with the measured availability, and what the plan's metadata keep."""
    from gigawatt.errors import GigawattError
    from gigawatt.plan.solve import scenario_hash
    from gigawatt.sim.derate import derate_metadata, load_round_trip, with_availability

    meta, capacity = load_round_trip(simdir)
    if meta.get("scenario_hash") != scenario_hash(s):
        raise GigawattError(f"--derate-from {simdir}: simulated from another scenario (hash {meta.get('scenario_hash')}; "
                            f"this file hashes to {scenario_hash(s)}); simulate this scenario's plan again")
    derated, notes = with_availability(s, meta["availability"])
    return derated, derate_metadata(simdir, meta, capacity, notes)


def print_derate(plan: Plan) -> None:
    from gigawatt.sim.derate import derate_summary, derate_table

    derate = plan.metadata.get("derate")
    if not derate:
        return
    shares = ", ".join(f"{k} {v:.1%}" for k, v in sorted(derate["availability"].items()))
    console.print(escape(f"derated from {derate['from']}: availability {shares}; "
                         f"{derate_summary(derate_table(plan.tables['capacity'], derate))}"))
    for note in derate.get("notes", []):
        console.print(f"note: {escape(str(note))}")


def run_node_replay(trace: Path, node_list: Path, placement: str, seed: int, compress: float,
                    until_s: float | None, as_json: bool, facts: dict[str, Any]) -> None:
    """`simulate --trace openb --node-level`: the trace over time on its nodes, by placement policy."""
    import pandas as pd

    from gigawatt.errors import GigawattError
    from gigawatt.sim.openb_replay import replay
    from gigawatt.sim.packing import PACKING_POLICIES, load_openb_nodes, load_openb_tasks

    if placement != "first-fit" and placement not in PACKING_POLICIES:
        raise GigawattError(f"--placement {placement} is not a node-level policy; choose {', '.join(PACKING_POLICIES)}")
    policies = ("best-fit", "worst-fit", "random-fit") if placement == "first-fit" else (placement,)
    node_table, tasks = load_openb_nodes(node_list), load_openb_tasks(trace)
    results = [replay(node_table, tasks, p, seed=seed, until_s=until_s, compress=compress) for p in policies]
    rows = pd.DataFrame([r.row() for r in results])
    notes = results[0].notes
    if as_json:
        return print_json({"node_level": rows.to_dict(orient="records"), "compress": compress, "notes": notes,
                           "recorded_delay_s": results[0].recorded_delay_s, **facts})
    console.print(table(f"openb replayed on its {len(node_table):,} nodes (CPU, memory, GPU shares), arrivals "
                        f"x{compress:g}", list(rows.columns),
                        [[f"{v:,.4g}" if isinstance(v, float) else str(v) for v in row]
                         for row in rows.itertuples(index=False)]))
    for note in notes:
        console.print(f"note: {escape(note)}")
