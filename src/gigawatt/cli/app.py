"""Typer application: thin commands over the core."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

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
