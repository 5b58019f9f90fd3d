"""Model descriptors, the explicit registry, and verified model paths."""

from __future__ import annotations

from engine.models.loading import (
    ModelStatus,
    file_sha256,
    model_path,
    model_status,
    spec_file,
    text_encoder_dir,
)
from engine.models.registry import (
    DENOISE,
    DETECTOR,
    ENLARGE_X2,
    ENLARGE_X4,
    GRAIN_JPEG,
    JPEG,
    REGISTRY,
    RESTORE,
    SHAKE,
    TASK_HEAD,
    TEXT_ENCODER,
    TEXT_TOKENIZER,
    all_specs,
    get_spec,
)
from engine.models.spec import MODELS_FOLDER, PLACEHOLDER_SHA256, TEXT_ENCODER_FOLDER, ModelSpec

__all__ = [
    "DENOISE",
    "DETECTOR",
    "ENLARGE_X2",
    "ENLARGE_X4",
    "GRAIN_JPEG",
    "JPEG",
    "MODELS_FOLDER",
    "PLACEHOLDER_SHA256",
    "REGISTRY",
    "RESTORE",
    "SHAKE",
    "TASK_HEAD",
    "TEXT_ENCODER",
    "TEXT_ENCODER_FOLDER",
    "TEXT_TOKENIZER",
    "ModelSpec",
    "ModelStatus",
    "all_specs",
    "file_sha256",
    "get_spec",
    "model_path",
    "model_status",
    "spec_file",
    "text_encoder_dir",
]
