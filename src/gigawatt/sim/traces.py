"""Trace loaders, one per format, into gigawatt's job table; a registry so users add their own.

    @register_trace("my-format", columns={"jobid", "submit", ...})
    def load_mine(path) -> pd.DataFrame: ...   # returns workload.COLUMNS

Loaders validate every row and say which row and field is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gigawatt.errors import TraceError
from gigawatt.sim.workload import COLUMNS, validate_jobs

Loader = Callable[[Path], pd.DataFrame]


@dataclass(frozen=True)
class TraceFormat:
    name: str
    columns: frozenset[str]          # header columns that identify the format
    loader: Loader
    kind: str                        # "jobs" (gang job table) or "requests" (inference requests)
    citation: str


TRACE_FORMATS: dict[str, TraceFormat] = {}


def register_trace(name: str, columns: set[str], kind: str = "jobs", citation: str = "") -> Callable[[Loader], Loader]:
    def wrap(fn: Loader) -> Loader:
        TRACE_FORMATS[name] = TraceFormat(name, frozenset(columns), fn, kind, citation)
        return fn
    return wrap


def detect_format(path: Path) -> TraceFormat:
    try:
        header = set(pd.read_csv(path, nrows=0).columns)
    except FileNotFoundError:
        raise TraceError(f"{path}: file not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise TraceError(f"{path}: not a CSV trace ({exc})") from None
    for fmt in TRACE_FORMATS.values():
        if fmt.columns <= header:
            return fmt
    raise TraceError(f"{path}: unknown trace format (columns {sorted(header)[:8]}); "
                     f"known formats: {', '.join(TRACE_FORMATS)}; or give --trace-format")


def load_trace(path: str | Path, fmt: str | None = None) -> tuple[TraceFormat, pd.DataFrame]:
    p = Path(path)
    if fmt is None:
        chosen = detect_format(p)
    elif fmt in TRACE_FORMATS:
        chosen = TRACE_FORMATS[fmt]
    else:
        raise TraceError(f"unknown trace format '{fmt}'; known: {', '.join(TRACE_FORMATS)}")
    return chosen, chosen.loader(p)


def _numeric(df: pd.DataFrame, col: str, source: Path) -> pd.Series:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TraceError(f"{source}: row {i + 2}: {col} = {df[col].iloc[i]!r} is not a number")
    return values


@register_trace("gigawatt-jobs", set(COLUMNS), citation="gigawatt's own job table")
def load_gigawatt_jobs(path: Path) -> pd.DataFrame:
    return validate_jobs(pd.read_csv(path, keep_default_na=False), str(path))


@register_trace(
    "alibaba-openb",
    {"name", "num_gpu", "gpu_milli", "gpu_spec", "creation_time", "deletion_time", "scheduled_time"},
    citation="Weng et al., 'Beware of Fragmentation: Scheduling GPU-Sharing Workloads with "
             "Fragmentation Gradient Descent', USENIX ATC 2023 (alibaba/clusterdata gpu-v2023)",
)
def load_alibaba_openb(path: Path) -> pd.DataFrame:
    """GPU tasks of the openb trace; a task holds num_gpu x gpu_milli/1000 GPUs (GPU sharing).

    CPU-only tasks are dropped. The trace's own wait (scheduled - creation) is kept as
    `recorded_delay_s` for comparison with a replay.
    """
    raw = pd.read_csv(path, keep_default_na=False)
    for col in ("num_gpu", "gpu_milli", "creation_time", "deletion_time", "scheduled_time"):
        raw[col] = _numeric(raw, col, path)
    gpu = raw[raw["num_gpu"] > 0].copy()
    unscheduled = gpu["scheduled_time"].isna() | gpu["deletion_time"].isna()
    gpu = gpu[~unscheduled]
    bad = gpu["deletion_time"] < gpu["scheduled_time"]
    if bad.any():
        row = gpu[bad].iloc[0]
        raise TraceError(f"{path}: task {row['name']}: deletion_time {row['deletion_time']} is before "
                         f"scheduled_time {row['scheduled_time']}")
    out = pd.DataFrame({
        "name": gpu["name"].astype(str),
        "arrival_s": gpu["creation_time"].astype(float),
        "accelerators": gpu["num_gpu"] * np.where(gpu["num_gpu"] == 1, gpu["gpu_milli"], 1000) / 1000.0,
        "work_s": (gpu["deletion_time"] - gpu["scheduled_time"]).astype(float),
        "allowed": gpu["gpu_spec"].astype(str),
        "kind": "batch",
        "recorded_delay_s": (gpu["scheduled_time"] - gpu["creation_time"]).astype(float),
    })
    return validate_jobs(out, str(path))


@register_trace(
    "azure-llm",
    {"TIMESTAMP", "ContextTokens", "GeneratedTokens"},
    kind="requests",
    citation="Patel et al., 'Splitwise: Efficient generative LLM inference using phase splitting', "
             "ISCA 2024 (Azure/AzurePublicDataset, CC BY 4.0)",
)
def load_azure_llm(path: Path) -> pd.DataFrame:
    """Inference requests: arrival (s from the first), prompt and output tokens."""
    raw = pd.read_csv(path)
    stamps = pd.to_datetime(raw["TIMESTAMP"], errors="coerce")
    if stamps.isna().any():
        i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise TraceError(f"{path}: row {i + 2}: TIMESTAMP {raw['TIMESTAMP'].iloc[i]!r} is not a time")
    prompt = _numeric(raw, "ContextTokens", path)
    output = _numeric(raw, "GeneratedTokens", path)
    if (prompt < 0).any() or (output < 0).any():
        raise TraceError(f"{path}: negative token counts")
    seconds = (stamps - stamps.min()).dt.total_seconds()
    return pd.DataFrame({"arrival_s": seconds.to_numpy(), "prompt_tokens": prompt.to_numpy(),
                         "output_tokens": output.to_numpy()}).sort_values("arrival_s", kind="stable").reset_index(drop=True)
