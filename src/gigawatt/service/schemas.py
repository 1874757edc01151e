"""The API's request and response bodies (pydantic), as the OpenAPI schema shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                            description="letters, digits, '.', '_' or '-'; at most 100")]
Role = Literal["viewer", "editor", "admin"]
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
RunKind = Literal["plan", "simulate", "stress"]


def when(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t is not None else None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str = Field(description="what is wrong and what to do about it")
    code: str
    location: dict[str, Any] | None = Field(None, description="file, line and path of a scenario error")
    errors: list[dict[str, Any]] | None = None
    run_status: str | None = Field(None, description="the run's status, when results are not there")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    database: Literal["sqlite", "postgresql"]


class WorkspaceOut(BaseModel):
    name: str
    role: Role
    created_at: datetime
    scenarios: int
    runs: dict[str, int] = Field(description="runs by status")


class TokenIn(Strict):
    role: Role
    name: str = Field("", max_length=100)
    expires_in_days: float | None = Field(None, gt=0, le=3650)


class TokenOut(BaseModel):
    id: str
    role: Role
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


class TokenCreated(TokenOut):
    token: str = Field(description="the secret: shown this once, stored only as a hash")


class ScenarioIn(Strict):
    name: Name
    yaml: str = Field(description="the scenario YAML, as `gigawatt validate` reads it")


class ScenarioOut(BaseModel):
    id: str
    name: str
    version: int
    sha256: str
    size: int
    created_at: datetime
    yaml: str | None = Field(None, description="present when one version is asked for")


class ScenarioPage(BaseModel):
    items: list[ScenarioOut]


class _RunIn(Strict):
    scenario: Name = Field(description="scenario name in this workspace")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="scenario version (default: the latest)")


class PlanRunIn(_RunIn):
    kind: Literal["plan"]


class SimulateRunIn(_RunIn):
    kind: Literal["simulate"]
    seed: int = Field(0, ge=0, lt=2**63, description="random seed: same seed, same events")
    policy: str | None = Field(None, max_length=50, description="scheduling policy (default: the scenario's)")
    until_s: float | None = Field(None, gt=0, le=1e10, description="simulated seconds (default: all jobs end)")
    failures: bool = Field(True, description="accelerator failures at the catalog's rate")
    period: str | None = Field(None, max_length=10, description="quarter the fleet is taken at, e.g. 2027Q4")


class StressRunIn(_RunIn):
    kind: Literal["stress"]
    plan_run: str = Field(pattern=r"^[0-9a-f]{32}$", description="a succeeded plan run of this scenario")
    samples: int = Field(200, ge=1, le=100_000, description="number of sampled futures")
    seed: int = Field(0, ge=0, lt=2**63, description="random seed: same seed, same futures")
    decision_horizon: str | None = Field(None, max_length=10,
                                         description="first quarter of recourse (default: a year in)")


RunIn = Annotated[PlanRunIn | SimulateRunIn | StressRunIn, Field(discriminator="kind")]


class ScenarioRef(BaseModel):
    name: str
    version: int


class Timings(BaseModel):
    queued_s: float | None = Field(description="from creation to the latest start")
    running_s: float | None = Field(description="from the latest start to the end (or now)")


class RunOut(BaseModel):
    id: str
    kind: RunKind
    status: RunStatus
    progress: float = Field(ge=0, le=1)
    phase: str
    scenario: ScenarioRef
    options: dict[str, Any]
    attempts: int
    error: str | None
    cancel_requested: bool
    gigawatt_version: str | None = Field(description="the gigawatt version that produced the result")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timings: Timings


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class LogLine(BaseModel):
    id: int
    at: datetime
    line: str


class RunLogOut(BaseModel):
    lines: list[LogLine]
    next_after: int = Field(description="pass as ?after= to get only newer lines")


class ResultIndex(BaseModel):
    run: str
    kind: RunKind
    tables: list[str]
    summary: dict[str, Any]


class TableOut(BaseModel):
    table: str
    columns: list[str]
    rows: list[dict[str, Any]]


class CompareOut(BaseModel):
    a: str
    b: str
    npv_usd: dict[str, float | None]
    status: dict[str, str]
    capacity_mw: list[dict[str, Any]] = Field(description="period, provider, a, b, change (MW)")
    spend_usd: list[dict[str, Any]] = Field(description="year, a, b, change (USD)")
    funding_gap_usd: list[dict[str, Any]]
    unmet: dict[str, float]
    binding: dict[str, list[str]] = Field(description="limits binding only in a, only in b")


class ScenarioCheck(BaseModel):
    valid: Literal[True]
    summary: str
