"""Plan -> operations -> plan: a saved plan's horizon through the simulator, then a derated plan.

The hand case: a take-or-pay contract of 1,000 H100 (8 per node) over 2026Q1-2026Q2 and one
training run that needs exactly those 1,000 accelerators for all of 2026Q1 at MFU 0.4:
    work E = 1000 x 989e-6 EF/s x 0.4 x 7,884,000 s = 3,118,910.4 exaFLOP.
The plan serves it from the contract in 2026Q1 and says it completes at the quarter's end (day
91.25). An outage of the contract's provider from hour 500.25 for 100 hours stops it: it keeps
its checkpoint of hour 500 (every 20 minutes), loses 900 s, waits 100 h (no failures: restarts
are free), so at the quarter's end 360,900 s of its work are left; the contract's 2026Q2
capacity takes them, and it finishes 360,900 s into 2026Q2:
    simulated day = (7,884,000 + 360,900) / 86,400 = 95.4270833..., late by 4.1770833 days,
    ETTR = 7,884,000 x 1000 / (8,244,900 x 1000) = 0.95622748...
Planning again with that availability needs 1000 / ETTR = 1,045.776... accelerators in 2026Q1:
the contract's 1,000 plus 45.776... rented from the cloud offer; 2026Q2 is unchanged.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from gigawatt.cli import main
from gigawatt.errors import GigawattError
from gigawatt.plan import Plan
from gigawatt.plan import plan as make_plan
from gigawatt.scenario.load import load_scenario
from gigawatt.sim.failures import FailureModel
from gigawatt.sim.fleet import Pool
from gigawatt.sim.roundtrip import node_sizes, round_trip, spare_nodes

QUARTER = 7_884_000.0
E = 1000 * 989e-6 * 0.4 * QUARTER
LEFT = 100 * 3600 + 900           # the outage plus the work since the last checkpoint
SCENARIO = {
    "name": "roundtrip-hand", "horizon": {"start": "2026Q1", "end": "2026Q2"}, "money": {"discount_rate": 0.1},
    "providers": [{"id": "neo"}, {"id": "cloud"}],
    "contracts": [{"id": "c", "counterparty": "neo", "accelerator": "nvidia_h100_sxm", "capacity_accelerators": 1000,
                   "start": "2026Q1", "term_quarters": 2, "total_usd": 2.0e7}],
    "cloud_offers": [{"id": "o", "provider": "cloud", "accelerator": "nvidia_h100_sxm",
                      "terms": [{"quarters": 1, "price_usd_per_accelerator_hour": 4.0}]}],
    "demand": {"training": [{"id": "run", "total_exaflop": E, "start": "2026Q1", "end": "2026Q1", "mfu": 0.4}]},
    "operations": {"outages": [{"target": "neo", "start_hours": 500.25, "duration_hours": 100}]},
}
NO_FAILURES = FailureModel.from_catalog(enabled=False)


def write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    d = tmp_path_factory.mktemp("hand")
    s = load_scenario(write(d, SCENARIO))
    return d, s, make_plan(s)


def test_the_plan_is_the_hand_plan(hand):
    _, _, p = hand
    cap = p.tables["capacity"]
    assert list(cap["accelerators"]) == pytest.approx([1000.0, 1000.0], rel=1e-9)
    assert p.tables["training"].set_index("run").loc["run", "completion_period"] == "2026Q1"


def test_an_outage_makes_the_run_late_by_exactly_its_lost_time(hand):
    _, s, p = hand
    rt = round_trip(s, p, NO_FAILURES)
    run = rt.runs.set_index("run").loc["run"]
    assert run["planned_completion"] == "2026Q1" and run["planned_day"] == pytest.approx(91.25, rel=1e-12)
    assert run["simulated_completion"] == "2026Q2"
    assert run["simulated_day"] == pytest.approx((QUARTER + LEFT) / 86400, rel=1e-12)
    assert run["late_days"] == pytest.approx(LEFT / 86400, rel=1e-9)
    assert run["status"] == "late" and not run["within_window"]
    assert run["ettr"] == pytest.approx(QUARTER / (QUARTER + LEFT), rel=1e-12)
    assert run["availability"] == pytest.approx(QUARTER / (QUARTER + LEFT), rel=1e-12)
    assert run["interruptions"] == 1 and run["delivered_exaflop"] == pytest.approx(E, rel=1e-12)
    assert run["host"] == "c"                     # not co-located: where the plan served it
    periods = rt.periods.set_index("period")
    per_second = 1000 * 989e-6 * 0.4                    # effective EF/s of the whole gang
    assert periods.loc["2026Q1", "planned_exaflop"] == pytest.approx(E, rel=1e-12)
    assert periods.loc["2026Q1", "delivered_exaflop"] == pytest.approx((QUARTER - LEFT) * per_second, rel=1e-12)
    assert periods.loc["2026Q2", "planned_exaflop"] == 0.0
    assert periods.loc["2026Q2", "delivered_exaflop"] == pytest.approx(LEFT * per_second, rel=1e-12)
    assert rt.late_runs() == ["run"]
    # the contract's capacity held: the run's quarter and its late hours, over two quarters of 1,000
    assert rt.summary["utilization"] == pytest.approx((QUARTER - 100 * 3600 + LEFT) / (2 * QUARTER), rel=1e-12)


def test_without_the_outage_the_run_ends_when_planned(hand, tmp_path):
    s = load_scenario(write(tmp_path, {**SCENARIO, "operations": {}}))
    rt = round_trip(s, make_plan(s), NO_FAILURES)
    run = rt.runs.set_index("run").loc["run"]
    assert run["status"] == "on time" and run["simulated_day"] == pytest.approx(91.25, rel=1e-12)
    assert run["ettr"] == pytest.approx(1.0, rel=1e-12) and rt.late_runs() == []


def test_until_cuts_the_horizon_and_the_run_is_not_finished(hand):
    _, s, p = hand
    rt = round_trip(s, p, NO_FAILURES, until_s=600 * 3600)
    run = rt.runs.set_index("run").loc["run"]
    assert run["status"] == "not finished" and math.isnan(run["simulated_day"])
    # it computed 500 h and kept them; the outage holds it for the last 100 h
    assert run["delivered_exaflop"] == pytest.approx(500 * 3600 * 1000 * 989e-6 * 0.4, rel=1e-12)


def test_failures_cost_a_training_run_time_and_spares_come_out_of_the_plan(hand):
    _, s, p = hand
    failing = FailureModel.from_catalog(rate_per_accelerator_hour=1e-4)
    rt = round_trip(s, p, failing, seed=3)
    run = rt.runs.set_index("run").loc["run"]
    assert run["failure_interruptions"] > 0 and run["ettr"] < QUARTER / (QUARTER + LEFT)
    # 1e-4 per accelerator-hour x 1,000 x 4 h in repair = 0.4 nodes: ceil(0.4 + 3 sqrt(0.4)) = 3 spare nodes
    assert list(rt.capacity["spare_accelerators"]) == [24.0, 24.0]


def test_node_sizes_round_to_whole_nodes_training_first():
    # 99.5 nodes of training round up to the pool's 100; nothing is left for inference
    assert node_sizes({"t": 796.0, "i": 4.0}, 800.0, 8.0, frozenset({"t"})) == {"t": 800.0}
    assert node_sizes({"t": 500.0, "i": 299.0}, 800.0, 8.0, frozenset({"t"})) == {"t": 504.0, "i": 296.0}
    assert node_sizes({"a": 12.0, "b": 13.0}, 800.0, 8.0) == {"a": 16.0, "b": 16.0}
    assert node_sizes({"a": 3.0, "b": 6.0}, 16.0, 8.0) == {"a": 3.0, "b": 6.0}


def test_spare_nodes_cover_the_nodes_in_repair():
    pool = Pool(id="p", site="x", provider="y", accelerator="nvidia_h100_sxm", capacity=80_000.0, pooled=True)
    fm = FailureModel.from_catalog()           # 1.9731e-5 per accelerator-hour, 4 h repair
    in_repair = 1.9731e-5 * 80_000 * 4         # 6.31392 nodes at once on average
    assert spare_nodes(pool, fm) == math.ceil(in_repair + 3 * math.sqrt(in_repair)) == 14
    assert spare_nodes(pool, NO_FAILURES) == 0


def test_availability_field_changes_the_plan_as_its_name_says(tmp_path):
    base = {**SCENARIO, "contracts": [], "operations": {}}
    derated = json.loads(json.dumps(base))
    derated["demand"]["training"][0]["availability"] = 0.8
    plans = [make_plan(load_scenario(write(tmp_path, x, f"{i}.yaml"))) for i, x in enumerate((base, derated))]
    q1 = [p.tables["capacity"].set_index("period").loc["2026Q1", "accelerators"] for p in plans]
    assert q1 == pytest.approx([1000.0, 1250.0], rel=1e-9)


def test_validate_accepts_exactly_the_availability_that_plans(tmp_path, capsys):
    for value, ok in ((0.5, True), (1.0, True), (0.0, False), (1.5, False)):
        data = json.loads(json.dumps(SCENARIO))
        data["demand"]["training"][0]["availability"] = value
        code, _, err = cli(capsys, "validate", write(tmp_path, data))
        assert (code == 0) is ok, err
        if not ok:
            assert "availability" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_derate_from_round_trip_adds_the_capacity_the_outage_cost(tmp_path, capsys):
    path = write(tmp_path, SCENARIO)
    assert cli(capsys, "plan", path, "--out", tmp_path / "plan")[0] == 0
    code, out, err = cli(capsys, "simulate", path, "--plan", tmp_path / "plan", "--no-failures",
                         "--out", tmp_path / "sim", "--report", tmp_path / "rt.html", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["late_runs"] == ["run"] and data["availability"]["run"] == pytest.approx(QUARTER / (QUARTER + LEFT))
    page = (tmp_path / "rt.html").read_text()
    assert "planned vs simulated completion" in page and "planned vs delivered" in page
    code, out, err = cli(capsys, "plan", path, "--derate-from", tmp_path / "sim", "--out", tmp_path / "derated",
                         "--report", tmp_path / "derated.html", "--json")
    assert code == 0, err
    derate = json.loads(out)["metadata"]["derate"]
    assert derate["availability"] == {"run": pytest.approx(QUARTER / (QUARTER + LEFT), rel=1e-12)}
    assert [r["accelerators"] for r in derate["base_capacity"]] == pytest.approx([1000.0, 1000.0], rel=1e-9)
    code, out, _ = cli(capsys, "plan", path, "--derate-from", tmp_path / "sim")
    assert code == 0 and "derated from" in out and "accelerator-quarters" in out
    derated = Plan.load(tmp_path / "derated")
    cap = derated.tables["capacity"].groupby("period")["accelerators"].sum()
    assert cap["2026Q1"] == pytest.approx(1000 * (QUARTER + LEFT) / QUARTER, rel=1e-9)
    assert cap["2026Q2"] == pytest.approx(1000.0, rel=1e-9)
    rented = derated.tables["capacity"].set_index(["period", "location"])["accelerators"]
    assert rented[("2026Q1", "o")] == pytest.approx(1000 * LEFT / QUARTER, rel=1e-9)
    assert "Derated from a simulation" in (tmp_path / "derated.html").read_text()
    # the derated plan simulates against the same scenario file
    code, out, err = cli(capsys, "simulate", path, "--plan", tmp_path / "derated", "--no-failures", "--json")
    assert code == 0, err
    assert json.loads(out)["runs"][0]["status"] in ("on time", "late")


def test_round_trip_errors_are_one_line(tmp_path, capsys):
    path = write(tmp_path, SCENARIO)
    other = write(tmp_path, {**SCENARIO, "name": "other"}, "other.yaml")
    assert cli(capsys, "plan", path, "--out", tmp_path / "plan")[0] == 0
    assert cli(capsys, "simulate", path, "--plan", tmp_path / "plan", "--no-failures", "--out", tmp_path / "sim")[0] == 0
    for argv, fragment in [
        (["simulate", path, "--out", tmp_path / "x"], "--out is for a plan's round trip"),
        (["simulate", path, "--plan", tmp_path / "plan", "--period", "2026Q1", "--out", tmp_path / "x"],
         "--out is for a plan's round trip"),
        (["simulate", path, "--plan", tmp_path / "plan", "--recommend-checkpoint"], "need one period"),
        (["simulate", path, "--plan", tmp_path / "plan", "--out", path], "is not a round-trip directory"),
        (["plan", path, "--derate-from", tmp_path / "plan"], "no roundtrip.json there"),
        (["plan", other, "--derate-from", tmp_path / "sim"], "simulated from another scenario"),
    ]:
        code, _, err = cli(capsys, *argv)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_derate_from_a_damaged_round_trip_is_one_line(tmp_path, capsys):
    path = write(tmp_path, SCENARIO)
    sim = tmp_path / "sim"
    sim.mkdir()
    (sim / "roundtrip.json").write_text('{"kind": "gigawatt round trip", "scenario_hash": "x", "availability": {"run": 7}}')
    (sim / "capacity.csv").write_text("period,accelerators,peak_exaflops,mw\n")
    code, _, err = cli(capsys, "plan", path, "--derate-from", sim)
    assert code == 2 and "not a share in [0, 1]" in err
    with pytest.raises(GigawattError):
        from gigawatt.sim.derate import load_round_trip

        (sim / "roundtrip.json").write_text("{not json")
        load_round_trip(sim)


def test_daly_interval_is_the_largest_runs_optimum():
    import pandas as pd

    from gigawatt.sim.roundtrip import _daly_interval

    fm = FailureModel.from_catalog(rate_per_accelerator_hour=1e-4, checkpoint_write_s=60.0)
    table = pd.DataFrame({"accelerators": [1000.0, 200.0, 5000.0], "kind": ["training", "training", "inference"]})
    mtbf = 3600 / (1e-4 * 1000)                   # 36,000 s: the largest training gang, not the service
    young = math.sqrt(2 * 60 * mtbf)
    x = math.sqrt(60 / (2 * mtbf))
    assert _daly_interval(fm, table).checkpoint_minutes * 60 == pytest.approx(
        young * (1 + x / 3 + x * x / 9) - 60, rel=1e-12)
    with pytest.raises(GigawattError, match="needs a checkpoint cost"):
        round_trip(load_scenario_from(SCENARIO), None, FailureModel.from_catalog(), daly=True)  # type: ignore[arg-type]


def load_scenario_from(data):
    from gigawatt.scenario.model import Scenario

    return Scenario.model_validate(data)


def test_the_size_guard_counts_idle_accelerators_failing():
    """One small job on a huge fleet: 8 busy accelerator-hours, but 10M accelerators fail in calendar
    time for the whole day the job runs: 10M x 24 h x 1e-2 = 2.4M failures, over the guard's 2M."""
    import pandas as pd

    from gigawatt.cli.sim_guard import check_simulation_size

    jobs = pd.DataFrame({"arrival_s": [0.0], "accelerators": [8.0], "work_s": [86400.0]})
    fm = FailureModel.from_catalog(rate_per_accelerator_hour=1e-2)
    check_simulation_size(jobs, fm, None)                        # the busy hours alone pass
    with pytest.raises(GigawattError, match="about 2,400,000 accelerator failures"):
        check_simulation_size(jobs, fm, None, capacity=10_000_000)
    check_simulation_size(jobs, fm, None, capacity=10_000_000, fastest=2.0)   # done in 12 h: 1.2M


