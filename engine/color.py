"""sRGB <-> linear-light transfer functions (IEC 61966-2-1), float32 in [0, 1]: an exposure is a gain in
linear light (engine.restorers.exposure), and the training degradations darken photos the same way."""

from __future__ import annotations

import numpy as np

__all__ = ["linear_to_srgb", "srgb_to_linear"]


def srgb_to_linear(pixels: np.ndarray) -> np.ndarray:
    """sRGB-encoded pixels (clipped to [0, 1]) decoded to linear light, float32."""
    srgb = np.clip(pixels, 0.0, 1.0).astype(np.float32)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """srgb_to_linear's inverse: linear light (clipped to [0, 1]) encoded as sRGB, float32."""
    linear = np.clip(linear, 0.0, 1.0).astype(np.float32)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1.0 / 2.4) - 0.055).astype(
        np.float32
    )
