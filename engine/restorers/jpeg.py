"""JPEG blocks: the quality read from the 8-pixel block grid, the artefacts filtered as noise of the level it
implies (engine.noise.jpeg), and the JPEG refiner restoring the edges and colour the blocks hid."""

from __future__ import annotations

import numpy as np

from engine.models import JPEG, ModelSpec
from engine.noise import SCALE_UNIT, denoise_dct, estimate_jpeg_quality, jpeg_noise_level, quantisation_scale
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, megapixels
from engine.restorers.network import network_fallback, refine

__all__ = ["JpegRestorer", "filter_and_refine", "read_quality"]


def read_quality(
    name: str, doing: str, pixels: np.ndarray, context: StepContext, progress: ProgressCallback
) -> Reading:
    """The quality read from the block grid of the photo as it came (full size, so a preview's grid is read
    too), or of `pixels` after an earlier step; `doing` begins the progress line ("smoothing the blocks of").
    """
    progress(0.0, "reading the JPEG block grid")
    source = context.untouched if context.untouched is not None else pixels
    quality = estimate_jpeg_quality(source)
    return Reading(
        name,
        quality is not None,
        summary=f"{doing} a JPEG saved at quality {quality}",
        absent="Found no JPEG block grid to read the quality from",
        estimate=quality,
    )


#: A refiner run's time in units of the DCT filter's (the filter takes about 1.6 runs), and the filter's cost
#: per megapixel: what filter_and_refine's progress and a plan's step weights share out.
REFINER_RUN = 0.61
FILTER_COST = 3.0


def _refiner_runs(refiner: ModelSpec | None) -> float:
    """The refiner's time in filter units: each of its self-ensemble's runs counts."""
    return 0.0 if refiner is None else REFINER_RUN * refiner.self_ensemble


def filter_and_refine_cost(refiner: ModelSpec | None, shape: tuple[int, ...]) -> float:
    """filter_and_refine's cost (Restorer.cost) for a photo of `shape`."""
    return 0.5 + FILTER_COST * (1.0 + _refiner_runs(refiner)) * megapixels(shape)


def filter_and_refine(
    refiner: ModelSpec | None,
    quality: int,
    pixels: np.ndarray,
    context: StepContext,
    stage: str,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> np.ndarray:
    """The DCT filter at the level a JPEG of `quality` implies (shrunk with a preview), then `refiner` (a
    refiner told the quality's scale, `stage` its progress line) from the photo and the filter's output;
    None: the filter alone."""
    split = 1.0 / (1.0 + _refiner_runs(refiner))  # the filter's share of the progress
    level = jpeg_noise_level(quality).scaled(context.scale)
    part = scaled_progress(progress, 0.0, split)
    filtered = denoise_dct(pixels, level, clipped=False, progress=part, cancel=cancel, device=context.device)
    if refiner is None:
        return filtered
    progress(split, stage)
    return refine(
        refiner,
        quantisation_scale(quality) / SCALE_UNIT,
        pixels,
        filtered,
        device=context.device,
        tile_size=context.tile_size,
        progress=scaled_progress(progress, split, 1.0),
        cancel=cancel,
    )


class JpegRestorer:
    """Reads the quality from the photo as it came (up to about 80; a preview's grid is read at full size,
    and the level shrinks with the photo); at full size the JPEG refiner finishes the filter's work, a
    preview (which has lost the grid the refiner was trained on) gets the filter alone. A photo whose grid
    cannot be read (resized after saving, or already changed by an earlier step) goes to the network."""

    name = "jpeg"
    faults = frozenset({"jpeg"})
    title = "quality read from the block grid, DCT filter + JPEG refiner"
    after_network = False
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        return read_quality(self.name, "smoothing the blocks of", pixels, context, progress)

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
            return network_fallback(pixels, context, progress, cancel)
        full_size = context.scale == 1.0
        refiner = JPEG if full_size else None
        stage = "restoring the detail the compression blurred"
        restored = filter_and_refine(refiner, quality, pixels, context, stage, progress, cancel)
        metadata: dict[str, object] = {"jpeg_quality": quality}
        if not full_size:
            finding = (
                f"Found JPEG compression at quality {quality} and smoothed its blocks "
                "(the full-size run also restores the detail they hid)."
            )
            return Outcome(restored, (finding,), metadata)
        metadata["jpeg_model_sha256"] = JPEG.sha256
        finding = f"Found JPEG compression at quality {quality}, smoothed its blocks and restored detail."
        return Outcome(restored, (finding,), metadata, (JPEG,))

    def cost(self, shape: tuple[int, ...]) -> float:
        return filter_and_refine_cost(JPEG, shape)
