"""The plan report: capacity by provider, spend vs revenue, cost breakdown, N-1 margin."""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import plotly.graph_objects as go

from gigawatt.plan.result import Plan
from gigawatt.report.html import bullet_list, figure_html, page, table_html, write
from gigawatt.report.stochastic_report import stochastic_sections

SPEND_PARTS = ["facility_capex_usd", "it_capex_usd", "energy_usd", "cloud_usd", "contracts_usd"]
# one colour per spend category, the same in the bar and the pie chart
PART_COLOURS = dict(zip(SPEND_PARTS, px.colors.qualitative.Plotly, strict=False))


def _label(part: str) -> str:
    return part.removesuffix("_usd").replace("_", " ")


def capacity_figure(plan: Plan) -> go.Figure:
    cap = plan.tables["capacity"]
    by = cap.groupby(["period", "provider"], as_index=False)["mw"].sum() if not cap.empty else cap
    fig = px.area(by, x="period", y="mw", color="provider", title="Capacity by provider (facility MW)")
    return fig.update_layout(yaxis_title="MW", xaxis_title="")


def spend_figure(plan: Plan) -> go.Figure:
    spend, fin = plan.tables["spend"], plan.tables["finance"]
    fig = go.Figure()
    years = spend["year"].astype(int).astype(str)           # categories: no "2,025.5" on the axis
    for part in SPEND_PARTS:
        fig.add_bar(x=years, y=spend[part], name=_label(part), marker_color=PART_COLOURS[part])
    fin_years = fin["year"].astype(int).astype(str)
    fig.add_scatter(x=fin_years, y=fin["revenue_usd"], name="revenue", mode="lines+markers")
    if fin["budget_usd"].notna().any():
        fig.add_scatter(x=fin_years, y=fin["budget_usd"], name="budget", mode="lines", line={"dash": "dash"})
    return fig.update_layout(barmode="stack", title="Spend vs revenue per year (USD)", yaxis_title="USD")


def cost_breakdown_figure(plan: Plan) -> go.Figure:
    totals = plan.tables["spend"][SPEND_PARTS].sum()
    return go.Figure(go.Pie(labels=[_label(p) for p in SPEND_PARTS], values=totals.values, hole=0.4,
                            marker_colors=[PART_COLOURS[p] for p in SPEND_PARTS], sort=False)
                     ).update_layout(title="Cost breakdown over the horizon (undiscounted)")


def security_figure(plan: Plan) -> go.Figure:
    """For each provider lost, the worst cover over demand groups (only capacity they can use)."""
    sec = plan.tables["security"]
    worst = (sec.groupby(["period", "provider"], as_index=False)["cover_without_provider"].min()
             .sort_values(["provider", "period"]) if not sec.empty else sec)
    fig = px.line(worst, x="period", y="cover_without_provider", color="provider",
                  title="N-1 margin: worst share of a demand group's need left without each provider")
    if not sec.empty:
        fig.add_hline(y=float(sec["alpha"].iloc[0]), line_dash="dash", annotation_text="alpha")
    return fig.update_layout(yaxis_tickformat=".0%", xaxis_title="")


def write_plan_report(plan: Plan, path: str | Path) -> Path:
    figures = [capacity_figure(plan), spend_figure(plan), cost_breakdown_figure(plan), security_figure(plan)]
    charts = "".join(figure_html(f, i == 0) for i, f in enumerate(figures))
    meta = plan.metadata
    subtitle = (f"scenario {meta.get('scenario')} ({meta.get('scenario_hash')}), status {plan.status}, "
                f"NPV ${plan.npv_usd / 1e9:,.2f}B (real money; penalties "
                f"${sum(plan.penalties_usd.values()) / 1e9:,.2f}B apart), HiGHS gap {meta.get('mip_gap', 0):.3%}, "
                f"gigawatt {meta.get('version')}")
    sections = [
        ("What could not be met", bullet_list(plan.explanations, "bad")),
        ("Binding limits", bullet_list(plan.binding)),
        ("Charts", charts),
        ("Spend per year", table_html(plan.tables["finance"])),
        ("Facility builds", table_html(plan.tables["builds"])),
        ("Accelerator purchases", table_html(plan.tables["purchases"])),
        ("Training runs: completion", table_html(plan.tables["training"])),
        ("Training run placement", table_html(plan.tables["hosts"])),
    ]
    sections += stochastic_sections(plan)
    return write(path, page(f"gigawatt plan: {meta.get('scenario')}", subtitle, sections))
