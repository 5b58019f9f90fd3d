"""Synthetic blur kernels (camera-shake motion, defocus disk) for training data and blur calibration.

numpy + OpenCV only (no torch): the restoration model's degradation pipeline and the engine's blur
benchmark both draw from here, so a "motion blur of length 15" means the same thing in both places.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# The disk lives in the engine, which deconvolves it (engine.restorers.defocus): one definition for both.
from engine.restorers.defocus import defocus_kernel

__all__ = ["apply_kernel", "defocus_kernel", "motion_kernel"]


def _odd(size: int) -> int:
    size = max(int(size), 1)
    return size if size % 2 == 1 else size + 1


def _shake_trajectory(rng: np.random.Generator, steps: int, intensity: float) -> np.ndarray:
    """A random 2-D camera path: a walk with inertia whose direction wanders more as intensity grows.

    Real hand shake is mostly a smooth sweep with some curvature and the odd jerk (Boracchi & Foi,
    "Modeling the performance of image restoration from motion blur", 2012); a momentum walk with
    rare impulsive kicks reproduces that without their exact formulation.
    """
    intensity = float(np.clip(intensity, 0.0, 1.0))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    velocity = np.array([math.cos(angle), math.sin(angle)])
    points = np.zeros((steps, 2))
    position = np.zeros(2)
    # Steering noise per step shrinks with sqrt(steps), so the path's total bending depends on intensity
    # alone (about 1.5 rad of wander at intensity 1), not on how finely the path is sampled.
    steer = 1.5 * intensity / math.sqrt(steps)
    jerk_probability = 1.5 * intensity / steps  # about one jerk per path at intensity 1
    for i in range(1, steps):
        velocity = velocity + steer * rng.normal(size=2)
        if rng.random() < jerk_probability:
            velocity = velocity + 0.8 * rng.normal(size=2)  # a jerk of the hand
        norm = float(np.linalg.norm(velocity))
        velocity = velocity / norm if norm > 1e-9 else np.array([1.0, 0.0])
        # Speed varies along the path (the camera slows at turning points), so exposure is uneven.
        position = position + velocity * (1.0 + 0.5 * intensity * rng.uniform(-1.0, 1.0))
        points[i] = position
    return points


def motion_kernel(rng: np.random.Generator, size: int = 15, intensity: float = 0.3) -> np.ndarray:
    """A normalised camera-shake blur kernel: float32, odd side `size`, sum 1.

    The random trajectory is scaled so its longest extent spans about `size - 1` pixels, i.e. `size`
    is the blur length in pixels. `intensity` in [0, 1]: 0 is a straight linear sweep, 1 a strongly
    curved, jerky path.
    """
    size = _odd(size)
    if size == 1:
        return np.ones((1, 1), np.float32)
    points = _shake_trajectory(rng, steps=max(64, 8 * size), intensity=intensity)
    points -= points.min(axis=0)
    extent = float(points.max())
    if extent > 1e-9:
        points *= (size - 1) / extent
    # Centre the path's mass on the kernel centre so blurring does not shift the photo.
    points += (size - 1) / 2.0 - points.mean(axis=0)
    points = np.clip(points, 0.0, size - 1.000001)
    # Bilinear splatting keeps sub-pixel positions: no staircase kernels for diagonal sweeps.
    kernel = np.zeros((size, size), np.float64)
    x0 = np.floor(points[:, 0]).astype(int)
    y0 = np.floor(points[:, 1]).astype(int)
    fx = points[:, 0] - x0
    fy = points[:, 1] - y0
    x1 = np.minimum(x0 + 1, size - 1)
    y1 = np.minimum(y0 + 1, size - 1)
    np.add.at(kernel, (y0, x0), (1 - fx) * (1 - fy))
    np.add.at(kernel, (y0, x1), fx * (1 - fy))
    np.add.at(kernel, (y1, x0), (1 - fx) * fy)
    np.add.at(kernel, (y1, x1), fx * fy)
    return (kernel / kernel.sum()).astype(np.float32)


def apply_kernel(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve an H x W x C (or H x W) float32 image with `kernel`, reflecting at the border."""
    kernel = np.asarray(kernel, np.float32)
    # filter2D correlates; flipping makes it a true convolution, which matters for asymmetric shake paths.
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    out = cv2.filter2D(np.asarray(img, np.float32), -1, flipped, borderType=cv2.BORDER_REFLECT)
    return out.astype(np.float32, copy=False)
