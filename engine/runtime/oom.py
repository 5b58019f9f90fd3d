"""The one place that decides whether an inference error means "out of memory" (so tiling may shrink)."""

from __future__ import annotations

import re

from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

# Exception types ONNX Runtime raises from InferenceSession.run for kernel/allocator failures. Other types
# (InvalidArgument, InvalidGraph, NoSuchFile...) are caller or model errors whatever their text says.
_ORT_RUN_ERRORS: tuple[type[BaseException], ...] = tuple(
    cls
    for cls in (
        getattr(_ort_state, name, None) for name in ("RuntimeException", "Fail", "EPFail", "EngineError")
    )
    if isinstance(cls, type) and issubclass(cls, BaseException)
)

# Allocator messages, lower-cased. Sources: ORT's BFCArena (CPU and CUDA arenas, incl. gpu_mem_limit),
# CUDA runtime / cuBLAS / cuDNN status strings, DirectML's HRESULT E_OUTOFMEMORY (0x8007000E, whose
# Windows text is "Not enough memory resources..."), the MSVC and libstdc++ texts of std::bad_alloc.
# DXGI_ERROR_DEVICE_REMOVED is deliberately absent: the device is gone, a smaller tile will not help.
_OOM_PATTERNS = re.compile(
    "|".join(
        (
            r"out of memory",
            r"failed to allocate memory",
            r"available memory of \d+ is smaller than requested bytes",
            r"cudaerrormemoryallocation",
            r"cuda failure 2\b",
            r"cublas_status_alloc_failed",
            r"cudnn_status_alloc_failed",
            r"cufft_alloc_failed",
            r"8007000e",
            r"e_outofmemory",
            r"not enough memory resources",
            r"bad_alloc",
            r"bad allocation",
            r"cannot allocate memory",
        )
    )
)


def is_out_of_memory(exc: BaseException) -> bool:
    """True when `exc` (or an exception it was raised from) is an allocator running out of memory."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError):
            return True
        if isinstance(current, _ORT_RUN_ERRORS) and _OOM_PATTERNS.search(str(current).lower()):
            return True
        current = current.__cause__ or current.__context__
    return False
