"""Which pools may serve which demand, and the demand groups N-1 cover is checked for.

A pool is an owned site's accelerator type, a cloud offer or a contract. A demand may use a
pool when the accelerator suits it, the pool lies in a region the demand allows and, for a
co-located run, the location could ever hold its minimum cluster. Risk limits count only
such capacity: an idle accelerator nobody can use secures nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from gigawatt.plan.inputs import PlanInputs, derived

POOL_KINDS = ("site", "offer", "contract")


@derived
def host_eligibility(p: PlanInputs) -> dict[str, xr.DataArray]:
    """Where each co-located run may be hosted: a location that can hold its minimum cluster in
    every quarter of its window (min_cluster asks for it each quarter, so no other can host it)."""
    runs = p.run.rename("demand")
    k = p.run_min_units
    run_window = p.demand_ef.sel(demand=runs).rename(demand="run") > 0
    site_serves = p.serves_site.sel(demand=runs).rename(demand="run")
    holdable = site_holdable_units(p, site_serves)
    site_ok = (holdable >= k).where(run_window, True).all("period") & run_window.any("period")
    offer_ok = p.serves_offer.sel(demand=runs).rename(demand="run") & (p.offer_cap >= k)
    contract_ok = p.serves_contract.sel(demand=runs).rename(demand="run") & (p.contract_units.max("period") >= k)
    return {"site": site_ok, "offer": offer_ok, "contract": contract_ok}


def site_holdable_units(p: PlanInputs, usable: xr.DataArray) -> xr.DataArray:
    """[..., site, period]: the most accelerators a site could hold of the types `usable` allows:
    within energised grid power and the facility power that could be online by then (existing,
    plus everything it may still build once its lead time has passed)."""
    elapsed = xr.DataArray(np.arange(len(p.period)), coords=[p.period])
    buildable = p.site_existing_mw + (p.site_max_mw - p.site_existing_mw) * (elapsed >= p.site_lead_quarters)
    power = xr.where(p.site_energised_mw < buildable, p.site_energised_mw, buildable)
    per_mw = p.site_units_per_mw.where(usable & p.install_mask & (p.acc_kw_all_in_per_pue > 0), 0.0)
    densest = per_mw.max("acc") if len(p.acc) else per_mw.sum("acc")
    return power * densest


@derived
def usable_pools(p: PlanInputs) -> dict[str, xr.DataArray]:
    """demand x pool: the pools each demand can actually be served from."""
    site = p.serves_site
    offer = p.serves_offer
    contract = p.serves_contract
    if len(p.run):
        hosts = host_eligibility(p)
        is_run = xr.DataArray(p.demand.isin(p.run), coords=[p.demand])

        def restrict(mask: xr.DataArray, host: xr.DataArray) -> xr.DataArray:
            allowed = host.rename(run="demand").reindex(demand=p.demand, fill_value=True)
            return mask & (allowed | ~is_run)

        site = restrict(site, hosts["site"])
        offer = restrict(offer, hosts["offer"])
        contract = restrict(contract, hosts["contract"])
    return {"site": site, "offer": offer, "contract": contract}


@dataclass(frozen=True)
class CoverGroups:
    """Demand groups for N-1: each demand's own usable pools, and all pools together.

    Cover for a group counts only pools some member can use, and its need adds up every
    demand whose pools lie inside the group's (Hall's condition on the sets that matter).
    """

    group: pd.Index
    label: dict[str, str]              # group -> the demands it secures, in words
    member: xr.DataArray               # group x demand: the demand's need counts in the group
    site: xr.DataArray                 # group x site x acc
    offer: xr.DataArray                # group x offer
    contract: xr.DataArray             # group x contract
    has_pool: xr.DataArray             # group x provider: the provider owns a pool the group can use

    def need_peak_ef(self, p: PlanInputs) -> xr.DataArray:
        """group x period: peak EF/s the group's demands need."""
        return (self.member * p.demand_ef / p.demand_mfu).sum("demand")

    def cover_mask(self, p: PlanInputs) -> xr.DataArray:
        """group x provider x period where cover is counted: the group needs compute then and the
        provider could hold some it can use (losing a provider with none is implied by the others)."""
        return (self.need_peak_ef(p) > 0) & self.has_pool


def _flat(pools: dict[str, xr.DataArray], p: PlanInputs) -> np.ndarray:
    """demand x every pool (site x acc, offers, contracts) as one boolean matrix."""
    parts = [pools[kind].transpose("demand", ...).values.reshape(len(p.demand), -1) for kind in POOL_KINDS]
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(p.demand), 0), dtype=bool)


def _provider_of_pools(p: PlanInputs, pools: dict[str, xr.DataArray]) -> np.ndarray:
    """Provider label of each flattened pool, in _flat's order."""
    owners = {"site": p.site_provider, "offer": p.offer_provider, "contract": p.contract_provider}
    parts = []
    for kind in POOL_KINDS:
        template = pools[kind].isel(demand=0, drop=True) if len(p.demand) else pools[kind].any("demand")
        parts.append(owners[kind].broadcast_like(template).transpose(*template.dims).values.ravel())
    return np.concatenate(parts).astype(object) if parts else np.array([], dtype=object)


def cover_groups(p: PlanInputs) -> CoverGroups:
    pools = usable_pools(p)
    flat = _flat(pools, p)                                   # demand x pool
    servable = np.asarray(flat.any(axis=1))                 # a demand nothing can serve secures nothing
    union = np.asarray(flat[servable].any(axis=0)) if servable.any() else np.zeros(flat.shape[1], dtype=bool)
    rows = flat[servable]
    candidates = np.unique(np.vstack([rows, union[None, :]]), axis=0) if servable.any() else rows
    # member[g, d]: every pool d can use is in g's (Hall's condition on g's demand set)
    outside = (flat.astype(np.int32) @ (~candidates).astype(np.int32).T) == 0   # demand x group
    member = (outside & servable[:, None]).T
    names = [str(d) for d in p.demand]
    ids = [f"g{i}" for i in range(len(candidates))]
    labels = {}
    for gid, sig, members in zip(ids, candidates, member, strict=True):
        whole = bool((sig == union).all()) and members.sum() == len(names)
        labels[gid] = "all demand" if whole else ", ".join(n for n, m in zip(names, members, strict=True) if m)
    group = pd.Index(ids, name="group")
    sizes = [pools[kind].isel(demand=0, drop=True).size if len(p.demand) else 0 for kind in POOL_KINDS]
    cuts = np.cumsum([0, *sizes])
    masks = {}
    for kind, a, b in zip(POOL_KINDS, cuts[:-1], cuts[1:], strict=True):
        template = pools[kind].isel(demand=0, drop=True) if len(p.demand) else pools[kind].any("demand")
        data = candidates[:, a:b].reshape(len(ids), *template.shape)
        masks[kind] = xr.DataArray(data, coords={"group": group, **template.coords}, dims=("group", *template.dims))
    owner = _provider_of_pools(p, pools)
    has_pool = np.array([[bool((sig & (owner == q)).any()) for q in p.providers] for sig in candidates],
                        dtype=bool).reshape(len(ids), len(p.providers))
    return CoverGroups(group=group, label=labels,
                       member=xr.DataArray(member, coords=[group, p.demand]),
                       site=masks["site"], offer=masks["offer"], contract=masks["contract"],
                       has_pool=xr.DataArray(has_pool, coords=[group, p.providers]))
