"""Typer application: thin commands over the core."""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from gigawatt.catalog import load_catalog
from gigawatt.cli.output import clip, console, escape, money, money_range, number, print_json, table

if TYPE_CHECKING:
    from gigawatt.plan.result import Plan
    from gigawatt.scenario import Scenario

EXIT_SHORTFALL = 3      # `plan --fail-on-shortfall` when demand is not met

app = typer.Typer(
    help="gigawatt: plan, operate and stress-test AI compute at gigawatt scale.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from gigawatt import __version__

        print(f"gigawatt {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    """gigawatt: plan, operate and stress-test AI compute at gigawatt scale."""


@app.command()
def validate(file: Path = typer.Argument(..., help="scenario YAML file")) -> None:
    """Check a scenario file; exit 0 if good, 2 with a one-line reason if not."""
    from gigawatt.scenario import load_scenario

    s = load_scenario(file)
    console.print(
        f"[green]ok[/green] {escape(str(file))}: '{escape(s.name)}', {len(s.horizon.periods)} quarters, "
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
        console.print(table("Accelerators (dense BF16)", ["id", "vendor", "TFLOP/s", "HBM GB", "IT kW", "installed $ (from)", "conf", "source"], [
            [a.id, a.vendor, a.bf16_dense_tflops, a.hbm_gb, a.it_kw.value if a.it_kw else "rent-only",
             f"{money(a.unit_price_usd.value)} ({a.unit_price_usd.price_from})" if a.unit_price_usd else "rent-only",
             a.confidence, clip(a.source, 70)]
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
            [r["id"], _economics_value(r), r.get("unit"), r.get("confidence"), clip(r.get("source"), 70)]
            for r in rows]))
        console.print(table("Planning defaults (derived)", ["name", "value", "conf", "source"], [
            [k, v.value, v.confidence, clip(v.source, 90)] for k, v in cat.defaults.items()]))
    else:
        rows = [d.model_dump() for d in cat.deals.values()]
        if as_json:
            return print_json(rows)
        console.print(table("Compute deals", ["id", "counterparty", "announced", "amount", "GW", "status"], [
            [d.id, clip(d.counterparty, 40), d.announced, money(d.amount_usd), d.capacity_gw, clip(d.status, 40)]
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
    bought: str | None = typer.Option(None, help="quarter the accelerators are bought (default: catalog price date)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Price a campus of one accelerator type from sourced inputs."""
    from gigawatt.economics.quote import quote as make_quote

    q = make_quote(accelerator, gw, pue=pue, electricity_usd_per_mwh=electricity,
                   facility_capex_usd_per_mw=facility_usd_per_mw, discount_rate=discount_rate,
                   it_life_years=life, load_factor=load_factor, bought=bought)
    if as_json:
        return print_json(q.as_json())
    console.print(table(f"Quote: {gw:g} GW of {accelerator}", ["item", "value", "unit", "formula", "inputs"], [
        [ln.name, _quote_value(ln.value, ln.unit), ln.unit, ln.formula, ", ".join(ln.inputs)] for ln in q.lines]))
    console.print(table("Inputs and their sources", ["input", "value", "conf", "source"], [
        [k, number(s.value, 4), s.confidence, clip(s.source, 160)] for k, s in q.inputs.items()]))
    console.print(table("Published cost per GW vs this quote", ["estimate", "range", "quote / estimate", "source"], [
        [b.id, money_range(b.low_usd_per_gw, b.high_usd_per_gw), f"{b.ratio_to_quote:.2f}", clip(b.source, 70)]
        for b in q.benchmarks]))


def _quote_value(value: float, unit: str) -> str:
    if unit.startswith("USD"):
        return money(value)
    if unit == "accelerators":
        return f"{math.floor(value + 1e-9):,}"        # whole accelerators: a campus holds no fractions
    return number(value, 4)


def _economics_value(row: Mapping[str, object]) -> str:
    is_money = str(row.get("unit") or "").startswith("USD")

    def shown(value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return money(value) if is_money else number(value)
        return "-" if value is None else str(value)

    if row.get("value") is not None:
        return shown(row["value"])
    low, high = row.get("value_low"), row.get("value_high")
    if low is None and high is None:
        return shown(row.get("values"))
    if low is None or high is None or low == high:
        return shown(low if high is None else high)
    return f"{shown(low)}-{shown(high)}"


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
    fail_on_shortfall: bool = typer.Option(
        False, "--fail-on-shortfall", help=f"exit {EXIT_SHORTFALL} when demand is not met (for scripts)"),
    stochastic: int | None = typer.Option(
        None, "--stochastic", help="hedge across N futures drawn from the uncertainty section"),
    risk_alpha: float | None = typer.Option(None, "--risk-alpha", help="CVaR level (default 0.95)"),
    risk_weight: float | None = typer.Option(None, "--risk-weight", help="weight of CVaR (default 0)"),
    seed: int | None = typer.Option(None, "--seed", help="sampler seed, as in `gigawatt stress`"),
    derate_from: Path | None = typer.Option(
        None, "--derate-from", help="plan with the availability a round trip measured "
                                    "(`gigawatt simulate SCENARIO --plan DIR --out SIMDIR`)"),
    out_of_sample: int | None = typer.Option(
        None, "--out-of-sample", help="fresh futures to stress the deterministic and hedged plans in (default 100)"),
    batches: int | None = typer.Option(
        None, "--batches", help="solve K extensive forms over N/K futures each, keep the best (default 1)"),
) -> None:
    """Least-cost, risk-bounded capacity plan for a scenario."""
    import tempfile

    from gigawatt.cli.progress import SolveProgress
    from gigawatt.plan import plan as make_plan
    from gigawatt.plan.store import probe_target
    from gigawatt.scenario import load_scenario

    scenario = load_scenario(file)
    derate = None
    if derate_from is not None:
        from gigawatt.cli.roundtrip_cmd import derated_scenario

        scenario, derate = derated_scenario(scenario, derate_from)
    if out is not None:        # refuse a bad destination now, not after minutes of solving
        probe_target(out)
    if report is not None:
        check_output_file(report, "--report")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "highs.log"
        err_console = Console(stderr=True)
        with SolveProgress(err_console, log, enabled=err_console.is_terminal or not as_json) as progress:
            options = stochastic_options(scenario, stochastic, risk_alpha, risk_weight, seed, out_of_sample, batches)
            if options is None:
                result = make_plan(scenario, progress=progress, log_fn=log)
            else:
                from gigawatt.hedging import plan_stochastic

                result = plan_stochastic(scenario, options.futures, seed=options.seed, risk_alpha=options.risk_alpha,
                                         risk_weight=options.risk_weight, out_of_sample=options.out_of_sample,
                                         batches=options.batches, progress=progress)
    if derate is not None:
        from gigawatt.cli.roundtrip_cmd import print_derate

        result.metadata["derate"] = derate
        if not as_json:
            print_derate(result)
    deliver_plan(result, out, report, parquet, as_json, fail_on_shortfall)


def deliver_plan(result: Plan, out: Path | None, report: Path | None, parquet: bool, as_json: bool,
                 fail_on_shortfall: bool, run: tuple[str, str] | None = None) -> None:
    """Save, report and print a plan made here or on a server (`run`: the server and the run id)."""
    from gigawatt.cli.plan_view import print_plan
    from gigawatt.report.plan_report import write_plan_report

    saved = result.save(out, "parquet" if parquet else "csv") if out else None
    html = write_plan_report(result, report) if report else None
    if as_json:
        data = result.to_json()
        data["outputs"] = {"tables": str(saved) if saved else None, "report": str(html) if html else None}
        if run:
            data["outputs"]["run"] = f"{run[0].rstrip('/')}/api/v1/runs/{run[1]}"
        print_json(data)
    else:
        from gigawatt.cli.stochastic_view import print_stochastic

        print_plan(result)
        print_stochastic(result)
        if run:
            console.print(f"run {escape(run[1])} on {escape(run[0])}")
        if saved:
            console.print(f"tables written to {escape(str(saved))}")
        if html:
            console.print(f"report written to {escape(str(html))}")
    if fail_on_shortfall and result.status == "shortfall":
        raise typer.Exit(EXIT_SHORTFALL)


def stochastic_options(scenario: Any, futures: int | None, alpha: float | None, weight: float | None,
                       seed: int | None, out_of_sample: int | None = None, batches: int | None = None) -> Any:
    """policy.stochastic with the command line's flags over it; None for a deterministic plan."""
    from pydantic import ValidationError

    from gigawatt.errors import GigawattError
    from gigawatt.scenario.model import StochasticPolicy

    base = scenario.policy.stochastic
    if futures is None and base is None:
        if any(x is not None for x in (alpha, weight, seed, out_of_sample, batches)):
            raise GigawattError("--risk-alpha, --risk-weight, --seed, --out-of-sample and --batches need --stochastic N "
                                "(or policy.stochastic in the scenario)")
        return None
    given = {"futures": futures, "risk_alpha": alpha, "risk_weight": weight, "seed": seed,
             "out_of_sample": out_of_sample, "batches": batches}
    merged = {**(base.model_dump() if base else {}), **{k: v for k, v in given.items() if v is not None}}
    try:
        return StochasticPolicy.model_validate(merged)
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0])
        flag = "--stochastic" if field == "futures" else "--" + field.replace("_", "-")
        raise GigawattError(f"{flag} (policy.stochastic.{field}): {err['msg']}") from None


