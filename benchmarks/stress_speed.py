"""Stress speed: samples per second re-solving one live HiGHS model in place.

Scenario: examples/openai-2025.yaml against its own plan (planned here first), 1,000
Latin-hypercube futures. Baseline, same run: rebuilding the linopy model from the sampled
inputs and solving it from scratch, per sample, on a subset (median per sample).
Also printed: how the in-place time splits (sampling, update, solve, extraction), and
with --scale the plan_scale.py 32-quarter model (about 95,000 variables) with generic
uncertainty.

    python benchmarks/stress_speed.py                   # 1,000 samples, serial
    python benchmarks/stress_speed.py --samples 200 --executor processes --workers 2
    python benchmarks/stress_speed.py --scale --scale-samples 200
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from gigawatt.plan import plan as make_plan
from gigawatt.scenario import Scenario, load_scenario
from gigawatt.scenario.sample import draw
from gigawatt.scenario.uncertainty import Uncertainty
from gigawatt.stress import stress
from gigawatt.stress.evaluate import RebuildEvaluator
from gigawatt.stress.first_stage import first_stage

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "openai-2025.yaml"


def measure(scenario: Scenario, samples: int, baseline_n: int, executor: str, workers: int | None) -> dict[str, Any]:
    t = time.perf_counter()
    plan = make_plan(scenario)
    t_plan = time.perf_counter() - t
    t = time.perf_counter()
    result = stress(scenario, plan, samples=samples, seed=0, executor=executor, workers=workers, with_tornado=False)
    total = time.perf_counter() - t
    fs = first_stage(scenario, plan)
    drawn = draw(scenario.uncertainty or Uncertainty(), scenario.horizon.start, samples, 0)
    rebuild = RebuildEvaluator(scenario, fs)
    per = []
    for i in range(min(baseline_n, samples)):
        t = time.perf_counter()
        rebuild.objective(drawn.sample(i))
        per.append(time.perf_counter() - t)
    return {"plan_s": t_plan, "total_s": total, "samples": samples, "timings": result.timings,
            "baseline_per_sample_s": statistics.median(per), "baseline_n": len(per),
            "cost": result.summary["cost_usd"]}


def show(name: str, r: dict[str, Any]) -> None:
    n = r["samples"]
    rate = n / r["total_s"]
    base = r["baseline_per_sample_s"]
    t = r["timings"]
    print(f"\n{name}: {n} samples in {r['total_s']:.1f} s (incl. model build and tornado-free summary) "
          f"= {rate:.1f} samples/s, {1000 * r['total_s'] / n:.1f} ms per sample (plan itself: {r['plan_s']:.1f} s)")
    print(f"  baseline, rebuild + solve per sample (median of {r['baseline_n']}): {1000 * base:.0f} ms "
          f"-> in place is {base * n / r['total_s']:.1f}x faster")
    done = max(t["samples"], 1)
    print("  time split per sample (worker CPU): " + ", ".join(
        f"{k} {1000 * t[k] / (done if k != 'sampling' else 1):.2f} ms" + (" total" if k == "sampling" else "")
        for k in ("sampling", "update", "solve", "extraction")))
    print(f"  NPV of spend: P10 {r['cost']['p10']:.4g}, P50 {r['cost']['p50']:.4g}, P90 {r['cost']['p90']:.4g} USD")


def scale_scenario() -> Scenario:
    sys.path.insert(0, str(Path(__file__).parent))
    from plan_scale import large_scenario

    base = large_scenario(32)
    sites = [s.id for s in base.sites[:10]]
    unc = Uncertainty.model_validate({
        "demand": [{"demand": "all", "multiplier": {"kind": "triangular", "low": 0.7, "mode": 1.0, "high": 1.4}}],
        "sites": [{"site": s, "construction_delay_quarters": {"kind": "catalog", "id": "us_datacenter_delay_2026"}}
                  for s in sites],
        "prices": {"cloud_multiplier": {"kind": "uniform", "low": 0.8, "high": 1.2}},
    })
    return base.model_copy(update={"uncertainty": unc})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--baseline", type=int, default=5, help="samples rebuilt from scratch for the baseline")
    ap.add_argument("--executor", default="serial")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scale", action="store_true", help="also run the plan_scale 32-quarter model")
    ap.add_argument("--scale-samples", type=int, default=200)
    a = ap.parse_args()
    show(f"openai-2025 ({a.executor})", measure(load_scenario(EXAMPLE), a.samples, a.baseline, a.executor, a.workers))
    if a.scale:
        show(f"plan_scale 32 quarters ({a.executor})",
             measure(scale_scenario(), a.scale_samples, max(2, a.baseline // 2), a.executor, a.workers))


if __name__ == "__main__":
    main()
