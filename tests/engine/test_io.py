"""engine.io: reading and writing real files the tests make (8/16-bit, grey, palette, alpha, EXIF, ICC, CMYK,
truncated, bombs, non-images) and the atomic, non-destructive writer."""

from __future__ import annotations

import io
import os
import struct
import sys
import warnings
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from engine.errors import PhotoReadError, PhotoWriteError
from engine.io import (
    AVIF_AVAILABLE,
    SUPPORTED_SUFFIXES,
    Photo,
    limits,
    photo_from_array,
    read_photo,
    read_pixels,
    remove_stale_temp_files,
    to_uint8,
    to_uint16,
    write_photo,
)
from engine.io.encoders import write_png, write_tiff
from tests.conftest import textured_image

MAKE = "PhotoMend Test Camera"
TAKEN = "2024:05:06 07:08:09"
LOSSLESS = [".png", ".tif", ".bmp"]
LOSSY = [".jpg", ".webp"] + ([".avif"] if AVIF_AVAILABLE else [])
PILLOW_FORMAT = {
    ".png": "PNG",
    ".tif": "TIFF",
    ".bmp": "BMP",
    ".jpg": "JPEG",
    ".webp": "WEBP",
    ".avif": "AVIF",
}


# Made once: LittleCMS stamps each new profile with the current time, so two calls can differ.
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = MAKE
    exif.get_ifd(0x8769)[0x9003] = TAKEN  # DateTimeOriginal lives in the Exif sub-IFD
    return exif


