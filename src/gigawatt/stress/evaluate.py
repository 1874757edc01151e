"""Evaluate a plan in sampled futures: first stage fixed, recourse re-solved in place.

The linopy model is built once per worker (for the scenario as given, first stage pinned)
and handed to HiGHS. For each sample, the sampled scenario goes through the planner's own
`build_inputs`; the numbers that can differ between futures are then recomputed from
those inputs by the formulas the `define_*` functions use, and only they are pushed into
the live HiGHS model (row bounds, column costs and bounds, matrix coefficients; a
variable the sampled model leaves out, such as a withdrawn cloud offer's, is pinned at
zero). The solve is warm-started from the base solution, so a sample's answer does not
depend on which samples a worker saw before it. `RebuildEvaluator` builds and solves a fresh model per
sample: the baseline, and the reference the parity test holds the in-place path to.
On start-up the in-place path checks its formulas against the freshly built base model,
so a planner change it does not know about stops the run instead of skewing it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import xarray as xr
from linopy import Model

from gigawatt.periods import HOURS_PER_QUARTER, parse_quarter
from gigawatt.plan import build as plan_build
from gigawatt.plan.build import build_model
from gigawatt.plan.constraints import host_serve_bounds, stock_step
from gigawatt.plan.extract import shortfall_mw_per_ef
from gigawatt.plan.inputs import PlanInputs, build_inputs
from gigawatt.plan.objective import peak_penalty
from gigawatt.plan.pools import CoverGroups, cover_groups
from gigawatt.plan.result import Plan
from gigawatt.plan.sharing import served_demand, split_shortfall
from gigawatt.plan.solve import quiet_stdout
from gigawatt.scenario.apply import apply_sample
from gigawatt.scenario.model import Scenario
from gigawatt.scenario.uncertainty import factor_specs
from gigawatt.stress.first_stage import FirstStage, StressError, fix_first_stage
from gigawatt.stress.inputs import SampledInputs

PENALTY_FAMILIES = ("unmet", "missed", "budget_over", "security_short", "concentration_over")
LIMIT_FAMILIES = ("grid_power", "facility_power", "chip_supply", "cloud_availability", "contract_capacity",
                  "site_max_power", "budget")
TOL = 1e-6
FIRST_STAGE_FAMILIES = ("build_mw", "cloud_new", "host_site", "host_offer", "host_contract")  # fix_first_stage's
SHORTFALL_TOL = 1e-6  # a sample is short when more than this share of all compute goes unmet

Row = tuple[int, str, str, float]  # sample, metric, key, value


@dataclass
class Timings:
    sampling: float = 0.0
    update: float = 0.0
    solve: float = 0.0
    extraction: float = 0.0
    samples: int = 0

    def add(self, other: Timings) -> None:
        for k in ("sampling", "update", "solve", "extraction", "samples"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in ("sampling", "update", "solve", "extraction", "samples")}


# --- the numbers a sample can change, each computed as the planner computes it ---

def _year_of(p: PlanInputs) -> xr.DataArray:
    return xr.DataArray(p.year.values, coords=[p.period], name="year")


_GROUPS: dict[int, tuple[PlanInputs, CoverGroups]] = {}


def base_groups(p: PlanInputs) -> CoverGroups:
    """The N-1 cover groups of the base inputs: part of the model's structure, so fixed for all
    samples (the in-place model and the rebuilt reference both use them)."""
    hit = _GROUPS.get(id(p.scenario))
    if hit is None or hit[0].scenario is not p.scenario:
        hit = _GROUPS[id(p.scenario)] = (p, cover_groups(p))
    return hit[1]


class _Need:
    """constraints.define_n_minus_1_security: need = alpha x each group's peak need."""

    def __init__(self, groups: CoverGroups) -> None:
        self.groups = groups

    def __call__(self, p: PlanInputs) -> xr.DataArray:
        return p.scenario.policy.n_minus_1_alpha * self.groups.need_peak_ef(p)


RHS: dict[str, Callable[[PlanInputs], xr.DataArray]] = {
    # constraints.define_demand_balance: served + unmet == demand (inference; a class sharing
    # serve variables balances on its carrier against the members' total)
    "demand_balance": served_demand,
    # constraints.define_training_completion: work + W x missed >= W
    "training_completion": lambda p: p.training_work,
    # constraints.define_power_limits: draw <= energised grid power
    "grid_power": lambda p: p.site_energised_mw,
    # constraints.define_chip_supply_limits
    "chip_supply": lambda p: p.supply_cap.where(np.isfinite(p.supply_cap), 0),
}


def _contract_held(p: PlanInputs) -> xr.DataArray:
    return p.contract_units > 0


# Rows that hold a variable the sampled model masks out: linopy (v1 semantics) drops such a
# row, so the live model frees it. contract_take exists only where the contract has units.
ROW_PRESENT: dict[str, Callable[[PlanInputs], xr.DataArray]] = {
    "min_cluster_contract": _contract_held,   # contract_take >= k x host_contract
}
RHS["min_cluster_contract"] = lambda p: xr.zeros_like(p.contract_units)
# constraints.define_stock_balances: a withdrawn offer has no rented stock, so no balance, from then on
ROW_PRESENT["rented_balance"] = lambda p: p.offer_available
RHS["rented_balance"] = lambda p: xr.zeros_like(p.offer_available, dtype=float)

