"""Mutation check: plant one deliberate bug at a time and see whether the tests notice.

For every mutable spot in the given source files (a comparison flipped, ``*`` made ``/``,
``+`` made ``-``, a term of a sum dropped, an integer constant moved by one, ``and``/``or``
swapped, ``True``/``False`` swapped, a ``not`` removed, one item dropped from a literal
tuple/list/set of constants), the script writes the mutant, runs the chosen pytest
selection with ``-x`` under a timeout, and restores the file. A mutant is *killed* when the
tests fail (or time out), *survived* when they pass. Score = killed / (killed + survived).

    python benchmarks/mutation_check.py src/gigawatt/economics \\
        --tests tests/test_quote.py tests/test_deals.py tests/test_catalog.py tests/test_hardware_prices.py
    python benchmarks/mutation_check.py src/gigawatt/plan/inputs.py --tests tests/test_plan_hand.py \\
        --timeout 120 --json /tmp/mutants.json

Baseline: the same tests on the unmutated code (must pass; its time is printed so the cost
of a run is known). Lines carrying ``# pragma: no mutate`` are skipped. The source file is
restored after each mutant, also on Ctrl-C; a copy is kept next to it as ``*.mutation-backup``
while a mutant is live, and found and restored on the next start if the run was killed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

COMPARE_SWAPS = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "=="}
COMPARE_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
BINOP_SWAPS = {ast.Mult: ("*", "/"), ast.Div: ("/", "*"), ast.Add: ("+", "-"), ast.Sub: ("-", "+"),
               ast.Pow: ("**", "*")}
BOOL_SWAPS = {ast.And: ("and", "or"), ast.Or: ("or", "and")}


@dataclass(frozen=True)
class Mutant:
    path: str
    line: int
    kind: str
    start: int          # character offsets into the file's text
    end: int
    original: str
    replacement: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end:]

    def label(self) -> str:
        return f"{self.path}:{self.line} {self.kind}: {self.original!r} -> {self.replacement!r}"


@dataclass
class Outcome:
    mutant: Mutant
    status: str          # killed | survived | timeout | invalid
    seconds: float


class _Offsets:
    """ast positions (line, UTF-8 byte column) to character offsets in the text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for ln in self.lines:
            self.starts.append(self.starts[-1] + len(ln))

    def at(self, line: int, byte_col: int) -> int:
        raw = self.lines[line - 1].encode("utf-8")[:byte_col]
        return self.starts[line - 1] + len(raw.decode("utf-8", errors="ignore"))


