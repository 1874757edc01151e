"""Run many `gigawatt` command lines quickly, each in its own limited process.

`run_many` starts one Python process that imports gigawatt once and then forks a child per
command line; each child gets a memory limit (RLIMIT_AS) and a CPU-time limit (RLIMIT_CPU),
runs `gigawatt.cli.main(argv)` with stdout and stderr in files, and is killed if it
outlives the wall-clock limit. Forking after the imports makes a case cost milliseconds of
start-up instead of the second a fresh interpreter needs, so a corpus of a hundred hostile
inputs runs in seconds. `run_one` does the same for a single command in a fresh
`python -m gigawatt` (limits set in preexec_fn), for the entry point itself.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MEMORY_BYTES = 3 * 1024**3
WALL_S = 60.0


@dataclass
class Outcome:
    argv: list[str]
    returncode: int          # -9: killed for running past the wall-clock limit
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode in (-signal.SIGKILL, -signal.SIGXCPU)


def _limit(memory_bytes: int, cpu_s: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    cpu = int(cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def run_one(*argv: str, wall_s: float = WALL_S, memory_bytes: int = MEMORY_BYTES,
            cwd: Path | None = None) -> Outcome:
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-m", "gigawatt", *argv], capture_output=True, text=True,
                           timeout=wall_s, cwd=cwd, preexec_fn=lambda: _limit(memory_bytes, wall_s))
        code, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -signal.SIGKILL, str(exc.stdout or ""), str(exc.stderr or "")
    return Outcome(list(argv), code, out, err, time.perf_counter() - t0)


def run_many(cases: list[list[str]], wall_s: float = WALL_S, memory_bytes: int = MEMORY_BYTES,
             cwd: Path | None = None) -> list[Outcome]:
    """Each argv in `cases` run as `gigawatt ARGV` in its own forked, limited process."""
    request = json.dumps({"cases": cases, "wall_s": wall_s, "memory_bytes": memory_bytes})
    r = subprocess.run([sys.executable, __file__], input=request, capture_output=True, text=True,
                       timeout=wall_s * len(cases) + 120, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError(f"sandbox driver failed: {r.stderr[-2000:]}")
    return [Outcome(**o) for o in json.loads(r.stdout)]


def _driver() -> None:
    request = json.loads(sys.stdin.read())
    # import everything a command may need once, before forking
    import gigawatt.cli
    import gigawatt.cli.app
    import gigawatt.plan
    import gigawatt.plan.store
    import gigawatt.report.plan_report
    import gigawatt.report.sim_report
    import gigawatt.scenario
    import gigawatt.sim
    import gigawatt.sim.traces  # noqa: F401
    from gigawatt.catalog import load_catalog

    load_catalog()            # parsed once here, shared by every child
    gc.collect()
    gc.freeze()               # children do not touch (and so copy) the shared heap to collect it

    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, argv in enumerate(request["cases"]):
            out_path, err_path = Path(tmp, f"{i}.out"), Path(tmp, f"{i}.err")
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    _limit(request["memory_bytes"], request["wall_s"])
                    with open(out_path, "w") as out, open(err_path, "w") as err:
                        os.dup2(out.fileno(), 1)
                        os.dup2(err.fileno(), 2)
                        sys.stdout = os.fdopen(1, "w", closefd=False)
                        sys.stderr = os.fdopen(2, "w", closefd=False)
                        try:
                            gigawatt.cli.main(argv)
                            code = 0
                        except SystemExit as exc:
                            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                        finally:
                            sys.stdout.flush()
                            sys.stderr.flush()
                except BaseException:  # noqa: BLE001 - the child must never return into the driver
                    import traceback

                    with open(err_path, "a") as err:
                        traceback.print_exc(file=err)
                    code = 1
                os._exit(code)
            code = _wait(pid, request["wall_s"])
            outcomes.append({"argv": argv, "returncode": code, "stdout": out_path.read_text(errors="replace"),
                             "stderr": err_path.read_text(errors="replace"),
                             "seconds": time.perf_counter() - t0})
    print(json.dumps(outcomes))


def _wait(pid: int, wall_s: float) -> int:
    deadline = time.monotonic() + wall_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -signal.SIGKILL
        time.sleep(0.01)


if __name__ == "__main__":
    _driver()