# Columns the sampled model masks out (a cloud offer withdrawn by its provider's default):
# the rebuilt model has no such variable, the live one pins it at zero.
COLUMN_PRESENT: dict[str, Callable[[PlanInputs], xr.DataArray]] = {
    "cloud_new": lambda p: p.offer_available.sel(offer=p.lot_offer).drop_vars("offer"),
    "rented": lambda p: p.offer_available,
    "serve_offer": lambda p: p.offer_available,
}


def _online(p: PlanInputs) -> xr.DataArray:
    """constraints.define_stock_balances: online now - online before = MW that came online."""
    return -stock_step(p.site_online_matrix)


_BOUNDS: dict[int, tuple[PlanInputs, dict[str, xr.DataArray]]] = {}
_CAPS: dict[bytes, dict[str, xr.DataArray]] = {}


def _run_work(p: PlanInputs) -> xr.DataArray:
    """host_serve_bounds' first term: the run's whole work in each quarter of its window."""
    runs = p.run.rename("demand")
    window = p.demand_ef.sel(demand=runs).rename(demand="run") > 0
    return (p.training_work.sel(demand=runs).rename(demand="run") * window).where(window, 0.0)


def _host_bounds(p: PlanInputs) -> dict[str, xr.DataArray]:
    """host_serve_bounds once per sampled inputs (three families read it).

    It is min(the run's work, what a location can deliver to it). The second part does not
    depend on demand, so it comes from the planner's own function with the work set to
    infinity: for sites and offers it takes few distinct values across samples (cached);
    for contracts it is proportional to the contract's units (computed at one unit, scaled).
    """
    hit = _BOUNDS.get(id(p))
    if hit is None or hit[0] is not p:
        key = b"".join(np.ascontiguousarray(a.values).tobytes() for a in (
            p.site_energised_mw, p.offer_cap, p.site_pue, p.acc_kw_all_in_per_pue, p.demand_mfu))
        caps = _CAPS.get(key)
        if caps is None:
            if len(_CAPS) > 256:
                _CAPS.clear()
            unbounded = dataclasses.replace(p, training_work=xr.full_like(p.training_work, np.inf),
                                            contract_units=xr.ones_like(p.contract_units))
            caps = _CAPS[key] = host_serve_bounds(unbounded)
        work = _run_work(p)
        bounds = {}
        for kind, cap in caps.items():
            if kind == "contract":
                cap = cap * p.contract_units
            bounds[kind] = xr.where(work < cap, work, cap)
        _BOUNDS.clear()
        hit = _BOUNDS[id(p)] = (p, bounds)
    return hit[1]


def _colocation(kind: str) -> Callable[[PlanInputs], xr.DataArray]:
    return lambda p: -_host_bounds(p)[kind].fillna(0.0)


def _colocation_window(kind: str) -> Callable[[PlanInputs], xr.DataArray]:
    """constraints.define_colocation, whole window: a host delivers at most min(sum of bounds, work)."""
    def whole(p: PlanInputs) -> xr.DataArray:
        total = _host_bounds(p)[kind].sum("period")
        work = p.training_work.sel(demand=p.run.rename("demand")).rename(demand="run")
        return -xr.where(total < work, total, work).fillna(0.0)
    return whole


def _year_mask(p: PlanInputs) -> xr.DataArray:
    years = p.budget.indexes["year"]
    return (p.year == xr.DataArray(years, coords=[years])).astype(float)


def _energy_per_unit(p: PlanInputs) -> xr.DataArray:
    """expressions.energy_cost per alive accelerator: facility draw x hours x price."""
    return p.acc_kw_all_in_per_pue * p.site_pue / 1000.0 * HOURS_PER_QUARTER * p.site_elec


def _contract_per_unit(p: PlanInputs) -> xr.DataArray:
    """expressions.contract_cost per accelerator taken."""
    return (p.contract_payment / p.contract_units).where(p.contract_units > 0, 0.0)


def _cloud_per_unit(p: PlanInputs, weight: xr.DataArray) -> xr.DataArray:
    """expressions.cloud_cost per unit started, summed over its active quarters with `weight`."""
    return (p.lot_active_matrix * p.lot_price_hour * HOURS_PER_QUARTER * weight).sum("period").rename(vintage="period")


