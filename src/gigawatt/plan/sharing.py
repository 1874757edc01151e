"""Inference demands that may use exactly the same pools share one set of serve variables.

Eight regional inference demands with the same accelerators, regions and MFU can each draw on
every pool the others can. Giving each its own ``serve_site[demand, site, acc, period]``
multiplies the model's largest family by eight without changing any optimum: pools, risk
limits and costs only see what is served in total, at one MFU. So the first demand of each
such class carries the class's serve variables, the class balances served plus every member's
unmet compute (each at most its own demand) against the members' total, and the results split
what the class was served among its members by what each one got. Members get the same
effective compute from an accelerator, so the same penalty: the LP is indifferent to which of
them goes short, and the results split a class's shortfall in proportion to demand instead of
reporting the LP's arbitrary choice.
Training runs are never shared: each has its own window, work and co-location.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gigawatt.plan.inputs import PlanInputs, derived


@derived      # the build and the results ask many times
def serve_carrier(p: PlanInputs) -> xr.DataArray:
    """[demand]: the demand whose serve variables carry this demand's service (itself, unless an
    earlier inference demand may use exactly the same pools at the same MFU)."""
    masks = [mask.transpose("demand", ...).values.reshape(len(p.demand), -1)
             for mask in (p.serves_site, p.serves_offer, p.serves_contract)]
    # utilisation x availability: 0.4375 x 0.8 and 0.35 differ in the last bit only
    mfu = np.round(p.demand_mfu.transpose("demand", ...).values.reshape(len(p.demand), -1), 12)
    training = p.is_training.values
    first_of: dict[bytes, str] = {}
    carrier = []
    for i, demand in enumerate(p.demand):
        if training[i]:
            carrier.append(demand)
            continue
        key = b"".join(np.ascontiguousarray(a[i]).tobytes() for a in (*masks, mfu))
        carrier.append(first_of.setdefault(key, demand))
    return xr.DataArray(np.array(carrier, dtype=object), coords=[p.demand], name="carrier")


def carries(p: PlanInputs) -> xr.DataArray:
    """[demand]: the demand carries serve variables (for itself and any class mates)."""
    carrier = serve_carrier(p)
    return carrier == carrier["demand"]


def class_total(values: xr.DataArray, p: PlanInputs) -> xr.DataArray:
    """[demand, ...]: each class's total of a per-demand quantity, on its carrier (0 elsewhere)."""
    total = values.groupby(serve_carrier(p)).sum().rename(carrier="demand")
    return total.reindex(demand=p.demand, fill_value=0).transpose(*values.dims)


def served_demand(p: PlanInputs) -> xr.DataArray:
    """[demand, period]: the compute a carrier's serve variables stand for (its class's demand)."""
    return class_total(p.demand_ef, p)


@derived
def carrier_position(p: PlanInputs) -> np.ndarray:
    """[demand]: the position of each demand's carrier in p.demand."""
    return np.asarray(p.demand.get_indexer(serve_carrier(p).values))


def member_share(weights: np.ndarray, p: PlanInputs) -> np.ndarray:
    """Each demand's share of its class's total `weights` (demand on the first axis, any others
    after): 1 for a demand alone in its class, 0 where its class's total is 0."""
    at = carrier_position(p)
    total = np.zeros_like(weights)
    np.add.at(total, at, weights)
    total = total[at]
    share = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0)
    alone = (np.bincount(at, minlength=len(at))[at] == 1).reshape((-1,) + (1,) * (weights.ndim - 1))
    return np.where(alone, 1.0, share)


def split_among_members(carried: xr.DataArray, own: xr.DataArray, p: PlanInputs) -> xr.DataArray:
    """[demand, ...]: each demand's part of `carried` (an amount on carriers' serve variables,
    e.g. what one pool served a class), in proportion to what each member itself got (`own`,
    demand x period); a demand that shares with no one keeps its carrier's amount."""
    on_carrier = carried.sel(demand=serve_carrier(p).values).assign_coords(demand=p.demand)
    own = own.transpose("demand", ...)
    return on_carrier * own.copy(data=member_share(own.values, p))


def split_shortfall(unmet: np.ndarray, demand_ef: np.ndarray, p: PlanInputs) -> np.ndarray:
    """A class's unmet compute shared among its members in proportion to their demand (`unmet`
    and `demand_ef` with demand on the first axis, any others after); a demand alone in its
    class keeps its own. The class total, and with one penalty for all members the cost, is
    what the LP found."""
    at = carrier_position(p)
    class_unmet = np.zeros_like(demand_ef)
    np.add.at(class_unmet, at, np.nan_to_num(unmet))
    return class_unmet[at] * member_share(demand_ef, p)


def shortfall_by_demand(unmet: xr.DataArray, p: PlanInputs) -> xr.DataArray:
    """`split_shortfall` over labelled arrays (demand x period, and scenario for a stochastic
    plan); NaN stays where the solution has no entry."""
    order = ["demand", *[d for d in unmet.dims if d != "demand"]]
    values = unmet.transpose(*order)
    demand = p.demand_ef.broadcast_like(values).transpose(*order)
    split = split_shortfall(values.values, demand.values, p)
    return values.copy(data=np.where(np.isnan(values.values), np.nan, split)).transpose(*unmet.dims)
