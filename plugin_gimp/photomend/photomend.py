#!/usr/bin/env python3
"""PhotoMend for GIMP 3: Filters > Enhance > PhotoMend Restore / Blur Map, run by PhotoMend's own Python.

This file runs under GIMP's Python, which has PyGObject but not numpy or onnxruntime. It therefore never
imports the engine: it dumps the layer as raw float32 into a private temp folder, starts PhotoMend's worker
(plugin_gimp/worker.py) with the interpreter named in the sidecar photomend.json written by
`photomend-gimp install` (or $PHOTOMEND_PYTHON), forwards the worker's progress lines to GIMP's progress bar,
and reads the float32 result back into a new layer inside one undo group.

An instruction that enlarges ("make it twice as big") returns a result larger than the layer. A layer cannot
outgrow its canvas, so as a new layer the whole image is scaled to fit it first (in the same undo group), and
as a new image the image takes the result's size.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GimpUi, GLib, GObject  # noqa: E402

RESTORE_PROC = "plug-in-photomend-restore"
BLUR_PROC = "plug-in-photomend-blur-map"
SIDECAR_NAME = "photomend.json"
PYTHON_ENV = "PHOTOMEND_PYTHON"
TEMP_PREFIX = "photomend-gimp-"
# Rows per Gegl read/write: bounds GIMP-side memory on big layers and gives the progress bar steps.
BAND_ROWS = 256
# Float formats keep 16/32-bit layers exact; the perceptual (') variants match what the engine was
# trained on, and babl converts linear-light images on the way in and back out.
FORMATS = {1: "Y' float", 2: "Y'A float", 3: "R'G'B' float", 4: "R'G'B'A float"}
# Variables that would make PhotoMend's interpreter load GIMP's (bundled) Python instead of its own.
FOREIGN_PYTHON_VARS = ("PYTHONHOME", "PYTHONPATH", "PYTHONEXECUTABLE", "PYTHONSTARTUP", "PYTHONUSERBASE")


class BridgeError(Exception):
    """A failure shown to the user as one clear message (str(exc))."""


@dataclass
class WorkerResult:
    reply: dict
    path: Path  # the worker's float32 output, inside the bridge's temp folder
    channels: int
    width: int  # the result's size: the layer's, or larger where the instruction enlarged
    height: int
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------
# Finding PhotoMend
# ---------------------------------------------------------------------------------------------------------


def read_sidecar() -> dict:
    path = Path(__file__).resolve().with_name(SIDECAR_NAME)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise BridgeError(
            f"PhotoMend's GIMP settings {path} cannot be read ({exc}); run `photomend-gimp install` again."
        ) from exc


def worker_command() -> list[str]:
    """[python, worker.py] of PhotoMend's own environment: $PHOTOMEND_PYTHON wins over the sidecar."""
    sidecar = read_sidecar()
    python = os.environ.get(PYTHON_ENV) or sidecar.get("python")
    if not python:
        raise BridgeError(
            "PhotoMend is not set up for GIMP: run `photomend-gimp install` "
            f"(or set {PYTHON_ENV} to PhotoMend's Python)."
        )
    if not Path(python).is_file():
        raise BridgeError(
            f"PhotoMend's Python was not found at {python}. Reinstall the plug-in with "
            f"`photomend-gimp install`, or set {PYTHON_ENV}."
        )
    worker = sidecar.get("worker")
    if worker and Path(worker).is_file():
        return [python, worker]
    # Without a worker path, PhotoMend must be installed as a package in that interpreter.
    return [python, "-m", "plugin_gimp.worker"]


