"""Turn a sample (factor name -> value) into the future it describes: a changed Scenario.

Only values change, never what exists: a defaulted contract keeps its id with zero
capacity and payment from the default quarter on, a withdrawn cloud offer keeps its id,
unavailable from the default quarter on, a delayed site keeps its id with a longer lead time. So the planner's model for a sampled future has the same variables
and rows as the base one (some of them forced to zero), which is what lets the stress
layer re-solve one model in place.

Semantics, factor by factor:
- ``demand.<id|all>``: multiplies the demand's compute (inference EF/s, training FLOP);
- ``provider.<id>.default`` / ``contract.<id>.default``: absolute quarter of default; from it
  on the contract (every contract of that provider) delivers nothing and is paid nothing;
  a provider's default also withdraws its cloud offers from that quarter (``withdrawn_from``):
  nothing new is rented, and terms still running end there, not delivered and not paid. Cloud
  terms are paid quarter by quarter as used (expressions.cloud_cost), so a quarter the provider
  no longer delivers is one it cannot bill, as with a defaulted contract;
- ``contract.<id>.delay``: whole quarters of late delivery; the term still ends when signed,
  the late quarters deliver nothing and are not paid;
- ``contract.<id>.delivered_share``: capacity delivered and paid, as a share of the contract;
- ``site.<id>.construction_delay``: quarters added to the site's construction lead time;
- ``site.<id>.energisation_delay``: quarters every grid-energisation step slips
  (a site without steps gets full power only from the horizon's start plus the delay);
- ``chip_deal.<id>.shortfall``: share of the deal's volume that never arrives;
- ``prices.electricity`` / ``prices.cloud``: multiply site electricity prices / cloud offer prices;
- ``revenue``: multiplies the revenue curve (the funding gap's other side).
"""

from __future__ import annotations

import math
from typing import Any

from gigawatt.catalog import load_catalog
from gigawatt.periods import parse_quarter, quarter_label
from gigawatt.scenario.model import CloudOffer, Contract, PowerStep, Scenario

MIN_DEMAND_MULTIPLIER = 1e-9  # a demand never vanishes entirely: that would change the model's rows


def _quarters(value: float) -> int:
    return max(0, int(round(value)))


def _contract(c: Contract, default_q: float, delay: float, share: float) -> Contract:
    start = parse_quarter(c.start) + _quarters(delay)
    end = parse_quarter(c.start) + c.term_quarters          # first quarter after the term
    if math.isfinite(default_q):
        end = min(end, int(default_q))
    per_quarter = c.usd_per_quarter * share
    units = (c.capacity_accelerators, c.capacity_mw)
    term = end - start
    if term < 1:   # nothing left to deliver: keep the contract, empty
        start, term, share, per_quarter = parse_quarter(c.start), c.term_quarters, 0.0, 0.0
    update: dict[str, Any] = {
        "start": quarter_label(start), "term_quarters": term,
        "payment_usd_per_year": per_quarter * 4, "total_usd": None,
        "capacity_accelerators": None if units[0] is None else units[0] * share,
        "capacity_mw": None if units[1] is None else units[1] * share,
    }
    return c.model_copy(update=update)


def demand_multiplier(values: dict[str, float], demand_id: str) -> float:
    """`demand.all` times `demand.<id>`, never below MIN_DEMAND_MULTIPLIER."""
    return max(MIN_DEMAND_MULTIPLIER, values.get("demand.all", 1.0) * values.get(f"demand.{demand_id}", 1.0))


def contract_terms(values: dict[str, float], c: Contract) -> tuple[float, int, float]:
    """(default quarter or inf, whole quarters of delay, delivered share) of a contract in a sample."""
    default_q = min(values.get(f"provider.{c.counterparty}.default", math.inf),
                    values.get(f"contract.{c.id}.default", math.inf))
    delay = _quarters(values.get(f"contract.{c.id}.delay", 0.0))
    share = min(1.0, max(0.0, values.get(f"contract.{c.id}.delivered_share", 1.0)))
    return default_q, delay, share


