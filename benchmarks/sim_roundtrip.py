"""Round-trip speed: a saved plan's horizon through the simulator, quarter by quarter.

Plans `examples/openai-2025.yaml` (or `--scenario`), then simulates the plan's whole horizon
with failures at the catalog's rate (the compiled core when built). Baselines, measured in the
same run: the same round trip on the Python core (identical result), and with node identity
(every gang placed on numbered nodes, as `simulate --period` does, Python core) over the first
`--baseline-quarters` quarters, against the round trip's own time on those quarters.

    python benchmarks/sim_roundtrip.py                 # median of 3 full round trips
    python benchmarks/sim_roundtrip.py --repeat 1 --json
    python benchmarks/sim_roundtrip.py --repeat 1 --failover-after 6 --outages-per-year 2

With `--failover-after H`, the same plan is also operated with random whole-provider outages
(`--outages-per-year` per provider, `--outage-hours` mean length) and failover after H hours
(`--transfer-hours` to move a checkpoint): its time (two passes: with failover and, to say which
runs it saved, without), moves and saved runs.
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
from gigawatt.scenario.model import RandomOutages
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
    ap.add_argument("--failover-after", type=float, default=None, help="hours (default: no failover case)")
    ap.add_argument("--transfer-hours", type=float, default=1.0)
    ap.add_argument("--outages-per-year", type=float, default=2.0)
    ap.add_argument("--outage-hours", type=float, default=48.0)
    a = ap.parse_args()
    s = load_scenario(a.scenario)
    plan, plan_s = timed(lambda: make_plan(s))
    failures = failures_from_scenario(s)
    runs = [timed(lambda: round_trip(s, plan, failures, seed=0)) for _ in range(a.repeat)]
    rt, full_s = runs[0][0], statistics.median(t for _, t in runs)
    py_runs = [timed(lambda: round_trip(s, plan, failures, seed=0, core="python")) for _ in range(a.repeat)]
    py_s = statistics.median(t for _, t in py_runs)
    assert py_runs[0][0].runs.equals(rt.runs), "the two cores disagree"
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
        "python_core_round_trip_s": py_s, "speedup_vs_python_core": py_s / full_s,
        "baseline": f"node identity, first {a.baseline_quarters} quarters",
        "baseline_s": nodes_s, "same_quarters_s": pooled_s, "speedup_vs_baseline": nodes_s / pooled_s,
    }
    if a.failover_after is not None:
        ops = s.operations.model_copy(update={"random_outages": RandomOutages(
            rate_per_provider_year=a.outages_per_year, mean_duration_hours=a.outage_hours)})
        shaky = s.model_copy(update={"operations": ops})
        fo, fo_s = timed(lambda: round_trip(shaky, plan, failures, seed=0, failover_after_s=a.failover_after * 3600,
                                            transfer_s=a.transfer_hours * 3600))
        out["failover"] = {"outages_per_provider_year": a.outages_per_year, "outage_hours": a.outage_hours,
                           "failover_after_h": a.failover_after, "transfer_h": a.transfer_hours,
                           "round_trip_s_two_passes": fo_s, "moves": fo.summary["failovers"],
                           "saved_by_failover": fo.summary["saved_by_failover"], "late_runs": fo.late_runs(),
                           "runs": fo.runs[["run", "status", "status_without_failover", "failovers",
                                            "ran_at"]].to_dict(orient="records")}
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{s.name}: plan {plan_s:.1f} s; round trip of {out['quarters']} quarters {full_s:.1f} s "
          f"(median of {a.repeat}), {out['events']:,} events ({out['failures']:,} failures), "
          f"{out['events_per_s']:,.0f} events/s; late runs: {', '.join(out['late_runs']) or 'none'}")
    print(f"baseline (the Python core, same round trip): {py_s:.1f} s -> {out['speedup_vs_python_core']:.1f}x")
    print(f"baseline ({out['baseline']}): {nodes_s:.1f} s vs {pooled_s:.1f} s -> "
          f"{out['speedup_vs_baseline']:.1f}x")
    if "failover" in out:
        f = out["failover"]
        print(f"with {f['outages_per_provider_year']:g} outages per provider-year ({f['outage_hours']:g} h mean) and "
              f"failover after {f['failover_after_h']:g} h: {f['round_trip_s_two_passes']:.1f} s for both passes, "
              f"{f['moves']} moves; saved by failover: {', '.join(f['saved_by_failover']) or 'none'}; "
              f"late: {', '.join(f['late_runs']) or 'none'}")
        for r in f["runs"]:
            print(f"  {r['run']}: {r['status']} (without failover: {r['status_without_failover']}), "
                  f"{r['failovers']} moves, ran at {r['ran_at']}")


if __name__ == "__main__":
    main()
