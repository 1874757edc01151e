"""How the planner solves: the LP relaxation rounded and re-solved, branch and bound when that is
not within the gap, and hosts limited to locations that can hold a run's cluster all its window."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from plan_helpers import inference, offer, scenario

from gigawatt.periods import SECONDS_PER_QUARTER
from gigawatt.plan import plan
from gigawatt.plan.inputs import build_inputs
from gigawatt.plan.pools import host_eligibility
from gigawatt.plan.rounding import round_hosts, round_missed

H100 = "nvidia_h100_sxm"
H100_EF = 989e-6


def _grid(values: list[list[float]], kind: str, names: list[str]) -> xr.DataArray:
    return xr.DataArray(np.array(values, dtype=float), coords=[pd.Index(["r1", "r2", "r3"], name="run"),
                                                                pd.Index(names, name=kind)])


def test_round_hosts_takes_each_runs_largest_host_over_every_kind_first_one_on_ties():
    relaxed = {
        "host_site": _grid([[0.3, np.nan], [0.5, 0.0], [0.0, 0.0]], "site", ["s1", "s2"]),
        "host_offer": _grid([[0.7], [0.5], [0.0]], "offer", ["o1"]),
    }
    got = round_hosts(relaxed)
    assert got["host_site"].values.tolist() == [[0, 0], [1, 0], [0, 0]]   # r2: tie, the site comes first
    assert got["host_offer"].values.tolist() == [[1], [0], [0]]           # r3: hosted nowhere


def test_round_hosts_considers_contracts_and_ignores_a_kind_with_no_locations():
    relaxed = {
        "host_site": _grid([[0.3], [0.0], [1e-6]], "site", ["s1"]),
        "host_offer": _grid([[0.0], [0.4], [0.0]], "offer", ["o1"]).isel(offer=slice(0, 0)),   # no offers
        "host_contract": _grid([[0.7], [0.4], [0.0]], "contract", ["c1"]),
    }
    got = round_hosts(relaxed)
    assert got["host_site"].values.tolist() == [[0], [0], [0]]        # r3: 1e-6 is solver noise, not a host
    assert got["host_contract"].values.tolist() == [[1], [1], [0]]
    assert got["host_offer"].sizes["offer"] == 0


def test_round_missed_rounds_at_half_or_up_at_any_shortfall():
    runs = pd.Index(["a", "b", "c", "d", "masked", "noise"], name="demand")
    solved = xr.DataArray([0.0, 0.2, 0.5, 1.0, np.nan, 1e-6], coords=[runs])
    assert round_missed(solved, up=False)["missed"].values.tolist() == [0, 0, 1, 1, 0, 0]
    assert round_missed(solved, up=True)["missed"].values.tolist() == [0, 1, 1, 1, 0, 0]
    assert round_missed(None, up=True) == {}


def _site(id: str, energised: list[dict], lead: int = 0, existing: float = 0.0) -> dict:
    return {"id": id, "provider": "self", "max_power_mw": 500, "existing_mw": existing, "energisation": energised,
            "construction_lead_time_quarters": lead, "accelerators": [H100]}


def test_a_site_hosts_a_run_only_if_it_can_hold_the_cluster_every_quarter_of_its_window():
    run = {"id": "run", "total_exaflop": 1.0 * SECONDS_PER_QUARTER, "start": "2026Q1", "end": "2026Q2",
           "mfu": 0.5, "allowed_accelerators": [H100], "min_colocated_accelerators": 1000}
    s = scenario(
        horizon={"start": "2026Q1", "end": "2026Q2"},
        sites=[_site("early", [{"from": "2026Q1", "mw": 100}]),
               _site("late_grid", [{"from": "2026Q2", "mw": 100}]),      # no power in 2026Q1
               _site("lead", [{"from": "2026Q1", "mw": 100}], lead=1),   # nothing online in 2026Q1
               _site("lead_existing", [{"from": "2026Q1", "mw": 100}], lead=1, existing=50)],
        demand={"training": [run]},
    )
    ok = host_eligibility(build_inputs(s))["site"].sel(run="run")
    assert ok.to_series().to_dict() == {"early": True, "late_grid": False, "lead": False, "lead_existing": True}


def cheapest_in_its_second_quarter():
    """One co-located run of 1 EF/s-quarter at MFU 0.5 over two quarters: $6/h in the first, $2/h
    from the second. Optimum by hand: all of it on the cheap offer in 2026Q2 (rate 0)."""
    run = {"id": "run", "total_exaflop": 1.0 * SECONDS_PER_QUARTER, "start": "2026Q1", "end": "2026Q2",
           "mfu": 0.5, "allowed_accelerators": [H100], "min_colocated_accelerators": 100}
    s = scenario(horizon={"start": "2026Q1", "end": "2026Q2"},
                 cloud_offers=[offer("dear", 6.0), {**offer("cheap", 2.0, provider="cloud2"), "available_from": "2026Q2"}],
                 demand={"training": [run]})
    return s, 1.0 / 0.5 / H100_EF * 2.0 * 2190.0


def test_relax_and_round_is_exact_when_the_relaxation_is_whole():
    """One run, cheapest in its second quarter: the relaxation is already integral, so rounding
    proves the optimum (gap 0) without branch and bound; the bound never exceeds the plan's cost."""
    s, cost = cheapest_in_its_second_quarter()
    p = plan(s)
    assert p.npv_usd == pytest.approx(cost, rel=1e-9)
    assert p.metadata["placement_method"] == "relax-and-round"
    assert p.metadata["mip_gap"] == pytest.approx(0.0, abs=1e-9)
    assert p.metadata["objective_bound_usd"] <= p.objective_usd * (1 + 1e-9)
    assert p.tables["hosts"].to_dict("records") == [{"run": "run", "kind": "offer", "location": "cheap"}]


