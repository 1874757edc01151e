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

from gigawatt.plan.inputs import PlanInputs

POOL_KINDS = ("site", "offer", "contract")


def host_eligibility(p: PlanInputs) -> dict[str, xr.DataArray]:
    """Where each co-located run may be hosted: a site, an offer or a contract big enough."""
    runs = p.run.rename("demand")
    k = p.run_min_units
    run_window = p.demand_ef.sel(demand=runs).rename(demand="run") > 0
    grid_mw = p.site_energised_mw.where(run_window).max("period").fillna(0.0)
    most_units = (grid_mw * p.site_units_per_mw).where(p.install_mask.any("period"), 0.0)
    site_serves = p.serves_site.sel(demand=runs).rename(demand="run")
    site_ok = ((most_units >= k) & site_serves).any("acc")
    offer_ok = p.serves_offer.sel(demand=runs).rename(demand="run") & (p.offer_cap >= k)
    contract_ok = p.serves_contract.sel(demand=runs).rename(demand="run") & (p.contract_units.max("period") >= k)
    return {"site": site_ok, "offer": offer_ok, "contract": contract_ok}


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

    def need_peak_ef(self, p: PlanInputs) -> xr.DataArray:
        """group x period: peak EF/s the group's demands need."""
        return (self.member * p.demand_ef / p.demand_mfu).sum("demand")


def _signature(pools: dict[str, xr.DataArray], demand: str) -> tuple[bool, ...]:
    return tuple(bool(v) for kind in POOL_KINDS for v in pools[kind].sel(demand=demand).values.ravel())


def cover_groups(p: PlanInputs) -> CoverGroups:
    pools = usable_pools(p)
    sigs = {str(d): _signature(pools, str(d)) for d in p.demand}
    width = len(next(iter(sigs.values()))) if sigs else 0
    union = tuple(any(s[i] for s in sigs.values()) for i in range(width))
    unique: dict[tuple[bool, ...], list[str]] = {}
    for d, sig in sigs.items():
        if any(sig):                   # a demand nothing can serve is short anyway; it secures nothing
            unique.setdefault(sig, []).append(d)
    if any(union) and union not in unique:
        unique[union] = []
    ids: list[str] = []
    labels: dict[str, str] = {}
    member_rows: list[list[bool]] = []
    masks: dict[str, list[xr.DataArray]] = {kind: [] for kind in POOL_KINDS}
    for i, (sig, owners) in enumerate(unique.items()):
        gid = f"g{i}"
        members = [d for d, s in sigs.items()
                   if any(s) and all(b <= a for a, b in zip(sig, s, strict=True))]
        ids.append(gid)
        labels[gid] = "all demand" if sig == union and len(members) == len(sigs) else ", ".join(members)
        member_rows.append([d in members for d in map(str, p.demand)])
        dem = owners[0] if owners else None
        for kind in POOL_KINDS:
            arr = pools[kind]
            masks[kind].append(arr.any("demand") if dem is None else arr.sel(demand=dem).drop_vars("demand"))
    group = pd.Index(ids, name="group")

    def stack(kind: str) -> xr.DataArray:
        template = pools[kind].any("demand")
        if not masks[kind]:
            return xr.DataArray(np.zeros((0, *template.shape), dtype=bool),
                                coords={"group": group, **template.coords}, dims=("group", *template.dims))
        return xr.concat(masks[kind], dim=group)

    member = xr.DataArray(np.array(member_rows, dtype=bool).reshape(len(ids), len(p.demand)),
                          coords=[group, p.demand])
    return CoverGroups(group=group, label=labels, member=member,
                       site=stack("site"), offer=stack("offer"), contract=stack("contract"))
