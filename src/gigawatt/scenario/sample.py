"""Draw futures from the uncertainty section: Latin hypercube, Sobol or plain Monte Carlo.

A sample is a row of factor values. Plain Monte Carlo gives sample i its own stream,
``SeedSequence(seed).spawn(n)[i]``, so its values depend only on (seed, i). Latin hypercube
and Sobol designs are drawn once for the whole set from ``SeedSequence(seed)`` (their
stratification needs n), before any evaluation: either way a sample's values never depend
on which worker evaluates it. Rank correlation between factors is imposed with a Gaussian
copula (Spearman rho -> Pearson r = 2 sin(pi rho / 6)), which keeps each marginal exact.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from gigawatt.errors import ScenarioError
from gigawatt.scenario.uncertainty import FactorSpec, Uncertainty, factor_specs

_EDGE = 1e-12  # keep u strictly inside (0, 1): inverse CDFs of unbounded laws are infinite at the edges


@dataclass(frozen=True)
class SampleSet:
    """n futures: the uniforms drawn and the factor values they map to (one column per factor)."""

    factors: list[str]
    u: np.ndarray        # n x k, in (0, 1)
    values: np.ndarray   # n x k, in the factors' own units
    seed: int
    method: str

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def sample(self, i: int) -> dict[str, float]:
        return {f: float(v) for f, v in zip(self.factors, self.values[i], strict=True)}

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.values, columns=self.factors)
        df.index.name = "sample"
        return df


def _uniforms(method: str, n: int, k: int, seed: int) -> np.ndarray:
    if k == 0:
        return np.zeros((n, 0))
    if method == "mc":
        children = np.random.SeedSequence(seed).spawn(n)
        return np.array([np.random.default_rng(c).random(k) for c in children]).reshape(n, k)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    if method == "lhs":
        return qmc.LatinHypercube(d=k, rng=rng).random(n)
    with warnings.catch_warnings():  # balance properties want n = 2^m; any n is still a valid design
        warnings.simplefilter("ignore", UserWarning)
        return qmc.Sobol(d=k, scramble=True, rng=rng).random(n)


def correlate(u: np.ndarray, factors: list[str], uncertainty: Uncertainty) -> np.ndarray:
    """Impose the section's rank correlations on uniforms (Gaussian copula, row by row)."""
    if not uncertainty.correlations:
        return u
    k = len(factors)
    pearson = np.eye(k)
    for c in uncertainty.correlations:
        a, b = (factors.index(name) for name in c.factors)
        pearson[a, b] = pearson[b, a] = 2 * np.sin(np.pi * c.rank / 6)
    try:
        chol = np.linalg.cholesky(pearson)
    except np.linalg.LinAlgError:
        raise ScenarioError("the correlations contradict each other (the matrix is not positive definite); "
                            "weaken them", path="uncertainty.correlations") from None
    z = stats.norm.ppf(np.clip(u, _EDGE, 1 - _EDGE)) @ chol.T
    return np.asarray(stats.norm.cdf(z))


def values_at(specs: list[FactorSpec], u: np.ndarray) -> np.ndarray:
    u = np.clip(u, _EDGE, 1 - _EDGE)
    cols = [np.asarray(spec.ppf(u[:, j]), dtype=float) for j, spec in enumerate(specs)]
    return np.column_stack(cols) if cols else np.zeros((u.shape[0], 0))


def draw(uncertainty: Uncertainty, horizon_start: str, n: int, seed: int,
         method: str | None = None) -> SampleSet:
    """n futures from the section, reproducible from the seed."""
    if n < 1:
        raise ScenarioError(f"samples must be at least 1, got {n}", path="samples")
    specs = factor_specs(uncertainty, horizon_start)
    factors = [s.name for s in specs]
    how = method or uncertainty.method
    u = correlate(_uniforms(how, n, len(specs), seed), factors, uncertainty)
    return SampleSet(factors=factors, u=u, values=values_at(specs, u), seed=seed, method=how)


def medians(uncertainty: Uncertainty, horizon_start: str) -> dict[str, float]:
    """Every factor at its median (the tornado's centre)."""
    specs = factor_specs(uncertainty, horizon_start)
    vals = values_at(specs, np.full((1, len(specs)), 0.5))
    return {s.name: float(v) for s, v in zip(specs, vals[0], strict=True)}
