"""Say in words which limits bind and why demand goes unserved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr
from linopy import Model

from gigawatt.periods import HOURS_PER_QUARTER, parse_quarter, quarter_label
from gigawatt.plan.extract import constraint_dual
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.pools import host_eligibility, usable_pools

DUAL_TOL = 1e-6
MAX_LIMITS_SHOWN = 5   # per short demand, the costliest binding limits (highest dual)


def period_ranges(labels: list[str]) -> str:
    """'2027Q1-2027Q4, 2029Q2' from a list of quarter labels."""
    qs = sorted({parse_quarter(x) for x in labels})
    if not qs:
        return ""
    spans, start, prev = [], qs[0], qs[0]
    for q in qs[1:] + [None]:
        if q is not None and q == prev + 1:
            prev = q
            continue
        spans.append((start, prev))
        if q is not None:
            start = prev = q
    return ", ".join(quarter_label(a) if a == b else f"{quarter_label(a)}-{quarter_label(b)}" for a, b in spans)


def _binding_cells(m: Model, name: str) -> pd.DataFrame:
    """Cells of a constraint family whose dual is non-zero (the limit costs money)."""
    dual = constraint_dual(m, name)
    if dual is None:
        return pd.DataFrame()
    mag = abs(dual)
    scale = max(float(mag.max()) if mag.size and np.isfinite(mag.max()) else 0.0, 1.0)
    hit = (mag > DUAL_TOL * scale).fillna(False)
    if not bool(hit.any()):
        return pd.DataFrame()
    df = dual.where(hit).rename("dual").to_dataframe().reset_index()
    return df[df["dual"].notna()]


# family -> (entity column, sentence maker)
Sentence = Callable[[str, PlanInputs], str]
FAMILIES: dict[str, tuple[str | None, Sentence]] = {
    "site_max_power": ("site", lambda e, p: f"site power cap binds at {e} ({float(p.site_max_mw.sel(site=e)):,.0f} MW)"),
    "grid_power": ("site", lambda e, p: f"grid energisation binds at {e}"),
    "facility_power": ("site", lambda e, p: _facility_sentence(e, p)),
    "chip_supply": ("acc", lambda e, p: f"chip supply of {e} binds (deals: {', '.join(p.supply_deals.get(e, []))})"),
    "cloud_availability": ("offer", lambda e, p: f"availability of cloud offer {e} binds"),
    "concentration": ("provider", lambda e, p: f"provider share cap ({p.scenario.policy.max_provider_share:.0%}) binds for {e}"),
    "n_minus_1": ("provider", lambda e, p: f"N-1 security (alpha {p.scenario.policy.n_minus_1_alpha:.0%}) binds for loss of {e}"),
    "budget": ("year", lambda e, p: f"budget binds in {e}"),
    "min_cluster_site": ("site", lambda e, p: f"minimum co-located cluster size binds at {e}"),
    "contract_capacity": ("contract", lambda e, p: f"contracted capacity of {e} is fully used"),
}


def _facility_sentence(site: str, p: PlanInputs) -> str:
    lead = int(p.site_lead_quarters.sel(site=site))
    if lead > 0:
        return f"facility construction binds at {site} (MW online only {lead} quarters after they are started)"
    return f"facility power binds at {site} (more MW would have to be built)"


def binding_constraints(m: Model, p: PlanInputs) -> list[dict[str, object]]:
    """Binding limits, one record per family x entity, with the periods they bind in."""
    out: list[dict[str, object]] = []
    for family, (entity, sentence) in FAMILIES.items():
        cells = _binding_cells(m, family)
        if cells.empty or entity not in cells:
            continue
        for e, group in cells.groupby(entity):
            periods = [str(x) for x in group["period"]] if "period" in group else []
            when = period_ranges(periods) if periods else ""
            out.append({
                "family": family, "entity": str(e), "periods": periods,
                "text": (f"{when}: " if when else "") + sentence(str(e), p),
                "max_dual": float(group["dual"].abs().max()),
            })
    return out


def _usable_pools(p: PlanInputs, demand: str, pools: dict[str, xr.DataArray]) -> dict[str, list[str]]:
    """Accelerators, sites, offers and contracts that may serve a demand, and the accelerators they hold."""
    accs = [str(a) for a in p.acc.values[p.compat.sel(demand=demand).values]]
    held = pools["site"].sel(demand=demand).transpose("site", "acc").values      # site x acc
    sites = [str(x) for x in p.site.values[held.any(axis=1)]]
    offer_ok = pools["offer"].sel(demand=demand).transpose("offer").values
    contract_ok = pools["contract"].sel(demand=demand).transpose("contract").values
    offers = [str(o) for o in p.offer.values[offer_ok]]
    contracts = [str(c) for c in p.contract.values[contract_ok]]
    site_accs = sorted({str(a) for a in p.acc.values[held.any(axis=0)]})
    pooled = sorted(set(site_accs) | {str(a) for a in p.offer_acc.values[offer_ok]}
                    | {str(a) for a in p.contract_acc.values[contract_ok]})
    return {"acc": accs, "site": sites, "offer": offers, "contract": contracts, "pooled": pooled,
            "site_accs": site_accs}


def _limits_for(p: PlanInputs, pools: dict[str, list[str]], periods: set[str],
                by_family: dict[tuple[str, str], set[str]], weight: dict[tuple[str, str], float]) -> list[str]:
    """Binding limits that stand in the way of a demand's pools in its periods, costliest first."""
    limits: list[tuple[float, str]] = []
    for (family, entity), when in by_family.items():
        hit = when & periods if when else periods
        relevant = (
            (family in ("site_max_power", "grid_power", "facility_power", "min_cluster_site") and entity in pools["site"])
            or (family == "chip_supply" and entity in pools["acc"])
            or (family == "cloud_availability" and entity in pools["offer"])
            or (family == "contract_capacity" and entity in pools["contract"])
            or (family == "budget" and any(str(parse_quarter(q) // 4) == entity for q in periods))
            or family in ("concentration", "n_minus_1")
        )
        if relevant and (hit or family in ("site_max_power", "budget")):
            text = FAMILIES[family][1](entity, p)
            if family != "site_max_power":
                text += f" ({period_ranges(list(hit)) or 'all periods'})"
            limits.append((weight[(family, entity)], text))
    limits.sort(key=lambda wt: -wt[0])
    out = [t for _, t in limits[:MAX_LIMITS_SHOWN]]
    if len(limits) > MAX_LIMITS_SHOWN:
        out.append(f"and {len(limits) - MAX_LIMITS_SHOWN} more binding limits (see the binding list)")
    return out


def _structural_reasons(p: PlanInputs, demand: str, pools: dict[str, list[str]], periods: set[str]) -> list[str]:
    reasons = []
    allowed = {r.id: r for r in p.scenario.demand.training} | {r.id: r for r in p.scenario.demand.inference}
    spec = allowed[demand]
    for acc in sorted(set(spec.allowed_accelerators) - set(pools["pooled"])):
        reasons.append(f"no site, offer or contract for accelerator {acc}" + (
            f" in regions {', '.join(spec.regions)}" if spec.regions else ""))
    first = {str(a): int(v) for a, v in p.acc_ships_from.to_series().items()}
    earliest = min(parse_quarter(q) for q in periods)
    for acc in sorted(a for a in pools["site_accs"] if first.get(a, 0) > earliest):
        reasons.append(f"{acc} ships in volume only from {quarter_label(first[acc])} (catalog), so sites "
                       "cannot hold it before then")
    if not any(pools[k] for k in ("site", "offer", "contract")):
        where = f" in regions {', '.join(spec.regions)}" if spec.regions else ""
        reasons.append(f"nothing in the scenario can serve it{where}")
    return reasons


def _binding_index(binding: list[dict[str, object]]) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], float]]:
    by_family: dict[tuple[str, str], set[str]] = defaultdict(set)
    weight: dict[tuple[str, str], float] = {}
    for b in binding:
        key = (str(b["family"]), str(b["entity"]))
        by_family[key] |= {str(x) for x in b["periods"]}  # type: ignore[attr-defined]
        weight[key] = float(b["max_dual"])  # type: ignore[arg-type]
    return by_family, weight


