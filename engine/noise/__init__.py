"""Noise: its level, read where the network sees flat ground, and a DCT-domain filter that removes it;
JPEG artefacts, at the level the photo's quality implies."""

from __future__ import annotations

from engine.noise.dct import (
    BLOCK,
    HARD_THRESHOLD,
    MIN_NOISE,
    NOISE_UNIT,
    NoiseLevel,
    denoise_dct,
    estimate_noise_level,
    grain_windows,
    undo_clipping,
)
from engine.noise.jpeg import SCALE_UNIT, estimate_jpeg_quality, jpeg_noise_level, quantisation_scale

__all__ = [
    "BLOCK",
    "HARD_THRESHOLD",
    "MIN_NOISE",
    "NOISE_UNIT",
    "SCALE_UNIT",
    "NoiseLevel",
    "denoise_dct",
    "estimate_jpeg_quality",
    "estimate_noise_level",
    "grain_windows",
    "jpeg_noise_level",
    "quantisation_scale",
    "undo_clipping",
]
