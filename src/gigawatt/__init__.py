"""gigawatt: plan, operate and stress-test AI compute at gigawatt scale."""

__version__ = "0.1.0"