def worker_environment() -> dict[str, str]:
    """GIMP's environment minus what points Python at GIMP's own interpreter (PhotoMend's venv not added)."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_PYTHON_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


# ---------------------------------------------------------------------------------------------------------
# Pixels: Gegl buffer <-> raw float32 file
# ---------------------------------------------------------------------------------------------------------


def layer_channels(drawable: Gimp.Drawable) -> int:
    grey = drawable.is_gray()
    alpha = drawable.has_alpha()
    return (1 if grey else 3) + (1 if alpha else 0)


def export_pixels(drawable: Gimp.Drawable, path: Path, channels: int, progress: ProgressBar) -> None:
    buffer = drawable.get_buffer()
    width, height = drawable.get_width(), drawable.get_height()
    fmt = FORMATS[channels]
    with open(path, "wb") as out:
        for top in range(0, height, BAND_ROWS):
            rows = min(BAND_ROWS, height - top)
            band = buffer.get(Gegl.Rectangle.new(0, top, width, rows), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
            out.write(band)
            progress.update(0.05 * (top + rows) / height)


def import_pixels(layer: Gimp.Layer, path: Path, channels: int, progress: ProgressBar) -> None:
    buffer = layer.get_buffer()
    width, height = layer.get_width(), layer.get_height()
    fmt = FORMATS[channels]
    row_bytes = width * channels * 4
    with open(path, "rb") as src:
        for top in range(0, height, BAND_ROWS):
            rows = min(BAND_ROWS, height - top)
            band = src.read(row_bytes * rows)
            if len(band) != row_bytes * rows:
                raise BridgeError("PhotoMend's result is truncated; the worker may have been stopped.")
            buffer.set(Gegl.Rectangle.new(0, top, width, rows), fmt, band)
            progress.update(0.95 + 0.05 * (top + rows) / height)
    buffer.flush()
    layer.update(0, 0, width, height)


# ---------------------------------------------------------------------------------------------------------
# Progress and the worker process
# ---------------------------------------------------------------------------------------------------------


class ProgressBar:
    """GIMP's progress bar; the worker's fractions map onto the middle of it (export/import take the ends)."""

    def __init__(self, title: str) -> None:
        Gimp.progress_init(title)
        self._stage = ""

    def update(self, fraction: float) -> None:
        Gimp.progress_update(min(max(fraction, 0.0), 1.0))

    def worker(self, fraction: float, stage: str) -> None:
        if stage and stage != self._stage:
            self._stage = stage
            Gimp.progress_set_text(stage)
        self.update(0.05 + 0.9 * fraction)

    def end(self) -> None:
        Gimp.progress_end()


def run_worker(request: dict, folder: Path, progress: ProgressBar) -> dict:
    """Start the worker on request.json in folder, forward its progress, return its reply."""
    request_path = folder / "request.json"
    request_path.write_text(json.dumps(request), encoding="utf-8")
    command = worker_command() + ["--watch-stdin", str(request_path)]
    extra = {}
    if sys.platform == "win32":
        extra["creationflags"] = subprocess.CREATE_NO_WINDOW  # no console window flashing up
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=worker_environment(),
            text=True,
            encoding="utf-8",
            errors="replace",
            **extra,
        )
    except OSError as exc:
        raise BridgeError(f"Could not start PhotoMend ({command[0]}): {exc.strerror or exc}") from exc
    # stderr is drained on a thread so a chatty worker cannot block on a full pipe; only its tail is kept.
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
    drain.start()
    try:
        for line in proc.stdout:
            parts = line.strip().split(" ", 2)
            # Anything else on stdout (a library printing) is ignored, as is a malformed fraction.
            if len(parts) >= 2 and parts[0] == "progress":
                with contextlib.suppress(ValueError):
                    progress.worker(float(parts[1]), parts[2] if len(parts) > 2 else "")
        code = proc.wait()
    finally:
        # Any exit from here (including an exception in GIMP calls) must not leave the worker running.
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdin:
            proc.stdin.close()
    drain.join(timeout=5)
    reply_path = folder / "reply.json"
    try:
        reply = json.loads(reply_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = "".join(errors[-15:]).strip()
        raise BridgeError(
            f"PhotoMend's worker stopped unexpectedly (exit code {code})." + (f"\n\n{tail}" if tail else "")
        ) from None
    if not reply.get("ok"):
        raise BridgeError(_failure_message(reply, "".join(errors[-15:]).strip()))
    return reply


def _failure_message(reply: dict, stderr_tail: str) -> str:
    kind, message = reply.get("error_kind", ""), reply.get("message", "")
    if kind == "instruction":
        return f"PhotoMend did not understand this as a restoration request.\n\n{message}"
    if kind == "model":
        return f"PhotoMend's model could not run: {message}"
    if kind == "engine-missing":
        return (
            f"PhotoMend's engine is not installed in the Python the plug-in uses: {message}\n"
            "Run `photomend-gimp install` from PhotoMend's own environment."
        )
    if kind == "cancelled":
        return "PhotoMend was cancelled."
    detail = f"\n\n{stderr_tail}" if kind == "internal" and stderr_tail else ""
    return f"PhotoMend failed: {message}{detail}"


class Bridge:
    """One plug-in run: a private temp folder and GIMP's progress bar, both gone when `with` ends."""

    def __init__(self, title: str) -> None:
        self.title = title

    def __enter__(self) -> Bridge:
        self.progress = ProgressBar(self.title)
        self.folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        return self

    def __exit__(self, *_exc) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.progress.end()

    def run(self, operation: str, drawable: Gimp.Drawable, **params) -> WorkerResult:
        """Export the drawable, run the worker on it, return its reply and where its result lies."""
        timings: dict[str, float] = {}
        channels = layer_channels(drawable)
        started = time.perf_counter()
        export_pixels(drawable, self.folder / "layer.f32", channels, self.progress)
        timings["export_s"] = time.perf_counter() - started
        request = {
            "operation": operation,
            "width": drawable.get_width(),
            "height": drawable.get_height(),
            "channels": channels,
            "input": "layer.f32",
            "output": "result.f32",
            **params,
        }
        started = time.perf_counter()
        reply = run_worker(request, self.folder, self.progress)
        timings["worker_wall_s"] = time.perf_counter() - started
        result = WorkerResult(
            reply=reply,
            path=self.folder / "result.f32",
            channels=int(reply["channels"]),
            # A worker older than enlarging sends no size: its result is the layer's size.
            width=int(reply.get("width") or request["width"]),
            height=int(reply.get("height") or request["height"]),
            timings=timings,
        )
        # Checked before the image is touched: an enlarged result scales the image before it is read.
        expected = result.width * result.height * result.channels * 4
        if not result.path.is_file() or result.path.stat().st_size != expected:
            raise BridgeError("PhotoMend's result is truncated; the worker may have been stopped.")
        return result

    def fill(self, layer: Gimp.Layer, result: WorkerResult) -> None:
        started = time.perf_counter()
        import_pixels(layer, result.path, result.channels, self.progress)
        result.timings["import_s"] = time.perf_counter() - started


