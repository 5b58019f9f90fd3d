"""Read verified weight files: sha256 checked against a recorded constant, safetensors parsed with numpy."""

from __future__ import annotations

import hashlib
import json
import struct
import threading
from pathlib import Path

import numpy as np

from engine.errors import ModelError

# safetensors dtype names -> numpy dtypes (little-endian, as the format requires).
_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def read_model_file(path: Path) -> bytes:
    """A model file's bytes; ModelError (one line) when missing or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: model file missing; reinstall PhotoMend") from exc
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def check_sha256(data: bytes, sha256: str, path: Path) -> None:
    """ModelError unless `data` hashes to `sha256`."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelError(
            f"{path}: sha256 mismatch (expected {sha256[:12]}…, got {actual[:12]}…) — "
            "the file is corrupt or a different version; reinstall it"
        )


def read_verified(path: Path, sha256: str) -> bytes:
    """The file's bytes, after checking they hash to `sha256` (one read serves both)."""
    data = read_model_file(path)
    check_sha256(data, sha256, path)
    return data


class BackgroundSha256:
    """Hash a buffer on a thread while the caller builds from it; `check()` joins and raises on mismatch.

    hashlib releases the GIL on large buffers, so hashing the 90 MB encoder overlaps graph building.
    """

    def __init__(self, data: bytes, sha256: str, path: Path) -> None:
        self._error: ModelError | None = None
        self._thread = threading.Thread(target=self._run, args=(data, sha256, path), daemon=True)
        self._thread.start()

    def _run(self, data: bytes, sha256: str, path: Path) -> None:
        try:
            check_sha256(data, sha256, path)
        except ModelError as exc:
            self._error = exc

    def check(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def parse_safetensors(data: bytes, source: Path | str = "safetensors") -> dict[str, np.ndarray]:
    """Tensors of a safetensors buffer as read-only numpy views (no copy).

    Layout: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then the
    raw tensor bytes, offsets relative to the end of the header.
    """
    try:
        (header_len,) = struct.unpack_from("<Q", data, 0)
        header = json.loads(data[8 : 8 + header_len])
    except (struct.error, ValueError) as exc:
        raise ModelError(f"{source}: not a safetensors file ({exc})") from exc
    base = 8 + header_len
    buffer = memoryview(data)
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ModelError(f"{source}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        array = np.frombuffer(buffer[base + start : base + end], dtype=dtype)
        if array.size != int(np.prod(shape, dtype=np.int64)):
            raise ModelError(f"{source}: tensor {name} has {array.size} values for shape {shape}")
        tensors[name] = array.reshape(shape)
    return tensors
