"""Planner at scale: model-build vs solve time, MIP gap, and growth from 8 to 64 quarters.

Scenario: 40 sites, 14 accelerators, 12 providers, 100 training runs, 8 inference
regions, generated from a seed. Baseline, same run: the same model with the textbook big-M for co-location
(serve <= demand x host) instead of gigawatt's tight per-location bounds
(serve <= min(demand, what the location can ever deliver) x host), solved by HiGHS
with the same gap and a time limit.

    python benchmarks/plan_scale.py            # 32 quarters + the 8..64 growth table
    python benchmarks/plan_scale.py --quick    # 8 and 16 quarters only
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from gigawatt.catalog import load_catalog
from gigawatt.periods import quarter_label
from gigawatt.plan import plan
from gigawatt.scenario import Scenario

START = 2025 * 4


def large_scenario(quarters: int, seed: int = 7, sites: int = 40, providers: int = 12,
                   runs: int = 100, regions: int = 8) -> Scenario:
    rng = np.random.default_rng(seed)
    cat = load_catalog()
    buyable = [a.id for a in cat.accelerators.values() if not a.rent_only]
    all_accs = list(cat.accelerators)
    cloud_providers = [f"cloud{i}" for i in range(providers - 1)]
    end = START + quarters - 1
    doc: dict[str, Any] = {
        "name": f"scale-{quarters}q",
        "horizon": {"start": quarter_label(START), "end": quarter_label(end)},
        "money": {"discount_rate": 0.08},
        "providers": [{"id": "self", "kind": "owned"}] + [{"id": p, "kind": "cloud"} for p in cloud_providers],
        "sites": [
            {"id": f"site{i:02d}", "provider": "self", "max_power_mw": float(rng.uniform(100, 2000)),
             "existing_mw": 0.0,
             "energisation": [{"from": quarter_label(START + int(rng.integers(0, 8))), "mw": float(rng.uniform(50, 2000))}],
             "electricity_usd_per_mwh": float(rng.uniform(50, 110)),
             "construction_lead_time_quarters": int(rng.integers(2, 9)),
             "accelerators": list(rng.choice(buyable, size=4, replace=False))}
            for i in range(sites)
        ],
        "cloud_offers": [
            {"id": f"offer{i:02d}", "provider": cloud_providers[i % len(cloud_providers)],
             "region": f"r{i % regions}", "accelerator": all_accs[i % len(all_accs)],
             "terms": [{"quarters": 1, "price_usd_per_accelerator_hour": float(rng.uniform(4, 12))},
                       {"quarters": 12, "price_usd_per_accelerator_hour": float(rng.uniform(2, 5))}],
             "max_accelerators": float(rng.uniform(20_000, 300_000))}
            for i in range(3 * len(all_accs))
        ],
        "chip_deals": [
            {"id": f"deal{i}", "vendor": "v", "accelerator": buyable[i],
             "units_per_quarter": float(rng.uniform(20_000, 150_000)),
             "start": quarter_label(START), "end": quarter_label(end)}
            for i in range(4)
        ],
        "demand": {
            "training": [],
            "inference": [
                {"id": f"region{r}", "start": quarter_label(START), "start_exaflops": float(rng.uniform(20, 200)),
                 "growth_per_year": float(rng.uniform(0.3, 1.0)), "utilization": 0.35}
                for r in range(regions)
            ],
        },
        "policy": {"max_provider_share": 0.5, "n_minus_1_alpha": 0.5, "mip_gap": 0.005, "time_limit_s": 300},
    }
    for r in range(runs):
        a = START + int(rng.integers(0, quarters - 1))
        b = min(end, a + int(rng.integers(1, 4)))
        doc["demand"]["training"].append({
            "id": f"run{r:03d}", "total_exaflop": float(rng.uniform(1e7, 3e9)), "start": quarter_label(a),
            "end": quarter_label(b), "mfu": 0.4, "min_colocated_accelerators": float(rng.choice([0, 20_000, 100_000])),
            "allowed_accelerators": list(rng.choice(all_accs, size=5, replace=False)),
        })
    return Scenario.model_validate(doc)


def run_plan(quarters: int) -> dict[str, Any]:
    """gigawatt's planner end to end: inputs, build, relax-and-round (B&B if needed), duals."""
    s = large_scenario(quarters)
    t0 = time.perf_counter()
    result = plan(s)
    total = time.perf_counter() - t0
    md = result.metadata
    return {"quarters": quarters, "total_s": total, "build_s": md["build_seconds"], "solve_s": md["solve_seconds"],
            "gap": md["mip_gap"], "method": md["placement_method"], "objective": result.npv_usd,
            "objective_usd": result.objective_usd,
            "vars": md["variables"], "cons": md["constraints"], "binaries": md["binaries"]}


