"""Read a solved model back as tidy tables (labelled, never index arithmetic)."""

from __future__ import annotations

import operator
from functools import reduce

import numpy as np
import pandas as pd
import xarray as xr
from linopy import Model

from gigawatt.periods import HOURS_PER_QUARTER, SECONDS_PER_QUARTER
from gigawatt.plan.expressions import Expressions
from gigawatt.plan.inputs import PlanInputs
from gigawatt.plan.pools import POOL_KINDS
from gigawatt.plan.sharing import shortfall_by_demand, split_among_members

TOL = 1e-9  # below this a solver value is noise (HiGHS's feasibility tolerance is 1e-7)


def _tidy(da: xr.DataArray, name: str, keep_zero: bool = False) -> pd.DataFrame:
    """One row per cell with a value (per non-zero cell, unless `keep_zero`), its coordinates as
    columns. Cells are picked before any row is made: a plan's serve array has millions of cells
    and a few thousand values."""
    values = np.asarray(da.values, dtype=float)
    keep = ~np.isnan(values) if keep_zero else np.abs(values) > TOL
    cells = np.nonzero(keep)
    columns = {dim: da.get_index(dim).take(at) for dim, at in zip(da.dims, cells, strict=True)}
    kept = values[cells]
    columns[name] = np.where(np.abs(kept) > TOL, kept, 0.0)   # no -1e-10 or -0.0 in a table
    return pd.DataFrame(columns)


def capacity_table(p: PlanInputs, ex: Expressions) -> pd.DataFrame:
    """Capacity per period x provider x location x accelerator, in units, MW and peak EF/s."""
    frames = []
    alive = ex.alive_units.solution
    if alive.size:
        df = _tidy(alive, "accelerators")
        df["provider"] = df["site"].map(p.site_provider.to_series())
        df["kind"] = "owned"
        kw = df["acc"].map(p.acc_kw_all_in_per_pue.to_series()).astype(float)
        df["mw"] = df["accelerators"] * kw * df["site"].map(p.site_pue.to_series()).astype(float) / 1000
        frames.append(df.rename(columns={"site": "location", "acc": "accelerator"}))
    kw_default = p.acc_kw_all_in_per_pue * p.default_pue / 1000
    if len(p.offer):
        df = _tidy(ex.offer_units.solution, "accelerators")
        df["provider"] = df["offer"].map(p.offer_provider.to_series())
        df["accelerator"] = df["offer"].map(p.offer_acc.to_series())
        df["kind"] = "cloud"
        frames.append(df.rename(columns={"offer": "location"}))
    if len(p.contract):
        df = _tidy(ex.contract_units.solution, "accelerators")
        df["provider"] = df["contract"].map(p.contract_provider.to_series())
        df["accelerator"] = df["contract"].map(p.contract_acc.to_series())
        df["kind"] = "contract"
        frames.append(df.rename(columns={"contract": "location"}))
    cols = ["period", "provider", "location", "kind", "accelerator", "accelerators", "mw", "peak_exaflops"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True).reindex(columns=cols)
    rented = out["mw"].isna()
    if rented.any():
        kw = out.loc[rented, "accelerator"].map(kw_default.to_series()).astype(float)
        out.loc[rented, "mw"] = out.loc[rented, "accelerators"].astype(float) * kw
    out["peak_exaflops"] = out["accelerators"] * out["accelerator"].map(p.acc_peak_ef.to_series()).astype(float)
    return out[cols].sort_values(["period", "provider", "location"]).reset_index(drop=True)


def spend_table(p: PlanInputs, ex: Expressions) -> pd.DataFrame:
    parts = {
        "facility_capex_usd": ex.facility_capex.solution,
        "it_capex_usd": ex.it_capex.solution,
        "energy_usd": ex.energy_cost.solution,
        "cloud_usd": ex.cloud_cost.solution,
        "contracts_usd": ex.contract_cost.solution,
    }
    df = pd.DataFrame({k: v.reindex(period=p.period).fillna(0).values for k, v in parts.items()},
                      index=pd.Index(p.period, name="period"))
    df["year"] = p.year.values
    out = df.groupby("year").sum().reset_index()
    out["total_usd"] = out[list(parts)].sum(axis=1)
    return out


def finance_table(p: PlanInputs, spend: pd.DataFrame, m: Model) -> pd.DataFrame:
    out = spend[["year", "total_usd"]].rename(columns={"total_usd": "spend_usd"})
    out["revenue_usd"] = out["year"].map(p.revenue.to_series()).fillna(0.0)
    out["budget_usd"] = out["year"].map(p.budget.to_series()).replace(np.inf, np.nan)
    out["funding_gap_usd"] = (out["spend_usd"] - out["revenue_usd"]).clip(lower=0)
    over = m.variables["budget_over"].solution.to_series() if "budget_over" in m.variables else pd.Series(dtype=float)
    out["budget_over_usd"] = out["year"].map(over).fillna(0.0)
    return out


