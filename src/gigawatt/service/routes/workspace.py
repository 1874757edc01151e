"""GET /api/v1/workspace: the token's own workspace, its role there, and what it holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import distinct, func, select

from gigawatt.service.auth import Viewer
from gigawatt.service.routes import READ_ERRORS, store_of
from gigawatt.service.schemas import WorkspaceOut, when
from gigawatt.service.store.models import Run, Scenario, Workspace

router = APIRouter(prefix="/api/v1", tags=["workspace"], responses=READ_ERRORS)


@router.get("/workspace", response_model=WorkspaceOut)
def workspace(request: Request, who: Viewer) -> WorkspaceOut:
    with store_of(request).read() as session:
        ws = session.get_one(Workspace, who.workspace_id)
        scenarios = session.scalar(select(func.count(distinct(Scenario.name)))
                                   .where(Scenario.workspace_id == ws.id)) or 0
        rows = session.execute(select(Run.status, func.count()).where(Run.workspace_id == ws.id)
                               .group_by(Run.status)).all()
    runs = {str(status): int(n) for status, n in rows}
    return WorkspaceOut(name=ws.name, role=who.role, created_at=when(ws.created_at),  # type: ignore[arg-type]
                        scenarios=scenarios, runs=runs)
