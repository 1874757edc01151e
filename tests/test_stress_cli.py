"""`gigawatt stress` as a user runs it, and the bad inputs it must refuse in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from stress_helpers import STRESS_YAML, stress_plan, stress_scenario, write_case

from gigawatt.errors import ScenarioError
from gigawatt.scenario import parse_scenario
from gigawatt.stress.first_stage import StressError, first_stage


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gigawatt", "stress", *args], capture_output=True, text=True,
                          timeout=600)


def test_stress_json_report_and_table(tmp_path: Path) -> None:
    scenario_file, plan_dir = write_case(tmp_path)
    out, html = tmp_path / "run", tmp_path / "stress.html"
    r = run(str(scenario_file), "--plan", str(plan_dir), "--samples", "24", "--seed", "2", "--json",
            "--out", str(out), "--report", str(html))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["samples"] == 24 and data["solved"] == 24
    assert set(data["cost_usd"]) == {"mean", "p10", "p50", "p90", "cvar95"}
    assert data["cost_usd"]["p10"] <= data["cost_usd"]["p50"] <= data["cost_usd"]["p90"] <= data["cost_usd"]["cvar95"]
    assert 0.0 <= data["shortfall_probability"] <= 1.0
    assert {t["factor"] for t in data["tornado"]} >= {"demand.all", "site.texas.construction_delay"}
    assert all({"factor", "low", "high"} <= set(t) for t in data["tornado"])
    table = pd.read_parquet(out / "samples.parquet")
    assert list(table.columns) == ["sample", "metric", "key", "value"]
    cost = table[table.metric == "cost_usd"].set_index("sample")["value"]
    assert data["cost_usd"]["mean"] == pytest.approx(float(cost.mean()), rel=1e-12)
    page = html.read_text()
    assert "Tornado" in page and "P10-P90" in page and "Cost CDF" in page and "<script src=\"http" not in page


def _one_line_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_zero_samples_and_foreign_plan_are_refused(tmp_path: Path) -> None:
    scenario_file, plan_dir = write_case(tmp_path)
    _one_line_error(run(str(scenario_file), "--plan", str(plan_dir), "--samples", "0"), "--samples")
    other = tmp_path / "other.yaml"
    other.write_text(STRESS_YAML.replace("max_power_mw: 300", "max_power_mw: 350"))
    _one_line_error(run(str(other), "--plan", str(plan_dir), "--samples", "5"), "another scenario", str(plan_dir))


def test_resume_with_other_settings_touches_nothing(tmp_path: Path) -> None:
    scenario_file, plan_dir = write_case(tmp_path)
    out = tmp_path / "run"
    assert run(str(scenario_file), "--plan", str(plan_dir), "--samples", "6", "--out", str(out)).returncode == 0
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    _one_line_error(run(str(scenario_file), "--plan", str(plan_dir), "--samples", "7", "--out", str(out), "--resume"),
                    "samples")
    _one_line_error(run(str(scenario_file), "--plan", str(plan_dir), "--samples", "6", "--out", str(out)),
                    "--resume")
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


@pytest.mark.parametrize(("old", "new", "words"), [
    ("{provider: oracle, default: {catalog: oracle_cds_2025_12}}",
     "{provider: oracle, default: {probability_per_year: 1.5}}", ["probability_per_year", "stress-small.yaml:"]),
    ("{provider: oracle, default: {catalog: oracle_cds_2025_12}}",
     "{provider: oracle, default: {cds_spread: -0.01}}", ["cds_spread"]),
    ("{kind: uniform, low: 0.6, high: 1.2}", "{kind: uniform, low: 1.2, high: 0.6}", ["swap", "revenue"]),
    ("{kind: triangular, low: 0.8, mode: 1.0, high: 1.3}", "{kind: triangular, low: 0.8, mode: 1.5, high: 1.3}",
     ["low <= mode <= high"]),
    ("{provider: oracle,", "{provider: orcale,", ["unknown provider 'orcale'", "aws, oracle, self"]),
    ("{site: texas,", "{site: ohio,", ["unknown site 'ohio'", "known: texas"]),
    ("{deal: gb200-alloc,", "{deal: gb300,", ["unknown chip deal 'gb300'", "gb200-alloc"]),
    ("{contract: oracle-deal,", "{contract: azure,", ["unknown contract 'azure'", "oracle-deal"]),
    ("factors: [demand.all, revenue]", "factors: [demand.all, revenu]", ["unknown factor 'revenu'"]),
    ("{kind: catalog, id: us_datacenter_delay_2026}", "{kind: catalog, id: nope}",
     ["unknown catalog distribution 'nope'"]),
])
def test_bad_uncertainty_is_located(old: str, new: str, words: list[str]) -> None:
    assert old in STRESS_YAML
    with pytest.raises(ScenarioError) as err:
        parse_scenario(STRESS_YAML.replace(old, new, 1), file="stress-small.yaml")
    message = str(err.value)
    assert "uncertainty" in message and "\n" not in message
    assert err.value.line is not None
    for w in words:
        assert w in message, message


def test_a_plan_with_nothing_first_stage_is_refused() -> None:
    s = stress_scenario()
    bare = s.model_copy(update={"contracts": []})
    empty = stress_plan()
    empty = type(empty)(**{**empty.__dict__, "tables": {**empty.tables, "builds": empty.tables["builds"].iloc[:0],
                                                        "rentals": empty.tables["rentals"].iloc[:0]}})
    with pytest.raises(StressError, match="nothing is decided before 2026Q2"):
        first_stage(bare, empty, "2026Q2", plan_dir="plan/")
