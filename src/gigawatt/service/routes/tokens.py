"""Tokens of the workspace: admins create (the secret is shown once), list and revoke them."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from gigawatt.service.auth import Admin, create_token
from gigawatt.service.errors import not_found
from gigawatt.service.routes import WRITE_ERRORS, store_of
from gigawatt.service.schemas import TokenCreated, TokenIn, TokenOut, when
from gigawatt.service.store.models import Token, Workspace

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=WRITE_ERRORS)


def token_out(t: Token) -> TokenOut:
    return TokenOut(id=t.id, role=t.role, name=t.name, created_at=when(t.created_at),  # type: ignore[arg-type]
                    expires_at=when(t.expires_at), revoked=t.revoked_at is not None)


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenIn, request: Request, who: Admin) -> TokenCreated:
    store = store_of(request)
    with store.read() as session:
        workspace = session.get_one(Workspace, who.workspace_id).name
    days = body.expires_in_days
    row, secret = create_token(store, workspace, body.role, body.name, days * 86400 if days else None)
    return TokenCreated(**token_out(row).model_dump(), token=secret)


@router.get("", response_model=list[TokenOut])
def list_tokens(request: Request, who: Admin) -> list[TokenOut]:
    with store_of(request).read() as session:
        rows = session.scalars(select(Token).where(Token.workspace_id == who.workspace_id)
                               .order_by(Token.created_at)).all()
    return [token_out(t) for t in rows]


@router.delete("/{token_id}", status_code=204, response_class=Response)
def revoke(token_id: str, request: Request, who: Admin) -> Response:
    with store_of(request).write() as session:
        row = session.scalar(select(Token).where(Token.id == token_id, Token.workspace_id == who.workspace_id))
        if row is None:
            raise not_found("token", token_id)
        if row.revoked_at is None:
            row.revoked_at = time.time()
    return Response(status_code=204)
