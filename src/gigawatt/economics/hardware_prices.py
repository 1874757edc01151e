"""Installed USD per accelerator bought in a given quarter: the one price rule.

The rule, used by `quote` and by the planner alike:

* Each model has an installed price (its share of server or rack, scale-out network and
  storage; see the catalog's `unit_price_usd.includes`) quoted for a quarter,
  `price_from` (its launch, or the source's date if later).
* The price holds at that level before `price_from` and falls by `decline_per_year` each
  year after it: ``price(q) = launch_usd * (1 - decline) ** (max(0, q - price_from) / 4)``.
* A newer generation enters at its own installed price; the fall in price per unit of
  compute across generations is carried by those launch prices, not by a yearly cut
  applied to every model from the horizon's start.
* A chip deal with a unit price fixes the price of every unit bought inside its window
  (start..end, flat); where windows overlap the lowest deal price applies.

Scenario overrides: ``accelerators[].unit_price_usd`` replaces the model's installed price
at its ``price_from`` (the horizon's first quarter for a model the catalog lacks);
``accelerators[].price_decline_per_year`` replaces its yearly decline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gigawatt.catalog import Accelerator, load_catalog
from gigawatt.periods import parse_quarter
from gigawatt.scenario.model import Scenario


@dataclass(frozen=True)
class FixedPrice:
    """A negotiated installed price for units bought in quarters first..last (inclusive)."""

    first: int
    last: int
    usd: float


@dataclass(frozen=True)
class PriceCurve:
    """Installed USD per accelerator as a function of the quarter it is bought in."""

    launch_usd: float
    price_from: int           # absolute quarter (gigawatt.periods.parse_quarter)
    decline_per_year: float   # share of the price lost per year after price_from
    fixed: tuple[FixedPrice, ...] = ()


def installed_usd(curve: PriceCurve, quarter: int) -> float:
    """Installed USD per unit bought in absolute quarter `quarter`."""
    deals = [f.usd for f in curve.fixed if f.first <= quarter <= f.last]
    if deals:
        return min(deals)
    years_after = max(0, quarter - curve.price_from) / 4.0
    return curve.launch_usd * (1.0 - curve.decline_per_year) ** years_after


def installed_usd_path(curve: PriceCurve, quarters: Sequence[int] | np.ndarray) -> np.ndarray:
    """Installed USD per unit for each quarter in `quarters`."""
    return np.array([installed_usd(curve, int(q)) for q in quarters], dtype=float)


def catalog_curve(acc: Accelerator) -> PriceCurve | None:
    """The catalog's price curve of `acc`, or None when it is rent-only."""
    if acc.unit_price_usd is None:
        return None
    decline = acc.price_decline_per_year.value if acc.price_decline_per_year else 0.0
    return PriceCurve(
        launch_usd=acc.unit_price_usd.value,
        price_from=parse_quarter(acc.unit_price_usd.price_from),
        decline_per_year=decline,
    )


def scenario_curves(s: Scenario) -> dict[str, PriceCurve]:
    """Price curve of every buyable accelerator: catalog, then chip deals and overrides."""
    cat = load_catalog()
    default_decline = cat.default("price_decline_per_year").value
    horizon_start = parse_quarter(s.horizon.start)
    curves = {a.id: c for a in cat.accelerators.values() if (c := catalog_curve(a)) is not None}
    for o in s.accelerators:
        base = curves.get(o.id)
        launch = o.unit_price_usd if o.unit_price_usd is not None else (base.launch_usd if base else None)
        if launch is None:
            continue
        curves[o.id] = PriceCurve(
            launch_usd=launch,
            price_from=base.price_from if base else horizon_start,
            decline_per_year=(o.price_decline_per_year if o.price_decline_per_year is not None
                              else base.decline_per_year if base else default_decline),
        )
    for deal in (dl for dl in s.chip_deals if dl.status in s.policy.statuses_in_force):
        if deal.unit_price_usd is None:
            continue
        fixed = FixedPrice(parse_quarter(deal.start), parse_quarter(deal.end), deal.unit_price_usd)
        base = curves.get(deal.accelerator)
        if base is None:  # no list price: the deal's price is the only one there is
            base = PriceCurve(deal.unit_price_usd, fixed.first, default_decline)
        curves[deal.accelerator] = PriceCurve(
            base.launch_usd, base.price_from, base.decline_per_year, (*base.fixed, fixed)
        )
    return curves


def installed_price_table(s: Scenario, acc_ids: Sequence[str], quarters: Sequence[int] | np.ndarray,
                          ) -> np.ndarray:
    """[acc, quarter] installed USD per unit bought; 0 for accelerators that cannot be bought."""
    curves = scenario_curves(s)
    rows = [installed_usd_path(curves[a], quarters) if a in curves else np.zeros(len(quarters))
            for a in acc_ids]
    return np.array(rows, dtype=float).reshape(len(acc_ids), len(quarters))
