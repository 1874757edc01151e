"""Shared printing helpers: JSON to stdout, rich tables for people."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    print(json.dumps(_clean(obj), indent=2, default=str))


def money(x: float | None) -> str:
    if x is None:
        return "-"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"${x / scale:,.2f}{suffix}"
    return f"${x:,.2f}"


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["-" if v is None else str(v) for v in r])
    return t