# (row family, variable, how the variable's period is named in the coefficient grid, formula)
COEFFICIENTS: list[tuple[str, str, str | None, Callable[[PlanInputs], xr.DataArray]]] = [
    ("online_balance", "build_mw", "vintage", _online),        # online = existing + started past lead time
    ("colocation_site", "host_site", None, _colocation("site")),
    ("colocation_offer", "host_offer", None, _colocation("offer")),
    ("colocation_contract", "host_contract", None, _colocation("contract")),
    ("colocation_site_window", "host_site", None, _colocation_window("site")),
    ("colocation_offer_window", "host_offer", None, _colocation_window("offer")),
    ("colocation_contract_window", "host_contract", None, _colocation_window("contract")),
    ("training_completion", "missed", None, lambda p: p.training_work),
    ("budget", "alive", None, lambda p: _energy_per_unit(p) * _year_mask(p)),
    ("budget", "cloud_new", None, lambda p: _cloud_per_unit(p, _year_mask(p))),
    ("budget", "contract_take", None, lambda p: _contract_per_unit(p) * _year_mask(p)),
]

# variables.define_contract_variables: take-or-pay pins the take at full capacity
COLUMN_BOUNDS: dict[str, tuple[Callable[[PlanInputs], xr.DataArray], Callable[[PlanInputs], xr.DataArray]]] = {
    "contract_take": (lambda p: p.contract_units * p.contract_min_take, lambda p: p.contract_units),
    # variables.define_unmet_variables: no more unmet than the demand itself
    "unmet": (lambda p: xr.zeros_like(p.demand_ef), lambda p: p.demand_ef),
}


def _cost_build(p: PlanInputs) -> xr.DataArray:
    """objective.py: facility capex discounted, minus its residual value at the horizon's end."""
    capex = p.site_capex_per_mw * p.discount
    residual = p.site_capex_per_mw * p.facility_residual.rename(vintage="period") * p.discount_end
    return capex - residual


def _cost_alive(p: PlanInputs) -> xr.DataArray:
    """expressions.energy_cost, discounted."""
    return _energy_per_unit(p) * p.discount


def _cost_cloud(p: PlanInputs) -> xr.DataArray:
    """expressions.cloud_cost: each term's active quarters at its price, discounted."""
    return _cloud_per_unit(p, p.discount)


def _cost_slack(p: PlanInputs) -> xr.DataArray:
    """objective.penalty_terms: missing N-1 cover or share above cap, per peak EF/s-quarter."""
    return peak_penalty(p) * p.discount


COSTS: dict[str, Callable[[PlanInputs], xr.DataArray]] = {
    "build_mw": _cost_build, "alive": _cost_alive, "cloud_new": _cost_cloud,
    "contract_take": lambda p: _contract_per_unit(p) * p.discount,
    "missed": lambda p: p.training_miss_penalty * p.training_end_discount,
    "security_short": _cost_slack, "concentration_over": _cost_slack,
}


# --- the live model ---

class _Aligner:
    """Flatten a formula's values onto fixed target cells fast (no xarray alignment per sample).

    Set up once from the base inputs' values: which dims they have, in which order. Every
    sample's inputs come from the same build_inputs with the same coordinates (checked by
    length here and by the parity test), so plain numpy broadcasting lines them up.
    """

    def __init__(self, target: xr.DataArray, keep: np.ndarray, example: xr.DataArray) -> None:
        self.dims = list(target.dims)
        self.shape = tuple(target.shape)
        self.keep = keep
        self.value_dims = [d for d in self.dims if d in example.dims]
        extra = set(example.dims) - set(self.dims)
        if extra:
            raise StressError(f"internal: formula has dims {sorted(map(str, extra))} its constraint does not")
        for d in self.value_dims:
            if not example.indexes[d].equals(target.indexes[d]):
                raise StressError(f"internal: formula's '{d}' coordinate is not the constraint's")
        self.expand = tuple(slice(None) if d in example.dims else None for d in self.dims)
        self.sizes = {d: example.sizes[d] for d in self.value_dims}

    def __call__(self, value: xr.DataArray) -> np.ndarray:
        for d, n in self.sizes.items():
            if value.sizes.get(d) != n:
                raise StressError(f"internal: sampled inputs changed the size of '{d}'")
        arr = np.asarray(value.transpose(*self.value_dims).values, dtype=float)[self.expand]
        return np.broadcast_to(arr, self.shape).ravel()[self.keep]


@dataclass
class _RowFamily:
    rows: np.ndarray
    sign: np.ndarray
    rhs: np.ndarray
    fn: Callable[[PlanInputs], xr.DataArray]
    align: _Aligner
    present: Callable[[PlanInputs], xr.DataArray] | None = None
    on: np.ndarray | None = None


@dataclass
class _CoefFamily:
    rows: np.ndarray
    cols: np.ndarray
    value: np.ndarray
    fn: Callable[[PlanInputs], xr.DataArray]
    align: _Aligner


@dataclass
class _CostFamily:
    cols: np.ndarray
    value: np.ndarray
    fn: Callable[[PlanInputs], xr.DataArray]
    align: _Aligner


@dataclass
class _BoundFamily:
    cols: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fns: tuple[Callable[[PlanInputs], xr.DataArray], Callable[[PlanInputs], xr.DataArray]]
    align: _Aligner


@dataclass
class _PresenceFamily:
    cols: np.ndarray
    on: np.ndarray
    lower: np.ndarray        # the model's own bounds (first stage pinned), used while present
    upper: np.ndarray
    fn: Callable[[PlanInputs], xr.DataArray]
    align: _Aligner


