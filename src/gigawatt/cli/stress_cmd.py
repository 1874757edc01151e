"""`gigawatt stress`: Monte Carlo over what can go wrong, against a saved plan."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gigawatt.cli.app import app
from gigawatt.cli.output import console, money, print_json, table


class ExecutorName(StrEnum):
    serial = "serial"
    processes = "processes"
    ray = "ray"


@app.command()
def stress(
    file: Path = typer.Argument(..., help="scenario YAML file with an uncertainty: section"),
    plan_dir: Path = typer.Option(..., "--plan", help="directory written by `gigawatt plan --out`"),
    samples: int = typer.Option(200, "--samples", help="number of sampled futures"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same futures)"),
    executor: ExecutorName = typer.Option(ExecutorName.serial, "--executor", help="where samples are solved"),
    workers: int | None = typer.Option(None, "--workers", help="worker processes / Ray actors"),
    out: Path | None = typer.Option(None, "--out", help="directory for per-batch results (resumable)"),
    report: Path | None = typer.Option(None, "--report", help="write a self-contained HTML report here"),
    resume: bool = typer.Option(False, "--resume", help="finish a run killed part-way in --out"),
    decision_horizon: str | None = typer.Option(None, "--decision-horizon",
                                                help="first quarter of recourse (default: a year in)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Stress-test a plan: its cost and shortfall over sampled futures, and what drives them."""
    from gigawatt.errors import GigawattError
    from gigawatt.plan.result import Plan
    from gigawatt.report.stress_report import write_stress_report
    from gigawatt.scenario import load_scenario
    from gigawatt.stress import stress as run_stress
    from gigawatt.stress.first_stage import StressError

    if samples < 1:
        raise StressError(f"--samples must be at least 1, got {samples}")
    if resume and out is None:
        raise StressError("--resume needs --out DIR (where the interrupted run wrote its batches)")
    scenario = load_scenario(file)
    if scenario.uncertainty is None:
        raise StressError(f"{file}: no uncertainty: section; add one (see examples/openai-2025.yaml)")
    try:
        plan = Plan.load(plan_dir)
    except GigawattError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise StressError(f"{plan_dir}: not a readable plan ({exc}); point --plan at `gigawatt plan --out` output") from None
    err = Console(stderr=True)
    bar = Progress(TextColumn("stress"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                   TimeRemainingColumn(), TextColumn("{task.fields[live]}"), console=err,
                   disable=not (err.is_terminal or not as_json))
    task = bar.add_task("stress", total=samples, rate="", live="")
    clock = {"start": time.perf_counter(), "shown": 0.0}

    def progress(done: int, total: int, live: dict[str, float]) -> None:
        if not clock["shown"]:      # the bar appears with the first finished batch, never before an error
            bar.start()
            clock["shown"] = 1.0
        rate = done / max(time.perf_counter() - clock["start"], 1e-9)
        text = f"cost P50 {money(live['p50'])} P90 {money(live['p90'])}" if live else ""
        bar.update(task, completed=done, rate=f"{rate:,.1f} samples/s", live=text)

    try:
        result = run_stress(scenario, plan, samples=samples, seed=seed, executor=executor.value, workers=workers,
                            out=out, resume=resume, decision_horizon=decision_horizon, progress=progress,
                            plan_dir=str(plan_dir))
    finally:
        bar.stop()
    if out is not None:
        result.table.to_parquet(out / "samples.parquet", index=False)
    html = write_stress_report(result, report) if report else None
    if as_json:
        data = result.to_json()
        data["outputs"] = {"table": str(out / "samples.parquet") if out else None, "report": str(html) if html else None}
        return print_json(data)
    s = result.summary
    c = s["cost_usd"]
    console.print(table(f"Stress: {s['samples']} futures, seed {seed}", ["metric", "value"], [
        ["NPV of spend mean / P10 / P50 / P90", f"{money(c['mean'])} / {money(c['p10'])} / {money(c['p50'])} / {money(c['p90'])}"],
        ["NPV of spend CVaR95", money(c["cvar95"])],
        ["probability of any shortfall", f"{s['shortfall_probability']:.1%}"],
        ["probability of a funding gap", f"{s['funding_gap_probability']:.1%}"],
        ["first stage held", result.metadata["first_stage"]],
    ]))
    console.print(table("Tornado (NPV of spend, factor at P10 / P90)", ["factor", "low", "high"], [
        [r.factor, money(r.low), money(r.high)] for r in result.tornado.head(10).itertuples()]))
    if out:
        console.print(f"samples written to {out / 'samples.parquet'}")
    if html:
        console.print(f"report written to {html}")