def offer_withdrawn_from(values: dict[str, float], o: CloudOffer) -> int | None:
    """Quarter (absolute) from which a sample's provider default withdraws a cloud offer, or None."""
    default_q = values.get(f"provider.{o.provider}.default", math.inf)
    return int(default_q) if math.isfinite(default_q) else None


def apply_sample(s: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario as it plays out in one sampled future (pure; `s` is not changed)."""
    if not values:
        return s
    v = values.get
    update: dict[str, Any] = {}

    if any(k.startswith("demand.") for k in values):
        def mult(did: str) -> float:
            return demand_multiplier(values, did)
        training = [r.model_copy(update={
            "total_exaflop": None if r.total_exaflop is None else r.total_exaflop * mult(r.id),
            "accelerator_hours": None if r.accelerator_hours is None else r.accelerator_hours * mult(r.id),
        }) for r in s.demand.training]
        inference = [load.model_copy(update={
            "exaflops": {q: x * mult(load.id) for q, x in load.exaflops.items()},
            "start_exaflops": None if load.start_exaflops is None else load.start_exaflops * mult(load.id),
        }) for load in s.demand.inference]
        update["demand"] = s.demand.model_copy(update={"training": training, "inference": inference})

    contracts = []
    for c in s.contracts:
        default_q, delay, share = contract_terms(values, c)
        changed = math.isfinite(default_q) or delay > 0 or share != 1.0
        contracts.append(_contract(c, default_q, delay, share) if changed else c)
    update["contracts"] = contracts

    defaults = load_catalog().defaults
    elec = max(0.0, v("prices.electricity", 1.0))
    start = parse_quarter(s.horizon.start)
    sites = []
    for x in s.sites:
        site_update: dict[str, Any] = {}
        build_delay = _quarters(v(f"site.{x.id}.construction_delay", 0.0))
        if build_delay:
            lead = x.construction_lead_time_quarters
            if lead is None:
                lead = round(defaults["construction_lead_time_quarters"].value)
            site_update["construction_lead_time_quarters"] = lead + build_delay
        grid_delay = _quarters(v(f"site.{x.id}.energisation_delay", 0.0))
        if grid_delay:
            steps = x.energisation or [PowerStep.model_validate({"from": s.horizon.start, "mw": x.max_power_mw})]
            site_update["energisation"] = [
                step.model_copy(update={"from_": quarter_label(max(parse_quarter(step.from_), start) + grid_delay)})
                for step in steps
            ]
        if elec != 1.0:
            price = x.electricity_usd_per_mwh
            if price is None:
                price = defaults["electricity_usd_per_mwh"].value
            site_update["electricity_usd_per_mwh"] = price * elec
        sites.append(x.model_copy(update=site_update) if site_update else x)
    update["sites"] = sites

    deals = []
    for deal in s.chip_deals:
        keep = 1.0 - min(1.0, max(0.0, v(f"chip_deal.{deal.id}.shortfall", 0.0)))
        deals.append(deal if keep == 1.0 else deal.model_copy(update={
            "units_per_quarter": None if deal.units_per_quarter is None else deal.units_per_quarter * keep,
            "mw_per_quarter": None if deal.mw_per_quarter is None else deal.mw_per_quarter * keep,
        }))
    update["chip_deals"] = deals

    cloud = max(0.0, v("prices.cloud", 1.0))
    offers = []
    for o in s.cloud_offers:
        offer_update: dict[str, Any] = {}
        if cloud != 1.0:
            offer_update["terms"] = [t.model_copy(update={
                "price_usd_per_accelerator_hour": t.price_usd_per_accelerator_hour * cloud}) for t in o.terms]
        withdrawn = offer_withdrawn_from(values, o)
        if withdrawn is not None and (o.withdrawn_from is None or withdrawn < parse_quarter(o.withdrawn_from)):
            offer_update["withdrawn_from"] = quarter_label(withdrawn)
        offers.append(o.model_copy(update=offer_update) if offer_update else o)
    update["cloud_offers"] = offers

    revenue = max(0.0, v("revenue", 1.0))
    if revenue != 1.0:
        update["finance"] = s.finance.model_copy(update={
            "revenue_usd_per_year": {y: r * revenue for y, r in s.finance.revenue_usd_per_year.items()}})
    return s.model_copy(update=update)
