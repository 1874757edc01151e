from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TRACES = SHARED / "data" / "traces"


@pytest.fixture
def examples() -> Path:
    return ROOT / "examples"


def need_traces(name: str) -> Path:
    path = TRACES / name
    if not path.is_dir():
        pytest.skip(f"trace {name} not found at {path}: it lives in ../shared/data/traces beside the clone")
    return path
