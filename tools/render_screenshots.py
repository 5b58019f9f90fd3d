"""Render the desktop app's README screenshots offscreen (main window, defocus, batch queue), real engine.

    .venv/bin/python tools/render_screenshots.py [--out docs/screenshots]

Uses resources/samples/ when it has a photo, else makes a textured test photo. Settings and the queue
live in a temporary folder, so the user's own PhotoMend files are never touched.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 300_000
WINDOW_SIZE = (1280, 800)


def sample_photo(scratch: Path) -> Path:
    from engine.io import SUPPORTED_SUFFIXES

    samples = ROOT / "resources" / "samples"
    if samples.is_dir():
        for path in sorted(samples.iterdir()):
            if path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith("."):
                return path
    return make_photo(scratch / "sample.png", seed=3, noise=0.08)


def make_photo(path: Path, *, seed: int, noise: float = 0.0, blur: float = 0.0, gain: float = 1.0) -> Path:
    """A photo-like test image: smooth gradients, hard-edged shapes, fine texture."""
    import cv2
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    height, width = 480, 720
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fx, fy = rng.uniform(0.5, 2.0, 2) / max(height, width)
        img[..., c] = 0.5 + 0.22 * np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 6.28))
    for _ in range(14):
        colour = rng.uniform(0.1, 0.95, 3).astype(np.float32)
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.05, 0.2) * height
        mask = (
            ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)
            if rng.random() < 0.5
            else ((np.abs(yy - cy) < r) & (np.abs(xx - cx) < r * 0.7))
        )
        img[mask] = colour
    img += (0.05 * np.sin(xx * 0.8 + yy * 0.3))[..., None]
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = img * gain + rng.normal(0.0, noise, img.shape).astype(np.float32)
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def defocused_photo(path: Path) -> Path:
    """tests/data/path_1200.jpg (a real photo) out of focus: a lens disk of radius 3 px, faint noise."""
    import numpy as np
    from PIL import Image

    from engine.restorers.defocus import defocus_kernel
    from training.degradations import apply_kernel

    photo = np.asarray(Image.open(ROOT / "tests" / "data" / "path_1200.jpg").convert("RGB"), np.float32)
    soft = apply_kernel(photo / 255.0, defocus_kernel(3.0))
    soft += np.random.default_rng(0).normal(0.0, 1 / 255, soft.shape).astype(np.float32)
    Image.fromarray(np.round(np.clip(soft, 0.0, 1.0) * 255.0).astype(np.uint8)).save(path)
    return path


def make_shoot(photo: Path, folder: Path) -> Path:
    """A small "session" cut from the sample: noisy, shaky (blurred), dark, clean, and one broken file."""
    import cv2
    import numpy as np
    from PIL import Image

    from engine.io import read_photo

    folder.mkdir(parents=True, exist_ok=True)
    pixels = read_photo(photo).pixels
    height, width = pixels.shape[:2]
    crop_h, crop_w = height * 2 // 3, width * 2 // 3
    offsets = [(0, 0), (height - crop_h, width - crop_w), (0, width - crop_w), (height - crop_h, 0)]
    looks = [
        lambda im: im,
        lambda im: cv2.GaussianBlur(im, (0, 0), 3.0),
        lambda im: im * 0.4,
        lambda im: cv2.GaussianBlur(im, (0, 0), 1.2),
    ]
    for index, ((top, left), look) in enumerate(zip(offsets, looks, strict=True), start=101):
        crop = np.ascontiguousarray(pixels[top : top + crop_h, left : left + crop_w])
        out = (np.clip(look(crop), 0, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(out).save(folder / f"IMG_0{index}.jpg", quality=92)
    (folder / "IMG_0105.jpg").write_bytes(b"\xff\xd8\xff\xe0 card error: file cut short")
    return folder


def wait_for(signals: list[object], timeout_ms: int, condition: Callable[[], bool] | None = None) -> bool:
    """Spin the event loop until one of `signals` fires (or `condition` holds), or the timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    fired: list[bool] = []
    for signal in signals:
        signal.connect(lambda *args: (fired.append(True), loop.quit()))  # type: ignore[attr-defined]
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(timeout_ms)
    if condition is not None:
        poll = QTimer()
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(100)
    loop.exec()
    return bool(fired) or (condition is not None and condition())


def settle(ms: int = 300) -> None:
    wait_for([], ms)


