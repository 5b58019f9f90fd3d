"""Noise: its level, read where the network sees flat ground, and a DCT-domain filter that removes it;
JPEG artefacts, at the level the photo's quality implies."""

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
from engine.noise.jpeg import estimate_jpeg_quality, jpeg_noise_level

__all__ = [
    "BLOCK",
    "HARD_THRESHOLD",
    "MIN_NOISE",
    "NoiseLevel",
    "denoise_dct",
    "estimate_jpeg_quality",
    "estimate_noise_level",
    "jpeg_noise_level",
    "undo_clipping",
]
