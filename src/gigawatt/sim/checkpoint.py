"""How often to checkpoint: simulate a sweep of intervals around Young/Daly and keep the best.

Each checkpoint costs its stall; each failure costs the work since the last durable one, so
the ETTR of a training job peaks at an interval. Young (1974) and Daly (2006) give that
interval analytically for one job with exponential failures; the sweep measures it on the
fleet as simulated (queues, repairs, spares, outages), and says how far the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from gigawatt.errors import SimulationError
from gigawatt.sim.failures import FailureModel, Outage, young_daly
from gigawatt.sim.fleet import Fleet
from gigawatt.sim.policies import Policy
from gigawatt.sim.simulate import simulate

FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)


@dataclass
class CheckpointAdvice:
    job: str
    job_mtbf_hours: float
    young_minutes: float
    daly_minutes: float
    recommended_minutes: float
    sweep: pd.DataFrame          # interval_minutes, ettr (mean over seeds), ettr_min, ettr_max

    def to_json(self) -> dict[str, object]:
        return {"job": self.job, "job_mtbf_hours": self.job_mtbf_hours, "young_minutes": self.young_minutes,
                "daly_minutes": self.daly_minutes, "recommended_minutes": self.recommended_minutes,
                "sweep": self.sweep.to_dict(orient="records")}


def recommend_checkpoint(fleet: Fleet, workload: pd.DataFrame, failures: FailureModel,
                         policy: Policy | str = "fifo", *, outages: list[Outage] | None = None,
                         until_s: float | None = None, seeds: tuple[int, ...] = (0, 1, 2),
                         factors: tuple[float, ...] = FACTORS) -> CheckpointAdvice:
    """Sweep checkpoint intervals (multiples of Daly's) and pick the one with the best ETTR of the
    largest training job (its accelerators x work), averaged over seeds."""
    if not failures.enabled or failures.rate_per_accelerator_hour <= 0:
        raise SimulationError("checkpoint advice needs failures: turn them on (a failure rate above 0)")
    if failures.stall_s <= 0:
        raise SimulationError("checkpoint advice needs a checkpoint cost: give a checkpoint write time "
                              "(--checkpoint-write) and a stall share above 0")
    training = workload[workload["kind"] == "training"]
    if training.empty:
        raise SimulationError("checkpoint advice needs a training job in the workload")
    biggest = training.loc[(training["accelerators"] * training["work_s"]).idxmax()]
    mtbf_s = 3600.0 / (failures.rate_per_accelerator_hour * float(biggest["accelerators"]))
    young, daly = young_daly(failures.stall_s, mtbf_s)
    rows = []
    for factor in factors:
        interval_min = daly * factor / 60
        fm = replace(failures, checkpoint_minutes=interval_min)
        ettr = []
        for seed in seeds:
            r = simulate(fleet, workload, policy, failures=fm, outages=outages, until_s=until_s, seed=seed,
                         gantt_jobs=0)
            ettr.append(float(r.jobs.set_index("name").loc[biggest["name"], "ettr"]))
        rows.append({"factor_of_daly": factor, "interval_minutes": interval_min, "ettr": float(np.mean(ettr)),
                     "ettr_min": float(np.min(ettr)), "ettr_max": float(np.max(ettr))})
    sweep = pd.DataFrame(rows)
    best = sweep.loc[sweep["ettr"].idxmax()]
    return CheckpointAdvice(str(biggest["name"]), mtbf_s / 3600, young / 60, daly / 60,
                            float(best["interval_minutes"]), sweep)
