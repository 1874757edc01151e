from __future__ import annotations

import pytest

from gigawatt.catalog import load_catalog
from gigawatt.economics.finance import capital_recovery_factor
from gigawatt.economics.quote import quote
from gigawatt.errors import CatalogError


def test_gb200_gw_within_20pct_of_bernstein():
    q = quote("nvidia_gb200_nvl72", 1.0)
    bernstein = load_catalog().economics["capex_per_gw_bernstein_gb200"]["value"]
    assert abs(q.value("capex_usd_per_gw") / bernstein - 1) <= 0.20
    ids = {b.id for b in q.benchmarks}
    assert {"capex_per_gw_bernstein_gb200", "capex_per_gw_nvidia_huang_2025"} <= ids
    huang = next(b for b in q.benchmarks if b.id == "capex_per_gw_nvidia_huang_2025")
    assert huang.low_usd_per_gw == 50e9 and huang.high_usd_per_gw == 60e9
    assert huang.ratio_to_quote == pytest.approx(q.value("capex_usd_per_gw") / 55e9)


def test_quote_matches_hand_computation():
    q = quote("nvidia_h100_sxm", 2.0, pue=1.25, electricity_usd_per_mwh=50.0,
              facility_capex_usd_per_mw=10e6, discount_rate=0.1, it_life_years=5)
    kw = 1.28 * 1.075 * 1.25
    n = 2e6 / kw
    facility = 2000 / 1.25 * 10e6
    it = n * 18680
    energy = 2000 * 8760 * 50.0
    assert q.value("accelerators") == pytest.approx(n)
    assert q.value("facility_capex_usd") == pytest.approx(facility)
    assert q.value("it_capex_usd") == pytest.approx(it)
    assert q.value("total_capex_usd") == pytest.approx(facility + it)
    assert q.value("capex_usd_per_gw") == pytest.approx((facility + it) / 2)
    assert q.value("energy_usd_per_year") == pytest.approx(energy)
    crf_it = 0.1 / (1 - 1.1 ** -5)
    crf_fac = capital_recovery_factor(0.1, 17.5)
    per_hour = (it * crf_it + facility * crf_fac + energy) / (n * 8760)
    assert q.value("usd_per_accelerator_hour") == pytest.approx(per_hour)
    assert q.value("usd_per_exaflop_day") == pytest.approx(per_hour * 24 * 1e6 / 989)
    assert q.inputs["pue"].source.startswith("given")


def test_rent_only_accelerator_is_refused():
    with pytest.raises(CatalogError, match="rent-only"):
        quote("google_tpu_v6e")


def test_every_input_has_a_source():
    q = quote("nvidia_gb300_nvl72")
    for line in q.lines:
        for name in line.inputs:
            assert q.inputs[name].source
