"""Close the loop: a round trip's measured availability, saved, and planned with again.

A round-trip directory (`gigawatt simulate SCENARIO --plan DIR --out SIMDIR`) holds
`roundtrip.json` (the scenario's hash, the availability measured per demand, the plan's
capacity per period) and the tables as CSV. `gigawatt plan SCENARIO --derate-from SIMDIR`
sets each demand's `availability` to the measured one, so the plan holds 1/availability
times the accelerators for it; the plan's metadata keep the simulated plan's capacity, so
the report can say how much capacity the derate adds.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from gigawatt.errors import SimulationError
from gigawatt.json_values import finite
from gigawatt.scenario.model import Scenario
from gigawatt.sim.roundtrip import RoundTrip

MANIFEST = "roundtrip.json"
KIND = "gigawatt round trip"
MIN_AVAILABILITY = 0.01          # the scenario field's floor: below it more capacity is no answer
TABLES = ("runs", "inference", "periods", "capacity")


def save_round_trip(rt: RoundTrip, directory: str | Path, scenario_hash: str, plan_dir: str,
                    facts: dict[str, Any]) -> Path:
    """Write the tables and the manifest into a fresh sibling, then switch it in."""
    target = Path(os.path.abspath(directory))
    if target.exists() and not (target / MANIFEST).is_file():
        raise SimulationError(f"--out {directory}: exists and is not a round-trip directory; name a new one")
    saving = target.with_name(f".{target.name}.saving")
    if saving.exists():
        shutil.rmtree(saving)
    saving.mkdir(parents=True)
    for name in TABLES:
        getattr(rt, name).to_csv(saving / f"{name}.csv", index=False)
    manifest = {"kind": KIND, "scenario_hash": scenario_hash, "plan": plan_dir, **facts,
                "availability": rt.availability, "late_runs": rt.late_runs(), "summary": rt.summary,
                "notes": rt.notes}
    (saving / MANIFEST).write_text(json.dumps(finite(manifest), indent=1))
    if target.exists():
        shutil.rmtree(target)
    saving.rename(target)
    return target


def load_round_trip(directory: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and the simulated plan's capacity per period; a one-line error if it is not one."""
    path = Path(directory)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise SimulationError(f"--derate-from {directory}: no {MANIFEST} there; give the --out directory of "
                              "`gigawatt simulate SCENARIO --plan DIR --out SIMDIR`")
    try:
        meta = json.loads(manifest.read_text())
        capacity = pd.read_csv(path / "capacity.csv", dtype={"period": str})
    except (OSError, ValueError) as exc:
        raise SimulationError(f"--derate-from {directory}: unreadable round trip ({exc}); simulate again") from None
    if meta.get("kind") != KIND or not isinstance(meta.get("availability"), dict):
        raise SimulationError(f"--derate-from {directory}: {MANIFEST} is not a round trip's; simulate again")
    bad = {k: v for k, v in meta["availability"].items() if not isinstance(v, int | float) or not 0 <= v <= 1}
    if bad:
        raise SimulationError(f"--derate-from {directory}: availability {bad} is not a share in [0, 1]")
    return meta, capacity


def with_availability(s: Scenario, availability: dict[str, float]) -> tuple[Scenario, list[str]]:
    """The scenario with each measured demand's availability set (clamped to the field's floor)."""
    notes = []

    def value(demand_id: str, current: float) -> float:
        a = availability.get(demand_id)
        if a is None:
            return current
        if a < MIN_AVAILABILITY:
            notes.append(f"{demand_id}: measured availability {a:.4f} is below {MIN_AVAILABILITY}; planned at "
                         f"{MIN_AVAILABILITY} (more capacity will not fix it: checkpoint more often, add spares)")
        return max(MIN_AVAILABILITY, min(1.0, a))

    unknown = sorted(set(availability) - {r.id for r in s.demand.training} - {x.id for x in s.demand.inference})
    if unknown:
        raise SimulationError(f"the round trip measured demands this scenario does not have: {unknown}")
    demand = s.demand.model_copy(update={
        "training": [r.model_copy(update={"availability": value(r.id, r.availability)}) for r in s.demand.training],
        "inference": [x.model_copy(update={"availability": value(x.id, x.availability)})
                      for x in s.demand.inference],
    })
    return s.model_copy(update={"demand": demand}), notes


def derate_metadata(directory: str | Path, meta: dict[str, Any], capacity: pd.DataFrame,
                    notes: list[str]) -> dict[str, Any]:
    return {"from": str(directory), "base_scenario_hash": meta["scenario_hash"], "base_plan": meta.get("plan"),
            "availability": meta["availability"], "notes": notes,
            "base_capacity": capacity.to_dict(orient="records")}


def derate_table(capacity: pd.DataFrame, derate: dict[str, Any]) -> pd.DataFrame:
    """Per period: the simulated plan's capacity, the derated plan's, and what the derate adds."""
    base = pd.DataFrame(derate.get("base_capacity") or [],
                        columns=["period", "accelerators", "peak_exaflops", "mw"]).astype({"period": str})
    now = capacity.assign(period=capacity["period"].astype(str)).groupby("period")[
        ["accelerators", "peak_exaflops", "mw"]].sum() if not capacity.empty else pd.DataFrame(
        columns=["accelerators", "peak_exaflops", "mw"])
    out = base.set_index("period").merge(now, how="outer", left_index=True, right_index=True,
                                         suffixes=("_base", "")).fillna(0.0)
    for col in ("accelerators", "peak_exaflops", "mw"):
        out[f"{col}_added"] = out[col] - out[f"{col}_base"]
    return out.reset_index()[["period", "mw_base", "mw", "mw_added", "accelerators_base", "accelerators",
                              "accelerators_added", "peak_exaflops_base", "peak_exaflops", "peak_exaflops_added"]]


def derate_summary(table: pd.DataFrame) -> str:
    """One sentence: what the derate adds over the horizon (accelerator-quarters) and at its largest."""
    if table.empty:
        return "the derate changes no capacity"
    base, now = table["accelerators_base"].sum(), table["accelerators"].sum()
    top = table.loc[table["mw_added"].abs().idxmax()]
    share = f" ({now / base - 1:+.1%})" if base > 0 else ""
    return (f"the derate adds {now - base:+,.0f} accelerator-quarters over the horizon{share}; most in "
            f"{top['period']}: {top['mw_added']:+,.1f} MW ({top['accelerators_added']:+,.0f} accelerators)")

