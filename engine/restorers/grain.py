"""Grain: its level read where the network sees flat ground, the photo denoised again from its own pixels by
the DCT filter (which keeps the texture the network smooths away), and the denoise refiner finishing it."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.models import DENOISE, RESTORE
from engine.noise import NOISE_UNIT, NoiseLevel, denoise_dct, estimate_noise_level, grain_windows
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, megapixels
from engine.restorers.network import network_metadata, network_pass, refine

__all__ = ["REFINE_FROM", "REFINE_FULL", "GrainRestorer", "refiner_share"]

#: The denoise refiner's share of the result grows from nothing at grain of REFINE_FROM (RMS, /255) to all
#: of it at REFINE_FULL (refiner_share). On its own, on the 12 BSD432 photos it never saw, it gains over the
#: DCT filter from σ 15 up and loses below, where the filter is near perfect and the network's own error
#: shows (python -m bench.noise --every 36; resources/models/denoise.md).
REFINE_FROM = 8.0
REFINE_FULL = 12.0


class GrainEstimate(NamedTuple):
    """What the grain read leaves its run: the level, and the network's output on the whole photo (None when
    it ran on windows of it)."""

    noise: NoiseLevel
    whole: np.ndarray | None


def refiner_share(noise: NoiseLevel) -> float:
    """How much of the denoise refiner's output replaces the DCT filter's, for grain of `noise`: none at
    REFINE_FROM (/255) and below, all from REFINE_FULL, linear between."""
    level = 255.0 * noise.rms
    if level <= REFINE_FROM:
        return 0.0
    if level >= REFINE_FULL:
        return 1.0
    return (level - REFINE_FROM) / (REFINE_FULL - REFINE_FROM)


class GrainRestorer:
    """Reads the grain's level on the network's output (on the flattest windows of a big photo:
    engine.noise.grain_windows); runs the DCT filter at that level and the denoise refiner after it
    (refiner_share). Without grain, the network's output is kept."""

    name = "grain"
    faults = frozenset({"denoise"})
    title = "grain level read on flat ground, DCT filter + denoise refiner"
    after_network = False
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        # The guide is the network conditioned as the step is (StepContext.embedding): a request for grain
        # alone by its own words, a grain step of a longer plan by "remove the noise".
        progress(0.0, "reading the grain")
        crops = [pixels[window] for window in grain_windows(pixels)]
        guides = [
            network_pass(
                crop,
                context,
                scene=False,
                progress=scaled_progress(progress, i / len(crops), (i + 1) / len(crops)),
                cancel=cancel,
            )
            for i, crop in enumerate(crops)
        ]
        if len(crops) == 1:  # the whole photo
            noisy, guide = pixels, np.clip(guides[0], 0.0, 1.0, out=guides[0])
        else:
            noisy, guide = np.concatenate(crops), np.clip(np.concatenate(guides), 0.0, 1.0)
        noise = estimate_noise_level(noisy, guide)
        whole = guide if len(crops) == 1 else None
        return Reading(
            self.name,
            noise.found,
            summary=f"removing {noise.describe()}",
            absent="Found almost no grain",
            estimate=GrainEstimate(noise, whole),
        )

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        assert isinstance(reading.estimate, GrainEstimate)
        noise, whole = reading.estimate
        metadata: dict[str, object] = {"noise": round(255.0 * noise.rms, 2)}
        if not noise.found:
            if whole is None:
                whole = network_pass(pixels, context, scene=False, progress=progress, cancel=cancel)
            return Outcome(
                whole,
                (f"{reading.absent}, so only the network ran.",),
                {**network_metadata(), **metadata},
                (RESTORE,),
                made_by="network",
            )
        found = (f"Found {noise.describe()} and removed it.",)
        share = refiner_share(noise)
        filtered = denoise_dct(
            pixels,
            noise,
            progress=scaled_progress(progress, 0.0, 0.4 if share else 1.0),
            cancel=cancel,
            device=context.device,
        )
        if share == 0.0:
            return Outcome(filtered, found, {**network_metadata(), **metadata}, (RESTORE,))
        progress(0.4, "restoring the texture the grain hid")
        restored = refine(
            DENOISE,
            noise.rms / NOISE_UNIT,
            pixels,
            filtered,
            device=context.device,
            tile_size=context.tile_size,
            progress=scaled_progress(progress, 0.4, 1.0),
            cancel=cancel,
        )
        if share < 1.0:
            restored = filtered + share * (restored - filtered)
        metadata["denoise_model_sha256"] = DENOISE.sha256
        return Outcome(restored, found, {**network_metadata(), **metadata}, (RESTORE, DENOISE))

    def cost(self, shape: tuple[int, ...]) -> float:
        # the network on at most 8 windows of 512 px, the DCT filter and the refiner (README: 12 MP in ~60 s)
        return 1.0 + 5.0 * megapixels(shape)