def rgb8(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    return to_uint8(textured_image(height, width, seed))


def rgb16(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """Full 16-bit range noise: any truncation to 8 bits shows at once."""
    return np.random.default_rng(seed).integers(0, 65536, (height, width, 3), dtype=np.uint16)


def reason_of(excinfo: pytest.ExceptionInfo[PhotoReadError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return excinfo.value.reason


def png_with_size(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR (CRC fixed) declares another size: a decompression bomb's header."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


# --- 8-bit round trips, every format ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", LOSSLESS + LOSSY)
def test_reads_8bit_rgb_written_by_pillow(tmp_path: Path, suffix: str) -> None:
    pixels = rgb8()
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(pixels).save(path, quality=95)
    photo = read_photo(path)
    assert photo.pixels.dtype == np.float32 and photo.pixels.shape == (48, 64, 3)
    assert (photo.format, photo.bit_depth, photo.grayscale) == (PILLOW_FORMAT[suffix], 8, False)
    assert photo.alpha is None
    assert photo.source == path.resolve()
    with Image.open(path) as image:
        decoded = np.asarray(image.convert("RGB"))  # lossy formats: same pixels as Pillow decodes
    np.testing.assert_array_equal(np.rint(photo.pixels * 255), decoded)
    if suffix in LOSSLESS:
        np.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize("suffix", LOSSLESS + LOSSY)
def test_write_then_read_round_trip(tmp_path: Path, suffix: str) -> None:
    photo = photo_from_array(rgb8())
    written = write_photo(photo, tmp_path / f"out{suffix}")
    assert written == tmp_path / f"out{suffix}"
    with Image.open(written) as image:
        assert image.format == PILLOW_FORMAT[suffix]
    back = read_photo(written)
    assert back.pixels.shape == photo.pixels.shape and back.bit_depth == 8
    if suffix in LOSSLESS:
        assert np.abs(back.pixels - photo.pixels).max() < 1e-6
    else:
        # WebP and AVIF halve the chroma resolution; this small test image is mostly fine texture.
        psnr = 10 * np.log10(1.0 / np.mean((back.pixels - photo.pixels) ** 2))
        assert psnr > (35.0 if suffix == ".jpg" else 24.0)
    assert os.listdir(tmp_path) == [f"out{suffix}"]  # no temp file left behind


def test_supported_suffixes_cover_the_issue_formats() -> None:
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"} <= SUPPORTED_SUFFIXES
    assert (".avif" in SUPPORTED_SUFFIXES) == AVIF_AVAILABLE
    assert ".gif" not in SUPPORTED_SUFFIXES


def test_jpeg_defaults_are_quality_95_and_444(tmp_path: Path) -> None:
    photo = photo_from_array(rgb8())
    ours = write_photo(photo, tmp_path / "ours.jpg")
    reference = tmp_path / "reference.jpg"
    Image.fromarray(rgb8()).save(reference, quality=95, subsampling=0)
    with Image.open(ours) as mine, Image.open(reference) as theirs:
        assert JpegImagePlugin.get_sampling(mine) == 0  # 4:4:4
        assert mine.quantization == theirs.quantization  # same tables as quality 95


def test_quality_argument_reaches_the_encoder(tmp_path: Path) -> None:
    photo = photo_from_array(rgb8(96, 128))
    small = write_photo(photo, tmp_path / "q30.jpg", quality=30)
    large = write_photo(photo, tmp_path / "q95.jpg")
    assert small.stat().st_size < large.stat().st_size


# --- 16-bit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_read_and_written_exactly(tmp_path: Path, suffix: str, channels: int) -> None:
    values = np.dstack([rgb16(), rgb16(seed=1)[..., :1]]) if channels == 4 else rgb16()
    source = tmp_path / f"in{suffix}"
    order = [2, 1, 0, 3][:channels]  # OpenCV writes BGR(A)
    assert cv2.imwrite(str(source), values[..., order])

    photo = read_photo(source)
    assert photo.bit_depth == 16 and not photo.grayscale
    np.testing.assert_array_equal(np.rint(photo.pixels * 65535), values[..., :3])  # to 1/65535
    if channels == 4:
        assert photo.alpha is not None
        np.testing.assert_array_equal(np.rint(photo.alpha * 65535), values[..., 3])
    else:
        assert photo.alpha is None

    out = write_photo(photo, tmp_path / f"out{suffix}")
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == values.shape
    np.testing.assert_array_equal(back[..., order], values)


@pytest.mark.parametrize("writer", [write_png, write_tiff])
def test_16bit_colour_gets_exif_orientation_applied(tmp_path: Path, writer: Callable[..., None]) -> None:
    values = rgb16(12, 20)
    source = tmp_path / "rotated16.img"
    with source.open("wb") as handle:
        writer(handle, values, exif=camera_exif(orientation=6).tobytes())
    photo = read_photo(source)
    assert photo.bit_depth == 16
    np.testing.assert_array_equal(np.rint(photo.pixels * 65535), np.rot90(values, k=-1))


def test_16bit_grey_with_alpha_png(tmp_path: Path) -> None:
    grey, alpha = rgb16(12, 20)[..., 0], rgb16(12, 20, seed=5)[..., 0]
    source = tmp_path / "la16.png"
    with source.open("wb") as handle:
        write_png(handle, np.dstack([grey, alpha]))
    photo = read_photo(source)
    assert photo.grayscale and photo.bit_depth == 16 and photo.alpha is not None
    np.testing.assert_array_equal(np.rint(photo.pixels[..., 2] * 65535), grey)
    np.testing.assert_array_equal(np.rint(photo.alpha * 65535), alpha)
    back = cv2.imread(str(write_photo(photo, tmp_path / "out.png")), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back[..., 0], grey)
    np.testing.assert_array_equal(back[..., 3], alpha)


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_16bit_source_written_as_8bit_format(tmp_path: Path, suffix: str) -> None:
    photo = photo_from_array(rgb16())
    assert photo.bit_depth == 16
    out = write_photo(photo, tmp_path / f"out{suffix}")
    with Image.open(out) as image:
        assert image.mode == "RGB"
    assert read_photo(out).bit_depth == 8


# --- greyscale and palette -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("bit_depth", [8, 16])
def test_greyscale_stays_greyscale(tmp_path: Path, suffix: str, bit_depth: int) -> None:
    top = 255 if bit_depth == 8 else 65535
    values = rgb16()[..., 0] // (257 if bit_depth == 8 else 1)
    values = values.astype(np.uint8 if bit_depth == 8 else np.uint16)
    source = tmp_path / f"grey{suffix}"
    Image.fromarray(values).save(source)  # "L" or "I;16"

    photo = read_photo(source)
    assert photo.grayscale and photo.bit_depth == bit_depth
    for channel in range(3):
        np.testing.assert_array_equal(np.rint(photo.pixels[..., channel] * top), values)

    out = write_photo(photo, tmp_path / f"out{suffix}")
    with Image.open(out) as image:
        assert image.mode == ("L" if bit_depth == 8 else "I;16")
        np.testing.assert_array_equal(np.asarray(image), values)


def test_greyscale_jpeg_written_as_greyscale(tmp_path: Path) -> None:
    source = tmp_path / "grey.jpg"
    Image.fromarray(rgb8()[..., 1]).save(source, quality=95)
    photo = read_photo(source)
    assert photo.grayscale
    with Image.open(write_photo(photo, tmp_path / "out.jpg")) as image:
        assert image.mode == "L"


def test_palette_with_transparency(tmp_path: Path) -> None:
    indices = np.arange(16 * 24, dtype=np.uint8).reshape(16, 24) % 4
    image = Image.new("P", (24, 16))
    image.putdata(indices.ravel().tolist())
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0]
    image.putpalette(palette)
    source = tmp_path / "palette.png"
    image.save(source, transparency=2)

    photo = read_photo(source)
    assert photo.alpha is not None and not photo.grayscale
    np.testing.assert_array_equal(photo.alpha, (indices != 2).astype(np.float32))
    expected = np.array(palette, dtype=np.float32).reshape(4, 3)[indices] / 255
    opaque = indices != 2
    np.testing.assert_allclose(photo.pixels[opaque], expected[opaque], atol=1e-6)

    out = write_photo(photo, tmp_path / "out.png")
    with Image.open(out) as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written)[..., 3], np.where(opaque, 255, 0))


# --- alpha -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_kept_aside_and_reattached(tmp_path: Path, suffix: str, mode: str) -> None:
    colour = rgb8(32, 40)
    alpha = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (32, 1))
    layers = [colour[..., 1], alpha] if mode == "LA" else [colour, alpha]
    source = tmp_path / f"in{suffix}"
    Image.fromarray(np.dstack(layers)).save(source, lossless=True)

    photo = read_photo(source)
    assert photo.alpha is not None and photo.alpha.shape == (32, 40)
    np.testing.assert_array_equal(np.rint(photo.alpha * 255), alpha)
    assert photo.grayscale == (mode == "LA" and suffix != ".webp")  # WebP has no grey mode

    out = write_photo(photo, tmp_path / f"out{suffix}")
    with Image.open(out) as written:
        expected_mode = "LA" if photo.grayscale else "RGBA"
        assert written.mode == expected_mode
        np.testing.assert_array_equal(np.asarray(written)[..., -1], alpha)


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_alpha_flattened_onto_white_without_alpha_support(tmp_path: Path, suffix: str) -> None:
    pixels = np.zeros((32, 32, 3), np.float32)
    pixels[..., 0] = 1.0  # red everywhere, but the left half is fully transparent
    alpha = np.ones((32, 32), np.float32)
    alpha[:, :16] = 0.0
    photo = Photo(pixels=pixels, alpha=alpha)
    back = read_photo(write_photo(photo, tmp_path / f"flat{suffix}"))
    assert back.alpha is None
    np.testing.assert_allclose(back.pixels[:, :8].mean(axis=(0, 1)), [1, 1, 1], atol=0.02)  # white
    np.testing.assert_allclose(back.pixels[:, 24:].mean(axis=(0, 1)), [1, 0, 0], atol=0.02)  # red


# --- EXIF orientation, EXIF and ICC kept -----------------------------------------------------------


def test_exif_orientation_6_is_applied_and_reset(tmp_path: Path) -> None:
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)  # left half red
    stored[:, 20:] = (0, 0, 255)  # right half blue
    source = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(source, quality=95, exif=camera_exif(orientation=6).tobytes())

    photo = read_photo(source)
    # Orientation 6: the camera was turned clockwise; upright, the stored left edge is the top.
    assert photo.pixels.shape == (40, 20, 3)
    np.testing.assert_allclose(photo.pixels[2:18].mean(axis=(0, 1)), [1, 0, 0], atol=0.05)
    np.testing.assert_allclose(photo.pixels[22:38].mean(axis=(0, 1)), [0, 0, 1], atol=0.05)
    kept = Image.Exif()
    assert photo.exif is not None
    kept.load(photo.exif)
    assert kept[0x0112] == 1 and kept[0x010F] == MAKE

    with Image.open(write_photo(photo, tmp_path / "upright.jpg")) as written:
        assert written.size == (20, 40)
        exif = written.getexif()
        assert exif[0x0112] == 1 and exif[0x010F] == MAKE
        assert exif.get_ifd(0x8769)[0x9003] == TAKEN


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["png", "jpg", "webp", "tif", "png16", "tif16"])
def test_every_orientation_matches_pillow_exif_transpose(tmp_path: Path, kind: str, orientation: int) -> None:
    exif = camera_exif(orientation).tobytes()
    source = tmp_path / f"o{orientation}.{kind.removesuffix('16')}"
    if kind in ("png", "jpg", "webp"):
        Image.fromarray(rgb8(12, 20)).save(source, exif=exif, quality=95)
    else:
        values = rgb16(12, 20) if kind.endswith("16") else rgb8(12, 20)
        with source.open("wb") as handle:
            (write_png if kind == "png16" else write_tiff)(handle, values, exif=exif)
    with Image.open(source) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))  # 16-bit: the high bytes
    photo = read_photo(source)
    if kind.endswith("16"):
        assert photo.bit_depth == 16
        np.testing.assert_array_equal(to_uint16(photo.pixels) >> 8, expected)
    else:
        np.testing.assert_array_equal(np.rint(photo.pixels * 255), expected)