def _operator_span(text: str, after: int, before: int, symbol: str) -> int | None:
    """Offset of `symbol` between two operands (skipping brackets, spaces and comments)."""
    segment = text[after:before]
    i = 0
    while i < len(segment):
        if segment[i] == "#":
            nl = segment.find("\n", i)
            i = len(segment) if nl < 0 else nl
            continue
        if segment.startswith(symbol, i) and not (symbol == "*" and segment.startswith("**", i)):
            return after + i
        i += 1
    return None


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """Annotations, and f-strings (whose inner positions Python 3.11 does not report exactly)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            ids |= {id(n) for n in ast.walk(node)}
        anns = []
        if isinstance(node, ast.AnnAssign) or (isinstance(node, ast.arg) and node.annotation is not None):
            anns.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            anns.append(node.returns)
        for a in anns:
            ids |= {id(n) for n in ast.walk(a)}
    return ids


def find_mutants(path: Path, root: Path) -> list[Mutant]:
    """Every single-spot mutant of the file at `path`."""
    text = path.read_text("utf-8")
    tree = ast.parse(text)
    off = _Offsets(text)
    skip = _docstring_nodes(tree) | _annotation_nodes(tree)
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    quiet = {i + 1 for i, ln in enumerate(off.lines) if "pragma: no mutate" in ln}
    out: list[Mutant] = []

    def start(n: ast.AST) -> int:
        return off.at(n.lineno, n.col_offset)  # type: ignore[attr-defined]

    def end(n: ast.AST) -> int:
        return off.at(n.end_lineno, n.end_col_offset)  # type: ignore[attr-defined]

    def add(node: ast.AST, kind: str, a: int, b: int, new: str) -> None:
        line = node.lineno  # type: ignore[attr-defined]
        if line not in quiet:
            out.append(Mutant(rel, line, kind, a, b, text[a:b], new))

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                sym = COMPARE_TEXT.get(type(op))
                if sym is not None:
                    at = _operator_span(text, end(left), start(right), sym)
                    if at is not None:
                        add(node, "compare", at, at + len(sym), COMPARE_SWAPS[type(op)])
                left = right
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            sym, new = BINOP_SWAPS[type(node.op)]
            at = _operator_span(text, end(node.left), start(node.right), sym)
            if at is not None:
                add(node, "arith", at, at + len(sym), new)
            if isinstance(node.op, ast.Add | ast.Sub):  # drop the right-hand term
                add(node, "drop-term", start(node), end(node), text[start(node.left):end(node.left)])
        elif isinstance(node, ast.BoolOp) and type(node.op) in BOOL_SWAPS:
            sym, new = BOOL_SWAPS[type(node.op)]
            for left, right in zip(node.values, node.values[1:], strict=False):
                at = _operator_span(text, end(left), start(right), sym)
                if at is not None:
                    add(node, "boolean", at, at + len(sym), new)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, "negate", start(node), end(node), text[start(node.operand):end(node.operand)])
        elif (isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) >= 2
              and all(isinstance(e, ast.Constant) for e in node.elts)):
            for i, e in enumerate(node.elts):  # drop one item of a literal collection
                rest = [text[start(x):end(x)] for j, x in enumerate(node.elts) if j != i]
                body = ", ".join(rest) + ("," if isinstance(node, ast.Tuple) and len(rest) == 1 else "")
                a, b = start(node), end(node)
                opener, closer = text[a], text[b - 1]
                new = f"{opener}{body}{closer}" if opener in "([{" else body
                add(e, "drop-item", a, b, new)
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            add(node, "boolean", start(node), end(node), str(not node.value))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            a, b = start(node), end(node)
            add(node, "int+1", a, b, str(node.value + 1))
            add(node, "int-1", a, b, str(node.value - 1))
    out.sort(key=lambda m: (m.path, m.start, m.kind))
    return out


def _clear_pyc(path: Path) -> None:
    cache = path.parent / "__pycache__"
    if cache.is_dir():
        for pyc in cache.glob(f"{path.stem}.*.pyc"):
            pyc.unlink(missing_ok=True)


def run_tests(tests: list[str], timeout: float, cwd: Path) -> tuple[str, float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "--no-header", "-p", "no:cacheprovider", *tests]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0
    return ("survived" if r.returncode == 0 else "killed"), time.perf_counter() - t0


def _backup(path: Path) -> Path:
    return path.with_name(path.name + ".mutation-backup")


def restore_leftovers(files: list[Path]) -> list[Path]:
    restored = []
    for f in files:
        b = _backup(f)
        if b.exists():
            shutil.move(b, f)
            restored.append(f)
    return restored


def check(mutant: Mutant, root: Path, tests: list[str], timeout: float) -> Outcome:
    path = root / mutant.path
    original = path.read_text("utf-8")
    mutated = mutant.apply(original)
    try:
        compile(mutated, str(path), "exec")
    except SyntaxError:
        return Outcome(mutant, "invalid", 0.0)
    shutil.copy2(path, _backup(path))
    try:
        path.write_text(mutated, "utf-8")
        _clear_pyc(path)
        status, seconds = run_tests(tests, timeout, root)
    finally:
        path.write_text(original, "utf-8")
        _backup(path).unlink(missing_ok=True)
        _clear_pyc(path)
    return Outcome(mutant, status, seconds)


def score(outcomes: list[Outcome]) -> tuple[int, int, float]:
    killed = sum(o.status in ("killed", "timeout") for o in outcomes)
    survived = sum(o.status == "survived" for o in outcomes)
    return killed, survived, killed / (killed + survived) if killed + survived else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="source files or folders to mutate (.py)")
    ap.add_argument("--tests", nargs="+", required=True, help="pytest selection (files, node ids, -k ...)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per test run (default: 5 x the baseline run, at least 30)")
    ap.add_argument("--kinds", nargs="*", default=None,
                    help="only these mutation kinds (compare arith drop-term boolean negate drop-item int+1 int-1)")
    ap.add_argument("--limit", type=int, default=None, help="stop after this many mutants")
    ap.add_argument("--sample", type=int, default=None,
                    help="a random sample of this many mutants over all files (seeded: --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="write every outcome here")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)
    console = Console()
    root = Path.cwd()
    files = sorted({f for p in map(Path, args.paths)
                    for f in ([p] if p.is_file() else p.rglob("*.py")) if f.suffix == ".py"})
    for f in restore_leftovers(files):
        console.print(f"[yellow]restored {f} from a backup left by an interrupted run[/]")
    mutants = [m for f in files for m in find_mutants(f.resolve(), root)]
    if args.kinds:
        mutants = [m for m in mutants if m.kind in args.kinds]
    if args.sample and args.sample < len(mutants):
        import random

        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.path, m.start))
    if args.limit:
        mutants = mutants[: args.limit]
    if args.list:
        for m in mutants:
            console.print(m.label(), markup=False, highlight=False)
        return 0
    baseline, base_s = run_tests(args.tests, 3600, root)
    if baseline != "survived":
        console.print(f"[red]the tests fail on the unmutated code ({baseline}); fix them first[/]")
        return 2
    timeout = args.timeout or max(30.0, 5 * base_s)
    console.print(f"{len(mutants)} mutants in {len(files)} files; baseline test run {base_s:.1f} s, "
                  f"timeout {timeout:.0f} s")
    outcomes: list[Outcome] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("mutants", total=len(mutants))
        for m in mutants:
            outcomes.append(check(m, root, args.tests, timeout))
            k, s, _ = score(outcomes)
            bar.update(task, advance=1, description=f"killed {k} survived {s}")
    table = Table("survived", title="Mutants the tests did not notice")
    for o in outcomes:
        if o.status == "survived":
            table.add_row(o.mutant.label())
    console.print(table)
    killed, survived, ratio = score(outcomes)
    invalid = sum(o.status == "invalid" for o in outcomes)
    timeouts = sum(o.status == "timeout" for o in outcomes)
    console.print(f"mutation score {ratio:.1%}: {killed} killed ({timeouts} by timeout), {survived} survived, "
                  f"{invalid} not valid Python (skipped)")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(o.mutant), "status": o.status, "seconds": o.seconds}
                                         for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
