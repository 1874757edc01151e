"""Scheduling defects, pinned on hand-made cases with exact times."""

from __future__ import annotations

import pandas as pd
import pytest

from gigawatt.sim import Fleet, Outage, Pool, simulate


def jobs(*rows: tuple[str, float, float, float, str]) -> pd.DataFrame:
    return pd.DataFrame([{"name": n, "arrival_s": a, "accelerators": s, "work_s": w, "allowed": al,
                          "kind": "training"} for n, a, s, w, al in rows])


def two_pools() -> Fleet:
    return Fleet([Pool(id="x", site="s1", provider="p1", accelerator="a", capacity=8),
                  Pool(id="y", site="s2", provider="p2", accelerator="b", capacity=8)])


@pytest.mark.parametrize("policy", ["fifo", "easy-backfill"])
def test_a_job_waiting_for_a_down_pool_does_not_block_the_others(policy):
    df = jobs(("waits-for-x", 100, 8, 100, "a"), ("runs-on-y", 200, 6, 100, "b"),
              ("needs-room", 210, 4, 100, "b"))
    r = simulate(two_pools(), df, policy, outages=[Outage("x", 0, 5000)]).jobs.set_index("name")
    assert r.loc["waits-for-x", "first_start"] == 5000 and r.loc["waits-for-x", "finish"] == 5100
    assert r.loc["runs-on-y", "first_start"] == 200          # was 5,100 behind the job waiting for x
    assert r.loc["needs-room", "first_start"] == 300         # waits for room on y, as FIFO says


def test_fifo_still_holds_the_line_for_room_on_an_up_pool():
    df = jobs(("big", 200, 6, 100, "b"), ("next", 210, 4, 100, "b"), ("small", 220, 2, 100, "b"))
    fifo = simulate(two_pools(), df, "fifo").jobs.set_index("name")
    easy = simulate(two_pools(), df, "easy-backfill").jobs.set_index("name")
    assert fifo.loc["small", "first_start"] == 300           # behind "next"
    assert easy.loc["small", "first_start"] == 220           # fits beside "next"'s reservation


def test_a_pinned_job_interrupted_by_an_outage_does_not_block_either():
    df = jobs(("on-x", 0, 8, 1000, "a"), ("later-any", 150, 8, 100, ""))
    r = simulate(two_pools(), df, "fifo", outages=[Outage("x", 100, 900)]).jobs.set_index("name")
    assert r.loc["on-x", "first_start"] == 0 and r.loc["on-x", "finish"] == 2000   # restarts at 1,000
    assert r.loc["later-any", "first_start"] == 150 and r.loc["later-any", "finish"] == 250


def test_overlapping_outages_end_when_the_last_one_ends():
    one = Fleet([Pool(id="p", site="s", provider="q", accelerator="a", capacity=8)])
    outages = [Outage("p", 100, 1000), Outage("p", 500, 2000)]       # [100, 1100] and [500, 2500]
    df = jobs(("running", 0, 4, 200, ""), ("arrives-1200", 1200, 4, 100, ""))
    r = simulate(one, df, "fifo", outages=outages).jobs.set_index("name")
    assert r.loc["arrives-1200", "first_start"] == 2500 and r.loc["arrives-1200", "finish"] == 2600
    # interrupted at 100 with no checkpoint: 100 s x 4 accelerators lost, all its work redone from 2,500
    assert r.loc["running", "finish"] == 2700 and r.loc["running", "lost_s"] == 400


def test_outages_on_a_site_and_its_provider_overlap_the_same_way():
    one = Fleet([Pool(id="p", site="s", provider="q", accelerator="a", capacity=8)])
    outages = [Outage("s", 100, 1000), Outage("q", 500, 2000), Outage("p", 3000, 100)]
    r = simulate(one, jobs(("j", 1200, 8, 2000, "")), "fifo", outages=outages).jobs.iloc[0]
    # no checkpoint: the 500 s done before the third outage are lost and redone from 3,100
    assert r["first_start"] == 2500 and r["finish"] == 3100 + 2000 and r["lost_s"] == 500 * 8


def test_fragmentation_counts_idle_accelerators_stranded_by_nodes():
    hgx = Fleet([Pool(id="p", site="s", provider="q", accelerator="nvidia_h100_sxm", capacity=16)])
    # "small" takes half of node 0; "wide" needs two whole nodes: 12 idle accelerators, only one whole node
    r = simulate(hgx, jobs(("small", 0, 4, 1000, ""), ("wide", 10, 12, 100, "")), "fifo")
    j = r.jobs.set_index("name")
    assert j.loc["wide", "first_start"] == 1000 and j.loc["wide", "finish"] == 1100
    assert r.fragmented_accelerator_hours == pytest.approx(12 * 990 / 3600, rel=1e-12)
    assert r.fragmentation == pytest.approx(12 * 990 / (16 * 1100), rel=1e-12)
    pooled = Fleet([Pool(id="p", site="s", provider="q", accelerator="x", capacity=16)])   # one-GPU nodes
    assert simulate(pooled, jobs(("small", 0, 4, 1000, ""), ("wide", 10, 12, 100, "")), "fifo").fragmentation == 0
