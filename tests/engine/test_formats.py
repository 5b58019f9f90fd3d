"""HEIC/HEIF (pillow-heif), JPEG XL (pillow-jxl-plugin) and camera RAW (rawpy/LibRaw) read, restored and
written, with files the tests make: HEIC and JPEG XL through the plugins' own encoders, a DNG by hand."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import rawpy
from PIL import Image, ImageCms

from engine.errors import PhotoReadError, PhotoWriteError
from engine.io import (
    SUPPORTED_SUFFIXES,
    output_suffix,
    photo_from_array,
    read_photo,
    to_uint8,
    write_photo,
)
from engine.io.formats import RAW_SUFFIXES, READ_FORMATS, normalize_format
from engine.pipeline import restore
from tests.conftest import textured_image

MAKE, MODEL, TAKEN = "PhotoMend", "Test Camera", "2024:05:06 07:08:09"
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif.get_ifd(0x8769)[0x9003] = TAKEN
    return exif


def assert_srgb_profile(profile: bytes | None, fmt: str) -> None:
    """HEIF keeps the ICC bytes as given. JPEG XL stores a standard profile as its colour encoding and
    hands back libjxl's own rendering of it: an sRGB RGB profile, not the same bytes."""
    if fmt != "JXL":
        assert profile == SRGB_PROFILE
        return
    assert profile is not None and profile[16:20] == b"RGB "
    description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    assert "srgb" in description.lower().replace(" ", "") or "RGB_D65_SRG" in description


def exif_of(path: Path) -> Image.Exif:
    with Image.open(path) as image:
        exif = image.getexif()
        exif.get_ifd(0x8769)
        return exif


# --- a DNG written by hand ---------------------------------------------------------------------------

# TIFF field types: (code, struct letter)
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = (
    (1, "B"),
    (2, "s"),
    (3, "H"),
    (4, "I"),
    (5, "I"),
    (10, "i"),
)


def _entry(tag: int, kind: tuple[int, str], values: object) -> tuple[int, int, int, bytes]:
    code, letter = kind
    if kind == _ASCII:
        data = str(values).encode("ascii") + b"\0"
        return tag, code, len(data), data
    items = list(values)  # type: ignore[call-overload]
    if kind in (_RATIONAL, _SRATIONAL):
        data = b"".join(struct.pack(f"<{letter}{letter}", *pair) for pair in items)
    else:
        data = struct.pack(f"<{len(items)}{letter}", *items)
    return tag, code, len(items), data


def _ifd(entries: list[tuple[int, int, int, bytes]], at: int, patches: dict[int, int]) -> bytes:
    """One IFD placed at offset `at`, its out-of-line values right after it; `patches` fills LONG values
    known only once the whole layout is (tag -> value)."""
    entries = sorted(entries)
    extra = bytearray()
    after = at + 2 + 12 * len(entries) + 4
    table = bytearray(struct.pack("<H", len(entries)))
    for tag, code, count, data in entries:
        if tag in patches:
            data = struct.pack("<I", patches[tag])
        if len(data) <= 4:
            table += struct.pack("<HHI", tag, code, count) + data.ljust(4, b"\0")
        else:
            if (after + len(extra)) % 2:
                extra += b"\0"
            table += struct.pack("<HHII", tag, code, count, after + len(extra))
            extra += data
    table += struct.pack("<I", 0)
    if len(extra) % 2:
        extra += b"\0"
    return bytes(table + extra)


