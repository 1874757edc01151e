"""`gigawatt plan` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gigawatt.plan import Plan

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gigawatt", *args], capture_output=True, text=True, timeout=600)


def test_plan_json_tables_and_report(tmp_path):
    out, html = tmp_path / "plan", tmp_path / "plan.html"
    r = run("plan", str(EXAMPLES / "minimal.yaml"), "--json", "--out", str(out), "--report", str(html))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("status", "npv_usd", "capacity_mw", "spend_usd", "funding_gap_usd", "unmet", "binding"):
        assert key in data
    assert data["status"] in ("optimal", "shortfall")
    period, by_provider = next(iter(data["capacity_mw"].items()))
    assert period.startswith("20") and all(isinstance(v, float) for v in by_provider.values())
    loaded = Plan.load(out)
    assert loaded.npv_usd == data["npv_usd"]
    page = html.read_text()
    assert "plotly" in page and "<script src=\"http" not in page      # self-contained
    assert "Capacity by provider" in page and "N-1 margin" in page


def test_plan_then_simulate_a_period(tmp_path):
    out = tmp_path / "plan"
    assert run("plan", str(EXAMPLES / "neocloud.yaml"), "--out", str(out)).returncode == 0
    sim_html = tmp_path / "sim.html"
    r = run("simulate", str(EXAMPLES / "neocloud.yaml"), "--plan", str(out), "--until", "30d", "--json",
            "--report", str(sim_html))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert 0 < data["utilization"] <= 1 and data["fleet"].startswith("plan ")
    assert "Fleet utilisation over time" in sim_html.read_text()


def test_plan_bad_file_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "minimal.yaml").read_text().replace("growth_per_year: 0.8", "growth_per_yer: 0.8"))
    r = run("plan", str(bad))
    assert r.returncode == 2
    assert "did you mean 'growth_per_year'" in r.stderr and "Traceback" not in r.stderr
