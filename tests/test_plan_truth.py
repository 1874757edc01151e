"""Planner truth: each accepted field changes the plan as its name says, hand-computed with discounting.

Every expected figure below is worked out by hand from the scenario (and catalog inputs read as
data), never from the planner's own arrays.
"""

from __future__ import annotations

import pytest
from plan_helpers import inference, offer, scenario

from gigawatt.catalog import load_catalog
from gigawatt.economics.quote import quote
from gigawatt.periods import HOURS_PER_QUARTER as H
from gigawatt.periods import SECONDS_PER_QUARTER
from gigawatt.plan import plan

H100 = "nvidia_h100_sxm"
H100_EF = 989e-6
RATE = 0.10


def df(quarter_index: int, rate: float = RATE) -> float:
    """Discount factor of the n-th quarter after the first (start of quarter)."""
    return (1 + rate) ** (-quarter_index / 4)


def three_clouds(gb200_price: float = 2.0, **policy):
    """pa and pb rent H100 at $2 and $3/h; pc rents only GB200; the demand takes H100 only."""
    return scenario(
        providers=[{"id": "pa"}, {"id": "pb"}, {"id": "pc"}],
        cloud_offers=[offer("a", 2.0, provider="pa"), offer("b", 3.0, provider="pb"),
                      offer("c", gb200_price, acc="nvidia_gb200_nvl72", provider="pc")],
        policy=policy, demand={"inference": [inference(ef=1.0, util=0.5, allowed=[H100])]},
    )


# --- defect 1: risk limits count only capacity that can serve ---

def test_n_minus_1_cover_is_not_bought_with_capacity_the_demand_cannot_use():
    p = plan(three_clouds(n_minus_1_alpha=0.5))
    # need 2 peak EF/s; losing either H100 provider must leave 1: each carries exactly half
    assert p.npv_usd == pytest.approx((1.0 * 2.0 + 1.0 * 3.0) / H100_EF * H, rel=1e-9)  # $11.07M
    assert p.tables["capacity"]["provider"].tolist() == ["pa", "pb"]
    assert p.status == "optimal" and sum(p.penalties_usd.values()) == 0


@pytest.mark.parametrize("gb200_price", [2.0, 0.5])   # at $0.5/h idle GB200 used to dilute shares
def test_share_cap_counts_compute_served_not_idle_capacity(gb200_price):
    p = plan(three_clouds(gb200_price, max_provider_share=0.6))
    assert p.npv_usd == pytest.approx((1.2 * 2.0 + 0.8 * 3.0) / H100_EF * H, rel=1e-9)  # $10.63M
    assert "pc" not in set(p.tables["capacity"]["provider"])


def test_n_minus_1_cover_ignores_capacity_in_regions_the_demand_excludes():
    s = scenario(
        providers=[{"id": "pa"}, {"id": "pb"}, {"id": "pc"}],
        cloud_offers=[offer("a", 2.0, provider="pa"), offer("b", 3.0, provider="pb"),
                      {**offer("c", 1.0, provider="pc"), "region": "eu"}],
        policy={"n_minus_1_alpha": 0.5},
        demand={"inference": [{**inference(ef=1.0, util=0.5), "regions": ["us"]}]},
    )
    assert plan(s).npv_usd == pytest.approx(5.0 / H100_EF * H, rel=1e-9)


# --- defect 2: the N-1 table names the right providers ---

def test_security_table_values_belong_to_their_provider():
    s = scenario(
        sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "construction_lead_time_quarters": 0,
                "accelerators": [H100]}],
        cloud_offers=[offer("dear", 1000.0, provider="cloud2")],
        demand={"inference": [inference(ef=1.0, util=0.5, allowed=[H100])]},
    )
    p = plan(s)
    sec = p.tables["security"]
    assert sec["provider"].tolist() == ["self"]           # the cloud with nothing rented holds nothing
    assert sec["provider_exaflops"].iloc[0] == pytest.approx(2.0, rel=1e-9)
    assert sec["usable_without_exaflops"].iloc[0] == pytest.approx(0.0, abs=1e-12)


# --- defect 3: take-or-pay, minimum take, status, regions, base year ---

def contract(**over):
    c = {"id": "c", "counterparty": "cloud2", "accelerator": H100, "capacity_accelerators": 2000,
         "start": "2026Q2", "term_quarters": 2, "payment_usd_per_year": 8e6}
    return {**c, **over}


def four_quarters(**sections):
    base = {"horizon": {"start": "2026Q1", "end": "2026Q4"}, "money": {"discount_rate": RATE}}
    return scenario(**{**base, **sections})


