"""Camera RAW files through LibRaw (rawpy): developed to upright 16-bit sRGB with the camera's white balance.

How a RAW is developed, and why:
* the camera's white balance as shot (``use_camera_wb``); LibRaw's daylight balance where the file
  records none (the photo then carries a note saying so);
* the camera's exposure: no automatic brightening, and the white level the file states rather than one
  LibRaw guesses from the brightest pixel (``adjust_maximum_thr=0``), so highlights clip where the
  camera's did;
* sRGB primaries and the sRGB tone curve (gamma 2.4, toe slope 12.92): the same encoding every other
  8/16-bit photo PhotoMend reads is in, which is what the restoration networks were trained on;
* 16 bits per channel, LibRaw's default demosaicing (AHD), highlights clipped;
* LibRaw turns the photo upright from the file's own orientation, so EXIF orientation is reset to 1.

EXIF kept: for TIFF-based RAWs (DNG, CR2, NEF, ARW, PEF, ORF, RW2, SRW...) the file's own IFD0 camera
tags (make, model, dates, artist, copyright), its Exif sub-IFD (exposure, aperture, ISO, lens, dates)
and GPS; else the EXIF of the RAW's embedded JPEG preview (RAF, CR3 where it has one); else a small EXIF
built from what LibRaw reports (ISO, shutter, aperture, focal length, time). Dropped: the maker note (its
offsets point into the RAW file) and the RAW layout and DNG tags (they describe sensor data that the
developed photo does not have).
"""

from __future__ import annotations

import contextlib
import datetime
import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from engine.io.encoders import TIFF_STRUCTURE_TAGS

try:
    import rawpy
except ImportError:  # pragma: no cover - formats.RAW_AVAILABLE keeps RAW suffixes out then
    rawpy = None  # type: ignore[assignment]

_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_MAKER_NOTE = 0x927C
_ORIENTATION = 0x0112
# DNG's own tags and the makers' private IFD0 tags all sit at 50000 and above.
_FIRST_PRIVATE_TAG = 50000
# Read at most this much of a RAW to find its EXIF: IFD0 and the Exif sub-IFD sit near the start.
_EXIF_READ_LIMIT = 64 << 20


@dataclass
class DevelopedRaw:
    """A RAW developed by LibRaw: H x W x 3 uint16 sRGB, upright, and what the photo keeps with it."""

    rgb: np.ndarray
    exif: bytes | None
    notes: tuple[str, ...]


def declared_size(path: Path) -> tuple[int, int, object]:
    """(width, height, an open LibRaw handle) from the RAW's header alone; nothing is decoded yet.

    The caller closes the handle (rawpy's RawPy) or passes it to develop().
    """
    assert rawpy is not None
    raw = rawpy.imread(str(path))
    sizes = raw.sizes
    width, height = int(sizes.width), int(sizes.height)
    if sizes.flip in (5, 6):  # LibRaw's flips that swap the sides
        width, height = height, width
    return width, height, raw


def develop(raw: object, path: Path) -> DevelopedRaw:
    """Develop an open RAW (from declared_size) to 16-bit sRGB; closes it."""
    assert rawpy is not None
    notes: list[str] = []
    with raw as opened:  # type: ignore[attr-defined]
        camera_wb = [float(v) for v in opened.camera_whitebalance]
        if not any(camera_wb[:3]):
            notes.append("the RAW records no white balance: developed with LibRaw's daylight balance")
        rgb = opened.postprocess(
            use_camera_wb=True,
            output_bps=16,
            no_auto_bright=True,
            adjust_maximum_thr=0.0,
            output_color=rawpy.ColorSpace.sRGB,
            gamma=(2.4, 12.92),
            highlight_mode=rawpy.HighlightMode.Clip,
        )
        exif = raw_exif(path, opened)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint16:
        raise ValueError(f"LibRaw developed an unexpected {rgb.dtype} array of shape {rgb.shape}")
    return DevelopedRaw(rgb=rgb, exif=exif, notes=tuple(notes))


