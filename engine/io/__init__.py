"""Photo I/O: read a supported file into an upright float32 Photo; write it back faithfully and atomically."""

from __future__ import annotations

from engine.io.formats import (
    AVIF_AVAILABLE,
    HEIF_AVAILABLE,
    JXL_AVAILABLE,
    RAW_AVAILABLE,
    RAW_SUFFIXES,
    SUPPORTED_SUFFIXES,
    format_for_suffix,
    is_raw,
    output_suffix,
)
from engine.io.limits import pixel_limit
from engine.io.photo import Photo, luma, photo_from_array, to_float, to_uint8, to_uint16
from engine.io.read import DEFAULT_MAX_PIXELS, read_photo, read_pixels
from engine.io.write import remove_stale_temp_files, write_photo

__all__ = [
    "AVIF_AVAILABLE",
    "DEFAULT_MAX_PIXELS",
    "HEIF_AVAILABLE",
    "JXL_AVAILABLE",
    "RAW_AVAILABLE",
    "RAW_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "Photo",
    "format_for_suffix",
    "is_raw",
    "luma",
    "output_suffix",
    "photo_from_array",
    "pixel_limit",
    "read_photo",
    "read_pixels",
    "remove_stale_temp_files",
    "to_float",
    "to_uint16",
    "to_uint8",
    "write_photo",
]
