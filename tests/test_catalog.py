from __future__ import annotations

import pytest

from gigawatt.catalog import load_catalog
from gigawatt.errors import CatalogError
from gigawatt.periods import parse_quarter


def test_fourteen_accelerators_with_sources():
    cat = load_catalog()
    assert len(cat.accelerators) == 14
    for acc in cat.accelerators.values():
        assert acc.source.strip(), acc.id
        assert acc.confidence in {"high", "medium", "low"}
        for derived in (acc.it_kw, acc.unit_price_usd):
            if derived is not None:
                assert derived.source.strip() and derived.confidence in {"high", "medium", "low"}


def test_every_entry_has_a_source():
    cat = load_catalog()
    for row in cat.economics.values():
        assert str(row.get("source", "")).strip(), row["id"]
    for p in cat.cloud_prices.values():
        assert p.source.strip(), p.id
    for d in cat.deals.values():
        assert d.source.strip(), d.id
    for name, value in cat.defaults.items():
        assert value.source.strip(), name
    for name, row in cat.reliability.items():
        assert str(row.get("source", "")).strip(), name


def test_cloud_price_ids_unique_and_mapped():
    cat = load_catalog()
    mapped = [p for p in cat.cloud_prices.values() if p.accelerator]
    assert all(p.accelerator in cat.accelerators for p in mapped)
    assert len(cat.cloud_prices) == 41


def test_unknown_accelerator_suggests():
    with pytest.raises(CatalogError, match="did you mean 'nvidia_h100_sxm'"):
        load_catalog().accelerator("nvidia_h100_sx")


def test_gb200_price_is_bernstein_per_gpu():
    acc = load_catalog().accelerator("nvidia_gb200_nvl72")
    assert acc.unit_price_usd is not None
    assert acc.unit_price_usd.value == pytest.approx(3.4e6 / 72, rel=1e-3)


def test_every_buyable_accelerator_has_a_dated_installed_price():
    cat = load_catalog()
    buyable = [a for a in cat.accelerators.values() if a.unit_price_usd is not None]
    assert {a.id for a in buyable} == {
        "nvidia_h100_sxm", "nvidia_h200_sxm", "nvidia_b200_hgx", "nvidia_gb200_nvl72",
        "nvidia_gb300_nvl72", "nvidia_vera_rubin_nvl72", "amd_mi300x", "amd_mi325x",
        "amd_mi355x", "amd_mi450_helios",
    }
    for a in buyable:
        price = a.unit_price_usd
        assert price is not None and price.value > 0
        assert price.includes.strip() and price.as_of.strip() and price.source.strip(), a.id
        parse_quarter(price.price_from)  # a real quarter
        assert a.price_decline_per_year is not None and 0 <= a.price_decline_per_year.value < 1
        if price.confidence != "low" or not price.source.startswith("assumption"):
            assert price.url or "economics." in price.source, a.id  # where to check it


def test_installed_prices_are_sourced_figures():
    """Installed USD per accelerator, each from the arithmetic its source names."""
    acc = load_catalog().accelerator
    network_share = (412_900 - 310_000) / 8  # H100 cluster BoM: switches and cables per GPU
    assert acc("nvidia_h100_sxm").unit_price_usd.value == 412_900 / 8
    assert acc("nvidia_h200_sxm").unit_price_usd.value == pytest.approx(412_900 / 8 * 7.91 / 6.88, abs=0.01)
    assert acc("nvidia_b200_hgx").unit_price_usd.value == 515_000 / 8 + network_share
    assert acc("nvidia_gb300_nvl72").unit_price_usd.value == pytest.approx((3.4e6 - 2.5e6 + 3.5e6) / 72, abs=0.01)
    rubin = 35e9 * 2.92 * 1.075 * 1.15 / 1e6  # 35B per GW / GPUs per GW of facility power
    assert acc("nvidia_vera_rubin_nvl72").unit_price_usd.value == pytest.approx(rubin, abs=0.01)


def test_a_deployed_h100_costs_about_twice_the_old_bare_chip_figure():
    """The old catalog charged 18,680 USD, a bare chip derived from a GB200 rack price."""
    h100 = load_catalog().accelerator("nvidia_h100_sxm").unit_price_usd
    assert h100 is not None and 2.0 <= h100.value / 18_680 <= 3.0
    assert "InfiniBand" in h100.includes
