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


def test_claims_disagree_when_any_part_differs():
    """Each claim needs all its parts: a Stargate of 9 GW, or an Oracle deal of 4 years, disagrees."""
    from gigawatt.economics.deals import _check_claims

    r = deals_report()
    by_id = {d.id: d for d in r.deals}

    def checks(**changed: dict) -> dict[str, bool]:
        views = {k: v.model_copy(update=changed.get(k, {})) for k, v in by_id.items()}
        return {c.id: c.agrees for c in _check_claims(views, r.tallies)}

    assert all(checks().values())
    assert not checks(stargate={"capacity_gw": 9.0})["stargate_500b_10gw"]
    assert not checks(stargate={"amount_usd": 400e9})["stargate_500b_10gw"]
    assert not checks(oracle_openai={"duration_years": 4.0})["oracle_300b_5y_2027"]
    assert not checks(oracle_openai={"amount_usd": 250e9})["oracle_300b_5y_2027"]
    assert not checks(oracle_openai={"start": "2028"})["oracle_300b_5y_2027"]
    # the $50-60B claim holds at both ends of its range, and not outside it
    ends = {k: {"usd_per_gw": None} for k, v in by_id.items() if v.usd_per_gw}
    assert checks(**{**ends, "stargate": {"usd_per_gw": 50e9}})["usd_50_60b_per_gw"]
    assert checks(**{**ends, "stargate": {"usd_per_gw": 60e9}})["usd_50_60b_per_gw"]
    assert not checks(**{**ends, "stargate": {"usd_per_gw": 61e9}})["usd_50_60b_per_gw"]
    assert "Bernstein's bottom-up GB200 figure is $35B/GW" in _check_claims(by_id, r.tallies)[1].catalog_says


def test_nearly_1000b_claim_bounds():
    """'Nearly $1,000B' agrees when either total lies in 0.8-1.2 trillion, ends included."""
    from gigawatt.economics.deals import _check_claims

    r = deals_report()
    by_id = {d.id: d for d in r.deals}

    def agrees(net: float, gross25: float) -> bool:
        t = {**r.tallies, "usd_excluding_superseded_and_overlap": net, "usd_announced_in_2025_gross": gross25}
        return _check_claims(by_id, t)[0].agrees

    assert agrees(0.8e12, 0.0) and agrees(1.2e12, 0.0)
    assert agrees(0.0, 0.8e12) and agrees(0.0, 1.2e12)
    assert not agrees(0.79e12, 1.21e12)
