"""read_photo: any supported file -> an upright Photo, or a PhotoReadError with a one-line reason.

Whatever a file holds, read_photo raises nothing but PhotoReadError (and KeyboardInterrupt): every
decoder error of any type, from any codec, becomes one line naming the file and the reason. In order:
1. the path is looked at before it is opened (lstat/stat): a folder, FIFO, device, socket, dangling or
   looping link, or empty file is refused by kind; the file is opened non-blocking and checked again;
2. the declared size (header only) is checked against the pixel limit (engine.io.limits: the smaller of
   max_pixels and what the memory available allows the restore pipeline) and, for JPEG and PNG,
   against the least data that size needs: a 665-byte JPEG cannot hold 12000 x 12000 pixels;
3. a JPEG's scan data is decoded once, strictly, at 1/8 scale (libjpeg-turbo via simplejpeg): data that
   ends early is refused as truncated (libjpeg would pad it with grey, even when the file ends in an EOI
   marker), other damage libjpeg recovers from becomes a note on the photo;
4. the pixels are decoded; what C codecs print on stderr meanwhile is caught (engine.io.codec_output)
   and becomes the photo's notes or the failure's reason.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageFile, PngImagePlugin

from engine.errors import PhotoReadError
from engine.io import limits, raw
from engine.io.codec_output import CodecOutput
from engine.io.encoders import TIFF_STRUCTURE_TAGS
from engine.io.formats import DECODER_ORIENTS, RAW_AVAILABLE, READ_FORMATS, is_raw, registered_elsewhere
from engine.io.photo import Photo, quiet_warnings, to_float

try:
    import simplejpeg
except ImportError:  # pragma: no cover - a dependency; without it truncated scans go undetected
    simplejpeg = None

DEFAULT_MAX_PIXELS = 200_000_000
#: An embedded ICC profile may be this large (Pillow's PNG reader stops at 1 MB by default, and a
#: press or camera profile with big lookup tables can exceed that).
ICC_PROFILE_LIMIT = 32 << 20

# Image.open(formats=...) looks plugins up directly and fails on any not registered yet; preinit
# registers only the commonest few, so register them all (MPO, WebP, AVIF...) once, here.
Image.init()
# Pillow must never pad a truncated file with grey (some other library in the process could turn
# this on; read_photo checks it at every read, too).
ImageFile.LOAD_TRUNCATED_IMAGES = False

_ORIENTATION = 0x0112
_DNG_VERSION = 50706
_TRUNCATED = "truncated: the file ends before its image data does"
_CORRUPT = "corrupt image data"

# Leading bytes of the formats read_photo supports: a file that starts like one of them but cannot be
# opened is damaged, not "not an image".
_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
    b"BM",
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL ",  # JPEG XL container
)
_ISO_BMFF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis")
_READS = "JPEG, PNG, TIFF, WebP, BMP, AVIF, HEIC/HEIF, JPEG XL and camera RAW"
_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_photo(path: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode a supported photo file into an upright float32 RGB Photo.

    The image size is checked from the header, before any pixel is decoded, against the smaller of
    ``max_pixels`` and the memory limit (engine.io.limits.pixel_limit). Raises PhotoReadError (one line:
    file and reason) for every file that cannot be read, whatever the decoder raised.
    """
    path = Path(path)
    handle, file_size = _open_regular(path)
    with handle:
        limit, by_memory = limits.pixel_limit(max_pixels)
        codec = CodecOutput()
        try:
            # Pillow warns about odd-but-readable files (bad EXIF, large size below the bomb limit...);
            # these are not the user's business and must not escape as warnings or become errors.
            with quiet_warnings(), _pillow_limits(limit), codec:
                photo = _read(path, handle, file_size, limit, by_memory)
        except PhotoReadError as exc:
            if codec.lines and exc.reason.startswith((_CORRUPT, _TRUNCATED)) and "(" not in exc.reason:
                raise PhotoReadError(path, f"{exc.reason} ({codec.lines[0]})") from exc
            raise
        except MemoryError as exc:
            raise PhotoReadError(path, "not enough memory to decode this image") from exc
        except RecursionError as exc:
            raise PhotoReadError(path, f"{_CORRUPT} (structures nested too deeply)") from exc
        except Image.DecompressionBombError as exc:  # raised by plugins that check on their own
            raise PhotoReadError(path, _too_large_reason(handle, path, exc, limit, by_memory)) from exc
        except Exception as exc:  # noqa: BLE001 - any decoder error of any type is a failed file
            raise PhotoReadError(path, _failure_reason(exc, codec.lines)) from exc
    if codec.lines:
        photo.notes = photo.notes + tuple(f"the decoder said: {line}" for line in codec.lines)
    return photo


