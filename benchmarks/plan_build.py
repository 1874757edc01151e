"""Model build: the planner's build (plan/terms.py) against the plain linopy-operator formulation.

Per case, the median of `--repeats` builds (in this process, after one warm-up build each) of
the same LP two ways: gigawatt's (`plan.build.build_model`, `plan.stochastic.build_extensive_form`:
every family assembled in one step from labelled arrays) and the baseline, measured in the same
run: the same families written plainly with linopy's operators (benchmarks/plain_formulation.py,
as the planner first wrote them; tests/test_plan_build_equivalence.py checks both make the same
LP). The extensive forms' times include stacking the futures' inputs; the inputs themselves
(build_inputs) are built once, outside the timing.

    python benchmarks/plan_build.py           # openai-2025, 10 and 50 futures, 32 quarters
    python benchmarks/plan_build.py --cases det f10 --repeats 9
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from plain_formulation import build_plain_extensive_form, build_plain_model  # noqa: E402

from gigawatt.hedging.evaluate import futures_inputs  # noqa: E402
from gigawatt.plan.build import build_model  # noqa: E402
from gigawatt.plan.inputs import build_inputs  # noqa: E402
from gigawatt.plan.stochastic import (  # noqa: E402
    build_extensive_form,
    decision_quarter,
    futures_of,
    stack_inputs,
)
from gigawatt.scenario import load_scenario  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "openai-2025.yaml"


def builders(case: str) -> tuple[str, Callable[[], Any], Callable[[], Any]]:
    """(description, gigawatt's build, the plain build) of one case: det, f<N> or q<quarters>."""
    if case == "det":
        p = build_inputs(load_scenario(EXAMPLE))
        return "openai-2025", lambda: build_model(p)[0], lambda: build_plain_model(p)
    if case.startswith("f"):
        n = int(case[1:])
        s = load_scenario(EXAMPLE)
        futures, prob = futures_of(s, n, 0)
        inputs = futures_inputs(s, futures)
        q = decision_quarter(s)
        return (
            f"openai-2025, {n} futures",
            lambda: build_extensive_form(stack_inputs(inputs), prob, q).m,
            lambda: build_plain_extensive_form(stack_inputs(inputs), prob, q),
        )
    if case.startswith("q"):
        from plan_scale import large_scenario

        quarters = int(case[1:])
        p = build_inputs(large_scenario(quarters))
        return (
            f"plan_scale {quarters} quarters",
            lambda: build_model(p)[0],
            lambda: build_plain_model(p),
        )
    raise SystemExit(f"unknown case {case!r}: det, f<futures> (f10) or q<quarters> (q32)")


def median_seconds(build: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    model = build()  # warm-up: first calls pay imports and caches
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model = build()
        times.append(time.perf_counter() - t)
    return statistics.median(times), model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["det", "f10", "f50", "q32"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(
        f"median of {args.repeats} builds; baseline: the plain linopy-operator formulation, same run"
    )
    print(
        f"{'case':<28} {'variables':>10} {'rows':>8} {'gigawatt s':>11} {'plain s':>8} {'speed-up':>9}"
    )
    for case in args.cases:
        name, fast, plain = builders(case)
        fast_s, m = median_seconds(fast, args.repeats)
        plain_s, _ = median_seconds(plain, args.repeats)
        print(
            f"{name:<28} {m.nvars:>10,} {m.ncons:>8,} {fast_s:>11.3f} {plain_s:>8.3f} {plain_s / fast_s:>8.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
