"""Sign in with a token (kept in an HttpOnly cookie), sign out, and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from gigawatt.service.auth import COOKIE, CookieViewer, authenticate
from gigawatt.service.errors import ApiError
from gigawatt.service.routes import store_of
from gigawatt.service.routes.runs import runs_page
from gigawatt.web.render import WebRoute, page
from gigawatt.web.runs import status_counts
from gigawatt.web.scenarios import latest_scenarios

router = APIRouter(route_class=WebRoute)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a sign-in link must not bounce the browser elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> Response:
    return page(request, "signin.html", next=_safe_next(next))


@router.post("/signin")
def signin(request: Request, token: Annotated[str, Form(max_length=300)],
           next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    try:
        authenticate(store_of(request), token)
    except ApiError as exc:
        return page(request, "signin.html", status_code=401, error=exc.message, next=_safe_next(next))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/signout")
def signout() -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, who: CookieViewer) -> Response:
    counts = status_counts(store_of(request), who.workspace_id)
    runs, _ = runs_page(store_of(request), who.workspace_id, limit=10)
    return page(request, "home.html", who=who, counts=counts, runs=runs,
                scenarios=latest_scenarios(request, who.workspace_id, 10))