def read_pixels(path: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Just the float32 H x W x 3 RGB pixels of a photo file."""
    return read_photo(path, max_pixels=max_pixels).pixels


def _open_regular(path: Path) -> tuple[BinaryIO, int]:
    """The file opened for reading, and its size; PhotoReadError for anything but a non-empty regular file.

    The kind is read with lstat/stat first, so a FIFO or device is never opened (opening a FIFO for
    reading blocks until a writer comes). The open itself is non-blocking and its result checked again,
    in case the path was swapped for a FIFO in between.
    """
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            info = _follow_link(path)
    except PhotoReadError:
        raise
    except FileNotFoundError as exc:
        raise PhotoReadError(path, "file not found") from exc
    except PermissionError as exc:
        raise PhotoReadError(path, "permission denied") from exc
    except OSError as exc:
        raise PhotoReadError(path, _os_reason(exc)) from exc
    _check_kind(path, info)
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:
        raise PhotoReadError(path, "permission denied") from exc
    except OSError as exc:
        raise PhotoReadError(path, _os_reason(exc)) from exc
    try:
        opened = os.fstat(fd)
        _check_kind(path, opened)
        return os.fdopen(fd, "rb"), int(opened.st_size)
    except BaseException:
        os.close(fd)
        raise


def _follow_link(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError as exc:
        target = _link_target(path)
        raise PhotoReadError(path, f"broken link: its target {target} does not exist") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PhotoReadError(path, "link loop: the link points back to itself") from exc
        raise


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "(unreadable)"


def _check_kind(path: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise PhotoReadError(path, "is a folder, not a photo")
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "a special file")
        raise PhotoReadError(path, f"not a regular file: {kind}")
    if info.st_size == 0:
        raise PhotoReadError(path, "empty file")


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or "cannot open the file").rstrip(".").lower()


def _read(path: Path, handle: BinaryIO, file_size: int, limit: int, by_memory: bool) -> Photo:
    if RAW_AVAILABLE and is_raw(path):
        return _read_raw(path, handle, file_size, limit, by_memory)
    _check_riff_size(path, handle, file_size)
    try:
        image = Image.open(handle, formats=list(READ_FORMATS))
    except Image.DecompressionBombError as exc:
        raise PhotoReadError(path, _too_large_reason(handle, path, exc, limit, by_memory)) from exc
    except Image.UnidentifiedImageError as exc:
        if RAW_AVAILABLE and _starts_like_tiff(handle):
            # A TIFF Pillow cannot identify may be a RAW under another name (a DNG's colour filter array).
            with contextlib.suppress(PhotoReadError):
                return _read_raw(path, handle, file_size, limit, by_memory)
        raise PhotoReadError(path, _unidentified_reason(handle, path)) from exc

    with image:
        if RAW_AVAILABLE and image.format == "TIFF" and _DNG_VERSION in getattr(image, "tag_v2", {}):
            # A DNG under another name: Pillow would read its small preview IFD as the photo.
            image.close()
            return _read_raw(path, handle, file_size, limit, by_memory)
        width, height = image.size
        source_format = "JPEG" if image.format == "MPO" else str(image.format)
        # A header declaring more pixels than the file's data could hold is cut off (or a bomb): said so
        # before the size limit, which would blame the size.
        jpeg_data = _check_jpeg_length(path, handle, width, height) if source_format == "JPEG" else None
        if source_format == "PNG":
            _check_png_data(path, handle, width, height)
        _check_size(path, width, height, limit, by_memory)
        notes: list[str] = []
        if jpeg_data is not None:
            notes += _strict_jpeg_pass(path, jpeg_data, image.mode)

        notes += _frame_notes(image, source_format)
        # Read the raw mode before loading: loading clears image.tile.
        rawmode = _sixteen_bit_colour_rawmode(image)
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        # Pillow decodes every file, 16-bit colour included (to 8 bits): that validates the data
        # (truncation raises here) and fixes the orientation state. Some plugins (TIFF in recent
        # Pillow) apply EXIF orientation while loading and drop the tag, so the orientation read
        # after load() is exactly what is left to do, whatever the Pillow version.
        image.load()
        icc_profile = image.info.get("icc_profile") or None
        exif = _exif_of(image)
        orientation = 1 if source_format in DECODER_ORIENTS else _orientation(exif)
        # Serialised while the file is open: sub-IFDs (Exif, GPS) of TIFF sources load lazily from it.
        exif_bytes = _exif_bytes(exif, tiff_source=source_format == "TIFF")
        if rawmode is not None:
            colour, alpha, grayscale, bit_depth, note = _decode_16bit_colour(handle, image, rawmode)
            notes += note
        elif source_format == "HEIF" and int(image.info.get("bit_depth") or 8) > 8:
            colour, alpha, grayscale, bit_depth = _decode_deep_heif(handle, image)
        else:
            colour, alpha, grayscale, bit_depth, icc_profile = _decode_with_pillow(path, image, icc_profile)

    colour = _apply_orientation(colour, orientation)
    pixels = to_float(colour)
    if grayscale:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    alpha_float = None if alpha is None else to_float(_apply_orientation(alpha, orientation))
    return Photo(
        pixels=pixels,
        alpha=alpha_float,
        bit_depth=bit_depth,
        grayscale=grayscale,
        format=source_format,
        exif=exif_bytes,
        icc_profile=icc_profile,
        source=path.resolve(),
        notes=tuple(notes),
    )


def _starts_like_tiff(handle: BinaryIO) -> bool:
    handle.seek(0)
    return handle.read(4) in (b"II*\x00", b"MM\x00*")


def _read_raw(path: Path, handle: BinaryIO, file_size: int, limit: int, by_memory: bool) -> Photo:
    """A camera RAW developed by LibRaw (engine.io.raw): 16-bit, camera white balance, upright."""
    assert raw.rawpy is not None
    try:
        width, height, opened = raw.declared_size(path)
    except raw.rawpy.LibRawFileUnsupportedError as exc:
        raise PhotoReadError(
            path, "not a RAW file LibRaw can read (unsupported camera or not a RAW)"
        ) from exc
    except raw.rawpy.LibRawError as exc:
        raise PhotoReadError(path, f"{_CORRUPT} ({_one_line(exc) or type(exc).__name__})") from exc
    try:
        _check_size(path, width, height, limit, by_memory)
        developed = raw.develop(opened, path)
    except raw.rawpy.LibRawError as exc:
        raise PhotoReadError(path, f"{_CORRUPT} ({_one_line(exc) or type(exc).__name__})") from exc
    finally:
        with contextlib.suppress(Exception):
            opened.close()  # type: ignore[attr-defined]
    return Photo(
        pixels=to_float(developed.rgb),
        bit_depth=16,
        format="RAW",
        exif=developed.exif,
        source=path.resolve(),
        notes=developed.notes,
    )


def _check_size(path: Path, width: int, height: int, limit: int, by_memory: bool) -> None:
    if width <= 0 or height <= 0:
        raise PhotoReadError(path, f"{_CORRUPT} (the header declares {width}x{height} pixels)")
    if width * height > limit:
        raise PhotoReadError(path, _size_reason(f"{width}x{height} pixels", width * height, limit, by_memory))


def _size_reason(shown: str, pixels: int | None, limit: int, by_memory: bool) -> str:
    if not by_memory:
        return f"image too large: {shown} exceeds the {_megapixels(limit)} limit"
    need = (
        f" need about {limits.describe_bytes(pixels * limits.BYTES_PER_PIXEL)} to restore;" if pixels else ""
    )
    return (
        f"image too large for the memory available: {shown}{need} the memory free now allows "
        f"{_megapixels(limit)}"
    )


# --- JPEG and PNG: enough data for the declared size, and a strict pass over a JPEG's scans -----------

# SOF markers of Huffman-coded frames (baseline, extended, progressive, lossless); arithmetic ones differ.
_HUFFMAN_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7}
_ARITHMETIC_SOF = {0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _check_jpeg_length(path: Path, handle: BinaryIO, width: int, height: int) -> bytes:
    """The JPEG's bytes, once its scan data is known to be long enough for the declared size."""
    position = handle.tell()
    try:
        handle.seek(0)
        data = handle.read()
    finally:
        handle.seek(position)
    scan_start, sof = _jpeg_scan_start(data)
    if scan_start is not None and sof in _HUFFMAN_SOF:
        held = len(data) - scan_start
        needed = limits.least_jpeg_bytes(width, height)
        if held < needed:
            raise PhotoReadError(
                path,
                f"truncated: the header declares {width}x{height} pixels, which take at least "
                f"{limits.describe_bytes(needed)} of image data; "
                f"the file holds {limits.describe_bytes(held)}",
            )
    return data


def _strict_jpeg_pass(path: Path, data: bytes, mode: str) -> list[str]:
    """Decode the scans once at 1/8 scale with libjpeg's warnings as errors: data that ends early is
    refused as truncated; other damage libjpeg recovers from becomes a note."""
    if simplejpeg is None:
        return []
    colorspace = "CMYK" if mode == "CMYK" else "GRAY"
    try:
        simplejpeg.decode_jpeg(data, colorspace=colorspace, min_factor=8, strict=True)
    except ValueError as exc:
        message = _one_line(exc)
        lowered = message.lower()
        # "found marker 0xd9 instead of RSTn": the end-of-image marker where the next restart interval
        # should begin, i.e. the scan was cut at an interval boundary.
        if "premature end" in lowered or "found marker 0xd9" in lowered:
            raise PhotoReadError(
                path, f"truncated: the JPEG's image data ends early (libjpeg: {message})"
            ) from exc
        if lowered.startswith("corrupt jpeg data") and "extraneous bytes" not in lowered:
            return [f"the JPEG's data is damaged (libjpeg: {message}); parts of the photo may be garbled"]
        if "progression" in lowered or "invalid sos" in lowered:
            return [f"the JPEG's scans are inconsistent (libjpeg: {message}); parts may be garbled"]
        # Anything else is an error libjpeg cannot recover from: Pillow's decode reports it.
    except Exception:  # noqa: BLE001 - this pass only adds checks; Pillow's decode rules on the rest
        pass
    return []


def _jpeg_scan_start(data: bytes) -> tuple[int | None, int | None]:
    """(offset of the first scan's entropy-coded data, the frame's SOF marker) from the marker segments."""
    offset, sof = 2, None
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None, sof
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            offset += 2
            continue
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if marker in _HUFFMAN_SOF or marker in _ARITHMETIC_SOF:
            sof = marker
        if marker == 0xDA:
            return offset + 2 + length, sof
        if marker == 0xD9:
            return None, sof
        offset += 2 + length
    return None, sof


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _check_png_data(path: Path, handle: BinaryIO, width: int, height: int) -> None:
    """Refuse a PNG whose IDAT chunks cannot inflate to the declared size, before anything is allocated."""
    position = handle.tell()
    try:
        handle.seek(8)
        header = handle.read(8)
        if len(header) < 8 or header[4:] != b"IHDR":
            return
        ihdr = handle.read(13)
        if len(ihdr) < 13:
            return
        depth, colour_type = ihdr[8], ihdr[9]
        bits = depth * _PNG_CHANNELS.get(colour_type, 1)
        handle.seek(8 + 8 + struct.unpack(">I", header[:4])[0] + 4)
        held = 0
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                break
            length, kind = struct.unpack(">I", chunk[:4])[0], chunk[4:]
            if kind == b"IDAT":
                held += length
            elif kind == b"IEND" or (held and kind != b"IDAT" and kind not in (b"fdAT", b"fcTL")):
                break
            handle.seek(length + 4, os.SEEK_CUR)
    finally:
        handle.seek(position)
    needed = limits.least_png_bytes(width, height, bits)
    if held < needed:
        raise PhotoReadError(
            path,
            f"truncated: the header declares {width}x{height} pixels, which take at least "
            f"{limits.describe_bytes(needed)} of compressed data; "
            f"the file holds {limits.describe_bytes(held)}",
        )


def _check_riff_size(path: Path, handle: BinaryIO, file_size: int) -> None:
    """A WebP states its length in its RIFF header: a shorter file was cut off."""
    position = handle.tell()
    try:
        handle.seek(0)
        header = handle.read(12)
    finally:
        handle.seek(position)
    if len(header) == 12 and header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        declared = struct.unpack("<I", header[4:8])[0] + 8
        if declared > file_size:
            raise PhotoReadError(
                path,
                f"truncated: the WebP header declares {declared} bytes; the file holds {file_size}",
            )


# --- several frames in one file ------------------------------------------------------------------------

_FRAME_WORDS = {
    "TIFF": ("multi-page TIFF", "pages", "the first page"),
    "HEIF": ("HEIF file", "images", "the primary image"),
    "PNG": ("animated PNG", "frames", "the first frame"),
    "WEBP": ("animated WebP", "frames", "the first frame"),
    "AVIF": ("animated AVIF", "frames", "the first frame"),
    "JXL": ("animated JPEG XL", "frames", "the first frame"),
}


def _frame_notes(image: Image.Image, source_format: str) -> list[str]:
    """A note when a file holds several frames: only the first (HEIF: primary) one is read.

    Restoring every frame would need animation and page writers with their timing and disposal, and
    a restoration costs seconds per frame; PhotoMend restores photos. A JPEG's extra MPO pictures are
    previews or stereo views, not frames of the photo, so they get no note.
    """
    words = _FRAME_WORDS.get(source_format)
    if words is None:
        return []
    try:
        count = int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - a damaged later frame does not stop the first from being read
        return []
    if count <= 1:
        return []
    kind, unit, which = words
    return [f"{kind} with {count} {unit}: only {which} is read and restored"]


def _decode_with_pillow(
    path: Path, image: Image.Image, icc_profile: bytes | None
) -> tuple[np.ndarray, np.ndarray | None, bool, int, bytes | None]:
    """(colour H x W [x 3] uint8/uint16, alpha or None, greyscale, bit depth, ICC) from a loaded image."""
    mode = image.mode
    has_transparency = "transparency" in image.info
    if mode == "1":
        return np.asarray(image.convert("L")), None, True, 8, icc_profile
    if mode == "L" and not has_transparency:
        return np.asarray(image), None, True, 8, icc_profile
    if mode in ("L", "LA", "La"):
        grey_alpha = np.asarray(image.convert("LA"))
        return grey_alpha[..., 0], grey_alpha[..., 1], True, 8, icc_profile
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16), None, True, 16, icc_profile
    if mode == "I":
        # 16-bit greyscale from some plugins arrives as 32-bit "I"; real 32-bit data is refused.
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise PhotoReadError(path, "unsupported pixel format: 32-bit integer samples")
        return values.astype(np.uint16), None, True, 16, icc_profile
    if mode == "CMYK":
        return np.asarray(_cmyk_to_rgb(image, icc_profile)), None, False, 8, None
    if mode in ("RGBA", "RGBa", "PA") or (mode in ("RGB", "P") and has_transparency):
        rgba = np.asarray(image.convert("RGBA"))
        return rgba[..., :3], rgba[..., 3], False, 8, icc_profile
    if mode == "RGB":
        return np.asarray(image), None, False, 8, icc_profile
    if mode in ("RGBX", "P", "YCbCr", "HSV"):
        return np.asarray(image.convert("RGB")), None, False, 8, icc_profile
    if mode == "LAB":
        return np.asarray(_lab_to_rgb(image)), None, False, 8, None
    if mode == "F":
        raise PhotoReadError(path, "unsupported pixel format: F (32-bit floating-point samples)")
    raise PhotoReadError(path, f"unsupported pixel format: {mode}")


