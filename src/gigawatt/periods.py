"""Quarters as the planning clock: labels like ``2027Q3`` and integer offsets."""

from __future__ import annotations

import re

HOURS_PER_YEAR = 8760.0
HOURS_PER_QUARTER = HOURS_PER_YEAR / 4
SECONDS_PER_QUARTER = HOURS_PER_QUARTER * 3600

_QUARTER = re.compile(r"^\s*(\d{4})\s*(?:[Qq]([1-4])|-(\d{1,2}))?\s*$")


def parse_quarter(text: str | int) -> int:
    """Return the absolute quarter number (year*4 + q-1) of ``2027Q3``, ``2027-08`` or ``2027``."""
    m = _QUARTER.match(str(text))
    if not m:
        raise ValueError(f"'{text}' is not a quarter; write it like 2027Q3, 2027-08 or 2027")
    year = int(m.group(1))
    if m.group(2):
        q = int(m.group(2))
    elif m.group(3):
        month = int(m.group(3))
        if not 1 <= month <= 12:
            raise ValueError(f"'{text}' has month {month}; months run 01-12")
        q = (month - 1) // 3 + 1
    else:
        q = 1
    return year * 4 + q - 1


def quarter_label(absolute: int) -> str:
    return f"{absolute // 4}Q{absolute % 4 + 1}"


def quarter_year(absolute: int) -> int:
    return absolute // 4


def quarter_range(start: str, end: str) -> list[str]:
    a, b = parse_quarter(start), parse_quarter(end)
    return [quarter_label(q) for q in range(a, b + 1)]
