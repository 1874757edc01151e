"""`simulate --plan` prices the plan's pools, so cost and cost-aware placement mean something."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

SCENARIO = {
    "name": "priced", "horizon": {"start": "2026Q1", "end": "2026Q1"}, "money": {"discount_rate": 0.1},
    "providers": [{"id": "cloud"}],
    "cloud_offers": [{"id": "o", "provider": "cloud", "accelerator": "nvidia_h100_sxm",
                      "terms": [{"quarters": 1, "price_usd_per_accelerator_hour": 4.0}], "max_accelerators": 5000}],
    "demand": {"training": [{"id": "run", "total_exaflop": 1.0e7, "start": "2026Q1", "end": "2026Q1",
                             "mfu": 0.4, "min_colocated_accelerators": 1000}]},
}


def test_plan_fleet_costs_what_the_offer_charges(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    run = [sys.executable, "-m", "gigawatt"]
    assert subprocess.run([*run, "plan", str(path), "--out", str(tmp_path / "plan")], capture_output=True).returncode == 0
    out = subprocess.run([*run, "simulate", str(path), "--plan", str(tmp_path / "plan"), "--until", "10d", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["allocated_accelerator_hours"] > 0
    assert result["cost_usd"] == pytest.approx(4.0 * result["allocated_accelerator_hours"], rel=1e-9)
