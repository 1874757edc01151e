"""The simulation report: utilisation over time, Gantt of the largest jobs, delays."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from gigawatt.report.html import bullet_list, figure_html, page, table_html, write
from gigawatt.sim.result import SimResult
from gigawatt.sim.roundtrip import RoundTrip


def utilization_figure(r: SimResult) -> go.Figure:
    fig = px.line(r.timeline, x="time_h", y="utilization", title="Fleet utilisation over time")
    return fig.update_layout(yaxis_tickformat=".0%", xaxis_title="hours")


def gantt_figure(r: SimResult) -> go.Figure:
    g = r.gantt
    fig = go.Figure()
    if not g.empty:
        for pool, rows in g.groupby("pool"):
            fig.add_bar(y=rows["job"], x=rows["end_h"] - rows["start_h"], base=rows["start_h"], orientation="h",
                        name=str(pool), hovertext=[f"{a:,.0f} accelerators" for a in rows["accelerators"]])
    return fig.update_layout(title="Largest jobs: when they ran and where (gaps are failures and waits)",
                             xaxis_title="hours", barmode="overlay")


def delay_figure(r: SimResult) -> go.Figure:
    delay = (r.jobs["first_start"] - r.jobs["arrival"]).to_numpy()
    delay = delay[np.isfinite(delay)] / 3600
    return px.histogram(x=delay, nbins=50, title="Queueing delay (hours)").update_layout(xaxis_title="hours")


def ettr_figure(r: SimResult) -> go.Figure:
    ettr = r.jobs["ettr"].to_numpy() if "ettr" in r.jobs else np.array([])
    ettr = ettr[np.isfinite(ettr)]
    fig = px.histogram(x=ettr, nbins=40, title="ETTR by job: productive time over wall time from submission")
    return fig.update_layout(xaxis_title="ETTR", xaxis_tickformat=".0%")


def sim_figures(r: SimResult) -> dict[str, go.Figure]:
    """Every chart of a simulation, by name: the HTML report and the dashboard show these."""
    return {"utilization": utilization_figure(r), "gantt": gantt_figure(r), "delay": delay_figure(r),
            "ettr": ettr_figure(r)}


def write_sim_report(r: SimResult, path: str | Path, title: str, facts: dict[str, Any]) -> Path:
    charts = "".join(figure_html(f, i == 0) for i, f in enumerate(sim_figures(r).values()))
    lines = [f"{k}: {v}" for k, v in facts.items()]
    ettr = f"ETTR {r.ettr:.1%}, " if r.ettr is not None else ""
    headline = (f"utilisation {r.utilization:.1%}, goodput {r.goodput:.1%}, {ettr}"
                f"{r.jobs_completed}/{r.jobs_total} jobs done")
    return write(path, page(f"gigawatt simulation: {title}", headline,
                            [("Summary", bullet_list(lines)), ("Charts", charts)]))


# --- the plan's round trip: planned vs simulated ---

def completion_figure(runs: pd.DataFrame) -> go.Figure:
    """Per training run: the day the plan finishes it and the day the simulation does."""
    fig = go.Figure()
    fig.add_bar(y=runs["run"], x=runs["planned_day"], orientation="h", name="planned")
    fig.add_bar(y=runs["run"], x=runs["simulated_day"], orientation="h", name="simulated",
                hovertext=[f"{s}; ETTR {e:.1%}" if e == e else str(s)
                           for s, e in zip(runs["status"], runs["ettr"], strict=True)])
    return fig.update_layout(title="Training runs: planned vs simulated completion (no bar: not finished)",
                             xaxis_title="days from the horizon start", barmode="group")


def delivered_figure(periods: pd.DataFrame) -> go.Figure:
    """Per period: effective compute the plan serves vs what the simulated fleet delivered."""
    by = periods.groupby(["period", "kind"], as_index=False)[["planned_exaflop", "delivered_exaflop"]].sum()
    fig = go.Figure()
    for kind, rows in by.groupby("kind"):
        fig.add_bar(x=rows["period"], y=rows["planned_exaflop"], name=f"{kind} planned", opacity=0.45)
        fig.add_scatter(x=rows["period"], y=rows["delivered_exaflop"], name=f"{kind} delivered", mode="lines+markers")
    return fig.update_layout(title="Compute per period: planned vs delivered (effective exaFLOP)",
                             yaxis_title="exaFLOP", barmode="group")


def quarter_utilization_figure(capacity: pd.DataFrame) -> go.Figure:
    fig = px.line(capacity, x="period", y="utilization", markers=True,
                  title="Fleet utilisation over time (held accelerator-time over the plan's, by quarter)")
    return fig.update_layout(yaxis_tickformat=".0%", xaxis_title="")


def write_round_trip_report(rt: RoundTrip, path: str | Path, title: str, facts: dict[str, Any]) -> Path:
    figures = [completion_figure(rt.runs), delivered_figure(rt.periods), quarter_utilization_figure(rt.capacity)]
    charts = "".join(figure_html(f, i == 0) for i, f in enumerate(figures))
    late = rt.late_runs()
    sm = rt.summary
    headline = (f"late runs: {', '.join(late) if late else 'none'}; delivered {sm['delivered_exaflop']:,.4g} of "
                f"{sm['planned_exaflop']:,.4g} planned effective exaFLOP; {sm['failures']:,} failures")
    lines = [f"{k}: {v}" for k, v in facts.items()] + [f"note: {n}" for n in rt.notes]
    sections = [("Charts", charts),
                ("Training runs", table_html(rt.runs)),
                ("Inference loads (SLO attainment: served share of the planned compute-time)",
                 table_html(rt.inference)),
                ("The plan's capacity by quarter, with the spare nodes kept out of it", table_html(rt.capacity)),
                ("Summary", bullet_list(lines))]
    return write(path, page(f"gigawatt round trip: {title}", headline, sections))


def derate_section(plan: Any) -> tuple[str, str] | None:
    """For a plan made with `--derate-from`: the availability it planned with and the capacity it adds."""
    from gigawatt.sim.derate import derate_summary, derate_table

    derate = plan.metadata.get("derate")
    if not derate:
        return None
    table = derate_table(plan.tables["capacity"], derate)
    fig = go.Figure()
    fig.add_scatter(x=table["period"], y=table["mw_base"], name="plan simulated", mode="lines")
    fig.add_scatter(x=table["period"], y=table["mw"], name="derated plan", mode="lines")
    fig.add_bar(x=table["period"], y=table["mw_added"], name="added by the derate", opacity=0.5)
    fig.update_layout(title="Capacity the derate adds (facility MW)", yaxis_title="MW")
    shares = pd.DataFrame(sorted(derate["availability"].items()), columns=["demand", "availability"])
    body = (f"<p>{html.escape(derate_summary(table))} (from {html.escape(str(derate['from']))})</p>"
            + table_html(shares) + figure_html(fig, False) + table_html(table))
    return "Derated from a simulation", body