@contextlib.contextmanager
def _groups_of(p: PlanInputs) -> Iterator[None]:
    """Build with the base inputs' N-1 cover groups (structure), whatever the sample."""
    groups = base_groups(p)
    saved = plan_build.cover_groups
    plan_build.cover_groups = lambda _p: groups  # type: ignore[assignment]
    try:
        yield
    finally:
        plan_build.cover_groups = saved


def _build(base: PlanInputs, p: PlanInputs) -> Model:
    with _groups_of(base):
        m, _ = build_model(p)
    return m


def _highs(m: Model) -> tuple[highspy.Highs, np.ndarray, np.ndarray]:
    with quiet_stdout():     # HiGHS prints a banner on fd 1 when the first instance is made
        h = m.to_highspy()
    for key, value in (("output_flag", False), ("log_to_console", False), ("threads", 1),
                       ("random_seed", 0), ("mip_rel_gap", 1e-9)):
        h.setOptionValue(key, value)
    mat = m.matrices
    col_of = np.full(int(m._xCounter) + 1, -1, dtype=np.int64)
    col_of[mat.vlabels] = np.arange(len(mat.vlabels))
    row_of = np.full(int(m._cCounter) + 1, -1, dtype=np.int64)
    row_of[mat.clabels] = np.arange(len(mat.clabels))
    return h, col_of, row_of


