"""Two plans side by side: what changed in money, capacity, spend, funding and risk."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gigawatt.plan.result import Plan


def _side_by_side(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], value: str) -> list[dict[str, Any]]:
    left = a.groupby(keys)[value].sum() if not a.empty else pd.Series(dtype=float)
    right = b.groupby(keys)[value].sum() if not b.empty else pd.Series(dtype=float)
    both = pd.concat({"a": left, "b": right}, axis=1).fillna(0.0)
    both["change"] = both["b"] - both["a"]
    both = both.reset_index()
    if len(keys) == 1 and "index" in both.columns:
        both = both.rename(columns={"index": keys[0]})
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in both.to_dict(orient="records")]


def compare_plans(a: Plan, b: Plan, a_id: str = "a", b_id: str = "b") -> dict[str, Any]:
    """A tidy difference of two plans: b minus a for every figure."""
    unmet_a = float(a.tables["unmet"]["exaflops_short"].sum()) if not a.tables["unmet"].empty else 0.0
    unmet_b = float(b.tables["unmet"]["exaflops_short"].sum()) if not b.tables["unmet"].empty else 0.0
    return {
        "a": a_id,
        "b": b_id,
        "npv_usd": {"a": a.npv_usd, "b": b.npv_usd, "change": b.npv_usd - a.npv_usd},
        "status": {"a": a.status, "b": b.status},
        "capacity_mw": _side_by_side(a.tables["capacity"], b.tables["capacity"], ["period", "provider"], "mw"),
        "spend_usd": _side_by_side(a.tables["spend"], b.tables["spend"], ["year"], "total_usd"),
        "funding_gap_usd": _side_by_side(a.tables["finance"], b.tables["finance"], ["year"], "funding_gap_usd"),
        "unmet": {"a_exaflops_short": unmet_a, "b_exaflops_short": unmet_b, "change": unmet_b - unmet_a},
        "binding": {"only_a": sorted(set(a.binding) - set(b.binding)),
                    "only_b": sorted(set(b.binding) - set(a.binding))},
    }
