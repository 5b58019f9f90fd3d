"""ONNX Runtime sessions: provider order CUDA -> DirectML -> CPU, a session cache, the one OOM classifier."""

from __future__ import annotations

from engine.runtime.flavour import (
    ORT_DISTRIBUTIONS,
    OnnxRuntimeInstallError,
    OrtDistribution,
    check_single_flavour,
    installed_distributions,
    require_onnxruntime,
)

# Before the modules below import onnxruntime: an environment installed without the `cpu`, `cuda` or
# `directml` extra gets one line naming the fix (OnnxRuntimeInstallError), not a ModuleNotFoundError.
require_onnxruntime()

from engine.runtime.devices import (  # noqa: E402
    DEVICE_CHOICES,
    DEVICE_ENV,
    PROVIDERS,
    available_devices,
    preferred_device,
    resolve_providers,
)
from engine.runtime.memory import free_device_memory  # noqa: E402
from engine.runtime.oom import is_out_of_memory  # noqa: E402
from engine.runtime.report import device_report, installed_onnxruntime_packages  # noqa: E402
from engine.runtime.sessions import (  # noqa: E402
    GraphSession,
    ModelSession,
    clear_session_cache,
    get_session,
    graph_session,
    session_options,
)

__all__ = [
    "DEVICE_CHOICES",
    "DEVICE_ENV",
    "ORT_DISTRIBUTIONS",
    "PROVIDERS",
    "GraphSession",
    "ModelSession",
    "OnnxRuntimeInstallError",
    "OrtDistribution",
    "available_devices",
    "check_single_flavour",
    "clear_session_cache",
    "device_report",
    "free_device_memory",
    "get_session",
    "graph_session",
    "installed_distributions",
    "installed_onnxruntime_packages",
    "is_out_of_memory",
    "preferred_device",
    "require_onnxruntime",
    "resolve_providers",
    "session_options",
]