def _photo_with_metadata(bit_depth: int) -> Photo:
    values = rgb16() if bit_depth == 16 else rgb8(24, 32)
    photo = photo_from_array(values)
    photo.icc_profile = SRGB_PROFILE
    photo.exif = camera_exif(orientation=8).tobytes()  # a stale orientation must not survive a write
    return photo


@pytest.mark.parametrize(
    ("suffix", "bit_depth"),
    [(".jpg", 8), (".png", 8), (".tif", 8), (".webp", 8), (".png", 16), (".tif", 16)]
    + ([(".avif", 8)] if AVIF_AVAILABLE else []),
)
def test_exif_and_icc_profile_kept(tmp_path: Path, suffix: str, bit_depth: int) -> None:
    photo = _photo_with_metadata(bit_depth)
    out = write_photo(photo, tmp_path / f"meta{suffix}")
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == SRGB_PROFILE
        exif = written.getexif()
        # AVIF moves orientation out of EXIF into its own box; Pillow then leaves the tag out.
        assert exif.get(0x0112, 1) == 1 and exif[0x010F] == MAKE
        assert exif.get_ifd(0x8769)[0x9003] == TAKEN
    back = read_photo(out)
    assert back.icc_profile == SRGB_PROFILE
    assert back.exif is not None
    kept = Image.Exif()
    kept.load(back.exif)
    assert kept[0x010F] == MAKE and kept.get_ifd(0x8769)[0x9003] == TAKEN
    assert not set(kept) & {256, 257, 273, 279}  # a TIFF's layout tags are not carried along
    assert back.bit_depth == (bit_depth if suffix in (".png", ".tif") else 8)
    assert back.pixels.shape == photo.pixels.shape  # orientation 8 was not re-applied


