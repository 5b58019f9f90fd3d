"""PNG and TIFF encoders for what Pillow cannot write: 16-bit colour (and grey+alpha) with ICC and EXIF.

Pillow holds no 16-bit RGB(A) image mode, and OpenCV's encoders drop the ICC profile (TIFF also EXIF),
so 16-bit PNG and every TIFF are written here with numpy + zlib. Both formats are simple enough
that this is less code than working around either library, and the tests read the files back with
Pillow and OpenCV.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np
from PIL import Image, TiffImagePlugin

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
_IDAT_CHUNK_BYTES = 1 << 20
_BLOCK_BYTES = 1 << 22  # rows are filtered and compressed in ~4 MB blocks to bound extra memory

# EXIF IFD0 tags that describe a TIFF's pixel layout (or are stored separately, like ICC and XMP).
# A TIFF source's EXIF is its whole IFD0, so these are dropped before the EXIF is kept: copied into
# another file they would describe data that is not there.
# fmt: off
TIFF_STRUCTURE_TAGS: frozenset[int] = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 273, 277, 278, 279, 280, 281, 284, 286, 287,
     288, 289, 290, 291, 292, 293, 297, 301, 317, 318, 319, 320, 321, 322, 323, 324, 325, 330, 332, 338,
     339, 340, 341, 342, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 529, 530, 531, 532, 700,
     33421, 33422, 33723, 34377, 34675, 37724}
)
# fmt: on
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825


def _rows(pixels: np.ndarray) -> np.ndarray:
    """H x W x C view of an H x W or H x W x C array."""
    return pixels if pixels.ndim == 3 else pixels[..., None]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_png(
    out: BinaryIO,
    pixels: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    compress_level: int = 6,
) -> None:
    """Write an H x W (x 1..4) uint8 or uint16 array as PNG, with iCCP and eXIf chunks when given."""
    image = _rows(pixels)
    height, width, channels = image.shape
    depth = 16 if image.dtype == np.uint16 else 8
    if image.dtype not in (np.uint8, np.uint16) or channels not in _PNG_COLOUR_TYPES:
        raise ValueError(f"cannot write {image.dtype} x {channels} channels as PNG")
    out.write(_PNG_SIGNATURE)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    out.write(_png_chunk(b"IHDR", ihdr))
    if icc_profile:
        out.write(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if exif:
        # The eXIf chunk holds the bare TIFF structure, without the JPEG APP1 "Exif\0\0" marker.
        out.write(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    # PNG stores samples big-endian. Each row gets filter 1 ("Sub": difference to the pixel on the
    # left), which shrinks photographic data well and is a single vectorised subtraction.
    big_endian = image.astype(">u2" if depth == 16 else np.uint8, copy=False)
    pixel_bytes = channels * depth // 8
    row_bytes = width * pixel_bytes
    rows_per_block = max(1, _BLOCK_BYTES // max(1, row_bytes))
    compressor = zlib.compressobj(compress_level)
    pending = bytearray()
    for top in range(0, height, rows_per_block):
        raw = np.ascontiguousarray(big_endian[top : top + rows_per_block]).view(np.uint8)
        raw = raw.reshape(-1, row_bytes)
        filtered = np.empty((raw.shape[0], row_bytes + 1), dtype=np.uint8)
        filtered[:, 0] = 1
        filtered[:, 1 : 1 + pixel_bytes] = raw[:, :pixel_bytes]
        np.subtract(raw[:, pixel_bytes:], raw[:, :-pixel_bytes], out=filtered[:, 1 + pixel_bytes :])
        pending += compressor.compress(filtered.tobytes())
        while len(pending) >= _IDAT_CHUNK_BYTES:
            out.write(_png_chunk(b"IDAT", bytes(pending[:_IDAT_CHUNK_BYTES])))
            del pending[:_IDAT_CHUNK_BYTES]
    pending += compressor.flush()
    out.write(_png_chunk(b"IDAT", bytes(pending)))
    out.write(_png_chunk(b"IEND", b""))


def write_tiff(
    out: BinaryIO,
    pixels: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    compress_level: int = 6,
) -> None:
    """Write an H x W (x 1..4) uint8 or uint16 array as a deflate-compressed little-endian TIFF.

    One strip (as Pillow's own writer does) with the horizontal predictor (what libtiff, Photoshop
    and GIMP write for photos). The last channel of a 2- or 4-channel image is unassociated alpha.
    EXIF IFD0 tags, the Exif and GPS sub-IFDs and the ICC profile go into the TIFF's own IFD, where
    TIFF readers look for them.
    """
    image = _rows(pixels)
    height, width, channels = image.shape
    if image.dtype not in (np.uint8, np.uint16) or channels not in _PNG_COLOUR_TYPES:
        raise ValueError(f"cannot write {image.dtype} x {channels} channels as TIFF")
    depth = 16 if image.dtype == np.uint16 else 8
    samples = image.astype("<u2" if depth == 16 else np.uint8, copy=False)
    # A single strip keeps the layout within what Pillow's IFD writer supports in every version
    # (multi-strip offsets arrived only recently); it is compressed in row blocks to bound memory.
    rows_per_block = max(1, _BLOCK_BYTES // max(1, width * channels * depth // 8))
    compressor = zlib.compressobj(compress_level)
    pieces: list[bytes] = []
    for top in range(0, height, rows_per_block):
        block = samples[top : top + rows_per_block]
        # Horizontal predictor: each sample minus its left neighbour (modular, like the decoder).
        delta = block.copy()
        np.subtract(block[:, 1:], block[:, :-1], out=delta[:, 1:])
        pieces.append(compressor.compress(delta.tobytes()))
    pieces.append(compressor.flush())
    strip = b"".join(pieces)

    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        _copy_exif_into(ifd, exif)
    ifd[256] = width
    ifd[257] = height
    ifd[258] = (depth,) * channels
    ifd[259] = 8  # Adobe deflate
    ifd[262] = 2 if channels >= 3 else 1  # RGB or min-is-black
    ifd[277] = channels
    ifd[278] = height
    ifd[284] = 1  # chunky (interleaved) samples
    ifd[317] = 2  # horizontal differencing
    ifd[339] = (1,) * channels  # unsigned integer samples
    if channels in (2, 4):
        ifd[338] = 2  # unassociated alpha
    if icc_profile:
        ifd[34675] = icc_profile
    # Pillow's IFD writer places the strip right after the IFD and its out-of-line values and
    # adds that position to this offset.
    ifd[273] = 0
    ifd[279] = len(strip)
    out.write(b"II*\x00" + struct.pack("<I", 8))
    out.write(ifd.tobytes(8))
    out.write(strip)


def _copy_exif_into(ifd: TiffImagePlugin.ImageFileDirectory_v2, exif_bytes: bytes) -> None:
    exif = Image.Exif()
    exif.load(exif_bytes)
    for tag, value in exif.items():
        if tag in TIFF_STRUCTURE_TAGS or tag in (_EXIF_IFD, _GPS_IFD):
            continue
        ifd[tag] = value
    for pointer in (_EXIF_IFD, _GPS_IFD):
        sub_ifd = exif.get_ifd(pointer)
        if sub_ifd:
            ifd[pointer] = dict(sub_ifd)
