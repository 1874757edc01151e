"""Assemble the planning model: a flat list of define_* calls, as PyPSA does."""

from __future__ import annotations

import linopy
from linopy import Model

from gigawatt.plan import constraints as c
from gigawatt.plan import variables as v
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.objective import define_objective
from gigawatt.plan.pools import CoverGroups, cover_groups

linopy.options["semantics"] = "v1"  # absent terms propagate instead of silently vanishing


def build_model(p: PlanInputs) -> tuple[Model, Expressions]:
    m = Model(force_dim_names=True)
    ex = define_model(m, p, cover_groups(p))
    define_objective(m, p, ex)
    return m, ex


def define_model(m: Model, p: PlanInputs, groups: CoverGroups) -> Expressions:
    """Every variable and constraint family (the objective apart: a stochastic plan weighs futures)."""
    v.define_facility_variables(m, p)
    v.define_install_variables(m, p)
    v.define_cloud_variables(m, p)
    v.define_contract_variables(m, p)
    v.define_serve_variables(m, p)
    v.define_state_variables(m, p)
    v.define_unmet_variables(m, p)
    v.define_host_variables(m, p)
    v.define_risk_variables(m, p, groups)
    v.define_slack_variables(m, p, groups)
    ex = Expressions(m, p, groups)
    c.define_stock_balances(m, p, ex)
    c.define_site_build_limit(m, p)
    c.define_power_limits(m, p, ex)
    c.define_chip_supply_limits(m, p)
    c.define_cloud_availability(m, p, ex)
    c.define_demand_balance(m, p)
    c.define_training_completion(m, p)
    c.define_pool_capacity(m, p, ex)
    c.define_colocation(m, p, ex)
    c.define_risk_balances(m, p, ex, groups)
    c.define_concentration_limits(m, p)
    c.define_n_minus_1_security(m, p, groups)
    c.define_budget_limits(m, p, ex)
    return ex
