"""Which uncertainty drives the risk: a tornado, and global indices from the samples.

Tornado: every factor at its median, then one at a time at its 10th and 90th percentile.
Global: SALib's moment-independent delta analysis (with its first-order Sobol estimate S1)
computed from the Monte Carlo samples already evaluated, so it costs no extra solves.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from gigawatt.scenario.sample import values_at
from gigawatt.scenario.uncertainty import FactorSpec

Evaluate = Callable[[dict[str, float]], float]


def tornado(specs: list[FactorSpec], cost_of: Evaluate, low_q: float = 0.1, high_q: float = 0.9) -> pd.DataFrame:
    k = len(specs)
    at = values_at(specs, np.full((1, k), 0.5))[0]
    centre = {s.name: float(v) for s, v in zip(specs, at, strict=True)}
    base = cost_of(centre)
    rows = []
    for spec in specs:
        lo_v, hi_v = (float(values_at([spec], np.array([[q]]))[0, 0]) for q in (low_q, high_q))
        if lo_v == hi_v:
            lo_c = hi_c = base
        else:
            lo_c = cost_of({**centre, spec.name: lo_v})
            hi_c = cost_of({**centre, spec.name: hi_v})
        rows.append({"factor": spec.name, "describe": spec.describe, "low_value": lo_v, "high_value": hi_v,
                     "low": lo_c, "high": hi_c, "base": base, "swing": abs(hi_c - lo_c)})
    df = pd.DataFrame(rows, columns=["factor", "describe", "low_value", "high_value", "low", "high", "base", "swing"])
    return df.sort_values("swing", ascending=False).reset_index(drop=True)


def global_indices(factors: pd.DataFrame, y: pd.Series, horizon_end_quarter: int) -> pd.DataFrame:
    """SALib delta (moment-independent) and S1 per factor, from given samples."""
    from SALib.analyze import delta

    x = factors.loc[y.index].replace(np.inf, horizon_end_quarter + 1).astype(float)
    varying = [c for c in x.columns if x[c].nunique() > 1]
    if len(varying) == 0 or len(y) < 20 or float(np.std(y)) == 0.0:
        return pd.DataFrame(columns=["factor", "delta", "delta_conf", "S1", "S1_conf"])
    problem = {"num_vars": len(varying), "names": varying,
               "bounds": [[float(x[c].min()), float(x[c].max())] for c in varying]}
    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # SALib prints binning notices; the indices are what we keep
        res = delta.analyze(problem, x[varying].to_numpy(), np.asarray(y, dtype=float), num_resamples=10,
                            seed=0, print_to_console=False)
    key = "delta" if "delta" in res else "delta_raw"
    df = pd.DataFrame({"factor": varying, "delta": res[key], "delta_conf": res[f"{key}_conf"],
                       "S1": res["S1"], "S1_conf": res["S1_conf"]})
    return df.sort_values("delta", ascending=False).reset_index(drop=True)
