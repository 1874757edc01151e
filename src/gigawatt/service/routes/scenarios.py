"""Scenarios: versioned YAML. An upload that does not validate is refused with the CLI's
located message (file:line: path: what to fix) and nothing is stored."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Annotated

import yaml
from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gigawatt.errors import ScenarioError
from gigawatt.scenario import parse_scenario
from gigawatt.scenario.model import Scenario as ScenarioModel
from gigawatt.service.auth import Editor, Viewer
from gigawatt.service.errors import ApiError, not_found
from gigawatt.service.routes import WRITE_ERRORS, store_of
from gigawatt.service.schemas import ScenarioCheck, ScenarioIn, ScenarioOut, ScenarioPage, when
from gigawatt.service.store.models import Scenario

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"], responses=WRITE_ERRORS)
NamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]


def scenario_out(s: Scenario, with_yaml: bool = False) -> ScenarioOut:
    return ScenarioOut(id=s.id, name=s.name, version=s.version, sha256=s.sha256, size=len(s.yaml.encode()),
                       created_at=when(s.created_at), yaml=s.yaml if with_yaml else None)  # type: ignore[arg-type]


def check(body: ScenarioIn, cap: int) -> ScenarioModel:
    """Size cap, then the same validation as `gigawatt validate` (ScenarioError -> 422)."""
    size = len(body.yaml.encode())
    if size > cap:
        raise ApiError(413, "too_large", f"scenario '{body.name}' is {size:,} bytes; the cap is {cap:,}")
    try:
        return parse_scenario(body.yaml, file=body.name)
    except yaml.YAMLError as exc:
        # parse_scenario lets PyYAML's reader errors (control characters) escape; say them the same way
        position = getattr(exc, "position", None)
        line = body.yaml[:position].count("\n") + 1 if isinstance(position, int) else None
        raise ScenarioError(f"not valid YAML: {str(exc).splitlines()[0]}", file=body.name, line=line) from None


@router.post("/validate", response_model=ScenarioCheck)
def validate(body: ScenarioIn, request: Request, who: Viewer) -> ScenarioCheck:
    """Check a scenario without storing it: 200 when good, 422 with the located error when not."""
    s = check(body, request.app.state.settings.max_scenario_bytes)
    return ScenarioCheck(valid=True, summary=(
        f"'{s.name}', {len(s.horizon.periods)} quarters, {len(s.sites)} sites, "
        f"{len(s.cloud_offers)} cloud offers, {len(s.contracts)} contracts, {len(s.chip_deals)} chip deals, "
        f"{len(s.demand.training)} training runs, {len(s.demand.inference)} inference loads"))


@router.post("", status_code=201, response_model=ScenarioOut, responses={
    200: {"model": ScenarioOut, "description": "unchanged: the latest version already has this YAML"}})
def upload(body: ScenarioIn, request: Request, response: Response, who: Editor) -> ScenarioOut:
    """Store a scenario; the same name again is its next version (the same YAML again is not)."""
    check(body, request.app.state.settings.max_scenario_bytes)
    digest = hashlib.sha256(body.yaml.encode()).hexdigest()
    for _ in range(5):   # two uploads of one name at once: the loser takes the next number
        try:
            with store_of(request).write() as session:
                latest = session.scalars(select(Scenario).where(
                    Scenario.workspace_id == who.workspace_id, Scenario.name == body.name)
                    .order_by(Scenario.version.desc()).limit(1)).first()
                if latest is not None and latest.sha256 == digest:
                    response.status_code = 200
                    return scenario_out(latest)
                row = Scenario(id=uuid.uuid4().hex, workspace_id=who.workspace_id, name=body.name,
                               version=(latest.version if latest else 0) + 1, yaml=body.yaml, sha256=digest,
                               created_at=time.time())
                session.add(row)
            return scenario_out(row)
        except IntegrityError:
            continue
    raise ApiError(409, "conflict", f"scenario '{body.name}' is being uploaded concurrently; retry")


@router.get("", response_model=ScenarioPage)
def list_scenarios(request: Request, who: Viewer,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ScenarioPage:
    """The latest version of each scenario, newest first."""
    latest = (select(Scenario.name, func.max(Scenario.version).label("version"))
              .where(Scenario.workspace_id == who.workspace_id).group_by(Scenario.name).subquery())
    with store_of(request).read() as session:
        rows = session.scalars(
            select(Scenario).join(latest, (Scenario.name == latest.c.name) & (Scenario.version == latest.c.version))
            .where(Scenario.workspace_id == who.workspace_id)
            .order_by(Scenario.created_at.desc()).limit(limit)).all()
    return ScenarioPage(items=[scenario_out(s) for s in rows])


def find(request: Request, workspace_id: str, name: str, version: int | None) -> Scenario:
    query = select(Scenario).where(Scenario.workspace_id == workspace_id, Scenario.name == name)
    query = query.where(Scenario.version == version) if version else query.order_by(Scenario.version.desc())
    with store_of(request).read() as session:
        row = session.scalars(query.limit(1)).first()
    if row is None:
        raise not_found("scenario", f"{name}" + (f" v{version}" if version else ""))
    return row


@router.get("/{name}", response_model=ScenarioOut)
def latest(name: NamePath, request: Request, who: Viewer) -> ScenarioOut:
    return scenario_out(find(request, who.workspace_id, name, None), with_yaml=True)


@router.get("/{name}/versions", response_model=ScenarioPage)
def versions(name: NamePath, request: Request, who: Viewer) -> ScenarioPage:
    with store_of(request).read() as session:
        rows = session.scalars(select(Scenario).where(Scenario.workspace_id == who.workspace_id,
                                                      Scenario.name == name)
                               .order_by(Scenario.version.desc())).all()
    if not rows:
        raise not_found("scenario", name)
    return ScenarioPage(items=[scenario_out(s) for s in rows])


@router.get("/{name}/versions/{version}", response_model=ScenarioOut)
def one_version(name: NamePath, version: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
                who: Viewer) -> ScenarioOut:
    return scenario_out(find(request, who.workspace_id, name, version), with_yaml=True)
