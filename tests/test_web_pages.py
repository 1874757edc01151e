"""The dashboard's pages over HTTP (no browser): sign-in cookie, roles, paging, results, assets.

A real app on a real SQLite store; runs are executed by a real worker (forked child per run).
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi")

from service_support import Api, minimal_yaml  # noqa: E402

from gigawatt.cli.output import money  # noqa: E402
from gigawatt.service.auth import COOKIE  # noqa: E402
from gigawatt.service.store import queue  # noqa: E402


@pytest.fixture
def db_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'web.db'}"       # the store is tested on both backends elsewhere


def sign_in(api: Api, who: str = "editor") -> None:
    r = api.client.post("/signin", data={"token": api.tokens[who], "next": "/runs"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs"


def alert(html: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found, html[:500]
    return found.group(1).replace("&#39;", "'")


def test_pages_need_a_sign_in_and_the_cookie_is_http_only(api: Api) -> None:
    r = api.client.get("/runs?status=failed", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/signin?next=/runs%3Fstatus%3Dfailed")
    assert api.client.post("/runs", data={"kind": "plan", "scenario": "x"}).status_code == 401
    bad = api.client.post("/signin", data={"token": "gw_0123456789ab_" + "x" * 30})
    assert bad.status_code == 401 and "invalid token" in bad.text
    r = api.client.post("/signin", data={"token": api.tokens["viewer"]}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={api.tokens['viewer']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert api.client.get("/").status_code == 200
    # a bearer token alone does not open pages, and the cookie alone does not open the API
    assert api.client.get("/api/v1/workspace").status_code == 401


def test_sign_in_only_redirects_within_the_site(api: Api) -> None:
    for target, expected in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/runs?kind=plan",
                                                                                         "/runs?kind=plan")):
        r = api.client.post("/signin", data={"token": api.tokens["viewer"], "next": target},
                            follow_redirects=False)
        assert r.headers["location"] == expected


def test_a_revoked_token_signs_the_browser_out(api: Api) -> None:
    sign_in(api, "editor")
    token_id = api.tokens["editor"].split("_")[1]
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=api.headers("admin")).status_code == 204
    r = api.client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/"
    assert f'{COOKIE}=""' in r.headers["set-cookie"]


def test_roles_viewers_read_and_check_editors_save_and_run(api: Api) -> None:
    api.upload()
    sign_in(api, "viewer")
    assert api.client.post("/runs", data={"kind": "plan", "scenario": "minimal"}).status_code == 403
    save = api.client.post("/scenarios", data={"name": "minimal", "text": minimal_yaml(), "action": "save"})
    assert save.status_code == 403 and alert(save.text) == "saving a scenario needs the editor role; the token is viewer"
    check = api.client.post("/scenarios", data={"name": "minimal", "text": minimal_yaml(), "action": "check"})
    assert check.status_code == 200 and "Valid: 'minimal', 16 quarters" in check.text.replace("&#39;", "'")
    page = api.client.get("/scenarios/minimal").text
    assert 'id="start-run"' not in page and "can read runs, not start them" in page
    assert api.get("/api/v1/runs").json()["items"] == []
    sign_in(api, "editor")
    assert 'id="start-run"' in api.client.get("/scenarios/minimal").text


def test_a_form_posted_from_another_site_is_refused(api: Api) -> None:
    api.upload()
    sign_in(api)
    r = api.client.post("/runs", data={"kind": "plan", "scenario": "minimal"},
                        headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and api.get("/api/v1/runs").json()["items"] == []


def test_a_scenario_error_is_shown_at_its_line_and_nothing_is_stored(api: Api) -> None:
    sign_in(api)
    bad = minimal_yaml().replace("pue: 1.15", "pue: 0.5")
    r = api.client.post("/scenarios", data={"name": "minimal", "text": bad, "action": "save"})
    assert r.status_code == 422
    assert re.search(r'<li id="L20" data-line="20" class="bad-line"><code>\s*pue: 0.5</code>', r.text)
    assert "line 20, sites[0].pue: must be at least 1 (got 0.5)" in r.text
    assert 'data-error-line="20"' in r.text                      # the editor selects that line
    assert api.get("/api/v1/scenarios").json()["items"] == []
    uploaded = api.client.post("/scenarios", data={"name": "minimal", "action": "save"},
                               files={"upload": ("minimal.yaml", minimal_yaml().encode(), "text/yaml")},
                               follow_redirects=False)
    assert uploaded.headers["location"] == "/scenarios/minimal?saved=1"
    assert api.get("/api/v1/scenarios/minimal").json()["yaml"] == minimal_yaml()


def test_the_runs_list_pages_on_the_server_newest_first_without_gaps(api: Api) -> None:
    api.upload()
    scenario_id = api.get("/api/v1/scenarios/minimal").json()["id"]
    workspace_id = api.store.engine.connect().exec_driver_sql(
        "SELECT id FROM workspaces WHERE name = 'acme'").scalar_one()
    ids = [queue.enqueue(api.store, workspace_id=workspace_id, scenario_id=scenario_id, kind="plan", options={},
                         request_sha256=str(i), idempotency_key=None)[0].id for i in range(120)]
    claimed = queue.claim(api.store, "w1", lease_s=60)                # the oldest: running, with a start time
    assert claimed is not None and claimed.run_id == ids[0]
    sign_in(api, "viewer")
    seen: list[str] = []
    url: str | None = "/runs"
    pages = 0
    while url:
        html = api.client.get(url).text
        rows = re.findall(r'<a href="/runs/([0-9a-f]{32})">', html)
        assert len(rows) <= 50
        seen += rows
        pages += 1
        older = re.search(r'href="(/runs\?[^"]*cursor=[^"]+)" id="older"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert pages == 3 and seen == list(reversed(ids))
    assert "119 queued" in api.client.get("/runs").text and "1 running" in api.client.get("/runs").text
    live = api.client.get(f"/runs/progress?ids={ids[0]},{ids[1]}").json()
    assert {k: v["status"] for k, v in live.items()} == {ids[0]: "running", ids[1]: "queued"}
    assert api.client.get("/runs/progress?ids=nope").status_code == 422
    assert re.findall(r'<a href="/runs/([0-9a-f]{32})">', api.client.get("/runs?status=failed").text) == []


def test_plan_page_shows_the_plans_money_charts_and_tables(api: Api) -> None:
    api.upload()
    run_id = api.run().json()["id"]
    sign_in(api)
    waiting = api.client.get(f"/runs/{run_id}/result")
    assert waiting.status_code == 409 and "is queued" in alert(waiting.text)
    assert api.work() == 1
    live = api.client.get(f"/runs/{run_id}/live").json()
    assert (live["status"], live["progress"], live["result_url"]) == ("succeeded", 1.0, f"/runs/{run_id}/result")
    assert live["lines"][0]["line"] == "queued plan" and live["lines"][-1]["line"] == "succeeded"
    assert api.client.get(f"/runs/{run_id}/live?after={live['next_after']}").json()["lines"] == []

    summary = api.get(f"/api/v1/runs/{run_id}/result").json()["summary"]
    html = api.client.get(f"/runs/{run_id}/result").text
    assert re.search(r'id="npv">([^<]*)<', html).group(1) == money(summary["npv_usd"])  # type: ignore[union-attr]
    for name in ("capacity_by_provider", "capacity_by_site", "spend_vs_revenue", "funding_gap", "cost_breakdown",
                 "n_minus_1"):
        assert f'<div id="chart-{name}"' in html
    assert "cdn" not in html.lower() and not re.search(r'<script[^>]+src="(https?:)?//', html)
    for line in summary["binding"]:
        assert f"<li>{line}</li>" in html
    for table in ("builds", "purchases", "rentals", "training", "serve"):
        assert f'href="/runs/{run_id}/tables/{table}.csv"' in html
        ours = api.client.get(f"/runs/{run_id}/tables/{table}.csv")
        theirs = api.get(f"/api/v1/runs/{run_id}/result/{table}?format=csv")
        assert ours.status_code == 200 and ours.text == theirs.text
    assert api.client.get(f"/runs/{run_id}/tables/nope.csv").status_code == 404
    ours, theirs = api.client.get(f"/runs/{run_id}/report.html"), api.get(f"/api/v1/runs/{run_id}/report")
    div_ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")   # plotly's, random
    assert ours.status_code == 200 and div_ids.sub("id", ours.text) == div_ids.sub("id", theirs.text)
    assert "gigawatt plan: minimal" in ours.text
    compare = api.client.get(f"/compare?a={run_id}&b={run_id}").text
    assert 'id="npv-change">$0<' in compare and compare.count('<figure class="chart"') == 7


def test_another_workspaces_run_is_not_found(api: Api) -> None:
    api.upload()
    run_id = api.run().json()["id"]
    r = api.client.post("/signin", data={"token": api.tokens["other"]}, follow_redirects=False)
    assert r.status_code == 303
    assert api.client.get(f"/runs/progress?ids={run_id}").json() == {}
    for url in (f"/runs/{run_id}", f"/runs/{run_id}/live", f"/runs/{run_id}/result", "/scenarios/minimal"):
        assert api.client.get(url).status_code == 404
    page = api.client.get(f"/runs/{run_id}").text
    assert f"no run &#39;{run_id}&#39; in this workspace" in page
    assert "workspace <b>other</b>" in page                    # signed in: the page keeps its navigation
    assert api.client.post(f"/runs/{run_id}/cancel").status_code == 404


def test_a_double_submitted_start_form_makes_one_run_and_cancel_works(api: Api) -> None:
    api.upload()
    sign_in(api)
    form = {"kind": "plan", "scenario": "minimal", "version": "1", "form_key": "f" * 32}
    first = api.client.post("/runs", data=form, follow_redirects=False)
    second = api.client.post("/runs", data=form, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    assert len(api.get("/api/v1/runs").json()["items"]) == 1
    run_id = first.headers["location"].split("/")[-1]
    cancel = api.client.post(f"/runs/{run_id}/cancel", follow_redirects=False)
    assert cancel.status_code == 303
    assert api.get(f"/api/v1/runs/{run_id}").json()["status"] == "cancelled"
    bad = api.client.post("/runs", data={"kind": "simulate", "scenario": "minimal", "until_days": "soon"})
    assert bad.status_code == 422 and alert(bad.text) == "until (days): 'soon' is not a number"


def test_plotly_is_served_from_the_installed_package_and_cached(api: Api) -> None:
    from plotly.offline import get_plotlyjs

    r = api.client.get("/static/plotly.min.js")
    assert r.status_code == 200 and r.text == get_plotlyjs()
    again = api.client.get("/static/plotly.min.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert api.client.get("/static/app.js").status_code == 200
    assert api.client.get("/static/../app.py").status_code == 404


def test_the_dashboard_is_not_in_the_apis_schema(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/v1") or p == "/health" for p in paths)


def test_the_report_and_the_dashboard_draw_the_same_figures(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gigawatt.plan import plan
    from gigawatt.report.plan_report import plan_figures, write_plan_report
    from gigawatt.scenario import parse_scenario

    solved = plan(parse_scenario(minimal_yaml(), file="minimal"))
    report = write_plan_report(solved, tmp_path / "r.html").read_text()
    figures = plan_figures(solved)
    assert len(figures) == 6
    for fig in figures.values():
        assert fig.layout.title.text and fig.layout.title.text in report


def test_tables_read_years_as_labels_and_sort_by_the_raw_number() -> None:
    import pandas as pd

    from gigawatt.web.render import table_view

    t = table_view(pd.DataFrame({"year": [2026, 2027], "usd": [1234567.0, -0.0], "share": [0.123456, float("nan")],
                                 "site": ["a", "b"]}), limit=1)
    assert (t["total"], t["shown"]) == (2, 1)
    assert [c["text"] for c in t["rows"][0]] == ["2026", "1,234,567", "0.1235", "a"]
    assert [c["sort"] for c in t["rows"][0]] == [2026, 1234567.0, 0.123456, None]
    assert [c["text"] for c in table_view(pd.DataFrame({"usd": [-0.0], "share": [float("nan")]}))["rows"][0]] == \
        ["0", ""]
