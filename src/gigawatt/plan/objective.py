"""The objective: NPV of what the plan spends, minus what it leaves behind."""

from __future__ import annotations

from linopy import LinearExpression, Model

from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs

BUDGET_OVERRUN_PENALTY = 1.0   # each USD over budget costs one more (financing at a premium)
SECURITY_PENALTY_SHARE = 0.5   # a missing peak EF/s of N-1 cover costs half of unmet compute


def residual_value(m: Model, p: PlanInputs) -> LinearExpression:
    """Undepreciated value of facilities and accelerators at the horizon's end (straight line)."""
    facility = m.variables["build_mw"].rename(period="vintage") * (p.site_capex_per_mw * p.facility_residual)
    hardware = m.variables["install"].rename(period="vintage") * (
        p.acc_price.rename(period="vintage") * p.acc_residual
    )
    return (facility.sum() + hardware.sum()) * p.discount_end


def define_objective(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Minimise discounted spend + unmet penalty + slack penalties - residual value."""
    df = p.discount
    cost = (ex.variable_spend * df).sum()
    cost += (m.variables["unmet"] * p.demand_penalty * df).sum()
    if "budget_over" in m.variables:
        cost += BUDGET_OVERRUN_PENALTY * m.variables["budget_over"].sum()
    peak_penalty = float(p.demand_penalty.max()) * float(p.demand_mfu.min()) if len(p.demand) else 0.0
    for name in ("security_short", "concentration_over"):
        if name in m.variables:
            cost += (m.variables[name] * SECURITY_PENALTY_SHARE * peak_penalty * df).sum()
    m.add_objective(cost - residual_value(m, p))
