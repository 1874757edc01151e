"""A plan directory on disk: written whole or not at all, read back only if it is whole.

Layout: ``DIR/plan.json`` (metadata and a manifest: each table's file and its SHA-256) and
one file per table. A save writes the new plan into a sibling directory ``.DIR.saving``,
manifest last, then switches with two renames (``DIR`` -> ``.DIR.replaced``, ``.DIR.saving``
-> ``DIR``) and removes the old one. A process killed at any point leaves either ``DIR`` whole
(old or new), or, between the two renames, no ``DIR`` but a whole ``.DIR.saving``: `read_plan`
reads that one, and the next save finishes the switch. Tables are checked against the
manifest, so a truncated, edited or mixed directory is an error, never a silent half-plan.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gigawatt.errors import PlanError

MANIFEST = "plan.json"
FORMATS = ("csv", "parquet")
_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_MANIFEST_BYTES = 50_000_000


class FileSystem:
    """Every filesystem change a save makes, in one place (tests inject failures here)."""

    def mkdir(self, path: Path) -> None:
        path.mkdir()

    def write(self, path: Path, data: bytes) -> None:
        with open(path, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def rename(self, src: Path, dst: Path) -> None:
        os.rename(src, dst)

    def rmtree(self, path: Path) -> None:
        if path.is_symlink():          # --out named a link to a plan: drop the link, not its target
            path.unlink()
        else:
            shutil.rmtree(path)

    def sync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


FS = FileSystem()


@dataclass(frozen=True)
class Siblings:
    target: Path
    saving: Path
    replaced: Path

    @classmethod
    def of(cls, directory: str | Path) -> Siblings:
        target = Path(os.path.abspath(directory))
        if target.parent == target:
            raise PlanError(f"{directory}: cannot save a plan at the filesystem root; name a directory")
        return cls(target, target.with_name(f".{target.name}.saving"),
                   target.with_name(f".{target.name}.replaced"))


def check_target(directory: str | Path) -> Path:
    """Refuse, before any work, a target that is a file or a directory holding something else."""
    sib = Siblings.of(directory)
    t = sib.target
    if t.exists() or t.is_symlink():
        if not t.is_dir():
            raise PlanError(f"{directory}: is a file, not a directory; give --out a directory path")
        if any(t.iterdir()) and not (t / MANIFEST).is_file():
            raise PlanError(f"{directory}: directory exists and is not a plan (no {MANIFEST}); "
                            "give --out a new or empty directory so nothing else is overwritten")
    elif t.parent.exists() and not t.parent.is_dir():
        raise PlanError(f"{directory}: {t.parent} is a file, not a directory")
    if t.parent.exists() and not os.access(t.parent, os.W_OK):
        raise PlanError(f"{directory}: cannot write in {t.parent}; check its permissions")
    return t


def probe_target(directory: str | Path) -> Path:
    """`check_target`, then prove the parent takes a new directory (creating it if needed)."""
    t = check_target(directory)
    sib = Siblings.of(directory)
    try:
        t.parent.mkdir(parents=True, exist_ok=True)
        probe = sib.saving.with_name(sib.saving.name + f".probe-{os.getpid()}")
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise PlanError(f"{directory}: cannot create a plan directory there "
                        f"({(exc.strerror or str(exc)).lower()}); choose another --out") from None
    return t


def _encode(df: pd.DataFrame, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "parquet":
        df.to_parquet(buf, index=False)
    else:
        buf.write(df.to_csv(index=False).encode("utf-8"))
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _finish_interrupted(sib: Siblings, fs: FileSystem) -> None:
    """Complete or undo a save that was killed part-way (see the module docstring)."""
    if not sib.target.exists():
        if _is_whole(sib.saving):
            fs.rename(sib.saving, sib.target)
        elif sib.replaced.is_dir():
            fs.rename(sib.replaced, sib.target)
    if sib.replaced.exists():
        fs.rmtree(sib.replaced)
    if sib.saving.exists():
        fs.rmtree(sib.saving)


def write_plan(directory: str | Path, meta: dict[str, Any], tables: dict[str, pd.DataFrame],
               fmt: str = "csv", fs: FileSystem = FS) -> Path:
    if fmt not in FORMATS:
        raise PlanError(f"unknown table format '{fmt}'; use csv or parquet")
    for name in tables:
        if not _TABLE_NAME.fullmatch(name):
            raise PlanError(f"table name '{name}' is not a plain lowercase name")
    check_target(directory)
    sib = Siblings.of(directory)
    sib.target.parent.mkdir(parents=True, exist_ok=True)
    _finish_interrupted(sib, fs)
    check_target(directory)

    encoded = {name: _encode(df, fmt) for name, df in tables.items()}
    manifest = {name: {"file": f"{name}.{fmt}", "sha256": _digest(data)} for name, data in encoded.items()}
    body = {**meta, "format": fmt, "tables": sorted(tables), "files": manifest}
    text = json.dumps(body, indent=2, default=str, allow_nan=False).encode("utf-8")

    fs.mkdir(sib.saving)
    try:
        for name, data in encoded.items():
            fs.write(sib.saving / manifest[name]["file"], data)
        fs.write(sib.saving / MANIFEST, text)       # last: its presence marks the save whole
        fs.sync_dir(sib.saving)
    except Exception:
        shutil.rmtree(sib.saving, ignore_errors=True)
        raise
    if sib.target.exists():
        fs.rename(sib.target, sib.replaced)
        fs.rename(sib.saving, sib.target)
        fs.sync_dir(sib.target.parent)
        fs.rmtree(sib.replaced)
    else:
        fs.rename(sib.saving, sib.target)
        fs.sync_dir(sib.target.parent)
    return sib.target


def _bad(where: Path, message: str) -> PlanError:
    return PlanError(f"{where}: {message}; write it again with `gigawatt plan SCENARIO --out DIR`")


def read_plan(directory: str | Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(metadata, tables) of a whole plan directory, or a one-line PlanError saying what is wrong."""
    sib = Siblings.of(directory)
    src = sib.target
    if not src.exists() and _is_whole(sib.saving):
        src = sib.saving                      # killed between the two renames: the new plan is whole
    elif not src.exists() and sib.replaced.is_dir():
        src = sib.replaced
    return _read_dir(src, directory)


