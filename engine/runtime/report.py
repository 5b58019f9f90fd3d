"""What `photomend info` prints about ONNX Runtime, devices and models."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import onnxruntime as ort

from engine.errors import PhotoMendError
from engine.models import all_specs, model_status
from engine.runtime.devices import available_devices, preferred_device, requested_device
from engine.runtime.sessions import get_session

# Distributions that all install the one `onnxruntime` import folder; two of them overwrite each other.
_ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino")


def installed_onnxruntime_packages() -> list[str]:
    """Installed onnxruntime flavours as "name version"; more than one is a broken install."""
    found = []
    for name in _ORT_DISTRIBUTIONS:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return found


def device_report(device: str | None = None, *, probe: bool = True) -> dict[str, Any]:
    """A JSON-ready summary; with `probe`, a verified ONNX model is loaded to read back the real provider.

    `models` lists every registry entry (the networks, the text encoder's weights and tokenizer, the task
    head), each checked against its recorded sha256.
    """
    packages = installed_onnxruntime_packages()
    report: dict[str, Any] = {
        "onnxruntime": ort.__version__,
        "onnxruntime_packages": packages,
        "available_providers": list(ort.get_available_providers()),
        "available_devices": available_devices(),
        "warnings": [],
    }
    if len(packages) > 1:
        report["warnings"].append(
            f"several onnxruntime packages share one import folder ({', '.join(packages)}); keep only one"
        )
    try:
        report["requested_device"] = requested_device(device)[0]
        report["device"] = preferred_device(device)
    except PhotoMendError as exc:
        report["requested_device"] = device
        report["device"] = None
        report["warnings"].append(str(exc))

    models = []
    for spec in all_specs():
        status = model_status(spec)
        entry: dict[str, Any] = {
            "id": spec.id,
            "file": spec.file,
            "path": str(status.path),
            "present": status.present,
            "verified": status.verified,
            "message": status.message,
        }
        # The text encoder's files and the task head are read by engine.instructions on the CPU, not run
        # through get_session: checked (sha256) like the networks, but there is no session to probe.
        if probe and spec.onnx and status.verified and report["device"] is not None:
            try:
                session = get_session(spec, device)
                entry["device"] = session.device
                entry["providers"] = session.providers
            except PhotoMendError as exc:
                entry["verified"] = False
                entry["message"] = str(exc)
        models.append(entry)
    report["models"] = models
    return report
