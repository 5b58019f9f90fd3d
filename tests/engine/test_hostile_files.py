"""A seeded corpus of several hundred hostile files fed to read_photo: nothing but PhotoReadError or a Photo,
one line naming the file, in time, nothing printed on stderr, every original byte-identical afterwards.

The files are made here: real encoders (Pillow, OpenCV, pillow-heif, pillow-jxl-plugin, the engine's own
PNG/TIFF writers, a hand-made DNG), then cut, relabelled and given lying headers. Reads run in worker
processes (read_in_workers), so that a decoder that crashed the interpreter or hung would be reported
as such instead of taking pytest down with it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from engine.blur import TooSmallToJudge, analyze_blur
from engine.cli import EXIT_OK, main
from engine.errors import PhotoMendError, PhotoReadError
from engine.io import AVIF_AVAILABLE, limits, photo_from_array, read_photo, to_uint8, write_photo
from engine.io.encoders import write_png, write_tiff
from tests.conftest import textured_image
from tests.engine.test_formats import camera_exif, make_dng

REPO = Path(__file__).resolve().parents[2]
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
#: No read may take longer than this (the issue's bar is 60 s; a worker is killed as hung past HANG_S).
SLOWEST_S = 20.0
HANG_S = 60.0


# --- seeds: one small valid file per format and pixel layout ------------------------------------------


def _pil(array: np.ndarray | Image.Image, fmt: str, **options: object) -> bytes:
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _engine(writer: Callable[..., None], array: np.ndarray, **options: object) -> bytes:
    out = io.BytesIO()
    writer(out, array, **options)
    return out.getvalue()


@functools.lru_cache(maxsize=2)
def seed_files(seed: int = 27) -> dict[str, bytes]:
    """name -> bytes of valid files in every format and odd mode read_photo meets (name gives the suffix)."""
    rng = np.random.default_rng(seed)
    rgb = to_uint8(textured_image(48, 64, seed=seed))
    grey = rgb[..., 1]
    rgba = np.dstack([rgb, rng.integers(0, 256, (48, 64), dtype=np.uint8)])
    rgb16 = rng.integers(0, 65536, (40, 56, 3), dtype=np.uint16)
    exif = camera_exif(orientation=6).tobytes()
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    palette.info["transparency"] = 3
    frames = [Image.fromarray(np.roll(rgb, 8 * i, axis=1)) for i in range(3)]
    seeds = {
        "baseline.jpg": _pil(rgb, "JPEG", quality=90, exif=exif, icc_profile=SRGB_PROFILE),
        "progressive.jpg": _pil(rgb, "JPEG", quality=80, progressive=True),
        "grey.jpg": _pil(grey, "JPEG", quality=85),
        "cmyk.jpg": _pil(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=90),
        "restart.jpg": _pil(rgb, "JPEG", quality=75, restart_marker_blocks=1),
        "rgb.png": _pil(rgb, "PNG", exif=exif),
        "rgba.png": _pil(rgba, "PNG"),
        "rgb16.png": _engine(write_png, rgb16, icc_profile=SRGB_PROFILE),
        "grey16.png": _pil(Image.fromarray(grey.astype(np.uint16) * 257), "PNG"),
        "bilevel.png": _pil(Image.fromarray(grey).convert("1"), "PNG"),
        "palette_transparent.png": _pil(palette, "PNG"),
        "grey_alpha.png": _pil(Image.fromarray(rgba).convert("LA"), "PNG"),
        "apng.png": _pil(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "plain.tif": _pil(rgb, "TIFF"),
        "lzw.tif": _pil(rgb, "TIFF", compression="tiff_lzw"),
        "jpeg_in.tif": _pil(rgb, "TIFF", compression="jpeg"),
        "deflate16.tif": _engine(write_tiff, rgb16, exif=exif),
        "cmyk.tif": _pil(Image.fromarray(rgb).convert("CMYK"), "TIFF"),
        "lab.tif": _pil(Image.fromarray(rgb).convert("LAB"), "TIFF"),
        "float.tif": _pil(Image.fromarray(grey.astype(np.float32) / 255), "TIFF"),
        "int32.tif": _pil(Image.fromarray(grey.astype(np.int32) * 70000), "TIFF"),
        "group4.tif": _pil(Image.fromarray(grey).convert("1"), "TIFF", compression="group4"),
        "pages.tif": _pil(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "lossy.webp": _pil(rgb, "WEBP", quality=80),
        "lossless.webp": _pil(rgba, "WEBP", lossless=True),
        "animated.webp": _pil(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "rgb.bmp": _pil(rgb, "BMP"),
        "palette.bmp": _pil(Image.fromarray(rgb).convert("P"), "BMP"),
        "bilevel.bmp": _pil(Image.fromarray(grey).convert("1"), "BMP"),
        "phone.heic": _pil(rgb, "HEIF", quality=80, exif=exif, icc_profile=SRGB_PROFILE),
        "web.jxl": _pil(rgb, "JXL", quality=80, exif=exif),
        "camera.dng": make_dng(64, 48),
        "tiny.png": _pil(rgb[:1, :1], "PNG"),
    }
    ok, encoded = cv2.imencode(".tif", rgb16)
    assert ok
    seeds["opencv16.tif"] = encoded.tobytes()
    if AVIF_AVAILABLE:
        seeds["still.avif"] = _pil(rgb, "AVIF", quality=70)
    return seeds


# --- hostile variants ---------------------------------------------------------------------------------

CUTS = (0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.9, 0.98)
_EOI = b"\xff\xd9"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def jpeg_claiming(width: int, height: int, total: int = 665) -> bytes:
    """A real small JPEG whose SOF claims width x height, cut to `total` bytes ending in an EOI marker."""
    data = bytearray(_pil(to_uint8(textured_image(32, 32)), "JPEG", quality=50))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data[: total - 2]) + _EOI


def png_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def tiff_claiming(width: int, height: int) -> bytes:
    strip = 8 + 2 + 12 * 8 + 4  # right after the one IFD of 8 entries
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, strip),
               (277, 3, 1), (279, 4, 16)]  # fmt: skip
    table = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, 1)
        + struct.pack("<I" if kind == 4 else "<HH", value, *(() if kind == 4 else (0,)))
        for tag, kind, value in entries
    )
    return b"II*\x00" + struct.pack("<I", 8) + table + struct.pack("<I", 0) + b"\x80" * 16


def webp_claiming(width: int, height: int) -> bytes:
    """A lossless WebP whose VP8L header claims width x height (14 bits each)."""
    data = bytearray(_pil(to_uint8(textured_image(16, 16)), "WEBP", lossless=True))
    at = data.index(b"VP8L") + 8 + 1  # chunk header, then the 0x2f signature byte
    bits = (
        (width - 1) | ((height - 1) << 14) | (int.from_bytes(data[at : at + 4], "little") & ~((1 << 28) - 1))
    )
    data[at : at + 4] = bits.to_bytes(4, "little")
    return bytes(data)


def bmp_claiming(width: int, height: int) -> bytes:
    data = bytearray(_pil(to_uint8(textured_image(8, 8)), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def huge_icc_png(size: int = 2_000_000) -> bytes:
    profile = bytearray(SRGB_PROFILE) + np.random.default_rng(1).integers(0, 256, size, np.uint8).tobytes()
    profile[:4] = struct.pack(">I", len(profile))
    return _pil(to_uint8(textured_image(24, 24)), "PNG", icc_profile=bytes(profile))


def tiff_with_ifd_loop() -> bytes:
    data = bytearray(_pil(to_uint8(textured_image(16, 16)), "TIFF"))
    ifd = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    data[ifd + 2 + 12 * count : ifd + 6 + 12 * count] = struct.pack("<I", ifd)  # next IFD: itself
    return bytes(data)


@functools.lru_cache(maxsize=2)
def hostile_corpus(seed: int = 27) -> dict[str, bytes]:
    """name -> bytes: the seeds, each cut at CUTS (JPEGs also cut and closed with an EOI marker), each
    under a wrong suffix, lying headers, garbage, huge metadata."""
    rng = np.random.default_rng(seed)
    seeds = seed_files(seed)
    corpus: dict[str, bytes] = {}
    suffixes = [".jpg", ".png", ".tif", ".webp", ".heic", ".jxl", ".dng", ".bmp"]
    for index, (name, data) in enumerate(sorted(seeds.items())):
        stem, suffix = name.rsplit(".", 1)
        corpus[name] = data
        for cut in CUTS:
            kept = data[: max(1, int(len(data) * cut))]
            corpus[f"{stem}_cut{int(cut * 100):02d}.{suffix}"] = kept
            if suffix == "jpg":
                corpus[f"{stem}_cut{int(cut * 100):02d}_eoi.{suffix}"] = kept + _EOI
        corpus[f"{stem}_minus1.{suffix}"] = data[:-1]
        wrong = suffixes[index % len(suffixes)]
        if wrong[1:] != suffix:
            corpus[f"{stem}_as{wrong}"] = data
        corpus[f"{stem}_tail_garbage.{suffix}"] = data + rng.integers(0, 256, 512, np.uint8).tobytes()
    for width, height in ((12000, 12000), (65500, 65500), (100000, 3), (0, 10)):
        name = f"{width}x{height}"
        if 0 < width <= 65535 and height <= 65535:
            corpus[f"bomb_{name}.jpg"] = jpeg_claiming(width, height)
        corpus[f"bomb_{name}.png"] = png_claiming(width, height)
        corpus[f"bomb_{name}.tif"] = tiff_claiming(width, height)
        if 0 < width <= 16384 and 0 < height <= 16384:
            corpus[f"bomb_{name}.webp"] = webp_claiming(width, height)
        corpus[f"bomb_{name}.bmp"] = bmp_claiming(width, height)
    corpus["bomb_12000x12000_full_scan.jpg"] = jpeg_claiming(12000, 12000, total=2000)
    corpus["huge_icc.png"] = huge_icc_png()
    corpus["huge_icc.jpg"] = _pil(to_uint8(textured_image(24, 24)), "JPEG", icc_profile=b"\0" * 300_000)
    corpus["ifd_loop.tif"] = tiff_with_ifd_loop()
    corpus["garbage_exif.jpg"] = _pil(
        to_uint8(textured_image(24, 24)), "JPEG", exif=b"Exif\0\0" + bytes(range(256)) * 8
    )
    corpus["text.jpg"] = b"this is not a photo\n" * 40
    corpus["zeros.png"] = b"\0" * 4096
    corpus["html.heic"] = b"<html><body>404 not found</body></html>"
    corpus["anim.gif"] = _pil(to_uint8(textured_image(16, 16)), "GIF")
    for i in range(12):
        corpus[f"garbage_{i:02d}{suffixes[i % len(suffixes)]}"] = rng.integers(
            0, 256, 64 << (i % 6), np.uint8
        ).tobytes()
    for i, magic in enumerate(
        (
            b"\xff\xd8\xff",
            b"\x89PNG\r\n\x1a\n",
            b"II*\x00",
            b"RIFF\x00\x01\x00\x00WEBP",
            b"\x00\x00\x00\x18ftypheic",
        )
    ):
        corpus[f"magic_then_garbage_{i}.jpg"] = magic + rng.integers(0, 256, 2048, np.uint8).tobytes()
    return corpus


def special_files(folder: Path) -> dict[str, str]:
    """Paths that are not regular photo files -> the start of the reason read_photo must give."""
    expected: dict[str, str] = {}
    (folder / "folder.jpg").mkdir()
    expected["folder.jpg"] = "is a folder, not a photo"
    (folder / "empty.jpg").write_bytes(b"")
    expected["empty.jpg"] = "empty file"
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.jpg")
        expected["pipe.jpg"] = "not a regular file: a named pipe (FIFO)"
    if hasattr(os, "symlink"):
        os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")
        expected["dangling.jpg"] = "broken link: its target"
        os.symlink(folder / "loop.jpg", folder / "loop.jpg")
        expected["loop.jpg"] = "link loop"
        if Path("/dev/zero").exists():
            os.symlink("/dev/zero", folder / "zero.jpg")
            expected["zero.jpg"] = "not a regular file: a character device"
    locked = folder / "locked.jpg"
    locked.write_bytes(_pil(to_uint8(textured_image(8, 8)), "JPEG"))
    locked.chmod(0)
    if os.name == "posix" and os.geteuid() != 0:  # root reads it anyway
        expected["locked.jpg"] = "permission denied"
    return expected


# --- reading in worker processes ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadOutcome:
    path: str
    outcome: str  # "ok", "error" (PhotoReadError), "traceback" (any other exception), "crash", "hang"
    message: str  # the notes of a Photo, the error's line, or the traceback
    seconds: float


def worker_main() -> None:
    """Read each JSON path from stdin, answer one JSON line each (run by read_in_workers)."""
    import traceback

    for line in sys.stdin:
        path = json.loads(line)
        started = time.perf_counter()
        try:
            photo = read_photo(path)
            outcome, message = "ok", " | ".join(photo.notes)
        except PhotoReadError as exc:
            outcome, message = "error", str(exc)
        except BaseException as exc:  # noqa: BLE001 - what the harness is here to find
            outcome, message = "traceback", "".join(traceback.format_exception(exc))
        answer = {
            "path": path,
            "outcome": outcome,
            "message": message,
            "seconds": time.perf_counter() - started,
        }
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


class _Worker:
    def __init__(self, stderr: io.BufferedRandom) -> None:
        code = "from tests.engine.test_hostile_files import worker_main; worker_main()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        self.answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def read(self, path: str, timeout: float) -> ReadOutcome | None:
        """The outcome, or None when the worker died or hung (it is then killed)."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(path) + "\n")
            self.process.stdin.flush()
            line = self.answers.get(timeout=timeout)
        except (BrokenPipeError, OSError, queue.Empty):
            line = None
        if line is None:
            self.stop()
            return None
        return ReadOutcome(**json.loads(line))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def read_in_workers(
    paths: list[Path], *, workers: int = 2, hang_s: float = HANG_S
) -> tuple[list[ReadOutcome], str]:
    """read_photo on every path in `workers` processes: the outcomes, and what the workers printed on stderr
    (a worker that dies is reported as "crash", one silent for hang_s as "hang", and replaced)."""
    todo: queue.Queue[str] = queue.Queue()
    for path in paths:
        todo.put(str(path))
    results: list[ReadOutcome] = []
    lock = threading.Lock()
    with tempfile.TemporaryFile() as stderr:

        def run() -> None:
            worker = _Worker(stderr)  # type: ignore[arg-type]
            while True:
                try:
                    path = todo.get_nowait()
                except queue.Empty:
                    break
                started = time.perf_counter()
                outcome = worker.read(path, hang_s)
                if outcome is None:
                    hung = time.perf_counter() - started >= hang_s
                    outcome = ReadOutcome(
                        path, "hang" if hung else "crash", "", time.perf_counter() - started
                    )
                    worker = _Worker(stderr)  # type: ignore[arg-type]
                with lock:
                    results.append(outcome)
            worker.stop()

        threads = [threading.Thread(target=run) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stderr.seek(0)
        printed = stderr.read().decode("utf-8", errors="replace")
    return sorted(results, key=lambda r: r.path), printed


def sha256_of(paths: list[Path]) -> dict[Path, tuple[str, int]]:
    return {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths}


def check_outcomes(results: list[ReadOutcome], printed: str) -> None:
    """The bar every corpus meets: no traceback, crash or hang; one line naming the file; in time; quiet."""
    bad = [r for r in results if r.outcome not in ("ok", "error")]
    assert not bad, "\n".join(f"{r.outcome}: {r.path}\n{r.message}" for r in bad[:5])
    for result in results:
        if result.outcome == "error":
            assert "\n" not in result.message and result.message.startswith(f"{result.path}: "), (
                result.message
            )
    slowest = max(results, key=lambda r: r.seconds)
    assert slowest.seconds < SLOWEST_S, slowest
    assert printed == "", f"codec output reached stderr without a file name:\n{printed[:2000]}"


@contextlib.contextmanager
def unreadable_cleanup(folder: Path) -> Iterator[None]:
    try:
        yield
    finally:
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                if not path.is_symlink():
                    path.chmod(0o755 if path.is_dir() else 0o644)


# --- the tests ------------------------------------------------------------------------------------------


def test_hostile_corpus_gives_only_one_line_errors(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    assert len(corpus) >= 300
    for name, data in corpus.items():
        (tmp_path / name).write_bytes(data)
    paths = sorted(tmp_path.iterdir())
    before = sha256_of(paths)
    results, printed = read_in_workers(paths)
    check_outcomes(results, printed)
    assert sha256_of(paths) == before  # originals byte-identical, not even touched
    by_name = {Path(r.path).name: r for r in results}
    # A JPEG cut anywhere in its scan data and closed with an EOI marker is never restored silently.
    for name, result in by_name.items():
        if name.endswith("_eoi.jpg") and "_cut01_" not in name:
            assert result.outcome == "error", (name, result.message)
    failed = sum(r.outcome == "error" for r in results)
    print(f"\nhostile corpus: {len(results)} files, {failed} refused, {len(results) - failed} read, "
          f"slowest {max(r.seconds for r in results):.2f} s")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bomb_12000x12000.jpg", "truncated: the header declares 12000x12000 pixels"),
        ("bomb_12000x12000_full_scan.jpg", "truncated: the header declares 12000x12000 pixels"),
        ("bomb_12000x12000.png", "truncated: the header declares 12000x12000 pixels"),
        ("baseline_cut50_eoi.jpg", "truncated: the JPEG's image data ends early"),
        ("progressive_cut70_eoi.jpg", "truncated: the JPEG's image data ends early"),
        ("cmyk_cut70_eoi.jpg", "truncated: the JPEG's image data ends early"),
        ("restart_cut90_eoi.jpg", "truncated: the JPEG's image data ends early"),
        ("text.jpg", "not an image file"),
        ("anim.gif", "unsupported image format .gif"),
        ("float.tif", "unsupported pixel format: F"),
        ("magic_then_garbage_0.jpg", "corrupt image data"),
    ],
)
def test_hostile_files_are_refused_for_the_right_reason(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(hostile_corpus()[name])
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert excinfo.value.reason.startswith(reason), excinfo.value.reason


def test_665_byte_jpeg_claiming_144_megapixels_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jpg"
    path.write_bytes(jpeg_claiming(12000, 12000))
    assert path.stat().st_size == 665
    started = time.perf_counter()
    with pytest.raises(PhotoReadError):
        read_photo(path)
    assert time.perf_counter() - started < 1.0


def test_pixel_limit_scales_with_available_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "large.png"
    write_photo(photo_from_array(np.zeros((1000, 1500), np.uint8)), path)  # 1.5 MP
    monkeypatch.setattr(limits, "MIN_PIXEL_LIMIT", 1_000_000)  # scaled down, as the memory below
    monkeypatch.setattr(limits, "available_memory", lambda: 180_000_000)
    assert limits.pixel_limit(200_000_000) == (1_000_000, True)  # 0.8 MP by memory, the floor rules
    with pytest.raises(PhotoReadError) as excinfo:
        read_photo(path)
    assert excinfo.value.reason.startswith("image too large for the memory available: 1500x1000 pixels")
    monkeypatch.setattr(limits, "available_memory", lambda: 540_000_000)
    assert limits.pixel_limit(200_000_000) == (
        int(540e6 * limits.MEMORY_SHARE / limits.BYTES_PER_PIXEL),
        True,
    )
    assert read_photo(path).pixels.shape == (1000, 1500, 3)
    monkeypatch.setattr(limits, "available_memory", lambda: 64_000_000_000)  # then max_pixels rules
    assert limits.pixel_limit(200_000_000) == (200_000_000, False)
    monkeypatch.setattr(limits, "available_memory", lambda: None)  # unknown: max_pixels alone
    assert limits.pixel_limit(1000) == (1000, False)


def test_special_files_are_refused_by_kind_without_blocking(tmp_path: Path) -> None:
    expected = special_files(tmp_path)
    with unreadable_cleanup(tmp_path):
        for name, reason in expected.items():
            with pytest.raises(PhotoReadError) as excinfo:
                read_photo(tmp_path / name)
            assert excinfo.value.reason.startswith(reason), (name, excinfo.value.reason)
            assert str(tmp_path / name) in str(excinfo.value)


def test_huge_icc_profile_in_png_reads_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "huge_icc.png"
    path.write_bytes(huge_icc_png(1_500_000))
    photo = read_photo(path)
    assert photo.icc_profile is not None and len(photo.icc_profile) > 1_500_000
    out = write_photo(photo, tmp_path / "out.png")
    assert read_photo(out).icc_profile == photo.icc_profile


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("apng.png", "animated PNG with 3 frames: only the first frame is read and restored"),
        ("animated.webp", "animated WebP with 3 frames: only the first frame is read and restored"),
        ("pages.tif", "multi-page TIFF with 3 pages: only the first page is read and restored"),
    ],
)
def test_multi_frame_files_read_the_first_frame_with_a_note(tmp_path: Path, name: str, note: str) -> None:
    path = tmp_path / name
    path.write_bytes(seed_files()[name])
    photo = read_photo(path)
    assert photo.notes == (note,)
    assert photo.with_pixels(photo.pixels).notes == (note,)  # the note travels with the photo


