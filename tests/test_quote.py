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
    it = n * 51612.5  # installed H100 (tech-talk-cto cluster BoM, Aug 2024); was a bare 18,680
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


def test_gb200_gw_campus_all_in_owned_cost_by_hand():
    """1 GW (facility power) of GB200 NVL72, every figure typed in from the catalog by hand."""
    q = quote("nvidia_gb200_nvl72", 1.0)
    kw_all_in = 1.67 * 1.075 * 1.15         # it_kw x (1 + fabric) x PUE
    n = 1e6 / kw_all_in                     # 484,381 accelerators
    it = n * 47222                          # installed USD per GPU: Bernstein 3.4M / 72
    facility = 1000 / 1.15 * 12_694_500     # MW of IT load x (Cushman 11.7M x 1.085)
    assert q.value("accelerators") == pytest.approx(n, rel=1e-12)
    assert q.value("it_capex_usd") == pytest.approx(it, rel=1e-12)
    assert q.value("facility_capex_usd") == pytest.approx(facility, rel=1e-12)
    assert q.value("capex_usd_per_gw") == pytest.approx(it + facility, rel=1e-12)  # ~$33.9B
    # yearly cost at the catalog's 8% over 5.75 (IT) and 17.5 (facility) years, energy at 97.7
    crf_it = 0.08 / (1 - 1.08 ** -5.75)
    crf_fac = 0.08 / (1 - 1.08 ** -17.5)
    energy = 1000 * 8760 * 97.7
    per_hour = (it * crf_it + facility * crf_fac + energy) / (n * 8760)
    assert q.value("usd_per_accelerator_hour") == pytest.approx(per_hour, rel=1e-12)


def test_gb200_gw_cost_validates_against_altman():
    """Validation against a published figure that fitted no price in the catalog.

    Sam Altman (Reuters, 2025-10-28): "more than $40B per GW" of capital cost today
    (economics.capex_per_gw_altman_2025), said of the GB200/GB300 builds of 2025. The GB200
    price comes from Bernstein's rack bill and the facility cost from Cushman & Wakefield, so
    this figure is independent of both. The quote must land within 20% of it.
    """
    q = quote("nvidia_gb200_nvl72", 1.0)
    altman = load_catalog().economics["capex_per_gw_altman_2025"]["value_low"]
    assert altman == 40e9
    assert abs(q.value("capex_usd_per_gw") / altman - 1) <= 0.20


def test_installed_h100_price_agrees_with_semianalysis_server_price():
    """Cross-check of the installed H100 price with a source that did not set it.

    SemiAnalysis (May 2023) put a DGX H100 at ~270k USD (33,750 per GPU); with the cluster's
    scale-out fabric (12,862.5 per GPU, the catalog's network share) that is 46,612.5, within
    15% of the catalog's installed 51,612.5 (an Aug 2024 cluster bill of materials).
    """
    price = load_catalog().accelerator("nvidia_h100_sxm").unit_price_usd
    assert price is not None
    assert abs(price.value / (270_000 / 8 + 12_862.5) - 1) <= 0.15


def test_quote_bought_later_follows_the_price_rule():
    """A unit bought after its price date is charged the hardware_prices curve, not the list."""
    q0 = quote("nvidia_vera_rubin_nvl72", 1.0)
    q1 = quote("nvidia_vera_rubin_nvl72", 1.0, bought="2028Q3")
    q_early = quote("nvidia_vera_rubin_nvl72", 1.0, bought="2025Q1")
    # the catalog holds model prices after launch (decline 0): same price two years on
    assert q1.inputs["unit_price_usd"].value == q0.inputs["unit_price_usd"].value == 126344.75
    assert q_early.inputs["unit_price_usd"].value == 126344.75
    assert "bought in 2028Q3" in q1.inputs["unit_price_usd"].source


def test_quote_bad_bought_quarter_is_one_clear_error():
    with pytest.raises(CatalogError, match="--bought: '2028X' is not a quarter"):
        quote("nvidia_gb200_nvl72", 1.0, bought="2028X")


def test_rent_only_accelerator_is_refused():
    with pytest.raises(CatalogError, match="rent-only.*pick one of nvidia_h100_sxm, nvidia_h200_sxm"):
        quote("google_tpu_v6e")
    with pytest.raises(CatalogError, match="rent-only"):  # has a power figure but no price
        quote("google_tpu7x_ironwood")


@pytest.mark.parametrize("kwargs,message", [
    ({"gw": 0.0}, r"--gw 0 is out of range; give a number in \(0, 1000\]"),
    ({"gw": -1.0}, "--gw -1 is out of range"),
    ({"load_factor": 0.0}, r"--load-factor 0 is out of range; give a number in \(0, 1\]"),
    ({"load_factor": 1.01}, "--load-factor 1.01 is out of range"),
])
def test_bad_quote_inputs_are_one_clear_error(kwargs, message):
    with pytest.raises(CatalogError, match=message):
        quote("nvidia_gb200_nvl72", **kwargs)