def test_oversized_exif_is_dropped_for_jpeg_only(tmp_path: Path) -> None:
    exif = camera_exif()
    exif[0x010E] = "x" * 70_000  # ImageDescription: more than one JPEG APP1 segment can hold
    photo = photo_from_array(rgb8(8, 8))
    photo.exif = exif.tobytes()
    with Image.open(write_photo(photo, tmp_path / "big.jpg")) as jpeg:
        assert 0x010F not in jpeg.getexif()
    with Image.open(write_photo(photo, tmp_path / "big.png")) as png:
        assert png.getexif()[0x010F] == MAKE


def test_concurrent_reads_leave_warning_filters_alone(tmp_path: Path) -> None:
    source = tmp_path / "shared.png"
    Image.fromarray(rgb8(16, 16)).save(source)
    before = list(warnings.filters)
    with ThreadPoolExecutor(max_workers=4) as pool:
        shapes = list(pool.map(lambda _: read_photo(source).pixels.shape, range(40)))
    assert shapes == [(16, 16, 3)] * 40
    assert warnings.filters == before


def test_pillow_written_tiff_metadata(tmp_path: Path) -> None:
    # Pillow's own TIFF writer (uncompressed; its libtiff path cannot write an Exif sub-IFD).
    source = tmp_path / "pillow.tif"
    exif = camera_exif(orientation=6).tobytes()
    Image.fromarray(rgb8(12, 20)).save(source, exif=exif, icc_profile=SRGB_PROFILE)
    photo = read_photo(source)
    assert photo.pixels.shape == (20, 12, 3) and photo.icc_profile == SRGB_PROFILE
    assert photo.exif is not None
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[0x0112] == 1 and kept[0x010F] == MAKE and kept.get_ifd(0x8769)[0x9003] == TAKEN
    assert not set(kept) & {256, 257, 258, 259, 273, 279, 34675}


