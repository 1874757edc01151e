"""A stress run: a succeeded plan run evaluated over sampled futures by a worker; the same
answer (or the same error) as calling gigawatt.stress.stress on that plan; refused up front
when it cannot run."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from service_support import Api, minimal_yaml  # noqa: E402
from stress_helpers import STRESS_YAML  # noqa: E402

from gigawatt.errors import GigawattError  # noqa: E402
from gigawatt.scenario import parse_scenario  # noqa: E402
from gigawatt.service.results import load_plan  # noqa: E402
from gigawatt.service.store import queue  # noqa: E402
from gigawatt.stress import stress  # noqa: E402


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'stress.db'}"     # the store is tested on both backends elsewhere


def test_a_stress_run_gives_what_the_core_gives_on_the_same_plan(api: Api) -> None:
    api.upload(name="risky", text=STRESS_YAML)
    api.upload(name="minimal", text=minimal_yaml())
    plan_run = api.run(scenario="risky").json()["id"]
    early = api.run(kind="stress", scenario="risky", plan_run=plan_run, samples=4, seed=1)
    assert early.status_code == 409 and "needs a succeeded plan run" in early.json()["error"]
    api.work()
    no_uncertainty = api.run(kind="stress", scenario="minimal", plan_run=plan_run, samples=4)
    assert no_uncertainty.status_code == 422 and "no uncertainty: section" in no_uncertainty.json()["error"]
    run = api.run(kind="stress", scenario="risky", plan_run=plan_run, samples=4, seed=1)
    assert run.status_code == 202
    api.work()
    done = api.get(f"/api/v1/runs/{run.json()['id']}").json()
    plan = load_plan(queue.artifacts(api.store, plan_run))
    try:
        expected = stress(parse_scenario(STRESS_YAML, file="risky"), plan, samples=4, seed=1,
                          plan_dir=f"plan run {plan_run}")
    except GigawattError as exc:       # the core refuses: the run fails with the core's own reason
        assert (done["status"], done["error"]) == ("failed", str(exc))
        return
    assert done["status"] == "succeeded", done["error"]
    summary = api.get(f"/api/v1/runs/{done['id']}/result").json()
    assert summary["summary"]["samples"] == 4
    assert summary["summary"]["cost_usd"]["p50"] == pytest.approx(expected.summary["cost_usd"]["p50"], rel=1e-9)
    assert summary["summary"]["shortfall_probability"] == pytest.approx(expected.summary["shortfall_probability"])
    assert {"table", "tornado", "worst"} <= set(summary["tables"])
    rows = api.get(f"/api/v1/runs/{done['id']}/result/table").json()["rows"]
    assert len(rows) == len(expected.table)
    assert "Stress test" in api.get(f"/api/v1/runs/{done['id']}/report").text


def test_stress_results_round_trip_through_the_store() -> None:
    import pandas as pd

    from gigawatt.service.results import load_stress, stress_artifacts, stress_summary
    from gigawatt.stress.run import StressResult

    table = pd.DataFrame({"sample": [0, 0, 1], "metric": ["cost_usd", "spend_usd", "cost_usd"],
                          "key": ["", "2027", ""], "value": [1.5e9, 2.0e8, 1.75e9]})
    summary = {k: 0.25 for k in ("shortfall_probability", "funding_gap_probability", "funding_gap_threshold_usd",
                                 "max_funding_gap_usd", "unmet_share")}
    summary |= {"samples": 2, "solved": 2, "cost_usd": {"p50": 1.625e9}, "npv_usd": {"p50": 1.6e9},
                "shortfall_probability_by_period": {"2027Q1": 0.5}}
    result = StressResult(table=table, factors=pd.DataFrame({"sample": [0, 1], "demand": [0.9, 1.2]}),
                          summary=summary, tornado=pd.DataFrame(columns=["factor", "low", "high", "low_value",
                                                                         "high_value", "base"]),
                          global_indices=pd.DataFrame({"factor": ["demand"], "S1": [0.7]}),
                          worst=pd.DataFrame({"sample": [1], "cost_usd": [1.75e9]}),
                          timings={"total": 1.0}, metadata={"seed": 1, "scenario": "risky"})
    back = load_stress(stress_artifacts(result))
    pd.testing.assert_frame_equal(back.table, table)
    assert back.summary == summary and back.metadata == result.metadata
    assert stress_summary(stress_artifacts(result))["cost_usd"] == {"p50": 1.625e9}
