"""Inference demands that may use the same pools share one set of serve variables (plan.sharing).

Hand case: two inference demands of 1 and 2 EF/s, both on H100 at 50% MFU ("a" at 50%
utilisation, "b" at 62.5% utilisation and 80% availability), over two quarters at 10% a year.
One cloud offer sells H100 at $2/h. With no cap both are served in full, from the offer; with
a cap of 0.5 EF/s of service the class is short by 2.5 EF/s a quarter, and no member by more than
its own demand (both get the same effective compute from an accelerator, so the same penalty).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from plan_helpers import inference, offer, scenario

from gigawatt.catalog import load_catalog
from gigawatt.periods import HOURS_PER_QUARTER as H
from gigawatt.plan import plan
from gigawatt.plan.build import build_model
from gigawatt.plan.inputs import build_inputs
from gigawatt.plan.sharing import serve_carrier

H100 = "nvidia_h100_sxm"
H100_EF = 989e-6
RATE = 0.10
DF = [(1 + RATE) ** -(k / 4) for k in range(2)]


def two_demands(cap_ef: float | None = None, **extra):
    cap = None if cap_ef is None else cap_ef / 0.5 / H100_EF
    b = {**inference("b", ef=2.0, util=0.625, allowed=[H100]), "availability": 0.8}
    return scenario(horizon={"start": "2026Q1", "end": "2026Q2"}, money={"discount_rate": RATE},
                    cloud_offers=[offer("o", 2.0, cap=cap)],
                    demand={"inference": [inference("a", ef=1.0, util=0.5, allowed=[H100]), b, *extra.get("more", [])]})


def test_demands_with_the_same_pools_and_mfu_share_one_carrier_and_others_do_not():
    s = two_demands(more=[{**inference("eu", ef=1.0), "regions": ["eu"]}, inference("slow", ef=1.0, util=0.4, allowed=[H100]),
                          inference("c", ef=3.0, util=0.5, allowed=[H100]), inference("any", ef=1.0, util=0.5)])
    assert serve_carrier(build_inputs(s)).to_series().to_dict() == {
        "a": "a", "b": "a", "eu": "eu", "slow": "slow", "c": "a",
        "any": "a"}   # every accelerator allowed, but the only pool sells H100: the same pools


def test_a_shared_class_has_serve_variables_on_its_carrier_only():
    m, _ = build_model(build_inputs(two_demands()))
    present = m.variables["serve_offer"].labels >= 0
    assert present.any(["offer", "period"]).to_series().to_dict() == {"a": True, "b": False}
    assert int((m.constraints["demand_balance"].labels >= 0).sum()) == 2      # one row a quarter


def test_members_are_served_in_full_and_reported_apart():
    p = plan(two_demands())
    assert p.npv_usd == pytest.approx(3.0 / 0.5 / H100_EF * 2.0 * H * sum(DF), rel=1e-9)
    serve = p.tables["serve"].groupby("demand")["exaflops"].sum().to_dict()
    assert serve == {"a": pytest.approx(2.0, rel=1e-9), "b": pytest.approx(4.0, rel=1e-9)}
    assert p.tables["unmet"].empty


def test_a_short_class_leaves_no_member_short_by_more_than_its_own_demand():
    s = two_demands(cap_ef=0.5)
    p_in = build_inputs(s)
    penalty = p_in.demand_penalty.to_series()
    # the same effective compute per accelerator (0.5 x 1 = 0.625 x 0.8): the same default penalty
    assert penalty["a"] == pytest.approx(penalty["b"], rel=1e-12)
    m, _ = build_model(p_in)
    unmet_upper = m.variables["unmet"].upper.where(m.variables["unmet"].labels >= 0)
    assert unmet_upper.to_series().dropna().to_dict() == {
        ("a", "2026Q1"): 1.0, ("a", "2026Q2"): 1.0, ("b", "2026Q1"): 2.0, ("b", "2026Q2"): 2.0}
    p = plan(s)
    # equal penalties leave the LP indifferent to which member is short: the tables share the
    # class's 2.5 EF/s by demand (1 : 2), and each member is served the rest of its own
    unmet = p.tables["unmet"].set_index(["demand", "period"])["exaflops_short"].to_dict()
    assert unmet == {("a", "2026Q1"): pytest.approx(2.5 / 3, rel=1e-9), ("a", "2026Q2"): pytest.approx(2.5 / 3, rel=1e-9),
                     ("b", "2026Q1"): pytest.approx(5.0 / 3, rel=1e-9), ("b", "2026Q2"): pytest.approx(5.0 / 3, rel=1e-9)}
    served = p.tables["serve"].groupby(["demand", "period"])["exaflops"].sum().to_dict()
    assert served == {("a", "2026Q1"): pytest.approx(0.5 / 3, rel=1e-9), ("a", "2026Q2"): pytest.approx(0.5 / 3, rel=1e-9),
                      ("b", "2026Q1"): pytest.approx(1.0 / 3, rel=1e-9), ("b", "2026Q2"): pytest.approx(1.0 / 3, rel=1e-9)}
    assert p.tables["unmet"]["share_short"].to_numpy() == pytest.approx([2.5 / 3] * 4, rel=1e-9)
    # the facility MW each shortfall would take on H100s (IT kW x (1 + fabric) x PUE per accelerator)
    cat = load_catalog()
    kw = cat.accelerators[H100].it_kw.value * (1 + cat.defaults["fabric_overhead"].value) * cat.defaults["pue"].value
    table = p.tables["unmet"]
    assert table["mw_short"].to_numpy() == pytest.approx(
        (table["exaflops_short"] / 0.5 / H100_EF * kw / 1000).to_numpy(), rel=1e-9)
    assert p.npv_usd == pytest.approx(0.5 / 0.5 / H100_EF * 2.0 * H * sum(DF), rel=1e-9)
    assert p.penalties_usd["unmet_inference"] == pytest.approx(2.5 * penalty["a"] * sum(DF), rel=1e-9)


def test_sharing_changes_no_optimum_against_the_same_model_with_one_carrier_each(monkeypatch):
    from gigawatt.plan import sharing

    s = two_demands(cap_ef=2.5, more=[inference("c", ef=0.7, util=0.5)])
    shared = plan(s)
    def each_its_own(p):
        return sharing.xr.DataArray(np.asarray(p.demand, dtype=object), coords=[p.demand], name="carrier")

    monkeypatch.setattr(sharing, "serve_carrier", each_its_own)
    monkeypatch.setattr("gigawatt.plan.constraints.serve_carrier", each_its_own)
    alone = plan(s)
    assert alone.metadata["variables"] > shared.metadata["variables"]
    assert shared.objective_usd == pytest.approx(alone.objective_usd, rel=1e-9)
    assert shared.tables["unmet"]["exaflops_short"].sum() == pytest.approx(
        alone.tables["unmet"]["exaflops_short"].sum(), rel=1e-9)


def test_stress_in_place_equals_rebuild_when_shared_demands_change_and_go_short():
    """The live model stress re-solves must follow the class total and each member's unmet bound."""
    from gigawatt.plan import plan as make_plan
    from gigawatt.scenario.sample import draw
    from gigawatt.stress.evaluate import InPlaceEvaluator, RebuildEvaluator
    from gigawatt.stress.first_stage import first_stage

    s = _twin_stress_scenario()
    assert serve_carrier(build_inputs(s)).sel(demand="api-eu") == "api"
    fs = first_stage(s, make_plan(s))
    ev, rebuild = InPlaceEvaluator(s, fs), RebuildEvaluator(s, fs)
    drawn = draw(s.uncertainty, s.horizon.start, 4, seed=5)
    short = {**drawn.sample(0), "demand.all": 1.3, "demand.api-eu": 2.0, "site.texas.construction_delay": 4.0,
             "chip_deal.gb200-alloc.shortfall": 0.5}
    small = {**drawn.sample(1), "demand.api-eu": 0.5}
    for values in [drawn.sample(i) for i in range(4)] + [short, small]:
        rows = {r[1]: r[3] for r in ev.evaluate(0, values)}
        assert rows["npv_usd"] == pytest.approx(rebuild.objective(values), rel=1e-7)


