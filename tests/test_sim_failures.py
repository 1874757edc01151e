"""Failures as they happen: nodes, calendar time, spares, checkpoint cost; lost work pinned exactly."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gigawatt.sim import FailureModel, Fleet, NodeFailure, Pool, simulate
from gigawatt.sim.failures import young_daly


def jobs(*rows: tuple[str, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{"name": n, "arrival_s": a, "accelerators": s, "work_s": w, "allowed": "",
                          "kind": "training"} for n, a, s, w in rows])


def hgx(spares: int = 0) -> Fleet:
    # two 8-GPU HGX nodes (the catalog's scale-up domain for H100)
    return Fleet([Pool(id="p", site="s", provider="q", accelerator="nvidia_h100_sxm", capacity=16, spares=spares)])


def model(stall_share: float = 1.0) -> FailureModel:
    # no random failures: only the injected ones; checkpoint every 10 min, 30 s to write, 2 min restart, 1 h repair
    return FailureModel(rate_per_accelerator_hour=0.0, repair_hours=1, restart_minutes=2, checkpoint_minutes=10,
                        checkpoint_write_s=30, checkpoint_stall_share=stall_share)


def test_pools_are_made_of_catalog_nodes():
    assert hgx().pools[0].node_size == 8
    nvl = Pool(id="n", site="s", provider="q", accelerator="nvidia_gb200_nvl72", capacity=150)
    assert nvl.node_size == 72 and nvl.node_cap == [72, 72, 6]
    assert Pool(id="x", site="s", provider="q", accelerator="nvidia_h100_sxm", capacity=16, node_size=4).node_cap == [4] * 4


def test_a_node_failure_loses_work_back_to_the_last_durable_checkpoint_and_waits_for_repair():
    r = simulate(hgx(), jobs(("j", 0, 16, 3000)), "fifo", failures=model(),
                 node_failures=[NodeFailure("p", 1, 1500)])
    j = r.jobs.iloc[0]
    # cycles of 600 s computing + 30 s writing: at 1,500 two checkpoints are durable (1,200 s of work),
    # 240 s computed since are lost; 60 s were spent writing
    assert j["lost_s"] == 240 * 16
    assert j["interruptions"] == 1 and j["failure_interruptions"] == 1 and r.failures == 1
    # node 1 is repaired at 5,100; restart 120 s, 1,800 s of work with two 30 s checkpoints on the way
    assert j["finish"] == 5100 + 120 + 1800 + 60
    assert j["checkpoint_s"] == (60 + 60) * 16 and j["restart_s"] == 120 * 16
    assert j["allocated_s"] == (1500 + 1980) * 16
    assert j["productive_s"] == 3000 * 16
    assert j["ettr"] == pytest.approx(3000 / 7080, rel=1e-12)


def test_a_hot_spare_lets_the_job_restart_at_once():
    r = simulate(hgx(spares=1), jobs(("j", 0, 16, 3000)), "fifo", failures=model(),
                 node_failures=[NodeFailure("p", 1, 1500)])
    assert r.jobs.iloc[0]["finish"] == 1500 + 120 + 1800 + 60


def test_an_asynchronous_checkpoint_stalls_less_but_is_durable_only_once_written():
    # stall 3 s per checkpoint (10% of 30 s); the second snapshot (taken at 1,203) is durable at 1,233
    r = simulate(hgx(), jobs(("j", 0, 16, 3000)), "fifo", failures=model(0.1),
                 node_failures=[NodeFailure("p", 0, 1220)])
    j = r.jobs.iloc[0]
    assert j["lost_s"] == pytest.approx((1220 - 6 - 600) * 16, rel=1e-12)   # only the first is durable
    assert j["checkpoint_s"] == pytest.approx((6 + 3 * 3) * 16, rel=1e-12)  # 2 stalls, then 3 on 2,400 s left
    assert j["finish"] == pytest.approx(1220 + 3600 + 120 + 2400 + 9, rel=1e-12)
    blocking = simulate(hgx(), jobs(("j", 0, 16, 3000)), "fifo", failures=model(),
                        node_failures=[NodeFailure("p", 0, 1220)]).jobs.iloc[0]
    assert blocking["lost_s"] == (1220 - 30 - 600) * 16                      # 590 s since the first


def test_hardware_fails_when_idle_too():
    df = jobs(("whole-pool", 200, 16, 100), ("one-node", 300, 8, 100))
    r = simulate(hgx(), df, "fifo", failures=model(), node_failures=[NodeFailure("p", 0, 100)])
    j = r.jobs.set_index("name")
    assert r.failures == 1 and j["interruptions"].sum() == 0
    assert j.loc["whole-pool", "first_start"] == 3700          # node 0 back from repair at 3,700
    assert j.loc["one-node", "first_start"] == 3800            # FIFO: behind the whole-pool job


def test_a_failure_stops_only_the_jobs_on_that_node():
    df = jobs(("on-0", 0, 8, 1000), ("on-1", 0, 8, 1000))
    r = simulate(hgx(), df, "fifo", failures=model(), node_failures=[NodeFailure("p", 1, 500)])
    j = r.jobs.set_index("name")
    assert j.loc["on-0", "interruptions"] == 0 and j.loc["on-0", "finish"] == 1000 + 30
    assert j.loc["on-1", "interruptions"] == 1


def test_random_failures_run_in_calendar_time_on_idle_nodes():
    # 1,000 idle nodes of 8 for 1,000 h at 1e-3 per accelerator-hour: 8,000 failures expected
    fleet = Fleet([Pool(id="p", site="s", provider="q", accelerator="nvidia_h100_sxm", capacity=8000)])
    fail = FailureModel(rate_per_accelerator_hour=1e-3, repair_hours=0.0, restart_minutes=0, checkpoint_minutes=60)
    r = simulate(fleet, jobs(("late", 1000 * 3600.0, 8, 1)), "fifo", failures=fail, seed=4)
    assert abs(r.failures - 8000) < 5 * math.sqrt(8000)


def test_young_daly_by_hand():
    young, daly = young_daly(write_s=60.0, mtbf_s=3600.0)
    assert young == pytest.approx(math.sqrt(2 * 60 * 3600), rel=1e-12)
    x = math.sqrt(60 / (2 * 3600))
    assert daly == pytest.approx(math.sqrt(2 * 60 * 3600) * (1 + x / 3 + x * x / 9) - 60, rel=1e-12)
    assert young_daly(write_s=8000.0, mtbf_s=3600.0)[1] == 3600.0    # Daly: checkpoint cost >= 2 MTBF


def test_mttf_per_job_and_fleet():
    df = jobs(("on-0", 0, 8, 1000), ("on-1", 0, 8, 1000))
    r = simulate(hgx(), df, "fifo", failures=model(),
                 node_failures=[NodeFailure("p", 1, 500), NodeFailure("p", 0, 7000)])
    j = r.jobs.set_index("name")
    assert r.failures == 2 and r.failure_interruptions == 1          # the second hits an idle node
    assert r.mttf_hours == pytest.approx(r.until_s / 3600 / 2, rel=1e-12)
    assert j.loc["on-1", "mttf_hours"] == pytest.approx(j.loc["on-1", "allocated_s"] / 8 / 3600, rel=1e-12)
    assert math.isnan(j.loc["on-0", "mttf_hours"])


def test_the_simulated_checkpoint_optimum_agrees_with_young_daly():
    from gigawatt.sim.checkpoint import recommend_checkpoint
    fleet = Fleet([Pool(id="p", site="s", provider="q", accelerator="nvidia_h100_sxm", capacity=2048, spares=8)])
    fail = FailureModel(rate_per_accelerator_hour=1e-4, repair_hours=4, restart_minutes=5, checkpoint_minutes=30,
                        checkpoint_write_s=120)
    advice = recommend_checkpoint(fleet, jobs(("run", 0, 2048, 3 * 86400)), fail, seeds=(0, 1, 2, 3),
                                  factors=(0.25, 1.0, 4.0))
    mtbf = 3600 / (1e-4 * 2048)
    assert advice.job_mtbf_hours == pytest.approx(mtbf / 3600, rel=1e-12)
    assert advice.young_minutes == pytest.approx(math.sqrt(2 * 120 * mtbf) / 60, rel=1e-12)
    assert advice.recommended_minutes == pytest.approx(advice.daly_minutes, rel=1e-12)
    e = advice.sweep.set_index("factor_of_daly")["ettr"]
    # first-order overhead 2 sqrt(d / 2M) = 11.7% at the optimum vs ~25% at a quarter or 4x of it
    assert e[1.0] > e[0.25] + 0.05 and e[1.0] > e[4.0] + 0.05


def test_a_pool_too_large_for_node_identity_is_pooled_and_still_fails_by_node():
    huge = Fleet([Pool(id="p", site="s", provider="q", accelerator="nvidia_h100_sxm", capacity=1e9)])
    assert huge.pools[0].pooled and huge.pools[0].node_cap == []          # no billion-entry lists
    fail = FailureModel(rate_per_accelerator_hour=1e-9, repair_hours=1, restart_minutes=0, checkpoint_minutes=60)
    r = simulate(huge, jobs(("j", 0, 16, 3600)), "fifo", failures=fail, seed=1)
    assert r.jobs_completed == 1