def _is_whole(path: Path) -> bool:
    """A staged plan whose manifest is complete and whose tables match it."""
    if not (path.is_dir() and (path / MANIFEST).is_file()):
        return False
    try:
        _read_dir(path, path)
    except PlanError:
        return False
    return True


def _read_dir(src: Path, directory: str | Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    if not src.is_dir():
        if src.exists():
            raise PlanError(f"{directory}: is a file; point at a directory written by `gigawatt plan --out`")
        raise PlanError(f"{directory}: no such directory; point at a directory written by `gigawatt plan --out`")
    manifest_path = src / MANIFEST
    try:
        raw = manifest_path.read_bytes()[: MAX_MANIFEST_BYTES + 1]
    except FileNotFoundError:
        raise PlanError(f"{directory}: no {MANIFEST} here; point at a directory written by "
                        "`gigawatt plan --out`") from None
    except OSError as exc:
        raise _bad(manifest_path, f"cannot read ({exc.strerror})") from None
    if not raw.strip():
        raise _bad(manifest_path, "is empty")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _bad(manifest_path, "is too large to be a plan manifest")
    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise _bad(manifest_path, f"is not valid JSON ({str(exc)[:80]}; truncated?)") from None
    if not isinstance(meta, dict):
        raise _bad(manifest_path, "is not a JSON object")
    _require(meta, manifest_path)
    fmt = meta.get("format", "csv")
    files = meta.get("files")
    tables: dict[str, pd.DataFrame] = {}
    for name in meta["tables"]:
        entry = files.get(name) if isinstance(files, dict) else None
        file_name = entry.get("file") if isinstance(entry, dict) else f"{name}.{fmt}"
        path = _inside(src, file_name, manifest_path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise _bad(path, f"is missing (listed in {MANIFEST})") from None
        except OSError as exc:
            raise _bad(path, f"cannot read ({exc.strerror})") from None
        if isinstance(entry, dict) and entry.get("sha256") != _digest(data):
            raise _bad(path, f"does not match its checksum in {MANIFEST} (truncated, edited, or "
                             "left from another save)")
        tables[name] = _decode(path, data, fmt)
    _check_values(src, tables)
    return meta, tables


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a plan holds")


def _require(meta: dict[str, Any], where: Path) -> None:
    kinds: dict[str, type | tuple[type, ...]] = {
        "status": str, "npv_usd": (int, float, type(None)), "binding": list, "explanations": list,
        "unit_costs": dict, "metadata": dict, "tables": list,
    }
    for key, kind in kinds.items():
        if key not in meta:
            raise _bad(where, f"has no '{key}'")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise _bad(where, f"'{key}' has the wrong type ({type(meta[key]).__name__})")
    if meta.get("format", "csv") not in FORMATS:
        raise _bad(where, f"format '{meta.get('format')}' is not csv or parquet")
    for name in meta["tables"]:
        if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
            raise _bad(where, f"table name {str(name)[:40]!r} is not a plain lowercase name")


def _inside(root: Path, file_name: Any, where: Path) -> Path:
    """A table's path, refused unless it is a plain file name inside the plan directory."""
    if not isinstance(file_name, str) or not file_name or Path(file_name).name != file_name \
            or file_name in (".", "..") or "\\" in file_name:
        raise _bad(where, f"table file {str(file_name)[:60]!r} is not a plain file name inside the plan")
    path = root / file_name
    if path.is_symlink() or Path(os.path.realpath(path)).parent != Path(os.path.realpath(root)):
        raise _bad(where, f"table file '{file_name}' points outside the plan directory")
    return path


def _decode(path: Path, data: bytes, fmt: str) -> pd.DataFrame:
    try:
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        if not data.strip():
            return pd.DataFrame()
        return pd.read_csv(io.BytesIO(data))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except Exception as exc:  # pyarrow and pandas raise many kinds for a damaged file
        raise _bad(path, f"is not a readable {fmt} table ({type(exc).__name__})") from None


# columns a consumer turns into counts: they must be finite and not negative
_NON_NEGATIVE = {"capacity": ("accelerators", "mw", "peak_exaflops")}


def _check_values(src: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, columns in _NON_NEGATIVE.items():
        df = tables.get(name)
        if df is None or df.empty:
            continue
        for col in columns:
            if col not in df.columns:
                raise _bad(src, f"table {name} has no column '{col}'")
            values = pd.to_numeric(df[col], errors="coerce")
            bad = ~values.apply(lambda v: isinstance(v, float | int) and math.isfinite(v) and v >= -1e-6)
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise _bad(src, f"table {name} row {row + 2}: {col} = {_cell(df[col].iloc[row])} is "
                                "not a finite non-negative number")


def _cell(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{float(value):g}"
    return repr(str(value)[:40])
