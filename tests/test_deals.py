from __future__ import annotations

import pytest

from gigawatt.economics.deals import deals_report, status_class


def test_oracle_implied_per_gw_year_and_hour():
    r = deals_report()
    oracle = next(d for d in r.deals if d.id == "oracle_openai")
    assert oracle.usd_per_gw_year == pytest.approx(300e9 / 4.5 / 5)
    expected = 300e9 / 5 / (4.5 * r.accelerators_per_gw * 8760)
    assert oracle.implied_usd_per_accelerator_hour == pytest.approx(expected)
    assert 2.5 < expected < 4.5  # the fact base's own estimate is 3.4-3.8 at 400-450k GPUs/GW


def test_totals_remove_superseded_and_overlap():
    r = deals_report()
    t = r.tallies
    assert t["usd_excluding_superseded"] == t["usd_all_commitments_gross"] - 100e9
    assert t["usd_excluding_superseded_and_overlap"] == t["usd_excluding_superseded"] - 300e9
    assert r.total_commitments_usd == t["usd_excluding_superseded_and_overlap"]
    assert r.total_capacity_gw == pytest.approx(10 + 6 + 10 + 0.75)


def test_claims_each_checked():
    r = deals_report()
    assert {c.id for c in r.claims} == {"nearly_1000b", "usd_50_60b_per_gw", "stargate_500b_10gw", "oracle_300b_5y_2027"}
    stargate = next(c for c in r.claims if c.id == "stargate_500b_10gw")
    assert stargate.agrees and "$50B/GW" in stargate.catalog_says


@pytest.mark.parametrize("text,expected", [
    ("superseded (LOI never finalized)", "superseded"),
    ("loi (signed term sheet)", "letter of intent"),
    ("confirmed", "confirmed"),
    ("reported", "reported"),
])
def test_status_class(text, expected):
    assert status_class(text) == expected


def test_totals_by_hand():
    """Disclosed amounts (USD B): Stargate 500, Oracle 300 (inside Stargate), NVIDIA LOI 100
    (superseded), Microsoft 250, AWS 38, CoreWeave 22.4, Cerebras 20 (announced 2026)."""
    t = deals_report().tallies
    assert t["usd_all_commitments_gross"] == pytest.approx(1230.4e9, rel=1e-12)
    assert t["usd_announced_in_2025_gross"] == pytest.approx(1210.4e9, rel=1e-12)
    assert t["usd_excluding_superseded"] == pytest.approx(1130.4e9, rel=1e-12)
    assert t["usd_excluding_superseded_and_overlap"] == pytest.approx(830.4e9, rel=1e-12)
    # GW: Stargate 10, Oracle 4.5, NVIDIA 10, AMD 6, Broadcom 10, Cerebras 0.75
    assert t["gw_all_commitments_gross"] == pytest.approx(41.25, rel=1e-12)
    assert t["gw_excluding_superseded"] == pytest.approx(31.25, rel=1e-12)
    assert t["gw_excluding_superseded_and_overlap"] == pytest.approx(26.75, rel=1e-12)


def test_equity_round_and_aggregate_statement_are_not_commitments():
    """The Feb 2026 round (110B of equity) and Altman's 1.4T statement buy no compute."""
    r = deals_report()
    by_id = {d.id: d for d in r.deals}
    assert not by_id["openai_feb_2026_round"].is_commitment
    assert not by_id["openai_aggregate_commitments"].is_commitment
    assert [d.id for d in r.deals if not d.is_commitment] == ["openai_aggregate_commitments",
                                                              "openai_feb_2026_round"]
    # counted, the round would add 110B to the totals and the aggregate 1,400B and 30 GW
    assert r.total_commitments_usd == pytest.approx(830.4e9, rel=1e-12)
    assert r.total_capacity_gw == pytest.approx(26.75, rel=1e-12)


def test_per_gw_views_by_hand():
    by_id = {d.id: d for d in deals_report().deals}
    assert by_id["stargate"].usd_per_gw == pytest.approx(50e9, rel=1e-12)
    assert by_id["stargate"].usd_per_gw_year == pytest.approx(50e9 / 4, rel=1e-12)
    assert by_id["stargate"].implied_usd_per_accelerator_hour is None       # not a cloud deal
    assert by_id["cerebras_openai"].usd_per_gw == pytest.approx(20e9 / 0.75, rel=1e-12)
    assert by_id["cerebras_openai"].usd_per_gw_year == pytest.approx(20e9 / 0.75 / 3, rel=1e-12)
    assert by_id["aws_openai"].usd_per_gw is None                           # no capacity disclosed
    assert by_id["oracle_openai"].part_of == "stargate"
    assert by_id["nvidia_openai_loi"].status_class == "superseded"


def test_accelerators_per_gw_is_the_gb200_quote():
    """1 GW of facility power / (1.67 kW x 1.075 fabric x 1.15 PUE) GB200 accelerators."""
    assert deals_report().accelerators_per_gw == pytest.approx(1e6 / (1.67 * 1.075 * 1.15), rel=1e-12)


def test_claims_agree_with_the_catalog_by_hand():
    claims = {c.id: c for c in deals_report().claims}
    assert claims["nearly_1000b"].agrees and "$1,210B gross" in claims["nearly_1000b"].catalog_says
    assert "$830B" in claims["nearly_1000b"].catalog_says
    assert claims["usd_50_60b_per_gw"].agrees and "stargate $50B/GW" in claims["usd_50_60b_per_gw"].catalog_says
    oracle = claims["oracle_300b_5y_2027"]
    assert oracle.agrees and "$13B per GW-year" in oracle.catalog_says
