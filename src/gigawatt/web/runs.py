"""Runs: the list (paged on the server), start, live progress and log, cancel."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from gigawatt.service.auth import CookieEditor, CookieViewer
from gigawatt.service.errors import ApiError
from gigawatt.service.routes import runs as api
from gigawatt.service.routes import store_of
from gigawatt.service.schemas import RunIn, RunKind, RunStatus
from gigawatt.service.store import Store, queue
from gigawatt.service.store.models import Run, RunLog
from gigawatt.web.render import WebRoute, page

router = APIRouter(route_class=WebRoute)
PAGE = 50
_RUN_IN: TypeAdapter[Any] = TypeAdapter(RunIn)
# form fields each kind takes; empty ones are left to the API's defaults
FIELDS = {"plan": (), "simulate": ("seed", "policy", "period", "failures", "until_days"),
          "stress": ("plan_run", "samples", "seed", "decision_horizon")}


@router.get("/runs")
def run_list(request: Request, who: CookieViewer, status: RunStatus | None = None,
             kind: RunKind | None = None, scenario: Annotated[str | None, Query(max_length=100)] = None,
             cursor: Annotated[str | None, Query(max_length=100, pattern=r"^[0-9.e+-]+_[0-9a-f]{0,32}$")] = None,
             ) -> Response:
    """One page of runs, newest first; 'older' follows the keyset cursor, so page 200 costs what page 1 does."""
    store = store_of(request)
    rows, next_cursor = api.runs_page(store, who.workspace_id, status=status, kind=kind,
                                      scenario=scenario or None, limit=PAGE, cursor=cursor)
    counts = status_counts(store, who.workspace_id)
    filters = {"status": status or "", "kind": kind or "", "scenario": scenario or ""}
    return page(request, "runs.html", who=who, runs=rows, next_cursor=next_cursor, first=cursor is None,
                counts=counts, filters=filters, query=urlencode({k: v for k, v in filters.items() if v}))


def status_counts(store: Store, workspace_id: str) -> dict[str, int]:
    """Runs by status: one grouped count over the workspace's index."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(Run.status, func.count()).where(Run.workspace_id == workspace_id)
                            .group_by(Run.status)).all()
    return {str(status): int(n) for status, n in rows}


@router.post("/runs")
async def start(request: Request, who: CookieEditor) -> Response:
    """Queue a run from the scenario page's form; the form's key makes a double submit one run."""
    form = await request.form()
    kind = str(form.get("kind", ""))
    body: dict[str, Any] = {"kind": kind, "scenario": str(form.get("scenario", ""))}
    if form.get("version"):
        body["version"] = str(form["version"])
    for field in FIELDS.get(kind, ()):
        value = form.get(field)
        if field == "failures":
            body["failures"] = value == "on"
        elif field == "until_days" and value not in (None, ""):
            try:
                body["until_s"] = float(str(value)) * 86400
            except ValueError:
                raise ApiError(422, "invalid_request", f"until (days): '{value}' is not a number") from None
        elif value not in (None, ""):
            body[field] = str(value)
    try:
        run_in = _RUN_IN.validate_python(body, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:] or first["loc"])
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from None
    key = str(form.get("form_key") or "") or None
    # the API's own create (checks, idempotency, queue), off the event loop: it writes the database
    run = await run_in_threadpool(api.create, request, Response(), who, run_in, key)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/progress")
def progress(request: Request, who: CookieViewer,
             ids: Annotated[str, Query(max_length=33 * PAGE, pattern=r"^[0-9a-f]{32}(,[0-9a-f]{32})*$")]
             ) -> JSONResponse:
    """Status and progress of the runs a list shows, in one query: lists refresh their live rows."""
    wanted = ids.split(",")[:PAGE]
    with store_of(request).engine.connect() as conn:
        rows = conn.execute(select(Run.id, Run.status, Run.progress, Run.phase)
                            .where(Run.workspace_id == who.workspace_id, Run.id.in_(wanted))).all()
    return JSONResponse({r.id: {"status": r.status, "progress": r.progress, "phase": r.phase,
                                "finished": r.status in queue.FINISHED} for r in rows},
                        headers={"Cache-Control": "no-store"})


@router.get("/runs/{run_id}")
def run_page(run_id: api.RunId, request: Request, who: CookieViewer) -> Response:
    run = api.get_run(request, who.workspace_id, run_id)
    return page(request, "run.html", who=who, run=run, finished=run.status in queue.FINISHED)


@router.get("/runs/{run_id}/live")
def live(run_id: api.RunId, request: Request, who: CookieViewer,
         after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> JSONResponse:
    """What the run page polls: status, progress, phase and the log lines after `after`."""
    run = api.get_run(request, who.workspace_id, run_id)
    with store_of(request).engine.connect() as conn:
        rows = conn.execute(select(RunLog.id, RunLog.at, RunLog.line)
                            .where(RunLog.run_id == run_id, RunLog.id > after).order_by(RunLog.id)
                            .limit(2000)).all()
    end = run.finished_at or (time.time() if run.status == queue.RUNNING else None)
    return JSONResponse({
        "status": run.status, "progress": run.progress, "phase": run.phase, "error": run.error,
        "cancel_requested": run.cancel_requested, "finished": run.status in queue.FINISHED,
        "running_s": (end - run.started_at) if run.started_at and end else None,
        "result_url": f"/runs/{run_id}/result" if run.status == queue.SUCCEEDED else None,
        "lines": [{"id": r.id, "at": r.at, "line": r.line} for r in rows],
        "next_after": rows[-1].id if rows else after,
    }, headers={"Cache-Control": "no-store"})


@router.post("/runs/{run_id}/cancel")
def cancel(run_id: api.RunId, request: Request, who: CookieEditor) -> Response:
    api.cancel(run_id, request, who)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