def test_icc_profile_read_from_source(tmp_path: Path) -> None:
    source = tmp_path / "tagged.png"
    Image.fromarray(rgb8()).save(source, icc_profile=SRGB_PROFILE)
    assert read_photo(source).icc_profile == SRGB_PROFILE


def test_rgb_profile_not_attached_to_greyscale_output(tmp_path: Path) -> None:
    photo = photo_from_array(rgb8()[..., 0])
    photo.icc_profile = SRGB_PROFILE
    with Image.open(write_photo(photo, tmp_path / "grey.png")) as written:
        assert written.mode == "L" and "icc_profile" not in written.info


# --- CMYK ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_read_as_rgb_and_written_as_rgb(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"cmyk{suffix}"
    Image.new("CMYK", (32, 24), (255, 0, 0, 0)).save(source, quality=95)  # pure cyan ink
    photo = read_photo(source)
    assert photo.format == PILLOW_FORMAT[suffix] and photo.icc_profile is None
    np.testing.assert_allclose(photo.pixels.mean(axis=(0, 1)), [0, 1, 1], atol=0.03)
    with Image.open(write_photo(photo, tmp_path / f"out{suffix}")) as written:
        assert written.mode == "RGB"


def test_cmyk_with_unusable_profile_falls_back_to_plain_conversion(tmp_path: Path) -> None:
    source = tmp_path / "mislabelled.jpg"
    # An RGB profile on CMYK data: LittleCMS cannot build the transform; the photo must still open.
    Image.new("CMYK", (16, 16), (0, 255, 0, 0)).save(source, quality=95, icc_profile=SRGB_PROFILE)
    photo = read_photo(source)
    np.testing.assert_allclose(photo.pixels.mean(axis=(0, 1)), [1, 0, 1], atol=0.03)
    assert photo.icc_profile is None


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_truncated_file_is_reported(tmp_path: Path, suffix: str) -> None:
    good = tmp_path / f"good{suffix}"
    Image.fromarray(rgb8(64, 64)).save(good, quality=95)
    data = good.read_bytes()
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(bad)
    assert reason_of(excinfo).startswith("truncated: ")
    assert str(bad) in str(excinfo.value)


def test_truncated_16bit_png_is_reported(tmp_path: Path) -> None:
    good = tmp_path / "good16.png"
    cv2.imwrite(str(good), rgb16(64, 64))
    bad = tmp_path / "bad16.png"
    bad.write_bytes(good.read_bytes()[:-2000])
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(bad)
    assert reason_of(excinfo).startswith("truncated: ")


def test_decompression_bomb_header_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: None)  # max_pixels alone rules
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_with_size(30000, 30000))
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(bomb)
    assert reason_of(excinfo) == "image too large: 30000x30000 pixels exceeds the 200 MP limit"


@pytest.mark.parametrize("suffix", LOSSLESS + LOSSY)
def test_max_pixels_rules_over_pillows_stricter_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    # Scaled down: Pillow's guard at 2 x 1000 pixels plays its real ~179 MP, max_pixels its 200 MP.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    source = tmp_path / f"big{suffix}"
    Image.fromarray(rgb8(64, 64)).save(source, quality=95)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(source)
    assert read_photo(source, max_pixels=5000).pixels.shape == (64, 64, 3)
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(source, max_pixels=4000)
    assert reason_of(excinfo) == "image too large: 64x64 pixels exceeds the 4000-pixel limit"
    assert Image.MAX_IMAGE_PIXELS == 1000  # Pillow's setting is back as it was


