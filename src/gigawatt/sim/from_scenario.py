"""Fleets and workloads from a scenario (no plan needed): what is signed or already built."""

from __future__ import annotations

import math
import random

import pandas as pd

from gigawatt.catalog import load_catalog
from gigawatt.economics.finance import accelerators_in_mw
from gigawatt.errors import SimulationError
from gigawatt.periods import SECONDS_PER_QUARTER, parse_quarter, quarter_label
from gigawatt.scenario.model import Scenario, SiteKind
from gigawatt.sim.failures import FailureModel, Outage
from gigawatt.sim.fleet import REFERENCE, Fleet, Pool, relative_speed

MAX_SERVICE_ACCELERATORS = 100_000_000   # 1e5 replica groups: beyond that a run takes hours
SERVICE_GROUP = 1024   # accelerators per placed group of inference replicas (128 x 8-GPU replicas)


def fleet_from_scenario(s: Scenario, at: str | None = None) -> Fleet:
    """Contracts active at `at` (default: horizon start), cloud offers at their caps, existing owned MW."""
    cat = load_catalog()
    when = parse_quarter(at or s.horizon.start)
    fabric, pue = cat.default("fabric_overhead").value, cat.default("pue").value
    pools: list[Pool] = []
    for c in s.contracts:
        start = parse_quarter(c.start)
        if not start <= when < start + c.term_quarters:
            continue
        acc = cat.accelerators.get(c.accelerator)
        units = c.capacity_accelerators
        if units is None and acc is not None and acc.it_kw is not None:
            units = accelerators_in_mw(c.capacity_mw or 0, acc.it_kw.value, fabric, pue)
        price = c.usd_per_quarter / ((units or 1) * SECONDS_PER_QUARTER / 3600)
        pools.append(Pool(id=c.id, site=c.region, provider=c.counterparty, accelerator=c.accelerator,
                          capacity=float(math.floor(units or 0)), speed=relative_speed(c.accelerator), usd_per_hour=price))
    for o in s.cloud_offers:
        if o.max_accelerators is None or (o.available_from and parse_quarter(o.available_from) > when) or (
                o.withdrawn_from and parse_quarter(o.withdrawn_from) <= when):
            continue
        price = min(t.price_usd_per_accelerator_hour for t in o.terms)
        pools.append(Pool(id=o.id, site=o.region, provider=o.provider, accelerator=o.accelerator,
                          capacity=float(math.floor(o.max_accelerators)), speed=relative_speed(o.accelerator), usd_per_hour=price))
    for site in s.sites:
        if site.existing_mw <= 0 or site.kind == SiteKind.cloud_region:
            continue
        acc_id = next((a for a in site.accelerators if cat.accelerators[a].it_kw), "nvidia_gb200_nvl72")
        kw = cat.accelerators[acc_id].it_kw
        assert kw is not None
        units = accelerators_in_mw(site.existing_mw, kw.value, fabric, site.pue or pue)
        pools.append(Pool(id=f"{site.id}/{acc_id}", site=site.id, provider=site.provider, accelerator=acc_id,
                          capacity=float(math.floor(units)), speed=relative_speed(acc_id)))
    return Fleet(pools)


def price_pools(fleet: Fleet, s: Scenario, period: str) -> Fleet:
    """Set each pool's USD per accelerator-hour from the scenario, for a fleet built from a plan:
    a cloud offer at its cheapest term, a contract at its payment over its capacity, an owned
    site at the all-in cost `quote` gives (installed price recovered over its life, facility,
    energy at the site's price). Pools the scenario does not name keep their price."""
    from gigawatt.economics.quote import quote

    offers = {o.id: o for o in s.cloud_offers}
    contracts = {c.id: c for c in s.contracts}
    sites = {x.id: x for x in s.sites}
    cat = load_catalog()
    fabric, pue = cat.default("fabric_overhead").value, cat.default("pue").value
    for pool in fleet.pools:
        if pool.site in offers:
            pool.usd_per_hour = min(t.price_usd_per_accelerator_hour for t in offers[pool.site].terms)
        elif pool.site in contracts:
            c = contracts[pool.site]
            acc = cat.accelerators.get(c.accelerator)
            units = c.capacity_accelerators
            if units is None and acc is not None and acc.it_kw is not None:
                units = accelerators_in_mw(c.capacity_mw or 0, acc.it_kw.value, fabric, pue)
            pool.usd_per_hour = c.usd_per_quarter / ((units or 1) * SECONDS_PER_QUARTER / 3600)
        elif pool.site in sites and cat.accelerators.get(pool.accelerator, None) is not None:
            site = sites[pool.site]
            q = quote(pool.accelerator, gw=0.1, bought=period, pue=site.pue,
                      electricity_usd_per_mwh=site.electricity_usd_per_mwh,
                      discount_rate=s.money.discount_rate, it_life_years=s.finance.it_life_years)
            pool.usd_per_hour = q.value("usd_per_accelerator_hour")
    return fleet