def test_take_or_pay_contract_is_paid_in_its_term_only_and_cloud_fills_the_rest():
    s = four_quarters(cloud_offers=[offer("o", 10.0)], contracts=[contract()],
                      demand={"inference": [inference(ef=1.0, util=0.5)]})
    p = plan(s)
    units = 2.0 / H100_EF
    cloud = [units, units - 2000, units - 2000, units]
    expected = sum(df(t) * cloud[t] * 10.0 * H for t in range(4)) + (df(1) + df(2)) * 2e6
    assert p.npv_usd == pytest.approx(expected, rel=1e-9)
    held = p.tables["capacity"].query("kind == 'contract'").set_index("period")["accelerators"]
    assert held.to_dict() == {"2026Q2": 2000.0, "2026Q3": 2000.0}


@pytest.mark.parametrize(("take_or_pay", "min_take", "paid_units"), [
    (True, None, 2000.0),            # the whole capacity, used or not
    (False, None, 0.5 / 0.5 / H100_EF),   # only what serves the demand
    (False, 0.8, 1600.0),            # at least 80% of the capacity
])
def test_contract_payment_follows_take_or_pay_and_minimum_take(take_or_pay, min_take, paid_units):
    c = contract(take_or_pay=take_or_pay, **({"min_take_share": min_take} if min_take is not None else {}))
    s = four_quarters(contracts=[c], cloud_offers=[offer("o", 10.0)],
                      demand={"inference": [inference(ef=0.5, util=0.5, start="2026Q2")],
                              "training": []},
                      horizon={"start": "2026Q2", "end": "2026Q3"})
    p = plan(s)
    per_unit_quarter = 2e6 / 2000
    assert p.npv_usd == pytest.approx((1 + df(1)) * paid_units * per_unit_quarter, rel=1e-9)


def test_superseded_contract_is_neither_paid_nor_used_unless_put_in_force():
    free = contract(status="superseded", payment_usd_per_year=0.0, start="2026Q1", term_quarters=4)
    s = scenario(cloud_offers=[offer("o", 4.0)], contracts=[free], demand={"inference": [inference(ef=1.0)]})
    p = plan(s)
    assert p.npv_usd == pytest.approx(2.0 / H100_EF * 4.0 * H, rel=1e-9)
    assert any("status 'superseded'" in n for n in p.metadata["notes"])
    forced = scenario(cloud_offers=[offer("o", 4.0)], contracts=[free], demand={"inference": [inference(ef=1.0)]},
                      policy={"statuses_in_force": ["confirmed", "reported", "superseded"]})
    assert plan(forced).npv_usd == pytest.approx((2.0 / H100_EF - 2000) * 4.0 * H, rel=1e-9)


def test_chip_deal_not_in_force_supplies_nothing():
    acc = "nvidia_gb200_nvl72"
    s = scenario(
        sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "construction_lead_time_quarters": 0,
                "accelerators": [acc]}],
        chip_deals=[{"id": "d", "vendor": "NVIDIA", "accelerator": acc, "units_per_quarter": 1e6,
                     "start": "2026Q1", "end": "2026Q1", "status": "loi"}],
        demand={"inference": [inference(ef=1.0, allowed=[acc])]},
    )
    p = plan(s)
    assert p.tables["purchases"].empty and p.npv_usd == 0.0
    assert p.penalties_usd["unmet_inference"] > 0


@pytest.mark.parametrize(("regions", "price"), [([], 2.0), (["eu"], 5.0), (["us"], 2.0)])
def test_demand_is_served_only_from_its_regions(regions, price):
    s = scenario(cloud_offers=[{**offer("us-east", 2.0), "region": "us-east"},
                               {**offer("eu", 5.0, provider="cloud2"), "region": "eu-west"}],
                 demand={"inference": [{**inference(ef=1.0, util=0.5), "regions": regions}]})
    assert plan(s).npv_usd == pytest.approx(2.0 / H100_EF * price * H, rel=1e-9)


def test_base_year_moves_the_present_value_date():
    s = scenario(money={"discount_rate": RATE, "base_year": 2025}, cloud_offers=[offer("o", 4.0)],
                 demand={"inference": [inference(ef=1.0)]})
    assert plan(s).npv_usd == pytest.approx(2.0 / H100_EF * 4.0 * H * df(4), rel=1e-9)


# --- defect 4: the NPV is real money; penalties stand apart ---

def test_unhostable_colocated_run_costs_no_money_and_its_penalty_is_reported_apart():
    run = {"id": "big", "total_exaflop": 2.0 * SECONDS_PER_QUARTER, "start": "2026Q2", "end": "2026Q2",
           "mfu": 0.5, "allowed_accelerators": [H100], "min_colocated_accelerators": 10_000,
           "miss_penalty_usd": 1e9}
    s = four_quarters(cloud_offers=[offer("a", 2.0, cap=6000)], demand={"training": [run]})
    p = plan(s)
    assert p.npv_usd == 0.0
    assert p.penalties_usd == {"unmet_inference": 0.0, "missed_training": pytest.approx(1e9 * df(1), rel=1e-12)}
    assert p.objective_usd == pytest.approx(1e9 * df(1), rel=1e-12)



