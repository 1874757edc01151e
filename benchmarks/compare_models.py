"""Do two checkouts build the same LP? A one-off check for build changes (not part of the suite).

Builds each case with each checkout's `src` (a fresh process per checkout and case) and compares
the models as sets: every variable by name and coordinates with its bounds and type, every
constraint row by name and coordinates with its sign, right-hand side and variable -> coefficient
map (zero coefficients dropped, repeats summed), whether the row has any variable at all (so it
is in the matrix), each family's dimensions, and the objective. Row and term order may differ;
coefficients must agree to 1e-12 relative.

    git worktree add /tmp/main main     # or any other checkout
    python benchmarks/compare_models.py --before /tmp/main --after . --cases det neocloud f10 q16
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _keys(a: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each entry's labels and a key naming its coordinates (dimensions sorted by name)."""
    dims = sorted(a.dims)
    a = a.transpose(*dims)
    keys = np.full(a.shape, "", dtype=object)
    if dims:
        grid = np.meshgrid(*[np.asarray(a.indexes[d]).astype(str) for d in dims], indexing="ij")
        for d, g in zip(dims, grid, strict=True):
            keys = keys + f"{d}=" + g.astype(object) + ","
    return a.values, keys


def canonical(m: Any) -> dict[str, Any]:
    name_of = np.full(m._xCounter, None, dtype=object)
    variables = {}
    for name in m.variables:
        v = m.variables[name]
        labels, keys = _keys(v.labels)
        dims = sorted(v.labels.dims)
        lower = v.lower.broadcast_like(v.labels).transpose(*dims).values
        upper = v.upper.broadcast_like(v.labels).transpose(*dims).values
        ok = labels >= 0
        name_of[labels[ok]] = [f"{name}[{k}]" for k in keys[ok]]
        variables[name] = (
            tuple(v.dims),
            name in m.binaries,
            {
                k: (float(lo), float(up))
                for k, lo, up in zip(keys[ok], lower[ok], upper[ok], strict=True)
            },
        )
    constraints = {}
    for name in m.constraints:
        c = m.constraints[name]
        labels, keys = _keys(c.labels)
        dims = sorted(c.labels.dims)
        vars_ = c.vars.transpose(*dims, "_term").values
        coeffs = c.coeffs.transpose(*dims, "_term").values
        rhs = c.rhs.broadcast_like(c.labels).transpose(*dims).values
        sign = c.sign.broadcast_like(c.labels).transpose(*dims).values
        rows = {}
        for i in zip(*np.nonzero(labels >= 0), strict=True):
            terms: dict[str, float] = {}
            for var, coeff in zip(vars_[i], coeffs[i], strict=True):
                if var >= 0 and coeff != 0:
                    terms[name_of[var]] = terms.get(name_of[var], 0.0) + float(coeff)
            rows[keys[i]] = (
                str(sign[i]),
                float(rhs[i]),
                {k: x for k, x in terms.items() if x != 0},
                bool((vars_[i] >= 0).any()),
            )
        constraints[name] = (tuple(c.labels.dims), rows)
    objective: dict[str, float] = {}
    e = m.objective.expression
    for var, coeff in zip(e.vars.values.ravel(), e.coeffs.values.ravel(), strict=True):
        if var >= 0 and coeff != 0:
            objective[name_of[var]] = objective.get(name_of[var], 0.0) + float(coeff)
    return {
        "variables": variables,
        "constraints": constraints,
        "objective": objective,
        "constant": float(np.asarray(e.const).sum()),
    }


