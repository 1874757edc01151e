"""What a saved plan has already decided: first-stage builds, rentals and placements.

Default decision horizon: one year after the horizon's start. Facility builds and cloud
terms started before it are fixed at the plan's values (including "nothing started"); every
signed contract is an input and so fixed by nature. Later builds, purchases, rentals and
serving are recourse, re-optimised in each sampled future. Co-located training runs keep
the plan's host (a binary that may only drop to "not run there", so a run whose host fails
goes unmet rather than silently split across places).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import xarray as xr
from linopy import Model

from gigawatt.errors import GigawattError
from gigawatt.periods import parse_quarter, quarter_label
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.result import Plan
from gigawatt.scenario.model import Scenario


class StressError(GigawattError):
    """A stress run was asked something it cannot do (bad plan, bad options)."""


@dataclass(frozen=True)
class FirstStage:
    decision_horizon: str            # first quarter of recourse
    builds: pd.DataFrame             # site, period, mw_started
    rentals: pd.DataFrame            # lot, period, units_started
    hosts: pd.DataFrame              # run, kind, location
    contracts: list[str]

    def describe(self) -> str:
        return (f"before {self.decision_horizon}: {len(self.builds)} facility builds, {len(self.rentals)} cloud terms "
                f"started; {len(self.contracts)} signed contracts; {len(self.hosts)} run placements")


def first_stage(scenario: Scenario, plan: Plan, decision_horizon: str | None = None,
                plan_dir: str = "the plan") -> FirstStage:
    start = parse_quarter(scenario.horizon.start)
    horizon = decision_horizon or (scenario.uncertainty.decision_horizon if scenario.uncertainty else None)
    first = parse_quarter(horizon) if horizon else start + 4
    label = quarter_label(first)

    def before(df: pd.DataFrame) -> pd.DataFrame:
        if df is None or df.empty or "period" not in df:
            return pd.DataFrame(columns=list(df.columns) if df is not None else [])
        keep = [parse_quarter(str(q)) < first for q in df["period"]]
        return df[keep].reset_index(drop=True)

    builds = before(plan.tables.get("builds", pd.DataFrame()))
    rentals = before(plan.tables.get("rentals", pd.DataFrame()))
    hosts = plan.tables.get("hosts", pd.DataFrame(columns=["run", "kind", "location"]))
    contracts = [c.id for c in scenario.contracts]
    if builds.empty and rentals.empty and not contracts:
        raise StressError(f"{plan_dir}: nothing is decided before {label} (no facility started, no cloud term, "
                          "no signed contract): there is nothing to stress; give a later "
                          "uncertainty.decision_horizon or plan again")
    return FirstStage(label, builds, rentals, hosts, contracts)


def _fix(m: Model, name: str, value: xr.DataArray, first: xr.DataArray) -> None:
    var = m.variables[name]
    value = value.reindex_like(var.lower).fillna(0.0)
    var.update(lower=xr.where(first, value, var.lower), upper=xr.where(first, value, var.upper))


def fix_first_stage(m: Model, p: PlanInputs, fs: FirstStage) -> None:
    """Pin first-stage decisions as variable bounds (same on a rebuilt model and the live one)."""
    first_q = parse_quarter(fs.decision_horizon)
    first = xr.DataArray([parse_quarter(q) < first_q for q in p.period], coords=[p.period])
    if "build_mw" in m.variables and len(p.site):
        b = fs.builds
        value = (b.set_index(["site", "period"])["mw_started"].to_xarray() if not b.empty
                 else xr.DataArray(0.0))
        _fix(m, "build_mw", value, first)
    if "cloud_new" in m.variables and len(p.lot):
        r = fs.rentals
        value = (r.set_index(["lot", "period"])["units_started"].to_xarray() if not r.empty
                 else xr.DataArray(0.0))
        _fix(m, "cloud_new", value, first)
    for kind in ("site", "offer", "contract"):
        name = f"host_{kind}"
        if name not in m.variables:
            continue
        var = m.variables[name]
        chosen = fs.hosts[fs.hosts["kind"] == kind] if not fs.hosts.empty else fs.hosts
        allowed = xr.zeros_like(var.upper)
        for row in chosen.itertuples():
            if row.run in allowed.coords["run"] and row.location in allowed.coords[kind]:
                allowed.loc[{"run": row.run, kind: row.location}] = 1.0
        var.update(upper=allowed)
