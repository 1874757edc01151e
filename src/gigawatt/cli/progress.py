"""Show long work as it happens: phases, and HiGHS's MIP gap read from its log."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.status import Status

# A HiGHS branch-and-bound line: source, nodes, queue, leaves, explored %, bound, best, gap, ...
_BNB_LINE = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+\S+\s+\S+\s+(\S+)")


def last_gap(log_text: str) -> str | None:
    """The MIP gap on HiGHS's latest branch-and-bound line, if any ("Large" before a bound)."""
    for line in reversed(log_text.splitlines()):
        m = _BNB_LINE.match(line)
        if m:
            return m.group(1)
    return None


class SolveProgress:
    """A rich status line fed by plan()'s progress callback and by tailing the HiGHS log."""

    def __init__(self, console: Console, log_file: Path, enabled: bool = True) -> None:
        self.console = console
        self.log_file = log_file
        self.enabled = enabled
        self.phase = "starting"
        self.started = time.perf_counter()
        self._status: Status | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tail, daemon=True)

    def __enter__(self) -> SolveProgress:
        if self.enabled:
            self._status = self.console.status("planning: starting")
            self._status.__enter__()
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._status is not None:
            self._status.__exit__(*exc)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        words = {
            "inputs": "reading scenario and catalog",
            "build": "building the model",
            "solve": "solving with HiGHS ({variables:,} variables, {constraints:,} constraints, {binaries:,} binary)",
            "placed": "co-located runs placed (MIP gap {mip_gap:.3%}); re-solving the LP with placements fixed for prices",
            "results": "writing results",
        }
        self.phase = words.get(phase, phase).format(**info)
        if self.enabled:
            self.console.log(self.phase)
        self._update("")

    def _update(self, extra: str) -> None:
        if self._status is not None:
            elapsed = time.perf_counter() - self.started
            self._status.update(f"planning: {self.phase} {extra} [{elapsed:.0f}s]")

    def _tail(self) -> None:
        while not self._stop.wait(0.5):
            try:
                gap = last_gap(self.log_file.read_text(errors="replace")[-4000:])
            except OSError:
                gap = None
            self._update(f"- MIP gap {gap}" if gap and self.phase.startswith("solving") else "")
