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
