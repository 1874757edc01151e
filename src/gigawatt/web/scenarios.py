"""Scenarios: the list, upload or edit YAML, and validation errors shown at their line."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from gigawatt.errors import ScenarioError
from gigawatt.service.auth import CookieViewer, Principal
from gigawatt.service.errors import ApiError
from gigawatt.service.routes import scenarios as api
from gigawatt.service.routes import store_of
from gigawatt.service.routes.runs import runs_page
from gigawatt.service.schemas import ScenarioIn, ScenarioOut
from gigawatt.web.render import WebRoute, page

router = APIRouter(route_class=WebRoute)


def latest_scenarios(request: Request, workspace_id: str, limit: int = 100) -> list[ScenarioOut]:
    who = Principal(workspace_id=workspace_id, workspace="", role="viewer", token_id="")
    return api.list_scenarios(request, who, limit=limit).items


def policies() -> list[str]:
    from gigawatt.sim.policies import POLICIES

    return sorted(POLICIES)


@router.get("/scenarios")
def scenario_list(request: Request, who: CookieViewer) -> Response:
    return page(request, "scenarios.html", who=who, scenarios=latest_scenarios(request, who.workspace_id))


@router.get("/scenarios/{name}")
def scenario_page(name: api.NamePath, request: Request, who: CookieViewer, version: int | None = None,
                  saved: int | None = None) -> Response:
    row = api.find(request, who.workspace_id, name, version)
    return page(request, "scenario.html", **scenario_context(request, who, name, row.yaml, row.version),
                saved=saved)


def scenario_context(request: Request, who: Principal, name: str, text: str,
                     version: int | None) -> dict[str, Any]:
    """What the scenario page shows besides the editor: versions, runs, the start-run form."""
    store = store_of(request)
    try:
        versions = api.versions(name, request, who).items
    except ApiError:
        versions = []                       # a new scenario: nothing stored yet
    runs, _ = runs_page(store, who.workspace_id, scenario=name, limit=20)
    plans, _ = runs_page(store, who.workspace_id, scenario=name, kind="plan", status="succeeded", limit=50)
    return {"who": who, "name": name, "text": text, "version": version, "versions": versions, "runs": runs,
            "plan_runs": plans, "policies": policies(), "form_key": uuid.uuid4().hex,
            "lines": text.splitlines()}


@router.post("/scenarios")
def scenario_save(request: Request, who: CookieViewer,
                        name: Annotated[str, Form(max_length=100)],
                        text: Annotated[str, Form(max_length=2_000_000)] = "",
                        upload: Annotated[UploadFile | None, File()] = None,
                        action: Annotated[str, Form(pattern="^(save|check)$")] = "save") -> Response:
    """`save` stores a new version (editors); `check` only validates (anyone signed in)."""
    if upload is not None and upload.filename:
        text = upload.file.read(2_000_001).decode("utf-8", errors="replace")
    if action == "save" and not who.can("editor"):
        raise ApiError(403, "forbidden", f"saving a scenario needs the editor role; the token is {who.role}")
    try:
        body = ScenarioIn(name=name, yaml=text)
    except ValueError:
        raise ApiError(422, "invalid_request", f"scenario name '{name}' must be 1-100 letters, digits, '.', "
                       "'_' or '-', starting with a letter or digit") from None
    cap = request.app.state.settings.max_scenario_bytes
    try:
        if action == "check":
            summary = api.validate(body, request, who).summary
            return page(request, "scenario.html", **scenario_context(request, who, name, text, None),
                        checked=summary)
        saved = api.upload(body, request, Response(), who)
    except ScenarioError as exc:
        return page(request, "scenario.html", status_code=422,
                    **scenario_context(request, who, name, text, None),
                    error={"message": str(exc), "detail": exc.detail, "line": exc.line, "path": exc.path},
                    cap=cap)
    return RedirectResponse(f"/scenarios/{saved.name}?saved={saved.version}", status_code=303)