def run_baseline(quarters: int) -> dict[str, Any]:
    """Baseline: the same pipeline with the textbook big-M for co-location (serve <= a run's whole
    work x host) instead of the tight per-location bound."""
    from gigawatt.plan import constraints

    def loose_bounds(p: Any) -> dict[str, Any]:
        runs = p.run.rename("demand")
        window = p.demand_ef.sel(demand=runs).rename(demand="run") > 0
        work = (p.training_work.sel(demand=runs).rename(demand="run") * window).where(window, 0.0)
        # the same M at every location of each kind
        return {kind: work.expand_dims({kind: locations}).transpose("run", kind, "period")
                for kind, locations in (("site", p.site), ("offer", p.offer), ("contract", p.contract))}

    tight = constraints.host_serve_bounds
    constraints.host_serve_bounds = loose_bounds
    try:
        return run_plan(quarters)
    finally:
        constraints.host_serve_bounds = tight


def median_of(fn: Any, quarters: int, repeats: int) -> dict[str, Any]:
    runs = [fn(quarters) for _ in range(repeats)]
    runs.sort(key=lambda r: r["total_s"])
    return runs[len(runs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="8 and 16 quarters only")
    ap.add_argument("--sizes", type=int, nargs="*", help="quarters to run (default 8 16 32 64)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size; the median is reported")
    args = ap.parse_args()
    sizes = args.sizes or ([8, 16] if args.quick else [8, 16, 32, 64])
    print("40 sites, 14 accelerators, 12 providers, 100 runs, 8 regions; median of "
          f"{args.repeats} runs each; baseline = same pipeline, textbook big-M co-location")
    print("quarters  vars     binaries  build_s  solve_s  total_s  gap      method            build/total  "
          "baseline_s  baseline_gap  baseline/gigawatt  same_optimum")
    plan(large_scenario(4))      # untimed: the first run in a process also pays imports and caches
    for q in sizes:
        r = median_of(run_plan, q, args.repeats)
        b = median_of(run_baseline, q, args.repeats)
        print(f"{q:8d}  {r['vars']:7d}  {r['binaries']:8d}  {r['build_s']:7.2f}  {r['solve_s']:7.2f}  "
              f"{r['total_s']:7.2f}  {r['gap']:6.3%}  {r['method']:16s}  {r['build_s'] / r['total_s']:11.1%}  "
              f"{b['total_s']:10.2f}  {b['gap']:12.3%}  {b['total_s'] / r['total_s']:17.2f}x  "
              f"{same_optimum(r, b)}", flush=True)


def same_optimum(r: dict[str, Any], b: dict[str, Any]) -> str:
    """Both solve the same problem: their objectives must agree within the two gaps, else the
    comparison is void (a baseline that misses every run is fast and wrong)."""
    diff = abs(r["objective_usd"] - b["objective_usd"]) / max(abs(r["objective_usd"]), 1.0)
    return "yes" if diff <= r["gap"] + b["gap"] + 1e-6 else f"NO ({diff:.2%} apart)"


if __name__ == "__main__":
    main()
