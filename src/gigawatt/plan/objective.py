"""The objective: NPV of what the plan spends, minus what it leaves behind, plus penalties.

Real money (capex, energy, cloud, contracts, residual value) and penalties (unmet demand,
missed training runs, risk and budget slacks) are separate expressions, so the plan reports
what it costs apart from what the solver weighed to get there.
"""

from __future__ import annotations

import numpy as np
from linopy import LinearExpression, Model

from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs

BUDGET_OVERRUN_PENALTY = 1.0   # each USD over budget costs one more (financing at a premium)
SECURITY_PENALTY_SHARE = 0.5   # a missing peak EF/s of N-1 cover costs half of unmet compute


def per_future(expr: LinearExpression) -> LinearExpression:
    """Sum over every dimension but the sampled futures' (all of them in a one-future plan)."""
    return expr.sum([d for d in expr.dims if d != "scenario"])


def residual_value(m: Model, p: PlanInputs) -> LinearExpression:
    """Undepreciated value of facilities and accelerators at the horizon's end (straight line)."""
    facility = m.variables["build_mw"].rename(period="vintage") * (p.site_capex_per_mw * p.facility_residual)
    hardware = m.variables["install"].rename(period="vintage") * (
        p.acc_price.rename(period="vintage") * p.acc_residual
    )
    return (per_future(facility) + per_future(hardware)) * p.discount_end


def money_npv(m: Model, p: PlanInputs, ex: Expressions) -> LinearExpression:
    """Discounted spend minus discounted residual value: what the plan really costs."""
    return per_future(ex.spend * p.discount) - residual_value(m, p)


def peak_penalty(p: PlanInputs) -> float:
    """USD per peak EF/s-quarter of missing N-1 cover or share above cap."""
    inference = p.demand_penalty.where(~p.is_training)
    if not bool(inference.notnull().any()) or float(inference.max()) <= 0:
        inference = p.training_miss_penalty.where(p.is_training) / p.training_work.where(p.training_work > 0)
    scale = float(inference.max()) if bool(inference.notnull().any()) else 0.0
    return SECURITY_PENALTY_SHARE * scale * float(p.demand_mfu.min()) if len(p.demand) else 0.0


def penalty_terms(m: Model, p: PlanInputs) -> dict[str, LinearExpression]:
    """Each kind of penalty as its own discounted expression (only the kinds this model has)."""
    df = p.discount
    terms = {
        "unmet_inference": per_future(m.variables["unmet"] * p.demand_penalty * df),
        "missed_training": per_future(m.variables["missed"] * p.training_miss_penalty * p.training_end_discount),
    }
    if bool(np.isfinite(p.budget).any()):
        terms["budget_overrun"] = BUDGET_OVERRUN_PENALTY * per_future(1 * m.variables["budget_over"])
    for name, kind in (("security_short", "n_minus_1_short"), ("concentration_over", "share_over_cap")):
        if name in m.variables:
            terms[kind] = per_future(m.variables[name] * peak_penalty(p) * df)
    return terms


def define_objective(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Minimise real money plus penalties."""
    terms = penalty_terms(m, p)
    m.add_objective(money_npv(m, p, ex) + sum(terms.values()))
