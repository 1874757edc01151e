from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same generated cases every run (a landing gate should not be a lottery);
# HYPOTHESIS_PROFILE=explore draws fresh ones when hunting for bugs.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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

# The service tests' fixtures: a real PostgreSQL server and a database per backend.
pytest_plugins = ["service_support"]
