"""One function per family of decision variables, each over labelled coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from linopy import Model

from gigawatt.plan.constraints import uncompletable_runs
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.pools import CoverGroups, host_eligibility
from gigawatt.plan.sharing import carries, served_demand


def _coords(p: PlanInputs, *indexes: pd.Index) -> list[pd.Index]:
    """A family's coordinates; in a stochastic plan recourse also runs over the sampled futures."""
    return [p.futures, *indexes] if p.futures is not None else list(indexes)


def define_facility_variables(m: Model, p: PlanInputs) -> None:
    """build_mw[site, period]: new facility power started, online after the site's lead time."""
    m.add_variables(lower=0, upper=(p.site_max_mw - p.site_existing_mw).broadcast_like(p.site_energised_mw),
                    coords=_coords(p, p.site, p.period), name="build_mw")


def define_install_variables(m: Model, p: PlanInputs) -> None:
    """install[site, acc, period]: accelerators bought and installed, retired after their life."""
    m.add_variables(lower=0, coords=_coords(p, p.site, p.acc, p.period), mask=p.install_mask, name="install")


def define_cloud_variables(m: Model, p: PlanInputs) -> None:
    """cloud_new[lot, period]: accelerators newly rented on a cloud term (lot = offer x term)."""
    available = p.offer_available.sel(offer=p.lot_offer).drop_vars("offer")
    m.add_variables(lower=0, coords=_coords(p, p.lot, p.period), mask=available, name="cloud_new")


def define_contract_variables(m: Model, p: PlanInputs) -> None:
    """contract_take[contract, period]: contracted accelerators taken and paid for.

    Take-or-pay fixes it at the full capacity; otherwise it runs from the minimum take to it.
    """
    m.add_variables(lower=p.contract_units * p.contract_min_take, upper=p.contract_units,
                    coords=_coords(p, p.contract, p.period), mask=p.contract_units > 0, name="contract_take")


def define_state_variables(m: Model, p: PlanInputs) -> None:
    """Stocks that many constraints read: alive accelerators, online MW, rented units.

    Each is tied to its flows by a balance constraint, so the other constraints stay one
    term per stock instead of repeating the vintage sums (much smaller, faster models).
    """
    m.add_variables(lower=0, coords=_coords(p, p.site, p.acc, p.period), mask=p.install_mask, name="alive")
    m.add_variables(lower=0, coords=_coords(p, p.site, p.period), name="online_mw")
    m.add_variables(lower=0, coords=_coords(p, p.offer, p.period), mask=p.offer_available, name="rented")


def define_serve_variables(m: Model, p: PlanInputs) -> None:
    """serve_*: effective EF/s a pool delivers to a demand (owned site x acc, offer, contract);
    inference demands that may use the same pools share their first one's (plan.sharing)."""
    active = (served_demand(p) > 0) & carries(p)
    # a site serves only in quarters it may hold the accelerator (not before it ships)
    m.add_variables(lower=0, coords=_coords(p, p.demand, p.site, p.acc, p.period),
                    mask=p.serves_site & active & p.install_mask, name="serve_site")
    m.add_variables(lower=0, coords=_coords(p, p.demand, p.offer, p.period),
                    mask=p.serves_offer & active & p.offer_available, name="serve_offer")
    m.add_variables(lower=0, coords=_coords(p, p.demand, p.contract, p.period),
                    mask=p.serves_contract & active & (p.contract_units > 0), name="serve_contract")


def define_unmet_variables(m: Model, p: PlanInputs) -> None:
    """unmet[demand, period]: inference EF/s not served; missed[demand]: a training run not completed.

    A training run is delivered whole within its window or not at all: partial, quarter by
    quarter service has no value, so a run is either completed (missed = 0) or missed.
    """
    m.add_variables(lower=0, upper=p.demand_ef, coords=_coords(p, p.demand, p.period),
                    mask=(p.demand_ef > 0) & ~p.is_training, name="unmet")
    m.add_variables(lower=uncompletable_runs(p).astype(float), coords=_coords(p, p.demand),
                    mask=p.is_training & (p.training_work > 0), binary=True, name="missed")


def define_host_variables(m: Model, p: PlanInputs) -> None:
    """host_*[run, location]: binary choice of the one place a frontier run is co-located."""
    if len(p.run) == 0:
        return
    eligible = host_eligibility(p)
    for kind, index in (("site", p.site), ("offer", p.offer), ("contract", p.contract)):
        # where a run is hosted is decided once, for every future (a stochastic plan's first stage)
        mask = eligible[kind].any("scenario") if "scenario" in eligible[kind].dims else eligible[kind]
        m.add_variables(coords=[p.run, index], mask=mask, binary=True, name=f"host_{kind}")


def define_risk_variables(m: Model, p: PlanInputs, groups: CoverGroups) -> None:
    """Stocks the risk limits read: compute served per provider, usable capacity per cover group."""
    policy = p.scenario.policy
    if policy.max_provider_share < 1:
        m.add_variables(lower=0, coords=_coords(p, p.providers, p.period), name="served_peak")
    if policy.n_minus_1_alpha > 0 and len(groups.group):
        m.add_variables(lower=0, coords=_coords(p, groups.group, p.providers, p.period), mask=groups.cover_mask(p),
                        name="usable_ef")


def define_slack_variables(m: Model, p: PlanInputs, groups: CoverGroups) -> None:
    """Elastic slacks so every scenario solves and the report can say what could not be met."""
    years = p.budget.indexes["year"]
    m.add_variables(lower=0, coords=_coords(p, years), mask=np.isfinite(p.budget), name="budget_over")
    policy = p.scenario.policy
    if policy.n_minus_1_alpha > 0 and len(groups.group):
        # one shortfall per provider lost and period: the worst group's, not a sum over groups
        # (groups overlap, so summing would charge one missing EF/s several times)
        m.add_variables(lower=0, coords=_coords(p, p.providers, p.period), name="security_short")
    if policy.max_provider_share < 1:
        m.add_variables(lower=0, coords=_coords(p, p.providers, p.period), name="concentration_over")
