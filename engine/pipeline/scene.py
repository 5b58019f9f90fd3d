"""Scene-scale pass: corrections that depend on the whole scene, estimated where the network sees it whole.

The restoration network was trained on 128–192 px crops, and its channel attention averages over what it
is shown. Haze is a property of the whole scene (one airlight, depth growing towards the horizon): on a
whole 500 px photo the network leaves on average 17/255 of veil (McMaster, "remove the haze"), on the
photo shrunk to ~200 px only 9/255. So for the tasks a model's spec lists in `scene_tasks`, the photo is
also restored shrunk to `scene_side` px, and that result (smoothed) replaces the low-frequency band of
the full-resolution one, whose fine detail is kept. On a photo bigger than a tile it also makes every tile
agree on one veil. The other tasks are local (noise, blur, blocks, rain) or are already right on whole
photos (low light), and lose 0.5–5 dB from the same merge, so they never get it (see TRAINING_LOG.md).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from engine.models.spec import ModelSpec

__all__ = ["SMOOTH_SIGMA", "merge_low_band", "scene_size", "wants_scene_pass"]


def wants_scene_pass(spec: ModelSpec, tasks: Iterable[str], shape: tuple[int, ...]) -> bool:
    """True when `spec` asks for a scene pass for one of `tasks` and the photo is bigger than its side."""
    return bool(spec.scene_side and set(tasks) & set(spec.scene_tasks) and max(shape[:2]) > spec.scene_side)


def scene_size(shape: tuple[int, ...], side: int, multiple_of: int = 1) -> tuple[int, int]:
    """(width, height) of the photo shrunk so its longer side is `side`, each at least `multiple_of`."""
    h, w = shape[:2]
    scale = side / max(h, w)
    return max(multiple_of, round(w * scale)), max(multiple_of, round(h * scale))


# The correction is blurred at the small scale before it is enlarged: only the veil should come from the
# shrunk pass, not its version of the edges, which would come back as soft halos. Sigma 2 px (of 320),
# `python -m bench.quality --tasks dehaze`: McMaster 22.54 -> 22.85 dB, SSIM 0.796 -> 0.817; Set14
# 22.78 -> 23.13 dB, SSIM 0.845 -> 0.867 (TRAINING_LOG session 5).
SMOOTH_SIGMA = 2.0


def merge_low_band(full: np.ndarray, small: np.ndarray, smooth: float = SMOOTH_SIGMA) -> np.ndarray:
    """`full` with its low-frequency band (what survives shrinking to `small`'s size) taken from `small`.

    Both are H x W x C float32; the difference at the small size is blurred (Gaussian, `smooth` px there),
    upsampled smoothly (bicubic) and added, so `small == shrink(full)` returns `full` and a uniform shift
    in `small` shifts `full` alike.
    """
    h, w = full.shape[:2]
    size = (small.shape[1], small.shape[0])
    difference = small - cv2.resize(full, size, interpolation=cv2.INTER_AREA)
    if smooth > 0:
        difference = cv2.GaussianBlur(difference, (0, 0), smooth)
    correction = cv2.resize(difference, (w, h), interpolation=cv2.INTER_CUBIC)
    return (full + correction.reshape(full.shape)).astype(np.float32, copy=False)
