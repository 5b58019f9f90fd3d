"""ONNX Runtime sessions: provider order CUDA -> DirectML -> CPU, a session cache, the one OOM classifier."""

from __future__ import annotations

from engine.runtime.devices import (
    DEVICE_CHOICES,
    DEVICE_ENV,
    PROVIDERS,
    available_devices,
    preferred_device,
    resolve_providers,
)
from engine.runtime.memory import free_device_memory
from engine.runtime.oom import is_out_of_memory
from engine.runtime.report import device_report, installed_onnxruntime_packages
from engine.runtime.sessions import ModelSession, clear_session_cache, get_session, session_options

__all__ = [
    "DEVICE_CHOICES",
    "DEVICE_ENV",
    "PROVIDERS",
    "ModelSession",
    "available_devices",
    "clear_session_cache",
    "device_report",
    "free_device_memory",
    "get_session",
    "installed_onnxruntime_packages",
    "is_out_of_memory",
    "preferred_device",
    "resolve_providers",
    "session_options",
]
