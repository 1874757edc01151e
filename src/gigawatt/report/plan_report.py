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


def capacity_figure(plan: Plan, by: str = "provider") -> go.Figure:
    """Capacity over time stacked by `provider` or by site (`location`)."""
    cap = plan.tables["capacity"]
    summed = cap.groupby(["period", by], as_index=False)["mw"].sum() if not cap.empty else cap
    what = "site" if by == "location" else by
    fig = px.area(summed, x="period", y="mw", color=by, title=f"Capacity by {what} (facility MW)",
                  labels={"location": "site"})
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


def funding_gap_figure(plan: Plan) -> go.Figure:
    """Spend the year's revenue does not cover: what has to be financed."""
    fin = plan.tables["finance"]
    years = fin["year"].astype(int).astype(str)
    fig = go.Figure(go.Bar(x=years, y=fin["funding_gap_usd"], name="funding gap", marker_color="#d62728"))
    return fig.update_layout(title="Funding gap per year: spend not covered by revenue (USD)",
                             yaxis_title="USD")


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


def plan_figures(plan: Plan) -> dict[str, go.Figure]:
    """Every chart of a plan, by name: the HTML report and the dashboard's plan page show these."""
    return {
        "capacity_by_provider": capacity_figure(plan, "provider"),
        "capacity_by_site": capacity_figure(plan, "location"),
        "spend_vs_revenue": spend_figure(plan),
        "funding_gap": funding_gap_figure(plan),
        "cost_breakdown": cost_breakdown_figure(plan),
        "n_minus_1": security_figure(plan),
    }


def write_plan_report(plan: Plan, path: str | Path) -> Path:
    charts = "".join(figure_html(f, i == 0) for i, f in enumerate(plan_figures(plan).values()))
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
    from gigawatt.report.sim_report import derate_section  # a plan made with --derate-from

    derated = derate_section(plan)
    if derated is not None:
        sections.insert(0, derated)
    sections += stochastic_sections(plan)
    return write(path, page(f"gigawatt plan: {meta.get('scenario')}", subtitle, sections))
