"""The simulation report: utilisation over time, Gantt of the largest jobs, delays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from gigawatt.report.html import bullet_list, figure_html, page, write
from gigawatt.sim.result import SimResult


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
