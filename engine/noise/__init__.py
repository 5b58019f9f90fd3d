"""Noise: its level, read where the network sees flat ground, and a DCT-domain filter that removes it."""

from __future__ import annotations

from engine.noise.dct import (
    BLOCK,
    HARD_THRESHOLD,
    MIN_NOISE,
    NoiseLevel,
    denoise_dct,
    estimate_noise_level,
    undo_clipping,
)

__all__ = [
    "BLOCK",
    "HARD_THRESHOLD",
    "MIN_NOISE",
    "NoiseLevel",
    "denoise_dct",
    "estimate_noise_level",
    "undo_clipping",
]
