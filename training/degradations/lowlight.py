"""Under-exposure: linear light times 2**ev, shot and read noise at that light level, sRGB re-encoded."""

from __future__ import annotations

import numpy as np

from training.degradations.color import linear_to_srgb, srgb_to_linear

__all__ = ["low_light"]


def low_light(
    img: np.ndarray, rng: np.random.Generator, ev: float, photons: float = 4000.0, read_sigma: float = 0.0005
) -> np.ndarray:
    """Darken by `ev` stops (negative, e.g. -3) in linear light with sensor noise of a dim exposure.

    `photons` is the electron count of a white pixel at the *original* exposure, so the darkened photo
    collects 2**ev times fewer and its relative shot noise grows as a real short exposure's does.
    """
    linear = srgb_to_linear(img) * np.float32(2.0**ev)
    electrons = rng.poisson(np.maximum(linear, 0.0) * photons).astype(np.float32)
    noisy = electrons / photons + rng.normal(0.0, read_sigma, img.shape).astype(np.float32)
    return linear_to_srgb(np.clip(noisy, 0.0, 1.0))