# ---------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------


def layer_type(grey: bool, alpha: bool) -> Gimp.ImageType:
    if grey:
        return Gimp.ImageType.GRAYA_IMAGE if alpha else Gimp.ImageType.GRAY_IMAGE
    return Gimp.ImageType.RGBA_IMAGE if alpha else Gimp.ImageType.RGB_IMAGE


def add_layer_above(
    bridge: Bridge,
    image: Gimp.Image,
    source: Gimp.Drawable,
    name: str,
    result: WorkerResult,
    opacity: float = 100.0,
) -> Gimp.Layer:
    """A new layer with the result, at the source's offsets and precision, directly above it (the result's
    size: the source's, or larger where it was enlarged and the image scaled to fit it)."""
    layer = Gimp.Layer.new(
        image,
        name,
        result.width,
        result.height,
        layer_type(source.is_gray(), result.channels in (2, 4)),
        opacity,
        Gimp.LayerMode.NORMAL,
    )
    image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
    try:
        _ok, x, y = source.get_offsets()
        layer.set_offsets(x, y)
        bridge.fill(layer, result)
    except BaseException:
        image.remove_layer(layer)  # no half-filled layer left behind
        raise
    return layer


def new_image_with(
    bridge: Bridge, source_image: Gimp.Image, source: Gimp.Drawable, name: str, result: WorkerResult
) -> Gimp.Image:
    """A new image holding only the result, at the result's size and the source image's precision."""
    image = Gimp.Image.new_with_precision(
        result.width, result.height, source_image.get_base_type(), source_image.get_precision()
    )
    image.undo_disable()  # a fresh image has nothing to undo to
    layer = Gimp.Layer.new(
        image,
        name,
        result.width,
        result.height,
        layer_type(source.is_gray(), result.channels in (2, 4)),
        100.0,
        Gimp.LayerMode.NORMAL,
    )
    image.insert_layer(layer, None, 0)
    bridge.fill(layer, result)
    image.undo_enable()
    return image


