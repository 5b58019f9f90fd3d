"""JPEG blocks: the quality read from the 8-pixel block grid, the artefacts filtered as noise of the level it
implies (engine.noise.jpeg), and the JPEG refiner restoring the edges and colour the blocks hid."""

from __future__ import annotations

import numpy as np

from engine.models import JPEG
from engine.noise import SCALE_UNIT, denoise_dct, estimate_jpeg_quality, jpeg_noise_level, quantisation_scale
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, megapixels
from engine.restorers.network import network_fallback, refine

__all__ = ["JpegRestorer", "read_quality"]


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
        restored = denoise_dct(
            pixels,
            jpeg_noise_level(quality).scaled(context.scale),
            clipped=False,
            progress=scaled_progress(progress, 0.0, 0.45 if full_size else 1.0),
            cancel=cancel,
        )
        metadata: dict[str, object] = {"jpeg_quality": quality}
        if not full_size:
            finding = (
                f"Found JPEG compression at quality {quality} and smoothed its blocks "
                "(the full-size run also restores the detail they hid)."
            )
            return Outcome(restored, (finding,), metadata)
        progress(0.45, "restoring the detail the compression blurred")
        restored = refine(
            JPEG,
            quantisation_scale(quality) / SCALE_UNIT,
            pixels,
            restored,
            device=context.device,
            tile_size=context.tile_size,
            progress=scaled_progress(progress, 0.45, 1.0),
            cancel=cancel,
        )
        metadata["jpeg_model_sha256"] = JPEG.sha256
        finding = f"Found JPEG compression at quality {quality}, smoothed its blocks and restored detail."
        return Outcome(restored, (finding,), metadata, (JPEG,))

    def cost(self, shape: tuple[int, ...]) -> float:
        return 0.5 + 6.5 * megapixels(shape)
