"""Photos made for the detector's tests: a clean, photo-like scene (no periodic texture a detector could
take for rain or grain) and the same scene with strong grain."""

from __future__ import annotations

import cv2
import numpy as np


def eight_bit(img: np.ndarray) -> np.ndarray:
    """As a saved 8-bit file holds it."""
    return (np.round(np.clip(img, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def clean_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A sharp, noise-free scene: a smooth sky-to-ground gradient, soft shading, and opaque shapes with crisp
    anti-aliased edges (drawn at 4x and shrunk, as a good lens and sensor would record them)."""
    rng = np.random.default_rng(seed)
    big_h, big_w = 4 * height, 4 * width
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    top, bottom = rng.uniform(0.45, 0.8, 3), rng.uniform(0.15, 0.45, 3)
    t = (yy / max(height - 1, 1))[..., None]
    base = (1 - t) * top + t * bottom
    shading = cv2.GaussianBlur(
        rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), min(height, width) / 8
    )
    base = base + 0.6 * shading[..., None] / max(float(np.abs(shading).max()), 1e-6) * 0.1
    canvas = np.zeros((big_h, big_w, 3), np.float32)
    cover = np.zeros((big_h, big_w), np.float32)
    for _ in range(14):
        colour = tuple(float(c) for c in rng.uniform(0.05, 0.95, 3))
        cy, cx = int(rng.uniform(0, big_h)), int(rng.uniform(0, big_w))
        size = int(rng.uniform(0.04, 0.18) * min(big_h, big_w))
        mask = np.zeros((big_h, big_w), np.uint8)
        if rng.random() < 0.5:
            axes = (size, int(size * rng.uniform(0.5, 1.0)))
            cv2.ellipse(mask, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            box = cv2.boxPoints(((cx, cy), (size * 1.6, size), float(rng.uniform(0, 90))))
            cv2.fillPoly(mask, [box.astype(np.int32)], 1)
        canvas[mask > 0] = colour
        cover[mask > 0] = 1.0
    shapes = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(cover, (width, height), interpolation=cv2.INTER_AREA)[..., None]
    # Each shape gets the scene's gentle light too, so nothing is perfectly flat (no real surface is).
    scene = alpha * shapes + (1 - alpha) * base + 0.3 * (base - base.mean())
    return eight_bit(scene)


def grainy(img: np.ndarray, sigma: float = 30 / 255, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return eight_bit(img + rng.normal(0.0, sigma, img.shape))
