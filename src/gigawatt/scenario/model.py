"""The scenario schema: supply, demand, money and policy in one file.

Units live in field names. Periods are quarter labels (``2027Q3``); a value
given per year or per quarter is a mapping from label to number.
"""

from __future__ import annotations

import re
import typing
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gigawatt.periods import parse_quarter, quarter_label, quarter_range
from gigawatt.scenario.uncertainty import Uncertainty

Quarter = Annotated[str, Field(description="quarter label like 2027Q3 (2027-08 and 2027 work too)")]
# Every number has an upper bound that keeps it meaningful and keeps sums of it finite; the
# named ones below are the ranges a person could mean (1 TW of power, $10M per accelerator).
LARGEST = 1e15
NonNeg = Annotated[float, Field(ge=0, le=LARGEST)]
Positive = Annotated[float, Field(gt=0, le=LARGEST)]
Fraction = Annotated[float, Field(ge=0, le=1)]
AVAILABILITY_HELP = ("share of the time held accelerators do useful work in operations (ETTR for training, "
                     "served share for inference; `gigawatt plan --derate-from SIMDIR` measures it): the plan "
                     "holds 1/availability times the accelerators")
Availability = Annotated[float, Field(ge=0.01, le=1, description=AVAILABILITY_HELP)]
MW = Annotated[float, Field(ge=0, le=1e6, description="MW (at most 1 TW)")]
USD = Annotated[float, Field(ge=0, le=1e14, description="USD (at most $100T)")]
Accelerators = Annotated[float, Field(ge=0, le=1e9, description="accelerators (at most 1e9)")]
UnitPrice = Annotated[float, Field(gt=0, le=1e7, description="USD per accelerator (at most $10M)")]
HourlyPrice = Annotated[float, Field(ge=0, le=1e4, description="USD per accelerator-hour")]
EnergyPrice = Annotated[float, Field(ge=0, le=1e4, description="USD per MWh")]
FacilityPrice = Annotated[float, Field(ge=0, le=1e9, description="USD per MW")]
ExaflopsPerS = Annotated[float, Field(ge=0, le=1e6, description="EF/s (at most 1e6)")]
Exaflop = Annotated[float, Field(gt=0, le=1e15, description="1e18 FLOP (at most 1e33 FLOP)")]
Years = Annotated[float, Field(gt=0, le=100)]
Hours = Annotated[float, Field(ge=0, le=350_400, description="hours (at most 40 years)")]
Minutes = Annotated[float, Field(ge=0, le=1e6)]
MAX_HORIZON_QUARTERS = 160          # 40 years
FIRST_YEAR, LAST_YEAR = 1990, 2150


def _is_id(value: str) -> str:
    """Ids are short ASCII slugs, so two ids that look the same are the same."""
    if not _ID.fullmatch(value):
        shown = value.encode("ascii", "backslashreplace").decode()[:60]
        raise ValueError(
            f"id '{shown}' must be 1-64 characters of letters, digits, '_', '-', '.' or ':' "
            "starting with a letter or digit (no spaces, no invisible or non-ASCII characters)"
        )
    return value


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
Id = Annotated[str, AfterValidator(_is_id)]


def _allows_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    return any(_allows_bool(a) for a in typing.get_args(annotation))


def _has_number(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    return any(_has_number(a) for a in typing.get_args(annotation))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """`max_power_mw: true` is a mistake, not 1 MW: numbers must be written as numbers."""
        if info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        if _allows_bool(annotation) or not _has_number(annotation):
            return value
        found = value if isinstance(value, bool) else None
        if isinstance(value, dict):
            found = next((v for v in value.values() if isinstance(v, bool)), None)
        elif isinstance(value, list):
            found = next((v for v in value if isinstance(v, bool)), None)
        if found is not None:
            raise ValueError(f"expected a number, got {str(found).lower()}; write the number itself")
        return value


def _normal_quarter(value: str | int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a quarter label like 2027Q3 (2027-08 and 2027 work too)")
    return quarter_label(parse_quarter(value))


class Horizon(Strict):
    start: Quarter = "2025Q1"
    end: Quarter = "2032Q4"

    _norm = field_validator("start", "end", mode="before")(_normal_quarter)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        start, end = parse_quarter(self.start), parse_quarter(self.end)
        if end < start:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them")
        if end - start + 1 > MAX_HORIZON_QUARTERS:
            raise ValueError(f"horizon {self.start}-{self.end} is {end - start + 1} quarters; "
                             f"plan at most {MAX_HORIZON_QUARTERS} quarters (40 years)")
        if not FIRST_YEAR * 4 <= start <= end < (LAST_YEAR + 1) * 4:
            raise ValueError(f"horizon years must lie in {FIRST_YEAR}-{LAST_YEAR}")
        return self

    @property
    def periods(self) -> list[str]:
        return quarter_range(self.start, self.end)


class Money(Strict):
    discount_rate: Annotated[float, Field(ge=0, lt=1)] | None = None
    base_year: Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)] | None = Field(
        default=None, description="NPVs are present values at the start of this year; default: the horizon's first year"
    )