def test_codec_warnings_become_notes_not_stderr(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # A 16-bit PNG with a broken CRC in its last IDAT: Pillow reads it, libpng (through OpenCV) complains.
    data = bytearray(seed_files()["rgb16.png"])  # a copy: the cached seeds stay as made
    idat = data.rindex(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    data[idat + 4 + length] ^= 0xFF
    path = tmp_path / "bad_crc16.png"
    path.write_bytes(bytes(data))
    with contextlib.suppress(PhotoReadError):
        read_photo(path)
    captured = capfd.readouterr()
    assert captured.err == ""


def test_pillow_truncated_loading_stays_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as another library might leave it
    path = tmp_path / "cut.png"
    path.write_bytes(seed_files()["rgb.png"][:-200])
    with pytest.raises(PhotoReadError):
        read_photo(path)


@pytest.mark.parametrize(("height", "width"), [(4, 10000), (3, 3), (1, 1), (7, 500)])
def test_blur_on_photos_too_small_to_judge_is_a_one_line_error(height: int, width: int) -> None:
    pixels = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    with pytest.raises(TooSmallToJudge) as excinfo:
        analyze_blur(pixels)
    assert isinstance(excinfo.value, PhotoMendError) and isinstance(excinfo.value, ValueError)
    assert (
        str(excinfo.value)
        == f"too small to judge sharpness: {width}x{height} pixels (at least 8 on each side)"
    )


@pytest.mark.parametrize(("height", "width"), [(8, 8), (20, 10000), (10000, 9)])
def test_blur_judges_thin_photos_whose_short_side_allows_it(height: int, width: int) -> None:
    pixels = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    report = analyze_blur(pixels)
    assert 0 <= report.score <= 100 and report.image_size == (width, height)


def test_blur_command_reports_tiny_and_broken_photos_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.fromarray(to_uint8(textured_image(3, 3))).save(tmp_path / "tiny.png")
    Image.fromarray(to_uint8(textured_image(64, 64))).save(tmp_path / "fine.png")
    (tmp_path / "broken.jpg").write_bytes(jpeg_claiming(4000, 3000))
    assert main(["blur", str(tmp_path), "--json"]) != EXIT_OK
    rows = {Path(row["path"]).name: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert "score" in rows["fine.png"]
    assert (
        rows["tiny.png"]["error"]
        == f"{tmp_path / 'tiny.png'}: too small to judge sharpness: 3x3 pixels (at least 8 on each side)"
    )
    assert rows["broken.jpg"]["error"].startswith(f"{tmp_path / 'broken.jpg'}: truncated")


def test_compare_json_is_strict_json_for_identical_photos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.fromarray(to_uint8(textured_image(32, 32))).save(tmp_path / "a.png")
    assert main(["compare", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--json"]) == EXIT_OK
    line = capsys.readouterr().out.strip()
    row = json.loads(line, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert row["psnr"] is None and row["identical"] is True and row["ssim"] == pytest.approx(1.0)
    assert main(["compare", str(tmp_path / "a.png"), str(tmp_path / "a.png")]) == EXIT_OK
    assert "PSNR inf dB (identical)" in capsys.readouterr().out
    Image.fromarray(to_uint8(np.clip(textured_image(32, 32) + 0.05, 0, 1))).save(tmp_path / "b.png")
    assert main(["compare", str(tmp_path / "b.png"), str(tmp_path / "a.png"), "--json"]) == EXIT_OK
    row = json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert 20 < row["psnr"] < 40 and row["identical"] is False
