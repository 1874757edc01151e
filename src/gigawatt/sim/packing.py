"""Node-level packing of GPU-sharing tasks: best-fit, worst-fit, random-fit and FGD.

The openb cluster (Alibaba, 1,213 nodes, 6,212 GPUs) runs tasks that ask for CPU, memory and
either whole GPUs or a share of one GPU. A pooled model (GPUs as one interchangeable count)
can always hand out the last GPU; real nodes cannot: a task needs its CPU and memory on the
node that has its GPUs, a GPU share must fit on one GPU, and whole GPUs must be unshared.

`fill` runs the "workload inflation" experiment of Weng et al. ("Beware of Fragmentation:
Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC 2023): tasks
drawn from the trace arrive and never leave, until the GPUs they ask for reach a share of
the cluster's; each is placed by a policy or fails. FGD places a task where the cluster's
fragmentation (the GPU capacity the typical task could not use, weighted by how common
each task shape is) grows least.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gigawatt.errors import TraceError

FULL = 1000                                   # milli-GPUs in one GPU
PACKING_POLICIES = ("best-fit", "worst-fit", "random-fit", "fgd")
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
TASK_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")


def _read(path: str | Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, keep_default_na=False)
    except FileNotFoundError:
        raise TraceError(f"{path}: file not found") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise TraceError(f"{path}: missing columns {missing}; expected the openb {what} ({', '.join(columns)})")
    for col in columns[1:]:
        if col == "model":
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TraceError(f"{path}: row {i + 2}: {col} = {df[col].iloc[i]!r}; expected a number >= 0")
        df[col] = values
    return df


def load_openb_nodes(path: str | Path) -> pd.DataFrame:
    return _read(path, NODE_COLUMNS, "node list")


def load_openb_tasks(path: str | Path) -> pd.DataFrame:
    """Every task of the pod list (CPU-only ones included: they take CPU and memory on GPU nodes)."""
    df = _read(path, TASK_COLUMNS, "pod list")
    if "gpu_spec" not in df.columns:
        df["gpu_spec"] = ""
    df["gpu_spec"] = df["gpu_spec"].astype(str)
    return df


class NodeCluster:
    """Free CPU, memory and per-GPU milli-shares of every node, as arrays."""

    def __init__(self, nodes: pd.DataFrame) -> None:
        self.models = nodes["model"].astype(str).to_numpy()
        self.cpu = nodes["cpu_milli"].to_numpy(float).copy()
        self.mem = nodes["memory_mib"].to_numpy(float).copy()
        gpus = nodes["gpu"].to_numpy(int)
        width = max(1, int(gpus.max()) if len(gpus) else 1)
        self.exists = np.arange(width)[None, :] < gpus[:, None]
        self.gpu = np.where(self.exists, float(FULL), 0.0)
        self.capacity_gpus = float(gpus.sum())

    @property
    def allocated_gpus(self) -> float:
        return float((FULL * self.exists - self.gpu).sum() / FULL)


@dataclass(frozen=True)
class TaskShapes:
    """The workload's task shapes (num_gpu, gpu_milli, cpu, memory) and how common each is."""

    num_gpu: np.ndarray
    milli: np.ndarray
    cpu: np.ndarray
    mem: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, tasks: pd.DataFrame) -> TaskShapes:
        gpu_tasks = tasks[tasks["num_gpu"] > 0]
        g = gpu_tasks.groupby(["num_gpu", "gpu_milli"])
        shapes = g.agg(cpu=("cpu_milli", "median"), mem=("memory_mib", "median"), n=("name", "size")).reset_index()
        return cls(shapes["num_gpu"].to_numpy(int), shapes["gpu_milli"].to_numpy(float),
                   shapes["cpu"].to_numpy(float), shapes["mem"].to_numpy(float),
                   (shapes["n"] / shapes["n"].sum()).to_numpy(float))