class ProviderKind(StrEnum):
    owned = "owned"
    cloud = "cloud"
    neocloud = "neocloud"
    colocation = "colocation"
    vendor = "vendor"


class Provider(Strict):
    id: Id
    kind: ProviderKind = ProviderKind.cloud
    name: str | None = None


class AcceleratorOverride(Strict):
    """Override catalog values for one accelerator (or define a new one)."""

    id: Id
    bf16_dense_tflops: Annotated[float, Field(gt=0, le=1e7)] | None = None
    it_kw: Annotated[float, Field(gt=0, le=1e4)] | None = None
    unit_price_usd: UnitPrice | None = Field(None, description=(
        "installed USD per accelerator (its share of server or rack, scale-out network and storage; "
        "facility is charged per MW) at the model's catalog price date (its launch, "
        "`gigawatt catalog`); for a model the catalog lacks, at the horizon's start. It holds "
        "before that quarter and falls by price_decline_per_year after it"))
    price_decline_per_year: Annotated[float, Field(ge=0, lt=1)] | None = Field(None, description=(
        "share of the installed price lost per year after the model's price date "
        "(default: the catalog's per-model figure, 0 = prices hold while the model sells)"))
    life_years: Years | None = None


class SiteKind(StrEnum):
    owned = "owned"
    colocation = "colocation"
    cloud_region = "cloud_region"


class PowerStep(Strict):
    """Grid power available to a site from a quarter on (cumulative, not additive)."""

    from_: Quarter = Field(alias="from")
    mw: MW

    _norm = field_validator("from_", mode="before")(_normal_quarter)


class Site(Strict):
    id: Id
    provider: str
    kind: SiteKind = SiteKind.owned
    country: str = "US"
    region: str | None = None
    max_power_mw: MW
    existing_mw: MW = 0
    energisation: list[PowerStep] = Field(default_factory=list)
    pue: Annotated[float, Field(ge=1, le=3)] | None = None
    electricity_usd_per_mwh: EnergyPrice | None = None
    facility_capex_usd_per_it_mw: FacilityPrice | None = Field(
        default=None, description="facility capex per MW of IT (critical) load, as the catalog and `quote` quote it"
    )
    construction_lead_time_quarters: Annotated[int, Field(ge=0, le=40)] | None = None
    accelerators: list[str] = Field(default_factory=list, description="accelerators allowed here; empty = any buyable")

    @model_validator(mode="after")
    def _existing_fits(self) -> Site:
        if self.existing_mw > self.max_power_mw:
            raise ValueError(
                f"existing_mw {self.existing_mw} exceeds max_power_mw {self.max_power_mw}; raise max_power_mw"
            )
        return self


class CloudTerm(Strict):
    quarters: Annotated[int, Field(ge=1, le=40)] = 1
    price_usd_per_accelerator_hour: HourlyPrice


class CloudOffer(Strict):
    id: Id
    provider: str
    region: str = Field(default="us", description="where the capacity is; demand limited to other regions cannot use it")
    accelerator: str
    terms: list[CloudTerm] = Field(min_length=1)
    max_accelerators: Accelerators | None = None
    available_from: Quarter | None = None
    withdrawn_from: Quarter | None = Field(
        default=None, description="first quarter the provider no longer sells it: nothing is rented from then "
        "and terms still running end there (not delivered, not paid)")

    _norm = field_validator("available_from", "withdrawn_from", mode="before")(
        lambda v: None if v is None else _normal_quarter(v)
    )


class ContractStatus(StrEnum):
    """How firm a deal is. Only statuses in `policy.statuses_in_force` are planned with."""

    confirmed = "confirmed"
    reported = "reported"
    loi = "loi"
    superseded = "superseded"


