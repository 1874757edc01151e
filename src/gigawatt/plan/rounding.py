"""Binary choices read off the LP relaxation: where each co-located run goes, which runs are missed.

The planner's relaxation is tight (co-location bounds are per location, the whole-window cut
holds, hosts are only locations that can hold the run's cluster in every quarter of its window),
so rounding it and re-solving the LP with the choices pinned usually lands within the MIP gap of
the relaxation's bound: a proven-good plan without branch and bound.
"""

from __future__ import annotations

import xarray as xr

HOST_KINDS = ("site", "offer", "contract")


def round_hosts(relaxed: dict[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    """host_<kind>[run, location] from the relaxation's host_<kind> values: 1 where it hosts the
    run most (the largest value over every kind of location), 0 elsewhere; nowhere if it hosts
    the run nowhere."""
    values = {kind: relaxed[f"host_{kind}"].fillna(-1.0) for kind in HOST_KINDS if f"host_{kind}" in relaxed}
    if not values:
        return {}
    sized = [v.max(kind) for kind, v in values.items() if v.sizes[kind]]
    if not sized:
        return {f"host_{kind}": xr.zeros_like(v) for kind, v in values.items()}
    best = xr.concat(sized, dim="kind").max("kind")
    out: dict[str, xr.DataArray] = {}
    taken = xr.zeros_like(best, dtype=bool)
    for kind, v in values.items():
        # the first location reaching the run's best value
        at_best = (v >= best) & (best > 1e-6) & ~taken
        pick = at_best & (at_best.cumsum(kind) == 1)
        taken = taken | pick.any(kind)
        out[f"host_{kind}"] = pick.astype(float)
    return out


def round_missed(solved: xr.DataArray | None, *, up: bool) -> dict[str, xr.DataArray]:
    """missed[demand] from a solution's missed values: 1 where it misses at least half of a run
    (or, with `up`, any of it). Read with the hosts pinned, so an unhosted run is missed whole."""
    if solved is None:
        return {}
    value = solved.fillna(0.0)
    missed = value > 1e-6 if up else value >= 0.5
    return {"missed": missed.astype(float)}
