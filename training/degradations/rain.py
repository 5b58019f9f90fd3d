"""Synthetic rain streaks: sparse drops smeared along a common direction, blurred, added to the photo."""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["add_rain", "rain_layer"]


def _line_kernel(length: int, angle_deg: float) -> np.ndarray:
    size = length if length % 2 == 1 else length + 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx = math.sin(math.radians(angle_deg)) * (length - 1) / 2.0
    dy = math.cos(math.radians(angle_deg)) * (length - 1) / 2.0
    # Anti-aliased line, so slanted streaks are not jagged.
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return kernel / max(float(kernel.sum()), 1e-6)


def rain_layer(
    rng: np.random.Generator,
    height: int,
    width: int,
    density: float,
    length: int,
    angle_deg: float,
    blur_sigma: float,
) -> np.ndarray:
    """A rain-streak intensity map in [0, 1]: `density` is the fraction of pixels that start a drop."""
    drops = (rng.random((height, width)) < density).astype(np.float32)
    drops *= rng.uniform(0.5, 1.0, (height, width)).astype(np.float32)  # drops differ in size/brightness
    streaks = cv2.filter2D(drops, -1, _line_kernel(length, angle_deg), borderType=cv2.BORDER_REFLECT)
    if blur_sigma > 0:
        streaks = cv2.GaussianBlur(streaks, (0, 0), blur_sigma)
    peak = float(np.percentile(streaks, 99.9))
    return np.clip(streaks / max(peak, 1e-6), 0.0, 1.0)


def add_rain(img: np.ndarray, layer: np.ndarray, brightness: float) -> np.ndarray:
    """Composite streaks with a screen blend: a bright streak lightens dark pixels more than bright ones."""
    s = (brightness * layer)[:, :, None].astype(np.float32)
    return (1.0 - (1.0 - img) * (1.0 - s)).astype(np.float32)
