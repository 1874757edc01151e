"""The dashboard: server-rendered pages at / behind the service's tokens.

Sign-in stores the token in an HttpOnly cookie; every page checks it exactly as the API checks a
bearer token. Charts come from gigawatt.report's figure builders; plotly.js is served from the
installed plotly package, so the pages need no internet.
"""

from __future__ import annotations

from fastapi import FastAPI

from gigawatt.web import compare, results, runs, scenarios, session, static


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes to the service's app (kept out of the API's OpenAPI schema)."""
    for module in (static, session, scenarios, runs, results, compare):
        app.include_router(module.router, include_in_schema=False)
