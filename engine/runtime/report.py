"""What `photomend info` prints about ONNX Runtime, devices and models."""

from __future__ import annotations

from typing import Any

import onnxruntime as ort

from engine.errors import PhotoMendError
from engine.models import all_specs, model_status
from engine.paths import resources_dir
from engine.runtime.devices import available_devices, preferred_device, requested_device
from engine.runtime.flavour import install_problem, installed_distributions
from engine.runtime.sessions import get_session


def installed_onnxruntime_packages() -> list[str]:
    """Installed onnxruntime flavours as "name version"; more than one is a broken install."""
    return [str(distribution) for distribution in installed_distributions()]


def device_report(device: str | None = None, *, probe: bool = True) -> dict[str, Any]:
    """A JSON-ready summary; with `probe`, a verified ONNX model is loaded to read back the real provider.

    `onnxruntime_flavour` is the extra that installed ONNX Runtime ("cpu", "cuda", "directml"; another
    distribution's name; "unknown" when no known distribution provides the module), None when several are
    installed (a warning says how to fix it; models are then not probed). `models` lists every registry
    entry (the networks, the text encoder's weights and tokenizer, the task head), each checked against its
    recorded sha256.
    """
    distributions = installed_distributions()
    problem = install_problem(distributions)
    flavour: str | None = (
        "unknown"  # the module imports, but from no distribution listed in ORT_DISTRIBUTIONS
    )
    if distributions:
        flavour = distributions[0].flavour if len(distributions) == 1 else None
    report: dict[str, Any] = {
        "onnxruntime": ort.__version__,
        "onnxruntime_flavour": flavour,
        "onnxruntime_packages": [str(d) for d in distributions],
        "available_providers": list(ort.get_available_providers()),
        "available_devices": available_devices(),
        "resources": str(resources_dir()),
        "warnings": [problem] if problem else [],
    }
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
        # With two flavours installed every session would fail with the same line, already a warning.
        if probe and spec.onnx and status.verified and report["device"] is not None and not problem:
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