def is_enlarged(source: Gimp.Drawable, result: WorkerResult) -> bool:
    return result.width > source.get_width() or result.height > source.get_height()


def scale_image_to_fit(image: Gimp.Image, source: Gimp.Drawable, result: WorkerResult) -> None:
    """Scale the whole image by the factor the source layer was enlarged by, so the result fits beside it.

    Gimp.Image.scale scales every layer and channel, the selection included, with the context's (the
    user's) interpolation, and moves each layer's offsets by the same factor. Called inside the caller's undo
    group, it is undone with the new layer in one step."""
    across = result.width / source.get_width()
    down = result.height / source.get_height()
    image.scale(max(1, round(image.get_width() * across)), max(1, round(image.get_height() * down)))


def enlarge_message(before: tuple[int, int], after: tuple[int, int], masked: bool) -> str:
    """What the plug-in did to the image to hold an enlarged layer ("" when it did not scale it)."""
    if before == after:
        return ""
    lines = [
        f"The image was scaled from {before[0]}×{before[1]} to {after[0]}×{after[1]} to hold the enlarged "
        "layer (the layers below by GIMP's own interpolation); one undo restores it."
    ]
    if masked:
        lines.append("The selection was scaled with the image and masks the new layer.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Procedures
# ---------------------------------------------------------------------------------------------------------


def _single_layer(drawables: list) -> Gimp.Layer:
    layers = [d for d in drawables if isinstance(d, Gimp.Layer) and not isinstance(d, Gimp.GroupLayer)]
    if len(drawables) != 1 or not layers:
        raise BridgeError("Select exactly one (non-group) layer for PhotoMend.")
    return layers[0]


def _show_dialog(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig, title: str) -> bool:
    GimpUi.init("photomend")
    dialog = GimpUi.ProcedureDialog(procedure=procedure, config=config, title=title)
    dialog.fill(None)
    accepted = dialog.run()
    dialog.destroy()
    return accepted


def _error(procedure: Gimp.Procedure, message: str) -> Gimp.ValueArray:
    # GIMP shows the GLib.Error of a failed interactive call in its message dialog / error console,
    # and a script gets it with the EXECUTION_ERROR status.
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))


def _success(procedure: Gimp.Procedure, *values: GObject.Value) -> Gimp.ValueArray:
    """SUCCESS plus the return values, in the order they were declared."""
    returned = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
    for index, value in enumerate(values, start=1):
        # Replace the defaults: reading them back with index() is unreliable in PyGObject.
        returned.remove(index)
        returned.insert(index, value)
    return returned


def run_message(summary: str, reply: dict) -> str:
    """What a person is told after a restore ("" when there is nothing to tell): the notes on what the model
    does poorly among the tasks, then each step in the order it ran, with the restorer that ran, its time and
    its findings (a worker that reports no steps: its findings as they are). A lone step that found nothing
    goes unsaid."""
    notes = list(reply.get("notes", []))
    steps = list(reply.get("steps", []))
    if steps:
        if len(steps) == 1 and not steps[0].get("findings") and not notes:
            return ""
        lines = []
        for number, step in enumerate(steps, 1):
            seconds = float(step.get("seconds", 0.0))
            lines.append(f"{number}. {step.get('label', '')} ({step.get('restorer', '')}, {seconds:.1f} s)")
            lines.extend(f"    {finding}" for finding in step.get("findings", []))
    else:
        lines = list(reply.get("findings", []))
    if not notes and not lines:
        return ""
    return "\n".join([f"PhotoMend ({summary}):", *notes, *lines])


