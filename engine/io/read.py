"""read_photo: any supported file -> an upright Photo, or a PhotoReadError with a one-line reason."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageFile

from engine.errors import PhotoReadError
from engine.io.encoders import TIFF_STRUCTURE_TAGS
from engine.io.formats import READ_FORMATS, SUPPORTED_SUFFIXES
from engine.io.photo import Photo, quiet_warnings, to_float

DEFAULT_MAX_PIXELS = 200_000_000

# Image.open(formats=...) looks plugins up directly and fails on any not registered yet; preinit
# registers only the commonest few, so register them all (MPO, WebP, AVIF...) once, here.
Image.init()

_ORIENTATION = 0x0112
_CORRUPT = "truncated or corrupt image data"

# Leading bytes of the formats read_photo supports: a file that starts like one of them but cannot be
# opened is damaged, not "not an image".
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"BM")

# Exceptions Pillow's and OpenCV's decoders raise on damaged data (zlib, struct and EOF errors leak
# out of some plugins unwrapped).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error, cv2.error)


def read_photo(path: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode a JPEG/PNG/TIFF/WebP/BMP(/AVIF) file into an upright float32 RGB Photo.

    The image size is checked against ``max_pixels`` from the header, before any pixel is decoded
    (Pillow's own, stricter default guard is raised to ``max_pixels`` for the read, never lowered).
    Raises PhotoReadError (one line: file and reason) for every file that cannot be read.
    """
    path = Path(path)
    _check_file(path)
    # Pillow warns about odd-but-readable files (bad EXIF, large size below the bomb limit...);
    # these are not the user's business and must not escape as warnings or become errors.
    with quiet_warnings(), _pillow_guard_at_least(max_pixels):
        try:
            return _read(path, max_pixels)
        except PhotoReadError:
            raise
        except MemoryError as exc:
            raise PhotoReadError(path, "not enough memory to decode this image") from exc
        except Image.DecompressionBombError as exc:  # raised by plugins that check on their own
            raise PhotoReadError(path, _too_large_reason(path, exc, max_pixels)) from exc
        except _DECODE_ERRORS as exc:
            raise PhotoReadError(path, _CORRUPT) from exc


