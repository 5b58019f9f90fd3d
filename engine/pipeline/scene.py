"""Scene-scale pass: corrections that depend on the whole scene, estimated where the network sees it whole.

The restoration network was trained on 128–192 px crops, and its channel attention averages over what it
is shown (one tile of a big photo). Two corrections depend on the whole scene:
- Haze (one airlight, depth growing towards the horizon): on a whole 500 px photo the network leaves on
  average 17/255 of veil (McMaster, "remove the haze"), on the photo shrunk to ~200 px only 9/255: it
  reads haze at its training scale.
- Low light: each 512-px tile of a big photo is brightened by its own statistics, which shows as patches
  with seams (a 2 MP photo, seen by hand); judged once for the whole photo at 512 px, 10 photos at
  2048 px came out 4.3 dB better on average (8 of 10 better).
So for the tasks a model's spec lists in `scene_sides`, a photo bigger than the side is also restored
shrunk to it, and that result (smoothed) replaces the low-frequency band of the full-resolution one,
whose fine detail is kept. The other tasks are local (noise, blur, blocks, rain) and lose 0.5–5 dB from
the same merge, so they never get it; low light that fits in one tile lost 1.3 dB (McMaster, side 256),
hence its side is a tile's.
Figures: TRAINING_LOG.md, session 5; `python -m bench.scene_pass`.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from engine.models.spec import ModelSpec

__all__ = ["SMOOTH_SIGMA", "merge_low_band", "scene_side_for", "scene_size", "shrink_to"]


def scene_side_for(spec: ModelSpec, tasks: Iterable[str], shape: tuple[int, ...]) -> int:
    """The side to shrink the photo to for its scene pass (the smallest of `tasks`' sides), 0 for none:
    no task with a side, or a photo no bigger than it."""
    wanted = set(tasks)
    side = min((s for task, s in spec.scene_sides if task in wanted and s > 0), default=0)
    return side if side and max(shape[:2]) > side else 0


def scene_size(shape: tuple[int, ...], side: int, multiple_of: int = 1) -> tuple[int, int]:
    """(width, height) of the photo shrunk so its longer side is `side`, each at least `multiple_of`."""
    h, w = shape[:2]
    scale = side / max(h, w)
    return max(multiple_of, round(w * scale)), max(multiple_of, round(h * scale))


def shrink_to(pixels: np.ndarray, side: int | None, multiple_of: int = 1) -> np.ndarray:
    """`pixels` shrunk (area averaging) so the longer side is `side`; as they are when already no bigger."""
    if not side or max(pixels.shape[:2]) <= side:
        return pixels
    return cv2.resize(pixels, scene_size(pixels.shape, side, multiple_of), interpolation=cv2.INTER_AREA)


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
