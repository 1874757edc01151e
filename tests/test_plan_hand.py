"""Tiny plans whose optimum is computed by hand."""

from __future__ import annotations

import pytest
from plan_helpers import inference, offer, scenario

from gigawatt.periods import HOURS_PER_QUARTER
from gigawatt.plan import Plan, plan

H100_EF = 989e-6


def test_cloud_only_cost_is_units_times_price_times_hours():
    s = scenario(cloud_offers=[offer("o", 4.0)], demand={"inference": [inference(ef=2.0, util=0.5)]})
    p = plan(s)
    units = 2.0 / 0.5 / H100_EF
    assert p.status == "optimal"
    assert p.npv_usd == pytest.approx(units * 4.0 * HOURS_PER_QUARTER, rel=1e-6)
    cap = p.tables["capacity"]
    assert cap["accelerators"].sum() == pytest.approx(units, rel=1e-6)
    # the marginal EF/s-day costs the offer's price per effective EF-day
    shadow = p.tables["shadow_price"]["usd_per_exaflop_day"].iloc[0]
    assert shadow == pytest.approx(4.0 * 24 / 0.5 / H100_EF, rel=1e-6)


def test_cheap_offer_first_then_expensive_and_binding_cap_reported():
    s = scenario(cloud_offers=[offer("cheap", 2.0, cap=1000), offer("dear", 5.0, provider="cloud2")],
                 demand={"inference": [inference(ef=1.0, util=0.5)]})
    p = plan(s)
    units = 1.0 / 0.5 / H100_EF
    expected = (1000 * 2.0 + (units - 1000) * 5.0) * HOURS_PER_QUARTER
    assert p.npv_usd == pytest.approx(expected, rel=1e-6)
    assert any("availability of cloud offer cheap binds" in b for b in p.binding)
    shadow = p.tables["shadow_price"]["usd_per_exaflop_day"].iloc[0]
    assert shadow == pytest.approx(5.0 * 24 / 0.5 / H100_EF, rel=1e-6)


def test_owned_site_npv_by_hand():
    acc = "nvidia_gb200_nvl72"
    s = scenario(
        accelerators=[{"id": acc, "price_decline_per_year": 0.0}],
        sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "pue": 1.2,
                "electricity_usd_per_mwh": 50.0, "facility_capex_usd_per_it_mw": 12e6,
                "construction_lead_time_quarters": 0, "accelerators": [acc]}],
        finance={"it_life_years": 5, "facility_life_years": 20},
        demand={"inference": [inference(ef=10.0, util=0.5, allowed=[acc])]},
    )
    p = plan(s)
    units = 10.0 / 0.5 / 2500e-6
    kw = 1.67 * 1.075 * 1.2
    mw = units * kw / 1000
    it = units * 47222
    facility = mw / 1.2 * 12e6  # capex is per MW of IT load: facility MW / PUE
    energy = mw * HOURS_PER_QUARTER * 50.0
    residual = it * 19 / 20 + facility * 79 / 80  # one quarter used of 20 (IT) and 80 (facility)
    assert p.npv_usd == pytest.approx(it + facility + energy - residual, rel=1e-6)
    spend = p.tables["spend"].iloc[0]
    assert spend["it_capex_usd"] == pytest.approx(it, rel=1e-6)
    assert spend["facility_capex_usd"] == pytest.approx(facility, rel=1e-6)
    assert spend["energy_usd"] == pytest.approx(energy, rel=1e-6)


def test_lead_time_forces_cloud_until_facility_is_online():
    acc = "nvidia_gb200_nvl72"
    s = scenario(
        horizon={"start": "2026Q1", "end": "2026Q4"},
        sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "construction_lead_time_quarters": 2,
                "accelerators": [acc]}],
        cloud_offers=[offer("o", 10.0)],
        demand={"inference": [inference(ef=1.0)]},
    )
    p = plan(s)
    cap = p.tables["capacity"]
    owned = cap[cap["kind"] == "owned"].groupby("period")["accelerators"].sum()
    assert set(owned.index) <= {"2026Q3", "2026Q4"}
    cloud = cap[cap["kind"] == "cloud"].groupby("period")["accelerators"].sum()
    assert {"2026Q1", "2026Q2"} <= set(cloud.index)


def test_unservable_demand_is_explained_not_failed():
    s = scenario(cloud_offers=[offer("o", 4.0, cap=100)],
                 demand={"inference": [inference(ef=1.0, allowed=["nvidia_h100_sxm", "amd_mi355x"])]})
    p = plan(s)
    assert p.status == "shortfall"
    text = " ".join(p.explanations)
    assert "demand api in 2026Q1 short by" in text
    assert "no site, offer or contract for accelerator amd_mi355x" in text
    assert "availability of cloud offer o binds" in text
    unmet = p.tables["unmet"]
    assert unmet["exaflops_short"].iloc[0] == pytest.approx(1.0 - 100 * H100_EF * 0.5, rel=1e-6)


