"""Node-level packing: hand-made nodes with exact outcomes, then the FGD paper's ordering on openb."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import need_traces

from gigawatt.errors import TraceError
from gigawatt.sim.packing import (
    NodeCluster,
    TaskShapes,
    fill,
    fragmentation,
    load_openb_nodes,
    load_openb_tasks,
    place,
)


def nodes(*gpus: int, cpu: float = 64000, mem: float = 262144) -> pd.DataFrame:
    return pd.DataFrame({"sn": [f"n{i}" for i in range(len(gpus))], "cpu_milli": cpu, "memory_mib": mem,
                         "gpu": list(gpus), "model": "V100"})


def tasks(*shapes: tuple[int, int, int]) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"t{i}" for i in range(len(shapes))], "cpu_milli": [s[2] for s in shapes],
                         "memory_mib": 1024, "num_gpu": [s[0] for s in shapes], "gpu_milli": [s[1] for s in shapes],
                         "gpu_spec": ""})


def test_fragmentation_by_hand():
    # one node, 2 GPUs: one 700 free, one 1000 free; the workload: half 500-shares, half whole GPUs
    cl = NodeCluster(nodes(2))
    cl.gpu[0] = [700.0, 1000.0]
    shapes = TaskShapes.of(tasks((1, 500, 1000), (1, 1000, 1000)))
    f = fragmentation(cl.cpu, cl.mem, cl.gpu, shapes)
    # 500-share: every free GPU serves it (0 lost); whole GPU: the 700 partly used one is lost
    assert f[0] == pytest.approx(0.5 * 0 + 0.5 * 700, rel=1e-12)
    cl.cpu[0] = 500.0                       # too little CPU for either: all 1,700 free milli are lost
    assert fragmentation(cl.cpu, cl.mem, cl.gpu, shapes)[0] == pytest.approx(1700, rel=1e-12)


def test_best_fit_shares_a_gpu_where_worst_fit_spreads():
    shapes = TaskShapes.of(tasks((1, 500, 1000)))
    rng = np.random.default_rng(0)
    for how, expect in (("best-fit", [[0.0, 1000.0], [1000.0, 1000.0]]),     # onto the half-used GPU
                        ("worst-fit", [[500.0, 1000.0], [500.0, 1000.0]])):  # onto the emptiest node
        cl = NodeCluster(nodes(2, 2))
        assert place(cl, (1, 500, 1000, 1024, ""), how, shapes, None, rng)
        assert place(cl, (1, 500, 1000, 1024, ""), how, shapes, None, rng)
        assert sorted(map(sorted, cl.gpu.tolist())) == expect


def test_whole_gpus_need_unshared_gpus_on_one_node():
    cl = NodeCluster(nodes(2, 2))
    cl.gpu[:] = [[500.0, 1000.0], [1000.0, 500.0]]         # 3 GPUs' worth free, no node with 2 whole ones
    shapes = TaskShapes.of(tasks((2, 1000, 1000)))
    assert not place(cl, (2, 1000, 1000, 1024, ""), "best-fit", shapes, None, np.random.default_rng(0))
    assert cl.allocated_gpus == 1.0


def test_fgd_keeps_whole_gpus_for_whole_gpu_tasks():
    # node 0: GPUs 1000/1000; node 1: 1000/600. A 400-share placed by FGD goes to node 1's 600 GPU
    # (leaving node 0 whole for the common whole-GPU tasks); worst-fit puts it on node 0
    shapes = TaskShapes.of(tasks((1, 1000, 1000), (1, 1000, 1000), (1, 400, 1000)))
    cl = NodeCluster(nodes(2, 2))
    cl.gpu[1] = [1000.0, 600.0]
    frag = fragmentation(cl.cpu, cl.mem, cl.gpu, shapes)
    assert place(cl, (1, 400, 1000, 1024, ""), "fgd", shapes, frag, np.random.default_rng(0))
    assert cl.gpu.tolist() == [[1000.0, 1000.0], [1000.0, 200.0]]


def test_bad_node_list_is_one_line(tmp_path):
    bad = tmp_path / "nodes.csv"
    bad.write_text("sn,gpu\nn0,2\n")
    with pytest.raises(TraceError, match=r"missing columns \['cpu_milli', 'memory_mib', 'model'\]"):
        load_openb_nodes(bad)


def test_openb_reproduces_the_fgd_papers_ordering():
    root = need_traces("alibaba-openb-2023")
    n = load_openb_nodes(root / "openb_node_list_gpu_node.csv")
    t = load_openb_tasks(root / "openb_pod_list_default.csv")
    share = {p: fill(n, t, p, seed=0).allocated_share for p in ("fgd", "best-fit", "random-fit", "worst-fit")}
    # the pooled model would hand out 100%; nodes strand GPUs, and FGD strands the fewest
    assert share["fgd"] > share["best-fit"] > share["random-fit"] > share["worst-fit"]
    assert share["fgd"] < 1.0


def test_cli_packing_needs_the_openb_trace(examples):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "gigawatt", "simulate", str(examples / "minimal.yaml"), "--packing"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--packing needs --trace" in r.stderr and "Traceback" not in r.stderr
