"""The compiled core runs outages, backfill and failover exactly as the Python core does.

Parity: the same workload through `core="python"` and `core="compiled"` gives the same
per-job start and end times, to the bit, with failures on and off. Hand-made cases pin
the times themselves, computed by hand, in both cores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sim_invariants import workloads

from gigawatt.sim import FailureModel, Fleet, Outage, Pool, simulate
from gigawatt.sim.simulate import _compiled_core
from gigawatt.sim.workload import synthetic_jobs

pytestmark = pytest.mark.skipif(_compiled_core() is None, reason="compiled core not built (no C compiler or Cython)")

CORES = ("python", "compiled")
FIRST_FIT = ("fifo", "easy-backfill", "failover", "backfill-failover")
FAIL = FailureModel(rate_per_accelerator_hour=0.02, repair_hours=0.5, restart_minutes=2, checkpoint_minutes=5,
                    checkpoint_write_s=20.0, checkpoint_stall_share=0.5)
EXACT = ("first_start", "finish")
CLOSE = ("allocated_s", "lost_s", "restart_s", "checkpoint_s", "interruptions", "failure_interruptions", "cost_usd",
         "failovers")


def two_providers() -> Fleet:
    return Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=16, usd_per_hour=2.0),
                  Pool(id="pb", site="s2", provider="p2", accelerator="b", capacity=24, speed=2.0, usd_per_hour=3.0)])


def both(fleet_of, df: pd.DataFrame, policy: str, **kw):  # type: ignore[no-untyped-def]
    return [simulate(fleet_of(), df, policy, core=core, **kw) for core in CORES]


def assert_same_run(py, c) -> None:  # type: ignore[no-untyped-def]
    assert c.notes[0] == "compiled core" and "compiled core" not in py.notes
    for col in EXACT:
        assert np.array_equal(py.jobs[col].to_numpy(), c.jobs[col].to_numpy(), equal_nan=True), col
    for col in CLOSE:
        assert np.allclose(py.jobs[col], c.jobs[col], rtol=1e-12, atol=1e-9, equal_nan=True), col
    assert (c.events, c.failures, c.jobs_completed) == (py.events, py.failures, py.jobs_completed)
    assert c.until_s == py.until_s
    assert np.allclose(py.timeline["busy_accelerators"], c.timeline["busy_accelerators"], rtol=1e-9)


@st.composite
def outages(draw: st.DrawFn) -> list[Outage]:
    targets = st.sampled_from(["pa", "pb", "s1", "p2", "nowhere"])
    return [Outage(draw(targets), draw(st.floats(0, 6000)), draw(st.floats(0, 3000)))
            for _ in range(draw(st.integers(0, 4)))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), outages(), st.sampled_from(FIRST_FIT), st.booleans(), st.integers(0, 40),
       st.sampled_from([None, 4000.0]))
def test_random_workloads_with_outages_run_identically(df, outs, policy, with_failures, seed, until):
    py, c = both(two_providers, df, policy, outages=outs, failures=FAIL if with_failures else None,
                 seed=seed, until_s=until, gantt_jobs=5)
    assert_same_run(py, c)
    pd.testing.assert_frame_equal(py.gantt.reset_index(drop=True), c.gantt.reset_index(drop=True),
                                  check_exact=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("policy", FIRST_FIT)
def test_thousands_of_jobs_with_outages_failures_and_backfill(seed, policy):
    """A loaded fleet: queues build up, so backfill has something to do and outages hit running jobs."""
    df = synthetic_jobs(2000, seed=seed, max_size=16, mean_interarrival_s=15, mean_work_s=900)
    df.loc[df.index % 3 == 1, "allowed"] = "a"
    outs = [Outage("pa", 3000.0, 4000.0), Outage("s1", 5000.0, 6000.0), Outage("p2", 9000.0, 2500.0),
            Outage("pb", 20000.0, 100.0)]
    for fail in (None, FAIL):
        py, c = both(two_providers, df, policy, outages=outs, failures=fail, seed=seed, gantt_jobs=0)
        assert_same_run(py, c)
        assert py.interruptions > 0


def one_pool(capacity: float = 8) -> Fleet:
    return Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=capacity)])


def jobs(*rows: tuple[str, float, float, float, str]) -> pd.DataFrame:
    return pd.DataFrame([{"name": n, "arrival_s": a, "accelerators": s, "work_s": w, "allowed": al,
                          "kind": "training"} for n, a, s, w, al in rows])


def times(result) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    return {r.name: (r.first_start, r.finish) for r in result.jobs.itertuples()}


# checkpoints every 300 s of compute, restarts cost 60 s, no random failures
CKPT = FailureModel(rate_per_accelerator_hour=0.0, repair_hours=1.0, restart_minutes=1.0, checkpoint_minutes=5.0)


@pytest.mark.parametrize("core", CORES)
def test_overlapping_outages_keep_the_pool_down_until_the_last_ends(core):
    r = simulate(one_pool(), jobs(("late", 1200.0, 4.0, 100.0, "")), "fifo", core=core,
                 outages=[Outage("pa", 100.0, 1000.0), Outage("pa", 500.0, 2000.0)])
    assert times(r) == {"late": (2500.0, 2600.0)}


@pytest.mark.parametrize("core", CORES)
def test_an_outage_costs_the_work_since_the_last_checkpoint_and_a_restart(core):
    # 1,000 s of work from t=0; the pool goes down at 700 for 300 s. Checkpoints at 300 and 600 are
    # kept, 100 s are lost; back at 1,000 the job restarts (60 s) and computes the 400 s left.
    r = simulate(one_pool(), jobs(("run", 0.0, 8.0, 1000.0, "")), "fifo", core=core, failures=CKPT,
                 outages=[Outage("p1", 700.0, 300.0)])
    assert times(r) == {"run": (0.0, 1460.0)}
    row = r.jobs.iloc[0]
    assert (row.lost_s, row.restart_s, row.interruptions, row.failure_interruptions) == (800.0, 480.0, 1, 0)
    assert row.allocated_s == 8 * (700 + 460)


@pytest.mark.parametrize("core", CORES)
def test_an_outage_with_blocking_checkpoint_writes(core):
    # Writes take 10 s, blocking: a 310 s cycle. At 700: 2 checkpoints durable (600 s kept), 20 s
    # stalled, 80 s lost. After: 60 s restart + 400 s compute + 1 checkpoint (10 s) = 470 s.
    fail = FailureModel(0.0, 1.0, 1.0, 5.0, checkpoint_write_s=10.0)
    r = simulate(one_pool(), jobs(("run", 0.0, 8.0, 1000.0, "")), "fifo", core=core, failures=fail,
                 outages=[Outage("pa", 700.0, 300.0)])
    assert times(r) == {"run": (0.0, 1470.0)}
    row = r.jobs.iloc[0]
    assert (row.lost_s, row.checkpoint_s, row.restart_s) == (8 * 80.0, 8 * 30.0, 8 * 60.0)


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize(("policy", "finish"), [("fifo", 3700.0 + 460.0), ("failover", 700.0 + 460.0)])
def test_failover_moves_a_run_off_a_pool_that_is_down(core, policy, finish):
    fleet = Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=8),
                   Pool(id="pb", site="s2", provider="p2", accelerator="a", capacity=8)])
    r = simulate(fleet, jobs(("run", 0.0, 8.0, 1000.0, "")), policy, core=core, failures=CKPT,
                 outages=[Outage("p1", 700.0, 3000.0)])
    assert times(r) == {"run": (0.0, finish)}


@pytest.mark.parametrize("core", CORES)
def test_a_job_waiting_for_its_pool_does_not_block_jobs_that_can_run_elsewhere(core):
    fleet = Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=8),
                   Pool(id="pb", site="s2", provider="p2", accelerator="b", capacity=8)])
    df = jobs(("on-a", 0.0, 8.0, 1000.0, "a"), ("anywhere", 200.0, 4.0, 100.0, ""))
    r = simulate(fleet, df, "fifo", core=core, outages=[Outage("pa", 100.0, 5000.0)])
    # no checkpoints: the run starts over when its pool is back
    assert times(r) == {"on-a": (0.0, 6100.0), "anywhere": (200.0, 300.0)}


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize(("policy", "expected"), [
    ("fifo", {"a": (0.0, 100.0), "b": (100.0, 200.0), "c": (200.0, 250.0), "d": (200.0, 400.0)}),
    # B waits for A (ends at 100); C ends at 52 <= 100 so it goes ahead; D would end after 100 and
    # there is no spare room beyond B's 8, so it waits
    ("easy-backfill", {"a": (0.0, 100.0), "b": (100.0, 200.0), "c": (2.0, 52.0), "d": (200.0, 400.0)}),
])
def test_easy_backfill_by_hand(core, policy, expected):
    df = jobs(("a", 0.0, 4.0, 100.0, ""), ("b", 1.0, 8.0, 100.0, ""), ("c", 2.0, 4.0, 50.0, ""),
              ("d", 3.0, 4.0, 200.0, ""))
    assert times(simulate(one_pool(), df, policy, core=core)) == expected


@pytest.mark.parametrize("core", CORES)
def test_backfill_uses_room_the_head_does_not_need(core):
    # 10 accelerators: A holds 4 until 100; B needs 8 at 100, leaving 2 spare. C (2 wide, long)
    # fits in the spare and runs at once although it ends after B's reserved start.
    df = jobs(("a", 0.0, 4.0, 100.0, ""), ("b", 1.0, 8.0, 100.0, ""), ("c", 2.0, 2.0, 500.0, ""),
              ("d", 3.0, 2.0, 500.0, ""))
    r = simulate(one_pool(10), df, "easy-backfill", core=core)
    assert times(r) == {"a": (0.0, 100.0), "b": (100.0, 200.0), "c": (2.0, 502.0), "d": (200.0, 700.0)}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), outages(), st.sampled_from(FIRST_FIT), st.booleans(), st.integers(0, 40),
       st.sampled_from([0.0, 300.0, 1500.0]), st.sampled_from([0.0, 120.0]))
def test_failover_after_a_delay_runs_identically(df, outs, policy, with_failures, seed, after, transfer):
    df = df.assign(failover=[["", "a", "b", "a|b"][i % 4] for i in range(len(df))])
    py, c = both(two_providers, df, policy, outages=outs, failures=FAIL if with_failures else None, seed=seed,
                 gantt_jobs=3, failover_after_s=after, transfer_s=transfer)
    assert_same_run(py, c)
    assert np.array_equal(py.jobs["failovers"], c.jobs["failovers"])
    assert list(py.jobs["failover_to"]) == list(c.jobs["failover_to"])


@pytest.mark.parametrize("seed", [0, 1])
def test_thousands_of_jobs_fail_over_identically(seed):
    df = synthetic_jobs(2000, seed=seed, max_size=16, mean_interarrival_s=200, mean_work_s=900)   # room to move to
    df["allowed"] = np.where(df.index % 2 == 0, "a", "b")
    df["failover"] = np.where(df.index % 2 == 0, "b", "a")
    outs = [Outage(t, 3000.0 + 20000.0 * k, 4000.0) for k, t in enumerate(["pa", "p2", "s1", "pb"] * 4)]
    for fail in (None, FAIL):
        py, c = both(two_providers, df, "easy-backfill", outages=outs, failures=fail, seed=seed, gantt_jobs=0,
                     failover_after_s=600.0, transfer_s=60.0)
        assert_same_run(py, c)
        assert py.jobs["failovers"].sum() > 0
        assert list(py.jobs["failover_to"]) == list(c.jobs["failover_to"])


def test_prices_on_several_pools_are_charged_per_segment():
    df = synthetic_jobs(500, seed=3, max_size=16, mean_interarrival_s=20, mean_work_s=600)
    py, c = both(two_providers, df, "backfill-failover", outages=[Outage("pb", 1000.0, 2000.0)], failures=FAIL,
                 seed=4, gantt_jobs=0)
    assert_same_run(py, c)
    assert c.cost_usd == pytest.approx(py.cost_usd, rel=1e-12) and c.cost_usd > 0
    by_pool = (c.jobs["allocated_s"] / 3600 * 2.0).sum(), (c.jobs["allocated_s"] / 3600 * 3.0).sum()
    assert by_pool[0] < c.cost_usd < by_pool[1]


def test_auto_takes_the_compiled_core_for_outages_and_backfill():
    df = jobs(("a", 0.0, 4.0, 100.0, ""))
    r = simulate(one_pool(), df, "easy-backfill", outages=[Outage("pa", 10.0, 10.0)], failures=CKPT)
    assert r.notes[0] == "compiled core"


def test_the_cli_takes_the_compiled_core_for_outages_and_backfill(tmp_path, capsys):
    """`gigawatt simulate` with a job table on one-accelerator pools (an openb node list), the
    scenario's outages and EASY backfill runs the compiled core, with the Python core's result."""
    import json
    from pathlib import Path

    import yaml
    from test_sim_roundtrip import cli

    from gigawatt.scenario.load import load_scenario
    from gigawatt.sim.fleet import fleet_from_openb_nodes
    from gigawatt.sim.from_scenario import failures_from_scenario, outages_from_scenario

    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\n" + "".join(
        f"n{i},64000,262144,8,{'T4' if i < 2 else 'V100M32'}\n" for i in range(4)))
    df = synthetic_jobs(400, seed=2, max_size=8, mean_interarrival_s=30, mean_work_s=600)
    trace = tmp_path / "jobs.csv"
    df.to_csv(trace, index=False)
    data = yaml.safe_load((Path(__file__).parents[1] / "examples" / "minimal.yaml").read_text())
    # the fleet's one provider (alibaba) goes down at random: ~9 outages of ~30 minutes in 8 hours
    data["operations"] = {**data.get("operations", {}),
                          "random_outages": {"rate_per_provider_year": 10_000, "mean_duration_hours": 0.5}}
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(data))
    code, out, err = cli(capsys, "simulate", scenario, "--trace", trace, "--nodes", nodes, "--policy",
                         "easy-backfill", "--no-failures", "--until", "8h", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert "compiled core" in got["notes"]
    s = load_scenario(scenario)
    outs = outages_from_scenario(s, fleet_from_openb_nodes(nodes), 8 * 3600.0, 0)
    py = simulate(fleet_from_openb_nodes(nodes), df, "easy-backfill", outages=outs, core="python", until_s=8 * 3600.0,
                  failures=failures_from_scenario(s, enabled=False))     # no failures; checkpoints still kept
    assert (got["events"], got["jobs_completed"], got["interruptions"]) == (py.events, py.jobs_completed,
                                                                           py.interruptions)
    assert py.interruptions > 0
