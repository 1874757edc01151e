"""Failover after a delay: a job whose pool stays down moves to another pool it may use.

Hand case: 1,000 s of work on pool pa from t=0, checkpoints every 300 s, restarts cost 60 s.
pa goes down at 700 for 3,000 s. The job keeps its checkpoint of t=600 (100 s lost).
"""

from __future__ import annotations

import pandas as pd
import pytest

from gigawatt.errors import SimulationError
from gigawatt.sim import FailureModel, Fleet, Outage, Pool, simulate
from gigawatt.sim.simulate import _compiled_core

CKPT = FailureModel(rate_per_accelerator_hour=0.0, repair_hours=1.0, restart_minutes=1.0, checkpoint_minutes=5.0)


def fleet(room_on_b: float = 8) -> Fleet:
    return Fleet([Pool(id="pa", site="s1", provider="p1", accelerator="a", capacity=8),
                  Pool(id="pb", site="s2", provider="p2", accelerator="b", capacity=room_on_b)])


def job(failover: str = "b", **extra: object) -> pd.DataFrame:
    return pd.DataFrame([{"name": "run", "arrival_s": 0.0, "accelerators": 8.0, "work_s": 1000.0, "allowed": "a",
                          "kind": "training", "failover": failover, **extra}])


CORES = ["python"] + (["compiled"] if _compiled_core() is not None else [])


@pytest.fixture(params=CORES)
def core(request) -> str:  # type: ignore[no-untyped-def]
    return str(request.param)


def run(df: pd.DataFrame, fl: Fleet | None = None, core: str = "python", **kw):  # type: ignore[no-untyped-def]
    r = simulate(fl or fleet(), df, "fifo", failures=CKPT, outages=[Outage("pa", 700.0, 3000.0)], core=core, **kw)
    assert ("compiled core" in r.notes) == (core == "compiled")
    return r.jobs.iloc[0]


def test_the_job_moves_after_the_delay_and_pays_restart_and_transfer(core):
    r = run(job(), core=core, failover_after_s=600.0, transfer_s=200.0)
    # moves at 700 + 600 = 1,300; 60 s restart + 200 s transfer + 400 s of work left
    assert (r.first_start, r.finish) == (0.0, 1300.0 + 60 + 200 + 400)
    assert (r.failovers, r.failover_to, r.interruptions) == (1, "pb", 1)
    assert r.restart_s == 8 * 260.0 and r.lost_s == 8 * 100.0
    assert r.allocated_s == 8 * (700 + 660)


def test_without_failover_it_waits_for_its_pool(core):
    r = run(job(), core=core, failover_after_s=None)
    assert r.finish == 3700.0 + 60 + 400 and r.failovers == 0
    # a job with no failover set waits too, whatever the delay
    assert run(job(failover=""), core=core, failover_after_s=600.0).finish == 3700.0 + 460


def test_a_pool_back_before_the_delay_keeps_its_jobs(core):
    r = run(job(), core=core, failover_after_s=3000.0)          # the pool is back at 3,700, just as the delay ends
    assert (r.finish, r.failovers) == (3700.0 + 460, 0)


def test_no_room_on_the_other_pool_no_move(core):
    r = run(job(), fleet(room_on_b=4), core=core, failover_after_s=600.0)
    assert (r.finish, r.failovers) == (3700.0 + 460, 0)


def test_bad_delays_are_refused_in_one_line():
    with pytest.raises(SimulationError, match="failover_after_s = -1"):
        run(job(), failover_after_s=-1.0)
    with pytest.raises(SimulationError, match="transfer_s = nan"):
        run(job(), failover_after_s=1.0, transfer_s=float("nan"))
