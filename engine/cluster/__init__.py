"""The batch on a Ray cluster: the same jobs, keys, journal and atomic writes as engine.batch, restored by
Ray actors that each keep their ONNX Runtime sessions for their lifetime. An optional extra
(`pip install 'photomend[cluster]'`): Ray and pyarrow are imported only when a function here runs."""

from engine.cluster.connect import ClusterError, ClusterUnavailable, RayOptions, import_ray, ray_session
from engine.cluster.runner import run_batch_on_ray, run_tasks_on_ray
from engine.cluster.sizing import WorkerPlan, plan_workers
from engine.cluster.sources import RemoteSource, is_uri

__all__ = [
    "ClusterError",
    "ClusterUnavailable",
    "RayOptions",
    "RemoteSource",
    "WorkerPlan",
    "import_ray",
    "is_uri",
    "plan_workers",
    "ray_session",
    "run_batch_on_ray",
    "run_tasks_on_ray",
]
