"""Locate a model file and check it against its recorded sha256 before anything loads it."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError
from engine.models.spec import ModelSpec
from engine.paths import models_dir

_CHUNK = 1 << 20

# (resolved path, mtime_ns, size) -> hex digest. A model is hundreds of MB: hashing it on every
# session lookup or `photomend info` would cost seconds, while a replaced file changes mtime or size.
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def spec_file(spec: ModelSpec) -> Path:
    """Where the spec's file should be (absolute `file` values are kept as they are)."""
    return models_dir() / spec.file


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
    path = spec_file(spec)
    try:
        model_path(spec)
    except ModelError as exc:
        return ModelStatus(spec.id, path, present=path.is_file(), verified=False, message=str(exc))
    return ModelStatus(spec.id, path, present=True, verified=True, message="ok")
