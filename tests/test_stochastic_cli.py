"""`gigawatt plan --stochastic` as a user runs it: JSON, saved tables, policy.stochastic, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_stochastic_hand import hedge_sections

from gigawatt.plan.result import Plan


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gigawatt", "plan", *args], capture_output=True, text=True,
                          timeout=600)


def write(tmp: Path, **policy: object) -> Path:
    doc = hedge_sections()
    doc["policy"] = {**doc["policy"], **policy}
    path = tmp / "hedge.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_stochastic_plan_json_and_saved_tables(tmp_path: Path) -> None:
    f = write(tmp_path)
    r = run(str(f), "--stochastic", "6", "--seed", "4", "--json", "--out", str(tmp_path / "plan"))
    assert r.returncode == 0, r.stderr
    meta = json.loads(r.stdout)["metadata"]["stochastic"]
    assert meta["futures"] == 6 and meta["seed"] == 4
    assert meta["vss_usd"] == pytest.approx(meta["deterministic_expected_cost_usd"] - meta["expected_cost_usd"],
                                            rel=1e-12)
    assert meta["vss_usd"] >= 0 and meta["evpi_usd"] >= 0
    loaded = Plan.load(tmp_path / "plan")
    costs = loaded.tables["scenario_costs"]
    assert len(costs) == 6
    assert float((costs["cost_usd"] * costs["probability"]).sum()) == pytest.approx(meta["expected_cost_usd"],
                                                                                    rel=1e-9)


def test_policy_section_is_the_same_as_the_flags(tmp_path: Path) -> None:
    f = write(tmp_path, stochastic={"futures": 6, "seed": 4})
    r = run(str(f), "--json")
    assert r.returncode == 0, r.stderr
    by_policy = json.loads(r.stdout)["metadata"]["stochastic"]
    r2 = run(str(f), "--stochastic", "6", "--seed", "4", "--json")
    by_flags = json.loads(r2.stdout)["metadata"]["stochastic"]
    assert by_policy["expected_cost_usd"] == pytest.approx(by_flags["expected_cost_usd"], rel=1e-12)
    r3 = run(str(f), "--seed", "5", "--json")      # the flag overrides the section's seed
    assert json.loads(r3.stdout)["metadata"]["stochastic"]["seed"] == 5


@pytest.mark.parametrize(("args", "words"), [
    (["--stochastic", "0"], ["--stochastic", "greater than or equal to 1"]),
    (["--stochastic", "3", "--risk-alpha", "1.5"], ["--risk-alpha", "less than 1"]),
    (["--risk-weight", "1"], ["--stochastic"]),
])
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], words: list[str]) -> None:
    r = run(str(write(tmp_path)), *args)
    assert r.returncode == 2
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_no_uncertainty_section_is_refused(tmp_path: Path) -> None:
    doc = yaml.safe_load(write(tmp_path).read_text())
    del doc["uncertainty"]
    f = tmp_path / "plain.yaml"
    f.write_text(yaml.safe_dump(doc))
    r = run(str(f), "--stochastic", "3")
    assert r.returncode == 2 and "uncertainty" in r.stderr and "Traceback" not in r.stderr
