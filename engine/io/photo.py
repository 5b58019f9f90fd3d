"""The in-memory photo: float32 RGB pixels in [0, 1] plus what is needed to write it back faithfully."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# Rec. 601 luma, the weights Pillow's "RGB" -> "L" conversion uses, so a greyscale photo written
# back by PhotoMend matches what other tools would produce from the same RGB pixels.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


_WARNINGS_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_warnings() -> Iterator[None]:
    """Silence warnings from Pillow/OpenCV while a file is decoded or encoded.

    warnings.catch_warnings swaps process-wide state; two threads overlapping in it can restore
    each other's filters and leave every warning in the process ignored. The lock serialises
    engine.io's own uses (reads and writes of one app rarely overlap, and when they do they wait).
    """
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@dataclass
class Photo:
    """A decoded photo, upright (EXIF orientation applied), with its metadata kept for writing."""

    pixels: np.ndarray  # float32 H x W x 3, RGB, [0, 1]; greyscale is replicated to 3 channels
    alpha: np.ndarray | None = None  # float32 H x W in [0, 1], kept aside and re-attached on write
    bit_depth: int = 8  # 8 or 16: precision of the source (16-bit in -> 16-bit out)
    grayscale: bool = False  # source was greyscale: written back as greyscale
    format: str = "PNG"  # format of the source: "JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF", "JXL", "RAW"...
    exif: bytes | None = None  # EXIF ("Exif\0\0" + TIFF structure) with orientation reset to 1
    icc_profile: bytes | None = None
    source: Path | None = None
    # What the user should know about how the file was read, one sentence each, without the file's
    # name (the face that prints them adds it): only the first frame of an animation or multi-page
    # file, JPEG data damage libjpeg recovered from, a RAW without white balance, codec warnings.
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.pixels = _as_rgb_float(self.pixels, "pixels")
        if self.alpha is not None:
            self.alpha = _as_alpha_float(self.alpha, self.pixels.shape[:2])
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, not {self.bit_depth}")

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def with_pixels(self, pixels: np.ndarray) -> Photo:
        """Same metadata, new pixels; alpha is resized along if the new pixels have another size."""
        pixels = _as_rgb_float(pixels, "pixels")
        alpha = self.alpha
        if alpha is not None and alpha.shape != pixels.shape[:2]:
            height, width = pixels.shape[:2]
            alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
        return dataclasses.replace(self, pixels=pixels, alpha=alpha)

    def luminance(self) -> np.ndarray:
        """H x W float32 luma (Rec. 601), the channel a greyscale photo is written from."""
        return luma(self.pixels)


def luma(pixels: np.ndarray) -> np.ndarray:
    """H x W float32 Rec. 601 luma of H x W x 3 RGB pixels."""
    return np.asarray(pixels, dtype=np.float32) @ _LUMA_WEIGHTS


def photo_from_array(
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    bit_depth: int | None = None,
    format: str = "PNG",
) -> Photo:
    """A Photo from an array (synthetic images, tests, other libraries), no file behind it.

    uint8 / uint16 arrays are scaled to [0, 1] and set the bit depth; float arrays are taken as
    [0, 1] already (clipped). H x W means greyscale; H x W x 2 / x 4 carry alpha in the last channel.
    """
    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[2] in (2, 4):
        if alpha is not None:
            raise ValueError("alpha given twice: as a channel and as an argument")
        alpha = array[..., -1]
        array = array[..., :-1]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"expected H x W, H x W x 1/2/3/4 pixels, got shape {array.shape}")
    depth = bit_depth if bit_depth is not None else (16 if array.dtype == np.uint16 else 8)
    grayscale = array.ndim == 2
    scaled = to_float(array)
    if grayscale:
        scaled = np.repeat(scaled[..., None], 3, axis=2)
    alpha_float = None if alpha is None else to_float(np.asarray(alpha))
    return Photo(pixels=scaled, alpha=alpha_float, bit_depth=depth, grayscale=grayscale, format=format)


def to_float(array: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] from uint8 (/255), uint16 (/65535) or float (clipped) data; always a new array."""
    if array.dtype == np.uint8:
        out = array.astype(np.float32)
        out *= np.float32(1.0 / 255.0)
        return out
    if array.dtype == np.uint16 or array.dtype == np.dtype(">u2"):
        out = array.astype(np.float32)
        out *= np.float32(1.0 / 65535.0)
        return out
    if np.issubdtype(array.dtype, np.floating):
        out = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(out, 0.0, 1.0, out=out)
    raise ValueError(f"unsupported pixel dtype {array.dtype}")


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """[0, 1] float pixels -> uint8 with rounding (values outside [0, 1] and NaN are clipped)."""
    return _quantize(pixels, 255, np.uint8)


def to_uint16(pixels: np.ndarray) -> np.ndarray:
    """[0, 1] float pixels -> uint16 with rounding (values outside [0, 1] and NaN are clipped)."""
    return _quantize(pixels, 65535, np.uint16)


#: Rows quantized at a time: the float32 working copy and the NaN/inf masks are a band, not a second photo
#: (a 48 MP photo's float32 copy alone is 576 MB; python -m bench.speed --memory).
QUANTIZE_ROWS = 256


def _quantize(pixels: np.ndarray, top: int, dtype: type[np.unsignedinteger]) -> np.ndarray:
    out = np.empty(pixels.shape, dtype)
    for start in range(0, pixels.shape[0], QUANTIZE_ROWS):
        band = slice(start, start + QUANTIZE_ROWS)
        scaled = np.multiply(pixels[band], np.float32(top), dtype=np.float32)
        np.nan_to_num(scaled, copy=False, nan=0.0, posinf=float(top), neginf=0.0)
        np.clip(scaled, 0.0, float(top), out=scaled)
        np.rint(scaled, out=scaled)
        out[band] = scaled
    return out


def _as_rgb_float(pixels: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(pixels)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"{name} must be H x W x 3 RGB, got shape {array.shape}")
    if array.dtype != np.float32:
        # Integer arrays here are almost always a mistake (uint8 taken for [0, 1]): be explicit.
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{name} must be float in [0, 1], got {array.dtype} (use photo_from_array)")
        array = array.astype(np.float32)
    return array


def _as_alpha_float(alpha: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(alpha)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.shape != tuple(shape):
        raise ValueError(f"alpha must be H x W matching the pixels {tuple(shape)}, got {array.shape}")
    if array.dtype != np.float32:
        array = to_float(array)
    return array
