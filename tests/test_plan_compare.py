"""`gigawatt compare A B`: what changed between two plans, b minus a, computed by hand."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from plan_helpers import inference, offer, scenario

from gigawatt.periods import HOURS_PER_QUARTER as H
from gigawatt.plan import plan
from gigawatt.plan.compare import compare_plans

H100_EF = 989e-6


def two_plans():
    a = plan(scenario(cloud_offers=[offer("o", 4.0)], demand={"inference": [inference(ef=1.0, util=0.5)]}))
    b = plan(scenario(cloud_offers=[offer("o", 4.0), offer("cheap", 3.0, provider="cloud2")],
                      demand={"inference": [inference(ef=1.0, util=0.5)]}))
    return a, b


def test_compare_gives_b_minus_a_for_money_and_capacity():
    a, b = two_plans()
    diff = compare_plans(a, b)
    units = 2.0 / H100_EF
    assert diff["npv_usd"]["change"] == pytest.approx(units * (3.0 - 4.0) * H, rel=1e-9)
    cap = {r["provider"]: r for r in diff["capacity_mw"]}
    assert cap["cloud"]["b"] == 0 and cap["cloud2"]["a"] == 0
    assert cap["cloud2"]["change"] == pytest.approx(-cap["cloud"]["change"], rel=1e-9)


def test_compare_command_prints_json_and_writes_a_report(tmp_path):
    a, b = two_plans()
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    out = subprocess.run([sys.executable, "-m", "gigawatt", "compare", str(tmp_path / "a"), str(tmp_path / "b"),
                          "--json", "--report", str(tmp_path / "c.html")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    diff = json.loads(out.stdout)
    assert diff["npv_usd"]["change"] == pytest.approx(b.npv_usd - a.npv_usd, rel=1e-12)
    html = (tmp_path / "c.html").read_text()
    assert "Capacity change by provider" in html and "plotly" in html


def test_compare_refuses_a_directory_that_is_not_a_plan(tmp_path):
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, "-m", "gigawatt", "compare", str(tmp_path / "empty"), str(tmp_path / "empty")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
