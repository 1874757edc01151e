"""Plan directories: a save killed at any step leaves one whole plan; damage is one line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gigawatt.errors import PlanError
from gigawatt.plan.result import Plan
from gigawatt.plan.store import FileSystem, Siblings, check_target, write_plan


def make_plan(seed: int, extra_table: bool = False) -> Plan:
    rng = np.random.default_rng(seed)
    capacity = pd.DataFrame({
        "period": ["2026Q1", "2026Q2"], "provider": ["aws", "self"], "location": ["o", "s"],
        "kind": ["cloud", "owned"], "accelerator": ["nvidia_h100_sxm"] * 2,
        "accelerators": rng.uniform(1, 1e4, 2), "mw": rng.uniform(1, 100, 2),
        "peak_exaflops": rng.uniform(1, 10, 2),
    })
    spend = pd.DataFrame({"year": [2026], "total_usd": [float(seed) * 1e9]})
    tables = {"capacity": capacity, "spend": spend}
    if extra_table:
        tables["unmet"] = pd.DataFrame({"demand": ["a"], "exaflops_short": [1.5]})
    return Plan(status="optimal", npv_usd=float(seed) * 1e9, tables=tables, binding=[f"b{seed}"],
                explanations=[], unit_costs={"usd_per_accelerator_hour": 2.0 + seed},
                metadata={"scenario": "s", "scenario_hash": f"h{seed}"})


def same(a: Plan, b: Plan) -> bool:
    if (a.status, a.npv_usd, a.binding, a.metadata) != (b.status, b.npv_usd, b.binding, b.metadata):
        return False
    if sorted(a.tables) != sorted(b.tables):
        return False
    return all(
        a.tables[k].reset_index(drop=True).equals(b.tables[k].reset_index(drop=True))
        or np.allclose(a.tables[k].select_dtypes("number"), b.tables[k].select_dtypes("number"), rtol=1e-15)
        for k in a.tables
    )


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so no cleanup code in save runs."""