def test_node_level_replay_waits_for_cpu_where_the_pooled_model_does_not(tmp_path, capsys):
    """Node a: 1 GPU, 4 CPUs; node b: 1 GPU, 64 CPUs. Task 1 (half a GPU, 60 CPUs) can only go to b,
    for 100 s. Task 2 (one whole GPU, 8 CPUs) arrives at 10 s: a lacks the CPUs, b's GPU is shared,
    so it waits until 100 s (90 s), though a whole GPU sits idle: the pooled model starts it at once."""
    from gigawatt.sim.openb_replay import replay
    from gigawatt.sim.packing import load_openb_nodes, load_openb_tasks

    nodes = tmp_path / "openb_node_list_gpu_node.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\na,4000,65536,1,T4\nb,64000,65536,1,T4\n")
    pods = tmp_path / "openb_pod_list_x.csv"
    pods.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
                    "deletion_time,scheduled_time\n"
                    "p1,60000,1024,1,500,,LS,Running,0,100,0\np2,8000,1024,1,1000,,LS,Running,10,60,10\n"
                    "p3,1000,1024,1,1000,,LS,Pending,20,,\n")
    for policy in ("best-fit", "worst-fit", "random-fit", "fgd"):
        r = replay(load_openb_nodes(nodes), load_openb_tasks(pods), policy)
        assert (r.tasks, r.placed, r.waiting_at_end) == (2, 2, 0)
        assert r.queueing_delay_s["max"] == 90.0 and r.queueing_delay_s["mean"] == 45.0
        assert r.peak_allocated_gpus == 1.0                      # never both at once
        assert r.mean_allocated_gpus == pytest.approx((0.5 * 100 + 1.0 * 50) / 150, rel=1e-12)
        assert r.notes == ["1 tasks never scheduled in the trace (pending) left out"]
    code, out, err = cli(capsys, "simulate", write(tmp_path, SCENARIO), "--trace", pods, "--nodes", nodes,
                         "--node-level", "--json")
    assert code == 0, err
    assert [row["mean_delay_s"] for row in json.loads(out)["node_level"]] == [45.0, 45.0, 45.0]
    code, out, err = cli(capsys, "simulate", write(tmp_path, SCENARIO), "--trace", pods, "--nodes", nodes,
                         "--no-failures", "--json")
    assert code == 0, err
    assert json.loads(out)["queueing_delay_s"]["max"] == 0.0            # pooled: two T4s, room at once
    code, _, err = cli(capsys, "simulate", write(tmp_path, SCENARIO), "--node-level")
    assert code == 2 and "--node-level (and --compress) need --trace" in err