@app.command()
def compare(
    plan_a: Path = typer.Argument(..., help="a plan directory (from `gigawatt plan --out`)"),
    plan_b: Path = typer.Argument(..., help="the plan directory to compare with it"),
    report: Path | None = typer.Option(None, "--report", help="write an HTML report of what changed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """What changed between two plans: NPV, capacity by provider, spend, funding gap, binding limits."""
    from gigawatt.plan import Plan
    from gigawatt.plan.compare import compare_plans

    if report is not None:
        check_output_file(report, "--report")
    diff = compare_plans(Plan.load(plan_a), Plan.load(plan_b), str(plan_a), str(plan_b))
    if report is not None:
        from gigawatt.report.compare_report import write_compare_report

        write_compare_report(diff, report)
    if as_json:
        return print_json(diff)
    npv = diff["npv_usd"]
    console.print(f"NPV {money(npv['a'])} -> {money(npv['b'])} (change {money(npv['change'])}); "
                  f"status {diff['status']['a']} -> {diff['status']['b']}")
    console.print(table("Spend per year", ["year", "a", "b", "change"],
                        [[int(r["year"]), money(r["a"]), money(r["b"]), money(r["change"])]
                         for r in diff["spend_usd"]]))
    last = {}
    for r in diff["capacity_mw"]:
        last[r["provider"]] = r                      # rows come sorted by period: keep the last
    console.print(table("Capacity at the horizon's end (MW)", ["provider", "a", "b", "change"],
                        [[escape(str(k)), number(v["a"]), number(v["b"]), number(v["change"])]
                         for k, v in sorted(last.items())]))
    for side in ("a", "b"):
        for line in diff["binding"][f"only_{side}"]:
            console.print(f"  binding only in {side}: {escape(line)}")


def check_output_file(path: Path, option: str) -> None:
    """An output file path must name a file in an existing directory."""
    from gigawatt.errors import GigawattError

    if path.is_dir():
        raise GigawattError(f"{option} {path}: is a directory; give a file name like report.html")
    if not path.parent.is_dir():
        raise GigawattError(f"{option} {path}: directory {path.parent} does not exist; create it first")


def parse_duration(text: str, option: str = "--until") -> float:
    """'54d', '12h', '30m', '90s', '2w' or plain seconds -> seconds."""
    import re

    from gigawatt.errors import GigawattError

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smhdw]?)\s*", text)
    if not m:
        raise GigawattError(f"{option} '{text}' is not a duration; write it like 54d, 12h, 30m or 3600")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    return float(m.group(1)) * scale


POLICY_HELP = ("scheduling policy: fifo, easy-backfill, cost-aware, hetero-aware, failover or "
               "backfill-failover (default: the scenario's operations.policy)")


@app.command()
def simulate(
    file: Path = typer.Argument(..., help="scenario YAML file"),
    plan_dir: Path | None = typer.Option(None, "--plan", help="a plan directory (from `gigawatt plan --out`)"),
    period: str | None = typer.Option(
        None, help="which quarter to operate (default: with --plan, the plan's whole horizon quarter by "
                   "quarter, its round trip; without --plan, the horizon start)"),
    trace: Path | None = typer.Option(None, help="a workload trace (openb pods, Azure LLM requests, or a job CSV)"),
    trace_format: str | None = typer.Option(None, help="trace format (default: detected from the header)"),
    nodes: Path | None = typer.Option(None, help="openb node list (default: beside the openb trace)"),
    policy: str | None = typer.Option(None, help=POLICY_HELP),
    until: str | None = typer.Option(None, help="simulated time, e.g. 54d, 12h (default: until all jobs end)"),
    seed: int = typer.Option(0, help="random seed (same seed, same events)"),
    failures: bool | None = typer.Option(
        None, "--failures/--no-failures", help="accelerator failures at the catalog's rate (default: on)"),
    report: Path | None = typer.Option(None, help="write an HTML report here"),
    as_json: bool = typer.Option(False, "--json"),
    placement: str = typer.Option("first-fit", help="gangs on nodes: first-fit, best-fit, worst-fit, random-fit"),
    spares: int | None = typer.Option(
        None, help="hot spare nodes per pool, swapped in at a failure (default 0; a plan's round trip "
                   "takes them out of the plan's capacity, by default enough for the nodes in repair)"),
    checkpoint_write: float = typer.Option(0.0, help="seconds to write one checkpoint"),
    checkpoint_stall_share: float = typer.Option(1.0, help="share of the write the job stalls (1 blocking)"),
    recommend_checkpoint: bool = typer.Option(False, help="sweep checkpoint intervals; recommend one"),
    packing: bool = typer.Option(False, help="openb trace: fill its nodes by each placement policy (FGD paper)"),
    node_level: bool = typer.Option(
        False, "--node-level", help="openb trace: replay it over time on its node list, CPU and memory "
                                    "included (--placement best-fit, worst-fit, random-fit or fgd)"),
    compress: float | None = typer.Option(None, help="--node-level: arrivals come this many times faster (default 1)"),
    daly: bool = typer.Option(False, "--daly", help="round trip: each quarter, checkpoint at Daly's optimal "
                                                     "interval for its largest run (needs --checkpoint-write)"),
    out_dir: Path | None = typer.Option(
        None, "--out", help="with --plan and no --period: write the round trip's tables here (for plan --derate-from)"),
    failover_after: str | None = typer.Option(
        None, "--failover-after", help="round trip: a training run whose pool has been down this long (e.g. 6h) "
                                       "moves to another pool of its accelerator, in its regions, with room idle "
                                       "(default: it waits for its pool)"),
    transfer_delay: str | None = typer.Option(
        None, "--transfer-delay", help="with --failover-after: time to move a run's checkpoint to the other pool, "
                                       "paid on top of the restart (e.g. 1h; default 0)"),
) -> None:
    """Operate a fleet: gang jobs, failures, checkpoints, outages and failover."""
    import math

    from rich.progress import Progress

    from gigawatt.cli.sim_guard import check_simulation_size
    from gigawatt.errors import GigawattError
    from gigawatt.report.sim_report import write_sim_report
    from gigawatt.scenario import load_scenario
    from gigawatt.sim import POLICIES
    from gigawatt.sim import simulate as run_sim
    from gigawatt.sim.fleet import fleet_from_capacity, fleet_from_openb_nodes
    from gigawatt.sim.from_scenario import (
        busiest_training_period,
        failures_from_scenario,
        fleet_from_scenario,
        outages_from_scenario,
        price_pools,
        workload_from_scenario,
    )
    from gigawatt.sim.inference import ServiceModel, simulate_service
    from gigawatt.sim.traces import check_openb_nodes, load_trace

    s = load_scenario(file)
    if policy is not None and policy not in POLICIES:
        raise GigawattError(f"--policy: unknown policy '{policy}'; choose one of {', '.join(POLICIES)}")
    if trace is None and (nodes is not None or trace_format is not None):
        raise GigawattError(f"{'--nodes' if nodes is not None else '--trace-format'} needs --trace (a trace file)")
    if nodes is not None and plan_dir is not None:
        raise GigawattError("--nodes and --plan both choose the fleet; give one of them")
    if period is not None:
        period = _quarter_option(period)
        if period not in s.horizon.periods:
            raise GigawattError(f"--period {period} is outside the scenario's horizon "
                                f"{s.horizon.start}-{s.horizon.end}; pick a quarter inside it")
    if report is not None:
        check_output_file(report, "--report")
    horizon = parse_duration(until) if until else math.inf
    facts: dict[str, object] = {"scenario": s.name, "seed": seed}
    if packing:
        from gigawatt.cli.output import table as rich_table
        from gigawatt.sim.packing import compare_policies, load_openb_nodes, load_openb_tasks

        node_list = nodes or (_openb_nodes_beside(trace) if trace is not None else None)
        if trace is None or node_list is None:
            raise GigawattError("--packing needs --trace openb_pod_list_*.csv and its node list (--nodes)")
        fills = compare_policies(load_openb_nodes(node_list), load_openb_tasks(trace), seeds=(seed,))
        if as_json:
            return print_json({"packing": fills.to_dict(orient="records"), **facts})
        console.print(rich_table("GPUs allocated when the tasks asked for all of them, by placement policy",
                                 list(fills.columns),
                                 [[f"{v:,.4g}" if isinstance(v, float) else v for v in row]
                                  for row in fills.itertuples(index=False)]))
        return None
    if node_level or compress is not None:
        from gigawatt.cli.roundtrip_cmd import run_node_replay

        node_list = nodes or (_openb_nodes_beside(trace) if trace is not None else None)
        if not node_level or trace is None or node_list is None:
            raise GigawattError("--node-level (and --compress) need --trace openb_pod_list_*.csv and its node "
                                "list (--nodes)")
        return run_node_replay(trace, node_list, placement, seed, 1.0 if compress is None else compress,
                               None if horizon == math.inf else horizon, as_json, facts)
    notes: list[str] = []
    if trace is not None:
        fmt, table = load_trace(trace, trace_format)
        notes += list(table.attrs.get("notes", []))
        facts["trace"] = f"{trace} ({fmt.name}; cite: {fmt.citation})"
        if fmt.kind == "requests":
            given = {"--plan": plan_dir, "--policy": policy, "--nodes": nodes, "--period": period,
                     "--failures/--no-failures": failures, "--report": report}
            unused = [k for k, v in given.items() if v is not None]
            if unused:
                raise GigawattError(
                    f"{', '.join(unused)} do{'es' if len(unused) == 1 else ''} not apply to an inference "
                    f"request trace ({fmt.name}): it runs one service on the scenario's largest pool; "
                    f"remove {'it' if len(unused) == 1 else 'them'}")
            fleet_for_service = fleet_from_scenario(s)
            acc = max(fleet_for_service.pools, key=lambda p: p.capacity).accelerator if fleet_for_service.pools else "nvidia_h100_sxm"
            if horizon != math.inf:
                table = table[table["arrival_s"] <= horizon]
            out = simulate_service(table, ServiceModel(accelerator=acc), seed=seed)
            data = {"utilization": out["slot_utilization"], "goodput": 1.0, "jobs_completed": int(out["requests"]),
                    "work_lost_accelerator_hours": 0.0, "slo_attainment": out["slo_attainment"], "inference": out,
                    "accelerator": acc, "notes": notes, **facts}
            if as_json:
                return print_json(data)
            console.print(table_view(f"Inference service on {acc} ({len(table):,} requests)", out))
            for note in notes:
                console.print(f"note: {escape(str(note))}")
            return None
    round_trip = plan_dir is not None and period is None and trace is None
    if (out_dir is not None or daly) and not round_trip:
        raise GigawattError(f"{'--out' if out_dir is not None else '--daly'} is for a plan's round trip: give "
                            "--plan DIR without --period or --trace")
    if (failover_after is not None or transfer_delay is not None) and not round_trip:
        raise GigawattError(f"{'--failover-after' if failover_after is not None else '--transfer-delay'} is for a "
                            "plan's round trip: give --plan DIR without --period or --trace")
    if transfer_delay is not None and failover_after is None:
        raise GigawattError("--transfer-delay needs --failover-after (runs move only after a delay)")
    if round_trip and (recommend_checkpoint or packing):
        raise GigawattError("--recommend-checkpoint and --packing need one period: add --period with --plan")
    if round_trip:
        import dataclasses

        from gigawatt.cli.roundtrip_cmd import run_round_trip
        from gigawatt.plan.result import Plan as SavedPlan

        fail = dataclasses.replace(failures_from_scenario(s, enabled=failures is not False),
                                   checkpoint_write_s=checkpoint_write, checkpoint_stall_share=checkpoint_stall_share)
        assert plan_dir is not None
        return run_round_trip(s, SavedPlan.load(plan_dir), plan_dir, fail, policy=policy or s.operations.policy,
                              seed=seed, until_s=None if horizon == math.inf else horizon, spares=spares,
                              placement=placement, out=out_dir, report=report, as_json=as_json, daly=daly,
                              failover_after_s=None if failover_after is None
                              else parse_duration(failover_after, "--failover-after"),
                              transfer_s=parse_duration(transfer_delay, "--transfer-delay") if transfer_delay else 0.0)
    if plan_dir is not None:
        chosen_plan = _plan_for(plan_dir, s)
        want = period or busiest_training_period(s)
        fleet, chosen = fleet_from_capacity(chosen_plan.tables["capacity"], want)
        price_pools(fleet, s, chosen)      # cost-aware placement and cost_usd need the plan's prices
        facts["fleet"] = f"plan {plan_dir}, period {chosen}"
        facts["period"] = chosen
        if trace is None:
            table = workload_from_scenario(s, origin=chosen)
    elif trace is None:
        fleet = fleet_from_scenario(s, at=period)
        table = workload_from_scenario(s, origin=period)
        facts["fleet"] = "scenario contracts, cloud offers and existing sites"
        facts["period"] = period or s.horizon.start
    elif (node_file := nodes or _openb_nodes_beside(trace)) is not None:
        fleet = fleet_from_openb_nodes(check_openb_nodes(node_file))
        facts["fleet"] = f"openb nodes {node_file}"
    else:
        fleet = fleet_from_scenario(s)
        facts["fleet"] = "scenario contracts, cloud offers and existing sites"
        if nodes is None and fmt.name == "alibaba-openb":
            notes.append("no openb node list beside the trace (openb_node_list_gpu_node.csv); the fleet "
                         "is the scenario's, so GPU models in the trace may not match; give --nodes")
    import dataclasses

    fail = dataclasses.replace(failures_from_scenario(s, enabled=failures is not False),
                               checkpoint_write_s=checkpoint_write, checkpoint_stall_share=checkpoint_stall_share)
    for pool in fleet.pools:
        pool.spares = spares or 0
    outages = outages_from_scenario(s, fleet, horizon, seed)
    chosen_policy = policy or s.operations.policy
    if recommend_checkpoint:
        from gigawatt.cli.output import table as rich_table
        from gigawatt.sim.checkpoint import recommend_checkpoint as advise

        advice = advise(fleet, table, fail, chosen_policy, outages=outages,
                        until_s=None if horizon == math.inf else horizon)
        if as_json:
            return print_json({**advice.to_json(), **facts})
        console.print(table_view(f"Checkpoint interval for {advice.job}", {
            k: v for k, v in advice.to_json().items() if k != "sweep"}))
        console.print(rich_table("ETTR by checkpoint interval", list(advice.sweep.columns),
                                 [[f"{v:,.4g}" for v in row] for row in advice.sweep.itertuples(index=False)]))
        return None
    check_simulation_size(table, fail, None if horizon == math.inf else horizon, fleet.capacity,
                          max((p.speed for p in fleet.pools), default=1.0))
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("simulating", total=1.0)
        result = run_sim(fleet, table, chosen_policy, failures=fail, outages=outages,
                         until_s=None if horizon == math.inf else horizon, seed=seed, placement=placement,
                         progress=lambda done, total: bar.update(task, completed=done / total if total else 1))
    result.notes[:0] = notes
    facts.update({"policy": chosen_policy, "accelerators": fleet.capacity,
                  "events": result.events, "events_per_second": round(result.events / max(result.wall_seconds, 1e-9))})
    if report:
        write_sim_report(result, report, s.name, {**facts, **result.to_json()})
    if as_json:
        return print_json({**result.to_json(), **facts, "report": str(report) if report else None})
    print_simulation(result, facts)
    if report:
        console.print(f"report written to {escape(str(report))}")


def _quarter_option(text: str) -> str:
    from gigawatt.errors import GigawattError
    from gigawatt.periods import parse_quarter, quarter_label

    try:
        return quarter_label(parse_quarter(text))
    except ValueError as exc:
        raise GigawattError(f"--period: {exc}") from None


def _plan_for(plan_dir: Path, s: Scenario) -> Plan:
    """The plan in `plan_dir`, refused if it was made from another scenario."""
    from gigawatt.cli.roundtrip_cmd import scenario_for_plan
    from gigawatt.plan.result import Plan

    loaded = Plan.load(plan_dir)
    scenario_for_plan(loaded, s, plan_dir)      # this scenario's, or this one derated (plan --derate-from)
    return loaded


def print_simulation(result: object, facts: Mapping[str, object]) -> None:
    from gigawatt.cli.output import duration, number

    r = result.to_json()  # type: ignore[attr-defined]
    title = (f"Simulation: policy {facts.get('policy')}, {number(facts.get('accelerators'))} accelerators"
             + (f", period {facts['period']}" if facts.get("period") else ""))
    console.print(escape(f"fleet: {facts.get('fleet')}" + (f"; trace: {facts['trace']}" if facts.get("trace") else "")))
    rows = []
    for key, value in r.items():
        if isinstance(value, dict | list):
            continue
        if key.endswith("_s") and isinstance(value, int | float):
            rows.append([key.removesuffix("_s"), duration(value)])
        elif key in ("utilization", "goodput", "slo_attainment") and isinstance(value, float):
            rows.append([key, f"{value:.1%}"])
        elif key == "cost_usd":
            rows.append([key, money(value)])  # type: ignore[arg-type]
        else:
            rows.append([key, number(value)])
    console.print(table(title, ["metric", "value"], rows))
    delays = r.get("queueing_delay_s") or {}
    if delays:
        console.print(table("Queueing delay", ["statistic", "wait"], [[k, duration(v)] for k, v in delays.items()]))
    for note in r.get("notes", []):
        console.print(f"note: {escape(str(note))}")


def _openb_nodes_beside(trace: Path) -> Path | None:
    candidate = trace.parent / "openb_node_list_gpu_node.csv"
    return candidate if candidate.exists() and "openb" in trace.name else None


def table_view(title: str, values: Mapping[str, object]) -> Table:
    from gigawatt.cli.output import number

    return table(title, ["metric", "value"], [[k, number(v)] for k, v in values.items()])


from gigawatt.cli import service_cmd, stress_cmd  # noqa: E402, F401  (`serve`, `worker`, `db`, `token`, `stress`)

service_cmd.register(app)      # last: adds --server/--token and routes plan/simulate to a server
