"""A 16,384-accelerator, 54-day run at the catalog's failure rate, against Llama 3's report."""

from __future__ import annotations

import pandas as pd
import pytest

from gigawatt.catalog import load_catalog
from gigawatt.sim import FailureModel, Fleet, Pool, simulate

DAYS = 54
GPUS = 16_384


def llama3_run(seed: int):
    fleet = Fleet([Pool(id="h100", site="meta", provider="meta", accelerator="nvidia_h100_sxm", capacity=GPUS + 64)])
    job = pd.DataFrame([{"name": "llama3-405b", "arrival_s": 0.0, "accelerators": float(GPUS),
                         "work_s": 2 * DAYS * 86400.0, "allowed": "", "kind": "training"}])
    return simulate(fleet, job, "fifo", failures=FailureModel.from_catalog(), until_s=DAYS * 86400.0, seed=seed)


def test_interruptions_and_effective_time_match_llama3():
    paper = load_catalog().reliability["llama3_16k_h100"]
    for seed in (0, 1, 2):
        r = llama3_run(seed)
        job = r.jobs.iloc[0]
        effective = job["work"] and (r.allocated_accelerator_hours - r.work_lost_accelerator_hours
                                     - r.restart_accelerator_hours) / r.allocated_accelerator_hours
        # unexpected interruptions: the paper counts 419 in 54 days (one every ~3.1 h)
        assert abs(job["interruptions"] - paper["interruptions_unexpected"]) <= 0.15 * paper["interruptions_unexpected"]
        # the paper reports more than 90% effective training time
        assert paper["effective_training_time_min"] <= effective < 1.0


def test_failure_rate_against_a_cluster_not_used_to_calibrate_it():
    """Validation, not calibration: a 504-GPU B200 production cluster (63 HGX nodes) logged 10
    XID-identified GPU failures over 55 days of monitoring ("From Detection to Recovery:
    Operational Analysis on LLM Pre-Training with 504 GPU", arXiv 2605.09370, SKT, Upstage,
    Lablup, NVIDIA Korea, VAST Data; its logs span 73 days, its metrics 55: we take 55).
    The catalog's rate comes from Llama 3's 16k H100s; here it meets another operator, another
    accelerator generation and a 32x smaller fleet, busy or idle."""
    import numpy as np

    rate = load_catalog().reliability["failure_rate_per_accelerator_hour"]["value"]
    fleet = Fleet([Pool(id="b200", site="x", provider="x", accelerator="nvidia_b200_hgx", capacity=504)])
    assert fleet.pools[0].node_size == 8
    end = pd.DataFrame([{"name": "probe", "arrival_s": 55 * 86400.0, "accelerators": 8.0, "work_s": 1.0,
                         "allowed": "", "kind": "training"}])
    counts = np.array([simulate(fleet, end, "fifo", failures=FailureModel.from_catalog(), seed=s,
                                gantt_jobs=0).failures for s in range(200)])
    expected = rate * 504 * 55 * 24                       # 13.1 failures in calendar time
    assert counts.mean() == pytest.approx(expected, rel=0.05)
    lo, hi = np.quantile(counts, [0.05, 0.95])
    assert lo <= 10 <= hi                                 # the published 10 sits inside the model's 90% band


def test_job_mttf_against_meta_rsc_not_used_to_calibrate():
    """Validation against Kokolis et al. (arXiv 2410.21680, Meta RSC-1/RSC-2; the catalog's
    reliability.meta_rsc_mttf): MTTF 7.9 h for 1,024-GPU jobs, 1.8 h projected for 16,384.
    The catalog's rate (from Llama 3) gives a 1,024-GPU job 1 / (1.9731e-5 x 1024) = 49.5 h and a
    16,384-GPU job 3.09 h: the simulator reproduces those, and so it is 6.3x more optimistic than
    RSC at 1k GPUs and 1.7x at 16k. RSC is a research cluster whose counts include failures Llama 3's
    production run did not see; the gap is stated here, not calibrated away."""
    import numpy as np

    cat = load_catalog().reliability
    rate = cat["failure_rate_per_accelerator_hour"]["value"]
    rsc = cat["meta_rsc_mttf"]
    for gpus, published in ((1024, rsc["mttf_hours_1024_gpu_job"]), (16384, rsc["mttf_hours_16384_gpu_job_projected"])):
        hours = 4000.0 if gpus == 1024 else 300.0         # about 80 and 100 failures of the job
        fleet = Fleet([Pool(id="h100", site="x", provider="x", accelerator="nvidia_h100_sxm", capacity=gpus + 64)])
        job = pd.DataFrame([{"name": "job", "arrival_s": 0.0, "accelerators": float(gpus),
                             "work_s": 2 * hours * 3600, "allowed": "", "kind": "training"}])
        mttf = np.mean([simulate(fleet, job, "fifo", failures=FailureModel.from_catalog(), until_s=hours * 3600,
                                 seed=s, gantt_jobs=0).jobs["mttf_hours"].iloc[0] for s in range(3)])
        model = 1 / (rate * gpus)
        assert mttf == pytest.approx(model, rel=0.12)
        assert model / published == pytest.approx({1024: 6.27, 16384: 1.72}[gpus], rel=0.01)
