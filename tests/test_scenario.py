from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gigawatt.errors import ScenarioError
from gigawatt.scenario import Scenario, load_scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MINIMAL = (EXAMPLES / "minimal.yaml").read_text()


def test_examples_validate():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        assert isinstance(load_scenario(path), Scenario)


def test_round_trip_through_dict_and_yaml():
    s = parse_scenario(MINIMAL)
    dumped = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    again = parse_scenario(yaml.safe_dump(dumped))
    assert again == s


@pytest.mark.parametrize("old,new,path,fragment", [
    ("max_power_mw: 300", "max_power_mw: -5", "sites[0].max_power_mw", "must be at least 0"),
    ("max_power_mw: 300", "max_powr_mw: 300", "sites[0].max_powr_mw", "did you mean 'max_power_mw'"),
    ("provider: aws", "provider: amz", "cloud_offers[0].provider", "unknown provider 'amz'"),
    ("accelerator: nvidia_h200_sxm", "accelerator: nvidia_h200", "cloud_offers[0].accelerator", "did you mean 'nvidia_h200_sxm'"),
    ("start: 2027Q1", "start: 2027Q5", "demand.training[0].start", "is not a quarter"),
    ("mfu: 0.4", "mfu: 1.4", "demand.training[0].mfu", "must be at most 1"),
])
def test_errors_name_line_path_and_fix(old, new, path, fragment):
    text = MINIMAL.replace(old, new, 1)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file="s.yaml")
    err = info.value
    assert err.path == path
    assert fragment in str(err)
    assert err.line is not None
    bad_line = text.splitlines()[err.line - 1]
    assert new.split(":")[0].strip() in bad_line or path.split(".")[-1].split("[")[0] in bad_line
    assert "\n" not in str(err)


def test_invalid_yaml_reports_line():
    with pytest.raises(ScenarioError, match=r"s.yaml:4: not valid YAML"):
        parse_scenario("name: x\nsites:\n  - id: [\n", file="s.yaml")


def test_missing_file():
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario("/no/such/file.yaml")


def test_duplicate_ids_rejected():
    text = MINIMAL.replace("  - {id: aws, kind: cloud}", "  - {id: aws, kind: cloud}\n  - {id: aws, kind: cloud}")
    with pytest.raises(ScenarioError, match="duplicate id 'aws'"):
        parse_scenario(text)


# --- property: any mutation of a good file gives a valid scenario or our own error, located ---

BASE = yaml.safe_load(MINIMAL)
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated(draw: st.DrawFn) -> dict:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "delete", "add_key"]))
            if action == "replace":
                parent[path[-1]] = draw(JUNK)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=10))] = draw(JUNK)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_raise_only_scenario_error_with_location(doc):
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        parse_scenario(text, file="m.yaml")
    except ScenarioError as err:
        assert err.path or err.line, str(err)
        assert str(err).startswith("m.yaml")
        assert "\n" not in str(err)


# --- hostile files: bounded work, one located line each ---


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file="h.yaml")
    assert "\n" not in str(info.value) and len(str(info.value)) < 600
    return info.value


def test_billion_laughs_refused_before_expansion():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    err = _error("\n".join(lines) + "\nname: *a9\n")
    assert "anchors and aliases" in str(err) and err.line is not None


def test_aliases_within_budget_still_work():
    text = MINIMAL.replace("policy:\n", "x-shared: &acc [nvidia_gb200_nvl72]\npolicy:\n")
    with pytest.raises(ScenarioError, match="unknown key 'x-shared'"):
        parse_scenario(text)          # parsed fine; only the unknown key is refused


def test_deep_nesting_is_an_error_not_recursion():
    err = _error("name: x\ndescription: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert "nested more than 40 levels" in str(err) and err.line == 2


def test_long_collections_refused():
    text = "name: x\nproviders:\n" + "".join(f"  - {{id: p{i}}}\n" for i in range(10_001))
    assert "10,001 entries" in str(_error(text))


def test_duplicate_keys_name_both_lines():
    text = MINIMAL.replace("max_power_mw: 300", "max_power_mw: 300\n    max_power_mw: 3000")
    err = _error(text)
    assert "duplicate key 'max_power_mw' (first on line 16, again on line 17)" in str(err)
    assert err.line == 17


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text):
    assert "file is empty: a scenario needs at least" in str(_error(text))


def test_no_demand_is_refused():
    err = _error("name: x\nproviders: [{id: aws}]\n")
    assert "nothing to plan for" in str(err) and err.path == "demand"