def raw_exif(path: Path, opened: object | None = None) -> bytes | None:
    """The EXIF a developed copy keeps ("Exif\\0\\0" + TIFF), orientation 1; None when none is found."""
    exif = _tiff_container_exif(path)
    if exif is None and opened is not None:
        exif = _preview_exif(opened)
    if exif is None and opened is not None:
        exif = _libraw_exif(opened)
    if exif is None:
        return None
    try:
        _drop_layout_tags(exif)
        exif[_ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - EXIF that does not serialise is dropped; the photo still develops
        return None


def _tiff_container_exif(path: Path) -> Image.Exif | None:
    """IFD0 (+ Exif and GPS sub-IFDs) of a TIFF-based RAW. ORF ("IIRO"/"IIRS") and RW2 ("IIU\\0") use
    their own magic numbers on a TIFF structure: the standard one is put in its place for parsing."""
    try:
        with path.open("rb") as handle:
            data = bytearray(handle.read(_EXIF_READ_LIMIT))
    except OSError:
        return None
    if data[:2] == b"II" and data[2:4] in (b"RO", b"RS", b"U\x00"):
        data[2:4] = b"*\x00"
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    try:
        exif = Image.Exif()
        exif.load(b"Exif\x00\x00" + bytes(data))
        # Sub-IFDs load lazily from the bytes given: read them now, while they are at hand.
        for pointer in (_EXIF_IFD, _GPS_IFD):
            if pointer in exif:
                exif.get_ifd(pointer)
        return exif if len(exif) else None
    except Exception:  # noqa: BLE001 - a damaged IFD means no EXIF, not an unreadable photo
        return None


def _preview_exif(opened: object) -> Image.Exif | None:
    try:
        thumb = opened.extract_thumb()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - many RAWs have no usable preview
        return None
    if thumb.format != rawpy.ThumbFormat.JPEG:
        return None
    try:
        with Image.open(io.BytesIO(bytes(thumb.data)), formats=["JPEG"]) as preview:
            exif = preview.getexif()
            for pointer in (_EXIF_IFD, _GPS_IFD):
                if pointer in exif:
                    exif.get_ifd(pointer)
            return exif if len(exif) else None
    except Exception:  # noqa: BLE001
        return None


def _libraw_exif(opened: object) -> Image.Exif | None:
    """The shooting data LibRaw decoded from the maker's own format, as EXIF tags."""
    try:
        other = opened.other  # type: ignore[attr-defined]
        lens = opened.lens  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return None
    exif = Image.Exif()
    sub = exif.get_ifd(_EXIF_IFD)
    if other.iso_speed > 0:
        sub[0x8827] = int(round(other.iso_speed))  # ISOSpeedRatings
    if other.shutter_speed > 0:
        sub[0x829A] = _rational(other.shutter_speed)  # ExposureTime
    if other.aperture > 0:
        sub[0x829D] = _rational(other.aperture)  # FNumber
    if other.focal_length > 0:
        sub[0x920A] = _rational(other.focal_length)  # FocalLength
    if other.timestamp and other.timestamp > datetime.datetime(1971, 1, 1):
        sub[0x9003] = other.timestamp.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    if lens.model:
        sub[0xA434] = str(lens.model)  # LensModel
    if other.artist:
        exif[0x013B] = str(other.artist)
    if not len(sub):
        return None
    exif[_EXIF_IFD] = sub
    return exif


def _rational(value: float) -> float:
    # Pillow stores a float as a RATIONAL; a limited denominator keeps 1/250 s exactly 1/250.
    return float(Fraction(value).limit_denominator(100000))


def _drop_layout_tags(exif: Image.Exif) -> None:
    for tag in [tag for tag in exif if tag in TIFF_STRUCTURE_TAGS or tag >= _FIRST_PRIVATE_TAG]:
        del exif[tag]
    with contextlib.suppress(KeyError):
        sub = exif.get_ifd(_EXIF_IFD)
        sub.pop(_MAKER_NOTE, None)
        sub.pop(_INTEROP_IFD, None)
