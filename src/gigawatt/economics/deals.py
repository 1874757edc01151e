"""What the 2025 compute deals imply, and how the press's round numbers hold up."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from gigawatt.catalog import Deal, load_catalog
from gigawatt.economics.quote import quote
from gigawatt.periods import HOURS_PER_YEAR

# Deals that are not purchase commitments: statements and equity rounds.
_NOT_COMMITMENTS = ("aggregate statement", "equity financing")
# A deal whose capacity is part of another deal's (Oracle's 4.5 GW is inside Stargate's 10 GW).
_PART_OF = {"oracle_openai": "stargate"}


class DealView(BaseModel):
    id: str
    counterparty: str
    announced: str
    type: str
    status: str
    status_class: str
    amount_usd: float | None
    capacity_gw: float | None
    start: str | None
    duration_years: float | None
    usd_per_gw: float | None
    usd_per_gw_year: float | None
    implied_usd_per_accelerator_hour: float | None
    is_commitment: bool
    part_of: str | None
    source: str


class ClaimCheck(BaseModel):
    id: str
    claim: str
    catalog_says: str
    agrees: bool


class DealsReport(BaseModel):
    deals: list[DealView]
    total_commitments_usd: float
    total_capacity_gw: float
    tallies: dict[str, float]
    reference_accelerator: str
    accelerators_per_gw: float
    claims: list[ClaimCheck]

    def as_json(self) -> dict[str, Any]:
        return self.model_dump()


def status_class(status: str) -> str:
    s = status.lower()
    for word in ("superseded", "loi", "reported", "confirmed"):
        if re.search(rf"\b{word}\b", s):
            return word if word != "loi" else "letter of intent"
    return "unknown"


def _view(d: Deal, per_gw_accelerators: float) -> DealView:
    amount, gw, years = d.amount_usd, d.capacity_gw, d.duration_years
    per_gw = amount / gw if amount and gw else None
    per_gw_year = per_gw / years if per_gw and years else None
    cloud = "cloud" in d.type.lower()
    per_hour = (
        per_gw_year / (per_gw_accelerators * HOURS_PER_YEAR) if per_gw_year and cloud else None
    )
    return DealView(
        id=d.id, counterparty=d.counterparty, announced=d.announced, type=d.type,
        status=d.status, status_class=status_class(d.status), amount_usd=amount,
        capacity_gw=gw, start=d.start, duration_years=years, usd_per_gw=per_gw,
        usd_per_gw_year=per_gw_year, implied_usd_per_accelerator_hour=per_hour,
        is_commitment=not any(k in d.type.lower() for k in _NOT_COMMITMENTS),
        part_of=_PART_OF.get(d.id), source=d.source,
    )


def deals_report(reference_accelerator: str = "nvidia_gb200_nvl72") -> DealsReport:
    cat = load_catalog()
    per_gw = quote(reference_accelerator, 1.0).value("accelerators")
    views = [_view(d, per_gw) for d in cat.deals.values()]
    commitments = [v for v in views if v.is_commitment]

    def total(rows: list[DealView], field: str) -> float:
        return float(sum(getattr(v, field) or 0.0 for v in rows))

    live = [v for v in commitments if v.status_class != "superseded"]
    distinct = [v for v in live if v.part_of is None]
    in_2025 = [v for v in commitments if v.announced.startswith("2025")]
    tallies = {
        "usd_all_commitments_gross": total(commitments, "amount_usd"),
        "usd_announced_in_2025_gross": total(in_2025, "amount_usd"),
        "usd_excluding_superseded": total(live, "amount_usd"),
        "usd_excluding_superseded_and_overlap": total(distinct, "amount_usd"),
        "gw_all_commitments_gross": total(commitments, "capacity_gw"),
        "gw_excluding_superseded": total(live, "capacity_gw"),
        "gw_excluding_superseded_and_overlap": total(distinct, "capacity_gw"),
    }
    by_id = {v.id: v for v in views}
    return DealsReport(
        deals=views,
        total_commitments_usd=tallies["usd_excluding_superseded_and_overlap"],
        total_capacity_gw=tallies["gw_excluding_superseded_and_overlap"],
        tallies=tallies,
        reference_accelerator=reference_accelerator,
        accelerators_per_gw=per_gw,
        claims=_check_claims(by_id, tallies),
    )


def _b(x: float) -> str:
    return f"${x / 1e9:,.0f}B"


def _check_claims(deals: dict[str, DealView], t: dict[str, float]) -> list[ClaimCheck]:
    claims = {c["id"]: c["text"] for c in load_catalog().press_claims}
    stargate, oracle = deals["stargate"], deals["oracle_openai"]
    out = []
    gross25 = t["usd_announced_in_2025_gross"]
    net = t["usd_excluding_superseded_and_overlap"]
    out.append(ClaimCheck(
        id="nearly_1000b", claim=claims["nearly_1000b"],
        catalog_says=(f"deals announced in 2025 with a disclosed value sum to {_b(gross25)} gross; "
                      f"{_b(net)} once the superseded NVIDIA LOI and Oracle's overlap with Stargate are "
                      f"removed. AMD, Broadcom and Google values are undisclosed, so both are floors."),
        agrees=0.8e12 <= net <= 1.2e12 or 0.8e12 <= gross25 <= 1.2e12,
    ))
    gw_rows = [v for v in deals.values() if v.usd_per_gw]
    per_gw = {v.id: v.usd_per_gw for v in gw_rows if v.usd_per_gw}
    out.append(ClaimCheck(
        id="usd_50_60b_per_gw", claim=claims["usd_50_60b_per_gw"],
        catalog_says="implied by deals: " + ", ".join(f"{k} {_b(x)}/GW" for k, x in per_gw.items())
        + "; Oracle's is a 5-year rent, not capex; Bernstein's bottom-up GB200 figure is $35B/GW.",
        agrees=any(50e9 <= x <= 60e9 for x in per_gw.values()),
    ))
    sg = stargate.usd_per_gw or 0.0
    out.append(ClaimCheck(
        id="stargate_500b_10gw", claim=claims["stargate_500b_10gw"],
        catalog_says=f"{_b(stargate.amount_usd or 0)} for {stargate.capacity_gw} GW = {_b(sg)}/GW "
        f"(status: {stargate.status})",
        agrees=stargate.amount_usd == 500e9 and stargate.capacity_gw == 10,
    ))
    out.append(ClaimCheck(
        id="oracle_300b_5y_2027", claim=claims["oracle_300b_5y_2027"],
        catalog_says=f"{_b(oracle.amount_usd or 0)} over {oracle.duration_years} years from {oracle.start} "
        f"for {oracle.capacity_gw} GW: {_b(oracle.usd_per_gw_year or 0)} per GW-year, "
        f"~${oracle.implied_usd_per_accelerator_hour or 0:.2f} per accelerator-hour; status: {oracle.status}",
        agrees=oracle.amount_usd == 300e9 and oracle.duration_years == 5 and str(oracle.start) == "2027",
    ))
    return out
