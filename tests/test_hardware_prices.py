"""The installed-price rule (economics.hardware_prices), on its own and inside quote and plan."""

from __future__ import annotations

import pandas as pd
import pytest
from plan_helpers import inference, scenario

from gigawatt.economics.hardware_prices import (
    FixedPrice,
    PriceCurve,
    installed_price_table,
    installed_usd,
    installed_usd_path,
    scenario_curves,
)
from gigawatt.economics.owned_cost import owned_cost
from gigawatt.periods import HOURS_PER_QUARTER, parse_quarter
from gigawatt.plan import plan
from gigawatt.plan.inputs import build_inputs

Q = parse_quarter
RUBIN = "nvidia_vera_rubin_nvl72"
RUBIN_USD = 126344.75            # catalog installed price, from 2026Q3


def test_price_holds_before_its_date_and_declines_after():
    c = PriceCurve(launch_usd=100_000.0, price_from=Q("2026Q3"), decline_per_year=0.2)
    assert installed_usd(c, Q("2025Q1")) == 100_000.0          # before launch: the launch price
    assert installed_usd(c, Q("2026Q3")) == 100_000.0
    assert installed_usd(c, Q("2026Q4")) == pytest.approx(100_000 * 0.8 ** 0.25, rel=1e-12)
    assert installed_usd(c, Q("2027Q3")) == pytest.approx(80_000.0, rel=1e-12)
    assert installed_usd(c, Q("2028Q1")) == pytest.approx(71_554.1753, rel=1e-9)  # 1e5 x 0.8^1.5
    path = installed_usd_path(c, [Q("2026Q2"), Q("2027Q3"), Q("2028Q3")])
    assert path.tolist() == pytest.approx([100_000.0, 80_000.0, 64_000.0], rel=1e-12)


def test_deal_price_is_flat_in_its_window_and_lowest_wins_where_windows_overlap():
    c = PriceCurve(100_000.0, Q("2026Q1"), 0.5,
                   (FixedPrice(Q("2027Q1"), Q("2027Q4"), 90_000.0), FixedPrice(Q("2027Q3"), Q("2028Q2"), 95_000.0)))
    assert installed_usd(c, Q("2026Q4")) == pytest.approx(100_000 * 0.5 ** 0.75, rel=1e-12)
    assert installed_usd(c, Q("2027Q1")) == 90_000.0           # the deal, not the falling list
    assert installed_usd(c, Q("2027Q4")) == 90_000.0           # both deals: the lower
    assert installed_usd(c, Q("2028Q2")) == 95_000.0
    assert installed_usd(c, Q("2028Q3")) == pytest.approx(100_000 * 0.5 ** 2.5, rel=1e-12)


def test_scenario_overrides_keep_their_documented_meaning():
    s = scenario(
        horizon={"start": "2027Q1", "end": "2028Q4"},
        accelerators=[
            {"id": RUBIN, "unit_price_usd": 100_000.0, "price_decline_per_year": 0.2},  # at 2026Q3
            {"id": "custom", "bf16_dense_tflops": 1000, "it_kw": 1.0, "unit_price_usd": 10_000.0},
            {"id": "nvidia_gb200_nvl72", "price_decline_per_year": 0.1},
        ],
        chip_deals=[{"id": "d", "vendor": "AMD", "accelerator": "amd_mi450_helios", "units_per_quarter": 10,
                     "start": "2027Q2", "end": "2027Q3", "unit_price_usd": 80_000.0}],
    )
    curves = scenario_curves(s)
    # accelerators[].unit_price_usd: installed price at the model's catalog price date (2026Q3)
    assert curves[RUBIN] == PriceCurve(100_000.0, Q("2026Q3"), 0.2)
    # a model the catalog lacks is priced from the horizon's start, at the catalog's default decline (0)
    assert curves["custom"] == PriceCurve(10_000.0, Q("2027Q1"), 0.0)
    # price_decline_per_year alone keeps the catalog price and date
    assert curves["nvidia_gb200_nvl72"] == PriceCurve(47222.0, Q("2025Q4"), 0.1)
    table = installed_price_table(s, [RUBIN, "amd_mi450_helios", "google_tpu_v6e"],
                                  [Q("2027Q1"), Q("2027Q2"), Q("2027Q4")])
    assert table[0].tolist() == pytest.approx([100_000 * 0.8 ** 0.5, 100_000 * 0.8 ** 0.75, 100_000 * 0.8 ** 1.25])
    assert table[1].tolist() == [RUBIN_USD, 80_000.0, RUBIN_USD]   # deal window 2027Q2-2027Q3
    assert table[2].tolist() == [0.0, 0.0, 0.0]                    # rent-only: nothing to buy


