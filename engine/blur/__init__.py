"""Blur detection: sharpness score, per-patch blur map, motion/defocus verdict, heat map, folder cull."""

from __future__ import annotations

from engine.blur.analysis import (
    BLURRY_THRESHOLD,
    MIN_SIDE,
    SUBJECT_FRACTION,
    WORKING_SIDE,
    BlurFeatures,
    BlurKind,
    BlurReport,
    TooSmallToJudge,
    analyze_blur,
    measure_blur,
)
from engine.blur.cull import CullAction, CullEntry, CullReport, cull_folder
from engine.blur.heatmap import blur_heatmap, save_blur_map_png

__all__ = [
    "BLURRY_THRESHOLD",
    "MIN_SIDE",
    "SUBJECT_FRACTION",
    "WORKING_SIDE",
    "BlurFeatures",
    "BlurKind",
    "BlurReport",
    "CullAction",
    "CullEntry",
    "CullReport",
    "TooSmallToJudge",
    "analyze_blur",
    "blur_heatmap",
    "cull_folder",
    "measure_blur",
    "save_blur_map_png",
]
