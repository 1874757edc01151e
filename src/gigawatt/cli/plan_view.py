"""Print a plan's summary for people: what falls short and why first, then the details."""

from __future__ import annotations

import re

import pandas as pd

from gigawatt.cli.output import clip, console, escape, money, number, table
from gigawatt.plan.result import Plan

SHOWN_LIMITS = 15


def short_money(x: object) -> str:
    """Three significant figures ($435M, $1.08B): a money table fits 80 columns."""
    text = money(x)  # type: ignore[arg-type]
    m = re.fullmatch(r"(-?\$)([\d,]+\.\d+)([kMBT]?)", text)
    if not m:
        return text
    value = float(m.group(2).replace(",", ""))
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{m.group(1)}{value:,.{digits}f}{m.group(3)}"


def shortfall_sentence(plan: Plan) -> str | None:
    """One sentence: which demands fall short, by how much, and the first reason the planner gives."""
    parts: list[tuple[str, str]] = []            # (demand id, how it falls short)
    training = plan.tables.get("training")
    if training is not None and not training.empty and "completes" in training.columns:
        for r in training[~training["completes"].astype(bool)].itertuples():
            done = r.delivered_exaflop / r.required_exaflop if r.required_exaflop else 0.0
            parts.append((str(r.run), f"training, {done:.0%} done by {r.end}"))
    unmet = plan.tables.get("unmet")
    if unmet is not None and not unmet.empty and {"demand", "share_short"} <= set(unmet.columns):
        worst = unmet.loc[unmet.groupby("demand")["share_short"].idxmax()].sort_values(
            "share_short", ascending=False)
        parts += [(str(r.demand), f"up to {r.share_short:.0%} short, in {r.period}") for r in worst.itertuples()]
    if not parts:
        security = [e for e in plan.explanations if "N-1 cover short" in e or "share above cap" in e]
        if plan.status == "shortfall" and security:
            providers = sorted({m.group(1) for e in security if (m := re.search(r"for (\S+) by", e))})
            return (f"Demand is met, but the risk limits are not: N-1 cover or the provider-share cap "
                    f"falls short for {', '.join(providers)} (details below).")
        return None
    first = parts[0][0]
    reason = next((e for e in plan.explanations
                   if e.startswith((f"demand {first} ", f"training run {first} "))), "")
    why = reason.split(": ", 1)[1].split(";")[0] if ": " in reason else ""
    n = len(parts)
    listed = ", ".join(f"{d} ({how})" for d, how in parts[:3])
    sentence = (f"Shortfall: {n} demand{'s' if n > 1 else ''} not fully met: {listed}"
                + (f" and {n - 3} more" if n > 3 else ""))
    return sentence + (f"; main limit for {first}: {why}." if why else ".")


def print_plan(plan: Plan) -> None:
    meta = plan.metadata
    colour = "green" if plan.status == "optimal" else "yellow"
    console.print(
        f"[{colour}]{plan.status}[/{colour}] plan for '{escape(str(meta.get('scenario')))}': NPV {money(plan.npv_usd)} "
        f"(real money: capex, energy, cloud, contracts, less residual value); "
        f"build {number(meta.get('build_seconds', 0))}s, solve {number(meta.get('solve_seconds', 0))}s, "
        f"gap {float(meta.get('mip_gap') or 0):.3%}"
    )
    sentence = shortfall_sentence(plan)
    if sentence:
        console.print(f"[yellow]{escape(sentence)}[/yellow]")
    charged = {k: v for k, v in (plan.penalties_usd or {}).items() if isinstance(v, int | float) and v > 0.5}
    if charged:
        parts = ", ".join(f"{k.replace('_', ' ')} {money(v)}" for k, v in charged.items())
        console.print(f"penalties weighed by the solver, not money spent: {escape(parts)}")
    for note in meta.get("notes") or []:
        console.print(f"note: {escape(str(note))}")
    cap = plan.tables["capacity"]
    if not cap.empty:
        years = cap.assign(year=cap["period"].astype(str).str[:4])
        last = years.sort_values("period").groupby(["year", "provider"])["period"].transform("max") == years["period"]
        pivot = years[last].groupby(["year", "provider"])["mw"].sum().unstack(fill_value=0.0)
        console.print(table("Capacity at year end (MW, facility)", ["year", *map(str, pivot.columns)],
                            [[y, *(number(round(v)) for v in row)] for y, row in pivot.iterrows()]))
    _print_money(plan)
    uc = plan.unit_costs
    per_hour, per_ef_day = uc.get("usd_per_accelerator_hour"), uc.get("usd_per_exaflop_day")
    if isinstance(per_hour, int | float) and per_hour == per_hour and per_hour > 0:
        console.print(f"unit cost: {money(per_hour)} per accelerator-hour, "
                      f"{money(per_ef_day)} per peak exaFLOP/s-day")
    else:
        console.print("unit cost: none (the plan holds no capacity)")
    if plan.binding:
        console.print("[bold]binding limits[/bold]")
        for line in plan.binding[:SHOWN_LIMITS]:
            console.print(f"  - {escape(line)}")
        if len(plan.binding) > SHOWN_LIMITS:
            console.print(f"  ... and {len(plan.binding) - SHOWN_LIMITS} more (see --json or the report)")
    if plan.explanations:
        console.print("[bold yellow]not met[/bold yellow]")
        for line in plan.explanations:
            console.print(f"  - {escape(clip(line, 600))}")


MONEY_COLUMNS = {
    "capex": ("facility_capex_usd", "it_capex_usd"), "energy": ("energy_usd",), "cloud": ("cloud_usd",),
    "contracts": ("contracts_usd",), "total": ("total_usd",), "revenue": ("revenue_usd",),
    "gap": ("funding_gap_usd",),
}


def _print_money(plan: Plan) -> None:
    spend, fin = plan.tables["spend"], plan.tables["finance"]
    if spend.empty:
        return
    merged = spend.merge(fin, on="year", how="left") if not fin.empty else spend
    cols: dict[str, pd.Series] = {}
    for label, sources in MONEY_COLUMNS.items():
        present = [c for c in sources if c in merged.columns]
        if present:
            cols[label] = merged[present].fillna(0.0).sum(axis=1)
    zero = [k for k, v in cols.items() if k != "total" and (v.abs() < 0.5).all()]
    shown = [k for k in cols if k not in zero]
    rows = [[int(y), *(short_money(cols[k].iloc[i]) for k in shown)] for i, y in enumerate(merged["year"])]
    t = table("Money per year (USD; gap = funding gap)", ["year", *shown], rows)
    for column in t.columns[1:]:
        column.justify, column.no_wrap = "right", True
    if zero:
        t.caption = f"zero in every year: {', '.join(zero)}"
    console.print(t)