def dearest_usd_per_peak_exaflop_day() -> float:
    """The catalog's dearest cloud price, per EF/s-day of peak BF16 compute (read as data)."""
    cat = load_catalog()
    return max(c.usd_per_gpu_hour * 24 / (cat.accelerators[c.accelerator].bf16_dense_tflops * 1e-6)
               for c in cat.cloud_prices.values() if c.usd_per_gpu_hour and c.accelerator)


def test_default_penalties_are_twice_the_dearest_cloud_price_of_the_effective_compute_lost():
    """Nothing can serve: an inference demand of 1 EF/s (utilisation 0.5, availability 0.8) is short
    both quarters, and a run of 0.5 EF/s-quarters (MFU 0.4, availability 0.9) is missed. Getting an
    effective EF/s-day from the dearest cloud takes 1/(0.5 x 0.8) peak EF/s-days there (1/(0.4 x 0.9)
    for the run); the default penalty is twice that, discounted (the run's at its window's end)."""
    run = {"id": "run", "total_exaflop": 0.5 * SECONDS_PER_QUARTER, "start": "2026Q1", "end": "2026Q2",
           "mfu": 0.4, "availability": 0.9, "allowed_accelerators": [H100]}
    api = {**inference(ef=1.0, util=0.5, allowed=[H100]), "availability": 0.8}
    s = four_quarters(horizon={"start": "2026Q1", "end": "2026Q2"}, demand={"inference": [api], "training": [run]})
    p = plan(s)
    per_day = 2 * dearest_usd_per_peak_exaflop_day()
    assert p.penalties_usd["unmet_inference"] == pytest.approx(
        1.0 * per_day / (0.5 * 0.8) * H / 24 * (df(0) + df(1)), rel=1e-9)
    assert p.penalties_usd["missed_training"] == pytest.approx(0.5 * per_day / (0.4 * 0.9) * H / 24 * df(1), rel=1e-9)
    assert p.npv_usd == 0.0


# --- defect 6: a training run is delivered whole within its window, at any pace ---

def training_case(end: str = "2026Q2") -> dict:
    return {"id": "run", "total_exaflop": 1.0 * SECONDS_PER_QUARTER, "start": "2026Q1", "end": end,
            "mfu": 0.5, "allowed_accelerators": [H100]}


def test_training_runs_when_it_is_cheapest_inside_its_window_and_completes():
    s = four_quarters(
        horizon={"start": "2026Q1", "end": "2026Q3"},
        cloud_offers=[offer("dear", 6.0), {**offer("cheap", 2.0, provider="cloud2"), "available_from": "2026Q2"},
                      {**offer("after", 0.5, provider="cloud2"), "available_from": "2026Q3"}],
        demand={"training": [training_case()]},
    )
    p = plan(s)
    unit_quarters = 1.0 / 0.5 / H100_EF           # the whole run in 2026Q2 on the cheap offer
    assert p.npv_usd == pytest.approx(unit_quarters * 2.0 * H * df(1), rel=1e-9)
    row = p.tables["training"].iloc[0]
    assert row["completes"] and row["completion_period"] == "2026Q2"
    assert row["delivered_exaflop"] == pytest.approx(1.0 * SECONDS_PER_QUARTER, rel=1e-9)
    assert set(p.tables["serve"]["period"]) == {"2026Q2"}


def test_a_run_that_cannot_complete_is_missed_whole_with_its_penalty_at_window_end():
    run = {**training_case(), "miss_penalty_usd": 5e8}
    s = four_quarters(cloud_offers=[offer("small", 2.0, cap=600)], demand={"training": [run]})
    p = plan(s)   # 600 units for two quarters give 60% of the work: worthless
    assert p.npv_usd == 0.0 and p.tables["serve"].empty
    assert p.penalties_usd["missed_training"] == pytest.approx(5e8 * df(1), rel=1e-12)
    assert any("training run run (2026Q1-2026Q2" in e and "not completed" in e for e in p.explanations)


# --- defect 7: explanations and summaries say true things ---

def test_facility_binding_without_lead_time_does_not_blame_lead_time():
    s = scenario(sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "construction_lead_time_quarters": 0,
                         "accelerators": [H100]}],
                 demand={"inference": [inference(ef=1.0, allowed=[H100])]})
    text = " ".join(plan(s).binding)
    assert "lead time" not in text and "construction" not in text