def _twin_stress_scenario():
    from stress_helpers import STRESS_YAML, stress_scenario

    twin = ("    - {id: api-eu, start: 2026Q1, start_exaflops: 6, growth_per_year: 0.8, utilization: 0.4375,"
            " availability: 0.8}\n")
    text = STRESS_YAML.replace("      utilization: 0.35\n", "      utilization: 0.35\n" + twin, 1)
    return stress_scenario(text.replace("    - {demand: all, multiplier", "    - {demand: api-eu, multiplier: "
                                        "{kind: uniform, low: 0.5, high: 2.0}}\n    - {demand: all, multiplier", 1))


def test_a_stochastic_plan_over_futures_is_the_same_with_shared_serve_variables(monkeypatch):
    """Futures stack demand along `scenario`: each future's class total and unmet bounds follow it."""
    import time

    from gigawatt.hedging.evaluate import futures_inputs
    from gigawatt.plan import sharing
    from gigawatt.plan.stochastic import futures_of, solve_futures

    s = _twin_stress_scenario()
    futures, prob = futures_of(s, 3, seed=2)
    shared = solve_futures(s, futures_inputs(s, futures), prob, deadline=time.perf_counter() + 120)

    def each_its_own(p):
        return sharing.xr.DataArray(np.asarray(p.demand, dtype=object), coords=[p.demand], name="carrier")

    monkeypatch.setattr(sharing, "serve_carrier", each_its_own)
    monkeypatch.setattr("gigawatt.plan.constraints.serve_carrier", each_its_own)
    alone = solve_futures(s, futures_inputs(s, futures), prob, deadline=time.perf_counter() + 120)
    assert alone.stats["variables"] > shared.stats["variables"]
    assert shared.costs == pytest.approx(alone.costs, rel=1e-6)
    # each future's shortfall per class is the same; the shared plan splits it by demand
    carrier = serve_carrier(build_inputs(s)).to_series()
    unmet = [sol.recourse["scenario_unmet"].assign(cls=lambda d: d["demand"].map(carrier)) for sol in (shared, alone)]
    totals = [u.groupby(["scenario", "cls", "period"])["unmet_ef"].sum() for u in unmet]
    pd.testing.assert_series_equal(totals[0], totals[1], rtol=1e-6)
    short = unmet[0].set_index(["scenario", "demand", "period"])["unmet_ef"]
    assert len(short)
    for k, inputs in enumerate(futures_inputs(s, futures)):
        for (future, demand, period), value in short[short.index.get_level_values("scenario") == k].items():
            mates = carrier.index[carrier == carrier[demand]]
            need = inputs.demand_ef.sel(period=period)
            total = float(totals[0][(future, carrier[demand], period)])
            assert value == pytest.approx(total * float(need.sel(demand=demand)) / float(need.sel(demand=mates).sum()),
                                          rel=1e-9)


def test_a_class_shortfall_is_shared_by_demand_and_a_lone_demand_keeps_its_own():
    from gigawatt.plan.sharing import shortfall_by_demand

    more = [inference("s1", ef=0.3, util=0.4, allowed=[H100]), inference("s2", ef=0.2, util=0.4, allowed=[H100]),
            inference("solo", ef=1.0, util=0.3, allowed=[H100])]
    p = build_inputs(two_demands(more=more))
    assert serve_carrier(p).values.tolist() == ["a", "a", "s1", "s1", "solo"]
    unmet = xr.DataArray([[2.5, 0.0], [0.0, 1.5], [0.5, 0.0], [0.0, 0.25], [0.3, np.nan]], coords=[p.demand, p.period])
    got = shortfall_by_demand(unmet.transpose("period", "demand"), p)
    assert got.dims == ("period", "demand")
    assert got.transpose("demand", "period").values.ravel().tolist() == pytest.approx(
        [2.5 / 3, 1.5 / 3, 5.0 / 3, 3.0 / 3, 0.3, 0.15, 0.2, 0.1, 0.3, np.nan], rel=1e-12, nan_ok=True)
