"""Two plans side by side and what changed: capacity, spend, funding and risk."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Query, Request, Response

from gigawatt.plan.compare import compare_plans
from gigawatt.report.compare_report import compare_figures
from gigawatt.report.plan_report import capacity_figure, security_figure
from gigawatt.service import results
from gigawatt.service.auth import CookieViewer
from gigawatt.service.errors import ApiError
from gigawatt.service.routes import store_of
from gigawatt.service.routes.results import finished_artifacts
from gigawatt.service.routes.runs import runs_page
from gigawatt.service.store import queue
from gigawatt.web.render import WebRoute, page, table_view
from gigawatt.web.results import charts, plan_headline

router = APIRouter(route_class=WebRoute)
PlanRun = Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")]


def _plan(request: Request, workspace_id: str, run_id: str) -> tuple[Any, Any]:
    run, arts = finished_artifacts(request, workspace_id, run_id)
    if run.kind != "plan":
        raise ApiError(422, "invalid_request", f"run {run_id} is a {run.kind} run; compare takes two plan runs")
    return run, results.load_plan(arts)


def label(run: Any) -> str:
    return f"{run.scenario_name} v{run.scenario_version} ({run.id[:6]})"


def _titled(fig: go.Figure, plan: str) -> go.Figure:
    """A half-width chart: which plan it is, then the report's title on a line of its own."""
    return fig.update_layout(title={"text": f"{plan}<br><sup>{fig.layout.title.text}</sup>"})


@router.get("/compare")
def compare(request: Request, who: CookieViewer, a: PlanRun = None, b: PlanRun = None) -> Response:
    choices, _ = runs_page(store_of(request), who.workspace_id, kind="plan", status=queue.SUCCEEDED, limit=200)
    context: dict[str, Any] = {"who": who, "choices": choices, "a": a, "b": b}
    if not (a and b):
        return page(request, "compare.html", **context)
    (run_a, plan_a), (run_b, plan_b) = _plan(request, who.workspace_id, a), _plan(request, who.workspace_id, b)
    name_a, name_b = label(run_a), label(run_b)
    diff = compare_plans(plan_a, plan_b, name_a, name_b)
    side_by_side = {
        "capacity": charts({"capacity_a": _titled(capacity_figure(plan_a), f"a: {name_a}"),
                            "capacity_b": _titled(capacity_figure(plan_b), f"b: {name_b}")}),
        "n_minus_1": charts({"n_minus_1_a": _titled(security_figure(plan_a), f"a: {name_a}"),
                             "n_minus_1_b": _titled(security_figure(plan_b), f"b: {name_b}")}),
    }
    capacity = pd.DataFrame(diff["capacity_mw"])
    if not capacity.empty:
        capacity = capacity[capacity["change"].abs() > 1e-6].sort_values(["period", "provider"])
    return page(request, "compare.html", **context, run_a=run_a, run_b=run_b, name_a=name_a, name_b=name_b,
                diff=diff, head_a=plan_headline(plan_a), head_b=plan_headline(plan_b),
                charts=charts(compare_figures(diff)), side_by_side=side_by_side,
                tables={"spend": table_view(pd.DataFrame(diff["spend_usd"])),
                        "funding_gap": table_view(pd.DataFrame(diff["funding_gap_usd"])),
                        "capacity_change": table_view(capacity)})
