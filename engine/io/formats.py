"""Which file formats PhotoMend reads and writes, and how a suffix maps to a Pillow format name."""

from __future__ import annotations

from pathlib import Path

from PIL import features

# AVIF is built into Pillow >= 11.2 when the wheel ships libavif; older or slimmer builds lack it,
# so it is offered only where this Pillow can really decode it. HEIC would need the pillow-heif
# plugin, which PhotoMend does not depend on.
# (features.check warns about names an older Pillow does not know, hence the membership test.)
AVIF_AVAILABLE: bool = "avif" in features.modules and bool(features.check_module("avif"))

_SUFFIX_TO_FORMAT: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
if AVIF_AVAILABLE:
    _SUFFIX_TO_FORMAT[".avif"] = "AVIF"

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_SUFFIX_TO_FORMAT)

# Pillow plugins read_photo lets Image.open try. A whitelist keeps Pillow away from formats that
# shell out or parse exotic containers (EPS runs Ghostscript). Camera JPEGs with a multi-picture
# index come out of the JPEG plugin labelled "MPO"; they are JPEGs for every purpose here.
READ_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "WEBP", "BMP") + (("AVIF",) if AVIF_AVAILABLE else ())

WRITE_FORMATS: frozenset[str] = frozenset(_SUFFIX_TO_FORMAT.values())

_FORMAT_ALIASES: dict[str, str] = {"JPG": "JPEG", "TIF": "TIFF", "MPO": "JPEG"}

# What each output format can hold: lossy ones take a quality, some lack greyscale or alpha.
LOSSY_FORMATS: frozenset[str] = frozenset({"JPEG", "WEBP", "AVIF"})
GREYSCALE_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "TIFF", "BMP"})
# Pillow writes 32-bit BMPs but reads them back without alpha, as do many viewers: BMP is flattened.
ALPHA_FORMATS: frozenset[str] = frozenset({"PNG", "TIFF", "WEBP", "AVIF"})
SIXTEEN_BIT_FORMATS: frozenset[str] = frozenset({"PNG", "TIFF"})


def format_for_suffix(path: Path | str) -> str | None:
    """Pillow format name for a file's suffix ("JPEG" for .jpg), or None when unsupported."""
    return _SUFFIX_TO_FORMAT.get(Path(path).suffix.lower())


def normalize_format(name: str) -> str | None:
    """Canonical output format for a user-given name ("jpg" -> "JPEG"), or None when unsupported."""
    upper = name.strip().lstrip(".").upper()
    upper = _FORMAT_ALIASES.get(upper, upper)
    return upper if upper in WRITE_FORMATS else None
