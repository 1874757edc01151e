"""Runs: POST queues one and answers 202 with its id at once; workers execute it.

Reads (one run, the list, the log) are single indexed queries, fast while plans execute.
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from sqlalchemy import select

from gigawatt.scenario import parse_scenario
from gigawatt.service.auth import Editor, Viewer
from gigawatt.service.errors import ApiError, not_found
from gigawatt.service.routes import WRITE_ERRORS, store_of
from gigawatt.service.routes.scenarios import find
from gigawatt.service.schemas import (
    LogLine,
    RunIn,
    RunKind,
    RunLogOut,
    RunOut,
    RunPage,
    RunStatus,
    ScenarioRef,
    SimulateRunIn,
    StressRunIn,
    Timings,
    when,
)
from gigawatt.service.store import Store, queue
from gigawatt.service.store.models import Run, RunLog, Scenario

router = APIRouter(prefix="/api/v1/runs", tags=["runs"], responses=WRITE_ERRORS)
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a run id")]


def run_out(run: Any) -> RunOut:
    """A row of _RUNS (the run's columns plus its scenario's name and version) as the API shows it."""
    end = run.finished_at or (time.time() if run.status == queue.RUNNING else None)
    timings = Timings(
        queued_s=(run.started_at - run.created_at) if run.started_at else None,
        running_s=(end - run.started_at) if run.started_at and end else None,
    )
    return RunOut(id=run.id, kind=run.kind, status=run.status, progress=run.progress, phase=run.phase,
                  scenario=ScenarioRef(name=run.scenario_name, version=run.scenario_version),
                  options=run.options, attempts=run.attempts, error=run.error,
                  cancel_requested=run.cancel_requested, gigawatt_version=run.gigawatt_version,
                  created_at=when(run.created_at), started_at=when(run.started_at),  # type: ignore[arg-type]
                  finished_at=when(run.finished_at), timings=timings)


# Status reads are the hot path: a Core query of plain rows, no ORM objects.
_RUNS = (select(*Run.__table__.columns, Scenario.name.label("scenario_name"),
                Scenario.version.label("scenario_version"))
         .join(Scenario, Scenario.id == Run.scenario_id))


def get_run(request: Request, workspace_id: str, run_id: str) -> Any:
    with store_of(request).engine.connect() as conn:
        row = conn.execute(_RUNS.where(Run.workspace_id == workspace_id, Run.id == run_id)).one_or_none()
    if row is None:
        raise not_found("run", run_id)
    return row


def _check_options(body: Any, scenario: Scenario, request: Request, workspace_id: str) -> None:
    """Refuse options the run would fail on, before anything is queued."""
    if isinstance(body, StressRunIn):
        if parse_scenario(scenario.yaml, file=scenario.name).uncertainty is None:
            raise ApiError(422, "invalid_request", f"scenario '{scenario.name}' v{scenario.version} has no "
                           "uncertainty: section; a stress run samples futures from it")
        plan_run = get_run(request, workspace_id, body.plan_run)
        if plan_run.kind != "plan" or plan_run.status != queue.SUCCEEDED:
            raise ApiError(409, "conflict", f"plan_run {body.plan_run} is a {plan_run.status} {plan_run.kind} "
                           "run; a stress run needs a succeeded plan run")
        return
    if not isinstance(body, SimulateRunIn):
        return
    if body.policy is not None:
        from gigawatt.sim.policies import POLICIES

        if body.policy not in POLICIES:
            raise ApiError(422, "invalid_request", f"policy: unknown policy '{body.policy}'; choose one of "
                           f"{', '.join(POLICIES)}")
    if body.period is not None:
        horizon = parse_scenario(scenario.yaml, file=scenario.name).horizon
        if body.period.upper() not in horizon.periods:
            raise ApiError(422, "invalid_request", f"period: {body.period} is outside the scenario's horizon "
                           f"{horizon.start}-{horizon.end}; pick a quarter inside it")


@router.post("", status_code=202, response_model=RunOut)
def create(
    request: Request, response: Response, who: Editor,
    body: Annotated[RunIn, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "retrying a POST with the same key returns the run the first one created"))] = None,
) -> RunOut:
    """Queue a plan or a simulation of a stored scenario; 202 with the run at once."""
    scenario = find(request, who.workspace_id, body.scenario, body.version)
    _check_options(body, scenario, request, who.workspace_id)
    options = body.model_dump(exclude={"kind", "scenario", "version"})
    request_sha = hashlib.sha256(f"{body.model_dump_json()}|{scenario.id}".encode()).hexdigest()
    run, created = queue.enqueue(store_of(request), workspace_id=who.workspace_id, scenario_id=scenario.id,
                                 kind=body.kind, options=options, request_sha256=request_sha,
                                 idempotency_key=idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return run_out(get_run(request, who.workspace_id, run.id))


def _cursor(run: Any) -> str:
    return f"{run.created_at!r}_{run.id}"


def _parse_cursor(cursor: str) -> tuple[float, str]:
    created, _, run_id = cursor.partition("_")
    try:
        return float(created), run_id
    except ValueError:
        raise ApiError(422, "invalid_request", "cursor is not one this API gave; use next_cursor "
                       "from the previous page") from None


@router.get("", response_model=RunPage)
def list_runs(
    request: Request, who: Viewer,
    status: RunStatus | None = None, kind: RunKind | None = None,
    scenario: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100, pattern=r"^[0-9.e+-]+_[0-9a-f]{0,32}$")] = None,
) -> RunPage:
    """Newest first, paged by keyset (stays fast with many runs)."""
    page, next_cursor = runs_page(store_of(request), who.workspace_id, status=status, kind=kind,
                                  scenario=scenario, limit=limit, cursor=cursor)
    return RunPage(items=[run_out(r) for r in page], next_cursor=next_cursor)


def runs_page(store: Store, workspace_id: str, *, status: str | None = None, kind: str | None = None,
              scenario: str | None = None, limit: int = 50,
              cursor: str | None = None) -> tuple[list[Any], str | None]:
    """One page of the workspace's runs, newest first, and the cursor of the next (older) page.
    Keyset paging on (created_at, id): one indexed range scan, however deep the page."""
    query = _RUNS.where(Run.workspace_id == workspace_id)
    if status:
        query = query.where(Run.status == status)
    if kind:
        query = query.where(Run.kind == kind)
    if scenario:
        query = query.where(Scenario.name == scenario)
    if cursor:
        created, run_id = _parse_cursor(cursor)
        query = query.where((Run.created_at < created) | ((Run.created_at == created) & (Run.id < run_id)))
    query = query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit + 1)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    page = list(rows[:limit])
    return page, _cursor(page[-1]) if len(rows) > limit else None


@router.get("/{run_id}", response_model=RunOut)
def read(run_id: RunId, request: Request, who: Viewer) -> RunOut:
    return run_out(get_run(request, who.workspace_id, run_id))


@router.get("/{run_id}/log", response_model=RunLogOut)
def run_log(run_id: RunId, request: Request, who: Viewer,
            after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
            limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> RunLogOut:
    get_run(request, who.workspace_id, run_id)
    with store_of(request).read() as session:
        rows = session.scalars(select(RunLog).where(RunLog.run_id == run_id, RunLog.id > after)
                               .order_by(RunLog.id).limit(limit)).all()
    lines = [LogLine(id=r.id, at=when(r.at), line=r.line) for r in rows]  # type: ignore[arg-type]
    return RunLogOut(lines=lines, next_after=rows[-1].id if rows else after)


@router.post("/{run_id}/cancel", status_code=202, response_model=RunOut)
def cancel(run_id: RunId, request: Request, who: Editor) -> RunOut:
    """A queued run is cancelled at once; a running one is stopped by its worker within a second."""
    if queue.cancel(store_of(request), who.workspace_id, run_id) is None:
        raise not_found("run", run_id)
    return run_out(get_run(request, who.workspace_id, run_id))
