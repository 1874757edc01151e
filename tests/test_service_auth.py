"""Auth on every route: walk the OpenAPI schema; 401 without a token, 403 for a role that is
not enough, 404 (never 403) for another workspace's ids; expired and revoked tokens; hashes only."""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("fastapi")

from service_support import Api  # noqa: E402
from sqlalchemy import text  # noqa: E402

from gigawatt.service.auth import create_token  # noqa: E402

# The least role each route needs. A route missing here fails the walk: new routes declare theirs.
ROLES = {
    ("get", "/api/v1/workspace"): "viewer",
    ("post", "/api/v1/tokens"): "admin",
    ("get", "/api/v1/tokens"): "admin",
    ("delete", "/api/v1/tokens/{token_id}"): "admin",
    ("post", "/api/v1/scenarios/validate"): "viewer",
    ("post", "/api/v1/scenarios"): "editor",
    ("get", "/api/v1/scenarios"): "viewer",
    ("get", "/api/v1/scenarios/{name}"): "viewer",
    ("get", "/api/v1/scenarios/{name}/versions"): "viewer",
    ("get", "/api/v1/scenarios/{name}/versions/{version}"): "viewer",
    ("post", "/api/v1/runs"): "editor",
    ("get", "/api/v1/runs"): "viewer",
    ("get", "/api/v1/runs/{run_id}"): "viewer",
    ("get", "/api/v1/runs/{run_id}/log"): "viewer",
    ("post", "/api/v1/runs/{run_id}/cancel"): "editor",
    ("get", "/api/v1/runs/{run_id}/result"): "viewer",
    ("get", "/api/v1/runs/{run_id}/result/{table}"): "viewer",
    ("get", "/api/v1/runs/{run_id}/report"): "viewer",
    ("get", "/api/v1/compare"): "viewer",
}
RANK = {"viewer": 0, "editor": 1, "admin": 2}


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'auth.db'}"     # the walk is about the app, not the backend


def _acme(api: Api) -> dict[str, str]:
    """Real ids of workspace acme: a scenario, a succeeded plan run, a token."""
    api.upload()
    run = api.run().json()["id"]
    api.work()
    token = api.post("/api/v1/tokens", who="admin", json={"role": "viewer"}).json()["id"]
    return {"name": "minimal", "version": "1", "run_id": run, "table": "spend", "token_id": token}


def _call(api: Api, method: str, path: str, ids: dict[str, str], token: str | None):  # type: ignore[no-untyped-def]
    url = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {
        "/api/v1/tokens": {"role": "viewer"},
        "/api/v1/scenarios": {"name": "minimal", "yaml": "name: x"},
        "/api/v1/scenarios/validate": {"name": "minimal", "yaml": "name: x"},
        "/api/v1/runs": {"kind": "plan", "scenario": "minimal"},
    }.get(path)
    params = {"a": ids["run_id"], "b": ids["run_id"]} if path == "/api/v1/compare" else None
    return api.client.request(method.upper(), url, headers=headers, json=body, params=params)


def test_every_route_but_health_needs_the_right_token(api: Api) -> None:
    ids = _acme(api)
    schema = api.client.get("/openapi.json").json()
    routes = [(m, p) for p, ops in schema["paths"].items() for m in ops if p != "/health"]
    assert set(routes) == set(ROLES), "declare the role of every new route in ROLES"
    for method, path in routes:
        where = f"{method.upper()} {path}"
        assert _call(api, method, path, ids, None).status_code == 401, where
        assert _call(api, method, path, ids, "gw_000000000000_" + "x" * 43).status_code == 401, where
        for role in ("viewer", "editor"):
            r = _call(api, method, path, ids, api.tokens[role])
            if RANK[role] < RANK[ROLES[(method, path)]]:
                assert r.status_code == 403, f"{where} as {role}: {r.status_code}"
            else:
                assert r.status_code not in (401, 403), f"{where} as {role}: {r.status_code}"
        # Another workspace's admin: any of acme's ids is 'not found', never 'forbidden'.
        if "{" in path or path == "/api/v1/compare":
            r = _call(api, method, path, ids, api.tokens["other"])
            assert r.status_code == 404, f"{where} from workspace 'other': {r.status_code}"
            assert ids.get("run_id", "-") not in r.text or "no run" in r.text


def test_another_workspace_lists_nothing_of_ours(api: Api) -> None:
    ids = _acme(api)
    for path in ("/api/v1/runs", "/api/v1/scenarios", "/api/v1/tokens"):
        r = api.get(path, who="other")
        assert r.status_code == 200
        assert ids["run_id"] not in r.text and "minimal" not in r.text and ids["token_id"] not in r.text
    assert api.get("/api/v1/workspace", who="other").json()["runs"] == {}


def test_expired_and_revoked_tokens_are_refused(api: Api) -> None:
    _, short = create_token(api.store, "acme", "viewer", expires_in_s=1.0)
    assert api.client.get("/api/v1/runs", headers={"Authorization": f"Bearer {short}"}).status_code == 200
    time.sleep(1.1)
    r = api.client.get("/api/v1/runs", headers={"Authorization": f"Bearer {short}"})
    assert r.status_code == 401 and r.json()["error"].startswith("token expired")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    made = api.post("/api/v1/tokens", who="admin", json={"role": "editor", "name": "ci"}).json()
    secret = made["token"]
    assert api.client.get("/api/v1/runs", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert api.client.delete(f"/api/v1/tokens/{made['id']}", headers=api.headers("admin")).status_code == 204
    r = api.client.get("/api/v1/runs", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and r.json()["error"].startswith("token revoked")
    listed = api.get("/api/v1/tokens", who="admin").json()
    assert [t["revoked"] for t in listed if t["id"] == made["id"]] == [True]
    assert all("token" not in t for t in listed)


def test_secrets_are_stored_only_as_hashes(api: Api) -> None:
    secret = api.post("/api/v1/tokens", who="admin", json={"role": "viewer"}).json()["token"]
    with api.store.read() as session:
        rows = session.execute(text("SELECT id, secret_sha256 FROM tokens")).all()
    dump = repr(rows)
    for s in [secret, *api.tokens.values()]:
        assert s not in dump and s.split("_", 2)[2] not in dump


def test_cors_is_closed(api: Api) -> None:
    r = api.client.options("/api/v1/runs", headers={"Origin": "https://evil.example",
                                                     "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
    r = api.client.get("/api/v1/runs", headers={**api.headers(), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