def test_planner_charges_the_same_prices_as_the_rule():
    site = {"id": "s", "provider": "self", "max_power_mw": 100, "accelerators": [RUBIN]}
    s = scenario(horizon={"start": "2026Q1", "end": "2029Q4"}, sites=[site],
                 accelerators=[{"id": RUBIN, "price_decline_per_year": 0.25}])
    p = build_inputs(s)
    price = p.acc_price.sel(acc=RUBIN).to_series()
    assert price["2026Q1"] == RUBIN_USD and price["2026Q3"] == RUBIN_USD   # held until launch
    assert price["2028Q3"] == pytest.approx(RUBIN_USD * 0.75 ** 2, rel=1e-12)
    # without an override the catalog holds every model's price (decline 0): no 2025-based cut
    flat = build_inputs(scenario(horizon={"start": "2025Q1", "end": "2029Q4"}, sites=[site])).acc_price
    assert float(flat.sel(acc=RUBIN, period="2028Q3")) == RUBIN_USD


def test_owned_plan_with_discounting_and_a_declining_price_by_hand():
    """Demand appears in 2027Q4 only; the plan buys then, at the price the rule gives then."""
    rate, decline = 0.10, 0.20
    s = scenario(
        horizon={"start": "2027Q1", "end": "2027Q4"},
        money={"discount_rate": rate},
        accelerators=[{"id": RUBIN, "price_decline_per_year": decline}],
        sites=[{"id": "s", "provider": "self", "max_power_mw": 1000, "pue": 1.2,
                "electricity_usd_per_mwh": 50.0, "facility_capex_usd_per_it_mw": 12e6,
                "construction_lead_time_quarters": 0, "accelerators": [RUBIN]}],
        finance={"it_life_years": 5, "facility_life_years": 20},
        demand={"inference": [inference(ef=10.0, util=0.5, start="2027Q4", allowed=[RUBIN])]},
    )
    result = plan(s)
    units = 10.0 / 0.5 / 4000e-6                       # 5,000 Vera Rubin GPUs
    unit_price = RUBIN_USD * (1 - decline) ** 1.25     # bought 2027Q4, 5 quarters after 2026Q3
    mw = units * 2.92 * 1.075 * 1.2 / 1000
    it, facility = units * unit_price, mw / 1.2 * 12e6  # capex per IT MW = facility MW / PUE
    energy = mw * HOURS_PER_QUARTER * 50.0
    df_q4, df_end = 1.1 ** -0.75, 1.1 ** -1.0          # 2027Q4 and the horizon's end
    residual = (it * 19 / 20 + facility * 79 / 80) * df_end
    bought = result.tables["purchases"]
    assert bought["period"].tolist() == ["2027Q4"]
    assert bought["usd"].iloc[0] == pytest.approx(it, rel=1e-6)
    spend = result.tables["spend"].iloc[0]
    assert spend["it_capex_usd"] == pytest.approx(it, rel=1e-6)
    assert result.npv_usd == pytest.approx((it + facility + energy) * df_q4 - residual, rel=1e-6)


