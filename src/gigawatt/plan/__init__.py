"""Capacity planning: least-cost, risk-bounded multi-year plans with linopy + HiGHS."""

from gigawatt.plan.result import Plan
from gigawatt.plan.solve import plan

__all__ = ["Plan", "plan"]
