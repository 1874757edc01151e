"""Typer application: thin commands over the core."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from gigawatt.catalog import load_catalog
from gigawatt.cli.output import console, money, print_json, table

app = typer.Typer(
    help="gigawatt: plan, operate and stress-test AI compute at gigawatt scale.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def validate(file: Path = typer.Argument(..., help="scenario YAML file")) -> None:
    """Check a scenario file; exit 0 if good, 2 with a one-line reason if not."""
    from gigawatt.scenario import load_scenario

    s = load_scenario(file)
    console.print(
        f"[green]ok[/green] {file}: '{s.name}', {len(s.horizon.periods)} quarters, "
        f"{len(s.sites)} sites, {len(s.cloud_offers)} cloud offers, {len(s.contracts)} contracts, "
        f"{len(s.chip_deals)} chip deals, "
        f"{len(s.demand.training)} training runs, {len(s.demand.inference)} inference loads"
    )


class CatalogSection(StrEnum):
    accelerators = "accelerators"
    prices = "prices"
    economics = "economics"
    deals = "deals"


@app.command()
def catalog(
    section: CatalogSection = typer.Argument(..., help="which table"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Browse the shipped reference data; every row carries its source."""
    cat = load_catalog()
    if section is CatalogSection.accelerators:
        rows = [a.model_dump() for a in cat.accelerators.values()]
        if as_json:
            return print_json(rows)
        console.print(table("Accelerators (dense BF16)", ["id", "vendor", "TFLOP/s", "HBM GB", "IT kW", "unit $", "conf", "source"], [
            [a.id, a.vendor, a.bf16_dense_tflops, a.hbm_gb, a.it_kw.value if a.it_kw else "rent-only",
             money(a.unit_price_usd.value) if a.unit_price_usd else "rent-only", a.confidence, a.source[:70]]
            for a in cat.accelerators.values()]))
    elif section is CatalogSection.prices:
        rows = [p.model_dump() for p in cat.cloud_prices.values()]
        if as_json:
            return print_json(rows)
        console.print(table("Cloud prices ($ per accelerator-hour)", ["id", "provider", "accelerator", "pricing", "$/h", "as of", "conf"], [
            [p.id, p.provider, p.accelerator or p.gpu, p.pricing, p.usd_per_gpu_hour, p.as_of, p.confidence]
            for p in cat.cloud_prices.values()]))
    elif section is CatalogSection.economics:
        rows = list(cat.economics.values())
        defaults = {k: v.model_dump() for k, v in cat.defaults.items()}
        if as_json:
            return print_json({"economics": rows, "planning_defaults": defaults})
        console.print(table("Data-center economics", ["id", "value", "unit", "conf", "source"], [
            [r["id"], r.get("value", f"{r.get('value_low')}-{r.get('value_high')}" if "value_low" in r else r.get("values")),
             r.get("unit"), r.get("confidence"), str(r.get("source"))[:70]] for r in rows]))
        console.print(table("Planning defaults (derived)", ["name", "value", "conf", "source"], [
            [k, v.value, v.confidence, v.source[:90]] for k, v in cat.defaults.items()]))
    else:
        rows = [d.model_dump() for d in cat.deals.values()]
        if as_json:
            return print_json(rows)
        console.print(table("Compute deals", ["id", "counterparty", "announced", "amount", "GW", "status"], [
            [d.id, d.counterparty[:40], d.announced, money(d.amount_usd), d.capacity_gw, d.status[:40]]
            for d in cat.deals.values()]))


