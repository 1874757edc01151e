"""Trace loaders, one per format, into gigawatt's job table; a registry so users add their own.

    @register_trace("my-format", columns={"jobid", "submit", ...})
    def load_mine(path) -> pd.DataFrame: ...   # returns workload.COLUMNS

Loaders validate every row and say which row and field is wrong.
"""

from __future__ import annotations

import csv
import warnings
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
JOB_KINDS = {"training", "inference", "batch"}


def register_trace(name: str, columns: set[str], kind: str = "jobs", citation: str = "") -> Callable[[Loader], Loader]:
    def wrap(fn: Loader) -> Loader:
        TRACE_FORMATS[name] = TraceFormat(name, frozenset(columns), fn, kind, citation)
        return fn
    return wrap


def _read_csv(path: Path, fmt: str | None = None, **kwargs: object) -> pd.DataFrame:
    """Read a trace CSV; any problem with the file itself is one line naming it."""
    kind = f"{fmt} trace" if fmt else "trace"
    if path.is_dir():
        raise TraceError(f"{path}: is a directory; give the {kind} CSV file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, encoding="utf-8", index_col=False, **kwargs)  # type: ignore[call-overload, no-any-return]
    except pd.errors.ParserWarning:
        raise TraceError(f"{path}: line {_first_long_row(path)}: more cells than the header has columns; "
                         "quote cells that contain commas") from None
    except FileNotFoundError:
        raise TraceError(f"{path}: file not found") from None
    except PermissionError:
        raise TraceError(f"{path}: cannot read it (permission denied)") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path}: line {_first_bad_utf8_line(path)}: not UTF-8 text; save the {kind} "
                         "as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: file is empty; a {kind} needs a header row and data rows") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        raise TraceError(f"{path}: not a readable CSV {kind} ({_one_line(exc)[:160]})") from None


def _first_long_row(path: Path) -> int:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)
        width = len(next(rows, []))
        for row in rows:
            if len(row) > width:
                return rows.line_num
    return 1


def _first_bad_utf8_line(path: Path) -> int:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data[: exc.start].count(b"\n") + 1
    return 1


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _require_columns(df: pd.DataFrame, fmt: str, path: Path) -> None:
    needed = TRACE_FORMATS[fmt].columns
    missing = sorted(needed - set(df.columns))
    if missing:
        raise TraceError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         f"the {fmt} format needs columns {', '.join(sorted(needed))}")


def check_openb_nodes(path: Path) -> Path:
    """Refuse an openb node list that is missing, unreadable or malformed, naming line and field."""
    df = _read_csv(path, "openb node list", keep_default_na=False, dtype=str)
    missing = sorted({"sn", "gpu", "model"} - set(df.columns))
    if missing:
        raise TraceError(f"{path}: missing columns {', '.join(missing)}; an openb node list has "
                         "columns sn, gpu, model (openb_node_list_gpu_node.csv)")
    gpus = _numeric(df, "gpu", path)
    if not (gpus > 0).any():
        raise TraceError(f"{path}: no node has a GPU (gpu > 0); give the openb GPU node list")
    return path


def detect_format(path: Path) -> TraceFormat:
    header = set(_read_csv(path, nrows=0).columns)
    for fmt in TRACE_FORMATS.values():
        if fmt.columns <= header:
            return fmt
    shown = ", ".join(str(c)[:30] for c in sorted(header, key=str)[:8])
    raise TraceError(f"{path}: unknown trace format (columns {shown}); "
                     f"known formats: {', '.join(TRACE_FORMATS)}; or give --trace-format")


def load_trace(path: str | Path, fmt: str | None = None) -> tuple[TraceFormat, pd.DataFrame]:
    """(format, table); rows a loader leaves out are counted in ``table.attrs["notes"]``."""
    p = Path(path)
    if fmt is None:
        chosen = detect_format(p)
    elif fmt in TRACE_FORMATS:
        chosen = TRACE_FORMATS[fmt]
    else:
        raise TraceError(f"unknown trace format '{fmt}'; known: {', '.join(TRACE_FORMATS)}")
    table = chosen.loader(p)
    if table.empty:
        raise TraceError(f"{p}: no usable rows in this {chosen.name} trace"
                         + (f" ({'; '.join(table.attrs['notes'])})" if table.attrs.get("notes") else ""))
    return chosen, table


def _numeric(df: pd.DataFrame, col: str, source: Path, *, required: bool = True,
             minimum: float | None = 0.0, positive: bool = False) -> pd.Series:
    """A numeric column, or an error naming the file, the line, the field and what is expected."""
    text = df[col].astype(str).str.strip()
    values = pd.to_numeric(df[col], errors="coerce")
    empty = df[col].isna() | (text == "")
    bad = values.isna() & ~empty
    bad |= values.notna() & ~np.isfinite(values.fillna(0.0))
    if required:
        bad |= empty
    if minimum is not None:
        bad |= values.notna() & ((values <= minimum) if positive else (values < minimum))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        shown = "empty" if bool(empty.iloc[i]) else f"{str(df[col].iloc[i])[:40]!r}"
        expected = ("a number" if minimum is None
                    else f"a finite number {'>' if positive else '>='} {minimum:g}")
        line = int(df.index[i]) + 2
        name = f" ({str(df['name'].iloc[i])[:40]})" if "name" in df.columns else ""
        raise TraceError(f"{source}: line {line}{name}: {col} = {shown}; expected {expected}")
    return values


