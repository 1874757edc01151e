"""The REST API end to end on SQLite and PostgreSQL: scenarios, runs executed by a real
worker, results equal to the CLI's, compare, cancel, idempotency and bad input."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

pytest.importorskip("fastapi")

from service_support import Api, minimal_yaml  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from gigawatt.cli.app import app as cli  # noqa: E402
from gigawatt.errors import ScenarioError  # noqa: E402
from gigawatt.plan import plan  # noqa: E402
from gigawatt.scenario import load_scenario, parse_scenario  # noqa: E402

BAD_PUE = minimal_yaml().replace("pue: 1.15", "pue: 0.5")


def test_health_needs_no_token(api: Api) -> None:
    r = api.client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_a_bad_scenario_gets_the_clis_located_message_and_is_not_stored(api: Api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert api.upload().status_code == 201
    r = api.upload(text=BAD_PUE)
    assert r.status_code == 422
    path = tmp_path / "minimal"
    path.write_text(BAD_PUE)
    with pytest.raises(ScenarioError) as cli_error:
        load_scenario(path)
    body = r.json()
    assert body["error"] == str(cli_error.value).replace(str(path), "minimal")
    assert body["error"] == "minimal:20: sites[0].pue: must be at least 1 (got 0.5)"
    assert body["location"] == {"file": "minimal", "line": 20, "path": "sites[0].pue"}
    versions = api.get("/api/v1/scenarios/minimal/versions").json()["items"]
    assert [v["version"] for v in versions] == [1]
    check = api.post("/api/v1/scenarios/validate", json={"name": "x", "yaml": BAD_PUE})
    assert check.status_code == 422 and check.json()["location"]["line"] == 20
    control = api.upload(name="ctl", text="name: x\n\x1f")        # found by the schema fuzz: was a 500
    assert control.status_code == 422
    assert control.json()["error"].startswith("ctl:2: not valid YAML: unacceptable character #x001f")


def test_uploads_of_one_name_are_versions(api: Api) -> None:
    first = api.upload().json()
    second = api.upload(text=minimal_yaml().replace("discount_rate: 0.08", "discount_rate: 0.05")).json()
    assert (first["version"], second["version"]) == (1, 2)
    latest = api.get("/api/v1/scenarios/minimal").json()
    assert latest["version"] == 2 and "discount_rate: 0.05" in latest["yaml"]
    assert "discount_rate: 0.08" in api.get("/api/v1/scenarios/minimal/versions/1").json()["yaml"]
    same = api.upload(text=minimal_yaml().replace("discount_rate: 0.08", "discount_rate: 0.05"))
    assert same.status_code == 200 and same.json()["version"] == 2      # unchanged: no new version
    listed = api.get("/api/v1/scenarios").json()["items"]
    assert [(s["name"], s["version"]) for s in listed] == [("minimal", 2)]


def test_bad_input_gets_a_clear_json_error_and_stores_nothing(api: Api) -> None:
    api.upload()
    malformed = api.client.post("/api/v1/runs", content=b'{"kind": "plan",', headers={
        **api.headers(), "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_json"
    unknown = api.run(kind="stress-everything")
    assert unknown.status_code == 422 and "'plan'" in unknown.json()["error"]
    policy = api.run(kind="simulate", policy="lottery")
    assert policy.status_code == 422 and "unknown policy 'lottery'" in policy.json()["error"]
    period = api.run(kind="simulate", period="2040Q1")
    assert period.status_code == 422
    assert period.json()["error"] == ("period: 2040Q1 is outside the scenario's horizon 2026Q1-2029Q4; "
                                      "pick a quarter inside it")
    extra = api.run(kind="plan", seed=3)       # a plan has no seed: refused, not ignored
    assert extra.status_code == 422
    huge = api.upload(name="huge", text="# " + "x" * 250_000 + "\n" + minimal_yaml())
    assert huge.status_code == 413 and huge.json()["code"] == "too_large"
    over_body = api.upload(name="huge", text="# " + "x" * 400_000)
    assert over_body.status_code == 413
    missing = api.run(scenario="nope")
    assert missing.status_code == 404 and missing.json()["error"] == "no scenario 'nope' in this workspace"
    assert api.get("/api/v1/scenarios/huge").status_code == 404
    assert api.get("/api/v1/runs").json()["items"] == []


def test_a_plan_run_gives_the_same_plan_as_the_core(api: Api) -> None:
    api.upload()
    created = api.run()
    assert created.status_code == 202
    run = created.json()
    assert (run["status"], run["progress"], run["scenario"]) == ("queued", 0.0, {"name": "minimal", "version": 1})
    early = api.get(f"/api/v1/runs/{run['id']}/result")
    assert early.status_code == 409 and early.json()["code"] == "not_ready"
    assert api.work() == 1
    done = api.get(f"/api/v1/runs/{run['id']}").json()
    assert (done["status"], done["progress"], done["attempts"], done["gigawatt_version"]) == \
        ("succeeded", 1.0, 1, "0.1.0")
    assert done["timings"]["running_s"] > 0
    expected = plan(parse_scenario(minimal_yaml()))
    summary = api.get(f"/api/v1/runs/{run['id']}/result").json()
    assert summary["summary"]["npv_usd"] == pytest.approx(expected.npv_usd, rel=1e-9)
    assert summary["summary"]["status"] == expected.status
    assert "spend" in summary["tables"] and "capacity" in summary["tables"]
    as_json = api.get(f"/api/v1/runs/{run['id']}/result/spend").json()
    as_csv = pd.read_csv(io.StringIO(api.get(f"/api/v1/runs/{run['id']}/result/spend?format=csv").text))
    as_parquet = pd.read_parquet(io.BytesIO(
        api.get(f"/api/v1/runs/{run['id']}/result/spend?format=parquet").content))
    want = expected.tables["spend"]
    assert [r["total_usd"] for r in as_json["rows"]] == pytest.approx(want["total_usd"].tolist(), rel=1e-9)
    assert as_csv["total_usd"].tolist() == pytest.approx(want["total_usd"].tolist(), rel=1e-9)
    pd.testing.assert_frame_equal(as_parquet, want.reset_index(drop=True), check_dtype=False)
    report = api.get(f"/api/v1/runs/{run['id']}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "gigawatt plan: minimal" in report.text and "plotly" in report.text
    lines = [x["line"] for x in api.get(f"/api/v1/runs/{run['id']}/log").json()["lines"]]
    assert lines[0] == "queued plan" and "plan: solve" in " ".join(lines) and lines[-1] == "succeeded"
    newer = api.get(f"/api/v1/runs/{run['id']}/log?after=1").json()["lines"]
    assert [x["line"] for x in newer] == lines[1:]
    assert api.get(f"/api/v1/runs/{run['id']}/result/nope").status_code == 404


def test_compare_two_plans_of_two_scenario_versions(api: Api) -> None:
    cheaper_money = minimal_yaml().replace("discount_rate: 0.08", "discount_rate: 0.05")
    api.upload()
    api.upload(text=cheaper_money)
    a = api.run(version=1).json()["id"]
    b = api.run(version=2).json()["id"]
    api.work()
    diff = api.get("/api/v1/compare", params={"a": a, "b": b}).json()
    plan_a, plan_b = plan(parse_scenario(minimal_yaml())), plan(parse_scenario(cheaper_money))
    assert diff["npv_usd"]["a"] == pytest.approx(plan_a.npv_usd, rel=1e-9)
    assert diff["npv_usd"]["change"] == pytest.approx(plan_b.npv_usd - plan_a.npv_usd, rel=1e-9)
    spend = {row["year"]: row["change"] for row in diff["spend_usd"]}
    want = (plan_b.tables["spend"].set_index("year")["total_usd"]
            - plan_a.tables["spend"].set_index("year")["total_usd"])
    assert [spend[y] for y in want.index] == pytest.approx(want.tolist(), rel=1e-9, abs=1e-3)


def test_a_simulation_run_matches_the_cli(api: Api, examples) -> None:  # type: ignore[no-untyped-def]
    api.upload()
    run = api.run(kind="simulate", seed=3, until_s=2.0e7).json()
    api.work()
    result = api.get(f"/api/v1/runs/{run['id']}/result").json()
    out = CliRunner().invoke(cli, ["simulate", str(examples / "minimal.yaml"), "--seed", "3",
                                   "--until", "20000000", "--json"])
    assert out.exit_code == 0, out.output
    cli_json = json.loads(out.output)
    for key in ("utilization", "goodput", "jobs_completed", "failures", "events", "cost_usd"):
        assert result["summary"][key] == pytest.approx(cli_json[key], rel=1e-12), key
    assert set(result["tables"]) == {"gantt", "jobs", "timeline"}
    assert "gigawatt simulation" in api.get(f"/api/v1/runs/{run['id']}/report").text


def test_a_failing_run_is_failed_with_the_reason(api: Api) -> None:
    no_fleet = minimal_yaml().replace("    max_accelerators: 60000\n", "")
    api.upload(text=no_fleet)
    run = api.run(kind="simulate").json()
    api.work()
    done = api.get(f"/api/v1/runs/{run['id']}").json()
    assert done["status"] == "failed"
    assert done["error"].startswith("the fleet is empty: give a plan")
    result = api.get(f"/api/v1/runs/{run['id']}/result")
    assert result.status_code == 409 and result.json()["code"] == "no_result"


def test_cancel_and_idempotency(api: Api) -> None:
    api.upload()
    first = api.post("/api/v1/runs", json={"kind": "plan", "scenario": "minimal"},
                     headers={"Idempotency-Key": "k-1"})
    again = api.post("/api/v1/runs", json={"kind": "plan", "scenario": "minimal"},
                     headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/runs", json={"kind": "simulate", "scenario": "minimal"},
                     headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    run_id = first.json()["id"]
    cancelled = api.post(f"/api/v1/runs/{run_id}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/runs/{run_id}/cancel").status_code == 409
    assert api.work() == 0
    assert len(api.get("/api/v1/runs").json()["items"]) == 1


def test_run_list_pages_cover_every_run_once(api: Api) -> None:
    api.upload()
    ids = {api.run().json()["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/api/v1/runs", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == ids
    assert api.get("/api/v1/runs", params={"status": "succeeded"}).json()["items"] == []
    assert len(api.get("/api/v1/runs", params={"status": "queued", "kind": "plan"}).json()["items"]) == 7