@app.command()
def quote(
    accelerator: str = typer.Option("nvidia_gb200_nvl72", help="catalog accelerator id"),
    gw: float = typer.Option(1.0, help="facility power, GW"),
    pue: float | None = typer.Option(None, help="override the catalog's planning PUE"),
    electricity: float | None = typer.Option(None, help="USD per MWh"),
    facility_usd_per_mw: float | None = typer.Option(None, help="facility capex per MW of IT load"),
    discount_rate: float | None = typer.Option(None, help="yearly discount rate"),
    life: float | None = typer.Option(None, help="IT hardware life, years"),
    load_factor: float = typer.Option(1.0, help="share of the year the campus runs"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Price a campus of one accelerator type from sourced inputs."""
    from gigawatt.economics.quote import quote as make_quote

    q = make_quote(accelerator, gw, pue=pue, electricity_usd_per_mwh=electricity,
                   facility_capex_usd_per_mw=facility_usd_per_mw, discount_rate=discount_rate,
                   it_life_years=life, load_factor=load_factor)
    if as_json:
        return print_json(q.as_json())
    console.print(table(f"Quote: {gw:g} GW of {accelerator}", ["item", "value", "unit", "formula", "inputs"], [
        [ln.name, f"{ln.value:,.2f}" if ln.unit not in ("USD", "USD/yr", "USD/GW") else money(ln.value),
         ln.unit, ln.formula, ", ".join(ln.inputs)] for ln in q.lines]))
    console.print(table("Inputs and their sources", ["input", "value", "conf", "source"], [
        [k, f"{s.value:,.4g}", s.confidence, s.source] for k, s in q.inputs.items()]))
    console.print(table("Published cost per GW vs this quote", ["estimate", "range", "quote / estimate", "source"], [
        [b.id, f"{money(b.low_usd_per_gw)}-{money(b.high_usd_per_gw)}", f"{b.ratio_to_quote:.2f}", b.source[:70]]
        for b in q.benchmarks]))


@app.command()
def deals(
    reference_accelerator: str = typer.Option("nvidia_gb200_nvl72", help="accelerator used to turn GW into accelerator-hours"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The 2025 compute deals, what they imply, and the press's numbers checked."""
    from gigawatt.economics.deals import deals_report

    r = deals_report(reference_accelerator)
    if as_json:
        return print_json(r.as_json())
    console.print(table("Compute deals and what they imply", ["deal", "announced", "status", "amount", "GW", "$/GW", "$/GW-yr", "$/acc-h", "note"], [
        [d.id, d.announced, d.status_class, money(d.amount_usd), d.capacity_gw, money(d.usd_per_gw),
         money(d.usd_per_gw_year),
         f"{d.implied_usd_per_accelerator_hour:.2f}" if d.implied_usd_per_accelerator_hour else None,
         ("part of " + d.part_of) if d.part_of else ("not a commitment" if not d.is_commitment else "")]
        for d in r.deals]))
    console.print(table("Totals", ["tally", "value"], [
        [k, money(v) if k.startswith("usd") else f"{v:g} GW"] for k, v in r.tallies.items()]))
    console.print(f"total_commitments_usd = {money(r.total_commitments_usd)}; total_capacity_gw = {r.total_capacity_gw:g} "
                  f"(superseded and overlapping deals removed; {r.accelerators_per_gw:,.0f} {r.reference_accelerator} per GW)")
    console.print(table("Press claims checked against the catalog", ["claim", "catalog says", "agrees"], [
        [c.claim, c.catalog_says, "yes" if c.agrees else "NO"] for c in r.claims]))


@app.command()
def plan(
    file: Path = typer.Argument(..., help="scenario YAML file"),
    out: Path | None = typer.Option(None, help="directory for the plan's tables (CSV) and plan.json"),
    report: Path | None = typer.Option(None, help="write a self-contained HTML report here"),
    parquet: bool = typer.Option(False, help="save tables as Parquet instead of CSV"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Least-cost, risk-bounded capacity plan for a scenario."""
    import tempfile

    from gigawatt.cli.plan_view import print_plan
    from gigawatt.cli.progress import SolveProgress
    from gigawatt.plan import plan as make_plan
    from gigawatt.report.plan_report import write_plan_report
    from gigawatt.scenario import load_scenario

    scenario = load_scenario(file)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "highs.log"
        err_console = Console(stderr=True)
        with SolveProgress(err_console, log, enabled=err_console.is_terminal or not as_json) as progress:
            result = make_plan(scenario, progress=progress, log_fn=log)
    saved = result.save(out, "parquet" if parquet else "csv") if out else None
    html = write_plan_report(result, report) if report else None
    if as_json:
        data = result.to_json()
        data["outputs"] = {"tables": str(saved) if saved else None, "report": str(html) if html else None}
        return print_json(data)
    print_plan(result)
    if saved:
        console.print(f"tables written to {saved}")
    if html:
        console.print(f"report written to {html}")


def parse_duration(text: str) -> float:
    """'54d', '12h', '30m', '90s', '2w' or plain seconds -> seconds."""
    import re

    from gigawatt.errors import GigawattError

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smhdw]?)\s*", text)
    if not m:
        raise GigawattError(f"--until '{text}' is not a duration; write it like 54d, 12h, 30m or 3600")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    return float(m.group(1)) * scale


@app.command()
def simulate(
    file: Path = typer.Argument(..., help="scenario YAML file"),
    plan_dir: Path | None = typer.Option(None, "--plan", help="a plan directory (from `gigawatt plan --out`)"),
    period: str | None = typer.Option(None, help="which period of the plan to operate (default: last)"),
    trace: Path | None = typer.Option(None, help="a workload trace (openb pods, Azure LLM requests, or a job CSV)"),
    trace_format: str | None = typer.Option(None, help="trace format (default: detected from the header)"),
    nodes: Path | None = typer.Option(None, help="openb node list (default: beside the openb trace)"),
    policy: str | None = typer.Option(None, help="fifo, easy-backfill, cost-aware, hetero-aware, failover, ..."),
    until: str | None = typer.Option(None, help="simulated time, e.g. 54d, 12h (default: until all jobs end)"),
    seed: int = typer.Option(0, help="random seed (same seed, same events)"),
    failures: bool = typer.Option(True, help="accelerator failures at the catalog's rate"),
    report: Path | None = typer.Option(None, help="write an HTML report here"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Operate a fleet: gang jobs, failures, checkpoints, outages and failover."""
    import math

    from rich.progress import Progress

    from gigawatt.report.sim_report import write_sim_report
    from gigawatt.scenario import load_scenario
    from gigawatt.sim import simulate as run_sim
    from gigawatt.sim.fleet import fleet_from_openb_nodes, fleet_from_plan_dir
    from gigawatt.sim.from_scenario import (
        busiest_training_period,
        failures_from_scenario,
        fleet_from_scenario,
        outages_from_scenario,
        workload_from_scenario,
    )
    from gigawatt.sim.inference import ServiceModel, simulate_service
    from gigawatt.sim.traces import load_trace

    s = load_scenario(file)
    horizon = parse_duration(until) if until else math.inf
    facts: dict[str, object] = {"scenario": s.name, "seed": seed}
    if trace is not None:
        fmt, table = load_trace(trace, trace_format)
        facts["trace"] = f"{trace} ({fmt.name}; cite: {fmt.citation})"
        if fmt.kind == "requests":
            fleet_for_service = fleet_from_scenario(s)
            acc = max(fleet_for_service.pools, key=lambda p: p.capacity).accelerator if fleet_for_service.pools else "nvidia_h100_sxm"
            if horizon != math.inf:
                table = table[table["arrival_s"] <= horizon]
            out = simulate_service(table, ServiceModel(accelerator=acc), seed=seed)
            data = {"utilization": out["slot_utilization"], "goodput": 1.0, "jobs_completed": int(out["requests"]),
                    "work_lost_accelerator_hours": 0.0, "slo_attainment": out["slo_attainment"], "inference": out,
                    **facts}
            if as_json:
                return print_json(data)
            console.print(table_view("Inference service", out))
            return None
    if plan_dir is not None:
        fleet, chosen = fleet_from_plan_dir(plan_dir, period or busiest_training_period(s))
        facts["fleet"] = f"plan {plan_dir}, period {chosen}"
        if trace is None:
            table = workload_from_scenario(s, origin=chosen)
    elif trace is None:
        fleet = fleet_from_scenario(s, at=period)
        table = workload_from_scenario(s, origin=period)
        facts["fleet"] = "scenario contracts, cloud offers and existing sites"
    elif (node_file := nodes or _openb_nodes_beside(trace)) is not None:
        fleet = fleet_from_openb_nodes(node_file)
        facts["fleet"] = f"openb nodes {node_file}"
    else:
        fleet = fleet_from_scenario(s)
        facts["fleet"] = "scenario contracts, cloud offers and existing sites"
    fail = failures_from_scenario(s, enabled=failures)
    outages = outages_from_scenario(s, fleet, horizon, seed)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("simulating", total=1.0)
        result = run_sim(fleet, table, policy or s.operations.policy, failures=fail, outages=outages,
                         until_s=None if horizon == math.inf else horizon, seed=seed,
                         progress=lambda done, total: bar.update(task, completed=done / total if total else 1))
    facts.update({"policy": policy or s.operations.policy, "accelerators": fleet.capacity,
                  "events": result.events, "events_per_second": round(result.events / max(result.wall_seconds, 1e-9))})
    if report:
        write_sim_report(result, report, s.name, {**facts, **result.to_json()})
    if as_json:
        return print_json({**result.to_json(), **facts, "report": str(report) if report else None})
    console.print(table_view("Simulation", {k: v for k, v in result.to_json().items() if not isinstance(v, dict | list)}))
    console.print(table_view("Queueing delay (s)", result.queueing_delay_s))
    for note in result.notes:
        console.print(f"note: {note}")
    if report:
        console.print(f"report written to {report}")


def _openb_nodes_beside(trace: Path) -> Path | None:
    candidate = trace.parent / "openb_node_list_gpu_node.csv"
    return candidate if candidate.exists() and "openb" in trace.name else None


def table_view(title: str, values: Mapping[str, object]) -> Table:
    return table(title, ["metric", "value"], [[k, f"{v:,.4g}" if isinstance(v, float) else v] for k, v in values.items()])


from gigawatt.cli import service_cmd  # noqa: E402  (serve, worker, db, token)

service_cmd.register(app)