def test_a_scale_up_request_places_a_gang_in_groups_within_nodes():
    """Two 8-accelerator nodes; job a holds 4 on node 0 for 100 s. Job b (12 accelerators) by the
    default rule needs two whole idle nodes and waits for a; asking for scale-up groups of 4, it
    runs at once: one group beside a on node 0, two on node 1. Groups of 16 fit no node."""
    import pandas as pd

    from gigawatt.sim import Fleet, simulate

    def run(group: float) -> pd.DataFrame:
        fleet = Fleet([Pool(id="p", site="s", provider="x", accelerator="nvidia_h100_sxm", capacity=16.0,
                            node_size=8.0)])
        jobs = pd.DataFrame({"name": ["a", "b"], "arrival_s": [0.0, 1.0], "accelerators": [4.0, 12.0],
                             "work_s": [100.0, 50.0], "allowed": "", "kind": "batch", "scale_up": [0.0, group]})
        r = simulate(fleet, jobs, "fifo", seed=0, core="python")
        return r.jobs.set_index("name"), r.notes

    default, _ = run(0.0)
    assert default.loc["b", "first_start"] == 100.0 and default.loc["b", "finish"] == 150.0
    grouped, _ = run(4.0)
    assert grouped.loc["b", "first_start"] == 1.0 and grouped.loc["b", "finish"] == 51.0
    too_big, notes = run(16.0)
    assert "b" not in too_big.index and "left out" in notes[0]
    bad = pd.DataFrame({"name": ["a"], "arrival_s": [0.0], "accelerators": [4.0], "work_s": [1.0], "allowed": "",
                        "kind": "batch", "scale_up": ["x"]})
    with pytest.raises(GigawattError, match="scale_up = 'x'"):
        simulate(Fleet([Pool(id="p", site="s", provider="x", accelerator="a", capacity=16.0)]), bad, "fifo")


def test_groups_share_nodes_by_the_placement_rule():
    pool = Pool(id="p", site="s", provider="x", accelerator="nvidia_h100_sxm", capacity=24.0, node_size=8.0)
    assert pool.place(6.0, "first-fit") == [(0, 6.0)]              # node 0: 2 left
    assert pool.fits(6.0, 2.0) and not pool.fits(20.0, 2.0)         # slots: 1 + 4 + 4 = 9 groups of 2
    assert pool.place(6.0, "best-fit", None, 2.0) == [(0, 2.0), (1, 4.0)]
    assert pool.free == 12.0 and pool.partial == {1: 4.0} and pool.idle_count == 1
    pool.give_back([(0, 2.0), (1, 4.0)])
    assert pool.free == 18.0 and pool.idle_count == 2 and pool.partial == {0: 2.0}