def busiest_training_period(s: Scenario) -> str | None:
    """The first quarter in which a training run is active (a good default to operate)."""
    starts = sorted(parse_quarter(r.start) for r in s.demand.training)
    return quarter_label(starts[0]) if starts else None


def workload_from_scenario(s: Scenario, origin: str | None = None, service_s: float = SECONDS_PER_QUARTER) -> pd.DataFrame:
    """Jobs seen from quarter `origin` (default: horizon start).

    Training runs still to come or under way become gang jobs of their minimum co-located
    size (or the size their FLOP need over the window implies); inference loads active
    at `origin` become services holding their replicas for `service_s`.
    """
    cat = load_catalog()
    t0 = parse_quarter(origin or s.horizon.start)
    rows = []
    ref_tflops = cat.accelerators[REFERENCE].bf16_dense_tflops
    for load in s.demand.inference:
        if load.exaflops:
            known = [v for q, v in sorted(load.exaflops.items(), key=lambda kv: parse_quarter(kv[0]))
                     if parse_quarter(q) <= t0]
            ef = known[-1] if known else 0.0
        else:
            start = parse_quarter(load.start or s.horizon.start)
            ef = (load.start_exaflops or 0.0) * (1 + load.growth_per_year) ** ((t0 - start) / 4) if t0 >= start else 0.0
        units = math.ceil(ef / (load.utilization * ref_tflops / 1e6)) if ef > 0 else 0
        if units > MAX_SERVICE_ACCELERATORS:
            raise SimulationError(
                f"inference load '{load.id}' needs {units:,} accelerators at {ef:,.4g} EF/s and utilization "
                f"{load.utilization:g}; the simulator takes at most {MAX_SERVICE_ACCELERATORS:,} per load")
        # a service is many independent replicas: place it in groups, not as one gang
        for k, start in enumerate(range(0, units, SERVICE_GROUP)):
            rows.append({"name": f"{load.id}#{k}", "arrival_s": 0.0,
                         "accelerators": float(min(SERVICE_GROUP, units - start)),
                         "work_s": service_s, "allowed": "|".join(load.allowed_accelerators), "kind": "inference"})
    for r in s.demand.training:
        if parse_quarter(r.end) < t0:
            continue
        ref = cat.accelerators.get(r.allowed_accelerators[0] if r.allowed_accelerators else REFERENCE) \
            or cat.accelerators[REFERENCE]
        flop = (r.total_exaflop or 0) * 1e18 if r.total_exaflop else (r.accelerator_hours or 0) * 3600 * ref.bf16_dense_tflops * 1e12 * r.mfu
        window = (parse_quarter(r.end) - parse_quarter(r.start) + 1) * SECONDS_PER_QUARTER
        size = r.min_colocated_accelerators or math.ceil(flop / (window * ref.bf16_dense_tflops * 1e12 * r.mfu))
        work_ref = flop / (size * cat.accelerators[REFERENCE].bf16_dense_tflops * 1e12 * r.mfu)
        rows.append({"name": r.id, "arrival_s": max(0, parse_quarter(r.start) - t0) * SECONDS_PER_QUARTER,
                     "accelerators": float(size), "work_s": work_ref,
                     "allowed": "|".join(r.allowed_accelerators), "kind": "training"})
    return pd.DataFrame(rows, columns=["name", "arrival_s", "accelerators", "work_s", "allowed", "kind"])


def failures_from_scenario(s: Scenario, enabled: bool = True) -> FailureModel:
    ops = s.operations
    return FailureModel.from_catalog(
        enabled=enabled, rate_per_accelerator_hour=ops.failure_rate_per_accelerator_hour,
        repair_hours=ops.repair_hours, restart_minutes=ops.restart_minutes,
        checkpoint_minutes=ops.checkpoint_minutes)


def outages_from_scenario(s: Scenario, fleet: Fleet, until_s: float, seed: int) -> list[Outage]:
    ops = s.operations
    outages = [Outage(o.target, o.start_hours * 3600, o.duration_hours * 3600) for o in ops.outages]
    rate = ops.random_outages.rate_per_provider_year / (365 * 24 * 3600)
    if rate > 0 and math.isfinite(until_s):
        rng = random.Random(seed + 1)
        for provider in sorted({p.provider for p in fleet.pools}):
            t = rng.expovariate(rate)
            while t < until_s:
                outages.append(Outage(provider, t, rng.expovariate(1 / (ops.random_outages.mean_duration_hours * 3600))))
                t += rng.expovariate(rate)
    return outages
