"""Every CLI entry point against hostile input, each run in a process with a time and memory limit.

The contract: exit 0 with a correct result, or exit 2 with one line that names the file and
the field and says what to do (a usage error adds one line pointing at --help). Never a
traceback, never an "internal error", never a hang or a memory blow-up.

The corpus in tests/fuzz_corpus holds hand-written hostile files for every class of input
(scenario YAML, trace CSVs); plan directories are damaged here from a real saved plan;
big files are generated into tmp_path. Hypothesis adds generated trace CSVs.
"""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path

import pandas as pd
import pytest
from cli_sandbox import Outcome, run_many, run_one
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gigawatt.errors import TraceError
from gigawatt.sim.traces import load_trace

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "fuzz_corpus"
SCENARIOS = CORPUS / "scenarios"
TRACES = CORPUS / "traces"
MINIMAL = ROOT / "examples" / "minimal.yaml"

# tiny, quick to solve: one cloud offer, one inference load, two quarters
TINY = """\
name: tiny
horizon: {start: 2026Q1, end: 2026Q2}
money: {discount_rate: 0.08}
providers: [{id: aws, kind: cloud}]
cloud_offers:
  - id: aws-h100
    provider: aws
    accelerator: nvidia_h100_sxm
    terms: [{quarters: 1, price_usd_per_accelerator_hour: 2.5}]
    max_accelerators: 20000
demand:
  inference:
    - {id: api, start: 2026Q1, start_exaflops: 1, utilization: 0.5}
  training:
    - {id: run, total_exaflop: 1.0e+6, start: 2026Q1, end: 2026Q2}
policy: {time_limit_s: 30}
"""

# scenario file -> a fragment the one-line error must contain (None: the file is valid)
SCENARIO_ERRORS = {
    "bad-utf8.yaml": "not UTF-8",
    "bidi-id.yaml": "sites[0].id",
    "billion-laughs.yaml": "anchors and aliases",
    "bom.yaml": None,
    "bool-number.yaml": "sites[0].max_power_mw: expected a number, got true",
    "century-horizon.yaml": "at most 160 quarters",
    "comment-only.yaml": "file is empty",
    "date-as-quarter.yaml": "demand.training[0].start",
    "deep-nesting.yaml": "nested more than",
    "duplicate-key.yaml": "duplicate key 'max_power_mw' (first on line 16, again on line 17)",
    "empty-id.yaml": "sites[0].id",
    "empty.yaml": "file is empty",
    "huge-training.yaml": "total_exaflop: must be at most",
    "inf-demand.yaml": "start_exaflops: must be a finite number",
    "inf-unit-price.yaml": "unit_price_usd: must be a finite number",
    "list-as-number.yaml": "sites[0].max_power_mw",
    "markup-in-name.yaml": None,
    "name-only.yaml": "nothing to plan for",
    "nan-price.yaml": "price_usd_per_accelerator_hour: must be a finite number",
    "negative-power.yaml": "max_power_mw: must be at least 0",
    "no-demand.yaml": "did you mean 'demand'",
    "not-a-mapping.yaml": "top level must be a mapping",
    "numbers-as-strings.yaml": None,
    "overflow-literal.yaml": "total_exaflop: must be a finite number",
    "python-tag.yaml": "not valid YAML",
    "quarter-out-of-range.yaml": "is not a quarter",
    "rent-only-at-site.yaml": "'google_tpu_v5p' is only offered by clouds",
    "runaway-growth.yaml": "lower growth_per_year or shorten the horizon",
    "tab-indent.yaml": "not valid YAML",
    "training-outside-horizon.yaml": "wholly outside the horizon",
    "typo-key.yaml": "did you mean 'growth_per_year'",
    "unhashable-key.yaml": "not valid YAML",
    "unknown-outage-target.yaml": "unknown outage target 'azure'",
    "unknown-policy.yaml": "unknown policy 'shortest-first'",
    "zero-width-id.yaml": "texas\\u200b-campus",
}