def test_a_relaxation_stopped_early_bounds_nothing_so_branch_and_bound_decides(monkeypatch):
    """If the LP relaxation ends on the time limit its objective is no bound: the plan must not
    claim a gap against it; HiGHS's branch and bound gives the gap instead."""
    from gigawatt.plan import solve

    real_run = solve._run

    def relaxation_times_out(solver, m, deadline, algorithm="choose", **kw):
        outcome = real_run(solver, m, deadline, algorithm, **kw)
        return replace(outcome, status="warning", condition="time_limit") if algorithm == "ipm" else outcome

    monkeypatch.setattr(solve, "_run", relaxation_times_out)
    s, cost = cheapest_in_its_second_quarter()
    p = plan(s)
    assert p.metadata["placement_method"] == "branch-and-bound"
    assert p.npv_usd == pytest.approx(cost, rel=1e-9)


def test_a_rounding_re_solve_stopped_by_a_limit_is_not_a_plan(monkeypatch):
    """linopy reports status "ok" when a limit stops HiGHS with a solution in hand: that solution
    is unfinished. A rounding re-solve that ends so proves nothing; branch and bound decides."""
    from gigawatt.plan import solve

    real_run = solve._run
    branched = []

    def re_solves_stop_until_branch_and_bound(solver, m, deadline, algorithm="choose", mip=False, **kw):
        branched.append(mip)
        outcome = real_run(solver, m, deadline, algorithm, mip=mip, **kw)
        if algorithm == "simplex" and not any(branched):
            return replace(outcome, status="ok", condition="time_limit")   # as linopy maps HiGHS's kTimeLimit
        return outcome

    monkeypatch.setattr(solve, "_run", re_solves_stop_until_branch_and_bound)
    s, cost = cheapest_in_its_second_quarter()
    p = plan(s)
    assert p.metadata["placement_method"] == "branch-and-bound"
    assert p.npv_usd == pytest.approx(cost, rel=1e-9)


def test_each_re_solve_gets_its_own_time_however_long_highs_has_run():
    """HiGHS measures time_limit against its run time summed over every run of the instance; a
    re-solve given one second after HiGHS has run longer than that must still solve."""
    import linopy

    from gigawatt.plan import solve

    m = linopy.Model()
    x = m.add_variables(lower=0, upper=10, coords=[pd.RangeIndex(50, name="i")], name="x")
    m.add_constraints(x.sum() >= 5, name="need")
    m.add_objective((x * np.arange(1, 51)).sum())
    solver = linopy.solvers.Solver.from_name("highs", model=m, io_api="direct", track_updates=True,
                                             options={"output_flag": False, "threads": 1})
    h = solver.solver_model
    while h.getRunTime() < 1.2:                  # let the instance's clock pass one second
        h.clearSolver()
        h.run()
    x.update(lower=xr.zeros_like(x.lower), upper=xr.where(x.lower.i == 0, 0.0, 10.0))
    outcome = solve._run(solver, m, time.perf_counter() + 0.5, "simplex")
    assert (outcome.status, outcome.condition) == ("ok", "optimal")
    assert outcome.objective == pytest.approx(10.0)    # five units at 2 now that the first is shut
    assert outcome.value(x).values.tolist() == [0.0] + [5.0] + [0.0] * 48


