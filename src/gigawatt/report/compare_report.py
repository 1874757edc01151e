"""Two plans side by side: capacity, spend and funding, b minus a."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from gigawatt.report.html import bullet_list, figure_html, page, table_html, write


def capacity_change_figure(diff: dict[str, Any]) -> go.Figure:
    cap = pd.DataFrame(diff["capacity_mw"])
    fig = go.Figure()
    if not cap.empty:
        for provider, rows in cap.sort_values("period").groupby("provider"):
            fig.add_bar(x=rows["period"], y=rows["change"], name=str(provider))
    return fig.update_layout(barmode="relative", title="Capacity change by provider (facility MW, b minus a)",
                             yaxis_title="MW")


def spend_figure(diff: dict[str, Any]) -> go.Figure:
    spend = pd.DataFrame(diff["spend_usd"])
    fig = go.Figure()
    if not spend.empty:
        years = spend["year"].astype(int).astype(str)      # categories: no 2,025.5 on the axis
        fig.add_bar(x=years, y=spend["a"], name=str(diff["a"]))
        fig.add_bar(x=years, y=spend["b"], name=str(diff["b"]))
    return fig.update_layout(barmode="group", title="Spend per year (USD)", yaxis_title="USD")


def funding_gap_figure(diff: dict[str, Any]) -> go.Figure:
    gap = pd.DataFrame(diff["funding_gap_usd"])
    fig = go.Figure()
    if not gap.empty:
        years = gap["year"].astype(int).astype(str)
        fig.add_bar(x=years, y=gap["a"], name=str(diff["a"]))
        fig.add_bar(x=years, y=gap["b"], name=str(diff["b"]))
    return fig.update_layout(barmode="group", title="Funding gap per year (USD)", yaxis_title="USD")


def compare_figures(diff: dict[str, Any]) -> dict[str, go.Figure]:
    """Every chart of a comparison, by name: the HTML report and the dashboard show these."""
    return {"capacity_change": capacity_change_figure(diff), "spend": spend_figure(diff),
            "funding_gap": funding_gap_figure(diff)}


def write_compare_report(diff: dict[str, Any], path: str | Path) -> Path:
    charts = "".join(figure_html(f, i == 0) for i, f in enumerate(compare_figures(diff).values()))
    npv = diff["npv_usd"]
    subtitle = (f"{diff['a']} ({diff['status']['a']}) vs {diff['b']} ({diff['status']['b']}): NPV "
                f"${npv['a'] / 1e9:,.2f}B -> ${npv['b'] / 1e9:,.2f}B ({npv['change'] / 1e9:+,.2f}B)")
    sections = [
        ("Charts", charts),
        ("Spend per year (USD)", table_html(pd.DataFrame(diff["spend_usd"]))),
        ("Funding gap per year (USD)", table_html(pd.DataFrame(diff["funding_gap_usd"]))),
        (f"Binding only in {diff['a']}", bullet_list(diff["binding"]["only_a"])),
        (f"Binding only in {diff['b']}", bullet_list(diff["binding"]["only_b"])),
    ]
    return write(path, page("gigawatt: two plans compared", subtitle, sections))
