"""Scene-scale pass: corrections that depend on the whole scene, estimated where the network sees it whole.

The restoration network was trained on 128–192 px crops, and its channel attention averages over what it
is shown (one tile of a big photo). Two corrections depend on the whole scene:
- Haze (one airlight, depth growing towards the horizon): on a whole 500 px photo the network leaves on
  average 17/255 of veil (McMaster, "remove the haze"), on the photo shrunk to ~200 px only 9/255: it
  reads haze at its training scale.
- Low light: each 512-px tile of a big photo is brightened by its own statistics, which shows as patches
  with seams (a 2 MP photo, seen by hand); judged once for the whole photo at 512 px, 10 photos at
  2048 px came out 4.3 dB better on average (8 of 10 better).
So for the tasks a model's spec lists in `scene_sides`, a photo bigger than the side is first restored
shrunk to it; enlarged, that result is the guide whose (smoothed) low-frequency band replaces each
full-resolution tile's before the tiles are blended, and the tiles' fine detail is kept. The other
tasks are local (noise, blur, blocks, rain) and lose 0.5–5 dB from the same merge, so they never get
it; low light that fits in one tile lost 1.3 dB (McMaster, side 256), hence its side is a tile's.
Figures: TRAINING_LOG.md, sessions 5 and 6; `python -m bench.scene_pass`.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from engine.models.spec import ModelSpec
from engine.tiling import TileInfer

__all__ = [
    "SMOOTH_SIGMA",
    "guide_sigma",
    "guided_tiles",
    "match_low_band",
    "scene_guide",
    "scene_side_for",
    "scene_size",
    "shrink_to",
]


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


# The correction is blurred before it is added: only the veil or exposure should come from the shrunk
# pass, not its version of the edges, which would come back as soft halos. Sigma 2 px at the scene
# pass's scale (engine.restorers.scene.guide_sigma), chosen with the correction made after blending:
# `python -m bench.quality --tasks dehaze`: McMaster 22.54 -> 22.85 dB, SSIM 0.796 -> 0.817; Set14
# 22.78 -> 23.13 dB, SSIM 0.845 -> 0.867 (TRAINING_LOG session 5); per tile it scores the same (session 6).
SMOOTH_SIGMA = 2.0


def guide_sigma(shape: tuple[int, ...], side: int) -> float:
    """The smoothing in full-resolution pixels: SMOOTH_SIGMA at the scene pass's scale."""
    return SMOOTH_SIGMA * max(shape[:2]) / side


def scene_guide(small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The scene pass's result `small` enlarged (bicubic) to the full photo's `shape`."""
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).reshape(shape)


def match_low_band(result: np.ndarray, guide: np.ndarray, sigma: float) -> np.ndarray:
    """`result` (H x W x C float32) with its low band taken from `guide`: result + blur(guide - result).

    The Gaussian (`sigma` px) keeps the result's detail and its agreement with the guide's low band; a
    uniform shift in the guide shifts the result alike.
    """
    correction = cv2.GaussianBlur(np.ascontiguousarray(guide - result), (0, 0), sigma)
    return (result + correction.reshape(result.shape)).astype(np.float32, copy=False)


def guided_tiles(infer: TileInfer, sigma: float) -> TileInfer:
    """A tile function for run_tiled over the photo stacked with its scene guide (6 channels in, 3 out).

    Each tile's result takes its low band from the guide before the tiles are blended
    (match_low_band), so neighbouring tiles agree where they overlap. Made once after blending, the
    same correction left each tile's own exposure at its borders, seen as thin steps at 100 % in flat
    areas of a 2048 px dark photo; per tile they are gone, at the same PSNR (TRAINING_LOG session 6).
    """

    def run(batch: np.ndarray) -> np.ndarray:
        restored = np.asarray(infer(np.ascontiguousarray(batch[:, :3])))[0].transpose(1, 2, 0)
        guide = batch[0, 3:].transpose(1, 2, 0)
        return match_low_band(restored, guide, sigma).transpose(2, 0, 1)[None]

    return run