def explain_shortfalls(
    p: PlanInputs, unmet: pd.DataFrame, binding: list[dict[str, object]], hosts: pd.DataFrame
) -> list[str]:
    """One sentence per short inference demand: how short, when, and which limits stand in the way."""
    if unmet.empty:
        return []
    by_family, weight = _binding_index(binding)
    usable = usable_pools(p)
    lines = []
    for demand, rows in unmet.groupby("demand"):
        demand = str(demand)
        periods = set(rows["period"].astype(str))
        worst = rows.loc[rows["exaflops_short"].idxmax()]
        pools = _usable_pools(p, demand, usable)
        reasons = _structural_reasons(p, demand, pools, periods) + _limits_for(p, pools, periods, by_family, weight)
        if not reasons:
            price = float(p.demand_penalty.sel(demand=demand)) / (HOURS_PER_QUARTER / 24)
            reasons.append(f"serving it costs more than the unmet penalty (${price:,.0f} per EF/s-day); raise "
                           "policy.unmet_penalty_usd_per_exaflop_day to force it")
        size = f"{worst['mw_short']:,.0f} MW, " if np.isfinite(worst["mw_short"]) else ""
        lines.append(
            f"demand {demand} in {period_ranges(list(periods))} short by up to {size}"
            f"{worst['exaflops_short']:,.2f} EF/s effective ({worst['share_short']:.0%} of it in {worst['period']}): "
            + "; ".join(dict.fromkeys(reasons))
        )
    return lines