class Contract(Strict):
    """A signed capacity contract: fixed capacity and a payment schedule."""

    id: Id
    counterparty: str
    region: str = "us"
    accelerator: str
    capacity_accelerators: Accelerators | None = None
    capacity_mw: MW | None = None
    start: Quarter
    term_quarters: Annotated[int, Field(ge=1, le=80)]
    payment_usd_per_year: USD | None = None
    total_usd: USD | None = None
    take_or_pay: bool = Field(
        default=True, description="pay the full schedule whether used or not; false: pay for what is used"
    )
    min_take_share: Fraction | None = Field(
        default=None, description="without take-or-pay: the share of capacity paid for even if unused (default 0)"
    )
    status: ContractStatus = ContractStatus.confirmed
    catalog_deal: str | None = None

    _norm = field_validator("start", mode="before")(_normal_quarter)

    @property
    def usd_per_quarter(self) -> float:
        """Payment in each quarter of the term (a yearly figure, or the total spread evenly)."""
        if self.payment_usd_per_year is not None:
            return self.payment_usd_per_year / 4
        return (self.total_usd or 0.0) / self.term_quarters

    @model_validator(mode="after")
    def _one_capacity_one_payment(self) -> Contract:
        if (self.capacity_accelerators is None) == (self.capacity_mw is None):
            raise ValueError("give exactly one of capacity_accelerators or capacity_mw")
        if (self.payment_usd_per_year is None) == (self.total_usd is None):
            raise ValueError("give exactly one of payment_usd_per_year or total_usd")
        if self.take_or_pay and self.min_take_share is not None:
            raise ValueError("min_take_share applies only with take_or_pay: false; remove it or set take_or_pay: false")
        return self


class Equity(Strict):
    kind: Literal["warrant", "investment", "none"] = "none"
    shares: NonNeg | None = None
    strike_usd: NonNeg | None = None
    value_usd: NonNeg | None = None
    note: str | None = None


class ChipDeal(Strict):
    id: Id
    vendor: str
    accelerator: str
    units_per_quarter: Accelerators | None = None
    mw_per_quarter: MW | None = None
    start: Quarter
    end: Quarter
    unit_price_usd: Annotated[float, Field(ge=0, le=1e7)] | None = Field(None, description=(
        "negotiated installed USD per accelerator for every unit bought from start to end (flat, "
        "no decline); where deals for one accelerator overlap, the lowest price applies"))
    equity: Equity = Field(default_factory=Equity)
    status: ContractStatus = ContractStatus.confirmed
    catalog_deal: str | None = None

    _norm = field_validator("start", "end", mode="before")(_normal_quarter)

    @model_validator(mode="after")
    def _one_volume(self) -> ChipDeal:
        if (self.units_per_quarter is None) == (self.mw_per_quarter is None):
            raise ValueError("give exactly one of units_per_quarter or mw_per_quarter")
        if parse_quarter(self.end) < parse_quarter(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class TrainingRun(Strict):
    id: Id
    total_exaflop: Exaflop | None = Field(None, description="useful work, in 1e18 FLOP")
    accelerator_hours: Annotated[float, Field(gt=0, le=1e13)] | None = Field(
        None, description="in reference-accelerator hours")
    reference_accelerator: str | None = None
    start: Quarter
    end: Quarter
    min_colocated_accelerators: Accelerators = 0
    allowed_accelerators: list[str] = Field(default_factory=list)
    mfu: Annotated[float, Field(gt=0, le=1)] = 0.4
    availability: Availability = 1.0
    colocated: bool | None = Field(
        None, description="must run in one place; default: yes when min_colocated_accelerators > 0"
    )
    regions: list[str] = Field(
        default_factory=list,
        description="regions that may run it ('us' admits 'us' and 'us-east'); empty: anywhere",
    )
    miss_penalty_usd: Positive | None = Field(
        default=None, description="cost of not completing the run in its window; default: its compute at the unmet price"
    )

    _norm = field_validator("start", "end", mode="before")(_normal_quarter)

    @model_validator(mode="after")
    def _one_size(self) -> TrainingRun:
        if (self.total_exaflop is None) == (self.accelerator_hours is None):
            raise ValueError("give exactly one of total_exaflop or accelerator_hours")
        if self.accelerator_hours is not None and self.reference_accelerator is None:
            raise ValueError("accelerator_hours needs reference_accelerator (which accelerator's hours)")
        if parse_quarter(self.end) < parse_quarter(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class InferenceLoad(Strict):
    """Inference FLOP/s over time: explicit points, or a start value with yearly growth."""

    id: Id
    regions: list[str] = Field(
        default_factory=list,
        description="regions that may serve it ('us' admits 'us' and 'us-east'); empty: anywhere",
    )
    exaflops: dict[Quarter, ExaflopsPerS] = Field(default_factory=dict, description="delivered EF/s by quarter")
    start_exaflops: ExaflopsPerS | None = None
    growth_per_year: Annotated[float, Field(ge=-0.9, le=20)] = 0.0
    start: Quarter | None = None
    allowed_accelerators: list[str] = Field(default_factory=list)
    utilization: Annotated[float, Field(gt=0, le=1)] = 0.35
    availability: Availability = 1.0

    @field_validator("exaflops", mode="before")
    @classmethod
    def _norm_keys(cls, v: object) -> object:
        if isinstance(v, dict):
            out: dict[str, object] = {}
            for k, x in v.items():
                q = _normal_quarter(k)
                if q in out:
                    raise ValueError(f"'{k}' is the same quarter ({q}) as another key; keep one")
                out[q] = x
            return out
        return v

    _norm = field_validator("start", mode="before")(lambda v: None if v is None else _normal_quarter(v))

    @model_validator(mode="after")
    def _one_shape(self) -> InferenceLoad:
        if bool(self.exaflops) == (self.start_exaflops is not None):
            raise ValueError("give either exaflops (by quarter) or start_exaflops with growth_per_year")
        return self


class Demand(Strict):
    training: list[TrainingRun] = Field(default_factory=list)
    inference: list[InferenceLoad] = Field(default_factory=list)


class Finance(Strict):
    budget_usd_per_year: dict[int, USD] = Field(default_factory=dict)
    revenue_usd_per_year: dict[int, USD] = Field(default_factory=dict)
    it_life_years: Years | None = None
    facility_life_years: Years | None = None


class StochasticPolicy(Strict):
    """Plan once for sampled futures (`gigawatt plan --stochastic`): builds and terms signed before
    the uncertainty section's decision horizon are shared, the rest adapts in each future."""

    futures: Annotated[int, Field(ge=1, le=10_000)] = Field(description="futures drawn from the uncertainty section")
    risk_alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.95, description="CVaR level: the mean cost of the worst (1 - alpha) of futures")
    risk_weight: Annotated[float, Field(ge=0, le=1e3)] = Field(
        default=0.0, description="weight of CVaR beside the expected cost (0: risk-neutral)")
    seed: Annotated[int, Field(ge=0)] = Field(default=0, description="the sampler's seed (as `gigawatt stress --seed`)")
    out_of_sample: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=100, description="fresh futures (seed + 1) in which the deterministic and the hedged plan are "
        "stressed side by side; 0: no check")
    batches: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=1, description="1: one extensive form over all futures; K > 1: K extensive forms over a share "
        "each, the best proposal in all futures kept (sample-average approximation)")