def test_owned_cost_per_gw_by_hand():
    purchases = pd.DataFrame({"acc": ["a", "b"], "units": [1000.0, 500.0]})
    builds = pd.DataFrame({"mw_started": [2.0, 1.5]})
    spend = pd.DataFrame({"it_capex_usd": [60e6, 40e6], "facility_capex_usd": [30e6, 5e6]})
    c = owned_cost(purchases, builds, spend, it_kw={"a": 2.0, "b": 1.0})
    assert c.chip_it_gw == pytest.approx(2.5e-3)       # 1000 x 2 kW + 500 x 1 kW
    assert c.facility_gw == pytest.approx(3.5e-3)
    assert c.usd_per_gw_chip_it == pytest.approx(135e6 / 2.5e-3)
    assert c.usd_per_gw_facility == pytest.approx(135e6 / 3.5e-3)


def test_example_cost_per_gw_validates_against_stargate():
    """openai-2025's owned all-in capex per GW of facility power, against Stargate's ratio.

    Published figure used: Stargate, $500B for 10 GW = $50B per GW (OpenAI, 2025-01-21;
    economics.derived_capex_per_gw_stargate_ratios). It fitted no catalog price (the Rubin-era
    price comes from Nvidia's $35B-per-GW content, the GB200 one from Bernstein). Before the
    installed prices this example came out at $21.8B per facility GW ($27.4B per GW of chip IT).
    """
    from pathlib import Path

    from gigawatt.scenario import load_scenario

    example = Path(__file__).parents[1] / "examples" / "openai-2025.yaml"
    t = plan(load_scenario(example)).tables
    c = owned_cost(t["purchases"], t["builds"], t["spend"])
    assert abs(c.usd_per_gw_facility / 50e9 - 1) <= 0.20


def test_owned_cost_command_reads_a_saved_plan(tmp_path, capsys):
    from gigawatt.economics.owned_cost import main

    pd.DataFrame({"site": ["s"], "acc": ["nvidia_gb200_nvl72"], "period": ["2026Q1"], "units": [1000.0],
                  "usd": [47.222e6]}).to_csv(tmp_path / "purchases.csv", index=False)
    pd.DataFrame({"site": ["s"], "period": ["2026Q1"], "mw_started": [2.0]}).to_csv(tmp_path / "builds.csv", index=False)
    pd.DataFrame({"year": [2026], "facility_capex_usd": [20e6], "it_capex_usd": [47.222e6]}).to_csv(
        tmp_path / "spend.csv", index=False)
    assert main([str(tmp_path)]) == 0
    # (47.222M + 20M) / (1000 x 1.67 kW) and / 2 MW
    assert capsys.readouterr().out.strip() == (
        "owned all-in capex $40.3B per GW of chip IT power (0.00 GW), $33.6B per GW of facility power "
        "(0.00 GW); IT $0.0B + facility $0.0B")
    assert main([str(tmp_path / "missing")]) == 2
    assert main([]) == 2


def test_price_curves_are_values():
    """Curves are shared between quote and plan: nobody may change one in place."""
    from dataclasses import FrozenInstanceError

    c = PriceCurve(1.0, 0, 0.0, (FixedPrice(0, 1, 1.0),))
    with pytest.raises(FrozenInstanceError):
        c.launch_usd = 2.0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        c.fixed[0].usd = 2.0  # type: ignore[misc]


def test_owned_cost_of_a_plan_that_buys_nothing_is_not_a_number():
    empty = pd.DataFrame({"acc": [], "units": []})
    c = owned_cost(empty, pd.DataFrame({"mw_started": []}),
                   pd.DataFrame({"it_capex_usd": [0.0], "facility_capex_usd": [0.0]}))
    assert c.chip_it_gw == 0.0 and c.facility_gw == 0.0
    assert c.usd_per_gw_chip_it != c.usd_per_gw_chip_it and c.usd_per_gw_facility != c.usd_per_gw_facility  # NaN


def test_owned_cost_runs_as_a_module(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "gigawatt.economics.owned_cost", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "give a directory written by `gigawatt plan --out`" in r.stdout
