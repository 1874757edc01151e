"""Results as stored artifacts: a Plan or a SimResult in, bytes out, and back again.

A plan is stored the way `Plan.save` writes it (Parquet tables + plan.json), so it loads
losslessly; a simulation as summary.json plus its tables in Parquet.
"""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from gigawatt.plan.result import Plan
from gigawatt.sim.result import SimResult
from gigawatt.stress.run import StressResult

SIM_TABLES = ("timeline", "jobs", "gantt")
STRESS_TABLES = ("table", "factors", "tornado", "global_indices", "worst")
PREFIX = {"plan": "plan/", "simulate": "sim/", "stress": "stress/"}


def plan_artifacts(plan: Plan) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        out = plan.save(Path(tmp) / "plan", "parquet")
        return {f"plan/{p.name}": p.read_bytes() for p in sorted(out.iterdir())}


def load_plan(artifacts: dict[str, bytes]) -> Plan:
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in artifacts.items():
            if name.startswith("plan/"):
                (Path(tmp) / name.removeprefix("plan/")).write_bytes(data)
        return Plan.load(tmp)


def sim_artifacts(result: SimResult, facts: dict[str, Any]) -> dict[str, bytes]:
    summary = {**result.to_json(), "wall_seconds": result.wall_seconds, "facts": facts}
    out = {"sim/summary.json": json.dumps(summary, default=_jsonable).encode()}
    for name in SIM_TABLES:
        buf = io.BytesIO()
        getattr(result, name).to_parquet(buf, index=False)
        out[f"sim/{name}.parquet"] = buf.getvalue()
    return out


def load_sim(artifacts: dict[str, bytes]) -> tuple[SimResult, dict[str, Any]]:
    summary = json.loads(artifacts["sim/summary.json"])
    fields = {f.name for f in dataclasses.fields(SimResult)}
    values = {k: v for k, v in summary.items() if k in fields}
    for name in SIM_TABLES:
        values[name] = pd.read_parquet(io.BytesIO(artifacts[f"sim/{name}.parquet"]))
    return SimResult(**values), summary.get("facts", {})


def sim_summary(artifacts: dict[str, bytes]) -> dict[str, Any]:
    return dict(json.loads(artifacts["sim/summary.json"]))


def stress_artifacts(result: StressResult) -> dict[str, bytes]:
    state = {"summary": result.summary, "timings": result.timings, "metadata": result.metadata,
             "json": result.to_json()}
    out = {"stress/result.json": json.dumps(state, default=_jsonable).encode()}
    for name in STRESS_TABLES:
        buf = io.BytesIO()
        getattr(result, name).to_parquet(buf, index=False)
        out[f"stress/{name}.parquet"] = buf.getvalue()
    return out


def load_stress(artifacts: dict[str, bytes]) -> StressResult:
    state = json.loads(artifacts["stress/result.json"])
    tables = {name: pd.read_parquet(io.BytesIO(artifacts[f"stress/{name}.parquet"])) for name in STRESS_TABLES}
    return StressResult(summary=state["summary"], timings=state["timings"], metadata=state["metadata"], **tables)


def stress_summary(artifacts: dict[str, bytes]) -> dict[str, Any]:
    return dict(json.loads(artifacts["stress/result.json"])["json"])


def table_names(kind: str, artifacts: dict[str, bytes]) -> list[str]:
    prefix = PREFIX[kind]
    return sorted(n.removeprefix(prefix).removesuffix(".parquet") for n in artifacts
                  if n.startswith(prefix) and n.endswith(".parquet"))


def read_table(kind: str, artifacts: dict[str, bytes], name: str) -> pd.DataFrame:
    prefix = PREFIX[kind]
    return pd.read_parquet(io.BytesIO(artifacts[f"{prefix}{name}.parquet"]))



def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(df.to_json(orient="records", date_format="iso"))
    return rows


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