def make_dng(
    width: int = 96,
    height: int = 64,
    *,
    scene: np.ndarray | None = None,
    response: tuple[float, float, float] = (0.5, 1.0, 0.7),
    orientation: int = 1,
    black: int = 256,
    white: int = 4095,
) -> bytes:
    """A minimal valid DNG 1.4: one uncompressed 16-bit RGGB Bayer image in IFD0, with the colour tags
    LibRaw needs (ColorMatrix1, AsShotNeutral, black/white levels) and an Exif sub-IFD.

    `response` is the sensor's gain per colour: a grey scene shows as red and blue weaker than green, as
    on a real camera; AsShotNeutral records it, so developing with the camera's white balance gives grey.
    """
    if scene is None:
        scene = np.full((height, width, 3), 0.4)
    gains = np.asarray(response)
    mosaic = np.empty((height, width))
    mosaic[0::2, 0::2] = scene[0::2, 0::2, 0] * gains[0]
    mosaic[0::2, 1::2] = scene[0::2, 1::2, 1] * gains[1]
    mosaic[1::2, 0::2] = scene[1::2, 0::2, 1] * gains[1]
    mosaic[1::2, 1::2] = scene[1::2, 1::2, 2] * gains[2]
    samples = np.round(black + np.clip(mosaic, 0, 1) * (white - black)).astype("<u2").tobytes()
    neutral = [(round(g * 10000), 10000) for g in response]
    identity = [
        (10000, 10000),
        (0, 1),
        (0, 1),
        (0, 1),
        (10000, 10000),
        (0, 1),
        (0, 1),
        (0, 1),
        (10000, 10000),
    ]
    ifd0 = [
        _entry(254, _LONG, [0]),
        _entry(256, _LONG, [width]),
        _entry(257, _LONG, [height]),
        _entry(258, _SHORT, [16]),
        _entry(259, _SHORT, [1]),
        _entry(262, _SHORT, [32803]),  # colour filter array
        _entry(271, _ASCII, MAKE),
        _entry(272, _ASCII, MODEL),
        _entry(273, _LONG, [0]),
        _entry(274, _SHORT, [orientation]),
        _entry(277, _SHORT, [1]),
        _entry(278, _LONG, [height]),
        _entry(279, _LONG, [len(samples)]),
        _entry(284, _SHORT, [1]),
        _entry(33421, _SHORT, [2, 2]),  # CFARepeatPatternDim
        _entry(33422, _BYTE, [0, 1, 1, 2]),  # CFAPattern: R G / G B
        _entry(34665, _LONG, [0]),  # Exif IFD
        _entry(50706, _BYTE, [1, 4, 0, 0]),  # DNGVersion
        _entry(50707, _BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
        _entry(50708, _ASCII, f"{MAKE} {MODEL}"),  # UniqueCameraModel
        _entry(50714, _LONG, [black]),
        _entry(50717, _LONG, [white]),
        _entry(50721, _SRATIONAL, identity),  # ColorMatrix1: the camera's primaries are sRGB's (as XYZ)
        _entry(50728, _RATIONAL, neutral),  # AsShotNeutral
        _entry(50778, _SHORT, [21]),  # CalibrationIlluminant1: D65
    ]
    exif_ifd = [
        _entry(0x829A, _RATIONAL, [(1, 250)]),  # ExposureTime
        _entry(0x829D, _RATIONAL, [(28, 10)]),  # FNumber
        _entry(0x8827, _SHORT, [400]),  # ISO
        _entry(0x9003, _ASCII, TAKEN),  # DateTimeOriginal
    ]
    first = _ifd(ifd0, 8, {273: 0, 34665: 0})  # sized once to find where the rest goes
    exif_at = 8 + len(first)
    second = _ifd(exif_ifd, exif_at, {})
    strip_at = exif_at + len(second)
    first = _ifd(ifd0, 8, {273: strip_at, 34665: exif_at})
    return b"II*\0" + struct.pack("<I", 8) + first + second + samples


def test_hand_made_dng_is_a_raw_libraw_develops(tmp_path: Path) -> None:
    path = tmp_path / "shot.dng"
    path.write_bytes(make_dng())
    with rawpy.imread(str(path)) as raw:
        assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]]  # R G / G2 B
        assert raw.camera_whitebalance[:3] == pytest.approx([2.0, 1.0, 1 / 0.7], rel=1e-3)
        assert raw.black_level_per_channel == [256] * 4 and raw.white_level == 4095


def test_dng_is_developed_in_16_bit_with_the_cameras_white_balance(tmp_path: Path) -> None:
    path = tmp_path / "grey.dng"
    path.write_bytes(make_dng())  # a grey scene seen through a sensor with weak red and blue
    photo = read_photo(path)
    assert photo.format == "RAW" and photo.bit_depth == 16 and photo.pixels.shape == (64, 96, 3)
    centre = photo.pixels[16:48, 24:72].reshape(-1, 3).mean(axis=0)
    # The camera's balance makes the grey grey again (without it red would be at half of green).
    assert centre[0] == pytest.approx(centre[1], rel=0.03) and centre[2] == pytest.approx(centre[1], rel=0.03)
    # The camera's exposure, not an automatic brightening: scene 0.4 linear -> about 0.66 in sRGB.
    assert centre[1] == pytest.approx(0.665, abs=0.05)
    # 16 bits are really there: more distinct levels than 8 bits have on this smooth ramp.
    ramp = np.linspace(0.05, 0.6, 96)[None, :, None] * np.ones((64, 96, 3))
    path.write_bytes(make_dng(scene=ramp, response=(1.0, 1.0, 1.0)))
    row = read_photo(path).pixels[32, :, 1]
    assert len(np.unique(np.round(row * 65535))) > len(np.unique(np.round(row * 255)))