def test_branch_and_bound_leaves_the_final_lp_its_time(monkeypatch):
    """Branch and bound stops before the plan's time limit, so the LP with every choice pinned
    (the plan's tables and duals) is still solved when branch and bound uses all it is given."""
    from gigawatt.plan import solve

    real_run, real_bb = solve._run, solve._branch_and_bound
    handed = []

    def relaxation_times_out(solver, m, deadline, algorithm="choose", **kw):
        outcome = real_run(solver, m, deadline, algorithm, **kw)
        return replace(outcome, status="warning", condition="time_limit") if algorithm == "ipm" else outcome

    def branch_and_bound(m, solver, binaries, deadline, start):
        handed.append(deadline - time.perf_counter())
        return real_bb(m, solver, binaries, deadline, start)

    monkeypatch.setattr(solve, "_run", relaxation_times_out)
    monkeypatch.setattr(solve, "_branch_and_bound", branch_and_bound)
    s, cost = cheapest_in_its_second_quarter()
    s = s.model_copy(update={"policy": s.policy.model_copy(update={"time_limit_s": 40})})
    p = plan(s)
    assert p.npv_usd == pytest.approx(cost, rel=1e-9)
    # at least 10 s (half of what is left at most) are kept for the final LP
    assert handed and handed[0] < 40 - 10


def test_integral_accepts_solver_tolerance_and_nothing_more():
    """The final LP may pin a MIP's own values only where they are 0/1 up to HiGHS's tolerance."""
    from gigawatt.plan.solve import _integral

    runs = pd.Index(["a", "b", "c"], name="run")
    assert _integral({"host": xr.DataArray([0.0, 0.9999999, 1e-7], coords=[runs])})
    assert not _integral({"host": xr.DataArray([0.0, 0.5, 1.0], coords=[runs])})
    assert not _integral({"x": xr.DataArray([0.0, 1.0, 0.0], coords=[runs]),
                          "y": xr.DataArray([0.0, 1.0, 0.99], coords=[runs])})
    assert _integral({"host": xr.DataArray([np.nan, 1.0, 0.0], coords=[runs])})    # absent entries


def test_unit_costs_are_what_the_plan_pays_per_accelerator_hour_and_per_exaflop_day():
    """Everything is rented at $2/h for one quarter: $2 per accelerator-hour, and per EF/s-day of
    peak compute $2 x 24 h / (H100's EF/s per accelerator)."""
    s, _ = cheapest_in_its_second_quarter()
    p = plan(s)
    assert p.unit_costs["usd_per_accelerator_hour"] == pytest.approx(2.0, rel=1e-9)
    assert p.unit_costs["usd_per_exaflop_day"] == pytest.approx(2.0 * 24 / H100_EF, rel=1e-9)


def test_no_branch_and_bound_when_the_relaxation_used_up_the_time(monkeypatch):
    """A relaxation that ran out the time limit bounds nothing and leaves no time: branch and bound
    (which solves the LP again first, and cannot be stopped there) must not start past the limit;
    the plan says in one line that there is no plan in time and what to change."""
    from gigawatt.errors import PlanError
    from gigawatt.plan import solve

    real_run = solve._run

    def relaxation_runs_out_the_clock(solver, m, deadline, algorithm="choose", **kw):
        if algorithm == "ipm":
            time.sleep(max(deadline - time.perf_counter(), 0.0) + 0.05)
            return solve.Outcome(status="ok", condition="time_limit", objective=None, primal=np.array([]))
        return real_run(solver, m, deadline, algorithm, **kw)

    monkeypatch.setattr(solve, "_run", relaxation_runs_out_the_clock)
    s, _ = cheapest_in_its_second_quarter()
    s = s.model_copy(update={"policy": s.policy.model_copy(update={"time_limit_s": 3})})
    with pytest.raises(PlanError, match=r"no plan within policy.time_limit_s \(3 s\).*did not finish"):
        plan(s)


def test_a_plan_without_binaries_is_never_read_from_an_unfinished_lp(monkeypatch):
    """With nothing to place the plan is one LP: stopped by the time limit it bounds nothing and
    its tables would be read from an unfinished solution, so the plan says so in one line."""
    from gigawatt.errors import PlanError
    from gigawatt.plan import solve

    real_run = solve._run

    def stops_on_the_limit(solver, m, deadline, algorithm="choose", **kw):
        outcome = real_run(solver, m, deadline, algorithm, **kw)
        return replace(outcome, status="ok", condition="time_limit")     # as linopy maps HiGHS's kTimeLimit

    monkeypatch.setattr(solve, "_run", stops_on_the_limit)
    s = scenario(cloud_offers=[offer("o", 2.0)], demand={"inference": [inference()]})
    with pytest.raises(PlanError, match=r"time limit ran out before the plan's final LP was solved"):
        plan(s)


