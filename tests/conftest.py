"""Fixtures shared by every test package: small textured test photos made on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def textured_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like H x W x 3 float32 image in [0, 1]: smooth gradients, edges and fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fx, fy = rng.uniform(0.5, 3.0, 2) / max(height, width)
        img[..., c] = 0.45 + 0.25 * np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 6.28))
    for _ in range(12):  # opaque rectangles and discs give hard edges
        colour = rng.uniform(0.05, 0.95, 3).astype(np.float32)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        r = rng.uniform(0.05, 0.25) * min(height, width)
        if rng.random() < 0.5:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        else:
            mask = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r * 0.6)
        img[mask] = colour
    stripes = 0.06 * np.sin(xx * 0.9 + yy * 0.35)  # fine texture
    img += stripes[..., None]
    return np.clip(img, 0.0, 1.0)


def add_noise(img: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0.0, sigma, img.shape).astype(np.float32), 0.0, 1.0)


def save_rgb(path: Path, img: np.ndarray, **save_kwargs: object) -> Path:
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path, **save_kwargs)
    return path


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A folder with three small noisy photos (JPEG, PNG, and one in a subfolder)."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    save_rgb(folder / "a.png", add_noise(textured_image(96, 128, seed=1), 0.1))
    save_rgb(folder / "b.jpg", add_noise(textured_image(80, 112, seed=2), 0.1), quality=95)
    save_rgb(folder / "sub" / "c.png", add_noise(textured_image(64, 64, seed=3), 0.1))
    return folder
