"""Stress testing: a plan evaluated in sampled futures, risk and what drives it."""

from gigawatt.stress.run import StressResult, stress

__all__ = ["StressResult", "stress"]
