"""GET /health: the one route without a token (load balancers and `gigawatt serve` use it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

import gigawatt
from gigawatt.service.routes import store_of
from gigawatt.service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    store = store_of(request)
    with store.read() as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", version=gigawatt.__version__,
                  database="sqlite" if store.is_sqlite else "postgresql")
