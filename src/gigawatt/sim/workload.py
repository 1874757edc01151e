"""One job table for every workload source: columns below, one row per job."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gigawatt.errors import TraceError

COLUMNS = {
    "name": "job name",
    "arrival_s": "arrival time, seconds from the start of the simulation",
    "accelerators": "accelerators held at once (a gang; may be fractional for shared GPUs)",
    "work_s": "run time in seconds on the reference accelerator (speed 1.0)",
    "allowed": "'|'-separated accelerator ids or GPU models it may use; empty = any",
    "kind": "training | inference | batch",
}
OPTIONAL = {
    "scale_up": "accelerators that must share one scale-up domain (node), the gang placed in groups of "
                "that many; empty or 0: a gang up to a node takes one node, a larger one whole nodes",
    "failover": "'|'-separated accelerator ids (or pools' accelerator names) the job may move to when the "
                "pool it waits for has been down longer than the simulation's failover_after_s; empty: none",
}


def validate_jobs(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check every row; a bad one gets an error naming the source, the row and the field."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise TraceError(f"{source}: job table lacks columns {missing}; expected {list(COLUMNS)}")
    for col in ("arrival_s", "accelerators", "work_s"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values < 0) | ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TraceError(f"{source}: row {i} ({df['name'].iloc[i]}): {col} = {df[col].iloc[i]!r}; "
                             "expected a finite number >= 0")
        df[col] = values.astype(float)
    if "scale_up" in df.columns:
        group = pd.to_numeric(df["scale_up"].replace("", np.nan), errors="coerce").fillna(0.0)
        bad = (group < 0) | ~np.isfinite(group) | (pd.to_numeric(df["scale_up"], errors="coerce").isna()
                                                    & df["scale_up"].notna() & (df["scale_up"] != ""))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TraceError(f"{source}: row {i} ({df['name'].iloc[i]}): scale_up = {df['scale_up'].iloc[i]!r}; "
                             "expected accelerators per scale-up domain (a number >= 0, empty for none)")
        df["scale_up"] = group.astype(float)
    df["allowed"] = df["allowed"].fillna("").astype(str)
    if "failover" in df.columns:
        df["failover"] = df["failover"].fillna("").astype(str)
    df["kind"] = df["kind"].fillna("batch").astype(str)
    return df.sort_values("arrival_s", kind="stable").reset_index(drop=True)


def synthetic_jobs(n: int, seed: int = 0, max_size: int = 1024, mean_interarrival_s: float = 60.0,
                   mean_work_s: float = 3600.0) -> pd.DataFrame:
    """Gang jobs with power-of-two sizes and exponential gaps and run times (for benchmarks)."""
    rng = np.random.default_rng(seed)
    sizes = 2 ** rng.integers(0, int(np.log2(max_size)) + 1, size=n)
    return pd.DataFrame({
        "name": [f"job{i}" for i in range(n)],
        "arrival_s": np.cumsum(rng.exponential(mean_interarrival_s, size=n)),
        "accelerators": sizes.astype(float),
        "work_s": rng.exponential(mean_work_s, size=n),
        "allowed": "",
        "kind": "training",
    })