def restore_run(procedure, run_mode, image, drawables, config, _data):
    if run_mode == Gimp.RunMode.INTERACTIVE and not _show_dialog(procedure, config, "PhotoMend Restore"):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    instruction = config.get_property("instruction") or ""
    strength = float(config.get_property("strength"))
    output = config.get_property("output")
    try:
        source = _single_layer(drawables)
        with Bridge("PhotoMend: restoring") as bridge:
            result = bridge.run("restore", source, instruction=instruction, strength=strength)
            summary = result.reply.get("summary") or instruction
            name = f"{source.get_name()} (PhotoMend: {summary})"
            size_before = (image.get_width(), image.get_height())
            masked = False
            if output == "new-image":
                new_image = new_image_with(bridge, image, source, name, result)
                new_layer = new_image.get_layers()[0]
                if run_mode == Gimp.RunMode.INTERACTIVE:
                    Gimp.Display.new(new_image)
            else:
                # One undo group: a single Ctrl+Z removes the restored layer (and its mask), and puts an
                # image scaled for an enlarged layer back at its size.
                image.undo_group_start()
                try:
                    if is_enlarged(source, result):
                        scale_image_to_fit(image, source, result)
                    new_layer = add_layer_above(bridge, image, source, name, result)
                    if not Gimp.Selection.is_empty(image):
                        # Like any GIMP filter, act only inside the selection: the whole layer is restored
                        # (the network needs context), the selection becomes the new layer's mask. An image
                        # scaled for an enlarged layer scaled its selection too, so the mask still fits.
                        new_layer.add_mask(new_layer.create_mask(Gimp.AddMaskType.SELECTION))
                        masked = True
                finally:
                    image.undo_group_end()
            size_after = (image.get_width(), image.get_height())
        Gimp.displays_flush()
    except BridgeError as exc:
        return _error(procedure, str(exc))
    except GLib.Error as exc:  # a GIMP call refused (e.g. the image was closed meanwhile)
        return _error(procedure, f"PhotoMend could not update the image: {exc.message}")
    notes = result.reply.get("notes", [])
    findings = result.reply.get("findings", [])
    message = "\n".join(
        part
        for part in (run_message(summary, result.reply), enlarge_message(size_before, size_after, masked))
        if part
    )
    if message and run_mode != Gimp.RunMode.NONINTERACTIVE:
        # The layer is there; the person is also told what this model version does poorly among the tasks,
        # and what each step of the run did and found in this layer (e.g. the out-of-focus disk it undid).
        Gimp.message(message)
    report = {
        "summary": summary,
        "notes": notes,
        "findings": findings,
        "plan": result.reply.get("plan", []),
        "steps": result.reply.get("steps", []),
        # The result's size, and the image's before and after (they differ where it was scaled to fit).
        "size": [result.width, result.height],
        "image_size_before": list(size_before),
        "image_size_after": list(size_after),
        "timings": {**result.reply.get("timings", {}), **result.timings},
    }
    return _success(
        procedure,
        GObject.Value(Gimp.Layer, new_layer),
        GObject.Value(GObject.TYPE_STRING, json.dumps(report)),
    )


def blur_run(procedure, run_mode, image, drawables, config, _data):
    if run_mode == Gimp.RunMode.INTERACTIVE and not _show_dialog(procedure, config, "PhotoMend Blur Map"):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    opacity = float(config.get_property("opacity"))
    try:
        source = _single_layer(drawables)
        with Bridge("PhotoMend: measuring sharpness") as bridge:
            result = bridge.run("blur", source)
            reply = result.reply
            # The engine's own line (the app and the CLI show the same); an older worker sends none.
            fallback = f"blurry ({reply['kind']} blur)" if reply["blurry"] else "sharp"
            verdict = reply.get("verdict") or fallback
            image.undo_group_start()
            try:
                layer = add_layer_above(
                    bridge,
                    image,
                    source,
                    f"Blur map: score {reply['score']:.3f}, {verdict}",
                    result,
                    opacity=opacity,
                )
            finally:
                image.undo_group_end()
        Gimp.displays_flush()
    except BridgeError as exc:
        return _error(procedure, str(exc))
    except GLib.Error as exc:  # a GIMP call refused (e.g. the image was closed meanwhile)
        return _error(procedure, f"PhotoMend could not update the image: {exc.message}")
    if run_mode != Gimp.RunMode.NONINTERACTIVE:
        # A person gets the verdict in words; a script gets it from the return values instead.
        Gimp.message(
            f"PhotoMend sharpness of '{source.get_name()}': {reply['score']:.3f}, {verdict}.\n"
            "Warm colours in the blur map mark the out-of-focus areas; grey hatching, flat areas that cannot "
            "be judged."
        )
    report = {
        "score": reply["score"],
        "blurry": reply["blurry"],
        "kind": reply["kind"],
        "verdict": verdict,
        "timings": {**reply.get("timings", {}), **result.timings},
    }
    return _success(
        procedure,
        GObject.Value(Gimp.Layer, layer),
        GObject.Value(GObject.TYPE_DOUBLE, float(reply["score"])),
        GObject.Value(GObject.TYPE_STRING, json.dumps(report)),
    )


