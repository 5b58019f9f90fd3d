"""Sensor noise: additive Gaussian and Poisson-Gaussian (shot + read) noise on float32 RGB in [0, 1]."""

from __future__ import annotations

import numpy as np

from training.degradations.color import linear_to_srgb, srgb_to_linear

__all__ = ["gaussian_noise", "poisson_gaussian_noise"]


def gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add i.i.d. Gaussian noise of standard deviation `sigma` (in [0, 1] units, e.g. 25/255), then clip.

    Clipping matches what a saved 8-bit photo holds, and what benchmarks such as FFDNet's McMaster
    figures are measured on.
    """
    noisy = img + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def poisson_gaussian_noise(
    img: np.ndarray, rng: np.random.Generator, photons: float, read_sigma: float
) -> np.ndarray:
    """Sensor noise in linear light: Poisson shot noise with `photons` electrons at white, plus read noise.

    The photo is taken back to linear light first, because shot noise grows with the square root of the
    light that reached the sensor, not with the gamma-encoded value; the result is re-encoded to sRGB.
    """
    linear = srgb_to_linear(img)
    electrons = rng.poisson(np.maximum(linear, 0.0) * photons).astype(np.float32)
    noisy = electrons / photons + rng.normal(0.0, read_sigma, img.shape).astype(np.float32)
    return linear_to_srgb(np.clip(noisy, 0.0, 1.0))
