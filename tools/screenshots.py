"""Regenerate the desktop app's README screenshots and docs/screenshots/MANIFEST.json, with the real engine.

    .venv/bin/python -m tools.screenshots [--out docs/screenshots]

Three scenes, rendered offscreen from the current app and models: the sample restored ("it's grainy, clean up
the noise"), an out-of-focus photo sharpened at 100 %, and a culled and restored batch. Each is a JPEG at
quality 85. MANIFEST.json records, per screenshot, what it was made from: the sha256 of each model the scene
loaded, one hash over the app's sources (desktop/), the input photos and this tool; tests/desktop/
test_screenshots.py fails when a README screenshot is older than the model or app change it shows. The
main window's scene also records how long the run took in the app and, in the same process right after,
in the engine alone (what `photomend restore` runs), the figures the README quotes.

Settings and the queue live in a temporary folder, so the user's own PhotoMend files are never touched.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
MANIFEST_FILE = "MANIFEST.json"
COMMAND = ".venv/bin/python -m tools.screenshots"
SAMPLE = ROOT / "resources" / "samples" / "sample_noisy.jpg"
DEFOCUS_SOURCE = ROOT / "tests" / "data" / "path_1200.jpg"
MAIN_PROMPT = "it's grainy, clean up the noise"  # the README's main job
DEFOCUS_PROMPT = "it's out of focus, sharpen it"
JPEG_QUALITY = 85
MAX_BYTES = 350_000
WINDOW_SIZE = (1280, 800)
# Every scene shows how its instruction was understood: the text encoder and the task head made that.
INSTRUCTION_MODELS = ("text_encoder", "text_tokenizer", "task_head")
# Screenshots in docs/screenshots that this tool does not make, and who does.
_BY_HAND = "in GIMP 3 with the plug-in (plugin_gimp/), not by this tool (a JPEG, quality 85, of its PNG)"
MADE_ELSEWHERE = {
    "gimp_restore_dialog.jpg": _BY_HAND,
    "gimp_restore_result.jpg": _BY_HAND,
    "gimp_blur_map_dialog.jpg": _BY_HAND,
    "gimp_blur_map_result.jpg": _BY_HAND,
}


# --- what a screenshot was made from (used by the staleness test; no Qt here) -----------------------------
def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def app_sources_hash(root: Path = ROOT) -> str:
    """One sha256 over desktop/'s Python sources: their paths and contents, line endings normalised."""
    digest = hashlib.sha256()
    for path in sorted((root / "desktop").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def model_hashes(model_ids: list[str]) -> dict[str, str]:
    """{model id: the sha256 the engine checks its file against} (engine.models' registry)."""
    from engine.models import get_spec

    return {model_id: get_spec(model_id).sha256 for model_id in sorted(model_ids)}


def load_manifest(folder: Path = SCREENSHOTS) -> dict[str, object]:
    return json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))


def stale_reasons(name: str, entry: dict[str, object], folder: Path = SCREENSHOTS) -> list[str]:
    """Why `name` no longer shows the current app and models (empty: it does)."""
    reasons = []
    path = folder / name
    if not path.exists():
        return [f"{name} is missing"]
    if sha256_of(path) != entry["sha256"]:
        reasons.append(f"{name} is not the file the manifest describes")
    if entry["app"] != app_sources_hash():
        reasons.append(f"{name} was made from other desktop/ sources than today's")
    current = model_hashes(list(entry["models"]))  # type: ignore[arg-type]
    for model_id, sha in entry["models"].items():  # type: ignore[union-attr]
        if current[model_id] != sha:
            reasons.append(f"{name} was made with another {model_id} model")
    for relative, sha in entry.get("inputs", {}).items():  # type: ignore[union-attr]
        if sha256_of(ROOT / relative) != sha:
            reasons.append(f"{name} was made from another {relative}")
    return reasons


# --- the scenes ------------------------------------------------------------------------------------------
def defocused_photo(path: Path) -> Path:
    """tests/data/path_1200.jpg (a real photo) out of focus: a lens disk of radius 3 px, faint noise."""
    import numpy as np
    from PIL import Image

    from engine.restorers.defocus import defocus_kernel
    from training.degradations import apply_kernel

    photo = np.asarray(Image.open(DEFOCUS_SOURCE).convert("RGB"), np.float32)
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
    poll = QTimer()
    if condition is not None:
        poll.timeout.connect(lambda: condition() and loop.quit())
        poll.start(100)
    loop.exec()
    return bool(fired) or (condition is not None and condition())


