"""Result pages of a succeeded run (plan, simulation, stress) and its tables as CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Request, Response

from gigawatt.plan.result import Plan
from gigawatt.report.html import figure_div
from gigawatt.report.plan_report import plan_figures
from gigawatt.report.sim_report import sim_figures
from gigawatt.report.stress_report import stress_figures
from gigawatt.service import results
from gigawatt.service.auth import CookieViewer
from gigawatt.service.errors import not_found
from gigawatt.service.routes.results import TableName, finished_artifacts
from gigawatt.service.routes.results import report as api_report
from gigawatt.service.routes.runs import RunId
from gigawatt.web.render import WebRoute, page, table_view

router = APIRouter(route_class=WebRoute)

# A plan's tables as the page lists them: the decisions first, then what follows from them.
PLAN_TABLES = ("builds", "purchases", "rentals", "hosts", "training", "serve", "capacity", "spend",
               "finance", "unmet", "security", "shadow_price")


def charts(figures: dict[str, go.Figure]) -> list[dict[str, str]]:
    return [{"name": name, "title": fig.layout.title.text or name, "html": figure_div(fig, f"chart-{name}")}
            for name, fig in figures.items()]


def plan_headline(plan: Plan) -> dict[str, Any]:
    """The money a reader wants first: NPV, penalties, spend, revenue, the worst funding gap."""
    fin, unmet = plan.tables["finance"], plan.tables["unmet"]
    worst = fin.loc[fin["funding_gap_usd"].idxmax()] if not fin.empty else None
    return {
        "npv_usd": plan.npv_usd,
        "penalties_usd": sum(plan.penalties_usd.values()),
        "spend_usd": float(fin["spend_usd"].sum()) if not fin.empty else 0.0,
        "revenue_usd": float(fin["revenue_usd"].sum()) if not fin.empty else 0.0,
        "funding_gap_usd": float(fin["funding_gap_usd"].sum()) if not fin.empty else 0.0,
        "worst_gap": (int(worst["year"]), float(worst["funding_gap_usd"])) if worst is not None else None,
        "unmet_exaflops": float(unmet["exaflops_short"].sum()) if not unmet.empty else 0.0,
    }


@router.get("/runs/{run_id}/result")
def result(run_id: RunId, request: Request, who: CookieViewer) -> Response:
    run, arts = finished_artifacts(request, who.workspace_id, run_id)
    if run.kind == "plan":
        plan = results.load_plan(arts)
        tables = {name: table_view(plan.tables[name]) for name in PLAN_TABLES if name in plan.tables}
        return page(request, "plan.html", who=who, run=run, plan=plan, headline=plan_headline(plan),
                    charts=charts(plan_figures(plan)), tables=tables,
                    penalties={k: v for k, v in plan.penalties_usd.items() if abs(v) > 0.005})
    if run.kind == "simulate":
        sim, facts = results.load_sim(arts)
        jobs = sim.jobs.sort_values("accelerators", ascending=False) if "accelerators" in sim.jobs else sim.jobs
        return page(request, "simulation.html", who=who, run=run, sim=sim, facts=facts,
                    charts=charts(sim_figures(sim)), jobs=table_view(jobs, 200))
    stress = results.load_stress(arts)
    return page(request, "stress.html", who=who, run=run, stress=stress, s=stress.summary,
                charts=charts(stress_figures(stress)),
                tables={"worst": table_view(stress.worst), "tornado": table_view(stress.tornado),
                        "global_indices": table_view(stress.global_indices)})


@router.get("/runs/{run_id}/report.html")
def report(run_id: RunId, request: Request, who: CookieViewer) -> Response:
    """The run's self-contained HTML report, the API's own (`/api/v1/runs/{id}/report`)."""
    return api_report(run_id, request, who)


@router.get("/runs/{run_id}/tables/{table}.csv")
def table_csv(run_id: RunId, table: TableName, request: Request, who: CookieViewer) -> Response:
    run, arts = finished_artifacts(request, who.workspace_id, run_id)
    names = results.table_names(run.kind, arts)
    if table not in names:
        raise not_found("table", f"{table}; this run has {', '.join(names)}")
    df: pd.DataFrame = results.read_table(run.kind, arts, table)
    return Response(df.to_csv(index=False), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{run_id}-{table}.csv"'})