def test_dng_exif_kept_and_orientation_applied_by_libraw(tmp_path: Path) -> None:
    path = tmp_path / "portrait.dng"
    path.write_bytes(make_dng(orientation=6))
    photo = read_photo(path)
    assert photo.pixels.shape == (96, 64, 3)  # upright: LibRaw turned it
    exif = Image.Exif()
    assert photo.exif is not None
    exif.load(photo.exif)
    assert exif[0x010F] == MAKE and exif[0x0110] == MODEL and exif[0x0112] == 1
    sub = exif.get_ifd(0x8769)
    assert sub[0x9003] == TAKEN and sub[0x8827] == 400 and float(sub[0x829A]) == pytest.approx(1 / 250)
    # The RAW layout and DNG tags describe sensor data the developed photo does not have: dropped.
    assert not {33421, 33422, 50706, 50721, 50728, 273, 279} & set(exif)


def test_dng_under_a_tiff_name_is_developed_not_read_as_its_ifd(tmp_path: Path) -> None:
    path = tmp_path / "renamed.tif"
    path.write_bytes(make_dng())
    photo = read_photo(path)
    assert photo.format == "RAW" and photo.bit_depth == 16


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.7, 0.95])
def test_truncated_dng_is_a_one_line_error(tmp_path: Path, keep: float) -> None:
    data = make_dng()
    path = tmp_path / "cut.dng"
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert "\n" not in str(excinfo.value) and str(path) in str(excinfo.value)


def test_a_jpeg_named_like_a_raw_is_read_or_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "not_raw.nef"
    Image.fromarray(to_uint8(textured_image(32, 48))).save(path, format="JPEG")
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert excinfo.value.reason.startswith("not a RAW file LibRaw can read")


def test_raw_is_never_written_back_as_raw(tmp_path: Path) -> None:
    photo = photo_from_array(to_uint8(textured_image(16, 16)))
    with pytest.raises(PhotoWriteError) as excinfo:
        write_photo(photo, tmp_path / "out.dng")
    assert "cannot write camera RAW (.dng)" in str(excinfo.value)
    assert not (tmp_path / "out.dng").exists()
    assert normalize_format("raw") is None and normalize_format("nef") is None
    assert output_suffix(Path("a/IMG_1.CR3")) == ".tif" and output_suffix(Path("b.heic")) == ".heic"


# --- HEIC and JPEG XL ---------------------------------------------------------------------------------


def test_new_suffixes_are_supported() -> None:
    assert {".heic", ".heif", ".hif", ".jxl"} <= SUPPORTED_SUFFIXES
    assert RAW_SUFFIXES <= SUPPORTED_SUFFIXES
    assert {".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"} <= RAW_SUFFIXES
    assert "HEIF" in READ_FORMATS and "JXL" in READ_FORMATS


@pytest.mark.parametrize(("suffix", "fmt"), [(".heic", "HEIF"), (".jxl", "JXL")])
def test_heic_and_jxl_read_with_exif_and_icc(tmp_path: Path, suffix: str, fmt: str) -> None:
    pixels = to_uint8(textured_image(48, 64, seed=3))
    path = tmp_path / f"phone{suffix}"
    Image.fromarray(pixels).save(
        path, format=fmt, quality=95, exif=camera_exif().tobytes(), icc_profile=SRGB_PROFILE
    )
    photo = read_photo(path)
    assert photo.format == fmt and photo.pixels.shape == (48, 64, 3) and photo.bit_depth == 8
    assert np.abs(photo.pixels - pixels / 255.0).mean() < 0.03
    assert_srgb_profile(photo.icc_profile, fmt)
    exif = Image.Exif()
    assert photo.exif is not None
    exif.load(photo.exif)
    assert exif[0x010F] == MAKE and exif.get_ifd(0x8769)[0x9003] == TAKEN


@pytest.mark.parametrize(("suffix", "fmt"), [(".heic", "HEIF"), (".jxl", "JXL")])
def test_orientation_is_applied_once(tmp_path: Path, suffix: str, fmt: str) -> None:
    # Both decoders turn the picture by the file's own orientation (HEIF's irot, JPEG XL's header):
    # EXIF's tag must not turn it a second time.
    pixels = to_uint8(textured_image(32, 64, seed=4))
    path = tmp_path / f"turned{suffix}"
    Image.fromarray(pixels).save(path, format=fmt, quality=95, exif=camera_exif(orientation=6).tobytes())
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB")).shape
    photo = read_photo(path)
    assert photo.pixels.shape == expected
    exif = Image.Exif()
    assert photo.exif is not None
    exif.load(photo.exif)
    assert exif[0x0112] == 1


