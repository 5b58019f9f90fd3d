"""Free accelerator memory, when it can be read cheaply (NVML for CUDA; nothing for DirectML)."""

from __future__ import annotations

import ctypes
import os
import sys


class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


def free_device_memory(device: str) -> int | None:
    """Free bytes on the device ONNX Runtime would use, or None when unknown (always None for CPU).

    NVML ships with the NVIDIA driver and answers without creating a CUDA context (which would
    cost hundreds of MB and a second); the CUDA runtime would not.
    """
    if device != "cuda":
        return None
    try:
        return _nvml_free_bytes()
    except (OSError, AttributeError, ValueError):
        return None


def _nvml_free_bytes() -> int | None:
    library = "nvml.dll" if sys.platform == "win32" else "libnvidia-ml.so.1"
    nvml = ctypes.CDLL(library)
    if nvml.nvmlInit_v2() != 0:
        return None
    try:
        handle = ctypes.c_void_p()
        # ORT uses CUDA device 0, i.e. the first entry of CUDA_VISIBLE_DEVICES (an index or a UUID).
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
        if visible.startswith("GPU-"):
            status = nvml.nvmlDeviceGetHandleByUUID(visible.encode(), ctypes.byref(handle))
        else:
            index = int(visible) if visible.isdigit() else 0
            status = nvml.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(handle))
        if status != 0:
            return None
        memory = _NvmlMemory()
        if nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) != 0:
            return None
        return int(memory.free)
    finally:
        nvml.nvmlShutdown()