# trace file -> (extra flags, fragment of the error or None when it must simulate)
TRACE_ERRORS: dict[str, tuple[list[str], str | None]] = {
    "azure-bad-time.csv": ([], "line 2: TIMESTAMP"),
    "azure-empty-tokens.csv": ([], "line 2: ContextTokens = empty"),
    "azure-good.csv": ([], None),
    "azure-missing-column.csv": (["--trace-format", "azure-llm"], "missing column GeneratedTokens"),
    "azure-negative-tokens.csv": ([], "line 2: ContextTokens = '-5'"),
    "empty.csv": ([], "file is empty"),
    "jobs-bad-kind.csv": ([], "line 2: kind = 'trianing'; expected one of batch, inference, training"),
    "jobs-empty-cell.csv": ([], "line 3 (b): arrival_s = empty"),
    "jobs-good.csv": ([], None),
    "jobs-header-only.csv": ([], "no usable rows"),
    "jobs-inf.csv": ([], "line 2 (a): accelerators = 'inf'"),
    "jobs-missing-column.csv": (["--trace-format", "gigawatt-jobs"], "missing columns allowed, kind, work_s"),
    "jobs-negative-work.csv": ([], "line 2 (a): work_s = '-3600'"),
    "jobs-not-utf8.csv": ([], "line 2: not UTF-8"),
    "jobs-ragged.csv": ([], "line 2: more cells than the header"),
    "jobs-zero-accelerators.csv": ([], "line 3 (b): accelerators = '0'"),
    "openb-backwards.csv": ([], "deletion_time 5 is before scheduled_time 10"),
    "openb-empty-creation.csv": ([], "line 2 (p0): creation_time = empty"),
    "openb-good.csv": ([], None),
    "openb-missing-columns.csv": (["--trace-format", "alibaba-openb"], "missing columns creation_time"),
    "openb-negative-gpu.csv": ([], "line 3 (p1): num_gpu = '-2'"),
    "openb-only-pending.csv": ([], "no usable rows"),
    "openb-zero-milli.csv": ([], "line 2 (p0): gpu_milli = '0'"),
    "unknown-format.csv": ([], "unknown trace format"),
}


