"""Shared printing helpers: JSON to stdout, rich tables for people."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gigawatt.json_values import finite

console = Console()

__all__ = ["clip", "console", "duration", "escape", "money", "money_range", "number", "print_json", "table"]


def print_json(obj: Any) -> None:
    print(json.dumps(finite(obj), indent=2, default=str))


SOLVER_ZERO = 1e-6      # below this, a figure is solver noise, shown as 0


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def money(x: float | None, noise: float = 0.005) -> str:
    """$1.23B style; no $-0.00, no NaN, no scientific notation."""
    value = _finite(x)
    if value is None:
        return "-"
    if abs(value) < noise:
        return "$0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale * 0.9995:
            text = f"{value / scale:,.2f}"
            if text == "0.00":
                break
            return f"{sign}${text}{suffix}"
    return f"{sign}${value:,.2f}"


def money_range(low: float | None, high: float | None) -> str:
    """"$40.00B" when both ends agree, "$50.00B-$60.00B" when they differ, "-" when unknown."""
    a, b = money(low), money(high)
    if a == "-" and b == "-":
        return "-"
    if a == b or b == "-":
        return a
    if a == "-":
        return f"up to {b}"
    return f"{a}-{b}"


def number(x: Any, digits: int = 3) -> str:
    """Plain readable numbers: 12,345 or 0.123 or 1.5M; never -0, NaN, or 2.8e+10."""
    if isinstance(x, bool) or x is None or not isinstance(x, int | float):
        return "-" if x is None else str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if not math.isfinite(x):
        return "-"
    if abs(x) < SOLVER_ZERO:
        return "0"
    if abs(x) >= 1e15:
        return f"{x / 1e12:,.0f}T"
    if abs(x) >= 1000 or float(x).is_integer():
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    if "e" in text:
        text = f"{x:.{digits + 3}f}".rstrip("0").rstrip(".")
    return text


def duration(seconds: Any) -> str:
    """Seconds as a person reads them: 45 s, 12.5 min, 3.2 h, 4.1 d."""
    value = _finite(seconds)
    if value is None:
        return "-"
    if abs(value) < 0.5:
        return "0 s"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:.0f} s"


def clip(text: Any, width: int) -> str:
    """Cut a long text at `width` characters with an ellipsis, so nothing is silently lost."""
    s = "" if text is None else str(text)
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A table of plain text: cells are never read as rich markup (ids, sources, paths hold '[')."""
    t = Table(title=Text(title), show_lines=False)
    for c in columns:
        t.add_column(Text(c), overflow="fold")
    for r in rows:
        t.add_row(*[Text(_cell(v)) for v in r])
    return t


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return number(v)
    return str(v)
