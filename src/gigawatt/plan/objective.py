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


def residual_value(m: Model, p: PlanInputs) -> LinearExpression:
    """Undepreciated value of facilities and accelerators at the horizon's end (straight line)."""
    facility = m.variables["build_mw"].rename(period="vintage") * (p.site_capex_per_mw * p.facility_residual)
    hardware = m.variables["install"].rename(period="vintage") * (
        p.acc_price.rename(period="vintage") * p.acc_residual
    )
    return (facility.sum() + hardware.sum()) * p.discount_end


def money_npv(m: Model, p: PlanInputs, ex: Expressions) -> LinearExpression:
    """Discounted spend minus discounted residual value: what the plan really costs."""
    return (ex.spend * p.discount).sum() - residual_value(m, p)


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
        "unmet_inference": (m.variables["unmet"] * p.demand_penalty * df).sum(),
        "missed_training": (m.variables["missed"] * p.training_miss_penalty * p.training_end_discount).sum(),
    }
    if bool(np.isfinite(p.budget).any()):
        terms["budget_overrun"] = BUDGET_OVERRUN_PENALTY * m.variables["budget_over"].sum()
    for name, kind in (("security_short", "n_minus_1_short"), ("concentration_over", "share_over_cap")):
        if name in m.variables:
            terms[kind] = (m.variables[name] * peak_penalty(p) * df).sum()
    return terms


def define_objective(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Minimise real money plus penalties."""
    terms = penalty_terms(m, p)
    m.add_objective(money_npv(m, p, ex) + sum(terms.values()))