def _lab_to_rgb(image: Image.Image) -> Image.Image:
    """CIELAB (D50, as TIFF stores it) -> sRGB through LittleCMS; the result is untagged sRGB."""
    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB", 5000), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    converted = ImageCms.applyTransform(image, transform)
    if converted is None:  # only None when asked to convert in place
        raise ValueError("LittleCMS returned no image")
    return converted


def _cmyk_to_rgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """CMYK -> sRGB through the embedded profile when there is a usable one, else Pillow's formula.

    The result is sRGB, so the caller drops the CMYK profile (it would mislabel the RGB pixels);
    untagged pixels are read as sRGB by every viewer.
    """
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                image,
                source,
                ImageCms.createProfile("sRGB"),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # unusable or non-CMYK profile: fall back to the naive conversion below
    return image.convert("RGB")


def _sixteen_bit_colour_rawmode(image: ImageFile.ImageFile) -> str | None:
    """The raw mode ("RGB;16B", "LA;16B"...) of 16-bit colour or grey+alpha data, which Pillow has no
    image mode for and would silently truncate to 8 bits; None for everything Pillow decodes fully."""
    if image.mode not in ("RGB", "RGBA", "LA") or not image.tile:
        return None
    args = image.tile[0][3]  # (codec, extents, offset, args); a plain tuple before Pillow 11
    rawmode = args[0] if isinstance(args, tuple) and args else args
    return rawmode if isinstance(rawmode, str) and ";16" in rawmode else None


