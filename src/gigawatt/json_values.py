"""Values made fit for JSON, which has no NaN or infinity."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> Any:
    """NaN and infinities become null, in nested dicts, lists and tuples too (keys as strings)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