class KillAt(FileSystem):
    """Counts filesystem operations and dies at operation `at`."""

    def __init__(self, at: int | None) -> None:
        self.at, self.count = at, 0

    def _step(self) -> None:
        if self.at is not None and self.count == self.at:
            raise Killed
        self.count += 1

    def mkdir(self, path: Path) -> None:
        self._step()
        super().mkdir(path)

    def write(self, path: Path, data: bytes) -> None:
        if self.at is not None and self.count == self.at:   # die half-way through this write
            with open(path, "xb") as fh:
                fh.write(data[: len(data) // 2])
            raise Killed
        self._step()
        super().write(path, data)

    def rename(self, src: Path, dst: Path) -> None:
        self._step()
        super().rename(src, dst)

    def rmtree(self, path: Path) -> None:
        self._step()
        super().rmtree(path)

    def sync_dir(self, path: Path) -> None:
        self._step()
        super().sync_dir(path)


def _save(plan: Plan, directory: Path, fmt: str, fs: FileSystem) -> None:
    meta = {"status": plan.status, "npv_usd": plan.npv_usd, "binding": plan.binding,
            "explanations": plan.explanations, "unit_costs": plan.unit_costs, "metadata": plan.metadata}
    write_plan(directory, meta, plan.tables, fmt, fs=fs)


def count_steps(tmp_path: Path, fmt: str) -> int:
    probe = KillAt(None)
    d = tmp_path / "probe"
    _save(make_plan(1), d, fmt, FileSystem())
    _save(make_plan(2, extra_table=True), d, fmt, probe)
    return probe.count


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_kill_at_every_step_leaves_old_or_new_plan(tmp_path, fmt):
    steps = count_steps(tmp_path, fmt)
    assert steps >= 6      # mkdir, 3 tables, manifest, sync, 2 renames, sync, rmtree
    old, new = make_plan(1), make_plan(2, extra_table=True)
    seen = set()
    for at in range(steps):
        d = tmp_path / f"kill{at}"
        _save(old, d, "csv", FileSystem())
        with pytest.raises(Killed):
            _save(new, d, fmt, KillAt(at))
        loaded = Plan.load(d)
        is_old, is_new = same(loaded, old), same(loaded, new)
        assert is_old or is_new, f"killed at step {at}: the directory holds neither plan"
        seen.add("old" if is_old else "new")
        # the next save finishes or undoes the interrupted one and leaves no debris
        _save(make_plan(3), d, fmt, FileSystem())
        assert same(Plan.load(d), make_plan(3))
        sib = Siblings.of(d)
        assert not sib.saving.exists() and not sib.replaced.exists()
    assert seen == {"old", "new"}


def test_sigkill_during_saves_leaves_a_whole_plan(tmp_path):
    d = tmp_path / "plan"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_plan_store import make_plan
        i = 0
        while True:
            i += 1
            make_plan(i % 5 + 1).save({str(d)!r})
            print(i, flush=True)
    """)
    for delay in (0.1, 0.4):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            proc.stdout.readline()                  # at least one save is done
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=delay)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
        loaded = Plan.load(d)
        assert any(same(loaded, make_plan(k)) for k in range(1, 6))


def test_parquet_over_csv_leaves_no_stale_csv(tmp_path):
    d = tmp_path / "p"
    make_plan(1).save(d, "csv")
    make_plan(2).save(d, "parquet")
    assert sorted(p.name for p in d.iterdir()) == ["capacity.parquet", "plan.json", "spend.parquet"]
    assert same(Plan.load(d), make_plan(2))


def test_round_trip_exact(tmp_path):
    make_plan(7).save(tmp_path / "p")
    assert same(Plan.load(tmp_path / "p"), make_plan(7))


@pytest.fixture
def saved(tmp_path) -> Path:
    d = tmp_path / "plan"
    make_plan(1).save(d)
    return d


def _load_error(d: Path) -> str:
    with pytest.raises(PlanError) as info:
        Plan.load(d)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_empty_plan_json(saved):
    (saved / "plan.json").write_text("")
    assert "plan.json: is empty" in _load_error(saved)


def test_truncated_plan_json(saved):
    text = (saved / "plan.json").read_text()
    (saved / "plan.json").write_text(text[: len(text) // 2])
    assert "not valid JSON" in _load_error(saved)


def test_missing_csv(saved):
    (saved / "capacity.csv").unlink()
    assert "capacity.csv: is missing" in _load_error(saved)


def test_truncated_csv_is_caught_by_checksum(saved):
    data = (saved / "capacity.csv").read_text()
    (saved / "capacity.csv").write_text(data[: len(data) - 20])
    assert "does not match its checksum" in _load_error(saved)


def test_csv_from_another_save_is_caught(saved, tmp_path):
    other = tmp_path / "other"
    make_plan(2).save(other)
    (saved / "capacity.csv").write_bytes((other / "capacity.csv").read_bytes())
    assert "does not match its checksum" in _load_error(saved)


def test_paths_must_stay_inside(saved, tmp_path):
    meta = json.loads((saved / "plan.json").read_text())
    meta["tables"] = ["capacity"]
    meta["files"] = {"capacity": {"file": "../../etc/passwd", "sha256": "x"}}
    (saved / "plan.json").write_text(json.dumps(meta))
    assert "not a plain file name" in _load_error(saved)
    meta["files"] = {"capacity": {"file": "capacity.csv", "sha256": "x"}}
    meta["tables"] = ["../../etc/passwd"]
    (saved / "plan.json").write_text(json.dumps(meta))
    assert "not a plain lowercase name" in _load_error(saved)


def test_symlinked_table_refused(saved, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    (saved / "capacity.csv").unlink()
    (saved / "capacity.csv").symlink_to(outside)
    assert "outside the plan directory" in _load_error(saved)


def test_nan_or_negative_rows_in_a_legacy_plan(saved):
    meta = json.loads((saved / "plan.json").read_text())
    del meta["files"]                              # a plan written before checksums
    (saved / "plan.json").write_text(json.dumps(meta))
    cap = pd.read_csv(saved / "capacity.csv")
    cap.loc[1, "accelerators"] = -5
    cap.to_csv(saved / "capacity.csv", index=False)
    assert "row 3: accelerators = -5" in _load_error(saved)
    cap.loc[1, "accelerators"] = float("nan")
    cap.to_csv(saved / "capacity.csv", index=False)
    assert "row 3: accelerators" in _load_error(saved)


def test_nan_in_plan_json_is_refused(saved):
    text = (saved / "plan.json").read_text().replace('"npv_usd": 1000000000.0', '"npv_usd": NaN')
    (saved / "plan.json").write_text(text)
    assert "not valid JSON" in _load_error(saved)


def test_missing_directory_and_file(tmp_path):
    assert "no such directory" in _load_error(tmp_path / "nope")
    f = tmp_path / "f"
    f.write_text("x")
    assert "is a file" in _load_error(f)


def test_target_checks(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(PlanError, match="is a file"):
        check_target(f)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("x")
    with pytest.raises(PlanError, match="is not a plan"):
        make_plan(1).save(busy)
    assert (busy / "thesis.tex").read_text() == "x"
    check_target(tmp_path / "new")          # a new directory is fine


def test_saving_over_a_symlinked_plan(tmp_path):
    real = tmp_path / "real"
    make_plan(1).save(real)
    link = tmp_path / "link"
    link.symlink_to(real)
    make_plan(2).save(link)
    assert same(Plan.load(link), make_plan(2))
    assert same(Plan.load(real), make_plan(1))      # the old target is left as it was


def test_first_save_killed_mid_manifest_leaves_no_plan_then_recovers(tmp_path):
    d = tmp_path / "first"
    probe = KillAt(None)
    _save(make_plan(1), tmp_path / "probe", "csv", probe)
    manifest_step = probe.count - 4          # ... write plan.json, sync, rename, sync
    with pytest.raises(Killed):
        _save(make_plan(1), d, "csv", KillAt(manifest_step))
    assert (Siblings.of(d).saving / "plan.json").exists()     # half a manifest on disk
    with pytest.raises(PlanError):
        Plan.load(d)
    _save(make_plan(2), d, "csv", FileSystem())
    assert same(Plan.load(d), make_plan(2))