def unmet_table(p: PlanInputs, m: Model) -> pd.DataFrame:
    df = _tidy(shortfall_by_demand(m.variables["unmet"].solution, p), "exaflops_short")
    if df.empty:
        return pd.DataFrame(columns=["demand", "period", "exaflops_short", "share_short", "mw_short"])
    short = df["exaflops_short"].to_numpy()
    need = p.demand_ef.to_series().loc[list(zip(df["demand"], df["period"], strict=True))].to_numpy()
    df["share_short"] = short / need
    df["mw_short"] = short * shortfall_mw_per_ef(p).to_series().loc[df["demand"]].to_numpy()
    return df


def shortfall_mw_per_ef(p: PlanInputs) -> xr.DataArray:
    """[demand]: facility MW one effective EF/s of shortfall would take on the most power-efficient
    suitable accelerator (any accelerator where none suits; NaN where nothing draws power)."""
    drawing = p.acc_kw_all_in_per_pue > 0
    if not bool(drawing.any()):
        return xr.full_like(p.demand_mfu, np.nan)
    kw_per_peak_ef = (p.acc_kw_all_in_per_pue / p.acc_peak_ef).where(drawing)
    suitable = kw_per_peak_ef.where(p.compat).min("acc")
    best = suitable.fillna(float(kw_per_peak_ef.min()))
    return best / p.demand_mfu * p.default_pue / 1000


def constraint_dual(m: Model, name: str) -> xr.DataArray | None:
    """A constraint family's duals, or None where the family is absent or has none stored."""
    if name not in m.constraints:
        return None
    try:
        return m.constraints[name].dual
    except AttributeError:
        return None


def shadow_price_table(p: PlanInputs, m: Model) -> pd.DataFrame:
    """Marginal cost of one more effective EF/s-day of compute, per period (in that period's USD)."""
    dual = constraint_dual(m, "demand_balance")
    if dual is None or dual.isnull().all():
        return pd.DataFrame(columns=["period", "usd_per_exaflop_day"])
    per_day = dual / (p.discount * HOURS_PER_QUARTER / 24)
    weight = p.demand_ef.where(p.demand_ef > 0)
    avg = (per_day * weight).sum("demand") / weight.sum("demand")
    df = _tidy(avg, "usd_per_exaflop_day", keep_zero=True)
    return df


def pool_capacity_ef(p: PlanInputs, ex: Expressions) -> dict[str, xr.DataArray]:
    """Peak EF/s each pool holds per period, from the solution."""
    out = {}
    if len(p.site):
        out["site"] = (ex.alive_units.solution * p.acc_peak_ef).fillna(0.0)
    if len(p.offer):
        out["offer"] = (ex.offer_units.solution * p.acc_peak_ef.sel(acc=p.offer_acc).drop_vars("acc")).fillna(0.0)
    if len(p.contract):
        peak = p.acc_peak_ef.sel(acc=p.contract_acc).drop_vars("acc")
        out["contract"] = (ex.contract_units.solution * peak).fillna(0.0)
    return out


def _by_provider(values: xr.DataArray, owner: xr.DataArray, dim: str, p: PlanInputs) -> xr.DataArray:
    summed = values.groupby(owner.rename("provider")).sum(dim)
    return summed.reindex(provider=p.providers, fill_value=0.0)


def security_table(p: PlanInputs, ex: Expressions) -> pd.DataFrame:
    """N-1 margin per cover group: the share of the group's need left if each provider is lost,
    counting only capacity the group's demands can use. Labels are joined, never positions."""
    cols = ["group", "demands", "period", "provider", "provider_exaflops", "usable_exaflops",
            "usable_without_exaflops", "required_exaflops", "cover_without_provider", "alpha"]
    groups = ex.groups
    caps = pool_capacity_ef(p, ex)
    if not len(groups.group) or not caps:
        return pd.DataFrame(columns=cols)
    owners = {"site": p.site_provider, "offer": p.offer_provider, "contract": p.contract_provider}
    held = reduce(operator.add, [_by_provider(cap.sum("acc") if kind == "site" else cap, owners[kind], kind, p)
                                 for kind, cap in caps.items()])
    usable = reduce(operator.add, [_by_provider((cap * getattr(groups, kind)).sum("acc") if kind == "site"
                                                else cap * getattr(groups, kind), owners[kind], kind, p)
                                   for kind, cap in caps.items()])
    need = groups.need_peak_ef(p)
    data = xr.Dataset({
        "provider_exaflops": held, "usable_exaflops": usable,
        "usable_without_exaflops": usable.sum("provider") - usable, "required_exaflops": need,
    })
    df = data.to_dataframe().reset_index()
    df = df[(df["provider_exaflops"] > TOL) & (df["required_exaflops"] > TOL)].copy()
    df["cover_without_provider"] = df["usable_without_exaflops"] / df["required_exaflops"]
    df["demands"] = df["group"].map(groups.label)
    df["alpha"] = p.scenario.policy.n_minus_1_alpha
    return df.reindex(columns=cols).sort_values(["group", "provider", "period"]).reset_index(drop=True)