def _present(labels: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """A family's labels flattened, and which of them exist (an absent entry is -1)."""
    flat = labels.values.ravel()
    return flat, flat >= 0


class InPlaceEvaluator:
    """One live HiGHS model per worker; each sample pushes only the numbers that change."""

    def __init__(self, scenario: Scenario, fs: FirstStage) -> None:
        self.scenario = scenario
        self.fs = fs
        self.base = build_inputs(scenario)
        self.groups = base_groups(self.base)
        m = _build(self.base, self.base)
        fix_first_stage(m, self.base, fs)
        self.model = m
        self.h, self.col_of, self.row_of = _highs(m)
        lp = self.h.getLp()
        self.cost = np.array(lp.col_cost_, dtype=float)
        self.var_labels = {name: m.variables[name].labels for name in m.variables}
        self._rows = self._row_families()
        self._coefs = self._coef_families()
        self._costs = self._cost_families()
        self._bounds = self._bound_families()
        self._presence = self._presence_families()
        self._self_check(lp)
        # Solve the LP relaxation first (warm, fast); branch only when a placement comes out
        # fractional. An integral relaxed optimum is the MIP's optimum, so nothing is lost.
        integrality = np.asarray(lp.integrality_, dtype=np.uint8) if len(lp.integrality_) else np.zeros(0)
        self.int_cols = np.nonzero(integrality)[0].astype(np.int32)
        lp_lower, lp_upper = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
        self.int_lower, self.int_upper = lp_lower[self.int_cols].copy(), lp_upper[self.int_cols].copy()
        self._relax(True)
        self.h.run()
        self._basis = self.h.getBasis()
        self.mip_solves = 0
        self.inputs = SampledInputs(scenario, self.base)
        self._checked = False
        self._cols: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        penalty = [self.var_labels[n].values.ravel() for n in PENALTY_FAMILIES if n in self.var_labels]
        flat = np.concatenate(penalty) if penalty else np.zeros(0, dtype=np.int64)
        self.penalty_cols = self.col_of[flat[flat >= 0]]
        self.mw_per_ef = shortfall_mw_per_ef(self.base).values   # MW one EF/s of shortfall takes
        self.limit_rows = {}
        for name in LIMIT_FAMILIES:
            if name in m.constraints:
                lab = m.constraints[name].labels.values.ravel()
                self.limit_rows[name] = self.row_of[lab[lab >= 0]]
        self.row_upper = np.asarray(self.h.getLp().row_upper_)

    def refix(self, fs: FirstStage) -> None:
        """Hold another first stage in the same live model: new bounds on the first-stage columns
        (nothing else in the model depends on them), then a fresh base basis. Saves a model build
        and the verification per first stage (batched SAA evaluates several)."""
        self.update(self.base)           # the base future's numbers back: the basis is the base's
        fix_first_stage(self.model, self.base, fs)
        for name in FIRST_STAGE_FAMILIES:
            if name not in self.model.variables:
                continue
            flat, keep = _present(self.model.variables[name].labels)
            cols = self.col_of[flat[keep]].astype(np.int32)
            lower, upper = self._var_bounds(name, keep)
            self.h.changeColsBounds(len(cols), cols, lower, upper)
        for name, pf in self._presence.items():    # present columns get the new first stage's bounds
            pf.lower, pf.upper = self._var_bounds(name, pf.align.keep)
        lp = self.h.getLp()
        self.int_lower = np.asarray(lp.col_lower_)[self.int_cols].copy()
        self.int_upper = np.asarray(lp.col_upper_)[self.int_cols].copy()
        self.fs = fs
        self.h.run()
        self._basis = self.h.getBasis()

    # set-up -------------------------------------------------------------

    def _row_families(self) -> dict[str, _RowFamily]:
        out = {}
        formulas: dict[str, Callable[[PlanInputs], xr.DataArray]] = {**RHS, "n_minus_1": _Need(self.groups)}
        for name, fn in formulas.items():
            if name not in self.model.constraints:
                continue
            con = self.model.constraints[name]
            labels = con.labels
            flat, keep = _present(labels)
            example = fn(self.base)
            align = _Aligner(labels, keep, example)
            signs = np.asarray(con.sign.broadcast_like(labels).transpose(*labels.dims).values).ravel()[keep]
            present = ROW_PRESENT.get(name)
            on = align(present(self.base)).astype(bool) if present else None
            out[name] = _RowFamily(self.row_of[flat[keep]], signs, align(example), fn, align, present, on)
        return out

    def _coef_families(self) -> list[_CoefFamily]:
        out = []
        for row_name, var_name, period_as, fn in COEFFICIENTS:
            if row_name not in self.model.constraints or var_name not in self.model.variables:
                continue
            row_labels = self.model.constraints[row_name].labels
            col_labels = self.model.variables[var_name].labels
            if period_as:
                col_labels = col_labels.rename(period=period_as)
            rl, cl = xr.broadcast(row_labels, col_labels)
            cl = cl.transpose(*rl.dims)
            r, c = rl.values.ravel(), cl.values.ravel()
            keep = (r >= 0) & (c >= 0)
            example = fn(self.base)
            align = _Aligner(rl, keep, example)
            out.append(_CoefFamily(self.row_of[r[keep]], self.col_of[c[keep]], align(example), fn, align))
        return out

    def _columns(self, name: str, example: xr.DataArray) -> tuple[np.ndarray, np.ndarray, _Aligner]:
        """A variable family's present columns in the live model, which of its label entries
        they are, and how a formula's arrays (shaped like `example`) line up with them."""
        labels = self.model.variables[name].labels
        flat, keep = _present(labels)
        return self.col_of[flat[keep]], keep, _Aligner(labels, keep, example)

    def _cost_families(self) -> dict[str, _CostFamily]:
        out = {}
        for name, fn in COSTS.items():
            if name not in self.model.variables:
                continue
            example = fn(self.base)
            cols, _, align = self._columns(name, example)
            out[name] = _CostFamily(cols, align(example), fn, align)
        return out

    def _bound_families(self) -> dict[str, _BoundFamily]:
        out = {}
        for name, (lower_fn, upper_fn) in COLUMN_BOUNDS.items():
            if name not in self.model.variables:
                continue
            lo, hi = lower_fn(self.base), upper_fn(self.base)
            cols, _, align = self._columns(name, lo)
            out[name] = _BoundFamily(cols, align(lo), align(hi), (lower_fn, upper_fn), align)
        return out

    def _var_bounds(self, name: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        var = self.model.variables[name]
        labels = var.labels
        lower = var.lower.broadcast_like(labels).transpose(*labels.dims).values.ravel()[keep]
        upper = var.upper.broadcast_like(labels).transpose(*labels.dims).values.ravel()[keep]
        return lower.astype(float), upper.astype(float)

    def _presence_families(self) -> dict[str, _PresenceFamily]:
        out = {}
        for name, fn in COLUMN_PRESENT.items():
            if name not in self.model.variables:
                continue
            example = fn(self.base)
            cols, keep, align = self._columns(name, example)
            lower, upper = self._var_bounds(name, keep)
            out[name] = _PresenceFamily(cols, align(example).astype(bool), lower, upper, fn, align)
        return out

    def _self_check(self, lp: Any) -> None:
        """The formulas must reproduce the model the planner just built, number for number."""
        lower, upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
        for name, fam in self._rows.items():
            bound = np.where(fam.sign == ">=", lower[fam.rows], upper[fam.rows])
            if not np.allclose(bound, fam.rhs, rtol=1e-9, atol=1e-9):
                raise StressError(f"internal: stress's right-hand side of '{name}' no longer matches the planner's; "
                                  "update gigawatt/stress/evaluate.py")
        a = lp.a_matrix_
        start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
        rowwise = a.format_ == highspy.MatrixFormat.kRowwise
        for cfam in self._coefs:
            got = np.zeros(len(cfam.rows))
            for i, (r, c) in enumerate(zip(cfam.rows, cfam.cols, strict=True)):
                major, minor = (r, c) if rowwise else (c, r)
                seg = slice(start[major], start[major + 1])
                hit = np.nonzero(index[seg] == minor)[0]
                got[i] = value[seg][hit[0]] if len(hit) else 0.0
            if not np.allclose(got, cfam.value, rtol=1e-9, atol=1e-9):
                raise StressError("internal: stress's matrix coefficients no longer match the planner's; "
                                  "update gigawatt/stress/evaluate.py")
        col_lower, col_upper = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
        for name, bf in self._bounds.items():
            if not (np.allclose(col_lower[bf.cols], bf.lower, rtol=1e-9) and np.allclose(col_upper[bf.cols], bf.upper,
                                                                                          rtol=1e-9)):
                raise StressError(f"internal: stress's bounds of '{name}' no longer match the planner's; "
                                  "update gigawatt/stress/evaluate.py")
        for name, cf in self._costs.items():
            if not np.allclose(self.cost[cf.cols], cf.value, rtol=1e-9, atol=1e-6):
                raise StressError(f"internal: stress's objective terms of '{name}' no longer match the planner's; "
                                  "update gigawatt/stress/evaluate.py")

    # per sample ---------------------------------------------------------

    def update(self, p: PlanInputs) -> None:
        h = self.h
        for fam in self._rows.values():
            rhs = fam.align(fam.fn(p))
            on = fam.align(fam.present(p)).astype(bool) if fam.present else None
            diff = rhs != fam.rhs
            if on is not None and fam.on is not None:
                diff |= on != fam.on
            changed = np.nonzero(diff)[0]
            if len(changed):
                sign = fam.sign[changed]
                lo = np.where(sign == "<=", -np.inf, rhs[changed])
                hi = np.where(sign == ">=", np.inf, rhs[changed])
                if on is not None:        # a row the sampled model would not have: free it
                    lo = np.where(on[changed], lo, -np.inf)
                    hi = np.where(on[changed], hi, np.inf)
                h.changeRowsBounds(len(changed), fam.rows[changed].astype(np.int32), lo, hi)  # type: ignore[attr-defined]
                fam.rhs, fam.on = rhs, on
        for cfam in self._coefs:
            value = cfam.align(cfam.fn(p))
            for i in np.nonzero(value != cfam.value)[0]:
                h.changeCoeff(int(cfam.rows[i]), int(cfam.cols[i]), float(value[i]))
            cfam.value = value
        for bf in self._bounds.values():
            lower, upper = bf.align(bf.fns[0](p)), bf.align(bf.fns[1](p))
            changed = np.nonzero((lower != bf.lower) | (upper != bf.upper))[0]
            if len(changed):
                h.changeColsBounds(len(changed), bf.cols[changed].astype(np.int32), lower[changed], upper[changed])
                bf.lower, bf.upper = lower, upper
        for pf in self._presence.values():
            on = pf.align(pf.fn(p)).astype(bool)
            changed = np.nonzero(on != pf.on)[0]
            if len(changed):
                now = on[changed]
                h.changeColsBounds(len(changed), pf.cols[changed].astype(np.int32),
                                   np.where(now, pf.lower[changed], 0.0), np.where(now, pf.upper[changed], 0.0))
                pf.on = on
        for cf in self._costs.values():
            value = cf.align(cf.fn(p))
            changed = np.nonzero(value != cf.value)[0]
            if len(changed):
                h.changeColsCost(len(changed), cf.cols[changed].astype(np.int32), value[changed])
                self.cost[cf.cols[changed]] = value[changed]
                cf.value = value

    def verify(self) -> None:
        """Once per worker: one demanding future solved in place and rebuilt from scratch must agree.

        The future has every factor at its 90th percentile and every default in mid-horizon,
        so each update path runs. It guards against planner changes the formulas here miss.
        """
        values = verification_sample(self.scenario)
        if not values:
            return
        self.inputs.check(values)
        got = next((r[3] for r in self.evaluate(-1, values) if r[1] == "npv_usd"), None)
        want = RebuildEvaluator(self.scenario, self.fs).objective(values)
        if got is None or not math.isclose(got, want, rel_tol=1e-6, abs_tol=1.0):
            raise StressError(f"internal: in-place re-solve gives {got} where a rebuilt model gives {want}; "
                              "gigawatt/stress/evaluate.py needs the planner's change")

    def _relax(self, relaxed: bool) -> None:
        n = len(self.int_cols)
        if n:
            kind = np.zeros(n, dtype=np.uint8) if relaxed else np.ones(n, dtype=np.uint8)
            self.h.changeColsIntegrality(n, self.int_cols, kind)  # type: ignore[call-arg, arg-type]

    def solve(self) -> tuple[np.ndarray, np.ndarray, float, str]:
        h = self.h
        h.setBasis(self._basis)   # same start for every sample: results independent of order
        h.run()
        sol = h.getSolution()
        status = h.modelStatusToString(h.getModelStatus())
        objective = float(h.getInfo().objective_function_value)
        x, activity = np.asarray(sol.col_value), np.asarray(sol.row_value)
        if len(self.int_cols) and status == "Optimal" and _fractional(x[self.int_cols]) is not None:
            self.mip_solves += 1
            found = self._branch(objective, x, activity)
            if found is None:       # too many nodes: let HiGHS's own branch and bound finish it
                self._relax(False)
                h.run()
                sol = h.getSolution()      # read before relaxing again: that resets HiGHS's status
                status = h.modelStatusToString(h.getModelStatus())
                objective = float(h.getInfo().objective_function_value)
                x, activity = np.asarray(sol.col_value), np.asarray(sol.row_value)
                self._relax(True)
            else:
                objective, x, activity = found
        return x, activity, objective, status

    def _branch(self, root: float, x: np.ndarray, activity: np.ndarray,
                max_nodes: int = 64) -> tuple[float, np.ndarray, np.ndarray] | None:
        """Depth-first branch and bound on the few binaries (placements, missed runs), each node a
        warm LP re-solve. Exact: a node is dropped only when its relaxation cannot beat the best."""
        h = self.h
        cols = self.int_cols
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        stack: list[tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]] = []
        lower, upper = self.int_lower.copy(), self.int_upper.copy()
        stack.append((lower, upper, root, x, activity))
        nodes = 0
        try:
            while stack:
                lo, hi, bound, xs, acts = stack.pop()
                if best is not None and bound >= best[0] - 1e-9 * max(1.0, abs(best[0])):
                    continue
                j = _fractional(xs[cols])
                if j is None:
                    best = (bound, xs, acts)
                    continue
                value = xs[cols[j]]
                children = []
                for side in (0.0, 1.0):
                    nodes += 1
                    if nodes > max_nodes:
                        return None
                    clo, chi = lo.copy(), hi.copy()
                    clo[j] = chi[j] = side
                    if side < lo[j] or side > hi[j]:
                        continue
                    h.changeColsBounds(len(cols), cols, clo, chi)
                    h.run()
                    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                        continue
                    sol = h.getSolution()
                    obj = float(h.getInfo().objective_function_value)
                    children.append((clo, chi, obj, np.asarray(sol.col_value), np.asarray(sol.row_value)))
                # explore the child the relaxation leans to last-pushed, so first
                children.sort(key=lambda c: abs(c[0][j] - value), reverse=True)
                stack += children
        finally:
            h.changeColsBounds(len(cols), cols, self.int_lower, self.int_upper)
        return best

    def evaluate(self, index: int, values: dict[str, float], timings: Timings | None = None) -> list[Row]:
        t = timings or Timings()
        if not self._checked:
            self._checked = True
            self.verify()
        t0 = time.perf_counter()
        p = self.inputs(values)
        self.update(p)
        t1 = time.perf_counter()
        x, activity, objective, status = self.solve()
        t2 = time.perf_counter()
        rows = extract_rows(index, p, self, x, activity, objective, status, values)
        t3 = time.perf_counter()
        t.update += t1 - t0
        t.solve += t2 - t1
        t.extraction += t3 - t2
        t.samples += 1
        return rows

    def values(self, x: np.ndarray, name: str, *dims: str) -> np.ndarray:
        """A variable's solution as a numpy array in the given dim order (0 where masked out)."""
        key = (name, dims)
        cols = self._cols.get(key)
        if cols is None:
            labels = self.var_labels[name].transpose(*dims).values
            cols = self._cols[key] = np.where(labels >= 0, self.col_of[np.maximum(labels, 0)], -1)
        return np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0)