def assert_contract(o: Outcome, fragment: str | None, *, usage: bool = False) -> None:
    """Exit 0, or exit 2 with one line (plus a usage hint for usage errors) holding `fragment`."""
    where = f"gigawatt {' '.join(o.argv)}"
    assert not o.timed_out, f"{where}: hung or ran out of CPU time"
    assert "Traceback" not in o.stderr and "internal error" not in o.stderr, f"{where}:\n{o.stderr}"
    if fragment is None:
        assert o.returncode == 0, f"{where}: exit {o.returncode}\n{o.stderr}"
        return
    assert o.returncode == 2, f"{where}: exit {o.returncode}, expected 2\n{o.stdout[-500:]}\n{o.stderr}"
    lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
    assert len(lines) == (2 if usage else 1), f"{where}: expected one error line, got:\n{o.stderr}"
    assert lines[0].startswith("error: "), f"{where}: {lines[0]}"
    assert fragment in lines[0], f"{where}: {fragment!r} not in {lines[0]!r}"
    if usage:
        assert lines[1].startswith("usage: gigawatt"), lines[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A working directory holding the tiny scenario, a real plan of it, and big generated files."""
    d = tmp_path_factory.mktemp("fuzz")
    (d / "tiny.yaml").write_text(TINY)
    (d / "other.yaml").write_text(TINY.replace("name: tiny", "name: other").replace("2.5", "3.5"))
    plan = run_one("plan", str(d / "tiny.yaml"), "--out", str(d / "plan"), "--json", "--fail-on-shortfall")
    assert plan.returncode in (0, 3), plan.stderr
    summary = json.loads(plan.stdout)
    assert summary["status"] in ("optimal", "shortfall")
    assert (plan.returncode == 3) == (summary["status"] == "shortfall")
    # generated hostile scenarios too big to keep in the repository
    (d / "big.yaml").write_text("name: big\n" + "description: " + "x" * 2_100_000 + "\n")
    many = "name: many\nproviders:\n" + "".join(f"  - {{id: p{i}}}\n" for i in range(12_000))
    (d / "many.yaml").write_text(many)
    return d


def _damaged_plans(work: Path) -> dict[str, str]:
    """Copies of the real plan, each damaged one way -> the fragment its error must hold."""
    src = work / "plan"
    cases: dict[str, str] = {}

    def copy(name: str) -> Path:
        dst = work / f"plan-{name}"
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        return dst

    (copy("empty-json") / "plan.json").write_text("")
    cases["plan-empty-json"] = "plan.json: is empty"
    p = copy("truncated-json") / "plan.json"
    p.write_text(p.read_text()[:200])
    cases["plan-truncated-json"] = "not valid JSON"
    (copy("missing-csv") / "capacity.csv").unlink()
    cases["plan-missing-csv"] = "capacity.csv: is missing"
    p = copy("truncated-csv") / "capacity.csv"
    p.write_text(p.read_text()[:-15])
    cases["plan-truncated-csv"] = "does not match its checksum"
    p = copy("escape") / "plan.json"
    meta = json.loads(p.read_text())
    meta["files"]["capacity"]["file"] = "../../../../etc/passwd"
    p.write_text(json.dumps(meta))
    cases["plan-escape"] = "not a plain file name inside the plan"
    p = copy("negative-legacy") / "plan.json"
    meta = json.loads(p.read_text())
    del meta["files"]
    p.write_text(json.dumps(meta))
    cap = pd.read_csv(p.parent / "capacity.csv")
    cap.loc[0, "accelerators"] = -1000
    cap.to_csv(p.parent / "capacity.csv", index=False)
    cases["plan-negative-legacy"] = "row 2: accelerators = -1000"
    cases["plan-nope"] = "no such directory"
    return cases


def test_entry_point_usage_errors_in_fresh_processes():
    assert_contract(run_one("--version"), None)
    bare = run_one()
    assert bare.returncode == 2 and "Usage: gigawatt" in bare.stdout + bare.stderr
    assert "Traceback" not in bare.stderr
    assert_contract(run_one("plan"), "Missing argument 'file'", usage=True)
    assert_contract(run_one("quote", "--gw", "abc"), "'--gw'", usage=True)


def test_corpus(work: Path) -> None:
    d = str(work)
    cases: list[tuple[list[str], str | None, bool]] = []          # argv, fragment, usage error
    # every hostile scenario, through validate and (cheaply failing) plan
    for name, fragment in SCENARIO_ERRORS.items():
        path = str(SCENARIOS / name)
        cases.append((["validate", path], fragment, False))
        if fragment is not None:
            cases.append((["plan", path, "--json"], fragment, False))
            cases.append((["simulate", path, "--until", "1d"], fragment, False))
    cases += [
        (["validate", f"{d}/big.yaml"], "a scenario must be under 2,000,000 bytes", False),
        (["validate", f"{d}/many.yaml"], "12,000 entries", False),
        (["validate", d], "is a directory", False),
        (["validate", f"{d}/no-such.yaml"], "file not found", False),
    ]
    # traces
    for name, (flags, fragment) in TRACE_ERRORS.items():
        cases.append((["simulate", f"{d}/tiny.yaml", "--trace", str(TRACES / name), *flags,
                       "--until", "2d", "--json"], fragment, False))
    nodes = str(TRACES / "jobs-good.csv")
    cases += [
        (["simulate", f"{d}/tiny.yaml", "--trace", str(TRACES / "openb-good.csv"), "--nodes", nodes],
         "missing columns gpu, model, sn", False),
        (["simulate", f"{d}/tiny.yaml", "--trace", str(TRACES / "openb-good.csv"), "--nodes", f"{d}/none.csv"],
         "file not found", False),
        (["simulate", f"{d}/tiny.yaml", "--nodes", nodes], "--nodes needs --trace", False),
        (["simulate", f"{d}/tiny.yaml", "--trace", str(TRACES / "azure-good.csv"), "--policy", "fifo"],
         "--policy does not apply to an inference request trace", False),
        (["simulate", f"{d}/tiny.yaml", "--trace", str(TRACES / "azure-good.csv"), "--no-failures",
          "--report", f"{d}/r.html"], "--failures/--no-failures, --report do not apply", False),
    ]
    # plan directories: damaged copies of a real plan, a plan of another scenario, a file as --out
    for name, fragment in _damaged_plans(work).items():
        cases.append((["simulate", f"{d}/tiny.yaml", "--plan", f"{d}/{name}", "--until", "1d"], fragment, False))
    (work / "a-file").write_text("x")
    cases += [
        (["simulate", f"{d}/tiny.yaml", "--plan", f"{d}/plan", "--until", "1d", "--json"], None, False),
        (["simulate", f"{d}/other.yaml", "--plan", f"{d}/plan", "--until", "1d"], "made from another scenario", False),
        (["plan", f"{d}/tiny.yaml", "--out", f"{d}/a-file"], "is a file, not a directory", False),
        (["plan", f"{d}/tiny.yaml", "--out", str(SCENARIOS)], "is not a plan", False),
        (["plan", f"{d}/tiny.yaml", "--report", d], "is a directory", False),
        (["simulate", f"{d}/tiny.yaml", "--until", "soon"], "--until 'soon' is not a duration", False),
        (["simulate", f"{d}/tiny.yaml", "--period", "2026Q9"], "--period", False),
        (["simulate", f"{d}/tiny.yaml", "--period", "1999Q1"], "outside the scenario's horizon", False),
        (["plan", f"{d}/tiny.yaml", "--out", "/proc/no-plan-here"], "cannot create a plan directory", False),
        (["simulate", f"{d}/tiny.yaml", "--policy", "nope"], "unknown policy 'nope'", False),
        (["simulate", f"{d}/tiny.yaml", "--until", "1d"], None, False),
    ]
    # quote and catalog options
    for flag, value, fragment in [
        ("--pue", "0", "--pue 0 is out of range; give a number in [1, 3]"),
        ("--pue", "0.5", "--pue 0.5 is out of range"),
        ("--life", "0", "--life 0 is out of range"),
        ("--discount-rate", "-1", "--discount-rate -1 is out of range"),
        ("--gw", "nan", "--gw nan is out of range"),
        ("--gw", "inf", "--gw inf is out of range"),
        ("--electricity", "-50", "--electricity -50 is out of range"),
        ("--load-factor", "2", "--load-factor 2 is out of range"),
        ("--accelerator", "google_tpu_v5p", "rent-only"),
    ]:
        cases.append((["quote", flag, value], fragment, False))
    cases += [
        (["quote", "--gw", "2", "--json"], None, False),
        (["catalog", "bogus"], "Invalid value for 'section'", True),
        (["plan", "--bogus"], "No such option: --bogus", True),
        (["simulate", f"{d}/tiny.yaml", "--seed", "x"], "'--seed'", True),
    ]
    # a plan that falls short: exit 3 under --fail-on-shortfall, and its first lines say why
    short = TINY.replace("max_accelerators: 20000", "max_accelerators: 10")
    (work / "short.yaml").write_text(short)
    cases += [(["plan", f"{d}/short.yaml", "--fail-on-shortfall"], None, False),
              (["plan", f"{d}/short.yaml"], None, False)]
    outcomes = run_many([argv for argv, _, _ in cases], cwd=work)
    failing, shown = outcomes[-2], outcomes[-1]
    assert failing.returncode == 3 and "Traceback" not in failing.stderr
    cases, outcomes = cases[:-2], outcomes[:-2]
    head = shown.stdout.splitlines()[:4]
    sentence = next(line for line in head if line.startswith("Shortfall:"))
    assert sentence.startswith("Shortfall: 2 demands not fully met: ")
    if os.environ.get("FUZZ_TIMES"):
        for o in sorted(outcomes, key=lambda o: -o.seconds)[:12]:
            print(f"{o.seconds:.2f}s", " ".join(o.argv)[:150])
    for (_, fragment, usage), outcome in zip(cases, outcomes, strict=True):
        assert_contract(outcome, fragment, usage=usage)
    # the runs that succeed give correct results, not just exit 0
    by_argv = {tuple(o.argv): o for o in outcomes}
    quote = json.loads(by_argv[("quote", "--gw", "2", "--json")].stdout)
    assert quote["gw"] == 2 and quote["accelerators"] == pytest.approx(
        2e6 / quote["kw_per_accelerator_all_in"], rel=1e-12)
    sim = json.loads(by_argv[("simulate", f"{d}/tiny.yaml", "--plan", f"{d}/plan", "--until", "1d",
                              "--json")].stdout)
    assert sim["fleet"].startswith(f"plan {d}/plan") and 0 <= sim["utilization"] <= 1


# --- generated trace CSVs: a loader either returns a valid job table or raises TraceError ---

CELLS = st.one_of(
    st.sampled_from(["", "0", "-1", "1", "8", "1000", "1.5", "nan", "inf", "-inf", "1e400", "x",
                     "  3 ", "\u200b", "2023-11-16 18:15:46"]),
    st.integers(-10**6, 10**9).map(str),
    st.text(string.printable, max_size=6),
)


@st.composite
def trace_csvs(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from([
        ["name", "arrival_s", "accelerators", "work_s", "allowed", "kind"],
        ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "pod_phase",
         "creation_time", "deletion_time", "scheduled_time"],
        ["TIMESTAMP", "ContextTokens", "GeneratedTokens"],
    ]))
    if draw(st.booleans()):
        header = [c for c in header if c != draw(st.sampled_from(header))]
    rows = draw(st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header)), max_size=6))
    return pd.DataFrame(rows, columns=header).to_csv(index=False) if rows else ",".join(header) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(trace_csvs())
def test_generated_traces_load_or_fail_in_one_line(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("trace") / "t.csv"
    path.write_text(text)
    try:
        fmt, table = load_trace(path)
    except TraceError as exc:
        message = str(exc)
        assert "\n" not in message and (message.startswith(str(path)) or "unknown trace format" in message)
        return
    assert len(table) > 0
    if fmt.kind == "jobs":
        for col in ("arrival_s", "work_s"):
            assert (table[col] >= 0).all() and table[col].map(lambda v: v == v and abs(v) != float("inf")).all()
        assert (table["accelerators"] > 0).all()
    else:
        assert (table["prompt_tokens"] >= 0).all() and (table["output_tokens"] >= 0).all()