def served_by_demand(p: PlanInputs, m: Model) -> xr.DataArray:
    """demand x period: effective EF/s served from all pools, from the solution (an inference
    demand gets what it asked for less what went unmet: its class may share serve variables)."""
    carried = xr.zeros_like(p.demand_ef)
    for pool in POOL_KINDS:
        sol = m.variables[f"serve_{pool}"].solution
        if sol.size:
            carried = carried + sol.fillna(0.0).sum([d for d in sol.dims if d not in ("demand", "period")])
    unmet = shortfall_by_demand(m.variables["unmet"].solution, p).fillna(0.0)
    return xr.where(p.is_training, carried, (p.demand_ef - unmet).clip(min=0.0)).transpose(*carried.dims)


def served_from_pools(p: PlanInputs, m: Model) -> dict[str, xr.DataArray]:
    """Per pool kind, demand x pool x period: what each pool served each demand, a shared class's
    service split among its members by what each got."""
    own = served_by_demand(p, m)
    return {pool: split_among_members(m.variables[f"serve_{pool}"].solution, own, p) for pool in POOL_KINDS
            if m.variables[f"serve_{pool}"].size}


def training_table(p: PlanInputs, m: Model) -> pd.DataFrame:
    """Each training run: the work it needs, what the plan delivers in its window, and when it ends."""
    cols = ["run", "start", "end", "required_exaflop", "delivered_exaflop", "completes", "completion_period"]
    rows = []
    done = served_by_demand(p, m).cumsum("period") * SECONDS_PER_QUARTER   # exaFLOP by the end of each quarter
    for r in p.scenario.demand.training:
        need = float(p.training_work.sel(demand=r.id)) * SECONDS_PER_QUARTER
        so_far = done.sel(demand=r.id)
        finished = [str(t) for t, v in zip(p.period, so_far.values, strict=True) if v >= need * (1 - 1e-6)]
        completes = need > 0 and bool(finished)
        total = float(so_far.isel(period=-1))
        rows.append({"run": r.id, "start": r.start, "end": r.end, "required_exaflop": need,
                     "delivered_exaflop": total if total > TOL else 0.0, "completes": completes,
                     "completion_period": finished[0] if completes else None})
    return pd.DataFrame(rows, columns=cols)


def decision_tables(p: PlanInputs, m: Model) -> dict[str, pd.DataFrame]:
    builds = _tidy(m.variables["build_mw"].solution, "mw_started")
    purchases = _tidy(m.variables["install"].solution, "units")
    if not purchases.empty:
        price = p.acc_price.to_series()
        purchases["usd"] = [r.units * price[(r.acc, r.period)] for r in purchases.itertuples()]
    rentals = _tidy(m.variables["cloud_new"].solution, "units_started") if len(p.lot) else pd.DataFrame()
    serve = []
    for pool, served in served_from_pools(p, m).items():
        df = _tidy(served, "exaflops")
        if not df.empty:
            df["pool"] = df[pool] + (("/" + df["acc"]) if "acc" in df else "")
            serve.append(df[["demand", "pool", "period", "exaflops"]])
    hosts = []
    for kind in ("site", "offer", "contract"):
        name = f"host_{kind}"
        if name in m.variables:
            df = _tidy(m.variables[name].solution, "chosen")
            df = df[df["chosen"] > 0.5]
            hosts += [{"run": r.run, "kind": kind, "location": getattr(r, kind)} for r in df.itertuples()]
    return {
        "builds": builds,
        "purchases": purchases,
        "rentals": rentals,
        "serve": pd.concat(serve, ignore_index=True) if serve else pd.DataFrame(columns=["demand", "pool", "period", "exaflops"]),
        "hosts": pd.DataFrame(hosts, columns=["run", "kind", "location"]),
    }