def test_max_pixels_is_checked_from_the_header_before_decoding(tmp_path: Path) -> None:
    # The pixel data is cut off: only a check made before decoding can report the size.
    good = tmp_path / "good.png"
    Image.fromarray(rgb8(64, 64)).save(good)
    big = tmp_path / "big.png"
    big.write_bytes(good.read_bytes()[:200])
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(big, max_pixels=1000)
    assert reason_of(excinfo) == "image too large: 64x64 pixels exceeds the 1000-pixel limit"
    assert read_photo(good, max_pixels=64 * 64).pixels.shape == (64, 64, 3)


def test_no_warning_escapes_for_a_large_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 100 MP is above Pillow's DecompressionBombWarning threshold (89 MP) but under our limit.
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    large = tmp_path / "large.png"
    large.write_bytes(png_with_size(10000, 10000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PhotoReadError) as excinfo:
            read_photo(large)
    assert reason_of(excinfo).startswith("truncated: the header declares 10000x10000 pixels")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.jpg", b"these are not pixels\n" * 10, "not an image file"),
        ("empty.png", b"", "empty file"),
        ("header_only.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt image data"),
    ],
)
def test_bad_files_are_reported_in_one_line(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert reason_of(excinfo) == reason


def test_missing_file_and_folder_are_reported(tmp_path: Path) -> None:
    with pytest.raises(PhotoReadError) as missing:
        read_photo(tmp_path / "nowhere.jpg")
    assert reason_of(missing) == "file not found"
    with pytest.raises(PhotoReadError) as folder:
        read_photo(tmp_path)
    assert reason_of(folder) == "is a folder, not a photo"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs POSIX FIFOs")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(fifo)
    assert reason_of(excinfo) == "not a regular file: a named pipe (FIFO)"


def test_unsupported_image_format_is_named(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    Image.new("P", (8, 8)).save(path)
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert reason_of(excinfo).startswith("unsupported image format .gif")


def test_unsupported_pixel_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "float.tif"
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(path)  # mode "F": 32-bit float samples
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert reason_of(excinfo) == "unsupported pixel format: F (32-bit floating-point samples)"


# --- the writer: atomic, never over the source, format from suffix ---------------------------------


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    too_wide = Photo(pixels=np.zeros((1, 16384, 3), np.float32))  # WebP's limit is 16383 pixels
    with pytest.raises(PhotoWriteError):
        write_photo(too_wide, tmp_path / "wide.webp")
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.webp"
    write_photo(photo_from_array(rgb8(8, 8)), target)
    before = target.read_bytes()
    with pytest.raises(PhotoWriteError):
        write_photo(Photo(pixels=np.zeros((1, 16384, 3), np.float32)), target, overwrite=True)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.webp"]


def test_interrupt_during_encoding_leaves_no_file(tmp_path: Path) -> None:
    """Ctrl+C arriving while the TIFF encoder runs (the temp file exists by then) removes the temp file."""
    target = tmp_path / "interrupted.tif"

    def interrupt_in_encoder(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_name == "write_tiff":
            assert any(name.endswith(".photomend-tmp") for name in os.listdir(tmp_path))
            raise KeyboardInterrupt
        return None

    previous = sys.gettrace()
    sys.settrace(interrupt_in_encoder)  # type: ignore[arg-type]
    try:
        with pytest.raises(KeyboardInterrupt):
            write_photo(photo_from_array(rgb8(16, 16)), target)
    finally:
        sys.settrace(previous)
    assert os.listdir(tmp_path) == []


def test_refuses_to_overwrite_the_source(tmp_path: Path) -> None:
    source = tmp_path / "original.png"
    Image.fromarray(rgb8()).save(source)
    before = source.read_bytes()
    photo = read_photo(source)
    edited = photo.with_pixels(1.0 - photo.pixels)
    (tmp_path / "sub").mkdir()
    for spelling in (source, tmp_path / "sub" / ".." / "original.png"):
        with pytest.raises(PhotoWriteError) as excinfo:
            write_photo(edited, spelling)
        assert "original" in excinfo.value.reason
    assert source.read_bytes() == before

    write_photo(edited, source, overwrite=True)
    np.testing.assert_allclose(read_pixels(source), 1.0 - photo.pixels, atol=1e-6)


def test_refuses_to_overwrite_any_existing_file(tmp_path: Path) -> None:
    photo = photo_from_array(rgb8(8, 8))
    target = write_photo(photo, tmp_path / "out.png")
    with pytest.raises(PhotoWriteError) as excinfo:
        write_photo(photo, target)
    assert "exists" in excinfo.value.reason
    write_photo(photo.with_pixels(np.zeros((8, 8, 3), np.float32)), target, overwrite=True)
    assert read_pixels(target).max() == 0.0


@pytest.mark.parametrize(
    ("name", "fmt", "magic"),
    [("a.JPG", None, b"\xff\xd8\xff"), ("b.data", "png", b"\x89PNG"), ("c.tiff", None, b"II*\x00")],
)
def test_format_from_suffix_or_argument(tmp_path: Path, name: str, fmt: str | None, magic: bytes) -> None:
    out = write_photo(photo_from_array(rgb8(8, 8)), tmp_path / name, format=fmt)
    assert out.read_bytes().startswith(magic)


def test_unknown_output_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PhotoWriteError):
        write_photo(photo_from_array(rgb8(8, 8)), tmp_path / "out.xyz")
    with pytest.raises(PhotoWriteError):
        write_photo(photo_from_array(rgb8(8, 8)), tmp_path / "out.png", format="gif")
    assert os.listdir(tmp_path) == []


def test_written_file_permissions_follow_the_umask(tmp_path: Path) -> None:
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    mask = os.umask(0o022)
    try:
        out = write_photo(photo_from_array(rgb8(8, 8)), tmp_path / "perm.png")
    finally:
        os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o644
    out.chmod(0o664)
    write_photo(photo_from_array(rgb8(8, 8)), out, overwrite=True)
    assert out.stat().st_mode & 0o777 == 0o664  # a replaced file keeps its permissions


def test_remove_stale_temp_files_only_touches_ours(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    stale = [tmp_path / ".a.png.0123abcd.photomend-tmp", tmp_path / "deep" / ".b.jpg.deadbeef.photomend-tmp"]
    keep = [tmp_path / "a.png", tmp_path / ".hidden", tmp_path / ".x.photomend-tmp"]
    for path in stale + keep:
        path.write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path) == [stale[0]]
    assert sorted(remove_stale_temp_files(tmp_path, recursive=True)) == [stale[1]]
    assert all(path.exists() for path in keep)


# --- in-memory helpers -----------------------------------------------------------------------------


def test_quantisation_helpers_clip_and_round() -> None:
    values = np.array([-0.2, 0.0, 0.5, 0.999, 1.0, 1.7, np.nan], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 128, 255, 255, 255, 0])
    np.testing.assert_array_equal(to_uint16(values), [0, 0, 32768, 65469, 65535, 65535, 0])


def test_quantisation_goes_band_by_band_with_the_same_result() -> None:
    rng = np.random.default_rng(7)
    pixels = rng.uniform(-0.3, 1.3, (700, 9, 3)).astype(np.float32)  # more rows than one band
    pixels[rng.random(pixels.shape) < 0.01] = np.nan
    pixels[rng.random(pixels.shape) < 0.01] = np.inf
    pixels[rng.random(pixels.shape) < 0.01] = -np.inf
    whole = np.rint(np.clip(np.nan_to_num(pixels * 255, nan=0.0, posinf=255, neginf=0), 0, 255))
    np.testing.assert_array_equal(to_uint8(pixels), whole.astype(np.uint8))
    assert to_uint16(pixels).dtype == np.uint16 and to_uint16(pixels).shape == pixels.shape


def test_photo_from_array_and_with_pixels() -> None:
    grey = photo_from_array(np.full((4, 6), 65535, np.uint16))
    assert grey.grayscale and grey.bit_depth == 16 and grey.pixels.shape == (4, 6, 3)
    assert float(grey.pixels.min()) == 1.0
    rgba = photo_from_array(np.zeros((4, 6, 4), np.uint8))
    assert rgba.alpha is not None and rgba.alpha.shape == (4, 6) and not rgba.grayscale
    bigger = rgba.with_pixels(np.ones((8, 12, 3), np.float32))
    assert bigger.alpha is not None and bigger.alpha.shape == (8, 12)
    assert (bigger.bit_depth, bigger.format) == (rgba.bit_depth, rgba.format)
    with pytest.raises(ValueError):
        Photo(pixels=np.zeros((4, 6, 3), np.uint8))