@register_trace("gigawatt-jobs", set(COLUMNS), citation="gigawatt's own job table")
def load_gigawatt_jobs(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, "gigawatt-jobs", keep_default_na=False, dtype=str)
    _require_columns(raw, "gigawatt-jobs", path)
    raw["arrival_s"] = _numeric(raw, "arrival_s", path)
    raw["work_s"] = _numeric(raw, "work_s", path)
    raw["accelerators"] = _numeric(raw, "accelerators", path, positive=True)
    kinds = raw["kind"].str.strip()
    unknown = ~kinds.isin(JOB_KINDS | {""})
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise TraceError(f"{path}: line {i + 2}: kind = {str(raw['kind'].iloc[i])[:30]!r}; expected one of "
                         f"{', '.join(sorted(JOB_KINDS))} (empty means batch)")
    raw["kind"] = kinds.replace("", "batch")
    return validate_jobs(raw, str(path))



@register_trace(
    "alibaba-openb",
    {"name", "num_gpu", "gpu_milli", "gpu_spec", "creation_time", "deletion_time", "scheduled_time"},
    citation="Weng et al., 'Beware of Fragmentation: Scheduling GPU-Sharing Workloads with "
             "Fragmentation Gradient Descent', USENIX ATC 2023 (alibaba/clusterdata gpu-v2023)",
)
def load_alibaba_openb(path: Path) -> pd.DataFrame:
    """GPU tasks of the openb trace; a task holds num_gpu x gpu_milli/1000 GPUs (GPU sharing).

    CPU-only tasks and tasks never scheduled (pending at the end of the trace) are left out
    and counted in a note. The trace's own wait (scheduled - creation) is kept as
    `recorded_delay_s` for comparison with a replay.
    """
    raw = _read_csv(path, "alibaba-openb", keep_default_na=False, dtype=str)
    _require_columns(raw, "alibaba-openb", path)
    raw["num_gpu"] = _numeric(raw, "num_gpu", path)
    raw["creation_time"] = _numeric(raw, "creation_time", path)
    raw["scheduled_time"] = _numeric(raw, "scheduled_time", path, required=False)
    raw["deletion_time"] = _numeric(raw, "deletion_time", path, required=False)
    wants_gpu = raw["num_gpu"] > 0
    milli = (_numeric(raw[wants_gpu], "gpu_milli", path, positive=True) if wants_gpu.any()
             else pd.Series(dtype=float))
    too_much = milli > 1000
    if too_much.any():
        i = int(milli.index[too_much.to_numpy()][0])
        raise TraceError(f"{path}: line {i + 2}: gpu_milli is {milli[i]:g}; expected 1-1000 "
                         "(thousandths of one GPU)")
    raw["gpu_milli"] = milli.reindex(raw.index)
    gpu = raw[wants_gpu].copy()
    unscheduled = gpu["scheduled_time"].isna() | gpu["deletion_time"].isna()
    notes = []
    if (~wants_gpu).any():
        notes.append(f"{int((~wants_gpu).sum()):,} CPU-only tasks (num_gpu 0) left out")
    if unscheduled.any():
        notes.append(f"{int(unscheduled.sum()):,} GPU tasks never scheduled (pending, no "
                     "scheduled_time or deletion_time) left out")
    gpu = gpu[~unscheduled]
    bad = gpu["deletion_time"] < gpu["scheduled_time"]
    if bad.any():
        i = int(gpu.index[bad.to_numpy()][0])
        row = gpu.loc[i]
        raise TraceError(f"{path}: line {i + 2}: task {str(row['name'])[:40]}: deletion_time "
                         f"{row['deletion_time']:g} is before scheduled_time {row['scheduled_time']:g}")
    out = pd.DataFrame({
        "name": gpu["name"].astype(str),
        "arrival_s": gpu["creation_time"].astype(float),
        "accelerators": gpu["num_gpu"] * np.where(gpu["num_gpu"] == 1, gpu["gpu_milli"], 1000) / 1000.0,
        "work_s": (gpu["deletion_time"] - gpu["scheduled_time"]).astype(float),
        "allowed": gpu["gpu_spec"].astype(str),
        "kind": "batch",
        "recorded_delay_s": (gpu["scheduled_time"] - gpu["creation_time"]).astype(float),
    })
    table = validate_jobs(out, str(path))
    table.attrs["notes"] = notes
    return table


@register_trace(
    "azure-llm",
    {"TIMESTAMP", "ContextTokens", "GeneratedTokens"},
    kind="requests",
    citation="Patel et al., 'Splitwise: Efficient generative LLM inference using phase splitting', "
             "ISCA 2024 (Azure/AzurePublicDataset, CC BY 4.0)",
)
def load_azure_llm(path: Path) -> pd.DataFrame:
    """Inference requests: arrival (s from the first), prompt and output tokens."""
    raw = _read_csv(path, "azure-llm", keep_default_na=False, dtype=str)
    _require_columns(raw, "azure-llm", path)
    stamps = pd.to_datetime(raw["TIMESTAMP"], errors="coerce", format="mixed")
    if stamps.isna().any():
        i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        shown = str(raw["TIMESTAMP"].iloc[i])[:40] or "empty"
        raise TraceError(f"{path}: line {i + 2}: TIMESTAMP is {shown!r}; expected a time like "
                         "2023-11-16 18:15:46.68")
    prompt = _numeric(raw, "ContextTokens", path)
    output = _numeric(raw, "GeneratedTokens", path)
    seconds = (stamps - stamps.min()).dt.total_seconds()
    return pd.DataFrame({"arrival_s": seconds.to_numpy(), "prompt_tokens": prompt.to_numpy(),
                         "output_tokens": output.to_numpy()}).sort_values("arrival_s", kind="stable").reset_index(drop=True)
