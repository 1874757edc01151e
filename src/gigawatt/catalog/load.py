"""Load the shipped catalog: the fact base plus gigawatt's derived planning values."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from gigawatt.errors import CatalogError


class Sourced(BaseModel):
    """A number with where it comes from."""

    model_config = ConfigDict(frozen=True)
    value: float
    source: str
    confidence: str


class InstalledPrice(Sourced):
    """Installed USD per accelerator: its share of everything IT a buyer pays to run it.

    `includes` says what the figure covers (server or rack, scale-out network, storage);
    facility (shell, power, cooling) is never in it: it is charged per MW. The price holds
    until `price_from` (the model's launch or the quote's date, whichever is later) and
    declines after it at the model's `price_decline_per_year`.
    """

    price_from: str
    includes: str
    as_of: str
    url: str | None = None


class Accelerator(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    vendor: str
    name: str
    status: str
    bf16_dense_tflops: float
    hbm_gb: float | None = None
    hbm_bw_tbps: float | None = None
    tdp_w: float | None = None
    scale_up_domain: int | None = None
    confidence: str
    source: str
    it_kw: Sourced | None = None
    unit_price_usd: InstalledPrice | None = None
    price_decline_per_year: Sourced | None = None
    volume_shipments: str | None = None

    @property
    def rent_only(self) -> bool:
        return self.unit_price_usd is None or self.it_kw is None

    @property
    def ships_from(self) -> int | None:
        """First quarter (absolute, as periods.parse_quarter) it ships in volume, from the fact base's
        `volume_shipments` ("2024 (Q2)", "2025-H2", "2023-12 (GA 2024)"); None if not stated."""
        return first_volume_quarter(self.volume_shipments)


def first_volume_quarter(text: str | None) -> int | None:
    m = re.match(r"\s*(\d{4})(?:-(H[12]|\d{1,2}))?(?:\s*\(Q([1-4])\))?", text or "")
    if not m:
        return None
    year, part, quarter = int(m.group(1)), m.group(2), m.group(3)
    if part in ("H1", "H2"):
        return year * 4 + (0 if part == "H1" else 2)
    if part:
        return year * 4 + (int(part) - 1) // 3
    return year * 4 + (int(quarter) - 1 if quarter else 0)


class CloudPrice(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    provider: str
    gpu: str
    accelerator: str | None
    pricing: str
    usd_per_gpu_hour: float | None
    as_of: str
    confidence: str
    source: str
    notes: str | None = None


class Deal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    id: str
    counterparty: str
    announced: str
    type: str
    amount_usd: float | None = None
    capacity_gw: float | None = None
    start: str | None = None
    duration_years: float | None = None
    chips: str | None = None
    equity_component: str | None = None
    status: str
    confidence: str
    source: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)
    accelerators: dict[str, Accelerator]
    economics: dict[str, dict[str, Any]]
    cloud_prices: dict[str, CloudPrice]
    deals: dict[str, Deal]
    defaults: dict[str, Sourced]
    reliability: dict[str, dict[str, Any]]
    press_claims: list[dict[str, str]]

    def accelerator(self, acc_id: str) -> Accelerator:
        try:
            return self.accelerators[acc_id]
        except KeyError:
            raise CatalogError(_unknown("accelerator", acc_id, self.accelerators)) from None

    def default(self, name: str) -> Sourced:
        return self.defaults[name]


def _unknown(kind: str, key: str, known: Any) -> str:
    hint = difflib.get_close_matches(key, list(known), n=1)
    tip = f"did you mean '{hint[0]}'?" if hint else f"known: {', '.join(sorted(known))}"
    return f"unknown {kind} '{key}'; {tip}"


def unknown_id_message(kind: str, key: str, known: Any) -> str:
    return _unknown(kind, key, known)


def _read(name: str) -> Any:
    text = resources.files("gigawatt.catalog").joinpath("data", name).read_text("utf-8")
    return yaml.safe_load(text)


def _sourced(raw: dict[str, Any]) -> Sourced:
    return Sourced(value=float(raw["value"]), source=raw["source"], confidence=raw["confidence"])


def _installed(raw: dict[str, Any]) -> InstalledPrice:
    return InstalledPrice(
        value=float(raw["value"]), source=raw["source"], confidence=raw["confidence"],
        price_from=str(raw["price_from"]), includes=raw["includes"], as_of=str(raw["as_of"]),
        url=raw.get("url"),
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    facts = _read("facts.yaml")
    planning = _read("planning.yaml")
    derived = planning["accelerators"]
    default_decline = _sourced(planning["defaults"]["price_decline_per_year"])
    accelerators = {}
    for row in facts["accelerators"]:
        extra = derived.get(row["id"], {})
        price = _installed(extra["unit_price_usd"]) if "unit_price_usd" in extra else None
        decline = extra.get("price_decline_per_year")
        accelerators[row["id"]] = Accelerator(
            **{k: row.get(k) for k in Accelerator.model_fields if k in row},
            it_kw=_sourced(extra["it_kw"]) if "it_kw" in extra else None,
            unit_price_usd=price,
            price_decline_per_year=(_sourced(decline) if decline else default_decline) if price else None,
        )
    names = planning["gpu_names"]
    prices: dict[str, CloudPrice] = {}
    for row in facts["cloud_prices"]:
        cid = _slug(f"{row['provider']}-{row['gpu']}-{row['pricing']}")
        prices[cid] = CloudPrice(
            id=cid,
            provider=row["provider"],
            gpu=row["gpu"],
            accelerator=names.get(row["gpu"]),
            pricing=row["pricing"],
            usd_per_gpu_hour=row.get("usd_per_gpu_hour"),
            as_of=str(row["as_of"]),
            confidence=row["confidence"],
            source=row["source"],
            notes=row.get("notes"),
        )
    deals = {row["id"]: Deal.model_validate({**row, "announced": str(row["announced"])}) for row in facts["deals"]}
    return Catalog(
        accelerators=accelerators,
        economics={row["id"]: row for row in facts["economics"]},
        cloud_prices=prices,
        deals=deals,
        defaults={k: _sourced(v) for k, v in planning["defaults"].items()},
        reliability=planning["reliability"],
        press_claims=planning["press_claims"],
    )
