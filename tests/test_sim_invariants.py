"""Invariants of the gang-job simulator under generated workloads."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gigawatt.sim import FailureModel, Fleet, Outage, Pool, simulate
from gigawatt.sim.cluster import GangCluster
from gigawatt.sim.engine import Engine
from gigawatt.sim.policies import POLICIES
from gigawatt.sim.simulate import jobs_from_table

ACCS = ["a", "b"]


@st.composite
def workloads(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    rows = [{"name": f"j{i}", "arrival_s": draw(st.floats(0, 5000)), "accelerators": float(draw(st.integers(1, 16))),
             "work_s": draw(st.floats(1, 4000)), "allowed": draw(st.sampled_from(["", "a", "b", "a|b"])),
             "kind": "training"} for i in range(n)]
    return pd.DataFrame(rows)


def fleet() -> Fleet:
    return Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=16, usd_per_hour=2.0),
                  Pool(id="pb", site="s2", provider="p2", accelerator="b", capacity=24, speed=2.0, usd_per_hour=3.0)])


FAILURES = FailureModel(rate_per_accelerator_hour=0.01, repair_hours=0.5, restart_minutes=2, checkpoint_minutes=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), st.sampled_from(sorted(POLICIES)), st.booleans(), st.integers(0, 3))
def test_never_double_booked_and_hours_add_up(df, policy, with_failures, seed):
    f = fleet()
    engine = Engine(seed)
    outages = [Outage("p2", 1000.0, 800.0)] if seed % 2 else []
    cluster = GangCluster(engine, f, jobs_from_table(df.sort_values("arrival_s")), POLICIES[policy],
                          FAILURES if with_failures else FailureModel.none(), outages, 600.0)
    cluster.start()
    while engine.step():
        for pool in f.pools:
            held = sum(j.size for j in pool.running)
            assert pool.free >= -1e-9, "double-booked"
            assert pool.free + held <= pool.capacity + 1e-9
            assert all(j.pool is pool for j in pool.running)
    cluster.finish_accounting()
    allocated = sum(j.allocated_s for j in cluster.jobs)
    integral = sum(cluster.timeline.buckets.values())
    assert integral == pytest.approx(allocated, rel=1e-9, abs=1e-6)
    assert all(j.done == pytest.approx(j.work) for j in cluster.jobs)   # everything finishes eventually


@settings(max_examples=60, deadline=None)
@given(workloads())
def test_no_failures_ample_capacity_means_no_waiting(df):
    big = Fleet([Pool(id="pa", site="s", provider="p", accelerator="a", capacity=10_000),
                 Pool(id="pb", site="s", provider="p", accelerator="b", capacity=10_000)])
    r = simulate(big, df, "fifo")
    jobs = r.jobs.set_index("name")
    for row in df.itertuples():
        assert jobs.loc[row.name, "finish"] == pytest.approx(row.arrival_s + row.work_s)
        assert jobs.loc[row.name, "first_start"] == pytest.approx(row.arrival_s)


@settings(max_examples=25, deadline=None)
@given(workloads(), st.integers(0, 100))
def test_same_seed_same_events(df, seed):
    runs = [simulate(fleet(), df, "easy-backfill", failures=FAILURES, seed=seed, record=True) for _ in range(2)]
    assert runs[0].events == runs[1].events
    assert runs[0].jobs.equals(runs[1].jobs)


def test_easy_backfill_cuts_waiting_without_delaying_the_head():
    rows = [("big", 0, 8, 100), ("huge", 1, 16, 100)] + [(f"s{i}", 2 + i, 4, 50) for i in range(4)]
    df = pd.DataFrame([{"name": n, "arrival_s": float(a), "accelerators": float(s), "work_s": float(w),
                        "allowed": "", "kind": "training"} for n, a, s, w in rows])
    f = lambda: Fleet([Pool(id="p", site="s", provider="p", accelerator="a", capacity=16)])  # noqa: E731
    fifo = simulate(f(), df, "fifo").jobs.set_index("name")
    easy = simulate(f(), df, "easy-backfill").jobs.set_index("name")
    assert easy.loc["huge", "first_start"] <= fifo.loc["huge", "first_start"]
    assert (easy["first_start"] - easy["arrival"]).mean() < (fifo["first_start"] - fifo["arrival"]).mean()


def test_failover_moves_jobs_off_a_dead_provider():
    df = pd.DataFrame([{"name": "j", "arrival_s": 0.0, "accelerators": 8.0, "work_s": 1000.0, "allowed": "", "kind": "training"}])
    two = lambda: Fleet([Pool(id="x", site="s1", provider="p1", accelerator="a", capacity=8),  # noqa: E731
                         Pool(id="y", site="s2", provider="p2", accelerator="a", capacity=8)])
    outage = [Outage("p1", 100.0, 10_000.0)]
    stay = simulate(two(), df, "fifo", outages=outage).jobs.iloc[0]
    move = simulate(two(), df, "failover", outages=outage).jobs.iloc[0]
    assert stay["finish"] > 10_000          # waited for p1 to come back
    assert move["finish"] < 1200            # restarted on p2 at once


def test_cost_and_hetero_aware_choose_differently():
    df = pd.DataFrame([{"name": "j", "arrival_s": 0.0, "accelerators": 4.0, "work_s": 3600.0, "allowed": "", "kind": "training"}])
    f = lambda: Fleet([Pool(id="cheap-slow", site="s", provider="p", accelerator="a", capacity=8, speed=1.0, usd_per_hour=1.0),  # noqa: E731
                       Pool(id="dear-fast", site="s", provider="p", accelerator="b", capacity=8, speed=4.0, usd_per_hour=2.0)])
    cost = simulate(f(), df, "cost-aware")
    hetero = simulate(f(), df, "hetero-aware")
    assert cost.cost_usd == pytest.approx(4 * 1.0 * 1.0 / 2.0)   # dear-fast: 4 acc x 0.25 h x $2 = $2.0 < cheap-slow $4
    assert hetero.jobs.iloc[0]["finish"] == pytest.approx(900.0)


def test_a_gang_larger_than_every_pool_is_left_out_not_blocking():
    df = pd.DataFrame([{"name": "giant", "arrival_s": 0.0, "accelerators": 100.0, "work_s": 10.0, "allowed": "", "kind": "training"},
                       {"name": "small", "arrival_s": 1.0, "accelerators": 2.0, "work_s": 10.0, "allowed": "", "kind": "training"}])
    r = simulate(fleet(), df, "fifo")
    assert r.jobs_completed == 1 and any("giant needs 100" in n for n in r.notes)


def test_empty_fleet_is_an_error():
    from gigawatt.errors import SimulationError
    df = pd.DataFrame([{"name": "j", "arrival_s": 0.0, "accelerators": 1.0, "work_s": 1.0, "allowed": "", "kind": "training"}])
    with pytest.raises(SimulationError, match="the fleet is empty"):
        simulate(Fleet([]), df)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), st.sampled_from(sorted(POLICIES)), st.sampled_from(["first-fit", "best-fit", "worst-fit",
                                                                        "random-fit"]),
       st.booleans(), st.integers(0, 3), st.sampled_from([0, 1]), st.sampled_from([1.0, 0.5]))
def test_nodes_never_double_booked_under_failures_outages_and_spares(df, policy, placement, with_failures, seed,
                                                                     spares, share):
    df = df.assign(accelerators=df["accelerators"] * share)          # shares of a GPU as well as whole ones
    f = Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=16, node_size=4, spares=spares),
               Pool(id="pb", site="s2", provider="p2", accelerator="b", capacity=26, node_size=8, speed=2.0)])
    fail = FailureModel(rate_per_accelerator_hour=0.05, repair_hours=0.2, restart_minutes=2, checkpoint_minutes=5,
                        checkpoint_write_s=10)
    for pool in f.pools:
        pool.reset()
    engine = Engine(seed)
    outages = [Outage("p2", 1000.0, 800.0), Outage("s2", 1500.0, 800.0)] if seed % 2 else []
    cluster = GangCluster(engine, f, jobs_from_table(df.sort_values("arrival_s")), POLICIES[policy],
                          fail if with_failures else FailureModel.none(), outages, 600.0, placement)
    cluster.start()
    while engine.step():
        for pool in f.pools:
            assert all(x >= -1e-9 for x in pool.node_free), "double-booked"
            held = [0.0] * len(pool.node_cap)
            for job in pool.running:
                assert job.pool is pool and job.placement
                for n, amount in job.placement:
                    held[n] += amount
                    assert pool.node_up[n]
            for n, cap in enumerate(pool.node_cap):
                if pool.node_up[n]:
                    assert pool.node_free[n] + held[n] == pytest.approx(cap, abs=1e-9)
            assert pool.free == pytest.approx(sum(x for x, up in zip(pool.node_free, pool.node_up, strict=True)
                                                  if up), abs=1e-6)
    cluster.finish_accounting()
    allocated = sum(j.allocated_s for j in cluster.jobs)
    assert sum(cluster.timeline.buckets.values()) == pytest.approx(allocated, rel=1e-9, abs=1e-6)
    assert all(j.done == pytest.approx(j.work) for j in cluster.jobs)
