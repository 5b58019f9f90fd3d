"""write_photo: a Photo -> a file, atomically, keeping bit depth, greyscale, alpha, EXIF and ICC."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from engine.errors import PhotoWriteError
from engine.io import encoders
from engine.io.formats import (
    ALPHA_FORMATS,
    GREYSCALE_FORMATS,
    LOSSY_FORMATS,
    RAW_OUTPUT_SUFFIX,
    SIXTEEN_BIT_FORMATS,
    format_for_suffix,
    normalize_format,
)
from engine.io.photo import Photo, luma, quiet_warnings, to_uint8, to_uint16

DEFAULT_QUALITY = {"JPEG": 95, "WEBP": 95, "AVIF": 90, "HEIF": 90, "JXL": 90}
PNG_COMPRESS_LEVEL = 6
TIFF_COMPRESS_LEVEL = 6
TEMP_SUFFIX = ".photomend-tmp"
_JPEG_EXIF_LIMIT = 65533 - 8
#: Temp files are ".pm-<8 hex>.photomend-tmp": a fixed 26 bytes, so a photo whose name is already at the
#: file system's limit (255 bytes) can still be written. Earlier versions made
#: ".<name>.<8 hex>.photomend-tmp"; stale ones of that form are cleaned up too.
_TEMP_NAME = re.compile(r"\.(pm-|.+\.)[0-9a-f]{8}" + re.escape(TEMP_SUFFIX))


def write_photo(
    photo: Photo,
    path: Path | str,
    *,
    format: str | None = None,
    quality: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``photo`` to ``path`` atomically (temp file in the same folder, fsync, os.replace).

    The format comes from ``format`` or else the suffix. ``quality`` (1-100) applies to JPEG, WebP,
    AVIF, HEIC and JPEG XL. Existing files, and above all the photo's own source, are only replaced with
    ``overwrite=True``. Raises PhotoWriteError with a one-line reason; no partial file is left behind.
    """
    path = Path(path)
    fmt = _resolve_format(path, format)
    if quality is not None and not 1 <= quality <= 100:
        raise PhotoWriteError(path, f"quality must be between 1 and 100, not {quality}")
    if not overwrite:
        if photo.source is not None and _same_file(photo.source, path):
            raise PhotoWriteError(path, "refusing to overwrite the original photo")
        if path.exists():
            raise PhotoWriteError(path, "file already exists")
    if path.is_dir():
        raise PhotoWriteError(path, "is a folder")
    if not path.parent.is_dir():
        raise PhotoWriteError(path, f"folder {path.parent} does not exist")

    with quiet_warnings():
        _write_atomically(path, lambda handle: _encode(photo, fmt, quality, handle))
    return path


def _resolve_format(path: Path, format: str | None) -> str:
    if format is not None:
        fmt = normalize_format(format)
        if fmt is None:
            raise PhotoWriteError(path, f"unsupported output format {format!r}")
        return fmt
    fmt = format_for_suffix(path)
    if fmt == "RAW":
        raise PhotoWriteError(
            path,
            f"cannot write camera RAW ({path.suffix}): a restored photo is developed, not sensor data; "
            f"use {RAW_OUTPUT_SUFFIX} (16-bit) or another format",
        )
    if fmt is None:
        shown = path.suffix or "(none)"
        raise PhotoWriteError(
            path, f"unsupported file suffix {shown}: use .jpg, .png, .tif, .webp, .bmp, .avif, .heic or .jxl"
        )
    return fmt


def _same_file(source: Path, target: Path) -> bool:
    try:
        if source.resolve() == target.resolve():
            return True
        # Hard links and case-insensitive file systems: different names, same file.
        return target.exists() and source.exists() and os.path.samefile(source, target)
    except OSError:
        return False


def _write_atomically(path: Path, encode: Any) -> None:
    """Run ``encode(handle)`` into a temp file next to ``path``, fsync, then rename over ``path``.

    On any error or interrupt (KeyboardInterrupt included) the temp file is removed and ``path`` is
    untouched. Only a hard kill can leave a ``.pm-<random>.photomend-tmp`` file behind.
    """
    temp, handle = _create_temp(path)
    try:
        try:
            with handle:
                encode(handle)
                handle.flush()
                os.fsync(handle.fileno())
            _keep_permissions(path, temp)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
    except PhotoWriteError:
        raise
    except OSError as exc:
        raise PhotoWriteError(path, exc.strerror or str(exc) or "cannot write the file") from exc
    except (ValueError, TypeError, KeyError, SyntaxError, zlib.error) as exc:
        # Pillow reports encoder failures (size limits of WebP/JPEG, odd metadata) as these.
        raise PhotoWriteError(path, f"cannot encode as {path.suffix or 'this format'}: {exc}") from exc
    _fsync_folder(path.parent)


