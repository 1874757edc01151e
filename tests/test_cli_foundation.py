"""The CLI as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gigawatt", *args], capture_output=True, text=True, timeout=300)


def test_validate_good_file_exits_0():
    r = run("validate", str(EXAMPLES / "minimal.yaml"))
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_validate_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "minimal.yaml").read_text().replace("pue: 1.15", "pue: 0.9"))
    r = run("validate", str(bad))
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{bad}:" in lines[0] and "sites[0].pue" in lines[0]


def test_validate_missing_file_exits_2():
    r = run("validate", "/no/such.yaml")
    assert r.returncode == 2 and "file not found" in r.stderr and "Traceback" not in r.stderr


def test_quote_json_keys():
    r = run("quote", "--accelerator", "nvidia_gb200_nvl72", "--gw", "1", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("accelerators", "facility_capex_usd", "it_capex_usd", "total_capex_usd",
                "capex_usd_per_gw", "energy_usd_per_year", "usd_per_accelerator_hour"):
        assert isinstance(data[key], float)
    assert data["inputs"]["unit_price_usd"]["source"]


def test_quote_unknown_accelerator_exits_2():
    r = run("quote", "--accelerator", "nvidia_h100", "--json")
    assert r.returncode == 2 and "did you mean 'nvidia_h100_sxm'" in r.stderr


def test_deals_json():
    r = run("deals", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["total_commitments_usd"] > 0 and data["total_capacity_gw"] > 0
    statuses = {d["status_class"] for d in data["deals"]}
    assert {"confirmed", "reported", "letter of intent", "superseded"} <= statuses


@pytest.mark.parametrize("section", ["accelerators", "prices", "economics", "deals"])
def test_catalog_sections(section):
    r = run("catalog", section, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)
    assert run("catalog", section).returncode == 0
