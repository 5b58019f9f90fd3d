"""Model descriptors, the explicit registry, and verified model paths."""

from __future__ import annotations

from engine.models.loading import ModelStatus, file_sha256, model_path, model_status, spec_file
from engine.models.registry import DENOISE, DETECTOR, JPEG, REGISTRY, RESTORE, SHAKE, all_specs, get_spec
from engine.models.spec import PLACEHOLDER_SHA256, ModelSpec

__all__ = [
    "DENOISE",
    "DETECTOR",
    "JPEG",
    "PLACEHOLDER_SHA256",
    "REGISTRY",
    "RESTORE",
    "SHAKE",
    "ModelSpec",
    "ModelStatus",
    "all_specs",
    "file_sha256",
    "get_spec",
    "model_path",
    "model_status",
    "spec_file",
]