class PhotoMend(Gimp.PlugIn):
    def do_set_i18n(self, _name):
        return False

    def do_query_procedures(self):
        return [RESTORE_PROC, BLUR_PROC]

    def do_create_procedure(self, name):
        Gegl.init(None)
        rw = GObject.ParamFlags.READWRITE
        if name == RESTORE_PROC:
            procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, restore_run, None)
            procedure.set_menu_label("PhotoMend _Restore...")
            procedure.set_documentation(
                "Restore a photo from a plain-language instruction",
                "Runs PhotoMend (denoise, deblur, dehaze, derain, brighten, JPEG clean-up, enlarge ×2 or ×4) "
                "on the layer, as described by the instruction, and adds the result as a new layer above it "
                "(or a new image). An enlarged result as a new layer scales the whole image to its size "
                "first, in the same undo step.",
                name,
            )
            procedure.add_string_argument(
                "instruction",
                "_Instruction",
                'What is wrong with the photo, e.g. "it\'s dark and grainy". '
                "Empty: PhotoMend detects what the layer needs.",
                "remove the noise",
                rw,
            )
            procedure.add_double_argument(
                "strength", "S_trength", "How strongly to apply the restoration", 0.0, 1.0, 1.0, rw
            )
            choice = Gimp.Choice.new()
            choice.add(
                "new-layer",
                0,
                "New layer above",
                "Above the source layer, in one undo step. When PhotoMend enlarges, the whole image is "
                "scaled to the new size first (the other layers by GIMP's interpolation, the selection too).",
            )
            choice.add(
                "new-image", 1, "New image", "A new image at the result's size, with the source's precision."
            )
            procedure.add_choice_argument(
                "output",
                "Res_ult",
                "Where the restored result goes: a new layer above the source (an enlarged result scales the "
                "whole image to its size, one undo step), or a new image at the result's size",
                choice,
                "new-layer",
                rw,
            )
            procedure.add_layer_return_value("layer", "Layer", "The restored layer", False, rw)
            procedure.add_string_return_value("report", "Report", "JSON: summary and timings", "", rw)
        else:
            procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, blur_run, None)
            procedure.set_menu_label("PhotoMend _Blur Map...")
            procedure.set_documentation(
                "Show where the photo is blurred",
                "Scores the layer's sharpness, tells whether it is blurred by motion or defocus, and adds a "
                "heat map of the blurriest areas as a new layer above it.",
                name,
            )
            procedure.add_double_argument(
                "opacity", "O_pacity", "Opacity of the blur map layer", 0.0, 100.0, 70.0, rw
            )
            procedure.add_layer_return_value("layer", "Layer", "The blur map layer", False, rw)
            procedure.add_double_return_value(
                "score", "Score", "Sharpness score (higher is sharper)", -1e9, 1e9, 0.0, rw
            )
            procedure.add_string_return_value(
                "report", "Report", "JSON: score, blurry, kind, timings", "", rw
            )
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_attribution("PhotoMend", "PhotoMend contributors", "2026")
        procedure.add_menu_path("<Image>/Filters/Enhance")
        return procedure


if __name__ == "__main__":
    Gimp.main(PhotoMend.__gtype__, sys.argv)
