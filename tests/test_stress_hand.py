"""Hand-checked stress cases: parity with a rebuilt model, default = no provider, p=0 = nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stress_helpers import STRESS_YAML, stress_plan, stress_scenario

from gigawatt.catalog.uncertainty import default_probability_from_spread
from gigawatt.plan.inputs import build_inputs
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.sample import draw
from gigawatt.scenario.uncertainty import factor_specs
from gigawatt.stress.evaluate import InPlaceEvaluator, RebuildEvaluator
from gigawatt.stress.first_stage import first_stage
from gigawatt.stress.risk import cvar


@pytest.fixture(scope="module")
def setup() -> tuple:
    s = stress_scenario()
    fs = first_stage(s, stress_plan())
    return s, fs, InPlaceEvaluator(s, fs)


def _npv(ev: InPlaceEvaluator, values: dict[str, float]) -> float:
    return next(r[3] for r in ev.evaluate(0, values) if r[1] == "npv_usd")


def test_in_place_resolve_equals_rebuild_for_every_factor(setup: tuple) -> None:
    s, fs, ev = setup
    drawn = draw(s.uncertainty, s.horizon.start, 8, seed=11)
    rebuild = RebuildEvaluator(s, fs)
    extreme = {**drawn.sample(0), "provider.oracle.default": float(8105), "contract.oracle-deal.delay": 2.0,
               "site.texas.construction_delay": 4.0, "site.texas.energisation_delay": 3.0,
               "chip_deal.gb200-alloc.shortfall": 0.5, "demand.all": 1.3}
    cloud_default = {**drawn.sample(1), "provider.aws.default": float(2026 * 4 + 2)}   # aws sells nothing from 2026Q3
    for values in [drawn.sample(i) for i in range(8)] + [extreme, cloud_default]:
        assert _npv(ev, values) == pytest.approx(rebuild.objective(values), rel=1e-7)


def test_default_with_probability_one_equals_contract_cut_at_that_date(setup: tuple) -> None:
    s, fs, ev = setup
    # oracle defaults for sure from 2028Q1: its contract (2026Q2, 10 quarters) ends after 2027Q4
    cut_text = STRESS_YAML.replace("term_quarters: 10\n    total_usd: 4.0e+9",
                                   "term_quarters: 7\n    payment_usd_per_year: 1.6e+9")
    cut = stress_scenario(cut_text)
    assert cut.contracts[0].usd_per_quarter == pytest.approx(s.contracts[0].usd_per_quarter)
    defaulted = s.model_copy(update={"uncertainty": s.uncertainty.model_copy(update={
        "providers": [s.uncertainty.providers[0].model_copy(update={
            "default": s.uncertainty.providers[0].default.model_copy(update={
                "catalog": None, "probability_per_year": 1.0, "from_": "2028Q1"})})]})})
    spec = next(f for f in factor_specs(defaulted.uncertainty, s.horizon.start) if f.name == "provider.oracle.default")
    quarter = float(spec.ppf(np.array([0.3]))[0])
    assert quarter == 2028 * 4   # 2028Q1, whatever the draw
    with_default = _npv(ev, {"provider.oracle.default": quarter})
    without = RebuildEvaluator(cut, first_stage(cut, stress_plan())).objective({})
    assert with_default == pytest.approx(without, rel=1e-9)
    # and the contract's payments really stop: 7 of 10 quarters are paid
    p = build_inputs(apply_sample(s, {"provider.oracle.default": quarter}))
    assert float(p.contract_payment.sum()) == pytest.approx(4.0e9 * 7 / 10, rel=1e-12)
    assert float(p.contract_units.sum()) == pytest.approx(30000 * 7, rel=1e-12)


def test_probability_zero_changes_nothing(setup: tuple) -> None:
    s, _, ev = setup
    spec_default = {"probability_per_year": 0.0}
    zero = s.uncertainty.providers[0].default.model_copy(update={"catalog": None, **spec_default})
    spec = [f for f in factor_specs(s.uncertainty.model_copy(update={"providers": [
        s.uncertainty.providers[0].model_copy(update={"default": zero})]}), s.horizon.start)
        if f.name == "provider.oracle.default"][0]
    assert math.isinf(float(spec.ppf(np.array([0.999]))[0]))
    assert _npv(ev, {"provider.oracle.default": math.inf}) == pytest.approx(_npv(ev, {}), rel=1e-12)
    assert apply_sample(s, {"provider.oracle.default": math.inf, "demand.all": 1.0}).contracts == s.contracts


def test_cds_spread_to_default_probability_by_hand() -> None:
    # Oracle Dec 2025: 137.5 bp, recovery 40%: lambda = 0.01375 / 0.6 = 0.0229167; 1 - e^-lambda
    assert default_probability_from_spread(0.01375) == pytest.approx(1 - math.exp(-0.01375 / 0.6), rel=1e-15)
    assert default_probability_from_spread(0.01375) == pytest.approx(0.0226561, rel=1e-5)


def test_quarterly_default_hazard_by_hand() -> None:
    s = stress_scenario()
    risk = s.uncertainty.providers[0].default.model_copy(update={"catalog": None, "probability_per_year": 0.5})
    unc = s.uncertainty.model_copy(update={"providers": [s.uncertainty.providers[0].model_copy(
        update={"default": risk})]})
    spec = next(f for f in factor_specs(unc, s.horizon.start) if f.name == "provider.oracle.default")
    q = 1 - 0.5 ** 0.25                      # quarterly hazard for 50% a year
    # u just below P(default in the first quarter) = q -> first quarter; just above -> second
    assert spec.ppf(np.array([q * 0.999]))[0] == 2026 * 4
    assert spec.ppf(np.array([q * 1.001]))[0] == 2026 * 4 + 1
    assert spec.ppf(np.array([0.5 - 1e-9]))[0] == 2026 * 4 + 3   # half default within the first year


def test_delivery_delay_and_share_by_hand() -> None:
    s = stress_scenario()
    p = build_inputs(apply_sample(s, {"contract.oracle-deal.delay": 2.0, "contract.oracle-deal.delivered_share": 0.5}))
    units = p.contract_units.sel(contract="oracle-deal").to_series()
    # signed 2026Q2 for 10 quarters (to 2028Q3); 2 quarters late: 2026Q4-2028Q3 at half the 30k units
    assert units["2026Q3"] == 0.0 and units["2026Q4"] == 15000.0 and units["2028Q3"] == 15000.0
    assert units["2028Q4"] == 0.0
    assert float(p.contract_payment.sum()) == pytest.approx(4.0e9 / 10 * 8 * 0.5, rel=1e-12)


def test_cvar_by_hand() -> None:
    x = np.arange(1, 101, dtype=float)       # worst 5% of 1..100 = 96..100, mean 98
    assert cvar(x, 0.95) == pytest.approx(98.0, rel=1e-12)
    assert cvar(np.arange(1, 11, dtype=float), 0.85) == pytest.approx((10 + 0.5 * 9) / 1.5, rel=1e-12)


def test_samples_reproducible_and_mc_streams_independent_of_n() -> None:
    s = stress_scenario()
    a = draw(s.uncertainty, s.horizon.start, 10, seed=5, method="mc")
    b = draw(s.uncertainty, s.horizon.start, 30, seed=5, method="mc")
    np.testing.assert_array_equal(a.values, b.values[:10])
    lhs1 = draw(s.uncertainty, s.horizon.start, 50, seed=5)
    lhs2 = draw(s.uncertainty, s.horizon.start, 50, seed=5)
    np.testing.assert_array_equal(lhs1.values, lhs2.values)
    # LHS: each decile of each factor's u holds exactly 5 of 50 samples (before correlation)
    free = [j for j, f in enumerate(lhs1.factors) if f not in ("demand.all", "revenue")]
    for j in free:
        counts = np.bincount((lhs1.u[:, j] * 10).astype(int), minlength=10)
        assert (counts == 5).all()


def test_sampled_inputs_equal_build_inputs_for_many_futures() -> None:
    from gigawatt.stress.inputs import SampledInputs

    s = stress_scenario()
    fast = SampledInputs(s)
    drawn = draw(s.uncertainty, s.horizon.start, 40, seed=3, method="mc")
    for i in range(40):
        fast.check(drawn.sample(i), rtol=1e-12)
    fast.check({"provider.oracle.default": 2026 * 4 + 5.0, "contract.oracle-deal.delay": 3.0,
                "chip_deal.gb200-alloc.shortfall": 1.0, "site.texas.energisation_delay": 9.0,
                "provider.aws.default": 2026 * 4 + 3.0}, rtol=1e-12)


def test_verification_catches_a_wrong_formula(setup: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    from gigawatt.stress import evaluate

    s, fs, _ = setup
    monkeypatch.setitem(evaluate.RHS, "grid_power", lambda p: p.site_energised_mw * 0 + 100.0)
    with pytest.raises(evaluate.StressError, match="grid_power"):
        InPlaceEvaluator(s, fs)


def test_verification_catches_a_formula_blind_to_samples(setup: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    from gigawatt.stress import evaluate

    s, fs, _ = setup
    frozen = build_inputs(s).demand_ef
    monkeypatch.setitem(evaluate.RHS, "demand_balance", lambda p: frozen)   # right at base, wrong elsewhere
    ev = InPlaceEvaluator(s, fs)
    with pytest.raises(evaluate.StressError, match="rebuilt model"):
        ev.evaluate(0, {"demand.all": 1.2})


def test_openai_example_in_place_equals_rebuild() -> None:
    """The shipped example exercises MW contracts, several defaults and delays at once."""
    from pathlib import Path

    from gigawatt.plan import plan as make_plan
    from gigawatt.scenario import load_scenario
    from gigawatt.stress.evaluate import verification_sample

    s = load_scenario(Path(__file__).resolve().parents[1] / "examples" / "openai-2025.yaml")
    fs = first_stage(s, make_plan(s))
    ev = InPlaceEvaluator(s, fs)
    ev.verify()                                  # every factor at P90, defaults mid-horizon
    rebuild = RebuildEvaluator(s, fs)
    drawn = draw(s.uncertainty, s.horizon.start, 2, seed=1)
    for values in [drawn.sample(0), drawn.sample(1), verification_sample(s)]:
        assert _npv(ev, values) == pytest.approx(rebuild.objective(values), rel=1e-7)
