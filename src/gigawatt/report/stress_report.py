"""The stress report: fan charts, cost CDF, tornado, worst samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from gigawatt.cli.output import money
from gigawatt.report.html import figure_html, page, table_html, write
from gigawatt.stress import risk
from gigawatt.stress.run import StressResult


def fan_figure(result: StressResult, metric: str, title: str, unit: str) -> go.Figure:
    b = risk.bands(result.table, metric)
    fig = go.Figure()
    if not b.empty:
        fig.add_scatter(x=b["key"], y=b["p90"], mode="lines", line={"width": 0}, name="P90", showlegend=False)
        fig.add_scatter(x=b["key"], y=b["p10"], mode="lines", line={"width": 0}, fill="tonexty",
                        fillcolor="rgba(31,119,180,0.25)", name="P10-P90")
        fig.add_scatter(x=b["key"], y=b["p50"], mode="lines+markers", name="P50")
        fig.add_scatter(x=b["key"], y=b["mean"], mode="lines", line={"dash": "dot"}, name="mean")
    return fig.update_layout(title=title, yaxis_title=unit)


def cdf_figure(result: StressResult) -> go.Figure:
    cost = np.sort(risk.scalar(result.table, "cost_usd").to_numpy())
    share = np.arange(1, len(cost) + 1) / max(len(cost), 1)
    fig = go.Figure(go.Scatter(x=cost, y=share, mode="lines", name="cost"))
    for q in ("p10", "p50", "p90"):
        fig.add_vline(x=result.summary["cost_usd"][q], line_dash="dot", annotation_text=q.upper())
    return fig.update_layout(title="Cost CDF: certainty the NPV of spend stays below a value",
                             xaxis_title="NPV of spend (USD)", yaxis_title="probability")


def tornado_figure(result: StressResult) -> go.Figure:
    t = result.tornado.iloc[::-1]
    fig = go.Figure()
    if not t.empty:
        base = float(t["base"].iloc[0])
        fig.add_bar(y=t["factor"], x=t["low"] - base, base=base, orientation="h", name="factor at P10")
        fig.add_bar(y=t["factor"], x=t["high"] - base, base=base, orientation="h", name="factor at P90")
    return fig.update_layout(barmode="overlay", title="Tornado: NPV of spend with one factor at P10 / P90, "
                             "the rest at median", xaxis_title="USD")


def stress_figures(result: StressResult) -> dict[str, go.Figure]:
    """Every chart of a stress test, by name: the HTML report and the dashboard show these."""
    return {
        "capacity_short": fan_figure(result, "capacity_short_mw",
                                     "Capacity short per quarter (MW-equivalent), P10-P90", "MW"),
        "spend": fan_figure(result, "spend_usd", "Spend per year (USD), P10-P90", "USD"),
        "funding_gap": fan_figure(result, "funding_gap_usd", "Funding gap per year (USD), P10-P90", "USD"),
        "cost_cdf": cdf_figure(result),
        "tornado": tornado_figure(result),
    }


def write_stress_report(result: StressResult, path: str | Path) -> Path:
    s = result.summary
    c = s["cost_usd"]
    headline = (f"<p>{s['samples']} futures ({s['solved']} solved). NPV of spend: mean {money(c['mean'])}, "
                f"P10 {money(c['p10'])}, P50 {money(c['p50'])}, P90 {money(c['p90'])}, CVaR95 {money(c['cvar95'])}. "
                f"Probability of any compute shortfall: {s['shortfall_probability']:.1%}; of a funding gap above "
                f"{money(s['funding_gap_threshold_usd'])} in some year: {s['funding_gap_probability']:.1%}.</p>"
                f"<p>First stage held fixed: {result.metadata.get('first_stage', '')}.</p>")
    sections = [("Summary", headline)]
    figs = list(stress_figures(result).values())
    sections += [(f.layout.title.text or "", figure_html(f, i == 0)) for i, f in enumerate(figs)]
    sections.append(("Global sensitivity (SALib delta, S1) of the NPV of spend", table_html(result.global_indices)))
    sections.append(("Worst samples by NPV of spend, and what went wrong", table_html(result.worst)))
    sub = f"seed {result.metadata.get('seed')}, {result.metadata.get('method')} sampling"
    return write(path, page(f"Stress test: {result.metadata.get('scenario', '')}", sub, sections))
