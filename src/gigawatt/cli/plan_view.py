"""Print a plan's summary for people."""

from __future__ import annotations

from gigawatt.cli.output import console, money, table
from gigawatt.plan.result import Plan


def print_plan(plan: Plan) -> None:
    meta = plan.metadata
    colour = "green" if plan.status == "optimal" else "yellow"
    console.print(
        f"[{colour}]{plan.status}[/{colour}] plan for '{meta.get('scenario')}': NPV {money(plan.npv_usd)} "
        f"(real money: capex, energy, cloud, contracts, less residual value); "
        f"build {meta.get('build_seconds', 0):.1f}s, solve {meta.get('solve_seconds', 0):.1f}s, "
        f"gap {meta.get('mip_gap', 0):.3%}"
    )
    charged = {k: v for k, v in plan.penalties_usd.items() if v > 0.5}
    if charged:
        parts = ", ".join(f"{k.replace('_', ' ')} {money(v)}" for k, v in charged.items())
        console.print(f"penalties weighed by the solver, not money spent: {parts}")
    cap = plan.tables["capacity"]
    if not cap.empty:
        years = cap.assign(year=cap["period"].str[:4])
        last = years.sort_values("period").groupby(["year", "provider"])["period"].transform("max") == years["period"]
        pivot = years[last].groupby(["year", "provider"])["mw"].sum().unstack(fill_value=0.0)
        console.print(table("Capacity at year end (MW, facility)", ["year", *map(str, pivot.columns)],
                            [[y, *(f"{v:,.0f}" for v in row)] for y, row in pivot.iterrows()]))
    fin = plan.tables["finance"].merge(plan.tables["spend"], on="year")
    console.print(table("Money per year", ["year", "capex", "energy", "cloud", "contracts", "total", "revenue", "funding gap"], [
        [int(r.year), money(r.facility_capex_usd + r.it_capex_usd), money(r.energy_usd), money(r.cloud_usd),
         money(r.contracts_usd), money(r.total_usd), money(r.revenue_usd), money(r.funding_gap_usd)]
        for r in fin.itertuples()]))
    uc = plan.unit_costs
    if uc.get("usd_per_accelerator_hour"):
        console.print(f"unit cost: ${uc['usd_per_accelerator_hour']:.2f} per accelerator-hour, "
                      f"{money(uc['usd_per_exaflop_day'])} per peak exaFLOP/s-day")
    else:
        console.print("unit cost: none (the plan holds no capacity)")
    if plan.binding:
        console.print("[bold]binding limits[/bold]")
        for line in plan.binding[:15]:
            console.print(f"  - {line}")
        if len(plan.binding) > 15:
            console.print(f"  ... and {len(plan.binding) - 15} more (see --json or the report)")
    if plan.explanations:
        console.print("[bold yellow]not met[/bold yellow]")
        for line in plan.explanations:
            console.print(f"  - {line}")