def test_colocated_run_cannot_split_across_offers():
    run = {"id": "big", "total_exaflop": 2.0 * 2190 * 3600, "start": "2026Q1", "end": "2026Q1",
           "mfu": 0.5, "allowed_accelerators": ["nvidia_h100_sxm"], "colocated": True}
    half = 2.0 / 0.5 / H100_EF / 2 * 1.01
    s = scenario(cloud_offers=[offer("a", 2.0, cap=half), offer("b", 2.0, provider="cloud2", cap=half)],
                 demand={"training": [run]})
    p = plan(s)
    assert p.status == "shortfall"
    # neither offer alone can hold it, and half a run is worth nothing: nothing is rented for it
    assert p.tables["serve"].empty and p.tables["capacity"].empty
    run_row = p.tables["training"].iloc[0]
    assert not run_row["completes"] and run_row["delivered_exaflop"] == 0
    assert any("the largest, a, could deliver at most 50% of it" in e for e in p.explanations)


def test_n_minus_1_forces_a_second_provider():
    s = scenario(cloud_offers=[offer("a", 2.0), offer("b", 3.0, provider="cloud2")],
                 policy={"n_minus_1_alpha": 0.5},
                 demand={"inference": [inference(ef=1.0, util=0.5)]})
    p = plan(s)
    cap = p.tables["capacity"].groupby("provider")["peak_exaflops"].sum()
    need = 1.0 / 0.5
    assert cap["cloud"] >= 0.5 * need - 1e-6 and cap["cloud2"] >= 0.5 * need - 1e-6
    assert any("N-1 security" in b for b in p.binding)


def test_budget_overrun_is_reported():
    s = scenario(cloud_offers=[offer("a", 4.0)], finance={"budget_usd_per_year": {2026: 1e6}},
                 demand={"inference": [inference(ef=1.0)]})
    p = plan(s)
    assert p.status == "shortfall"
    assert any("exceeds the budget" in e for e in p.explanations)


def test_plan_round_trips_through_disk(tmp_path):
    s = scenario(cloud_offers=[offer("a", 4.0)], demand={"inference": [inference(ef=1.0)]})
    p = plan(s)
    for fmt in ("csv", "parquet"):
        q = Plan.load(p.save(tmp_path / fmt, fmt))
        assert q.npv_usd == p.npv_usd and q.binding == p.binding
        assert q.capacity_mw() == p.capacity_mw()
        assert q.tables["capacity"].equals(p.tables["capacity"])
        assert q.metadata["scenario_hash"] == p.metadata["scenario_hash"]


def test_failed_save_keeps_the_previous_plan(tmp_path, monkeypatch):
    s = scenario(cloud_offers=[offer("a", 4.0)], demand={"inference": [inference(ef=1.0)]})
    p = plan(s)
    p.save(tmp_path)
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    p.tables["capacity"] = p.tables["capacity"].assign(accelerators=-1.0)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(p.tables["spend"]), "to_csv", boom)
    with pytest.raises(OSError):
        p.save(tmp_path)
    after = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    assert after == before


def test_run_never_split_over_locations_too_small_for_its_cluster():
    run = {"id": "big", "total_exaflop": 1.0 * 2190 * 3600, "start": "2026Q1", "end": "2026Q1",
           "mfu": 0.5, "allowed_accelerators": ["nvidia_h100_sxm"], "min_colocated_accelerators": 1000}
    s = scenario(cloud_offers=[offer("a", 2.0, cap=600), offer("b", 2.0, provider="cloud2", cap=600)],
                 demand={"training": [run]})
    p = plan(s)
    assert p.tables["serve"].empty
    assert not p.tables["training"]["completes"].iloc[0]
    assert any("co-located (needs 1,000 accelerators" in e for e in p.explanations)


def test_incompatible_site_leaves_demand_balance_intact():
    s = scenario(sites=[{"id": "s", "provider": "self", "max_power_mw": 100, "accelerators": ["nvidia_gb200_nvl72"]}],
                 cloud_offers=[offer("o", 4.0, cap=10)],
                 demand={"inference": [inference(ef=1.0, allowed=["nvidia_h100_sxm"])]})
    p = plan(s)
    assert p.tables["unmet"]["exaflops_short"].iloc[0] == pytest.approx(1.0 - 10 * H100_EF * 0.5)
    assert p.tables["capacity"]["kind"].eq("cloud").all()
