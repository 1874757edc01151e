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
from gigawatt.plan.terms import Terms, linear, term

BUDGET_OVERRUN_PENALTY = 1.0   # each USD over budget costs one more (financing at a premium)
SECURITY_PENALTY_SHARE = 0.5   # a missing peak EF/s of N-1 cover costs half of unmet compute


def residual_value(m: Model, p: PlanInputs) -> list[Terms]:
    """Undepreciated value of facilities and accelerators at the horizon's end (straight line)."""
    facility = term(m.variables["build_mw"].labels.rename(period="vintage"),
                    p.site_capex_per_mw * p.facility_residual)
    hardware = term(m.variables["install"].labels.rename(period="vintage"),
                    p.acc_price.rename(period="vintage") * p.acc_residual)
    return [t.per_future().times(p.discount_end) for t in (facility, hardware)]


def money_terms(m: Model, p: PlanInputs, ex: Expressions) -> list[Terms]:
    """Discounted spend minus discounted residual value: what the plan really costs."""
    spend = [t.times(p.discount).per_future() for t in ex.spend_terms.values()]
    return spend + [-t for t in residual_value(m, p)]


def money_npv(m: Model, p: PlanInputs, ex: Expressions) -> LinearExpression:
    return linear(m, *money_terms(m, p, ex))


def peak_penalty(p: PlanInputs) -> float:
    """USD per peak EF/s-quarter of missing N-1 cover or share above cap."""
    inference = p.demand_penalty.where(~p.is_training)
    if not bool(inference.notnull().any()) or float(inference.max()) <= 0:
        inference = p.training_miss_penalty.where(p.is_training) / p.training_work.where(p.training_work > 0)
    scale = float(inference.max()) if bool(inference.notnull().any()) else 0.0
    return SECURITY_PENALTY_SHARE * scale * float(p.demand_mfu.min()) if len(p.demand) else 0.0


def penalty_parts(m: Model, p: PlanInputs) -> dict[str, Terms]:
    """Each kind of penalty as its own discounted terms (only the kinds this model has)."""
    df = p.discount
    v = m.variables
    parts = {
        "unmet_inference": term(v["unmet"], p.demand_penalty * df).per_future(),
        "missed_training": term(v["missed"], p.training_miss_penalty * p.training_end_discount)
                           .per_future(),
    }
    if bool(np.isfinite(p.budget).any()):
        parts["budget_overrun"] = term(v["budget_over"], BUDGET_OVERRUN_PENALTY).per_future()
    for name, kind in (("security_short", "n_minus_1_short"), ("concentration_over", "share_over_cap")):
        if name in v:
            parts[kind] = term(v[name], peak_penalty(p) * df).per_future()
    return parts


def penalty_terms(m: Model, p: PlanInputs) -> dict[str, LinearExpression]:
    return {kind: linear(m, t) for kind, t in penalty_parts(m, p).items()}


def cost_terms(m: Model, p: PlanInputs, ex: Expressions) -> list[Terms]:
    """Real money plus penalties (per sampled future in a stochastic plan)."""
    return [*money_terms(m, p, ex), *penalty_parts(m, p).values()]


def cost_per_future(m: Model, p: PlanInputs, ex: Expressions) -> LinearExpression:
    return linear(m, *cost_terms(m, p, ex))


def define_objective(m: Model, p: PlanInputs, ex: Expressions) -> None:
    """Minimise real money plus penalties."""
    m.add_objective(cost_per_future(m, p, ex))
