"""The scenario's `uncertainty:` section: what can go wrong, each with a distribution.

Every factor becomes one named dimension of the sample space (see `factor_specs`):
a value drawn in (0, 1) is turned into the factor's value by the distribution's
inverse CDF, so Latin hypercube, Sobol and plain Monte Carlo share one code path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import stats

from gigawatt.catalog.uncertainty import (
    RECOVERY_RATE,
    default_probability_from_spread,
    load_uncertainty_catalog,
)
from gigawatt.periods import parse_quarter, quarter_label

Fraction = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- distributions: each maps u in (0, 1) to a value (inverse CDF) ---

class Fixed(_Strict):
    kind: Literal["fixed"] = "fixed"
    value: float

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full_like(u, self.value, dtype=float)


class Uniform(_Strict):
    kind: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high {self.high} is below low {self.low}; swap them")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * u


class Triangular(_Strict):
    kind: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"need low <= mode <= high, got {self.low}, {self.mode}, {self.high}; reorder them")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        width = self.high - self.low
        if width == 0:
            return np.full_like(u, self.low, dtype=float)
        return stats.triang.ppf(u, (self.mode - self.low) / width, loc=self.low, scale=width)


class _Bounded(_Strict):
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Bounded:
        if self.low is not None and self.high is not None and self.high <= self.low:
            raise ValueError(f"high {self.high} must be above low {self.low}; swap them")
        return self

    def _truncated_ppf(self, dist: Any, u: np.ndarray) -> np.ndarray:
        lo = dist.cdf(self.low) if self.low is not None else 0.0
        hi = dist.cdf(self.high) if self.high is not None else 1.0
        return np.asarray(dist.ppf(lo + (hi - lo) * u), dtype=float)


class Normal(_Bounded):
    kind: Literal["normal"]
    mean: float
    std: Annotated[float, Field(gt=0)]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self._truncated_ppf(stats.norm(self.mean, self.std), u)


class LogNormal(_Bounded):
    kind: Literal["lognormal"]
    median: Annotated[float, Field(gt=0)]
    sigma: Annotated[float, Field(gt=0)]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self._truncated_ppf(stats.lognorm(self.sigma, scale=self.median), u)


class Discrete(_Strict):
    """Values with weights (empirical when the weights are counts)."""

    kind: Literal["discrete"]
    values: list[float] = Field(min_length=1)
    weights: list[NonNeg] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Discrete:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values; give one weight per value")
            if sum(self.weights) <= 0:
                raise ValueError("weights sum to 0; give at least one positive weight")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        order = np.argsort(self.values, kind="stable")
        values = np.asarray(self.values, dtype=float)[order]
        w = np.asarray(self.weights if self.weights is not None else [1.0] * len(values), dtype=float)[order]
        cum = np.cumsum(w) / w.sum()
        idx = np.minimum(np.searchsorted(cum, u, side="right"), len(values) - 1)
        return values[idx]


class FromCatalog(_Strict):
    """A distribution shipped in the catalog (catalog/data/uncertainty.yaml)."""

    kind: Literal["catalog"]
    id: str

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        entries = load_uncertainty_catalog()
        if value not in entries or entries[value].distribution is None:
            known = sorted(k for k, e in entries.items() if e.distribution is not None)
            raise ValueError(f"unknown catalog distribution '{value}'; known: {', '.join(known)}")
        return value

    def resolved(self) -> Any:
        """The catalog entry's distribution (any of the kinds above)."""
        raw = load_uncertainty_catalog()[self.id].distribution or {}
        return _DIST_BY_KIND[raw["kind"]].model_validate(raw)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.resolved().ppf(u)


Distribution = Annotated[
    Fixed | Uniform | Triangular | Normal | LogNormal | Discrete | FromCatalog, Field(discriminator="kind")
]
_DIST_BY_KIND: dict[str, type[BaseModel]] = {
    "fixed": Fixed, "uniform": Uniform, "triangular": Triangular, "normal": Normal,
    "lognormal": LogNormal, "discrete": Discrete, "catalog": FromCatalog,
}


