"""Risk summary from the tidy per-sample table: percentiles, CVaR, shortfall probability."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def cvar(values: np.ndarray, alpha: float = 0.95) -> float:
    """Mean of the worst (1 - alpha) share of outcomes (high = bad), tail weighted exactly.

    With n outcomes sorted high to low, the tail holds (1 - alpha) n of them; a fractional
    last outcome counts with its fraction (Rockafellar-Uryasev on the empirical law).
    """
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    if x.size == 0:
        return float("nan")
    tail = (1 - alpha) * x.size
    whole = int(np.floor(tail))
    total = x[:whole].sum() + (tail - whole) * (x[whole] if whole < x.size else 0.0)
    return float(total / tail) if tail > 0 else float(x[0])


def scalar(table: pd.DataFrame, metric: str) -> pd.Series:
    rows = table[table["metric"] == metric]
    return rows.set_index("sample")["value"].sort_index()


def stats(values: pd.Series | np.ndarray) -> dict[str, float]:
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return {k: float("nan") for k in ("mean", "p10", "p50", "p90", "cvar95")}
    return {"mean": float(x.mean()), "p10": float(np.percentile(x, 10)), "p50": float(np.percentile(x, 50)),
            "p90": float(np.percentile(x, 90)), "cvar95": cvar(x, 0.95)}


def bands(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """P10/P50/P90 and mean of a per-period (or per-year) metric, one row per key."""
    rows = table[table["metric"] == metric]
    if rows.empty:
        return pd.DataFrame(columns=["key", "mean", "p10", "p50", "p90"])
    n = table["sample"].nunique()
    wide = rows.pivot_table(index="sample", columns="key", values="value", aggfunc="sum")
    wide = wide.reindex(index=sorted(table["sample"].unique())).fillna(0.0)  # absent = 0 (e.g. no unmet)
    del n
    out = pd.DataFrame({"mean": wide.mean(), "p10": wide.quantile(0.1), "p50": wide.quantile(0.5),
                        "p90": wide.quantile(0.9)})
    out.index.name = "key"
    return out.reset_index()


def summarise(table: pd.DataFrame, funding_gap_threshold_usd: float = 0.0) -> dict[str, Any]:
    solved = scalar(table, "solved")
    cost = scalar(table, "cost_usd")
    unmet = scalar(table, "unmet_share")
    gap = scalar(table, "max_funding_gap_usd")
    short = scalar(table, "shortfall")
    per_period = bands(table, "unmet_exaflops")
    return {
        "samples": int(len(solved)),
        "solved": int(solved.sum()),
        "cost_usd": stats(cost),
        "npv_usd": stats(scalar(table, "npv_usd")),
        "unmet_share": stats(unmet),
        "shortfall_probability": float(short.mean()) if len(short) else float("nan"),
        "funding_gap_probability": float((gap > funding_gap_threshold_usd).mean()) if len(gap) else float("nan"),
        "funding_gap_threshold_usd": funding_gap_threshold_usd,
        "max_funding_gap_usd": stats(gap),
        "shortfall_probability_by_period": _shortfall_by_period(table),
        "unmet_exaflops_by_demand_period": per_period.to_dict(orient="records"),
    }


def _shortfall_by_period(table: pd.DataFrame) -> dict[str, float]:
    n = table["sample"].nunique()
    rows = table[(table["metric"] == "capacity_short_mw")]
    if rows.empty or n == 0:
        return {}
    return {str(k): float((g["value"] > 1e-6).sum() / n) for k, g in rows.groupby("key")}
