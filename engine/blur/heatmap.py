"""Blur map -> translucent RGBA overlay (out of focus warm, sharp clear, unjudgeable hatched) and its PNG."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from engine.blur.analysis import BlurReport
from engine.errors import PhotoWriteError

#: Most opaque the overlay gets (0..255): the photo must stay visible underneath.
MAX_ALPHA = 170
#: Scores this far above the threshold are drawn fully clear; at the threshold the overlay is half on.
_FADE = 25.0
#: Longest side at which the overlay is coloured before being stretched to the requested size.
_DETAIL_SIDE = 1024
#: Not-judgeable areas (flat: sky, walls) get thin diagonal hatching, neither the warm blurry colour nor the
#: clear sharp one: a light and a dark grey line side by side, so it shows on bright and dark photos alike.
HATCH_LIGHT = (235, 235, 235)
HATCH_DARK = (45, 45, 45)
HATCH_ALPHA = 150
_HATCH_PERIOD = 10


def _colour_table() -> np.ndarray:
    """256-entry RGBA table indexed by blurriness 0..255: clear -> yellow -> orange -> red."""
    t = np.linspace(0.0, 1.0, 256)
    rgba = np.empty((256, 4), np.float64)
    rgba[:, 0] = 255.0
    rgba[:, 1] = 220.0 * (1.0 - t) ** 1.5  # yellow fades to red as blur grows
    rgba[:, 2] = 40.0 * (1.0 - t)
    rgba[:, 3] = MAX_ALPHA * np.clip(t * 1.25, 0.0, 1.0)
    return np.round(rgba).astype(np.uint8)


_TABLE = _colour_table()


def blur_heatmap(report: BlurReport, width: int | None = None, height: int | None = None) -> np.ndarray:
    """An H x W x 4 uint8 RGBA overlay of `report.blur_map` sized width x height (default: the photo's size).

    Each patch gets a blurriness from how far its score falls below the report's threshold; cells are
    interpolated smoothly. Patches that cannot be judged (NaN: no detail at any scale) are hatched grey.
    """
    width = int(report.image_size[0] if width is None else width)
    height = int(report.image_size[1] if height is None else height)
    if width < 1 or height < 1:
        raise ValueError(f"overlay size must be positive, got {width} x {height}")
    # The overlay is smooth at the scale of a patch, so it is coloured at most _DETAIL_SIDE px wide and
    # then stretched: a 48 MP overlay costs one resize instead of per-pixel colour lookups.
    reduce = min(1.0, _DETAIL_SIDE / max(width, height))
    small_w, small_h = max(1, round(width * reduce)), max(1, round(height * reduce))
    rgba = _colourise(report, small_w, small_h)
    if (small_w, small_h) != (width, height):
        rgba = cv2.resize(rgba, (width, height), interpolation=cv2.INTER_LINEAR)
    return rgba


def _colourise(report: BlurReport, width: int, height: int) -> np.ndarray:
    scores = np.asarray(report.blur_map, np.float32)
    valid = np.isfinite(scores)
    # 0 when _FADE above the threshold, 0.5 at it, 1 at _FADE below.
    badness = np.clip((report.threshold + _FADE - np.where(valid, scores, 0.0)) / (2.0 * _FADE), 0.0, 1.0)
    # Interpolate (badness * valid, valid) and divide afterwards, so featureless cells neither bleed
    # colour into their neighbours nor pull them towards "sharp".
    cells = np.dstack([badness * valid, valid.astype(np.float32)]).astype(np.float32)
    full_w = max(1, round(report.map_extent[0] * width / report.image_size[0]))
    full_h = max(1, round(report.map_extent[1] * height / report.image_size[1]))
    grid = cv2.resize(cells, (full_w, full_h), interpolation=cv2.INTER_LINEAR)[:height, :width]
    if grid.shape[:2] != (height, width):  # rounding left the grid a pixel short: repeat the last edge
        grid = cv2.copyMakeBorder(
            grid, 0, height - grid.shape[0], 0, width - grid.shape[1], cv2.BORDER_REPLICATE
        )
    weight = np.clip(grid[..., 1], 0.0, 1.0)
    index = np.where(weight > 1e-3, grid[..., 0] / np.maximum(weight, 1e-3), 0.0)
    rgba = _TABLE[np.clip(np.round(index * 255.0), 0, 255).astype(np.uint8)]
    # Fade towards featureless areas instead of a hard edge.
    colour_alpha = rgba[..., 3] * weight
    # Hatching where the photo cannot be judged, composited over the colour ("over" operator).
    yy, xx = np.mgrid[0:height, 0:width]
    phase = (xx + yy) % _HATCH_PERIOD
    hatch_alpha = np.where(phase < 2, HATCH_ALPHA * (1.0 - weight), 0.0)
    a_h, a_c = hatch_alpha / 255.0, colour_alpha / 255.0
    alpha = a_h + a_c * (1.0 - a_h)
    out = np.empty((height, width, 4), np.uint8)
    for c in range(3):
        hatch = np.where(phase == 0, HATCH_LIGHT[c], HATCH_DARK[c])
        mixed = hatch * a_h + rgba[..., c] * a_c * (1.0 - a_h)
        out[..., c] = np.round(np.where(alpha > 1e-6, mixed / np.maximum(alpha, 1e-6), 0.0)).astype(np.uint8)
    out[..., 3] = np.round(alpha * 255.0).astype(np.uint8)
    return out


def save_blur_map_png(
    report: BlurReport, path: Path | str, width: int | None = None, height: int | None = None
) -> Path:
    """Write blur_heatmap(report, width, height) as an RGBA PNG, atomically (temp file + os.replace)."""
    target = Path(path)
    rgba = blur_heatmap(report, width, height)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp.png", dir=target.parent)
    except OSError as exc:
        raise PhotoWriteError(target, exc.strerror or "cannot create the file") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            Image.fromarray(rgba, "RGBA").save(handle, format="PNG")
        os.replace(temp_name, target)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise PhotoWriteError(target, exc.strerror or "cannot write the file") from exc
    except BaseException:  # interrupted (Ctrl-C...): leave no temp file behind
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target
