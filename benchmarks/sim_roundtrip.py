"""Round-trip speed: a saved plan's horizon through the simulator, quarter by quarter.

Plans `examples/openai-2025.yaml` (or `--scenario`), then simulates the plan's whole horizon
with failures at the catalog's rate. Baseline, measured in the same run: the same round trip
with node identity (every gang placed on numbered nodes, as `simulate --period` does) over the
first `--baseline-quarters` quarters, against the round trip's own time on those quarters.

    python benchmarks/sim_roundtrip.py                 # median of 3 full round trips
    python benchmarks/sim_roundtrip.py --repeat 1 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from unittest import mock

from gigawatt.periods import SECONDS_PER_QUARTER
from gigawatt.plan import plan as make_plan
from gigawatt.scenario.load import load_scenario
from gigawatt.sim import fleet as fleet_module
from gigawatt.sim.from_scenario import failures_from_scenario
from gigawatt.sim.roundtrip import round_trip

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "openai-2025.yaml"


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(EXAMPLE))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-quarters", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    s = load_scenario(a.scenario)
    plan, plan_s = timed(lambda: make_plan(s))
    failures = failures_from_scenario(s)
    runs = [timed(lambda: round_trip(s, plan, failures, seed=0)) for _ in range(a.repeat)]
    rt, full_s = runs[0][0], statistics.median(t for _, t in runs)
    until = a.baseline_quarters * SECONDS_PER_QUARTER
    _, pooled_s = timed(lambda: round_trip(s, plan, failures, seed=0, until_s=until))

    def with_nodes() -> object:
        real = fleet_module.Pool.__init__

        def numbered(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            kwargs.update(node_identity=True, pooled=False)
            real(self, *args, **kwargs)

        with mock.patch.object(fleet_module.Pool, "__init__", numbered):
            return round_trip(s, plan, failures, seed=0, until_s=until)

    _, nodes_s = timed(with_nodes)
    out = {
        "scenario": s.name, "quarters": rt.summary["quarters"], "plan_s": plan_s, "round_trip_s": full_s,
        "events": rt.summary["events"], "failures": rt.summary["failures"],
        "events_per_s": rt.summary["events"] / full_s, "late_runs": rt.late_runs(),
        "baseline": f"node identity, first {a.baseline_quarters} quarters",
        "baseline_s": nodes_s, "same_quarters_s": pooled_s, "speedup_vs_baseline": nodes_s / pooled_s,
    }
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{s.name}: plan {plan_s:.1f} s; round trip of {out['quarters']} quarters {full_s:.1f} s "
          f"(median of {a.repeat}), {out['events']:,} events ({out['failures']:,} failures), "
          f"{out['events_per_s']:,.0f} events/s; late runs: {', '.join(out['late_runs']) or 'none'}")
    print(f"baseline ({out['baseline']}): {nodes_s:.1f} s vs {pooled_s:.1f} s -> "
          f"{out['speedup_vs_baseline']:.1f}x")


if __name__ == "__main__":
    main()