def _decode_16bit_colour(
    handle: BinaryIO, image: Image.Image, rawmode: str
) -> tuple[np.ndarray, np.ndarray | None, bool, int, list[str]]:
    """16-bit colour (or grey+alpha) samples through OpenCV, lined up with Pillow's 8-bit decode.

    OpenCV returns BGR(A). Whether it applies a TIFF's orientation itself differs between versions
    (IMREAD_UNCHANGED skips only the generic EXIF step), so its result is matched against Pillow's
    already-loaded 8-bit pixels, which are the 16-bit samples' high bytes: the matching orientation
    puts both in the same state. If nothing matches, the 8-bit pixels are used, with a note.
    """
    reference = np.asarray(image.convert("RGBA") if image.mode == "LA" else image)
    grey_source = rawmode.startswith("LA")
    handle.seek(0)
    decoded = cv2.imdecode(np.frombuffer(handle.read(), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is not None and decoded.dtype == np.uint16:
        samples = _opencv_to_rgb(decoded)
        for orientation in range(1, 9):
            candidate = _apply_orientation(samples, orientation)
            if _high_bytes_equal(candidate, reference):
                return _split_channels(candidate, grey_source) + (16, [])
    note = "the 16-bit samples could not be decoded exactly: the photo was read with 8 bits per channel"
    return _split_channels(reference, grey_source) + (8, [note])


def _decode_deep_heif(
    handle: BinaryIO, image: Image.Image
) -> tuple[np.ndarray, np.ndarray | None, bool, int]:
    """A 10- or 12-bit HEIF's primary image as 16-bit samples (Pillow's plugin hands out 8 bits).

    pillow-heif scales the samples to the full 16-bit range and turns the image as Pillow's decode did.
    """
    import pillow_heif

    handle.seek(0)
    deep = pillow_heif.open_heif(handle, convert_hdr_to_8bit=False)
    samples = np.asarray(deep)
    if samples.dtype != np.uint16 or samples.shape[:2] != (image.height, image.width):
        raise ValueError(f"pillow-heif gave {samples.dtype} samples of shape {samples.shape}")
    if samples.ndim == 2:
        return samples, None, True, 16
    alpha = samples[..., 3] if samples.shape[2] == 4 else None
    return samples[..., :3], alpha, False, 16


def _opencv_to_rgb(decoded: np.ndarray) -> np.ndarray:
    """OpenCV's H x W, H x W x 2, BGR or BGRA array as H x W x 3 (RGB) or H x W x 4 (RGBA)."""
    if decoded.ndim == 2:
        return np.repeat(decoded[..., None], 3, axis=2)
    if decoded.shape[2] == 2:
        return decoded[..., [0, 0, 0, 1]]
    if decoded.shape[2] == 4:
        return decoded[..., [2, 1, 0, 3]]
    return decoded[..., 2::-1]


def _high_bytes_equal(samples: np.ndarray, reference: np.ndarray) -> bool:
    """samples >> 8 == reference, compared in row blocks to keep the temporary arrays small."""
    if samples.shape != reference.shape:
        return False
    rows = max(1, (1 << 20) // max(1, samples[0].size))
    for top in range(0, samples.shape[0], rows):
        if not np.array_equal(samples[top : top + rows] >> 8, reference[top : top + rows]):
            return False
    return True


def _split_channels(samples: np.ndarray, grey_source: bool) -> tuple[np.ndarray, np.ndarray | None, bool]:
    alpha = samples[..., 3] if samples.shape[2] == 4 else None
    if grey_source:
        return samples[..., 0], alpha, True
    return samples[..., :3], alpha, False


def _exif_of(image: Image.Image) -> Image.Exif | None:
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF must never stop a photo from opening
        return None
    return exif if len(exif) else None


def _orientation(exif: Image.Exif | None) -> int:
    if exif is None:
        return 1
    value = exif.get(_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Make pixels upright per EXIF orientation (same result as PIL.ImageOps.exif_transpose)."""
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(array, k=-1)
    if orientation == 7:
        return array.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(array, k=1)
    return array


def _exif_bytes(exif: Image.Exif | None, *, tiff_source: bool) -> bytes | None:
    """EXIF to keep: orientation reset to 1 (pixels are upright), TIFF layout tags dropped."""
    if exif is None:
        return None
    try:
        if tiff_source:
            for tag in [tag for tag in exif if tag in TIFF_STRUCTURE_TAGS]:
                del exif[tag]
        exif[_ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - unserialisable EXIF is dropped, the photo is still usable
        return None


@contextlib.contextmanager
def _pillow_limits(max_pixels: int) -> Iterator[None]:
    """Let max_pixels, not Pillow's stricter default guard, decide how large a photo may be, and let a
    PNG's ICC profile be as large as ICC_PROFILE_LIMIT.

    Pillow refuses images over 2 x Image.MAX_IMAGE_PIXELS (about 179 MP by default) in Image.open
    and again inside some plugins (WebP's header parser, TIFF's load), before max_pixels (200 MP by
    default) could rule. For the duration of one read the guard is raised so that it fires only
    beyond 2 x max_pixels (never lowered or disabled): files between the two limits get the size
    check's exact message, and nothing over max_pixels is decoded either way. Pillow's PNG reader
    inflates an iCCP chunk only up to PngImagePlugin.MAX_TEXT_CHUNK (1 MB): a larger profile would
    make a sound file "corrupt". Callers hold quiet_warnings' lock, so engine.io's reads do not overlap.
    """
    previous_pixels = Image.MAX_IMAGE_PIXELS
    previous_chunk = PngImagePlugin.MAX_TEXT_CHUNK
    raise_pixels = previous_pixels is not None and previous_pixels < max_pixels
    raise_chunk = previous_chunk < ICC_PROFILE_LIMIT
    if raise_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels
    if raise_chunk:
        PngImagePlugin.MAX_TEXT_CHUNK = ICC_PROFILE_LIMIT
    try:
        yield
    finally:
        # Each is put back only if no one else changed it meanwhile.
        if raise_pixels and max_pixels == Image.MAX_IMAGE_PIXELS:
            Image.MAX_IMAGE_PIXELS = previous_pixels
        if raise_chunk and PngImagePlugin.MAX_TEXT_CHUNK == ICC_PROFILE_LIMIT:
            PngImagePlugin.MAX_TEXT_CHUNK = previous_chunk


def _failure_reason(exc: BaseException, codec_lines: list[str]) -> str:
    """One line for a decoder's exception: truncated or corrupt, with what the codec or Pillow said."""
    said = _one_line(exc)
    lowered = said.lower()
    truncated = isinstance(exc, EOFError) or "truncated" in lowered or "premature end" in lowered
    base = _TRUNCATED if truncated else _CORRUPT
    detail = codec_lines[0] if codec_lines else said
    if not detail or (truncated and detail.startswith("image file is truncated")):
        return base
    return f"{base} ({detail})"


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most 160 characters (its type when it has none)."""
    text = " ".join(str(exc).split())
    if not text:
        return type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _too_large_reason(handle: BinaryIO, path: Path, exc: Exception, limit: int, by_memory: bool) -> str:
    size = _header_size(handle, path)
    if size is not None:
        return _size_reason(f"{size[0]}x{size[1]} pixels", size[0] * size[1], limit, by_memory)
    shown, count = _pixel_count(exc)
    return _size_reason(shown, count, limit, by_memory)


def _header_size(handle: BinaryIO, path: Path) -> tuple[int, int] | None:
    """Width and height from the header alone, to word the message when Pillow's guard refused a file.

    Image.open raises before handing the image out, so the matching plugin is run by hand; it
    parses the header only. Plugins that check the size themselves (WebP) fail here: None.
    """
    try:
        handle.seek(0)
        prefix = handle.read(16)
        for name in READ_FORMATS:
            entry = Image.OPEN.get(name)
            if entry is None:
                continue
            factory, accept = entry
            if accept is not None and not accept(prefix):
                continue
            handle.seek(0)
            width, height = factory(handle, str(path)).size
            return int(width), int(height)
    except Exception:  # noqa: BLE001 - only words a message; the caller has a fallback
        return None
    return None


def _pixel_count(exc: Exception) -> tuple[str, int | None]:
    """The pixel count in Pillow's DecompressionBombError message, for when the header is unreadable."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    if match is None:
        return "the image", None
    count = int(match.group(1))
    return (f"{count / 1e6:.4g} MP" if count >= 1_000_000 else f"{count} pixels"), count


def _unidentified_reason(handle: BinaryIO, path: Path) -> str:
    try:
        handle.seek(0)
        head = handle.read(32)
    except OSError:
        return "not an image file"
    if head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return _CORRUPT
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_BMFF_BRANDS:
        return _CORRUPT
    suffix = path.suffix.lower()
    if suffix and registered_elsewhere(suffix):
        return f"unsupported image format {suffix} (PhotoMend reads {_READS})"
    return "not an image file"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.4g} MP" if pixels >= 1_000_000 else f"{pixels}-pixel"
