"""The one input model: a scenario of compute supply, demand, money and policy."""

from gigawatt.scenario.load import load_scenario, parse_scenario
from gigawatt.scenario.model import Scenario

__all__ = ["Scenario", "load_scenario", "parse_scenario"]