def test_half_load_two_gw_by_hand():
    """Energy and the hourly cost scale with the load factor; benchmarks are per GW."""
    q = quote("nvidia_gb200_nvl72", 2.0, load_factor=0.5, discount_rate=0.1, it_life_years=5)
    n = 2e6 / (1.67 * 1.075 * 1.15)
    it, facility = n * 47222, 2000 / 1.15 * 12_694_500
    energy = 2000 * 0.5 * 8760 * 97.7
    yearly = it * 0.1 / (1 - 1.1 ** -5) + facility * capital_recovery_factor(0.1, 17.5) + energy
    assert q.value("energy_usd_per_year") == pytest.approx(energy, rel=1e-12)
    assert q.value("usd_per_accelerator_hour") == pytest.approx(yearly / (n * 8760 * 0.5), rel=1e-12)
    assert q.value("capex_usd_per_gw") == pytest.approx((it + facility) / 2, rel=1e-12)
    bernstein = next(b for b in q.benchmarks if b.id == "capex_per_gw_bernstein_gb200")
    assert bernstein.ratio_to_quote == pytest.approx((it + facility) / 2 / 35e9, rel=1e-12)


def test_benchmarks_are_the_catalogs_per_gw_estimates():
    b = {x.id: x for x in quote("nvidia_gb200_nvl72").benchmarks}
    assert set(b) == {"capex_per_gw_nvidia_huang_2025", "capex_per_gw_bernstein_gb200", "capex_per_gw_altman_2025",
                      "capex_per_gw_industry_reuters", "capex_per_gw_huang_2026"}
    assert (b["capex_per_gw_altman_2025"].low_usd_per_gw, b["capex_per_gw_altman_2025"].high_usd_per_gw) == (40e9, 40e9)
    assert (b["capex_per_gw_huang_2026"].low_usd_per_gw, b["capex_per_gw_huang_2026"].high_usd_per_gw) == (80e9, 100e9)


def test_every_input_has_a_source():
    q = quote("nvidia_gb300_nvl72")
    for line in q.lines:
        for name in line.inputs:
            assert q.inputs[name].source


def test_finance_helpers_by_hand():
    from gigawatt.economics.finance import accelerators_in_mw, usd_per_exaflop_day

    assert capital_recovery_factor(0.0, 4.0) == 0.25                      # no interest: straight line
    assert capital_recovery_factor(0.1, 2.0) == pytest.approx(0.1 / (1 - 1.1 ** -2), rel=1e-12)  # 0.57619
    assert capital_recovery_factor(0.1, 2.0) == pytest.approx(0.576190476, rel=1e-9)
    assert capital_recovery_factor(0.1, 0.5) == pytest.approx(0.1 / (1 - 1.1 ** -0.5), rel=1e-12)  # half a year
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="years must be positive"):
            capital_recovery_factor(0.1, bad)
    # 10 MW of facility power at 2 kW IT, 7.5% fabric, PUE 1.2: 10,000 / 2.58 accelerators
    assert accelerators_in_mw(10.0, 2.0, 0.075, 1.2) == pytest.approx(10_000 / 2.58, rel=1e-12)
    # 2 USD/h on a 1,000 TFLOP/s part: 1,000 parts per EF/s, 24 h -> 48,000 USD per EF/s-day
    assert usd_per_exaflop_day(2.0, 1000.0) == pytest.approx(48_000.0, rel=1e-12)


def test_each_line_lists_exactly_the_inputs_it_depends_on(monkeypatch):
    """Raise one input by 10% at a time: the lines that move are the lines naming it."""
    import gigawatt.economics.quote as quote_module

    base_cat = load_catalog()
    acc_id = "nvidia_gb200_nvl72"
    base = quote(acc_id, 1.0)

    def bumped(name: str):
        acc = base_cat.accelerators[acc_id]
        defaults = dict(base_cat.defaults)
        if name == "it_kw_per_accelerator":
            acc = acc.model_copy(update={"it_kw": acc.it_kw.model_copy(update={"value": acc.it_kw.value * 1.1})})
        elif name == "unit_price_usd":
            p = acc.unit_price_usd
            acc = acc.model_copy(update={"unit_price_usd": p.model_copy(update={"value": p.value * 1.1})})
        elif name == "bf16_dense_tflops":
            acc = acc.model_copy(update={"bf16_dense_tflops": acc.bf16_dense_tflops * 1.1})
        else:
            defaults[name] = defaults[name].model_copy(update={"value": defaults[name].value * 1.1})
        cat = base_cat.model_copy(update={"defaults": defaults,
                                          "accelerators": {**base_cat.accelerators, acc_id: acc}})
        monkeypatch.setattr(quote_module, "load_catalog", lambda: cat)
        try:
            return quote(acc_id, 1.0)
        finally:
            monkeypatch.setattr(quote_module, "load_catalog", load_catalog)

    for name in base.inputs:
        q = bumped(name)
        moved = {ln.name for ln, b in zip(q.lines, base.lines, strict=True) if ln.value != pytest.approx(b.value, rel=1e-12)}
        listed = {ln.name for ln in base.lines if name in ln.inputs}
        assert moved == listed, name
