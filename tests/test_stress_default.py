"""A provider's default ends its cloud offers too: nothing new rented, running terms end unpaid.

Hand case: two cloud providers sell H100 (cheap at $2/h, dear at $5/h) over six quarters
(2026Q1-2027Q2, 10% a year discounting) to one inference demand. The plan rents the cheap
one throughout; its first stage (before the decision horizon, 2026Q3) is the cheap rentals.
In a future where the cheap provider defaults for sure from 2026Q3, the cheap offer delivers
and is paid for 2026Q1-Q2 only (a 4-quarter term started in 2026Q1 ends there), and the dear
one serves 2026Q3-2027Q2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from stress_helpers import stress_plan, stress_scenario

from gigawatt.periods import HOURS_PER_QUARTER, parse_quarter
from gigawatt.plan import plan as make_plan
from gigawatt.plan.inputs import build_inputs
from gigawatt.scenario import Scenario
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.uncertainty import factor_specs
from gigawatt.stress.evaluate import InPlaceEvaluator, RebuildEvaluator
from gigawatt.stress.first_stage import first_stage
from gigawatt.stress.inputs import SampledInputs

H100_EF = 989e-6
UNITS = 1.0 / 0.5 / H100_EF                        # 1 EF/s at 50% utilisation on H100s
CHEAP, DEAR = 2.0, 5.0
RATE = 0.10
DISCOUNT = [(1 + RATE) ** -(k / 4) for k in range(6)]   # 2026Q1 .. 2027Q2, to the start of 2026
DEFAULT_Q = float(parse_quarter("2026Q3"))


def _scenario(term_quarters: int, probability: float) -> Scenario:
    return Scenario.model_validate({
        "name": "cloud-default",
        "horizon": {"start": "2026Q1", "end": "2027Q2"},
        "money": {"discount_rate": RATE},
        "providers": [{"id": "cheapco", "kind": "cloud"}, {"id": "dearco", "kind": "cloud"}],
        "cloud_offers": [
            {"id": "cheap-h100", "provider": "cheapco", "accelerator": "nvidia_h100_sxm",
             "terms": [{"quarters": term_quarters, "price_usd_per_accelerator_hour": CHEAP}]},
            {"id": "dear-h100", "provider": "dearco", "accelerator": "nvidia_h100_sxm",
             "terms": [{"quarters": 1, "price_usd_per_accelerator_hour": DEAR}]},
        ],
        "demand": {"inference": [{"id": "api", "start": "2026Q1", "start_exaflops": 1.0, "utilization": 0.5}]},
        "uncertainty": {"decision_horizon": "2026Q3", "providers": [
            {"provider": "cheapco", "default": {"probability_per_year": probability, "from": "2026Q3"}}]},
    })


def _sure_default(s: Scenario) -> float:
    spec = next(f for f in factor_specs(s.uncertainty, s.horizon.start) if f.name == "provider.cheapco.default")
    return float(spec.ppf(np.array([0.5]))[0])


def _npv(ev: InPlaceEvaluator, values: dict[str, float]) -> float:
    return next(r[3] for r in ev.evaluate(0, values) if r[1] == "npv_usd")


@pytest.mark.parametrize("term_quarters", [1, 4])
def test_sure_default_moves_rentals_to_the_dear_provider_by_hand(term_quarters: int) -> None:
    s = _scenario(term_quarters, probability=1.0)
    plan = make_plan(s)
    everything_cheap = UNITS * CHEAP * HOURS_PER_QUARTER * sum(DISCOUNT)
    assert plan.npv_usd == pytest.approx(everything_cheap, rel=1e-6)
    fs = first_stage(s, plan)
    assert set(fs.rentals["lot"]) == {f"cheap-h100/{term_quarters}q"}

    quarter = _sure_default(s)
    assert quarter == DEFAULT_Q
    values = {"provider.cheapco.default": quarter}
    # cheap for 2026Q1-Q2 (a 4-quarter term started in 2026Q1 ends there, unpaid after), dear from 2026Q3
    want = UNITS * HOURS_PER_QUARTER * (CHEAP * sum(DISCOUNT[:2]) + DEAR * sum(DISCOUNT[2:]))
    assert RebuildEvaluator(s, fs).objective(values) == pytest.approx(want, rel=1e-6)
    ev = InPlaceEvaluator(s, fs)
    assert _npv(ev, values) == pytest.approx(want, rel=1e-6)
    assert _npv(ev, {}) == pytest.approx(everything_cheap, rel=1e-6)   # and back: the live model recovers


@pytest.mark.parametrize("term_quarters", [1, 4])
def test_probability_zero_changes_nothing(term_quarters: int) -> None:
    s = _scenario(term_quarters, probability=0.0)
    fs = first_stage(s, make_plan(s))
    quarter = _sure_default(s)
    assert math.isinf(quarter)
    values = {"provider.cheapco.default": quarter}
    assert apply_sample(s, values).cloud_offers == s.cloud_offers
    everything_cheap = UNITS * CHEAP * HOURS_PER_QUARTER * sum(DISCOUNT)
    assert _npv(InPlaceEvaluator(s, fs), values) == pytest.approx(everything_cheap, rel=1e-6)
    assert RebuildEvaluator(s, fs).objective(values) == pytest.approx(everything_cheap, rel=1e-6)


def test_default_withdraws_the_offer_in_the_inputs() -> None:
    s = _scenario(4, probability=1.0)
    future = apply_sample(s, {"provider.cheapco.default": DEFAULT_Q})
    assert [o.withdrawn_from for o in future.cloud_offers] == ["2026Q3", None]
    p = build_inputs(future)
    assert p.offer_available.sel(offer="cheap-h100").values.tolist() == [True, True, False, False, False, False]
    assert p.offer_available.sel(offer="dear-h100").values.all()
    # the term started in 2026Q1 counts in 2026Q1-Q2 only (it would run to 2026Q4)
    active = p.lot_active_matrix.sel(lot="cheap-h100/4q", vintage="2026Q1").values.tolist()
    assert active == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    # an earlier default never brings a withdrawn offer back
    again = apply_sample(future, {"provider.cheapco.default": DEFAULT_Q + 2})
    assert again.cloud_offers[0].withdrawn_from == "2026Q3"


def test_sampled_inputs_follow_a_cloud_default() -> None:
    s = _scenario(4, probability=1.0)
    fast = SampledInputs(s)
    for q in (DEFAULT_Q - 2, DEFAULT_Q, DEFAULT_Q + 3, DEFAULT_Q + 9, math.inf):
        fast.check({"provider.cheapco.default": q}, rtol=1e-12)
    small = stress_scenario()
    fast = SampledInputs(small)
    fast.check({"provider.aws.default": 2026 * 4 + 2.0, "provider.oracle.default": 2027 * 4 + 1.0}, rtol=1e-12)


def test_small_scenario_in_place_equals_rebuild_when_the_cloud_provider_defaults() -> None:
    s = stress_scenario()
    fs = first_stage(s, stress_plan())
    ev = InPlaceEvaluator(s, fs)
    rebuild = RebuildEvaluator(s, fs)
    for q in ("2026Q2", "2026Q4", "2027Q3"):       # before and after the decision horizon (2027Q1)
        values = {"provider.aws.default": float(parse_quarter(q)), "demand.all": 1.1}
        assert _npv(ev, values) == pytest.approx(rebuild.objective(values), rel=1e-7)
    assert _npv(ev, {}) == pytest.approx(rebuild.objective({}), rel=1e-7)


def test_stochastic_plan_prices_the_cloud_default_in_its_futures() -> None:
    from gigawatt.hedging import plan_stochastic

    s = _scenario(4, probability=0.3)
    futures = [{"provider.cheapco.default": DEFAULT_Q}, {"provider.cheapco.default": math.inf}]
    got = plan_stochastic(s, futures, probabilities=[0.3, 0.7], value_of_hedging=False)
    defaulted = UNITS * HOURS_PER_QUARTER * (CHEAP * sum(DISCOUNT[:2]) + DEAR * sum(DISCOUNT[2:]))
    kept = UNITS * HOURS_PER_QUARTER * CHEAP * sum(DISCOUNT)
    assert got.metadata["stochastic"]["expected_cost_usd"] == pytest.approx(0.3 * defaulted + 0.7 * kept, rel=1e-6)


def test_simulated_fleet_leaves_out_a_withdrawn_offer() -> None:
    from gigawatt.sim.from_scenario import fleet_from_scenario

    s = _scenario(1, probability=0.0)
    capped = s.model_copy(update={"cloud_offers": [
        o.model_copy(update={"max_accelerators": 1000.0, "withdrawn_from": "2026Q3" if o.id == "cheap-h100" else None})
        for o in s.cloud_offers]})
    assert {p.id for p in fleet_from_scenario(capped, "2026Q2").pools} == {"cheap-h100", "dear-h100"}
    assert {p.id for p in fleet_from_scenario(capped, "2026Q3").pools} == {"dear-h100"}


def test_batched_stochastic_plan_evaluates_each_proposal_in_the_defaulted_future() -> None:
    """Two batches of one future each, decision horizon 2027Q1: the defaulted future's plan rents
    the dear offer in 2026Q3-Q4, the other the cheap one. Each proposal is evaluated in both
    futures by one live model (refix): the cheap proposal's 2026Q3-Q4 rentals are not delivered
    where cheapco defaults, so that quarter's demand goes unmet."""
    from gigawatt.hedging import plan_stochastic

    pen_day = 1.0e6
    s = _scenario(1, probability=0.3)
    s = s.model_copy(update={
        "uncertainty": s.uncertainty.model_copy(update={"decision_horizon": "2027Q1"}),
        "policy": s.policy.model_copy(update={"unmet_penalty_usd_per_exaflop_day": pen_day})})
    futures = [{"provider.cheapco.default": DEFAULT_Q}, {"provider.cheapco.default": math.inf}]
    got = plan_stochastic(s, futures, probabilities=[0.3, 0.7], batches=2, value_of_hedging=False)
    assert got.metadata["stochastic"]["extensive_form"]["proposals"] == 2

    def rent(price: float, quarters: range) -> float:
        return UNITS * HOURS_PER_QUARTER * price * sum(DISCOUNT[k] for k in quarters)

    unmet = pen_day * HOURS_PER_QUARTER / 24 * 1.0 * sum(DISCOUNT[2:4])
    dear_first = 0.3 * (rent(CHEAP, range(2)) + rent(DEAR, range(2, 6))) + 0.7 * (
        rent(CHEAP, range(2)) + rent(DEAR, range(2, 4)) + rent(CHEAP, range(4, 6)))
    cheap_first = 0.3 * (rent(CHEAP, range(2)) + unmet + rent(DEAR, range(4, 6))) + 0.7 * rent(CHEAP, range(6))
    assert dear_first < cheap_first
    assert got.metadata["stochastic"]["expected_cost_usd"] == pytest.approx(dear_first, rel=1e-6)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_one_live_model_swapping_first_stages_equals_rebuild(order: tuple[int, int]) -> None:
    """evaluate_first_stages holds several first stages in one live model (refix): a withdrawn
    offer's columns must come back with the current first stage's bounds, not the previous one's."""
    from gigawatt.hedging.evaluate import evaluate_first_stages

    s = _scenario(1, probability=0.3)
    s = s.model_copy(update={"uncertainty": s.uncertainty.model_copy(update={"decision_horizon": "2027Q1"})})
    futures = [{"provider.cheapco.default": DEFAULT_Q}, {"provider.cheapco.default": math.inf}]
    stages = [first_stage(s, make_plan(s)), first_stage(s, make_plan(apply_sample(s, futures[0])))]
    assert not stages[0].rentals.equals(stages[1].rentals)
    stages = [stages[i] for i in order]
    tables = evaluate_first_stages(s, stages, futures)
    for fs, table in zip(stages, tables, strict=True):
        npv = table[table["metric"] == "npv_usd"].set_index("sample")["value"]
        rebuild = RebuildEvaluator(s, fs)
        for i, values in enumerate(futures):
            assert npv[i] == pytest.approx(rebuild.objective(values), rel=1e-7)