@pytest.mark.parametrize(("suffix", "fmt"), [(".heic", "HEIF"), (".jxl", "JXL")])
def test_heic_and_jxl_written_with_exif_icc_and_alpha(tmp_path: Path, suffix: str, fmt: str) -> None:
    rgba = np.dstack([to_uint8(textured_image(40, 56, seed=5)), np.full((40, 56), 200, np.uint8)])
    photo = photo_from_array(rgba)
    photo.exif = camera_exif().tobytes()
    photo.icc_profile = SRGB_PROFILE
    out = write_photo(photo, tmp_path / f"out{suffix}")
    back = read_photo(out)
    assert back.format == fmt and back.pixels.shape == (40, 56, 3)
    assert back.alpha is not None and np.abs(back.alpha - 200 / 255).max() < 0.02
    assert_srgb_profile(back.icc_profile, fmt)
    exif = exif_of(out)
    assert exif[0x010F] == MAKE and exif.get_ifd(0x8769)[0x9003] == TAKEN
    # and when asked for by name, whatever the suffix says
    assert (
        read_photo(
            write_photo(photo, tmp_path / "named.bin", format="heic" if fmt == "HEIF" else "jxl")
        ).format
        == fmt
    )


def test_ten_bit_heif_is_read_with_16_bit_precision(tmp_path: Path) -> None:
    import pillow_heif

    ramp = np.linspace(0, 65535, 64, dtype=np.uint16)[None, :, None] * np.ones((32, 64, 3), np.uint16)
    deep = pillow_heif.from_bytes(mode="RGB;16", size=(64, 32), data=np.ascontiguousarray(ramp).tobytes())
    path = tmp_path / "hdr.heic"
    deep.save(path, quality=-1)  # libheif keeps 10 bits from 16-bit input
    photo = read_photo(path)
    assert photo.format == "HEIF" and photo.bit_depth == 16 and photo.pixels.shape == (32, 64, 3)
    with Image.open(path) as eight_bit:
        reference = np.asarray(eight_bit.convert("RGB")) / 255.0
    assert np.abs(photo.pixels - reference).max() < 2 / 255


def test_heif_with_several_images_reads_the_primary_one_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "burst.heic"
    first, second = (Image.fromarray(to_uint8(textured_image(24, 32, seed=s))) for s in (1, 2))
    first.save(path, format="HEIF", save_all=True, append_images=[second], quality=90)
    photo = read_photo(path)
    assert photo.notes == ("HEIF file with 2 images: only the primary image is read and restored",)


# --- end to end: read -> restore -> write, metadata kept ------------------------------------------------


def _restored(source: Path, out_dir: Path) -> Path:
    photo = read_photo(source)
    result = restore(photo, "remove the haze", device="cpu")
    target = out_dir / (source.stem + output_suffix(source))
    return write_photo(photo.with_pixels(result.pixels), target)


@pytest.mark.slow
def test_heic_dng_and_jxl_restored_end_to_end_with_metadata(tmp_path: Path) -> None:
    pixels = to_uint8(textured_image(48, 64, seed=6))
    heic, jxl, dng = tmp_path / "phone.heic", tmp_path / "web.jxl", tmp_path / "camera.dng"
    exif = camera_exif().tobytes()
    Image.fromarray(pixels).save(heic, format="HEIF", quality=95, exif=exif, icc_profile=SRGB_PROFILE)
    Image.fromarray(pixels).save(jxl, format="JXL", quality=95, exif=exif, icc_profile=SRGB_PROFILE)
    dng.write_bytes(make_dng(48, 64))
    originals = {p: p.read_bytes() for p in (heic, jxl, dng)}
    out = tmp_path / "out"
    out.mkdir()

    heic_out, jxl_out, dng_out = (_restored(p, out) for p in (heic, jxl, dng))
    assert (heic_out.suffix, jxl_out.suffix, dng_out.suffix) == (".heic", ".jxl", ".tif")
    for written, fmt in ((heic_out, "HEIF"), (jxl_out, "JXL")):
        back = read_photo(written)
        assert back.format == fmt and back.pixels.shape == (48, 64, 3)
        assert_srgb_profile(back.icc_profile, fmt)
        assert exif_of(written).get_ifd(0x8769)[0x9003] == TAKEN
    developed = read_photo(dng_out)
    assert developed.format == "TIFF" and developed.bit_depth == 16 and developed.pixels.shape == (64, 48, 3)
    tags = exif_of(dng_out)
    assert tags[0x010F] == MAKE and tags.get_ifd(0x8769)[0x8827] == 400
    assert {p: p.read_bytes() for p in originals} == originals  # originals untouched


def test_raw_bytes_in_memory_match_the_file(tmp_path: Path) -> None:
    # rawpy reads the same DNG from a buffer: the file layout, not the path, is what LibRaw accepts.
    data = make_dng(32, 32)
    with rawpy.imread(io.BytesIO(data)) as raw:
        assert raw.sizes.width == 32 and raw.sizes.height == 32
