"""The out-of-sample check: the deterministic and the hedged plan stressed side by side in fresh futures.

Both first stages are evaluated by the stress evaluator in the same futures, drawn with a seed
the stochastic plan never saw, so the comparison holds outside the sample it was optimised on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gigawatt.hedging.evaluate import Tick, evaluate_first_stages
from gigawatt.plan.stochastic import Future
from gigawatt.scenario.model import Scenario
from gigawatt.stress import risk
from gigawatt.stress.first_stage import FirstStage

PLANS = ("deterministic", "hedged")
STATS = ("mean", "p90", "cvar95")


def per_future_table(table: pd.DataFrame, plan: str) -> pd.DataFrame:
    """One row per future: its cost (money + penalties), the money alone, and whether it fell short."""
    cost = risk.scalar(table, "npv_usd")
    return pd.DataFrame({"plan": plan, "sample": cost.index.astype(int), "cost_usd": cost.values,
                         "spend_usd": risk.scalar(table, "cost_usd").reindex(cost.index).values,
                         "shortfall": risk.scalar(table, "shortfall").reindex(cost.index).fillna(0.0).values > 0.5})


def summary(rows: pd.DataFrame) -> dict[str, Any]:
    """mean, P90, CVaR95 of cost and of spend, and the probability of any compute shortfall."""
    cost, spend = risk.stats(rows["cost_usd"]), risk.stats(rows["spend_usd"])
    return {"futures": len(rows), **{f"cost_{k}_usd": cost[k] for k in STATS},
            **{f"spend_{k}_usd": spend[k] for k in STATS},
            "shortfall_probability": float(rows["shortfall"].mean()) if len(rows) else float("nan")}


def out_of_sample(scenario: Scenario, first_stages: dict[str, FirstStage], futures: Sequence[Future], *,
                  seed: int | None, executor: str = "serial", tick: Tick | None = None
                  ) -> tuple[dict[str, Any], pd.DataFrame]:
    """(summary per plan, per-future table) of each first stage in the same `futures`."""
    tables = evaluate_first_stages(scenario, [first_stages[name] for name in PLANS], futures, executor=executor,
                                   tick=tick)
    frames = [per_future_table(table, name) for name, table in zip(PLANS, tables, strict=True)]
    rows = pd.concat(frames, ignore_index=True)
    by_plan = {name: summary(rows[rows["plan"] == name]) for name in PLANS}
    det, hedged = by_plan["deterministic"], by_plan["hedged"]
    return ({"futures": len(futures), "seed": seed, **by_plan,
             "hedging_saves_usd": {k: det[f"cost_{k}_usd"] - hedged[f"cost_{k}_usd"] for k in STATS},
             "paired_saving_se_usd": _paired_se(rows)}, rows)


def _paired_se(rows: pd.DataFrame) -> float:
    """Standard error of the mean saving, futures paired (both plans meet the same futures)."""
    det = rows[rows["plan"] == "deterministic"].set_index("sample")["cost_usd"]
    hedged = rows[rows["plan"] == "hedged"].set_index("sample")["cost_usd"].reindex(det.index)
    diff = (det - hedged).to_numpy()
    return float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
