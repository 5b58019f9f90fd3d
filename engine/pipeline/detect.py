"""Automatic degradation detection: which restorations a photo seems to need (for an empty prompt)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.instructions import TASKS, Interpretation, interpret
from engine.models import get_spec
from engine.runtime import get_session

DETECTOR_MODEL_ID = "detector"
DETECTION_THRESHOLD = 0.5

# Plain-language phrase per task; the suggestion is built from these and then interpreted like
# any typed prompt, so the user sees (and can edit) exactly the instruction that will run.
_TASK_PHRASES = {
    "denoise": "remove the noise",
    "deblur": "fix the blur",
    "dehaze": "remove the haze",
    "derain": "remove the rain",
    "lowlight": "brighten it",
    "jpeg": "clean up the jpeg artifacts",
}


@dataclass(frozen=True)
class DetectedDegradations:
    """Per-task probabilities from the detector and the tasks above threshold."""

    probabilities: dict[str, float]
    tasks: tuple[str, ...]

    @property
    def instruction(self) -> str:
        phrases = [_TASK_PHRASES[t] for t in self.tasks]
        if not phrases:
            return ""
        if len(phrases) == 1:
            return phrases[0]
        return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _detector_input(pixels: np.ndarray, side: int) -> np.ndarray:
    small = cv2.resize(pixels, (side, side), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32)


def detect_degradations(pixels: np.ndarray, *, device: str | None = None) -> DetectedDegradations:
    """Run the detector on an H x W x 3 float32 photo."""
    spec = get_spec(DETECTOR_MODEL_ID)
    session = get_session(spec, device)
    side = spec.minimum_size
    logits = session.run({spec.inputs[0]: _detector_input(pixels, side)})[0].reshape(-1)
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    probabilities = {task: float(p) for task, p in zip(TASKS, probs, strict=True)}
    tasks = tuple(t for t in TASKS if probabilities[t] >= DETECTION_THRESHOLD)
    return DetectedDegradations(probabilities=probabilities, tasks=tasks)


def suggest_instruction(pixels: np.ndarray, *, device: str | None = None) -> Interpretation | None:
    """The instruction PhotoMend proposes for a photo, or None when it looks clean."""
    detected = detect_degradations(pixels, device=device)
    if not detected.tasks:
        return None
    return interpret(detected.instruction)
