"""A toy specialist, as a new fault's module would be: it paints out thin bright streaks (rain, at its
simplest). tests/engine/test_plan.py adds it to the registry with one line and runs a request for it."""

from __future__ import annotations

import cv2
import numpy as np

from engine.progress import CancelToken, ProgressCallback
from engine.restorers import Outcome, Reading, StepContext
from engine.restorers.network import network_fallback

#: a pixel this much brighter than the median of its row neighbours is a streak
STREAK_STEP = 0.2


def streaks(pixels: np.ndarray) -> np.ndarray:
    """H x W bool: pixels much brighter than the median of their horizontal neighbours."""
    grey = pixels.mean(axis=2).astype(np.float32)
    return grey - cv2.medianBlur(grey, 5) > STREAK_STEP


class ToyStreakRestorer:
    name = "toy-streaks"
    faults = frozenset({"derain"})
    title = "bright streaks read per pixel, painted out"
    after_network = False
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        progress(0.0, "looking for streaks")
        share = float(streaks(pixels).mean())
        return Reading(
            self.name,
            share > 0.001,
            summary=f"painting out streaks on {100 * share:.1f} % of the photo",
            absent="Found no streaks",
            estimate=share,
        )

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        if not reading.found:
            return network_fallback(pixels, context, progress, cancel)
        mask = streaks(pixels)
        out = pixels.copy()
        height = pixels.shape[0]
        for y in range(height):  # row by row, so that progress and cancel work inside the step
            if cancel is not None:
                cancel.raise_if_cancelled()
            row = cv2.medianBlur(np.ascontiguousarray(pixels[y : y + 1]), 5)[0]
            out[y][mask[y]] = row[mask[y]]
            progress((y + 1) / height, "painting out streaks")
        finding = f"Found streaks on {100 * float(reading.estimate):.1f} % of the photo and painted them out."
        return Outcome(out, (finding,), {"toy_streaks": round(float(reading.estimate), 4)})

    def cost(self, shape: tuple[int, ...]) -> float:
        return 0.1 + shape[0] * shape[1] / 1e6