class Policy(Strict):
    max_provider_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=1.0, description="no provider carries more than this share of the compute served in a period"
    )
    n_minus_1_alpha: Fraction = Field(
        default=0.0, description="without any one provider, the rest can still serve this share of each demand's need"
    )
    unmet_penalty_usd_per_exaflop_day: Annotated[float, Field(gt=0, le=1e12)] | None = Field(
        default=None, description="cost of inference compute not served, per effective EF/s-day; "
                          "default: twice what the catalog's dearest cloud price makes an effective "
                          "EF/s-day (peak over utilisation x availability)"
    )
    statuses_in_force: list[ContractStatus] = Field(
        default_factory=lambda: [ContractStatus.confirmed, ContractStatus.reported],
        description="contracts and chip deals with these statuses are planned with; others are left out",
    )
    mip_gap: Annotated[float, Field(gt=0, lt=1)] = 0.005
    time_limit_s: Annotated[float, Field(gt=0, le=86_400)] = 120
    stochastic: StochasticPolicy | None = Field(
        default=None, description="plan one first stage for futures sampled from the uncertainty section")


class OutageSpec(Strict):
    """A scripted outage: a pool, site or provider down for a while (hours from the start)."""

    target: str
    start_hours: Hours
    duration_hours: Annotated[float, Field(gt=0, le=350_400)]


class RandomOutages(Strict):
    """Random whole-provider outages: Poisson arrivals per provider, exponential durations."""

    rate_per_provider_year: Annotated[float, Field(ge=0, le=1e4)] = 0.0
    mean_duration_hours: Annotated[float, Field(gt=0, le=350_400)] = 12.0


class Operations(Strict):
    """How the fleet is operated in simulation; unset values come from the catalog."""

    policy: str = "fifo"
    failure_rate_per_accelerator_hour: Annotated[float, Field(ge=0, le=1)] | None = None
    repair_hours: Hours | None = None
    restart_minutes: Minutes | None = None
    checkpoint_minutes: Annotated[float, Field(gt=0, le=1e6)] | None = None
    outages: list[OutageSpec] = Field(default_factory=list)
    random_outages: RandomOutages = Field(default_factory=RandomOutages)


class Scenario(Strict):
    name: str = "scenario"
    description: str | None = None
    horizon: Horizon = Field(default_factory=Horizon)
    money: Money = Field(default_factory=Money)
    providers: list[Provider] = Field(default_factory=list)
    accelerators: list[AcceleratorOverride] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    cloud_offers: list[CloudOffer] = Field(default_factory=list)
    contracts: list[Contract] = Field(default_factory=list)
    chip_deals: list[ChipDeal] = Field(default_factory=list)
    demand: Demand = Field(default_factory=Demand)
    finance: Finance = Field(default_factory=Finance)
    policy: Policy = Field(default_factory=Policy)
    operations: Operations = Field(default_factory=Operations)
    uncertainty: Uncertainty | None = Field(None, exclude=True)  # not in the plan's scenario hash
