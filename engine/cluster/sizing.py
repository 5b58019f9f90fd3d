"""How many Ray workers a batch gets and what each one holds, from the cluster's resources (overridable)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.cluster.connect import ClusterError


@dataclass(frozen=True)
class WorkerPlan:
    """`count` workers, each reserving `num_cpus` CPUs and `num_gpus` GPUs, restoring on `device`."""

    count: int
    num_cpus: float
    num_gpus: float
    device: str | None

    def describe(self) -> str:
        each = f"{_amount(self.num_cpus)} CPU" + (f" + {_amount(self.num_gpus)} GPU" if self.num_gpus else "")
        return f"{self.count} Ray worker{'s' if self.count != 1 else ''} ({each} each)"


def plan_workers(
    nodes: Iterable[Mapping[str, float]],
    *,
    device: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float | None = None,
    gpus_per_worker: float | None = None,
) -> WorkerPlan:
    """Size the workers from each live node's resources ({"CPU": 16, "GPU": 2}).

    GPU workers when the cluster has GPUs and the device allows them (cuda, or auto), one per GPU unless
    `gpus_per_worker` says otherwise (0.5: two per GPU), each with the node's CPUs shared among its GPUs.
    CPU workers otherwise: by default one per node holding all of the node's CPUs, because ONNX Runtime
    already spreads one photo over every core (more workers per node then oversubscribe it); `workers` or
    `cpus_per_worker` ask for more, smaller workers, which win for small photos.
    """
    resources = [dict(node) for node in nodes]
    total_cpus = sum(node.get("CPU", 0.0) for node in resources)
    total_gpus = sum(node.get("GPU", 0.0) for node in resources)
    wants_gpu = device == "cuda" or (device in (None, "auto") and total_gpus > 0)
    if gpus_per_worker is not None and gpus_per_worker <= 0:
        wants_gpu = False
    if workers is not None and workers < 1:
        raise ClusterError(f"--ray-workers {workers}: at least one worker is needed")
    if wants_gpu:
        if total_gpus <= 0:
            raise ClusterError(
                "--device cuda: the Ray cluster has no GPU (start its workers with --num-gpus)"
            )
        per_gpu = gpus_per_worker or 1.0
        gpu_nodes = [node for node in resources if node.get("GPU", 0.0) > 0]
        slots = sum(math.floor(node["GPU"] / per_gpu + 1e-9) for node in gpu_nodes)
        if cpus_per_worker is None:
            share = min(node.get("CPU", 0.0) * per_gpu / node["GPU"] for node in gpu_nodes)
            cpus_per_worker = max(1.0, math.floor(share))
        return WorkerPlan(workers or max(slots, 1), cpus_per_worker, per_gpu, device)
    if total_cpus <= 0:
        raise ClusterError("the Ray cluster has no CPU to run a worker on")
    cpu_nodes = [node["CPU"] for node in resources if node.get("CPU", 0.0) > 0]
    if cpus_per_worker is None:
        if workers is None:
            cpus_per_worker = min(cpu_nodes)
        else:
            share = total_cpus / workers
            cpus_per_worker = (
                min(max(cpu_nodes), math.floor(share)) if share >= 1 else math.floor(share * 100) / 100
            )
    if cpus_per_worker <= 0:
        raise ClusterError(f"--ray-cpus-per-worker {cpus_per_worker}: a worker needs some CPU")
    slots = sum(math.floor(cpus / cpus_per_worker + 1e-9) for cpus in cpu_nodes)
    if slots < 1:
        raise ClusterError(
            f"a worker of {_amount(cpus_per_worker)} CPUs fits no node of the cluster "
            f"(the largest has {_amount(max(cpu_nodes))})"
        )
    return WorkerPlan(workers or slots, float(cpus_per_worker), 0.0, device)


def _amount(value: float) -> str:
    return f"{value:g}"
