"""Mutation fuzz of the real reader: PNG, JPEG, TIFF, WebP, AVIF, HEIC and JPEG XL bytes, bit-flipped, with
bytes inserted, deleted, overwritten, cut short and chunks duplicated, with a fixed seed.

CI reads PHOTOMEND_FUZZ_FILES mutated files (default 1500, about half a minute on two cores); a long run
by hand: `PHOTOMEND_FUZZ_FILES=10000 .venv/bin/python -m pytest tests/engine/test_fuzz_read.py -s`
(PHOTOMEND_FUZZ_SEED picks another sequence; PHOTOMEND_FUZZ_REPORT=path writes the figures as JSON).
Every file must give a Photo or a one-line PhotoReadError naming it, within the time limit, with nothing
on stderr, and leave every file byte-identical.
"""

from __future__ import annotations

import collections
import json
import os
import re
import struct
from pathlib import Path

import numpy as np

from engine.io import AVIF_AVAILABLE, to_uint8
from tests.conftest import textured_image
from tests.engine.test_formats import camera_exif
from tests.engine.test_hostile_files import _engine, _pil, check_outcomes, read_in_workers, sha256_of

FILES = int(os.environ.get("PHOTOMEND_FUZZ_FILES", "1500"))
SEED = int(os.environ.get("PHOTOMEND_FUZZ_SEED", "27"))


def fuzz_seeds() -> dict[str, bytes]:
    """The valid files mutations start from: each format with its metadata, several codings."""
    from engine.io.encoders import write_png, write_tiff

    rgb = to_uint8(textured_image(40, 56, seed=SEED))
    rgba = np.dstack([rgb, rgb[..., 0]])
    rgb16 = np.random.default_rng(SEED).integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    exif = camera_exif(orientation=6).tobytes()
    seeds = {
        "png": _pil(rgb, "PNG", exif=exif),
        "png16": _engine(write_png, rgb16),
        "jpeg": _pil(rgb, "JPEG", quality=85, exif=exif),
        "jpeg_progressive": _pil(rgb, "JPEG", quality=85, progressive=True),
        "tiff_lzw": _pil(rgb, "TIFF", compression="tiff_lzw"),
        "tiff16": _engine(write_tiff, rgb16, exif=exif),
        "webp": _pil(rgb, "WEBP", quality=80),
        "webp_lossless": _pil(rgba, "WEBP", lossless=True),
        "heic": _pil(rgb, "HEIF", quality=70, exif=exif),
        "jxl": _pil(rgb, "JXL", quality=80),
    }
    if AVIF_AVAILABLE:
        seeds["avif"] = _pil(rgb, "AVIF", quality=60)
    return seeds


_SUFFIX = {
    "png": ".png",
    "jpeg": ".jpg",
    "tiff": ".tif",
    "webp": ".webp",
    "heic": ".heic",
    "jxl": ".jxl",
    "avif": ".avif",
}


def _png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each chunk after the signature."""
    spans, at = [], 8
    while at + 12 <= len(data):
        end = at + 12 + struct.unpack(">I", data[at : at + 4])[0]
        spans.append((at, min(end, len(data))))
        at = end
    return spans


def mutate(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One random mutation of `data`: (its kind, the mutated bytes)."""
    kind = str(rng.choice(["flip", "insert", "delete", "truncate", "duplicate", "overwrite", "header"]))
    out = bytearray(data)
    size = len(out)
    if kind == "flip":
        for _ in range(int(rng.integers(1, 9))):
            at = int(rng.integers(0, size))
            out[at] ^= 1 << int(rng.integers(0, 8))
    elif kind == "insert":
        at = int(rng.integers(0, size))
        out[at:at] = rng.integers(0, 256, int(rng.integers(1, 17)), np.uint8).tobytes()
    elif kind == "delete":
        at = int(rng.integers(0, size))
        del out[at : at + int(rng.integers(1, 65))]
    elif kind == "truncate":
        del out[int(rng.integers(1, size)) :]
    elif kind == "duplicate":
        chunks = _png_chunks(data) if data.startswith(b"\x89PNG") else []
        if chunks:
            start, end = chunks[int(rng.integers(0, len(chunks)))]
        else:
            start = int(rng.integers(0, size))
            end = min(size, start + int(rng.integers(16, 513)))
        out[end:end] = data[start:end]
    elif kind == "overwrite":  # the values that break size and offset fields
        at = int(rng.integers(0, max(1, size - 4)))
        value = [
            b"\x00\x00\x00\x00",
            b"\xff\xff\xff\xff",
            b"\x7f\xff\xff\xff",
            b"\x80\x00\x00\x00",
            b"\x00\x00\x01\x00",
        ]
        out[at : at + 4] = value[int(rng.integers(0, len(value)))]
    else:  # the header and first structures, where sizes, counts and offsets live
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, min(size, 128)))
            out[at] = int(rng.integers(0, 256))
    return kind, bytes(out)


def _reason_kind(message: str) -> str:
    """A failure's reason without the file, the codec's words and the numbers: what kind of failure."""
    reason = message.split(": ", 1)[1]
    reason = re.sub(r" \(.*", "", reason)
    return re.sub(r"\d[\d.,x]*(?: ?(?:KB|MB|GB|bytes|MP|pixels|-pixel))?", "N", reason)


def test_mutation_fuzz_of_the_reader(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    seeds = fuzz_seeds()
    names = sorted(seeds)
    kinds: dict[str, str] = {}
    for index in range(FILES):
        name = names[index % len(names)]
        kind, data = mutate(seeds[name], rng)
        suffix = _SUFFIX[re.sub(r"(_.*|16)$", "", name)]
        path = tmp_path / f"{index:05d}_{name}_{kind}{suffix}"
        path.write_bytes(data)
        kinds[str(path)] = kind
    paths = sorted(tmp_path.iterdir())
    before = sha256_of(paths)

    results, printed = read_in_workers(paths)

    assert len(results) == FILES
    check_outcomes(results, printed)
    assert sha256_of(paths) == before
    reasons = collections.Counter(
        _reason_kind(r.message) if r.outcome == "error" else "read" for r in results
    )
    slowest = max(results, key=lambda r: r.seconds)
    figures = {
        "files": len(results),
        "seed": SEED,
        "read": reasons.pop("read", 0),
        "refused": sum(reasons.values()),
        "refused_by_reason": dict(reasons.most_common()),
        "notes": sum(1 for r in results if r.outcome == "ok" and r.message),
        "tracebacks": 0,
        "slowest_s": round(slowest.seconds, 3),
        "slowest_file": Path(slowest.path).name,
        "mutations": dict(collections.Counter(kinds.values())),
    }
    print("\nfuzz:", json.dumps(figures, indent=1))
    report = os.environ.get("PHOTOMEND_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(figures, indent=1) + "\n")