def build(case: str, root: Path) -> Any:
    """The model of one case: det / neocloud / minimal (examples), f<N> (openai-2025's extensive
    form over N futures, with CVaR), q<quarters> (plan_scale's generated model)."""
    from gigawatt.hedging.evaluate import futures_inputs
    from gigawatt.plan.build import build_model
    from gigawatt.plan.inputs import build_inputs
    from gigawatt.plan.stochastic import (
        build_extensive_form,
        decision_quarter,
        futures_of,
        stack_inputs,
    )
    from gigawatt.scenario import load_scenario

    examples = root / "examples"
    if case.startswith("f"):
        s = load_scenario(examples / "openai-2025.yaml")
        futures, prob = futures_of(s, int(case[1:]), 0)
        p = stack_inputs(futures_inputs(s, futures))
        return build_extensive_form(p, prob, decision_quarter(s), risk_weight=0.5).m
    if case.startswith("q"):
        sys.path.insert(0, str(root / "benchmarks"))
        from plan_scale import large_scenario

        return build_model(build_inputs(large_scenario(int(case[1:]))))[0]
    name = "openai-2025" if case == "det" else case
    return build_model(build_inputs(load_scenario(examples / f"{name}.yaml")))[0]


def differences(a: dict[str, Any], b: dict[str, Any], limit: int = 10) -> list[str]:
    def close(x: float, y: float) -> bool:
        return x == y or math.isclose(x, y, rel_tol=1e-12)

    out: list[str] = []
    for kind in ("variables", "constraints"):
        if set(a[kind]) != set(b[kind]):
            out.append(f"{kind} differ: {sorted(set(a[kind]) ^ set(b[kind]))}")
    for name in set(a["variables"]) & set(b["variables"]):
        if a["variables"][name] != b["variables"][name]:
            out.append(f"variable {name} differs (dimensions, type or bounds)")
    for name in sorted(set(a["constraints"]) & set(b["constraints"])):
        (dims, rows), (dims_b, rows_b) = a["constraints"][name], b["constraints"][name]
        if dims != dims_b:
            out.append(f"{name}: dimensions {dims} vs {dims_b}")
        if set(rows) != set(rows_b):
            out.append(f"{name}: rows differ, e.g. {sorted(set(rows) ^ set(rows_b))[:3]}")
            continue
        for key, (sign, rhs, terms, in_matrix) in rows.items():
            sign_b, rhs_b, terms_b, in_matrix_b = rows_b[key]
            if (
                sign != sign_b
                or not close(rhs, rhs_b)
                or in_matrix != in_matrix_b
                or set(terms) != set(terms_b)
                or not all(close(terms[v], terms_b[v]) for v in terms)
            ):
                out.append(
                    f"{name}[{key}]: {sign} {rhs} {sorted(terms.items())[:4]} vs "
                    f"{sign_b} {rhs_b} {sorted(terms_b.items())[:4]}"
                )
                break
    oa, ob = a["objective"], b["objective"]
    if (
        set(oa) != set(ob)
        or not all(close(oa[v], ob[v]) for v in oa)
        or not close(a["constant"], b["constant"])
    ):
        out.append("the objective differs")
    return out[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="the checkout to compare against")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--cases", nargs="+", default=["det", "neocloud", "minimal", "f10", "q16"])
    ap.add_argument("--dump", nargs=3, metavar=("CASE", "ROOT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        case, root, out = args.dump
        Path(out).write_bytes(pickle.dumps(canonical(build(case, Path(root)))))
        return
    if args.before is None:
        ap.error("--before is required")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            models = []
            for side, root in (("before", args.before.resolve()), ("after", args.after.resolve())):
                out = Path(tmp) / f"{case}-{side}.pickle"
                env = {**os.environ, "PYTHONPATH": str(root / "src")}
                subprocess.run(
                    [sys.executable, __file__, "--dump", case, str(root), str(out)],
                    env=env,
                    check=True,
                )
                models.append(pickle.loads(out.read_bytes()))
            found = differences(*models)
            failed |= bool(found)
            rows = sum(len(r) for _, r in models[1]["constraints"].values())
            print(
                f"{case}: " + ("the same LP" if not found else "DIFFERENT") + f" ({rows:,} rows)",
                flush=True,
            )
            for line in found:
                print(f"  {line}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