def to_pil(image: object) -> object:
    """A QImage as an RGB PIL image (through a lossless PNG in memory)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[attr-defined]
    picture = Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")
    return picture


def save_png(image: object, path: Path) -> int:
    """Save a QImage as PNG under MAX_BYTES: lossless if it fits, else 256 colours, else smaller."""
    from PIL import Image

    picture = to_pil(image)
    # Undithered palettes: dithering a noisy photo region makes PNG compress worse, not better.
    # Shrinking before dropping colours: UI text stays readable at 3/4 size, photos band below 128 colours.
    steps = [(1.0, 0), (1.0, 256), (0.875, 256), (0.75, 256), (0.75, 128), (0.75, 64)]
    for scale, colours in steps:
        attempt = picture
        if scale != 1.0:
            size = (round(picture.width * scale), round(picture.height * scale))
            attempt = attempt.resize(size, Image.Resampling.LANCZOS)
        if colours:
            attempt = attempt.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = io.BytesIO()
        attempt.save(out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES:
            path.write_bytes(out.getvalue())
            print(f"{path.name}: {attempt.width} x {attempt.height}, {colours or 'all'} colours")
            return out.tell()
    raise RuntimeError(f"{path.name}: cannot get under {MAX_BYTES} bytes; the window is too busy")


def save_jpeg(image: object, path: Path) -> int:
    """Save a QImage as JPEG under MAX_BYTES, full size: for windows that are mostly photo, where a PNG
    palette would band the very detail the screenshot is there to show."""
    picture = to_pil(image)
    for quality in (90, 85, 80, 75, 70):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True, subsampling="4:4:4")
        if out.tell() <= MAX_BYTES:
            path.write_bytes(out.getvalue())
            print(f"{path.name}: {picture.width} x {picture.height}, JPEG quality {quality}")
            return out.tell()
    raise RuntimeError(f"{path.name}: cannot get under {MAX_BYTES} bytes at JPEG quality 70")


def render(out_dir: Path, timeout_s: int) -> list[str]:
    from PySide6.QtWidgets import QApplication

    from desktop.qt_main_window import QtMainWindow, app_icon
    from desktop.qt_workers import wait_for_workers

    notes: list[str] = []
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setWindowIcon(app_icon())
    scratch = Path(tempfile.mkdtemp(prefix="photomend-demo-"))
    window = QtMainWindow(
        settings_file=scratch / "settings.json", queue_file=scratch / "queue.json", confirm_close=False
    )
    window.resize(*WINDOW_SIZE)
    window.show()
    settle()

    # 1. Main window: photo loaded, instruction interpreted, result, divider mid-way.
    photo = sample_photo(scratch)
    if not window.open_photo(photo):
        notes.append(f"could not open {photo}: {window.error_text}")
    window.prompt.set_text("it's grainy, clean up the noise")  # the README's main job
    if not wait_for([window.prompt.interpretationShown], timeout_s * 1000):
        notes.append("no interpretation shown (instruction encoder missing?)")
    interpretation = window.prompt.interpretation
    if interpretation is not None and interpretation.understood:
        window.run_restore(interpretation)
        wait_for([window.restoreFinished, window.restoreFailed], timeout_s * 1000)
        if window.error_text:
            notes.append(f"restore failed: {window.error_text}")
        # The run's status line is transient; the interpretation stays what the screenshot shows.
        window.prompt._show_interpretation(interpretation)  # noqa: SLF001
    wait_for([], 10_000, condition=lambda: window.blur_panel.report is not None)
    window.canvas.zoom_fit()
    window.canvas.set_divider(0.5)
    settle()
    size = save_png(window.grab().toImage(), out_dir / "main-window.png")
    print(f"main-window.png: {size} bytes")

    # 2. An out-of-focus photo sharpened: the run panel says what was found; 100 % view, divider mid-way.
    soft = defocused_photo(scratch / "soft.png")
    if not window.open_photo(soft):
        notes.append(f"could not open {soft}: {window.error_text}")
    window.prompt.set_text("it's out of focus, sharpen it")
    if wait_for([window.prompt.interpretationShown], timeout_s * 1000):
        window.run_restore(window.prompt.interpretation)
        wait_for([window.restoreFinished, window.restoreFailed], timeout_s * 1000)
        if window.error_text:
            notes.append(f"restore failed: {window.error_text}")
        window.prompt._show_interpretation(window.prompt.interpretation)  # noqa: SLF001
    window.canvas.zoom_actual()
    window.canvas.set_divider(0.5)
    settle()
    size = save_jpeg(window.grab().toImage(), out_dir / "defocus.jpg")
    print(f"defocus.jpg: {size} bytes")

    # 3. Batch queue: a few shots of a "session", culled by sharpness, then restored; one broken file.
    shoot = make_shoot(photo, scratch / "shoot")
    window.tabs.setCurrentWidget(window.batch)
    window.batch.cull_mode.setChecked(True)
    window.batch.add_paths([shoot])
    wait_for([], timeout_s * 1000, condition=lambda: window.batch.cull_button.isEnabled())
    window.batch.set_options(instruction="remove the noise", output_dir=scratch / "restored")
    dark = next(i for i in window.batch.queue.items if i.name == "IMG_0103.jpg")
    row = window.batch.model.row_of(dark.id)
    window.batch.model.setData(window.batch.model.index(row, 1), "brighten this dark shot and denoise")
    if window.batch.start():
        wait_for([window.batch.queueFinished], timeout_s * 1000)
    wait_for(
        [],
        5_000,
        condition=lambda: all(window.batch.model.has_thumbnail(i.id) for i in window.batch.queue.items),
    )
    settle()
    size = save_png(window.grab().toImage(), out_dir / "batch-queue.png")
    print(f"batch-queue.png: {size} bytes")

    window.close()
    wait_for_workers(30_000)
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for each engine step")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Keep the per-user folders of whoever runs this out of it.
    home = Path(tempfile.mkdtemp(prefix="photomend-user-"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        os.environ[name] = str(home / name.lower())
    sys.path.insert(0, str(ROOT))
    args.out.mkdir(parents=True, exist_ok=True)
    notes = render(args.out, args.timeout)
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