def _fractional(values: np.ndarray, tol: float = 1e-9) -> int | None:
    """Index of the most fractional value, or None when all are whole."""
    dist = np.abs(values - np.round(values))
    j = int(np.argmax(dist)) if len(dist) else 0
    return j if len(dist) and dist[j] > tol else None


def verification_sample(scenario: Scenario) -> dict[str, float]:
    if scenario.uncertainty is None:
        return {}
    specs = factor_specs(scenario.uncertainty, scenario.horizon.start)
    middle = float(parse_quarter(scenario.horizon.start) + len(scenario.horizon.periods) // 2)
    return {f.name: middle if f.name.endswith(".default") else float(f.ppf(np.array([0.9]))[0]) for f in specs}


# --- per sample results, as tidy rows ---

def extract_rows(index: int, p: PlanInputs, ev: InPlaceEvaluator, x: np.ndarray, activity: np.ndarray,
                 objective: float, status: str, values: dict[str, float]) -> list[Row]:
    rows: list[Row] = [(index, "factor", name, float(v)) for name, v in values.items()]
    solved = status == "Optimal"
    rows.append((index, "solved", "", 1.0 if solved else 0.0))
    if not solved:
        return rows
    penalty = float(ev.cost[ev.penalty_cols] @ x[ev.penalty_cols])
    npv = objective
    rows += [(index, "npv_usd", "", npv), (index, "penalty_usd", "", penalty), (index, "cost_usd", "", npv - penalty)]

    periods = [str(q) for q in p.period]
    demands = [str(d) for d in p.demand]
    # inference, EF/s; a class's shortfall shared by demand (the LP's split is arbitrary)
    unmet = split_shortfall(ev.values(x, "unmet", "demand", "period"), p.demand_ef.transpose("demand", "period").values,
                            ev.base)
    missed = ev.values(x, "missed", "demand") if "missed" in ev.var_labels else np.zeros(len(demands))
    missed = np.where(missed > 0.5, 1.0, 0.0)
    # a missed training run is short its whole rate over its window
    short = unmet + missed[:, None] * p.demand_ef.transpose("demand", "period").values
    need = float(p.demand_ef.sum())
    short_total = float(short.sum())
    rows.append((index, "unmet_share", "", short_total / need if need else 0.0))
    rows.append((index, "shortfall", "", 1.0 if short_total > SHORTFALL_TOL * max(need, 1.0) else 0.0))
    rows += [(index, "missed_training", demands[i], 1.0) for i in np.nonzero(missed)[0]]
    for i, j in zip(*np.nonzero(short > TOL), strict=True):
        rows.append((index, "unmet_exaflops", f"{demands[i]}|{periods[j]}", float(short[i, j])))
    short_mw = (short * ev.mw_per_ef[:, None]).sum(axis=0)
    rows += [(index, "capacity_short_mw", q, float(mw)) for q, mw in zip(periods, short_mw, strict=True)]

    spend = _spend_by_period(p, ev, x)
    year = p.year.values
    years = np.unique(year)
    by_year = np.array([spend[year == y].sum() for y in years])
    revenue = p.revenue.to_series()
    gap = np.maximum(by_year - np.array([float(revenue.get(y, 0.0)) for y in years]), 0.0)
    rows += [(index, "spend_usd", str(int(y)), float(v)) for y, v in zip(years, by_year, strict=True)]
    rows += [(index, "funding_gap_usd", str(int(y)), float(v)) for y, v in zip(years, gap, strict=True)]
    rows.append((index, "max_funding_gap_usd", "", float(gap.max()) if gap.size else 0.0))

    if "usable_ef" in ev.var_labels:          # worst cover over groups and lost providers, per quarter
        usable = ev.values(x, "usable_ef", "group", "provider", "period")
        need_peak = ev.groups.need_peak_ef(p).transpose("group", "period").values
        without = usable.sum(axis=1, keepdims=True) - usable
        with np.errstate(divide="ignore", invalid="ignore"):
            cover = np.where(need_peak[:, None, :] > 0, without / need_peak[:, None, :], np.inf).min(axis=(0, 1))
        rows += [(index, "n1_cover", q, float(c)) for q, c in zip(periods, cover, strict=True) if np.isfinite(c)]

    for name, r in ev.limit_rows.items():
        hi = ev.row_upper[r]
        n_bind = int(np.sum(np.isfinite(hi) & (np.abs(activity[r] - hi) <= TOL * (1 + np.abs(hi)))))
        if n_bind:
            rows.append((index, "binding", name, float(n_bind)))
    return rows


def _spend_by_period(p: PlanInputs, ev: InPlaceEvaluator, x: np.ndarray) -> np.ndarray:
    """Undiscounted USD per period, as expressions.variable_spend plus contract payments."""
    total = np.zeros(len(p.period))
    if "contract_take" in ev.var_labels:
        take = ev.values(x, "contract_take", "contract", "period")
        total += (take * _contract_per_unit(p).transpose("contract", "period").values).sum(axis=0)
    if len(p.site):
        build = ev.values(x, "build_mw", "site", "period")
        total += (build * p.site_capex_per_mw.values[:, None]).sum(axis=0)
        install = ev.values(x, "install", "site", "acc", "period")
        total += (install * p.acc_price.transpose("acc", "period").values[None]).sum(axis=(0, 1))
        alive = ev.values(x, "alive", "site", "acc", "period")
        draw = (alive * p.acc_kw_all_in_per_pue.values[None, :, None]).sum(axis=1) * p.site_pue.values[:, None] / 1000
        total += (draw * HOURS_PER_QUARTER * p.site_elec.values[:, None]).sum(axis=0)
    if len(p.lot):
        started = ev.values(x, "cloud_new", "lot", "period")           # lot x vintage
        active = p.lot_active_matrix.transpose("lot", "period", "vintage").values
        units = np.einsum("lpv,lv->lp", active, started)
        total += (units * p.lot_price_hour.values[:, None] * HOURS_PER_QUARTER).sum(axis=0)
    return total


# --- the baseline: a fresh model per sample ---

@dataclass
class RebuildEvaluator:
    """Build and solve the sampled future's model from scratch (the slow, obviously right way)."""

    scenario: Scenario
    fs: FirstStage
    last_model: Model | None = field(default=None, repr=False)

    def objective(self, values: dict[str, float]) -> float:
        """Objective (money plus penalties: the npv_usd metric) of the sample's own model."""
        base = build_inputs(self.scenario)
        p = build_inputs(apply_sample(self.scenario, values))
        m = _build(base, p)
        fix_first_stage(m, p, self.fs)
        h, _, _ = _highs(m)
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        if status != "Optimal":
            raise StressError(f"rebuilt model did not solve: {status}")
        self.last_model = m
        return float(h.getInfo().objective_function_value)


def load_plan_for(scenario: Scenario, plan: Plan, plan_dir: str = "the plan") -> None:
    """A plan made from another scenario cannot be stressed against this one."""
    from gigawatt.plan.solve import scenario_hash

    saved = plan.metadata.get("scenario_hash")
    if saved is not None and saved != scenario_hash(scenario):
        raise StressError(f"{plan_dir}: this plan was made from another scenario (hash {saved}, this one is "
                          f"{scenario_hash(scenario)}); plan this scenario again (`gigawatt plan SCENARIO --out DIR`)")
