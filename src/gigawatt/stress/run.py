"""stress(scenario, plan, ...) -> StressResult: Monte Carlo over a plan's futures.

Results are written as batches finish (one Parquet part per batch beside a manifest),
so a run killed part-way resumes with only the missing batches computed, and the
final table is the same as an uninterrupted run's.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gigawatt.periods import parse_quarter, quarter_label
from gigawatt.plan.result import Plan
from gigawatt.plan.solve import scenario_hash
from gigawatt.scenario.model import Scenario
from gigawatt.scenario.sample import SampleSet, draw
from gigawatt.scenario.uncertainty import Uncertainty, factor_specs
from gigawatt.stress import risk, sensitivity
from gigawatt.stress.evaluate import InPlaceEvaluator, Timings, load_plan_for
from gigawatt.stress.executors import Batch, BatchResult, Executor, Job, make_executor
from gigawatt.stress.first_stage import StressError, first_stage

COLUMNS = ["sample", "metric", "key", "value"]
Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class StressResult:
    table: pd.DataFrame                   # sample, metric, key, value (tidy)
    factors: pd.DataFrame                 # sample x factor values
    summary: dict[str, Any]
    tornado: pd.DataFrame
    global_indices: pd.DataFrame
    worst: pd.DataFrame
    timings: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: self.summary[k] for k in ("samples", "solved", "cost_usd", "npv_usd", "unmet_share",
                                            "shortfall_probability", "funding_gap_probability",
                                            "funding_gap_threshold_usd", "max_funding_gap_usd")},
            "shortfall_probability_by_period": self.summary["shortfall_probability_by_period"],
            "tornado": [{"factor": r.factor, "low": r.low, "high": r.high, "low_value": r.low_value,
                         "high_value": r.high_value} for r in self.tornado.itertuples()],
            "global_indices": self.global_indices.to_dict(orient="records"),
            "worst": self.worst.to_dict(orient="records"),
            "timings_s": self.timings,
            "metadata": self.metadata,
        }


def _manifest(scenario: Scenario, plan: Plan, samples: SampleSet, batch_size: int) -> dict[str, Any]:
    return {"scenario_hash": scenario_hash(scenario), "plan_npv_usd": plan.npv_usd,
            "uncertainty": scenario.uncertainty.model_dump(mode="json") if scenario.uncertainty else None,
            "samples": len(samples), "seed": samples.seed, "method": samples.method,
            "batch_size": batch_size, "factors": samples.factors}


class PartStore:
    """One Parquet part per finished batch plus manifest.json; parts are written atomically."""

    def __init__(self, out: Path, manifest: dict[str, Any], resume: bool) -> None:
        self.out = out
        self.parts = out / "parts"
        path = out / "manifest.json"
        if path.exists():
            old = json.loads(path.read_text())
            if not resume:
                raise StressError(f"{out}: already holds a stress run; pass --resume to finish it, "
                                  "or choose another --out")
            if old != json.loads(json.dumps(manifest, default=str)):
                changed = sorted(k for k in manifest if old.get(k) != json.loads(json.dumps(manifest[k], default=str)))
                raise StressError(f"{out}: the run saved there differs in {', '.join(changed)}; "
                                  "resume with the same scenario, plan, --samples and --seed, or choose another --out")
        else:
            self.parts.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(manifest, indent=2, default=str))
            tmp.replace(path)
        self.parts.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.parts.glob("batch-*.parquet")}

    def write(self, result: BatchResult) -> None:
        target = self.parts / f"batch-{result.number:06d}.parquet"
        tmp = target.with_suffix(".parquet.tmp")
        frame(result.rows).to_parquet(tmp, index=False)
        tmp.replace(target)

    def read(self) -> pd.DataFrame:
        files = sorted(self.parts.glob("batch-*.parquet"))
        if not files:
            return frame([])
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def frame(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"sample": "int64", "metric": "str", "key": "str", "value": "float64"})


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["sample", "metric", "key"], kind="stable").reset_index(drop=True)


def _what_went_wrong(values: dict[str, float], u: np.ndarray, factors: list[str]) -> str:
    words = []
    for name, q in zip(factors, u, strict=True):
        v = values[name]
        if name.endswith(".default"):
            if math.isfinite(v):
                words.append(f"{name.split('.')[1]} defaults {quarter_label(int(v))}")
        elif q >= 0.9 or q <= 0.1:
            words.append(f"{name} = {v:.3g} (P{q * 100:.0f})")
    return "; ".join(words) or "nothing extreme"


def _worst(table: pd.DataFrame, samples: SampleSet, n: int = 10) -> pd.DataFrame:
    cost = risk.scalar(table, "cost_usd")
    unmet = risk.scalar(table, "unmet_share").reindex(cost.index).fillna(0.0)
    order = cost.sort_values(ascending=False).head(n).index
    return pd.DataFrame([{"sample": int(i), "cost_usd": float(cost[i]), "unmet_share": float(unmet[i]),
                          "what_went_wrong": _what_went_wrong(samples.sample(int(i)), samples.u[int(i)],
                                                              samples.factors)}
                         for i in order])


def stress(scenario: Scenario, plan: Plan, samples: int = 100, seed: int = 0, executor: str | Executor = "serial", *,
           workers: int | None = None, out: str | Path | None = None, resume: bool = False,
           batch_size: int | None = None, decision_horizon: str | None = None, method: str | None = None,
           with_tornado: bool = True, progress: Progress | None = None, plan_dir: str = "the plan") -> StressResult:
    """Evaluate `plan` in `samples` futures drawn from the scenario's uncertainty section.

    Pure apart from writing to `out` when given: same (scenario, plan, samples, seed) ->
    same table, on any executor.
    """
    if samples < 1:
        raise StressError(f"--samples must be at least 1, got {samples}")
    if scenario.uncertainty is None:
        raise StressError("the scenario has no uncertainty: section; add one (see examples/openai-2025.yaml)")
    load_plan_for(scenario, plan, plan_dir)
    unc: Uncertainty = scenario.uncertainty
    t0 = time.perf_counter()
    drawn = draw(unc, scenario.horizon.start, samples, seed, method)
    t_sampling = time.perf_counter() - t0
    fs = first_stage(scenario, plan, decision_horizon, plan_dir)
    size = batch_size or max(1, min(50, math.ceil(samples / 8)))
    batches = [Batch(b, [(i, drawn.sample(i)) for i in range(b * size, min(samples, (b + 1) * size))])
               for b in range(math.ceil(samples / size))]

    store = PartStore(Path(out), _manifest(scenario, plan, drawn, size), resume) if out is not None else None
    done = store.done() if store else set()
    todo = [b for b in batches if b.number not in done]
    kept: list[pd.DataFrame] = [store.read()] if store and done else []
    timings = Timings(sampling=t_sampling)
    finished = sum(len(b.samples) for b in batches if b.number in done)
    costs: list[float] = list(risk.scalar(kept[0], "cost_usd")) if kept else []
    started = time.perf_counter()
    if todo:
        runner = make_executor(executor, workers) if isinstance(executor, str) else executor
        for result in runner.run(Job(scenario, fs), todo):
            if store:
                store.write(result)
            kept.append(frame(result.rows))
            timings.add(result.timings)
            finished += len(next(b for b in batches if b.number == result.number).samples)
            costs += [r[3] for r in result.rows if r[1] == "cost_usd"]
            if progress:
                live = {"p50": float(np.percentile(costs, 50)), "p90": float(np.percentile(costs, 90))} if costs else {}
                progress(finished, samples, live)
    wall = time.perf_counter() - started
    table = _sorted(pd.concat(kept, ignore_index=True) if kept else frame([]))

    torn = pd.DataFrame(columns=["factor", "describe", "low_value", "high_value", "low", "high", "base", "swing"])
    specs = factor_specs(unc, scenario.horizon.start)
    if with_tornado and specs:
        ev = InPlaceEvaluator(scenario, fs)
        torn = sensitivity.tornado(specs, lambda values: _cost(ev, values))
    end_q = parse_quarter(scenario.horizon.end)
    indices = sensitivity.global_indices(drawn.frame(), risk.scalar(table, "cost_usd"), end_q)
    summary = risk.summarise(table, unc.funding_gap_threshold_usd)
    return StressResult(
        table=table, factors=drawn.frame(), summary=summary, tornado=torn, global_indices=indices,
        worst=_worst(table, drawn), timings={**timings.as_dict(), "wall": wall},
        metadata={"scenario": scenario.name, "scenario_hash": scenario_hash(scenario), "seed": seed,
                  "method": drawn.method, "executor": executor if isinstance(executor, str) else
                  type(executor).__name__, "batch_size": size,
                  "first_stage": fs.describe(), "decision_horizon": fs.decision_horizon,
                  "factors": drawn.factors, "resumed_batches": len(done)},
    )


def _cost(ev: InPlaceEvaluator, values: dict[str, float]) -> float:
    rows = ev.evaluate(-1, values)
    got = [r[3] for r in rows if r[1] == "cost_usd"]
    return got[0] if got else float("nan")
