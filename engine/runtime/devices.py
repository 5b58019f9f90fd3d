"""Execution devices: which ONNX Runtime providers exist here and which ones a request maps to."""

from __future__ import annotations

import os

import onnxruntime as ort

from engine.errors import DeviceError

DEVICE_ENV = "PHOTOMEND_DEVICE"

#: device name -> ONNX Runtime provider, in the order "auto" tries them
PROVIDERS: dict[str, str] = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
DEVICE_OF_PROVIDER = {provider: device for device, provider in PROVIDERS.items()}
DEVICE_CHOICES = ("auto", *PROVIDERS)
_ALIASES = {"dml": "directml"}


def available_devices() -> list[str]:
    """Devices whose provider this onnxruntime build offers, best first; "cpu" is always last."""
    offered = set(ort.get_available_providers())
    return [device for device, provider in PROVIDERS.items() if provider in offered]


def requested_device(device: str | None = None) -> tuple[str, str]:
    """(normalised request, where it came from): the argument, else $PHOTOMEND_DEVICE, else "auto"."""
    if device is not None and device.strip():
        source, raw = "device", device
    elif os.environ.get(DEVICE_ENV, "").strip():
        source, raw = DEVICE_ENV, os.environ[DEVICE_ENV]
    else:
        return "auto", "default"
    name = raw.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in DEVICE_CHOICES:
        prefix = f"{DEVICE_ENV}={raw}: " if source == DEVICE_ENV else ""
        raise DeviceError(f"{prefix}unknown device {raw!r} (choose one of {', '.join(DEVICE_CHOICES)})")
    return name, source


def resolve_providers(device: str | None = None) -> tuple[str, list[str]]:
    """(requested device, provider list to hand ONNX Runtime); DeviceError if it is not available."""
    name, source = requested_device(device)
    available = available_devices()
    if name == "auto":
        return name, [PROVIDERS[d] for d in available]
    if name not in available:
        prefix = f"{DEVICE_ENV}={os.environ.get(DEVICE_ENV, '')}: " if source == DEVICE_ENV else ""
        raise DeviceError(
            f"{prefix}device {name!r} is not available here (available: {', '.join(available)})"
        )
    # CPU stays last so that nodes the accelerator lacks still run.
    providers = [PROVIDERS[name]]
    if name != "cpu":
        providers.append(PROVIDERS["cpu"])
    return name, providers


def preferred_device(device: str | None = None) -> str:
    """The device a session would be asked to use first (before ONNX Runtime confirms it)."""
    _, providers = resolve_providers(device)
    return DEVICE_OF_PROVIDER[providers[0]]
