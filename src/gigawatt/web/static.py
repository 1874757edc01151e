"""plotly.js from the installed plotly package, and the dashboard's own script and styles.

Nothing comes from a CDN: the pages work on a machine with no internet.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import plotly
from fastapi import APIRouter, Request, Response
from plotly.offline import get_plotlyjs

router = APIRouter()
HERE = Path(__file__).parent / "static"
OWN = {"app.js": "application/javascript", "style.css": "text/css"}
CACHE = "public, max-age=86400"


@functools.cache
def plotly_js() -> tuple[bytes, str]:
    body = get_plotlyjs().encode()
    return body, f'"plotly-{plotly.__version__}-{hashlib.sha256(body).hexdigest()[:12]}"'


@functools.cache
def own_file(name: str) -> tuple[bytes, str]:
    body = (HERE / name).read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:16]}"'


def _cached(request: Request, body: bytes, etag: str, media_type: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/static/plotly.min.js")
def plotly_script(request: Request) -> Response:
    return _cached(request, *plotly_js(), "application/javascript")


@router.get("/static/{name}")
def own(name: str, request: Request) -> Response:
    if name not in OWN:
        return Response("not found", status_code=404, media_type="text/plain")
    return _cached(request, *own_file(name), OWN[name])