def remove_stale_temp_files(folder: Path | str, *, recursive: bool = False) -> list[Path]:
    """Delete temp files that a hard-killed write_photo left in ``folder``; returns what was removed.

    Only names write_photo makes (``.pm-<8 hex>.photomend-tmp``, or an older version's
    ``.<name>.<8 hex>.photomend-tmp``) are touched.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f".*{TEMP_SUFFIX}"
    candidates = folder.rglob(pattern) if recursive else folder.glob(pattern)
    removed = []
    for candidate in candidates:
        if candidate.is_file() and _TEMP_NAME.fullmatch(candidate.name):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _create_temp(path: Path) -> tuple[Path, BinaryIO]:
    """A new temp file in the target's folder. os.open with mode 0o666 lets the umask decide the
    permissions, as for any new file (tempfile would make it owner-only)."""
    for _ in range(100):
        temp = path.with_name(f".pm-{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise PhotoWriteError(path, exc.strerror or "cannot create a file in this folder") from exc
        return temp, os.fdopen(fd, "wb")
    raise PhotoWriteError(path, "cannot create a temporary file in this folder")


def _keep_permissions(path: Path, temp: Path) -> None:
    """A replaced file keeps its permission bits (a shared, group-writable photo stays so)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # a new file: the umask applied at creation is right
    with contextlib.suppress(OSError):
        os.chmod(temp, mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders and does not need it."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(photo: Photo, fmt: str, quality: int | None, handle: BinaryIO) -> None:
    samples, channels_are_grey = _samples_for(photo, fmt)
    icc_profile = _icc_for(photo.icc_profile, grey=channels_are_grey)
    exif = _exif_for(photo.exif, samples.shape[1], samples.shape[0])

    if fmt == "TIFF":
        encoders.write_tiff(
            handle, samples, icc_profile=icc_profile, exif=exif, compress_level=TIFF_COMPRESS_LEVEL
        )
        return
    if fmt == "PNG" and samples.dtype == np.uint16:
        encoders.write_png(
            handle, samples, icc_profile=icc_profile, exif=exif, compress_level=PNG_COMPRESS_LEVEL
        )
        return

    image = Image.fromarray(samples)
    options: dict[str, Any] = {}
    if fmt in LOSSY_FORMATS:
        options["quality"] = quality if quality is not None else DEFAULT_QUALITY[fmt]
    if fmt == "JPEG":
        options["subsampling"] = 0  # 4:4:4: chroma at full resolution, restored detail is not smeared
    if fmt == "PNG":
        options["compress_level"] = PNG_COMPRESS_LEVEL
    if fmt == "JPEG" and exif and len(exif) > _JPEG_EXIF_LIMIT:
        exif = None  # one APP1 segment holds at most 64 KB; a photo without EXIF beats no photo
    if fmt != "BMP":  # Pillow's BMP writer stores neither EXIF nor ICC
        if icc_profile:
            options["icc_profile"] = icc_profile
        if exif:
            options["exif"] = exif
    image.save(handle, format=fmt, **options)


def _samples_for(photo: Photo, fmt: str) -> tuple[np.ndarray, bool]:
    """Integer samples (H x W, or H x W x 2/3/4) in the layout ``fmt`` stores, and whether they are grey.

    16 bits only where the source had them and the format holds them (PNG, TIFF); JPEG/WebP get 8.
    Greyscale sources stay greyscale where the format has a grey mode. CMYK sources arrive here as
    RGB (read_photo converts them) and are written as RGB: separating back into inks needs the
    printer's profile, ink limits and black generation, which only a print workflow knows.
    Alpha is re-attached where the format has one, else the photo is flattened onto white
    (transparent areas of a JPEG would otherwise show whatever colour happens to lie under them).
    """
    sixteen = photo.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS
    quantize = to_uint16 if sixteen else to_uint8
    alpha = photo.alpha
    colour = photo.pixels
    if alpha is not None and fmt not in ALPHA_FORMATS:
        colour = colour * alpha[..., None] + (1.0 - alpha[..., None])
        alpha = None
    grey = photo.grayscale and fmt in GREYSCALE_FORMATS
    # Pillow cannot read back 16-bit grey+alpha TIFF, so that one case is written as RGBA.
    if grey and alpha is not None and sixteen and fmt == "TIFF":
        grey = False
    channels = [quantize(luma(colour))] if grey else [quantize(colour)]
    if alpha is not None:
        channels.append(quantize(alpha))
    if len(channels) == 1:
        return channels[0], grey
    return np.dstack(channels), grey


def _icc_for(profile: bytes | None, *, grey: bool) -> bytes | None:
    """Keep the profile only if it fits the written colour model: an RGB profile on a grey PNG is
    invalid (libpng rejects it), a grey profile does not describe RGB samples."""
    if not profile or len(profile) < 20:
        return None
    space = profile[16:20]
    if grey:
        return profile if space == b"GRAY" else None
    return profile if space == b"RGB " else None


#: EXIF tags that state the pixel size: IFD0's ImageWidth/ImageLength, the Exif IFD's PixelX/YDimension.
_SIZE_TAGS = ((0x0100, 0x0101), (0xA002, 0xA003))
_EXIF_IFD = 0x8769


def _exif_for(exif_bytes: bytes | None, width: int, height: int) -> bytes | None:
    """The EXIF to store, orientation forced to 1 (pixels are upright) and the pixel size it states set to
    what is written (an enlarged photo); dropped if it does not parse."""
    if not exif_bytes:
        return None
    try:
        exif = Image.Exif()
        exif.load(exif_bytes)
        if not len(exif):
            return None
        exif[0x0112] = 1
        sub = exif.get_ifd(_EXIF_IFD)
        for ifd, (x_tag, y_tag) in zip((exif, sub), _SIZE_TAGS, strict=True):
            if x_tag in ifd or y_tag in ifd:
                ifd[x_tag], ifd[y_tag] = width, height
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not stop the photo from being saved
        return None
