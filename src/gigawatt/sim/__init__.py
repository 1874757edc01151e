"""Operations: a discrete-event engine and, on top of it, fleets, gang jobs, failures and policies."""

from gigawatt.sim.engine import Engine
from gigawatt.sim.failures import FailureModel, NodeFailure, Outage
from gigawatt.sim.fleet import Fleet, Pool
from gigawatt.sim.policies import POLICIES, Policy, get_policy
from gigawatt.sim.result import SimResult
from gigawatt.sim.simulate import simulate

__all__ = ["Engine", "FailureModel", "Fleet", "NodeFailure", "Outage", "POLICIES", "Policy", "Pool", "SimResult",
           "get_policy", "simulate"]
