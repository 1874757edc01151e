"""Failover in the plan -> operations round trip, by hand.

Two contracts of 1,000 H100 each (8 per node), 'c' from neo and 'd' from other, over 2026Q1-Q2.
One training run needs 996 accelerators co-located for all of 2026Q1 at MFU 0.4: the plan
hosts it on one contract (the two are alike: whichever the solver picks); the round trip rounds it up to 125 nodes (1,000 accelerators), so
its work takes 0.996 of the quarter, W = 7,852,464 s, leaving 31,536 s of slack.

The host's provider is down from hour 500.25 for 100 h. Checkpoints every 20 minutes keep the
first 1,800,000 s of work; 900 s are lost. Restarts cost 5 minutes (the catalog's); no random
failures.
- Failover after 6 h with a 1 h transfer: the run moves to the other contract at 1,822,500 s, restarts there
  after 300 + 3,600 s and finishes at 1,826,400 + (W - 1,800,000) = 7,878,864 s: on time.
- Without failover it waits for its host: back at 2,160,900 s, restarts for 300 s, and finishes
  361,200 s (the outage, the lost 900 s and the restart) after W: at 8,213,664 s, late by
  329,664 s past the quarter's end (its remaining work runs there in 2026Q2).
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from test_sim_roundtrip import cli

from gigawatt.plan import plan as make_plan
from gigawatt.scenario.load import load_scenario
from gigawatt.sim.failures import FailureModel
from gigawatt.sim.roundtrip import round_trip

QUARTER = 7_884_000.0
DAY = 86_400.0
W = 0.996 * QUARTER
WITH = 1_826_400 + (W - 1_800_000)
WITHOUT = W + 361_200
CONTRACT = {"accelerator": "nvidia_h100_sxm", "capacity_accelerators": 1000, "start": "2026Q1",
            "term_quarters": 2, "total_usd": 2.0e7}
SCENARIO = {
    "name": "failover-hand", "horizon": {"start": "2026Q1", "end": "2026Q2"}, "money": {"discount_rate": 0.1},
    "providers": [{"id": "neo"}, {"id": "other"}],
    "contracts": [{"id": "c", "counterparty": "neo", "region": "us-east", **CONTRACT},
                  {"id": "d", "counterparty": "other", "region": "us-west", **CONTRACT}],
    "demand": {"training": [{"id": "run", "total_exaflop": 0.996 * 1000 * 989e-6 * 0.4 * QUARTER,
                             "start": "2026Q1", "end": "2026Q1", "mfu": 0.4, "min_colocated_accelerators": 996}]},
}
PROVIDER = {"c": "neo", "d": "other"}
NO_RANDOM_FAILURES = FailureModel.from_catalog(rate_per_accelerator_hour=0.0)   # restarts 5 min, checkpoints 20 min


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """The scenario with its host's provider down (the host as the solver picked it without the outage)."""
    d = tmp_path_factory.mktemp("failover")
    path = d / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    host = str(make_plan(load_scenario(path)).tables["hosts"]["location"].iloc[0])
    data = copy.deepcopy(SCENARIO)
    data["operations"] = {"outages": [{"target": PROVIDER[host], "start_hours": 500.25, "duration_hours": 100}]}
    path.write_text(yaml.safe_dump(data))
    s = load_scenario(path)
    p = make_plan(s)
    assert list(p.tables["hosts"]["location"]) == [host]
    return path, s, p, host


def test_failover_moves_the_run_and_it_finishes_on_time(hand):
    _, s, p, host = hand
    rt = round_trip(s, p, NO_RANDOM_FAILURES, failover_after_s=6 * 3600, transfer_s=3600)
    run = rt.runs.set_index("run").loc["run"]
    assert run["simulated_day"] == pytest.approx(WITH / DAY, rel=1e-12)
    assert (run["status"], run["status_without_failover"]) == ("on time", "late")
    assert (run["ran_at"], run["failovers"], run["interruptions"]) == ("c+d", 1, 1)
    assert run["ettr"] == pytest.approx((W) / WITH, rel=1e-12)
    assert rt.summary["saved_by_failover"] == ["run"] and rt.summary["failovers"] == 1
    assert any("runs saved by failover" in n and n.endswith(": run") for n in rt.notes)


def test_without_failover_the_run_is_late_by_the_outage(hand):
    _, s, p, host = hand
    rt = round_trip(s, p, NO_RANDOM_FAILURES)
    run = rt.runs.set_index("run").loc["run"]
    assert run["simulated_day"] == pytest.approx(WITHOUT / DAY, rel=1e-12)
    assert run["late_days"] == pytest.approx((WITHOUT - QUARTER) / DAY, rel=1e-9)
    assert (run["status"], run["ran_at"], run["failovers"]) == ("late", host, 0)
    assert "saved_by_failover" not in rt.summary


def test_a_delay_longer_than_the_outage_moves_nothing(hand):
    _, s, p, host = hand
    rt = round_trip(s, p, NO_RANDOM_FAILURES, failover_after_s=100 * 3600, transfer_s=3600)
    run = rt.runs.set_index("run").loc["run"]
    assert run["simulated_day"] == pytest.approx(WITHOUT / DAY, rel=1e-12)
    assert run["failovers"] == 0 and rt.summary["saved_by_failover"] == []


def test_the_cli_reports_the_saved_run(hand, tmp_path, capsys):
    path, _, _, _ = hand
    plan_dir = tmp_path / "plan"
    assert cli(capsys, "plan", path, "--out", plan_dir)[0] == 0
    code, out, err = cli(capsys, "simulate", path, "--plan", plan_dir, "--failover-after", "6h",
                         "--transfer-delay", "1h", "--json", "--no-failures")
    assert code == 0, err
    data = json.loads(out)
    assert data["saved_by_failover"] == ["run"] and data["failover_after_s"] == 21600.0
    assert data["runs"][0]["ran_at"] == "c+d"
    code, out, _ = cli(capsys, "simulate", path, "--plan", plan_dir, "--failover-after", "6h", "--no-failures")
    assert code == 0 and "saved by failover: run (1 moves)" in out
    code, _, err = cli(capsys, "simulate", path, "--plan", plan_dir, "--period", "2026Q1", "--failover-after", "6h")
    assert code == 2 and "--failover-after is for a plan's round trip" in err
    code, _, err = cli(capsys, "simulate", path, "--plan", plan_dir, "--failover-after", "soon")
    assert code == 2 and "--failover-after 'soon' is not a duration" in err
