"""Camera-shake motion blur and defocus blur, built on the blur engineer's kernels (blur_kernels.py)."""

from __future__ import annotations

import numpy as np

from training.degradations.blur_kernels import apply_kernel, defocus_kernel, motion_kernel

__all__ = ["defocus_blur", "motion_blur"]


def motion_blur(img: np.ndarray, rng: np.random.Generator, size: int, intensity: float) -> np.ndarray:
    """Blur with a random camera-shake trajectory `size` pixels long (`intensity` 0 straight .. 1 jerky)."""
    kernel = motion_kernel(rng, size, intensity)
    return np.clip(apply_kernel(img, kernel), 0.0, 1.0)


def defocus_blur(img: np.ndarray, radius: float) -> np.ndarray:
    """Blur with an out-of-focus disk of `radius` pixels."""
    return np.clip(apply_kernel(img, defocus_kernel(radius)), 0.0, 1.0)
