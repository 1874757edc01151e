"""Hedged plans: the stochastic plan and what it is worth, above the planner and the stress evaluator.

`plan.stochastic` builds and solves the extensive form (the planner's layer); `stress`
evaluates a fixed first stage in sampled futures. Here both meet: the value of the stochastic
solution, the out-of-sample check against the deterministic plan, and batched sample-average
approximation for more futures than one extensive form holds.
"""

from gigawatt.hedging.plan import plan_stochastic

__all__ = ["plan_stochastic"]
