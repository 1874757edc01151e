"""What a simulation delivered: utilisation, goodput, ETTR, delays, lost work, SLOs, cost.

- utilization: accelerator-seconds held by jobs over the fleet's capacity x run time.
- goodput: productive accelerator-seconds (held, less work lost to failures, restarts and
  checkpoint writes) over the fleet's capacity x run time; never above utilization.
- ettr: effective training time ratio as the training community uses it (Kokolis et al.,
  arXiv 2410.21680): a job's productive time over its wall time from submission, waits for
  room, repair and requeue included; jobs weighted by accelerators x wall time. Per job in
  `jobs["ettr"]`.
- fragmentation: idle accelerators stranded by the node layout (a waiting job could use as
  many, but not on these nodes), over capacity x run time; 0 for pooled pools.
- failures, mttf_hours: hardware failures in the whole fleet (busy or idle nodes) and the
  hours between them; per job `failure_interruptions` and `mttf_hours` (held hours per hit).
- queueing_delay_s: over every job submitted before the end; a job still waiting at the end
  counts its wait so far (right-censored: the figures are lower bounds), `waiting_at_end` says
  how many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def _quantiles(x: np.ndarray) -> dict[str, float]:
    x = x[np.isfinite(x)]
    if not x.size:
        return {}
    qs = np.quantile(x, [0.5, 0.9, 0.99])
    return {"mean": float(x.mean()), "p50": float(qs[0]), "p90": float(qs[1]), "p99": float(qs[2]),
            "max": float(x.max())}


@dataclass
class SimResult:
    utilization: float
    goodput: float
    ettr: float | None
    jobs_total: int
    jobs_completed: int
    allocated_accelerator_hours: float
    work_lost_accelerator_hours: float
    restart_accelerator_hours: float
    checkpoint_accelerator_hours: float
    fragmented_accelerator_hours: float         # idle, enough for a waiting job, but not on its nodes
    fragmentation: float                        # that, over capacity x run time
    interruptions: int
    failures: int                               # hardware failures anywhere in the fleet
    failure_interruptions: int                  # job interruptions they caused
    mttf_hours: float | None                    # fleet: hours between hardware failures
    queueing_delay_s: dict[str, float]
    completion_time_s: dict[str, float]
    slo_attainment: float | None
    cost_usd: float
    events: int
    wall_seconds: float
    until_s: float
    timeline: pd.DataFrame                      # time_h, busy_accelerators, utilization
    jobs: pd.DataFrame                          # per-job outcomes
    gantt: pd.DataFrame = field(default_factory=pd.DataFrame)
    inference: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "utilization": self.utilization,
            "goodput": self.goodput,
            "ettr": self.ettr,
            "jobs_total": self.jobs_total,
            "jobs_completed": self.jobs_completed,
            "allocated_accelerator_hours": self.allocated_accelerator_hours,
            "work_lost_accelerator_hours": self.work_lost_accelerator_hours,
            "restart_accelerator_hours": self.restart_accelerator_hours,
            "checkpoint_accelerator_hours": self.checkpoint_accelerator_hours,
            "fragmented_accelerator_hours": self.fragmented_accelerator_hours,
            "fragmentation": self.fragmentation,
            "interruptions": self.interruptions,
            "failures": self.failures,
            "failure_interruptions": self.failure_interruptions,
            "mttf_hours": self.mttf_hours,
            "queueing_delay_s": self.queueing_delay_s,
            "completion_time_s": self.completion_time_s,
            "slo_attainment": self.slo_attainment,
            "cost_usd": self.cost_usd,
            "events": self.events,
            "events_per_second": self.events / self.wall_seconds if self.wall_seconds else None,
            "until_s": self.until_s,
            "inference": self.inference,
            "notes": self.notes,
        }
