"""One module per resource; every route is thin: check, call the store or the core, shape."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gigawatt.service.schemas import ErrorOut
from gigawatt.service.store import Store

_ERROR = {"model": ErrorOut}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERROR, "description": "no token, or an invalid, expired or revoked one"},
    403: {**_ERROR, "description": "the token's role is not enough"},
    404: {**_ERROR, "description": "no such thing in this workspace"},
    422: {**_ERROR, "description": "the request does not validate"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    400: {**_ERROR, "description": "malformed JSON"},
    409: {**_ERROR, "description": "conflicts with the current state"},
    413: {**_ERROR, "description": "the body is over the size cap"},
}


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store
