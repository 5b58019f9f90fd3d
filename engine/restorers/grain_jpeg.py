"""Grain saved as a JPEG, undone in one step: the quality read from the block grid, the DCT filter at the
level it implies, and a refiner trained on grainy photos saved as JPEGs restoring what the two faults hid.

Why one step and not the JPEG step then the grain step: once a JPEG has smeared grain into blotches, the
grain's level can no longer be read from the photo (reads of 0.5 to 20/255 for the same σ 15; TRAINING_LOG
session 17), and the JPEG refiner, trained on clean photos, keeps the grain as if it were texture. The
refiner of this step sees the photo, the filter's output and the quality, and learned the grain itself.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.models import GRAIN_JPEG
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers.base import Outcome, Reading, Restorer, StepContext
from engine.restorers.grain import GrainRestorer
from engine.restorers.jpeg import JpegRestorer, filter_and_refine, filter_and_refine_cost, read_quality

__all__ = ["GrainJpegRestorer"]


class GrainJpegRestorer:
    """A request to remove grain and JPEG artefacts together. Where the quality cannot be read, or on a
    preview (which has lost the grid the refiner was trained on), the JPEG step and then the grain step run
    one after the other instead."""

    name = "grain+jpeg"
    faults = frozenset({"denoise", "jpeg"})
    title = "quality read from the block grid, DCT filter + grain-and-JPEG refiner"
    after_network = False
    fallback = "the JPEG step, then the grain step"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        if context.scale != 1.0:  # a preview: the JPEG step (the filter alone) then the grain step
            return Reading(self.name, False, absent="A preview has lost the JPEG block grid")
        return read_quality(self.name, "removing the grain and the blocks of", pixels, context, progress)

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        quality = reading.estimate
        if not isinstance(quality, int):
            return _one_after_the_other(pixels, context, progress, cancel)
        stage = "removing the grain and restoring the detail the compression blurred"
        restored = filter_and_refine(GRAIN_JPEG, quality, pixels, context, stage, progress, cancel)
        finding = f"Found grain saved as a JPEG of quality {quality}, and removed the grain and the blocks."
        metadata = {"jpeg_quality": quality, "grain_jpeg_model_sha256": GRAIN_JPEG.sha256}
        return Outcome(restored, (finding,), metadata, (GRAIN_JPEG,))

    def cost(self, shape: tuple[int, ...]) -> float:
        return filter_and_refine_cost(GRAIN_JPEG, shape)


def _one_after_the_other(
    pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
) -> Outcome:
    """The JPEG step (the filter alone on a preview, the network where no grid is read), then the grain step
    on its output."""
    outcome = Outcome(pixels)
    chain: tuple[Restorer, ...] = (JpegRestorer(), GrainRestorer())
    for i, restorer in enumerate(chain):
        part = scaled_progress(progress, i / 2, (i + 1) / 2)
        untouched = context.untouched if i == 0 else None
        step = replace(context, faults=tuple(restorer.faults), untouched=untouched, readings=())
        reading = restorer.read(outcome.pixels, step, scaled_progress(part, 0.0, 0.3), cancel)
        result = restorer.run(
            outcome.pixels, reading, step.with_reading(reading), scaled_progress(part, 0.3, 1.0), cancel
        )
        result.made_by = result.made_by or restorer.name
        np.clip(result.pixels, 0.0, 1.0, out=result.pixels)
        outcome = outcome.then(result)
    return outcome
