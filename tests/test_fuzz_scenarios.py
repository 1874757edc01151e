"""`validate` accepts exactly what `plan` and `simulate` can run.

Hypothesis draws small scenarios whose numbers run over the whole range the schema accepts
(zeros, the largest allowed values, tiny positives); whatever `parse_scenario` accepts must
plan and simulate without raising anything but a GigawattError.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gigawatt.errors import GigawattError, ScenarioError
from gigawatt.periods import quarter_label
from gigawatt.scenario import parse_scenario

ACCS = ["nvidia_h100_sxm", "nvidia_gb200_nvl72", "amd_mi300x"]
START = 2026 * 4


def edge(low: float, high: float) -> st.SearchStrategy[float]:
    """Numbers a careless or hostile user writes: the ends of the range, and anything between
    on a log scale (so 1e-3 and 1e6 are as likely as 5e5)."""
    ends = [low, high]
    if low <= 1 <= high:
        ends.append(1.0)
    floor = max(low, high * 1e-12) if low <= 0 else low
    between = st.floats(math.log10(floor), math.log10(high)).map(lambda e: min(high, max(low, 10**e)))
    return st.one_of(st.sampled_from(ends), between, between)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    end = quarter_label(START + n - 1)
    sites = [
        {"id": f"s{i}", "provider": "self", "max_power_mw": draw(edge(0, 1e6)),
         "construction_lead_time_quarters": draw(st.integers(0, 2)),
         "pue": draw(edge(1, 3)), "electricity_usd_per_mwh": draw(edge(0, 1e4)),
         "facility_capex_usd_per_mw": draw(edge(0, 1e9)),
         "accelerators": draw(st.lists(st.sampled_from(ACCS), max_size=2, unique=True))}
        for i in range(draw(st.integers(0, 1)))
    ]
    offers = [
        {"id": f"o{i}", "provider": "cloud", "accelerator": draw(st.sampled_from(ACCS)),
         "terms": [{"quarters": draw(st.integers(1, 4)),
                    "price_usd_per_accelerator_hour": draw(edge(0, 1e4))}],
         **({"max_accelerators": draw(edge(0, 1e9))} if draw(st.booleans()) else {})}
        for i in range(draw(st.integers(0, 2)))
    ]
    contracts = []
    if draw(st.booleans()):
        contracts.append({"id": "c", "counterparty": "cloud", "accelerator": draw(st.sampled_from(ACCS)),
                          "capacity_accelerators": draw(edge(0, 1e9)), "start": quarter_label(START),
                          "term_quarters": draw(st.integers(1, 4)),
                          "total_usd": draw(edge(0, 1e14))})
    kinds = draw(st.sampled_from(["inference", "training", "both"]))
    inference = []
    if kinds != "training":
        inference.append({"id": "inf", "start": quarter_label(START), "start_exaflops": draw(edge(0, 1e6)),
                          "growth_per_year": draw(edge(-0.9, 20)), "utilization": draw(edge(0.01, 1))})
    training = []
    if kinds != "inference":
        training.append({"id": "run", "total_exaflop": draw(edge(1e-6, 1e15)), "mfu": draw(edge(0.01, 1)),
                         "start": quarter_label(START), "end": end,
                         "min_colocated_accelerators": draw(st.sampled_from([0, 1, 1e9]))})
    accelerators = []
    if draw(st.booleans()):
        accelerators.append({"id": draw(st.sampled_from(ACCS)), "unit_price_usd": draw(edge(1e-6, 1e7)),
                             "life_years": draw(edge(0.01, 100))})
    return {
        "name": "fuzz",
        "horizon": {"start": quarter_label(START), "end": end},
        "money": {"discount_rate": draw(st.sampled_from([0.0, 0.08, 0.999]))},
        "providers": [{"id": "self", "kind": "owned"}, {"id": "cloud", "kind": "cloud"}],
        "accelerators": accelerators,
        "sites": sites, "cloud_offers": offers, "contracts": contracts,
        "demand": {"inference": inference, "training": training},
        "finance": {"budget_usd_per_year": {2026: draw(edge(0, 1e14))}} if draw(st.booleans()) else {},
        "policy": {"n_minus_1_alpha": draw(st.sampled_from([0.0, 0.5, 1.0])),
                   "max_provider_share": draw(st.sampled_from([1.0, 0.5])),
                   "time_limit_s": 10},
    }


def _accepted(doc: dict[str, Any]) -> Any:
    try:
        return parse_scenario(yaml.safe_dump(doc), file="fuzz.yaml")
    except ScenarioError as exc:
        event(f"invalid: {exc.path}")
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.yaml")
        return None


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenarios())
def test_what_validates_plans(doc: dict[str, Any]) -> None:
    from gigawatt.plan import plan

    s = _accepted(doc)
    if s is None:
        return
    try:
        result = plan(s)
    except GigawattError as exc:
        event(f"plan refused: {type(exc).__name__}")
        return
    event(f"planned: {result.status}")
    assert result.status in ("optimal", "feasible", "shortfall")
    assert result.npv_usd is None or math.isfinite(result.npv_usd)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(scenarios())
def test_what_validates_simulates(doc: dict[str, Any]) -> None:
    from gigawatt.cli.sim_guard import check_simulation_size
    from gigawatt.sim import simulate
    from gigawatt.sim.from_scenario import (
        failures_from_scenario,
        fleet_from_scenario,
        outages_from_scenario,
        workload_from_scenario,
    )

    s = _accepted(doc)
    if s is None:
        return
    try:
        fleet = fleet_from_scenario(s)
        jobs = workload_from_scenario(s)
        failures = failures_from_scenario(s)
        check_simulation_size(jobs, failures, 30 * 86400)       # as `gigawatt simulate` does
        result = simulate(fleet, jobs, s.operations.policy, failures=failures,
                          outages=outages_from_scenario(s, fleet, 30 * 86400, 0), until_s=30 * 86400)
    except GigawattError as exc:
        event(f"simulation refused: {str(exc)[:40]}")
        return
    event("simulated")
    assert 0 <= result.utilization <= 1 + 1e-9
