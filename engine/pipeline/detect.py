"""Automatic degradation detection: which restorations a photo seems to need (`photomend detect`, and what
an empty prompt runs in restore, the batch and the app: all go through `detect_degradations`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.instructions import TASKS, Interpretation, interpret
from engine.instructions.interpret import NORMAL
from engine.models import get_spec
from engine.runtime import get_session

#: The faults the detector scores, one logit each (enlarging is asked for, never detected: no photo is
#: too small in itself).
DETECTED_TASKS = tuple(task for task in TASKS if task != "upscale")

DETECTOR_MODEL_ID = "detector"
#: A task is flagged when its score (the sigmoid of its logit) reaches this. Each task's own operating point
#: is folded into the model's last bias at export (training/detector.py, resources/models/detector.md), so
#: one number serves every task here.
DETECTION_THRESHOLD = 0.5

# Plain-language phrase per task; the suggestion is built from these, shown to the user (who can edit it)
# and run. The tasks that run are the detected ones even where the words would be read differently.
_TASK_PHRASES = {
    "denoise": "remove the noise",
    "deblur": "fix the blur",
    "dehaze": "remove the haze",
    "derain": "remove the rain",
    "lowlight": "brighten the dark photo",
    "jpeg": "clean up the jpeg artifacts",
}


@dataclass(frozen=True)
class DetectedDegradations:
    """Per-task scores from the detector (`probabilities`, in [0, 1]) and the tasks at or above threshold."""

    probabilities: dict[str, float]
    tasks: tuple[str, ...]

    @property
    def instruction(self) -> str:
        """The proposed prompt ("remove the noise and brighten the dark photo"); "" for a clean photo."""
        phrases = [_TASK_PHRASES[t] for t in self.tasks]
        if not phrases:
            return ""
        if len(phrases) == 1:
            return phrases[0]
        return ", ".join(phrases[:-1]) + " and " + phrases[-1]

    def as_dict(self) -> dict[str, Any]:
        """`tasks`, `scores` (per task, rounded) and `instruction`: what `photomend detect --json` prints."""
        return {
            "tasks": list(self.tasks),
            "scores": {task: round(p, 4) for task, p in self.probabilities.items()},
            "instruction": self.instruction,
        }

    def interpretation(self) -> Interpretation | None:
        """What an empty prompt runs: the proposed prompt, interpreted like a typed one (its wording sets the
        network's conditioning and the strength), with exactly the detected tasks; None for a clean photo."""
        if not self.tasks:
            return None
        interp = interpret(self.instruction)
        if interp.understood and interp.tasks == self.tasks:
            return interp
        # The text model may merge or drop a phrase of a long list: the detector's verdict is what runs.
        strength = interp.strength if interp.understood else NORMAL
        chosen = dataclasses.replace(interp, tasks=self.tasks, strength=strength, understood=True, scale=1)
        return dataclasses.replace(chosen, message=f"Understood: {chosen.summary()}", target=None)


# The detector sees a side x side canvas of four quadrants (side // 2 each):
#   top-left  the whole photo resized to a quadrant (global cues: exposure, haze, colour cast)
#   top-right the most textured native-resolution window (blur shows on edges)
#   bottom-left the flattest mid-tone native window (noise and JPEG blocking show on flat areas)
#   bottom-right the central native window
# Noise, compression and blur live at the pixel scale: resizing a 12 MP photo to 256 px divides the
# noise by ~16 and erases block artefacts, so a plain resize would hide exactly what must be seen.
# Window origins sit on a 16 px lattice so that JPEG 8x8 blocks (16x16 with chroma subsampling)
# keep the phase they have in the file.
_WINDOW_LATTICE = 16
_STRUCTURE_SIGMA = 1.5  # blur before measuring texture so noise does not count as texture
_MAX_TEXTURE_FACTOR = 4  # coarser than this, "texture" means large soft edges, not fine detail


def _window_scores(pixels: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean |Laplacian| (fine detail) and mean luminance of every lattice-aligned patch x patch window."""
    h, w = pixels.shape[:2]
    # Texture is measured on a shrunken copy: it is the scene's structure that matters here, and a
    # 12 MP photo would otherwise cost seconds. The factor divides the lattice so windows map exactly.
    factor = 1
    while factor < _MAX_TEXTURE_FACTOR and min(h, w) // (2 * factor) >= 2 * patch:
        factor *= 2
    grey = pixels.mean(axis=2, dtype=np.float32)
    if factor > 1:
        grey = cv2.resize(grey, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    smooth = cv2.GaussianBlur(grey, (0, 0), _STRUCTURE_SIGMA / factor**0.5)
    # |Laplacian| favours fine detail (where blur is visible) over broad smooth ramps.
    magnitude = np.abs(cv2.Laplacian(smooth, cv2.CV_32F, ksize=3))
    size, step = patch // factor, _WINDOW_LATTICE // factor
    ys = np.arange(0, grey.shape[0] - size + 1, step)
    xs = np.arange(0, grey.shape[1] - size + 1, step)

    def window_means(values: np.ndarray) -> np.ndarray:
        integral = cv2.integral(values.astype(np.float64))
        total = (
            integral[ys[:, None] + size, xs[None, :] + size]
            - integral[ys[:, None], xs[None, :] + size]
            - integral[ys[:, None] + size, xs[None, :]]
            + integral[ys[:, None], xs[None, :]]
        )
        return total / float(size * size)

    return window_means(magnitude), window_means(grey), ys * factor, xs * factor


def _pick_windows(pixels: np.ndarray, patch: int) -> list[tuple[int, int]]:
    """Origins (y, x) of the textured, flat and central windows, in that order."""
    h, w = pixels.shape[:2]
    texture, luminance, ys, xs = _window_scores(pixels, patch)
    flat_texture = texture.ravel()
    textured = int(np.argmax(flat_texture))
    # Flattest window among mid-tones: clipped black or white areas hide noise instead of showing it.
    lum = luminance.ravel()
    low, high = np.percentile(lum, [25.0, 90.0])
    candidates = np.flatnonzero((lum >= low) & (lum <= high))
    if candidates.size == 0:
        candidates = np.arange(lum.size)
    flat = int(candidates[np.argmin(flat_texture[candidates])])
    cy = min(int(round((h - patch) / 2 / _WINDOW_LATTICE)) * _WINDOW_LATTICE, int(ys[-1]))
    cx = min(int(round((w - patch) / 2 / _WINDOW_LATTICE)) * _WINDOW_LATTICE, int(xs[-1]))
    origins = []
    for index in (textured, flat):
        row, col = divmod(index, xs.size)
        origins.append((int(ys[row]), int(xs[col])))
    origins.append((cy, cx))
    return origins


def detector_canvas(pixels: np.ndarray, side: int) -> np.ndarray:
    """The side x side x 3 float32 canvas the detector sees (layout above); training builds the same."""
    if side % 2 or side < 32:
        raise ValueError(f"detector side must be even and >= 32, got {side}")
    patch = side // 2
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    canvas = np.empty((side, side, 3), np.float32)
    canvas[:patch, :patch] = cv2.resize(pixels, (patch, patch), interpolation=cv2.INTER_AREA)
    h, w = pixels.shape[:2]
    if h < patch or w < patch:
        # Mirror small photos up to one window: upsampling would change the noise the detector looks for.
        pixels = np.pad(pixels, ((0, max(0, patch - h)), (0, max(0, patch - w)), (0, 0)), mode="symmetric")
    slots = ((0, patch), (patch, 0), (patch, patch))
    for (y, x), (sy, sx) in zip(_pick_windows(pixels, patch), slots, strict=True):
        canvas[sy : sy + patch, sx : sx + patch] = pixels[y : y + patch, x : x + patch]
    return canvas


def detector_input(pixels: np.ndarray, side: int) -> np.ndarray:
    """The (1, 3, side, side) float32 tensor the detector takes for an H x W x 3 float32 photo."""
    canvas = detector_canvas(pixels, side)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)


def detector_logits(pixels: np.ndarray, *, device: str | None = None) -> np.ndarray:
    """The shipped detector's raw logits for an H x W x 3 float32 photo, (len(DETECTED_TASKS),) float64."""
    spec = get_spec(DETECTOR_MODEL_ID)
    session = get_session(spec, device)
    logits = session.run({spec.inputs[0]: detector_input(pixels, spec.minimum_size)})[0]
    return np.asarray(logits, np.float64).reshape(-1)


def degradations_from_logits(logits: np.ndarray) -> DetectedDegradations:
    """The verdict for detector logits (DETECTED_TASKS order): sigmoid scores and the tasks over threshold."""
    probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64).reshape(-1)))
    probabilities = {task: float(p) for task, p in zip(DETECTED_TASKS, probs, strict=True)}
    tasks = tuple(t for t in DETECTED_TASKS if probabilities[t] >= DETECTION_THRESHOLD)
    return DetectedDegradations(probabilities=probabilities, tasks=tasks)


def detect_degradations(pixels: np.ndarray, *, device: str | None = None) -> DetectedDegradations:
    """What an H x W x 3 float32 photo needs: the one judgement behind `photomend detect` and every empty
    prompt (restore, the batch, the app's suggestion). Raises ModelError, DeviceError."""
    return degradations_from_logits(detector_logits(pixels, device=device))


def suggest_instruction(pixels: np.ndarray, *, device: str | None = None) -> Interpretation | None:
    """The instruction an empty prompt runs for a photo (detect_degradations' tasks), or None when it looks
    clean."""
    return detect_degradations(pixels, device=device).interpretation()
