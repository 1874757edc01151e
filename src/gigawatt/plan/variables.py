"""One function per family of decision variables, each over labelled coordinates."""

from __future__ import annotations

import numpy as np
import xarray as xr
from linopy import Model

from gigawatt.plan.inputs import PlanInputs


def define_facility_variables(m: Model, p: PlanInputs) -> None:
    """build_mw[site, period]: new facility power started, online after the site's lead time."""
    m.add_variables(lower=0, upper=(p.site_max_mw - p.site_existing_mw).broadcast_like(p.site_energised_mw),
                    coords=[p.site, p.period], name="build_mw")


def define_install_variables(m: Model, p: PlanInputs) -> None:
    """install[site, acc, period]: accelerators bought and installed, retired after their life."""
    m.add_variables(lower=0, coords=[p.site, p.acc, p.period], mask=p.install_mask, name="install")


def define_cloud_variables(m: Model, p: PlanInputs) -> None:
    """cloud_new[lot, period]: accelerators newly rented on a cloud term (lot = offer x term)."""
    available = p.offer_available.sel(offer=p.lot_offer).drop_vars("offer")
    m.add_variables(lower=0, coords=[p.lot, p.period], mask=available, name="cloud_new")


def _serve_mask(p: PlanInputs, pool_acc: xr.DataArray) -> xr.DataArray:
    """demand x pool x period: the pool's accelerator suits the demand and there is demand then."""
    compat = p.compat.sel(acc=pool_acc).drop_vars("acc")
    return compat & (p.demand_ef > 0)


def define_state_variables(m: Model, p: PlanInputs) -> None:
    """Stocks that many constraints read: alive accelerators, online MW, rented units, provider EF/s.

    Each is tied to its flows by a balance constraint, so the other constraints stay one
    term per stock instead of repeating the vintage sums (much smaller, faster models).
    """
    m.add_variables(lower=0, coords=[p.site, p.acc, p.period], mask=p.install_mask, name="alive")
    m.add_variables(lower=0, coords=[p.site, p.period], name="online_mw")
    m.add_variables(lower=0, coords=[p.offer, p.period], mask=p.offer_available, name="rented")
    m.add_variables(lower=0, coords=[p.providers, p.period], name="provider_ef")


def define_serve_variables(m: Model, p: PlanInputs) -> None:
    """serve_*: effective EF/s a pool delivers to a demand (owned site x acc, offer, contract)."""
    site_mask = (p.compat & (p.demand_ef > 0)) & p.install_mask.any("period")
    m.add_variables(lower=0, coords=[p.demand, p.site, p.acc, p.period], mask=site_mask, name="serve_site")
    offer_mask = _serve_mask(p, p.offer_acc) & p.offer_available
    m.add_variables(lower=0, coords=[p.demand, p.offer, p.period], mask=offer_mask, name="serve_offer")
    contract_mask = _serve_mask(p, p.contract_acc) & (p.contract_units > 0)
    m.add_variables(lower=0, coords=[p.demand, p.contract, p.period], mask=contract_mask, name="serve_contract")


def define_unmet_variables(m: Model, p: PlanInputs) -> None:
    """unmet[demand, period]: effective EF/s not served, paid at a penalty."""
    m.add_variables(lower=0, coords=[p.demand, p.period], mask=p.demand_ef > 0, name="unmet")


def host_eligibility(p: PlanInputs) -> dict[str, xr.DataArray]:
    """Where each co-located run may be hosted: a site, an offer or a contract big enough."""
    runs = p.run
    compat = p.compat.sel(demand=runs.rename("demand")).rename(demand="run")
    k = p.run_min_units
    run_window = p.demand_ef.sel(demand=runs.rename("demand")).rename(demand="run") > 0
    grid_mw = p.site_energised_mw.where(run_window).max("period").fillna(0.0)
    most_units = (grid_mw * p.site_units_per_mw).where(p.install_mask.any("period"), 0.0)
    site_ok = ((most_units >= k) & compat).any("acc")
    offer_compat = compat.sel(acc=p.offer_acc).drop_vars("acc")
    offer_ok = offer_compat & (p.offer_cap >= k)
    contract_compat = compat.sel(acc=p.contract_acc).drop_vars("acc")
    contract_ok = contract_compat & (p.contract_units.max("period") >= k)
    return {"site": site_ok, "offer": offer_ok, "contract": contract_ok}


def define_host_variables(m: Model, p: PlanInputs, fixed: dict[str, xr.DataArray] | None = None) -> None:
    """host_*[run, location]: binary choice of the one place a frontier run is co-located.

    With `fixed`, the choice is pinned (continuous, lower = upper) so the LP gives duals.
    """
    if len(p.run) == 0:
        return
    eligible = host_eligibility(p)
    for kind, index in (("site", p.site), ("offer", p.offer), ("contract", p.contract)):
        coords = [p.run, index]
        if fixed is None:
            m.add_variables(coords=coords, mask=eligible[kind], binary=True, name=f"host_{kind}")
        else:
            value = fixed[kind].reindex_like(eligible[kind]).fillna(0).round()
            m.add_variables(lower=value, upper=value, coords=coords, mask=eligible[kind], name=f"host_{kind}")


def define_slack_variables(m: Model, p: PlanInputs) -> None:
    """Elastic slacks so every scenario solves and the report can say what could not be met."""
    years = p.budget.indexes["year"]
    m.add_variables(lower=0, coords=[years], mask=np.isfinite(p.budget), name="budget_over")
    policy = p.scenario.policy
    if policy.n_minus_1_alpha > 0:
        m.add_variables(lower=0, coords=[p.providers, p.period], name="security_short")
    if policy.max_provider_share < 1:
        m.add_variables(lower=0, coords=[p.providers, p.period], name="concentration_over")
