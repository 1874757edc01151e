"""The FastAPI application factory: store, routes, one JSON error shape, a body-size cap.

No CORS middleware: browsers on other origins get no Access-Control-Allow-Origin, so the API
is closed to cross-site scripts. Every route but /health needs a bearer token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

import gigawatt
from gigawatt.errors import GigawattError, ScenarioError
from gigawatt.service.errors import ApiError
from gigawatt.service.routes import compare, health, results, runs, scenarios, tokens, workspace
from gigawatt.service.settings import Settings
from gigawatt.service.store import Store
from gigawatt.web import mount as mount_dashboard

log = logging.getLogger("gigawatt.service")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(title="gigawatt", version=gigawatt.__version__,
                  description="Plan, operate and stress-test AI compute at gigawatt scale: "
                              "scenarios, runs and their results.")
    app.state.settings = settings
    app.state.store = store or Store(settings.db_url)
    for module in (health, workspace, tokens, scenarios, runs, results, compare):
        app.include_router(module.router)
    mount_dashboard(app)                  # the dashboard's pages at / (not in the API's schema)
    _error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(ServerTiming)
    return app


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.body())

    @app.exception_handler(ScenarioError)
    async def scenario_error(_: Request, exc: ScenarioError) -> JSONResponse:
        return _json(422, {"error": str(exc), "code": "invalid_scenario",
                           "location": {"file": exc.file, "line": exc.line, "path": exc.path}})

    @app.exception_handler(GigawattError)
    async def gigawatt_error(_: Request, exc: GigawattError) -> JSONResponse:
        return _json(422, {"error": str(exc), "code": "invalid_request"})

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            ctx = next((e.get("ctx") or {} for e in exc.errors() if e.get("type") == "json_invalid"), {})
            return _json(400, {"error": f"malformed JSON: {ctx.get('error', 'cannot parse the body')}",
                               "code": "malformed_json"})
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"])
        return _json(422, {"error": f"{where}: {first['msg']}" if where else first["msg"],
                           "code": "invalid_request", "errors": errors})

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return _json(exc.status_code, {"error": str(exc.detail), "code": codes.get(exc.status_code, "error")})

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        return _json(500, {"error": "internal error; the server log has the details", "code": "internal"})


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413) before anything reads or stores them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            response = _json(413, {"error": f"request body of {int(length):,} bytes is over the "
                                            f"{self.limit:,}-byte cap", "code": "too_large"})
            return await response(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, f"request body is over the {self.limit:,}-byte cap")
            return message

        await self.app(scope, limited, send)


class ServerTiming:
    """`Server-Timing: app;dur=<ms>` on every response: the time spent inside the app, so a
    client (or the load benchmark) can tell the server's share of a latency from the network's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.2f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)