def test_tables_keep_each_valued_cell_once_with_its_coordinates_and_no_solver_noise():
    """A result table has one row per cell with a value, in the array's order, its coordinates
    as columns (non-dimension coordinates left out), noise below 1e-9 read as 0."""
    from gigawatt.plan.extract import _tidy

    da = xr.DataArray([[0.0, np.nan, 2.5], [-1e-10, -3.0, 1e-12]],
                      coords={"site": ["a", "b"], "period": [7, 8, 9], "owner": ("site", ["x", "y"])},
                      dims=["site", "period"])
    values = _tidy(da, "mw")
    assert list(values.columns) == ["site", "period", "mw"]
    assert values.to_dict("records") == [{"site": "a", "period": 9, "mw": 2.5}, {"site": "b", "period": 8, "mw": -3.0}]
    every = _tidy(da, "mw", keep_zero=True)
    assert every.to_dict("records") == [
        {"site": "a", "period": 7, "mw": 0.0}, {"site": "a", "period": 9, "mw": 2.5},
        {"site": "b", "period": 7, "mw": 0.0}, {"site": "b", "period": 8, "mw": -3.0},
        {"site": "b", "period": 9, "mw": 0.0}]
    zeros = every["mw"][every["mw"] == 0]
    assert not np.signbit(zeros).any()          # -1e-10 is a plain 0, not -0.0


def _one_variable_model(lower: float, upper: float):
    """x[i] in [lower, upper] for i < 3 (x[1] absent), minimise x[0] + 2 x[2] with x[0] + x[2] >= 5."""
    import linopy

    from gigawatt.plan import solve

    m = linopy.Model()
    i = pd.RangeIndex(3, name="i")
    x = m.add_variables(lower=lower, upper=upper, coords=[i], name="x", mask=xr.DataArray([True, False, True], coords=[i]))
    m.add_constraints(x.sum() >= 5, name="need")
    m.add_objective((x * xr.DataArray([1.0, 1.0, 2.0], coords=[i])).sum())
    solver = linopy.solvers.Solver.from_name("highs", model=m, io_api="direct", track_updates=True,
                                             options={"output_flag": False, "threads": 1})
    return m, x, solver, solve


def test_a_run_reads_its_values_by_label_with_absent_entries_empty_and_writes_back_only_when_told():
    m, x, solver, solve = _one_variable_model(0.0, 4.0)
    outcome = solve._run(solver, m, time.perf_counter() + 5, "simplex")
    assert outcome.solved and outcome.objective == pytest.approx(4.0 + 2.0)     # 4 at 1, 1 at 2
    assert outcome.value(x).values.tolist() == pytest.approx([4.0, np.nan, 1.0], nan_ok=True)
    assert m.objective.value is None                     # not written back
    solve._run(solver, m, time.perf_counter() + 5, "simplex", write_back=True)
    assert m.objective.value == pytest.approx(6.0)
    assert x.solution.values.tolist() == pytest.approx([4.0, np.nan, 1.0], nan_ok=True)


def test_an_infeasible_run_has_no_objective_and_is_not_solved():
    m, x, solver, solve = _one_variable_model(0.0, 2.0)        # 2 + 2 < 5
    outcome = solve._run(solver, m, time.perf_counter() + 5, "simplex")
    assert outcome.condition == "infeasible"
    assert outcome.objective is None and not outcome.solved


def test_a_plan_with_nothing_to_place_is_its_own_bound():
    s = scenario(cloud_offers=[offer("o", 2.0)], demand={"inference": [inference()]})
    p = plan(s)
    assert p.metadata["placement_method"] == "none"
    assert p.metadata["objective_bound_usd"] == pytest.approx(p.objective_usd, rel=1e-12)
    assert p.objective_usd == pytest.approx(1.0 / 0.5 / H100_EF * 2.0 * 2190.0, rel=1e-9)


def test_a_final_lp_refused_at_the_rounded_pins_is_solved_at_the_values_found_and_read_from_there(monkeypatch):
    """HiGHS takes 0.9999999 as 1: where pinning the rounded 1 is infeasible by a hair, the final
    LP is solved again with the values found, and the plan's tables come from that solve."""
    from gigawatt.plan import solve

    real_run = solve._run
    refused = []

    def first_final_refused(solver, m, deadline, algorithm="choose", *, mip=False, write_back=False):
        if write_back and not refused:
            refused.append(algorithm)
            outcome = real_run(solver, m, deadline, algorithm, mip=mip)          # nothing written back
            return replace(outcome, status="warning", condition="infeasible")
        return real_run(solver, m, deadline, algorithm, mip=mip, write_back=write_back)

    monkeypatch.setattr(solve, "_run", first_final_refused)
    s, cost = cheapest_in_its_second_quarter()
    p = plan(s)
    assert refused == ["simplex"]
    assert p.npv_usd == pytest.approx(cost, rel=1e-9)
    assert p.tables["hosts"].to_dict("records") == [{"run": "run", "kind": "offer", "location": "cheap"}]
