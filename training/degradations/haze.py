"""Haze by the atmospheric scattering model I = J*t + A*(1 - t), t = exp(-beta * depth)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["add_haze", "random_depth"]


def random_depth(rng: np.random.Generator, height: int, width: int, frame: float = 1.0) -> np.ndarray:
    """A smooth random depth map in [0, 1]: farther towards the top (the horizon) plus soft blobs.

    Real scenes are mostly farther up the frame; low-frequency noise adds near objects and uneven terrain.
    With `frame` > 1 the map is drawn for a frame that many times larger and a random window of it is
    returned: a training crop then sees part of a photo's haze, as a tile of a whole photo does, instead
    of a whole scene's worth of haze in every crop (session 5: a network trained only on the latter reads
    haze at the crop's scale and leaves a veil on whole photos).
    """
    fh, fw = max(height, round(height * frame)), max(width, round(width * frame))
    grid = rng.uniform(0.0, 1.0, (int(rng.integers(2, 6)), int(rng.integers(2, 6)))).astype(np.float32)
    blobs = cv2.resize(grid, (fw, fh), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(1.0, 0.0, fh, dtype=np.float32)[:, None] * np.ones((1, fw), np.float32)
    tilt = float(rng.uniform(0.3, 0.9))
    depth = tilt * ramp + (1.0 - tilt) * blobs
    depth -= depth.min()
    depth /= max(float(depth.max()), 1e-6)
    if (fh, fw) != (height, width):
        y, x = int(rng.integers(fh - height + 1)), int(rng.integers(fw - width + 1))
        depth = depth[y : y + height, x : x + width]
    return np.ascontiguousarray(depth, dtype=np.float32)


def add_haze(
    img: np.ndarray, beta: float, airlight: np.ndarray | float, depth: np.ndarray, min_depth: float = 0.3
) -> np.ndarray:
    """Apply haze of density `beta` with an airlight colour (scalar or RGB) over `depth` in [0, 1].

    Depth is mapped to [min_depth, 1] so even the nearest pixels see a little scattering, as in RESIDE.
    """
    d = min_depth + (1.0 - min_depth) * depth
    t = np.exp(-beta * d)[:, :, None].astype(np.float32)
    a = np.broadcast_to(np.asarray(airlight, np.float32), (3,))
    return np.clip(img * t + a * (1.0 - t), 0.0, 1.0).astype(np.float32)