def best_host_work(run: str, deliverable: dict[str, xr.DataArray]) -> tuple[str | None, float]:
    """The eligible location that could deliver most of a co-located run's work in its window,
    and that work (effective EF/s-quarters), from `host_deliverable`, its static size alone."""
    best: tuple[str | None, float] = (None, 0.0)
    for most in deliverable.values():
        per_location = most.sel(run=run)
        for location, value in per_location.to_series().items():
            if float(value) > best[1]:
                best = (str(location), float(value))
    return best


def host_deliverable(p: PlanInputs) -> dict[str, xr.DataArray]:
    """[run, location] per kind: all an eligible location could deliver to a run in its window."""
    from gigawatt.plan.constraints import host_serve_bounds

    eligible = host_eligibility(p)
    return {kind: bound.where(eligible[kind], 0.0).sum("period")
            for kind, bound in host_serve_bounds(p).items() if bound.size}


def explain_missed_runs(p: PlanInputs, training: pd.DataFrame, binding: list[dict[str, object]],
                        hosts: pd.DataFrame) -> list[str]:
    """One sentence per training run the plan does not complete in its window, and why."""
    if training.empty:
        return []
    by_family, weight = _binding_index(binding)
    usable = usable_pools(p)
    deliverable = host_deliverable(p)
    lines = []
    for row in training[~training["completes"].astype(bool)].itertuples():
        run = str(row.run)
        window = p.demand_ef.sel(demand=run) > 0
        periods = {str(t) for t in p.period[window.values]}
        pools = _usable_pools(p, run, usable)
        reasons = _structural_reasons(p, run, pools, periods)
        if run in set(p.run.values):
            k = float(p.run_min_units.sel(run=run))
            location, most = best_host_work(run, deliverable)
            need = float(p.training_work.sel(demand=run))
            if location is None:
                reasons.append(f"no single site, offer or contract can host it co-located (needs {k:,.0f} "
                               "accelerators in one place)")
            elif most < need * (1 - 1e-9):
                reasons.append(f"no single location can deliver its compute in its window: the largest, "
                               f"{location}, could deliver at most {most / need:.0%} of it")
            chosen = hosts[hosts["run"] == run]
            if len(chosen):
                host = str(chosen["location"].iloc[0])
                pools = {key: [x for x in vals if x == host] if key in ("site", "offer", "contract") else vals
                         for key, vals in pools.items()}
        if not reasons:             # a run no location can hold is not held back by a price
            reasons += _limits_for(p, pools, periods, by_family, weight)
        if not reasons:
            price = float(p.training_miss_penalty.sel(demand=run))
            reasons.append(f"completing it costs more than missing it (${price / 1e9:,.2f}B); raise "
                           f"demand.training[{run}].miss_penalty_usd to force it")
        lines.append(f"training run {run} ({row.start}-{row.end}, {row.required_exaflop * 1e18:.2g} FLOP) is not "
                     f"completed in its window: " + "; ".join(dict.fromkeys(reasons)))
    return lines


def slack_explanations(m: Model, p: PlanInputs) -> list[str]:
    """Elastic slacks in use: budget overruns, N-1 and concentration shortfalls."""
    out = []
    if "budget_over" in m.variables:
        over = m.variables["budget_over"].solution
        for year, value in over.to_series().items():
            if value > 1:
                out.append(f"{year}: spending exceeds the budget by ${value / 1e9:,.2f}B")
    for name, words in (("security_short", "N-1 cover short"), ("concentration_over", "provider share above cap")):
        if name in m.variables:
            sol: xr.DataArray = m.variables[name].solution
            df = sol.to_dataframe("v").reset_index()
            df = df[df["v"] > 1e-6]
            for provider, g in df.groupby("provider"):
                out.append(f"{period_ranges(list(g['period'].astype(str)))}: {words} for {provider} "
                           f"by up to {g['v'].max():,.2f} peak EF/s")
    return out
