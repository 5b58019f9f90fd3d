"""The GIMP bridge's worker: in PhotoMend's own Python, reads a layer dump, runs the engine, writes back.

The GIMP plug-in runs under GIMP's Python (often a bundled one without numpy or onnxruntime), so it never
imports the engine: it writes the layer as raw float32 plus a JSON request into a private temp folder and
starts this script with PhotoMend's interpreter. Protocol (one request per process):

    worker.py [--watch-stdin] REQUEST_JSON
    request: {"operation": "restore" | "blur", "width", "height", "channels" (1-4: Y, YA, RGB, RGBA),
              "input": "<file in the request folder>", "output": "<file to write>",
              "instruction": str, "strength": float}
    stdout:  "progress <fraction> <stage>" lines while working
    reply:   reply.json next to the request: {"ok": bool, "error_kind", "message", "channels", "width",
             "height" (the result's size: larger than the layer's when the instruction enlarges, alpha
             enlarged alongside), "summary",
             "notes" (what the model does poorly among the tasks run), "findings" (what the run found in
             this layer, e.g. the out-of-focus disk it undid: all steps' findings, in order), "plan" (the
             planned steps, one line each: "1. reduce noise: <how>"), "steps" (what each step did, in order:
             {"label", "restorer" (the one that ran), "findings", "seconds"}), "score", "blurry", "kind",
             "verdict" (engine.blur's one line), "timings"}
    exit:    the CLI's codes: 0 ok, 1 failed, 3 instruction not understood, 4 model/device error,
             130 cancelled

With --watch-stdin the plug-in keeps this process's stdin open; when it closes (GIMP killed the plug-in,
e.g. its progress was cancelled) the worker cancels the engine, removes the request folder the plug-in can
no longer clean, and exits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import numpy as np
except ImportError:  # the wrong interpreter: main() reports it as "engine missing", not as a crash
    np = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from engine.instructions import Interpretation

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INSTRUCTION = 3
EXIT_MODEL = 4
EXIT_CANCELLED = 130

REPLY_NAME = "reply.json"
# GIMP layers with an alpha channel keep it aside: the engine restores RGB only.
_ALPHA_CHANNELS = {2: True, 4: True}


@dataclass
class Request:
    operation: str
    width: int
    height: int
    channels: int
    input: Path
    output: Path
    instruction: str = ""
    strength: float = 1.0

    @classmethod
    def load(cls, path: Path) -> Request:
        raw = json.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
        if raw.get("operation") not in ("restore", "blur"):
            raise ValueError(f"unknown operation {raw.get('operation')!r}")
        channels = int(raw["channels"])
        if channels not in (1, 2, 3, 4):
            raise ValueError(f"unsupported channel count {channels}")
        return cls(
            operation=raw["operation"],
            width=int(raw["width"]),
            height=int(raw["height"]),
            channels=channels,
            # Names only: the worker never reads or writes outside the request folder.
            input=folder / Path(raw["input"]).name,
            output=folder / Path(raw["output"]).name,
            instruction=str(raw.get("instruction", "")),
            strength=float(raw.get("strength", 1.0)),
        )


@dataclass
class Reply:
    ok: bool
    error_kind: str = ""
    message: str = ""
    channels: int = 0
    width: int = 0
    height: int = 0
    summary: str = ""
    notes: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    score: float | None = None
    blurry: bool | None = None
    kind: str = ""
    verdict: str = ""  # engine.blur.BlurReport.verdict(): the line every face shows
    timings: dict[str, float] = field(default_factory=dict)


class Progress:
    """Prints progress lines the plug-in forwards to GIMP's progress bar (rate-limited: each one redraws)."""

    def __init__(self, link: ParentLink, out: Any = None) -> None:
        self._link = link
        self._out = out or sys.stdout
        self._last = -1.0
        self._stage = ""
        self._lock = threading.Lock()

    def __call__(self, fraction: float, stage: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        with self._lock:
            if stage == self._stage and fraction - self._last < 0.01 and fraction < 1.0:
                return
            self._last, self._stage = fraction, stage
            try:
                # One line per update; the stage text may not contain a newline.
                self._out.write(f"progress {fraction:.4f} {' '.join(stage.split())}\n")
                self._out.flush()
            except (BrokenPipeError, OSError, ValueError):
                # Nobody reads our progress any more: the plug-in is gone.
                self._link.lost()


def to_rgb(layer: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, C) GIMP pixels -> (H, W, 3) RGB in [0, 1] and the alpha plane (or None)."""
    channels = layer.shape[2]
    alpha = layer[:, :, -1].copy() if _ALPHA_CHANNELS.get(channels) else None
    colour = layer[:, :, :3] if channels >= 3 else np.repeat(layer[:, :, :1], 3, axis=2)
    # High bit-depth GIMP layers may hold out-of-gamut values; the engine works on [0, 1].
    return np.clip(colour, 0.0, 1.0).astype(np.float32, copy=False), alpha


def from_rgb(rgb: np.ndarray, alpha: np.ndarray | None, channels: int) -> np.ndarray:
    """(H, W, 3) RGB -> the layer's own layout (Y, YA, RGB or RGBA), the alpha fitted to the RGB's size."""
    # The input was replicated grey, so the channel mean is the restored grey value.
    colour = rgb.mean(axis=2, keepdims=True) if channels <= 2 else rgb
    height, width = rgb.shape[:2]
    planes = [colour] if alpha is None else [colour, fit_alpha(alpha, height, width)[:, :, None]]
    return np.ascontiguousarray(np.concatenate(planes, axis=2), dtype=np.float32)


def fit_alpha(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    """The layer's alpha at the result's size: as it is, or enlarged (linear) where the engine enlarged."""
    if alpha.shape == (height, width):
        return alpha
    import cv2  # the engine's own dependency; only an enlargement needs it here

    # Linear, not the network: transparency has no texture to invent, and linear keeps it within [0, 1].
    return cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)


def read_pixels(request: Request) -> np.ndarray:
    expected = request.width * request.height * request.channels
    data = np.fromfile(request.input, dtype="<f4")
    if data.size != expected:
        raise ValueError(f"{request.input.name}: {data.size} values, expected {expected}")
    return data.reshape(request.height, request.width, request.channels)


def restore_layer(
    layer: np.ndarray,
    instruction: str | Interpretation,
    strength: float,
    progress: Any,
    cancel: Any,
    reply: Reply,
) -> np.ndarray:
    """The engine's restoration of (H, W, C) GIMP pixels, in the layer's own layout; larger than the layer
    (its alpha enlarged alongside) where the instruction enlarges. Fills the reply's report fields."""
    from engine.pipeline import restore

    mark = time.perf_counter()
    rgb, alpha = to_rgb(layer)
    convert = time.perf_counter() - mark
    started = time.perf_counter()
    # The engine's one path: it interprets the instruction (an empty one means "detect what the photo
    # needs") and raises InstructionError for a request it cannot carry out.
    result = restore(rgb, instruction, strength=strength, progress=progress, cancel=cancel)
    # .pixels: blended at the user's strength times the instruction's own, as the CLI and app do.
    pixels = result.pixels
    reply.timings["restore_s"] = time.perf_counter() - started
    reply.summary = result.interpretation.summary()
    reply.notes = list(result.notes)
    reply.findings = list(result.findings)
    reply.plan = list(result.plan.describe())
    reply.steps = [step.as_dict() for step in result.steps]
    mark = time.perf_counter()
    output = from_rgb(pixels, alpha, layer.shape[2])
    reply.timings["convert_s"] = convert + time.perf_counter() - mark
    return output


def run_blur(request: Request, layer: np.ndarray, reply: Reply) -> np.ndarray:
    from engine.blur import analyze_blur, blur_heatmap

    mark = time.perf_counter()
    rgb, _alpha = to_rgb(layer)
    reply.timings["convert_s"] = time.perf_counter() - mark
    started = time.perf_counter()
    report = analyze_blur(rgb)
    heat = blur_heatmap(report, request.width, request.height).astype(np.float32) / 255.0
    reply.timings["analyze_s"] = time.perf_counter() - started
    reply.score, reply.blurry, reply.kind = float(report.score), bool(report.blurry), str(report.kind)
    reply.verdict = report.verdict()
    if request.channels <= 2:
        # A greyscale image only takes greyscale layers: keep the heat map's brightness and its alpha.
        grey = heat[:, :, :3] @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
        return np.ascontiguousarray(np.stack([grey, heat[:, :, 3]], axis=2))
    return np.ascontiguousarray(heat)


def _classify(exc: BaseException) -> tuple[str, int]:
    """(error_kind, exit code) for an exception, by the engine's error classes."""
    try:
        from engine import errors
    except ImportError:
        return "engine-missing", EXIT_MODEL
    if isinstance(exc, errors.InstructionError):
        return "instruction", EXIT_INSTRUCTION
    if isinstance(exc, errors.Cancelled):
        return "cancelled", EXIT_CANCELLED
    if isinstance(exc, (errors.ModelError, errors.DeviceError, errors.OutOfMemoryError)):
        return "model", EXIT_MODEL
    if isinstance(exc, errors.PhotoMendError):
        return "engine", EXIT_FAILED
    if isinstance(exc, ImportError):
        return "engine-missing", EXIT_MODEL
    return "internal", EXIT_FAILED


class ParentLink:
    """Notices when the plug-in goes away and makes sure its temp folder does not outlive it.

    GIMP's progress Cancel kills the plug-in process outright (gimp_plug_in_close(plug_in, TRUE)), so
    the plug-in can neither stop this worker nor remove the request folder itself. Signs that it is
    gone: EOF on our stdin (with --watch-stdin) or a broken pipe when printing progress.
    """

    def __init__(self, request_dir: Path) -> None:
        self.request_dir = request_dir
        self.gone = threading.Event()
        self.finished = threading.Event()
        self.cancel: Any = None  # engine.progress.CancelToken once the engine is importable

    def lost(self) -> None:
        self.gone.set()
        if self.cancel is not None:
            self.cancel.cancel()

    def watch_stdin(self) -> None:
        """Thread body: block on stdin; at EOF, cancel, and leave if the engine does not stop soon."""
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.read(4096):
                pass
        if self.finished.is_set():
            return
        self.lost()
        # The main thread cleans up as soon as the engine honours the cancel; an engine stuck in one long
        # native call does not check the token, so after a grace period leave without it.
        if not self.finished.wait(5.0):
            self.abandon()

    def abandon(self) -> None:
        shutil.rmtree(self.request_dir, ignore_errors=True)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write("photomend worker: the GIMP plug-in went away; cancelled and cleaned up\n")
            sys.stderr.flush()
        os._exit(EXIT_CANCELLED)


def _ensure_engine_importable() -> None:
    """Run from a source checkout without `pip install -e`: the engine package sits next to plugin_gimp/."""
    try:
        import engine  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    watch_stdin = "--watch-stdin" in args
    args = [a for a in args if a != "--watch-stdin"]
    if len(args) != 1:
        sys.stderr.write("usage: worker.py [--watch-stdin] REQUEST_JSON\n")
        return 2
    request_path = Path(args[0])
    link = ParentLink(request_path.parent)
    reply = Reply(ok=False)
    progress = Progress(link)
    started = time.perf_counter()
    code = EXIT_OK
    try:
        progress(0.0, "Starting PhotoMend")
        if np is None:
            raise ImportError(f"numpy is not installed for {sys.executable}")
        _ensure_engine_importable()
        from engine.progress import CancelToken

        link.cancel = CancelToken()
        if link.gone.is_set():
            link.cancel.cancel()
        if watch_stdin:
            threading.Thread(target=link.watch_stdin, daemon=True).start()
        request = Request.load(request_path)
        # Importing the engine (numpy, onnxruntime, OpenCV) is part of the bridge's start-up: timed apart.
        importlib.import_module("engine.pipeline" if request.operation == "restore" else "engine.blur")
        reply.timings["engine_import_s"] = time.perf_counter() - started
        link.cancel.raise_if_cancelled()
        mark = time.perf_counter()
        layer = read_pixels(request)
        reply.timings["read_s"] = time.perf_counter() - mark
        if request.operation == "restore":
            output = restore_layer(layer, request.instruction, request.strength, progress, link.cancel, reply)
        else:
            progress(0.1, "Measuring sharpness")
            output = run_blur(request, layer, reply)
        link.cancel.raise_if_cancelled()
        mark = time.perf_counter()
        output.astype("<f4", copy=False).tofile(request.output)
        reply.timings["write_s"] = time.perf_counter() - mark
        reply.ok, reply.channels = True, int(output.shape[2])
        reply.height, reply.width = int(output.shape[0]), int(output.shape[1])
        progress(1.0, "Done")
    except Exception as exc:  # every failure becomes a reply the plug-in can show
        reply.error_kind, code = _classify(exc)
        reply.message = str(exc) or exc.__class__.__name__
        if reply.error_kind in ("internal", "engine-missing") and not link.gone.is_set():
            traceback.print_exc(file=sys.stderr)
    finally:
        link.finished.set()
    if link.gone.is_set():
        link.abandon()  # nobody will read a reply, and nobody else will remove the layer dump
    reply.timings["worker_total_s"] = time.perf_counter() - started
    reply_path = request_path.with_name(REPLY_NAME)
    tmp = reply_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(reply)), encoding="utf-8")
    tmp.replace(reply_path)
    return code


if __name__ == "__main__":
    sys.exit(main())