def settle(ms: int = 300) -> None:
    wait_for([], ms)


def save_jpeg(image: object, path: Path) -> int:
    """A QImage as a JPEG at JPEG_QUALITY (4:4:4, so UI text stays sharp)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[attr-defined]
    picture = Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling="4:4:4")
    if out.tell() > MAX_BYTES:
        raise RuntimeError(f"{path.name}: {out.tell()} bytes at quality {JPEG_QUALITY}, over {MAX_BYTES}")
    path.write_bytes(out.getvalue())
    print(f"{path.name}: {picture.width} x {picture.height}, {out.tell() // 1000} kB")
    return out.tell()


def loaded_models() -> list[str]:
    """The registry ids of the ONNX models the engine has sessions for (cleared before each scene).

    Read from engine.runtime.sessions' cache; the engine has no public list of it yet."""
    from engine.runtime import sessions

    cache = getattr(sessions, "_sessions", None)
    if cache is None:  # the cache moved: count every model as used, which can only make a shot stale
        from engine.models import all_specs

        return [spec.id for spec in all_specs()]
    return sorted({key[0].id for key in list(cache)})


class Scenes:
    """The app's window, offscreen, and the scenes the README shows."""

    def __init__(self, out_dir: Path, timeout_s: int) -> None:
        from PySide6.QtWidgets import QApplication

        from desktop.qt_images import quiet_image_decoders
        from desktop.qt_main_window import QtMainWindow, app_icon

        self.out_dir = out_dir
        self.timeout_ms = timeout_s * 1000
        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        self.app.setWindowIcon(app_icon())
        quiet_image_decoders()  # as the app does: the broken file in the batch scene is meant to be there
        self.scratch = Path(tempfile.mkdtemp(prefix="photomend-demo-"))
        self.window = QtMainWindow(
            settings_file=self.scratch / "settings.json",
            queue_file=self.scratch / "queue.json",
            confirm_close=False,
        )
        self.window.resize(*WINDOW_SIZE)
        self.window.show()
        settle()
        self.entries: dict[str, dict[str, object]] = {}
        self.run_cpu_seconds = 0.0

    def _begin(self) -> None:
        from engine.runtime import clear_session_cache

        clear_session_cache()

    def _shoot(self, name: str, shows: str, inputs: list[Path], **extra: object) -> None:
        settle()
        save_jpeg(self.window.grab().toImage(), self.out_dir / name)
        models = sorted({*loaded_models(), *INSTRUCTION_MODELS})
        self.entries[name] = {
            "shows": shows,
            "sha256": sha256_of(self.out_dir / name),
            "models": model_hashes(models),
            "app": app_sources_hash(),
            "inputs": {p.relative_to(ROOT).as_posix(): sha256_of(p) for p in inputs},
            **extra,
        }

    def _run(self, photo: Path, prompt: str) -> object:
        window = self.window
        if not window.open_photo(photo):
            raise RuntimeError(f"could not open {photo}: {window.error_text}")
        window.prompt.set_text(prompt)
        if not wait_for([window.prompt.interpretationShown], self.timeout_ms):
            raise RuntimeError("no interpretation shown (instruction encoder missing?)")
        wait_for([], self.timeout_ms, condition=lambda: not window.prompt.detecting)
        wait_for([], 10_000, condition=lambda: window.blur_panel.report is not None)
        cpu = time.process_time()
        window.run_restore(window.prompt.interpretation)
        wait_for([window.restoreFinished, window.restoreFailed], self.timeout_ms)
        self.run_cpu_seconds = time.process_time() - cpu
        if window.state.result is None:
            raise RuntimeError(f"restore failed: {window.error_text}")
        wait_for([], self.timeout_ms, condition=lambda: not window.prompt.detecting)
        return window.state.result

    def main_window(self) -> None:
        """The sample restored as the README's main job; the run timed in the app, then in the engine alone
        (what `photomend restore` runs), both with the models already loaded, wall clock and CPU time."""
        from engine.instructions import interpret
        from engine.io import read_photo
        from engine.pipeline import restore

        self._begin()
        pixels = read_photo(SAMPLE).pixels
        interpretation = interpret(MAIN_PROMPT)
        restore(pixels[:64, :64], interpretation)  # load the models: neither figure includes that
        result = self._run(SAMPLE, MAIN_PROMPT)
        self.window.canvas.zoom_fit()
        self.window.canvas.set_divider(0.5)
        started, cpu = time.perf_counter(), time.process_time()
        restore(pixels, interpretation)
        engine_seconds, engine_cpu = time.perf_counter() - started, time.process_time() - cpu
        timing = {
            "app_seconds": round(result.seconds, 1),  # type: ignore[attr-defined]
            "engine_seconds": round(engine_seconds, 1),
            # CPU time of the whole process over the run, all threads; the app's includes its window's.
            "app_cpu_seconds": round(self.run_cpu_seconds, 1),
            "engine_cpu_seconds": round(engine_cpu, 1),
            "cpus": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
            "machine": platform.machine(),
        }
        print(
            f"main-window: {timing['app_seconds']} s in the app ({timing['app_cpu_seconds']} s CPU), "
            f"{timing['engine_seconds']} s in the engine alone ({timing['engine_cpu_seconds']} s CPU); "
            f"load average {timing['load_average']}"
        )
        self._shoot(
            "main-window.jpg",
            f'the sample restored with "{MAIN_PROMPT}", divider in the middle',
            [SAMPLE],
            timing=timing,
        )

    def defocus(self) -> None:
        self._begin()
        soft = defocused_photo(self.scratch / "soft.png")
        self._run(soft, DEFOCUS_PROMPT)
        self.window.canvas.zoom_actual()
        self.window.canvas.set_divider(0.5)
        self._shoot(
            "defocus.jpg",
            f'tests/data/path_1200.jpg out of focus (a 3 px lens disk), at 100 % after "{DEFOCUS_PROMPT}"',
            [DEFOCUS_SOURCE],
        )

    def batch_queue(self) -> None:
        self._begin()
        window = self.window
        shoot = make_shoot(SAMPLE, self.scratch / "shoot")
        window.tabs.setCurrentWidget(window.batch)
        window.batch.cull_mode.setChecked(True)
        window.batch.add_paths([shoot])
        wait_for([], self.timeout_ms, condition=lambda: window.batch.cull_button.isEnabled())
        window.batch.set_options(instruction="remove the noise", output_dir=self.scratch / "restored")
        dark = next(i for i in window.batch.queue.items if i.name == "IMG_0103.jpg")
        row = window.batch.model.row_of(dark.id)
        window.batch.model.setData(window.batch.model.index(row, 1), "brighten this dark shot and denoise")
        if window.batch.start():
            wait_for([window.batch.queueFinished], self.timeout_ms)
        wait_for(
            [],
            5_000,
            condition=lambda: all(window.batch.model.has_thumbnail(i.id) for i in window.batch.queue.items),
        )
        self._shoot(
            "batch-queue.jpg",
            "a culled shoot (cut from the sample) restored in the Batch tab, one broken file",
            [SAMPLE],
        )

    def close(self) -> None:
        from desktop.qt_workers import wait_for_workers

        self.window.close()
        wait_for_workers(30_000)


def write_manifest(out_dir: Path, entries: dict[str, dict[str, object]]) -> None:
    manifest = {
        "about": "What each screenshot was made from; tests/desktop/test_screenshots.py checks it.",
        "command": COMMAND,
        "tool": sha256_of(Path(__file__)),
        "screenshots": entries,
        "made_elsewhere": MADE_ELSEWHERE,
    }
    (out_dir / MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOTS)
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for each engine step")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="photomend-user-"))  # keep the user's own PhotoMend files out
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(home / name.lower())
    args.out.mkdir(parents=True, exist_ok=True)
    from desktop.qt_gc import GuiThreadCollector

    scenes = Scenes(args.out, args.timeout)
    collector = GuiThreadCollector(scenes.app)  # as the app does (desktop/qt_gc.py)
    collector.start()
    try:
        scenes.main_window()
        scenes.defocus()
        scenes.batch_queue()
    finally:
        scenes.close()
        collector.stop()
    write_manifest(args.out, scenes.entries)
    print(f"{MANIFEST_FILE}: {len(scenes.entries)} screenshots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
