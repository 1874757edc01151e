from __future__ import annotations

import pytest

from gigawatt.catalog import load_catalog
from gigawatt.errors import CatalogError


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
