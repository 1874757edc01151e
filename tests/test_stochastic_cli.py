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
    (["--out-of-sample", "5"], ["--stochastic"]),
    (["--stochastic", "3", "--batches", "0"], ["--batches", "greater than or equal to 1"]),
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


def test_out_of_sample_check_in_json_tables_and_report(tmp_path: Path) -> None:
    import numpy as np

    from gigawatt.stress.risk import cvar

    f = write(tmp_path)
    html = tmp_path / "r.html"
    r = run(str(f), "--stochastic", "4", "--seed", "2", "--out-of-sample", "20", "--json", "--out",
            str(tmp_path / "plan"), "--report", str(html))
    assert r.returncode == 0, r.stderr
    oos = json.loads(r.stdout)["metadata"]["stochastic"]["out_of_sample"]
    assert oos["futures"] == 20 and oos["seed"] == 3
    rows = Plan.load(tmp_path / "plan").tables["out_of_sample"]
    for plan in ("deterministic", "hedged"):
        cost = rows[rows["plan"] == plan]["cost_usd"].to_numpy()
        assert len(cost) == 20
        assert oos[plan]["cost_mean_usd"] == pytest.approx(cost.mean(), rel=1e-12)
        assert oos[plan]["cost_p90_usd"] == pytest.approx(np.percentile(cost, 90), rel=1e-12)
        assert oos[plan]["cost_cvar95_usd"] == pytest.approx(cvar(cost, 0.95), rel=1e-12)
        short = rows[rows["plan"] == plan]["shortfall"].astype(str).str.lower() == "true"
        assert oos[plan]["shortfall_probability"] == pytest.approx(short.mean())
    page = html.read_text()
    assert "Out of sample: deterministic vs hedged in 20 fresh futures" in page
    assert "probability of shortfall" in page and "CVaR95" in page
    r = run(str(f), "--stochastic", "4", "--seed", "2", "--out-of-sample", "0", "--json")
    assert "out_of_sample" not in json.loads(r.stdout)["metadata"]["stochastic"]
