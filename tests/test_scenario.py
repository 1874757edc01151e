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