def test_unit_costs_are_absent_not_nan_when_nothing_is_held():
    s = scenario(cloud_offers=[offer("o", 4.0, acc="nvidia_gb200_nvl72")],
                 demand={"inference": [inference(ef=1.0, allowed=[H100])]})
    p = plan(s)
    assert p.unit_costs == {"usd_per_accelerator_hour": None, "usd_per_exaflop_day": None}
    assert all("up to (" not in e for e in p.explanations)


# --- discounting, lives and residual value, by hand ---

def test_owned_fleet_with_discounting_replaces_accelerators_at_end_of_life():
    cat = load_catalog()
    kw = cat.accelerators[H100].it_kw.value * (1 + cat.defaults["fabric_overhead"].value) * 1.2
    s = scenario(
        horizon={"start": "2026Q1", "end": "2027Q2"}, money={"discount_rate": RATE},
        accelerators=[{"id": H100, "unit_price_usd": 30000.0, "price_decline_per_year": 0.0, "life_years": 1}],
        sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "pue": 1.2, "electricity_usd_per_mwh": 50.0,
                "facility_capex_usd_per_it_mw": 12e6, "construction_lead_time_quarters": 0, "accelerators": [H100]}],
        finance={"facility_life_years": 20},
        demand={"inference": [inference(ef=1.0, util=0.5, allowed=[H100])]},
    )
    p = plan(s)
    units = 2.0 / H100_EF
    mw = units * kw / 1000
    it = units * 30000.0 * (df(0) + df(4))                # bought in 2026Q1 and again in 2027Q1
    facility = mw / 1.2 * 12e6
    energy = sum(df(t) * mw * H * 50.0 for t in range(6))
    residual = (units * 30000.0 * 2 / 4 + facility * 74 / 80) * df(6)   # 2 of 4 quarters left; 74 of 80
    assert p.npv_usd == pytest.approx(it + facility + energy - residual, rel=1e-9)
    bought = p.tables["purchases"].set_index("period")["units"]
    assert bought.to_dict() == {"2026Q1": pytest.approx(units), "2027Q1": pytest.approx(units)}


# --- defect 9: one facility capex convention for quote and plan ---

def test_quote_and_plan_charge_the_same_facility_capex_for_one_campus():
    acc = "nvidia_gb200_nvl72"
    q = quote(acc, gw=0.1, pue=1.2)
    capex_line = next(line for line in q.lines if line.name == "facility_capex_usd")
    n = next(line for line in q.lines if line.name == "accelerators").value
    peak = n * cat_tflops(acc) / 1e6
    s = scenario(sites=[{"id": "s", "provider": "self", "max_power_mw": 100, "pue": 1.2,
                         "construction_lead_time_quarters": 0, "accelerators": [acc]}],
                 demand={"inference": [inference(ef=peak * 0.5, util=0.5, allowed=[acc])]})
    spend = plan(s).tables["spend"].iloc[0]
    assert spend["facility_capex_usd"] == pytest.approx(capex_line.value, rel=1e-9)


def cat_tflops(acc: str) -> float:
    return load_catalog().accelerators[acc].bf16_dense_tflops


# --- found by the fuzz suite: edge cases plan() must take without a traceback ---

def test_contract_no_demand_can_use_is_paid_and_plans():
    s = scenario(contracts=[contract(accelerator="nvidia_gb200_nvl72", start="2026Q1")],
                 cloud_offers=[offer("o", 4.0)], demand={"inference": [inference(ef=1.0, allowed=[H100])]})
    p = plan(s)
    assert p.npv_usd == pytest.approx(2e6 + 2.0 / H100_EF * 4.0 * H, rel=1e-9)


def test_many_offers_plan_without_offers_squared_memory():
    offers = [offer(f"o{i}", 4.0 + i / 100, provider="cloud" if i % 2 else "cloud2") for i in range(60)]
    s = scenario(cloud_offers=offers, demand={"inference": [inference(ef=1.0)]})
    assert plan(s).npv_usd == pytest.approx(2.0 / H100_EF * 4.0 * H, rel=1e-9)


def test_accelerators_cannot_be_bought_before_they_ship():
    rubin = "nvidia_vera_rubin_nvl72"     # fact base: volume shipments 2026-H2
    s = four_quarters(sites=[{"id": "s", "provider": "self", "max_power_mw": 1000,
                              "construction_lead_time_quarters": 0, "accelerators": [rubin]}],
                      demand={"inference": [inference(ef=1.0, allowed=[rubin])]})
    p = plan(s)
    assert set(p.tables["purchases"]["period"]) == {"2026Q3"}
    assert set(p.tables["unmet"]["period"]) == {"2026Q1", "2026Q2"}
    assert any("ships in volume only from 2026Q3" in e for e in p.explanations)
