"""Bearer tokens: created once, stored as SHA-256 only, checked in constant time; roles.

A token reads `gw_<id>_<secret>`: the id finds the row, the secret's hash is compared with
hmac.compare_digest. viewer reads, editor also starts and cancels runs and uploads
scenarios, admin also manages tokens. A token sees only its own workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select

from gigawatt.service.errors import ApiError
from gigawatt.service.store import Store
from gigawatt.service.store.models import Token, Workspace

ROLES = ("viewer", "editor", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}
_TOKEN = re.compile(r"gw_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Principal:
    workspace_id: str
    workspace: str
    role: str
    token_id: str

    def can(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(store: Store, workspace: str, role: str, name: str = "",
                 expires_in_s: float | None = None) -> tuple[Token, str]:
    """A new token (the workspace is created on first use). Returns the row and the secret,
    which is shown once and never stored."""
    if role not in ROLES:
        raise ApiError(422, "invalid_request", f"role '{role}' is not one of {', '.join(ROLES)}")
    if not WORKSPACE_NAME.fullmatch(workspace):
        raise ApiError(422, "invalid_request", f"workspace name '{workspace}' must be 1-100 letters, "
                       "digits, '.', '_' or '-', starting with a letter or digit")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = time.time()
    with store.write() as session:
        ws = session.scalar(select(Workspace).where(Workspace.name == workspace))
        if ws is None:
            ws = Workspace(id=uuid.uuid4().hex, name=workspace, created_at=now)
            session.add(ws)
            session.flush()
        row = Token(id=token_id, workspace_id=ws.id, role=role, name=name, secret_sha256=_digest(secret),
                    created_at=now, expires_at=now + expires_in_s if expires_in_s else None)
        session.add(row)
    return row, f"gw_{token_id}_{secret}"


def authenticate(store: Store, raw: str | None) -> Principal:
    if not raw:
        raise _unauthorized("missing bearer token; send 'Authorization: Bearer <token>' "
                            "(create one with `gigawatt token create`)")
    m = _TOKEN.fullmatch(raw.strip())
    if m is None:
        raise _unauthorized("malformed token; a gigawatt token looks like gw_<12 hex>_<secret>")
    with store.engine.connect() as conn:
        found = conn.execute(_LOOKUP, {"id": m.group(1)}).one_or_none()
    if found is None or not hmac.compare_digest(found.secret_sha256, _digest(m.group(2))):
        raise _unauthorized("invalid token")
    if found.revoked_at is not None:
        raise _unauthorized("token revoked; ask an admin of the workspace for a new one")
    if found.expires_at is not None and found.expires_at <= time.time():
        raise _unauthorized("token expired; ask an admin of the workspace for a new one")
    return Principal(workspace_id=found.workspace_id, workspace=found.name, role=found.role, token_id=found.id)


_LOOKUP = (select(Token.id, Token.workspace_id, Token.role, Token.secret_sha256, Token.revoked_at,
                  Token.expires_at, Workspace.name)
           .join(Workspace, Workspace.id == Token.workspace_id).where(Token.id == bindparam("id")))


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


_bearer = HTTPBearer(auto_error=False, description="a token from `gigawatt token create`")


def current_principal(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    # Sync (FastAPI runs it in its threadpool): a database round trip must never block the event loop.
    store: Store = request.app.state.store
    return authenticate(store, creds.credentials if creds else None)


# The dashboard signs in by storing the token in an HttpOnly, SameSite=Strict cookie: scripts
# cannot read it and other sites' forms cannot send it. The API itself takes only the bearer header.
COOKIE = "gigawatt_token"


def cookie_principal(request: Request) -> Principal:
    """The dashboard's principal: the token in the sign-in cookie, checked like a bearer token."""
    return authenticate(request.app.state.store, request.cookies.get(COOKIE))


def require(role: str, principal=current_principal):  # type: ignore[no-untyped-def]
    # the default, not Annotated: a string annotation could not name the closure's `principal`
    async def dependency(who: Principal = Depends(principal)) -> Principal:
        # async: a pure check, no I/O, so no threadpool hop
        if not who.can(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role; the token is {who.role}")
        return who
    return dependency


Viewer = Annotated[Principal, Depends(require("viewer"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Admin = Annotated[Principal, Depends(require("admin"))]

CookieViewer = Annotated[Principal, Depends(require("viewer", cookie_principal))]
CookieEditor = Annotated[Principal, Depends(require("editor", cookie_principal))]
