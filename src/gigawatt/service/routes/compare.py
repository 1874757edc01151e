"""GET /api/v1/compare?a=&b=: two plans side by side (b minus a)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gigawatt.json_values import finite
from gigawatt.plan.compare import compare_plans
from gigawatt.service.auth import Viewer
from gigawatt.service.routes import WRITE_ERRORS
from gigawatt.service.routes.results import plan_of
from gigawatt.service.schemas import CompareOut

router = APIRouter(prefix="/api/v1", tags=["compare"], responses=WRITE_ERRORS)
PlanRun = Annotated[str, Query(pattern=r"^[0-9a-f]{32}$", description="a succeeded plan run")]


@router.get("/compare", response_model=CompareOut)
def compare(a: PlanRun, b: PlanRun, request: Request, who: Viewer) -> CompareOut:
    first, second = plan_of(request, who.workspace_id, a), plan_of(request, who.workspace_id, b)
    return CompareOut(**finite(compare_plans(first, second, a, b)))