def read_pixels(path: Path | str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Just the float32 H x W x 3 RGB pixels of a photo file."""
    return read_photo(path, max_pixels=max_pixels).pixels


def _check_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise PhotoReadError(path, "file not found") from exc
    except PermissionError as exc:
        raise PhotoReadError(path, "permission denied") from exc
    except OSError as exc:
        raise PhotoReadError(path, exc.strerror or "cannot access the file") from exc
    if stat.S_ISDIR(info.st_mode):
        raise PhotoReadError(path, "is a folder, not a photo")
    if not stat.S_ISREG(info.st_mode):
        raise PhotoReadError(path, "not a regular file")  # a FIFO or device would block or never end
    if info.st_size == 0:
        raise PhotoReadError(path, "empty file")
    if not os.access(path, os.R_OK):
        raise PhotoReadError(path, "permission denied")


def _read(path: Path, max_pixels: int) -> Photo:
    try:
        image = Image.open(path, formats=list(READ_FORMATS))
    except Image.DecompressionBombError as exc:
        raise PhotoReadError(path, _too_large_reason(path, exc, max_pixels)) from exc
    except Image.UnidentifiedImageError as exc:
        raise PhotoReadError(path, _unidentified_reason(path)) from exc
    except PermissionError as exc:
        raise PhotoReadError(path, "permission denied") from exc

    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise PhotoReadError(
                path, f"image too large: {width}x{height} pixels exceeds the {_megapixels(max_pixels)} limit"
            )
        source_format = "JPEG" if image.format == "MPO" else str(image.format)
        # Read the raw mode before loading: loading clears image.tile.
        rawmode = _sixteen_bit_colour_rawmode(image)
        # Pillow decodes every file, 16-bit colour included (to 8 bits): that validates the data
        # (truncation raises here) and fixes the orientation state. Some plugins (TIFF in recent
        # Pillow) apply EXIF orientation while loading and drop the tag, so the orientation read
        # after load() is exactly what is left to do, whatever the Pillow version.
        image.load()
        icc_profile = image.info.get("icc_profile") or None
        exif = _exif_of(image)
        orientation = _orientation(exif)
        # Serialised while the file is open: sub-IFDs (Exif, GPS) of TIFF sources load lazily from it.
        exif_bytes = _exif_bytes(exif, tiff_source=source_format == "TIFF")
        if rawmode is not None:
            colour, alpha, grayscale, bit_depth = _decode_16bit_colour(path, image, rawmode)
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
    )


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
    raise PhotoReadError(path, f"unsupported pixel format: {mode}")


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
    path: Path, image: Image.Image, rawmode: str
) -> tuple[np.ndarray, np.ndarray | None, bool, int]:
    """16-bit colour (or grey+alpha) samples through OpenCV, lined up with Pillow's 8-bit decode.

    OpenCV returns BGR(A). Whether it applies a TIFF's orientation itself differs between versions
    (IMREAD_UNCHANGED skips only the generic EXIF step), so its result is matched against Pillow's
    already-loaded 8-bit pixels, which are the 16-bit samples' high bytes: the matching orientation
    puts both in the same state. If nothing matches, the 8-bit pixels are used rather than failing.
    """
    reference = np.asarray(image.convert("RGBA") if image.mode == "LA" else image)
    grey_source = rawmode.startswith("LA")
    decoded = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is not None and decoded.dtype == np.uint16:
        samples = _opencv_to_rgb(decoded)
        for orientation in range(1, 9):
            candidate = _apply_orientation(samples, orientation)
            if _high_bytes_equal(candidate, reference):
                return _split_channels(candidate, grey_source) + (16,)
    return _split_channels(reference, grey_source) + (8,)


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
def _pillow_guard_at_least(max_pixels: int) -> Iterator[None]:
    """Let max_pixels, not Pillow's stricter default guard, decide how large a photo may be.

    Pillow refuses images over 2 x Image.MAX_IMAGE_PIXELS (about 179 MP by default) in Image.open
    and again inside some plugins (WebP's header parser, TIFF's load), before max_pixels (200 MP by
    default) could rule. For the duration of one read the guard is raised so that it fires only
    beyond 2 x max_pixels (never lowered or disabled): files between the two limits get the size
    check's exact message, and nothing over max_pixels is decoded either way. Callers hold
    quiet_warnings' lock, so engine.io's reads do not overlap here.
    """
    previous = Image.MAX_IMAGE_PIXELS
    needed = max_pixels
    if previous is None or previous >= needed:
        yield
        return
    Image.MAX_IMAGE_PIXELS = needed
    try:
        yield
    finally:
        if needed == Image.MAX_IMAGE_PIXELS:  # leave it alone if someone else changed it meanwhile
            Image.MAX_IMAGE_PIXELS = previous


def _too_large_reason(path: Path, exc: Exception, max_pixels: int) -> str:
    size = _header_size(path)
    if size is not None:
        return f"image too large: {size[0]}x{size[1]} pixels exceeds the {_megapixels(max_pixels)} limit"
    return f"image too large: {_pixel_count(exc)} exceeds the {_megapixels(max_pixels)} limit"


def _header_size(path: Path) -> tuple[int, int] | None:
    """Width and height from the header alone, to word the message when Pillow's guard refused a file.

    Image.open raises before handing the image out, so the matching plugin is run by hand; it
    parses the header only. Plugins that check the size themselves (WebP) fail here: None.
    """
    try:
        with path.open("rb") as handle:
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


def _pixel_count(exc: Exception) -> str:
    """The pixel count in Pillow's DecompressionBombError message, for when the header is unreadable."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    if match is None:
        return "the image"
    count = int(match.group(1))
    return f"{count / 1e6:.4g} MP" if count >= 1_000_000 else f"{count} pixels"


def _unidentified_reason(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return "not an image file"
    if head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return _CORRUPT
    suffix = path.suffix.lower()
    if suffix and suffix not in SUPPORTED_SUFFIXES and suffix in Image.registered_extensions():
        return f"unsupported image format {suffix} (PhotoMend reads {', '.join(sorted(SUPPORTED_SUFFIXES))})"
    return "not an image file"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.4g} MP" if pixels >= 1_000_000 else f"{pixels}-pixel"
