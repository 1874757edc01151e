"""Results of a succeeded run: summary, tables as JSON, CSV or Parquet, and the HTML report."""

from __future__ import annotations

import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from gigawatt.json_values import finite
from gigawatt.service import results
from gigawatt.service.auth import Viewer
from gigawatt.service.errors import ApiError, not_found
from gigawatt.service.routes import READ_ERRORS, store_of
from gigawatt.service.routes.runs import RunId, get_run
from gigawatt.service.schemas import ResultIndex, TableOut
from gigawatt.service.store import queue
from gigawatt.service.store.models import Artifact

router = APIRouter(prefix="/api/v1/runs", tags=["results"],
                   responses={**READ_ERRORS, 409: {"model": READ_ERRORS[404]["model"],
                                                   "description": "the run has not succeeded (yet)"}})
TableName = Annotated[str, PathParam(pattern=r"^[a-z_]{1,50}$")]


class TableFormat(StrEnum):
    json = "json"
    csv = "csv"
    parquet = "parquet"


def finished_artifacts(request: Request, workspace_id: str, run_id: str) -> tuple[Any, dict[str, bytes]]:
    """The run's artifacts, or 409 saying why there are none (yet)."""
    run = get_run(request, workspace_id, run_id)
    if run.status != queue.SUCCEEDED:
        why = {
            queue.QUEUED: "is queued; results exist once it has succeeded",
            queue.RUNNING: f"is running ({run.progress:.0%}); results exist once it has succeeded",
            queue.FAILED: f"failed: {run.error}",
            queue.CANCELLED: "was cancelled; it has no results",
        }[run.status]
        raise ApiError(409, "not_ready" if run.status in (queue.QUEUED, queue.RUNNING) else "no_result",
                       f"run {run_id} {why}", run_status=run.status)
    with store_of(request).read() as session:
        rows = session.execute(select(Artifact.name, Artifact.data).where(Artifact.run_id == run_id)).all()
    return run, {name: bytes(data) for name, data in rows}


@router.get("/{run_id}/result", response_model=ResultIndex)
def summary(run_id: RunId, request: Request, who: Viewer) -> ResultIndex:
    """The run's headline figures (as `gigawatt plan --json` prints them) and its tables."""
    run, arts = finished_artifacts(request, who.workspace_id, run_id)
    data: dict[str, Any] = {"plan": lambda: results.load_plan(arts).to_json(),
                            "simulate": lambda: results.sim_summary(arts),
                            "stress": lambda: results.stress_summary(arts)}[run.kind]()
    return ResultIndex(run=run.id, kind=run.kind, tables=results.table_names(run.kind, arts),  # type: ignore[arg-type]
                       summary=finite(data))


@router.get("/{run_id}/result/{table}", response_model=TableOut, responses={200: {"content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}})
def table(run_id: RunId, table: TableName, request: Request, who: Viewer,
          format: TableFormat = TableFormat.json) -> Any:
    """One result table: JSON rows, CSV or Parquet (`?format=`)."""
    run, arts = finished_artifacts(request, who.workspace_id, run_id)
    if table not in results.table_names(run.kind, arts):
        raise not_found("table", f"{table}; this run has {', '.join(results.table_names(run.kind, arts))}")
    df = results.read_table(run.kind, arts, table)
    if format is TableFormat.csv:
        return Response(df.to_csv(index=False), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{run_id}-{table}.csv"'})
    if format is TableFormat.parquet:
        return Response(arts[f"{results.PREFIX[run.kind]}{table}.parquet"], media_type="application/vnd.apache.parquet",
                        headers={"Content-Disposition": f'attachment; filename="{run_id}-{table}.parquet"'})
    return TableOut(table=table, columns=[str(c) for c in df.columns], rows=results.records(df))


@router.get("/{run_id}/report", response_model=None,
            responses={200: {"description": "the report page",
                             "content": {"text/html": {"schema": {"type": "string"}}}}})
def report(run_id: RunId, request: Request, who: Viewer) -> HTMLResponse:
    """The self-contained HTML report, built by the same code as `gigawatt plan --report`."""
    run, arts = finished_artifacts(request, who.workspace_id, run_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        if run.kind == "plan":
            from gigawatt.report.plan_report import write_plan_report

            write_plan_report(results.load_plan(arts), path)
        elif run.kind == "stress":
            from gigawatt.report.stress_report import write_stress_report

            write_stress_report(results.load_stress(arts), path)
        else:
            from gigawatt.report.sim_report import write_sim_report

            sim, facts = results.load_sim(arts)
            write_sim_report(sim, path, str(facts.get("scenario", run_id)), {**facts, **sim.to_json()})
        return HTMLResponse(path.read_text("utf-8"))


def plan_of(request: Request, workspace_id: str, run_id: str) -> Any:
    run, arts = finished_artifacts(request, workspace_id, run_id)
    if run.kind != "plan":
        raise ApiError(422, "invalid_request", f"run {run_id} is a {run.kind} run; compare takes two plan runs")
    return results.load_plan(arts)