def _number_is_fixed(value: object) -> object:
    """`multiplier: 1.1` is shorthand for `{kind: fixed, value: 1.1}`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"kind": "fixed", "value": value}
    return value


_DIST_FIELDS = (
    "multiplier", "delivery_delay_quarters", "delivered_share", "construction_delay_quarters",
    "energisation_delay_quarters", "shortfall_share", "electricity_multiplier", "cloud_multiplier",
)


class _Factor(_Strict):
    @field_validator(*[f for f in _DIST_FIELDS], mode="before", check_fields=False)
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return _number_is_fixed(value)


# --- credit: when a counterparty stops delivering ---

class DefaultRisk(_Strict):
    """Yearly default probability, given directly, from a CDS spread, or from the catalog.

    From the default quarter on, the counterparty's capacity is gone and nothing more is paid.
    """

    probability_per_year: Fraction | None = None
    cds_spread: NonNeg | None = Field(None, description="yearly spread as a decimal (0.0128 = 128 bp)")
    recovery: Annotated[float, Field(ge=0, lt=1)] = RECOVERY_RATE
    catalog: str | None = None
    from_: str | None = Field(None, alias="from", description="quarter the risk starts (default: horizon start)")

    @field_validator("from_", mode="before")
    @classmethod
    def _quarter(cls, value: object) -> object:
        return None if value is None else quarter_label(parse_quarter(str(value)))

    @model_validator(mode="after")
    def _one_source(self) -> DefaultRisk:
        given = [x for x in (self.probability_per_year, self.cds_spread, self.catalog) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of probability_per_year, cds_spread or catalog")
        if self.catalog is not None:
            entries = load_uncertainty_catalog()
            if self.catalog not in entries or entries[self.catalog].kind != "default":
                known = sorted(k for k, e in entries.items() if e.kind == "default")
                raise ValueError(f"unknown catalog default '{self.catalog}'; known: {', '.join(known)}")
        return self

    @property
    def annual_probability(self) -> float:
        if self.probability_per_year is not None:
            return self.probability_per_year
        if self.cds_spread is not None:
            return default_probability_from_spread(self.cds_spread, self.recovery)
        return load_uncertainty_catalog()[self.catalog or ""].annual_default_probability


class DemandFactor(_Factor):
    demand: str = Field("all", description="a demand id, or 'all'")
    multiplier: Distribution


class ProviderFactor(_Factor):
    provider: str
    default: DefaultRisk


class ContractFactor(_Factor):
    contract: str
    default: DefaultRisk | None = None
    delivery_delay_quarters: Distribution | None = None
    delivered_share: Distribution | None = None


class SiteFactor(_Factor):
    site: str
    construction_delay_quarters: Distribution | None = None
    energisation_delay_quarters: Distribution | None = None


class ChipDealFactor(_Factor):
    deal: str
    shortfall_share: Distribution


class PriceFactors(_Factor):
    electricity_multiplier: Distribution | None = None
    cloud_multiplier: Distribution | None = None


class RevenueFactor(_Factor):
    multiplier: Distribution


class Correlation(_Strict):
    """Spearman rank correlation between two named factors (e.g. demand.all and revenue)."""

    factors: Annotated[list[str], Field(min_length=2, max_length=2)]
    rank: Annotated[float, Field(gt=-1, lt=1)]


class Uncertainty(_Strict):
    method: Literal["lhs", "sobol", "mc"] = "lhs"
    decision_horizon: str | None = Field(
        None, description="first quarter of recourse: builds and rentals started before it are fixed "
                          "(default: one year after the horizon's start)")
    funding_gap_threshold_usd: NonNeg = 0.0
    demand: list[DemandFactor] = Field(default_factory=list)
    providers: list[ProviderFactor] = Field(default_factory=list)
    contracts: list[ContractFactor] = Field(default_factory=list)
    sites: list[SiteFactor] = Field(default_factory=list)
    chip_deals: list[ChipDealFactor] = Field(default_factory=list)
    prices: PriceFactors | None = None
    revenue: RevenueFactor | None = None
    correlations: list[Correlation] = Field(default_factory=list)

    @field_validator("decision_horizon", mode="before")
    @classmethod
    def _quarter(cls, value: object) -> object:
        return None if value is None else quarter_label(parse_quarter(str(value)))


# --- the sample space ---

@dataclass(frozen=True)
class FactorSpec:
    """One dimension of the sample space: a name and the inverse CDF that gives its value."""

    name: str
    ppf: Callable[[np.ndarray], np.ndarray]
    describe: str


def _default_quarter_ppf(risk: DefaultRisk, first: int, start: int) -> Callable[[np.ndarray], np.ndarray]:
    """Absolute quarter of default (inf: none): geometric with the quarterly hazard."""
    p = risk.annual_probability
    begin = parse_quarter(risk.from_) if risk.from_ else start

    def ppf(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if p <= 0:
            return np.full_like(u, np.inf)
        if p >= 1:
            return np.full_like(u, float(begin))
        q = 1.0 - (1.0 - p) ** 0.25
        survived = np.floor(np.log1p(-np.minimum(u, 1 - 1e-16)) / math.log1p(-q))
        return begin + survived

    return ppf


def factor_specs(u: Uncertainty, horizon_start: str) -> list[FactorSpec]:
    """Every factor the section names, in a fixed order (the sample's columns)."""
    start = parse_quarter(horizon_start)
    specs: list[FactorSpec] = []

    def add(name: str, dist: Any, describe: str) -> None:
        if dist is not None:
            specs.append(FactorSpec(name, dist.ppf, describe))

    for d in u.demand:
        add(f"demand.{d.demand}", d.multiplier, f"demand multiplier ({d.demand})")
    for pf in u.providers:
        specs.append(FactorSpec(f"provider.{pf.provider}.default", _default_quarter_ppf(pf.default, start, start),
                                f"quarter {pf.provider} defaults"))
    for c in u.contracts:
        if c.default is not None:
            specs.append(FactorSpec(f"contract.{c.contract}.default", _default_quarter_ppf(c.default, start, start),
                                    f"quarter contract {c.contract} defaults"))
        add(f"contract.{c.contract}.delay", c.delivery_delay_quarters, f"delivery delay of {c.contract}, quarters")
        add(f"contract.{c.contract}.delivered_share", c.delivered_share, f"share of {c.contract} delivered")
    for s in u.sites:
        add(f"site.{s.site}.construction_delay", s.construction_delay_quarters, f"construction delay at {s.site}, quarters")
        add(f"site.{s.site}.energisation_delay", s.energisation_delay_quarters, f"grid energisation delay at {s.site}, quarters")
    for deal in u.chip_deals:
        add(f"chip_deal.{deal.deal}.shortfall", deal.shortfall_share, f"supply shortfall of {deal.deal}")
    if u.prices is not None:
        add("prices.electricity", u.prices.electricity_multiplier, "electricity price multiplier")
        add("prices.cloud", u.prices.cloud_multiplier, "cloud price multiplier")
    if u.revenue is not None:
        add("revenue", u.revenue.multiplier, "revenue multiplier")
    return specs


def scenario_ids(s: Any) -> dict[str, set[str]]:
    """The ids a factor may name, by kind (s: a Scenario)."""
    return {
        "demand": {d.id for d in [*s.demand.training, *s.demand.inference]},
        "providers": {p.id for p in s.providers},
        "contracts": {c.id for c in s.contracts},
        "sites": {x.id for x in s.sites},
        "chip_deals": {d.id for d in s.chip_deals},
    }


def reference_problems(u: Uncertainty, ids: dict[str, set[str]],
                       horizon_start: str) -> list[tuple[tuple[Any, ...], str]]:
    """Factors that name something the scenario does not have (located, with the ids that exist)."""
    problems: list[tuple[tuple[Any, ...], str]] = []

    def check(loc: tuple[Any, ...], kind: str, value: str, known: set[str]) -> None:
        if value not in known:
            problems.append((("uncertainty", *loc), f"unknown {kind} '{value}'; known: {', '.join(sorted(known)) or 'none'}"))

    for i, d in enumerate(u.demand):
        check(("demand", i, "demand"), "demand", d.demand, ids["demand"] | {"all"})
    for i, pf in enumerate(u.providers):
        check(("providers", i, "provider"), "provider", pf.provider, ids["providers"])
    for i, c in enumerate(u.contracts):
        check(("contracts", i, "contract"), "contract", c.contract, ids["contracts"])
    for i, s in enumerate(u.sites):
        check(("sites", i, "site"), "site", s.site, ids["sites"])
    for i, deal in enumerate(u.chip_deals):
        check(("chip_deals", i, "deal"), "chip deal", deal.deal, ids["chip_deals"])
    names = {f.name for f in factor_specs(u, horizon_start)}
    for i, corr in enumerate(u.correlations):
        for j, name in enumerate(corr.factors):
            check(("correlations", i, "factors", j), "factor", name, names)
    return problems
