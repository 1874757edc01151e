"""Honest metrics on hand-made cases: ETTR with waits for repair, censored queueing delay."""

from __future__ import annotations

import pandas as pd
import pytest

from gigawatt.sim import FailureModel, Fleet, Outage, Pool, simulate


def jobs(*rows: tuple[str, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{"name": n, "arrival_s": a, "accelerators": s, "work_s": w, "allowed": "",
                          "kind": "training"} for n, a, s, w in rows])


def one_pool(capacity: float = 8) -> Fleet:
    return Fleet([Pool(id="p", site="s", provider="q", accelerator="a", capacity=capacity)])


# no random failures; checkpoints every minute; 2 minutes to restart after an interruption
NO_RANDOM = FailureModel(rate_per_accelerator_hour=0.0, repair_hours=0.0, restart_minutes=2,
                         checkpoint_minutes=1)


def test_ettr_counts_the_wait_for_the_pool_and_the_restart():
    r = simulate(one_pool(), jobs(("j", 0, 8, 1000)), "fifo", failures=NO_RANDOM,
                 outages=[Outage("p", 100, 500)])
    job = r.jobs.iloc[0]
    # runs 0-100 (checkpoint at 60 keeps 60 s, 40 s lost), pool down until 600,
    # restarts (120 s), the remaining 940 s of work end at 600 + 120 + 940 = 1,660
    assert job["finish"] == 1660
    assert job["lost_s"] == 40 * 8 and job["restart_s"] == 120 * 8
    assert job["allocated_s"] == (100 + 1060) * 8
    assert job["ettr"] == pytest.approx(1000 / 1660, rel=1e-12)
    assert r.ettr == pytest.approx(1000 / 1660, rel=1e-12)
    # goodput: productive accelerator-seconds over the fleet's capacity x run time
    assert r.goodput == pytest.approx(8 * 1000 / (8 * 1660), rel=1e-12)
    assert r.utilization == pytest.approx(1160 / 1660, rel=1e-12)


def test_ettr_counts_the_first_wait_in_the_queue_and_weights_jobs_by_size_and_time():
    r = simulate(one_pool(), jobs(("first", 0, 8, 100), ("second", 50, 4, 100)), "fifo")
    j = r.jobs.set_index("name")
    assert j.loc["first", "ettr"] == 1.0
    assert j.loc["second", "ettr"] == pytest.approx(100 / 150, rel=1e-12)     # waited 50 s, ran 100 s
    assert r.ettr == pytest.approx((8 * 100 + 4 * 100) / (8 * 100 + 4 * 150), rel=1e-12)


def test_queueing_delay_counts_jobs_still_waiting_at_the_end():
    df = jobs(("running", 0, 8, 1000), ("waits-b", 100, 8, 10), ("waits-c", 200, 8, 10),
              ("after-the-end", 600, 8, 10))
    r = simulate(one_pool(), df, "fifo", until_s=500)
    q = r.queueing_delay_s
    assert q["mean"] == pytest.approx((0 + 400 + 300) / 3, rel=1e-12)   # the job arriving at 600 never came
    assert q["max"] == 400 and q["waiting_at_end"] == 2
    assert any("censored" in n for n in r.notes)
    # the running job has held 500 s of its 1,000: ETTR 1 so far; the waiting ones 0
    assert r.jobs.set_index("name").loc["waits-b", "ettr"] == 0.0
    assert r.ettr == pytest.approx(8 * 500 / (8 * 500 + 8 * 400 + 8 * 300), rel=1e-12)