@pytest.mark.parametrize("old,new,path,fragment", [
    ("max_power_mw: 300", "max_power_mw: true", "sites[0].max_power_mw", "expected a number, got true"),
    ("max_power_mw: 300", "max_power_mw: .inf", "sites[0].max_power_mw", "must be a finite number"),
    ("max_power_mw: 300", "max_power_mw: 2.0e+6", "sites[0].max_power_mw", "must be at most 1e+06"),
    ("start_exaflops: 5", "start_exaflops: .nan", "demand.inference[0].start_exaflops", "finite"),
    ("total_exaflop: 2.0e+8", "total_exaflop: 1.0e+308", "demand.training[0].total_exaflop", "at most 1e+15"),
    ("quarters: 12,", "quarters: true,", "cloud_offers[0].terms[1].quarters", "got true"),
    ("id: texas-campus", 'id: "texas\\u200b-campus"', "sites[0].id", "no invisible or non-ASCII"),
    ("id: texas-campus", 'id: "texas\\u202ecampus"', "sites[0].id", "texas\\u202ecampus"),
    ("id: texas-campus", 'id: ""', "sites[0].id", "1-64 characters"),
    ("horizon: {start: 2026Q1, end: 2029Q4}", "horizon: {start: 2025Q1, end: 2125Q4}", "horizon",
     "at most 160 quarters"),
    ("policy:\n", "operations: {policy: sjf}\npolicy:\n", "operations.policy",
     "unknown policy 'sjf'; choose one of fifo, easy-backfill, cost-aware, hetero-aware, failover, "
     "backfill-failover"),
    ("policy:\n", "operations: {outages: [{target: gcp, start_hours: 0, duration_hours: 1}]}\npolicy:\n",
     "operations.outages[0].target", "unknown outage target 'gcp'"),
    ("accelerators: [nvidia_gb200_nvl72, nvidia_gb300_nvl72]", "accelerators: [google_tpu_v6e]",
     "sites[0].accelerators[0]", "'google_tpu_v6e' is only offered by clouds"),
    ("start: 2027Q1\n      end: 2027Q4", "start: 2035Q1\n      end: 2035Q4", "demand.training[0].start",
     "wholly outside the horizon 2026Q1-2029Q4"),
])
def test_out_of_range_and_look_alike_values(old, new, path, fragment):
    assert old in MINIMAL
    err = _error(MINIMAL.replace(old, new, 1))
    assert err.path == path and fragment in str(err), str(err)


def test_growth_that_would_overflow():
    text = MINIMAL.replace("end: 2029Q4", "end: 2065Q4")        # 5 EF/s x 1.8^39.75 = 6e10 EF/s
    err = _error(text)
    assert err.path == "demand.inference[0].growth_per_year" and "reaches 1e11 EF/s" in str(err)
    assert parse_scenario(MINIMAL.replace("end: 2029Q4", "end: 2040Q4"))   # 5 x 1.8^14.75 fits


def test_texas_and_a_look_alike_cannot_be_two_sites():
    site = MINIMAL[MINIMAL.index("  - id: texas-campus"):MINIMAL.index("cloud_offers:")]
    twin = site.replace("id: texas-campus", 'id: "texas\\u200b-campus"')
    with pytest.raises(ScenarioError, match="sites\\[1\\].id"):
        parse_scenario(MINIMAL.replace(site, site + twin))


def test_huge_value_in_an_error_is_shown_short():
    err = _error(MINIMAL.replace("max_power_mw: 300", "max_power_mw: [" + ", ".join(["1"] * 5000) + "]"))
    assert "..." in str(err) and len(str(err)) < 300


def test_non_utf8_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: ok\ndescription: caf\xe9\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:2: not UTF-8 text"):
        load_scenario(path)


def test_big_file_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\ndescription: " + "y" * 2_100_000 + "\n")
    with pytest.raises(ScenarioError, match="must be under 2,000,000 bytes"):
        load_scenario(path)


def test_two_spellings_of_one_quarter_are_an_error():
    text = MINIMAL.replace("start_exaflops: 5              # delivered EF/s\n      growth_per_year: 0.8\n",
                           "exaflops: {2026Q1: 5, 2026-02: 7}\n")
    err = _error(text)
    assert "same quarter (2026Q1)" in str(err) and err.path == "demand.inference[0].exaflops"


def test_a_model_too_big_for_memory_is_refused_at_validate():
    offers = "".join(
        f"  - {{id: o{i}, provider: aws, accelerator: nvidia_h100_sxm, "
        f"terms: [{{price_usd_per_accelerator_hour: 2}}]}}\n" for i in range(2000))
    text = ("name: wide\nhorizon: {start: 2025Q1, end: 2064Q4}\nproviders: [{id: aws}]\n"
            f"cloud_offers:\n{offers}demand:\n  inference:\n    - {{id: a, start: 2025Q1, start_exaflops: 1}}\n")
    err = _error(text)
    assert err.path == "horizon" and "would hold about 102,400,000,000 cells" in str(err)