def gpu_requests(tasks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per task: GPUs asked for, and the milli-GPU share of each (a share only for a single GPU;
    whole GPUs otherwise; none for a CPU-only task)."""
    k = tasks["num_gpu"].to_numpy(int)
    d = np.where(k == 1, tasks["gpu_milli"].to_numpy(float), float(FULL))
    return k, np.where(k == 0, 0.0, d)


def fragmentation(cpu: np.ndarray, mem: np.ndarray, gpu: np.ndarray, shapes: TaskShapes) -> np.ndarray:
    """Per node: expected milli-GPUs a task of the workload could not use there (FGD's F_n(M))."""
    total = gpu.sum(axis=1)
    whole_free = (gpu >= FULL).sum(axis=1)
    partial = (gpu * (gpu < FULL)).sum(axis=1)
    out = np.zeros(len(cpu))
    for k, d, c, m, p in zip(shapes.num_gpu, shapes.milli, shapes.cpu, shapes.mem, shapes.weight, strict=True):
        room = (cpu >= c) & (mem >= m)
        if d < FULL:                                   # a share of one GPU: GPUs with less than d free are lost to it
            fits = room & (gpu >= d).any(axis=1)
            lost = (gpu * (gpu < d)).sum(axis=1)
        else:                                          # whole GPUs: any partly used GPU is lost to it
            fits = room & (whole_free >= k)
            lost = partial
        out += p * np.where(fits, lost, total)
    return out


def _candidates(cl: NodeCluster, k: int, d: float, cpu: float, mem: float, allowed: str) -> np.ndarray:
    ok = (cl.cpu >= cpu) & (cl.mem >= mem)
    if allowed:
        ok &= np.isin(cl.models, allowed.split("|"))
    if k == 0:
        return np.flatnonzero(ok)
    if d < FULL:
        ok &= (cl.gpu >= d).any(axis=1)
    else:
        ok &= (cl.gpu >= FULL).sum(axis=1) >= k
    return np.flatnonzero(ok)


def _gpus_after(gpu: np.ndarray, k: int, d: float, how: str) -> np.ndarray:
    """GPU shares of candidate nodes after placing: a share on the tightest (or, worst-fit, the
    emptiest) GPU with room; whole GPUs on the first free ones."""
    after = gpu.copy()
    if k == 0:
        return after
    rows = np.arange(len(gpu))
    if d < FULL:
        room = np.where(gpu >= d, gpu, np.inf if how != "worst-fit" else -np.inf)
        col = room.argmax(axis=1) if how == "worst-fit" else room.argmin(axis=1)
        after[rows, col] -= d
    else:
        free = gpu >= FULL
        take = free & (np.cumsum(free, axis=1) <= k)
        after[take] -= FULL
    return after


def place(cl: NodeCluster, task: tuple[int, float, float, float, str], how: str, shapes: TaskShapes,
          frag: np.ndarray | None, rng: np.random.Generator) -> bool:
    return place_at(cl, task, how, shapes, frag, rng) is not None


def place_at(cl: NodeCluster, task: tuple[int, float, float, float, str], how: str, shapes: TaskShapes,
             frag: np.ndarray | None, rng: np.random.Generator) -> int | None:
    """Place a task by `how`: the node it went to, or None if no node has room."""
    k, d, cpu, mem, allowed = task
    cand = _candidates(cl, k, d, cpu, mem, allowed)
    if not cand.size:
        return None
    after = _gpus_after(cl.gpu[cand], k, d, how)
    if how == "random-fit":
        i = int(rng.integers(cand.size))
    elif how == "fgd":
        assert frag is not None
        delta = fragmentation(cl.cpu[cand] - cpu, cl.mem[cand] - mem, after, shapes) - frag[cand]
        i = int(np.argmin(delta))
    else:
        # remaining GPU share (then CPU share) on the node after placing: least for best-fit, most for worst-fit
        left = after.sum(axis=1) / FULL + (cl.cpu[cand] - cpu) / max(float(cl.cpu.max()), 1.0)
        i = int(np.argmin(left) if how == "best-fit" else np.argmax(left))
    n = int(cand[i])
    cl.gpu[n] = after[i]
    cl.cpu[n] -= cpu
    cl.mem[n] -= mem
    if frag is not None:
        frag[n] = fragmentation(cl.cpu[n:n + 1], cl.mem[n:n + 1], cl.gpu[n:n + 1], shapes)[0]
    return n


@dataclass
class FillResult:
    policy: str
    capacity_gpus: float
    arrived_gpus: float
    allocated_gpus: float
    failed_tasks: int
    fragmented_gpus: float                     # idle GPU capacity the typical task could not use

    @property
    def allocated_share(self) -> float:
        return self.allocated_gpus / self.capacity_gpus

    @property
    def unallocated_gpus(self) -> float:
        return self.capacity_gpus - self.allocated_gpus

    def row(self) -> dict[str, float | str]:
        return {"policy": self.policy, "capacity_gpus": self.capacity_gpus, "arrived_gpus": self.arrived_gpus,
                "allocated_gpus": self.allocated_gpus, "allocated_share": self.allocated_share,
                "unallocated_gpus": self.unallocated_gpus, "failed_tasks": float(self.failed_tasks),
                "fragmented_gpus": self.fragmented_gpus}


def fill(nodes: pd.DataFrame, tasks: pd.DataFrame, policy: str = "best-fit", *, arrived_share: float = 1.0,
         seed: int = 0) -> FillResult:
    """Tasks drawn from the trace (with replacement) arrive until their GPUs reach `arrived_share` of
    the cluster's; none leaves. Each is placed by `policy` or fails."""
    if policy not in PACKING_POLICIES:
        raise TraceError(f"unknown packing policy '{policy}'; choose one of {', '.join(PACKING_POLICIES)}")
    cl = NodeCluster(nodes)
    shapes = TaskShapes.of(tasks)
    rng = np.random.default_rng(seed)
    frag = fragmentation(cl.cpu, cl.mem, cl.gpu, shapes) if policy == "fgd" else None
    k_all, d_all = gpu_requests(tasks)
    cpu_all, mem_all = tasks["cpu_milli"].to_numpy(float), tasks["memory_mib"].to_numpy(float)
    spec = tasks["gpu_spec"].to_numpy(str)
    gpus_of = np.where(k_all == 1, d_all / FULL, k_all)
    arrived, failed, target = 0.0, 0, arrived_share * cl.capacity_gpus
    while arrived < target:
        i = int(rng.integers(len(tasks)))
        arrived += float(gpus_of[i])
        if not place(cl, (int(k_all[i]), float(d_all[i]), float(cpu_all[i]), float(mem_all[i]), str(spec[i])),
                     policy, shapes, frag, rng):
            failed += 1
    end_frag = fragmentation(cl.cpu, cl.mem, cl.gpu, shapes)
    return FillResult(policy, cl.capacity_gpus, arrived, cl.allocated_gpus, failed, float(end_frag.sum() / FULL))


def compare_policies(nodes: pd.DataFrame, tasks: pd.DataFrame, *, arrived_share: float = 1.0,
                     seeds: tuple[int, ...] = (0,), policies: tuple[str, ...] = PACKING_POLICIES) -> pd.DataFrame:
    """Mean fill result per policy over seeds; `pooled` is the pooled model for comparison."""
    rows = [fill(nodes, tasks, p, arrived_share=arrived_share, seed=s).row() for p in policies for s in seeds]
    table = pd.DataFrame(rows).groupby("policy", sort=False).mean(numeric_only=True).reset_index()
    return table
