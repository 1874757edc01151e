"""Templates, number formats and the dashboard's error pages."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from gigawatt.cli.output import money
from gigawatt.errors import GigawattError
from gigawatt.service.auth import COOKIE, Principal, cookie_principal
from gigawatt.service.errors import ApiError

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def number(x: Any) -> str:
    """Readable figures: thousands separators, 4 significant digits below 1,000, no NaN or -0."""
    if x is None or isinstance(x, bool):
        return "" if x is None else ("yes" if x else "no")
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not math.isfinite(x):
            return ""
        if abs(x) < 1e-9:
            return "0"
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"
    return str(x)


def when(t: float | None) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


templates.env.filters.update(money=money, number=number, when=when, duration=duration,
                             pct=lambda x: "" if x is None else f"{x:.0%}")


LABEL_COLUMNS = {"seed", "sample", "rank"}


def table_view(df: pd.DataFrame, limit: int = 1000) -> dict[str, Any]:
    """A table for a page: each cell's text and the raw value the browser sorts by."""
    shown = df.head(limit)
    # labels that are numbers (a year, a seed, a sample index) read without thousands separators
    labels = [str(c).endswith("year") or str(c) in LABEL_COLUMNS for c in df.columns]
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for value, label in zip(record, labels, strict=True):
            raw = value.item() if hasattr(value, "item") else value
            numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
            text = str(int(raw)) if label and numeric and math.isfinite(raw) else number(raw)
            cells.append({"text": text, "sort": raw if numeric and math.isfinite(raw) else None})
        rows.append(cells)
    return {"columns": [str(c) for c in df.columns], "rows": rows, "total": len(df), "shown": len(shown)}


def page(request: Request, template: str, /, status_code: int = 200, **context: Any) -> Response:
    """`who` (the signed-in principal, or None) decides the navigation and what forms show."""
    return templates.TemplateResponse(request, template, {"who": None, "now": time.time(), **context},
                                      status_code=status_code)


def _signed_in(request: Request) -> Principal | None:
    try:
        return cookie_principal(request)
    except ApiError:
        return None


async def error_page(request: Request, status: int, message: str) -> Response:
    """The reason on a page, with the navigation when the browser is signed in."""
    titles = {401: "Sign-in needed", 403: "Not allowed", 404: "Not found", 409: "Not ready",
              413: "Too large", 422: "Cannot do that"}
    who = await run_in_threadpool(_signed_in, request) if request.cookies.get(COOKIE) else None
    return page(request, "error.html", status_code=status, title=titles.get(status, "Error"), message=message,
                who=who)


def _cross_site(request: Request) -> bool:
    """A form posted from another origin (the SameSite cookie already stops most of these)."""
    origin = request.headers.get("origin")
    return origin is not None and origin != "null" and urlsplit(origin).netloc != request.headers.get("host")


class WebRoute(APIRoute):
    """Errors become pages: no token or a bad one sends a browser to sign in; the rest say why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if request.method == "POST" and _cross_site(request):
                return await error_page(request, 403, "a form from another site cannot act on this dashboard")
            try:
                return await handler(request)
            except ApiError as exc:
                if exc.status == 401 and request.method == "GET":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    response = RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
                    if request.cookies.get(COOKIE):
                        response.delete_cookie(COOKIE)
                    return response
                return await error_page(request, exc.status, exc.message)
            except GigawattError as exc:
                return await error_page(request, 422, str(exc))

        return route
