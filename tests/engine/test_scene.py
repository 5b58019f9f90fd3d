"""The scene pass for haze and low light: low band from the shrunk photo, detail from full resolution."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.metrics import psnr
from engine.models import get_spec
from engine.pipeline.scene import merge_low_band, scene_side_for, scene_size
from tests.conftest import textured_image
from training.degradations.pipeline import degrade

PATH_PHOTO = Path(__file__).resolve().parents[1] / "data" / "path_1200.jpg"

# the module: the package's `restore` attribute is the function of the same name
restore_module = importlib.import_module("engine.pipeline.restore")


def test_a_small_result_equal_to_the_shrunk_full_one_changes_nothing() -> None:
    full = textured_image(200, 300, seed=1)
    small = cv2.resize(full, scene_size(full.shape, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(merge_low_band(full, small) - full).max() < 1e-6


def test_the_low_band_follows_the_small_result_and_the_detail_stays() -> None:
    full = textured_image(200, 300, seed=2)
    size = scene_size(full.shape, 64)
    shrunk = cv2.resize(full, size, interpolation=cv2.INTER_AREA)
    # a veil the full-resolution pass left: the small pass removed 0.1 more everywhere
    merged = merge_low_band(full, shrunk - 0.1)
    assert np.abs(merged - (full - 0.1)).max() < 1e-5
    # a smooth left-to-right correction comes through smoothly, and fine detail is untouched
    ramp = np.linspace(0.0, 0.2, size[0], dtype=np.float32)[None, :, None]
    merged = merge_low_band(full, shrunk + ramp)
    added = merged - full
    assert added[:, :20].mean() < 0.03 and added[:, -20:].mean() > 0.17
    assert np.abs(np.diff(added, axis=1)).max() < 0.01


def test_scene_size_keeps_the_aspect_and_the_minimum() -> None:
    assert scene_size((3000, 4000, 3), 320) == (320, 240)
    assert scene_size((4000, 100, 3), 320, multiple_of=16) == (16, 320)


def test_only_the_models_scene_tasks_on_photos_bigger_than_their_side_get_the_pass() -> None:
    spec = dataclasses.replace(get_spec("restore"), scene_sides=(("dehaze", 256), ("lowlight", 512)))
    assert scene_side_for(spec, ("dehaze",), (600, 800, 3)) == 256
    assert scene_side_for(spec, ("denoise", "dehaze"), (600, 800, 3)) == 256
    assert scene_side_for(spec, ("lowlight", "dehaze"), (600, 800, 3)) == 256  # the smaller side
    assert scene_side_for(spec, ("lowlight", "denoise"), (600, 800, 3)) == 512
    assert scene_side_for(spec, ("denoise",), (600, 800, 3)) == 0
    assert scene_side_for(spec, ("lowlight",), (400, 512, 3)) == 0  # one tile already sees it all
    assert scene_side_for(spec, ("dehaze",), (200, 256, 3)) == 0  # already at the scene scale
    assert scene_side_for(dataclasses.replace(spec, scene_sides=()), ("dehaze",), (600, 800, 3)) == 0
    with pytest.raises(ValueError, match="scene side"):
        dataclasses.replace(spec, scene_sides=(("dehaze", 8),))


def test_restore_runs_the_scene_pass_for_haze_and_big_dark_photos_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    merges = []

    def spy(full: np.ndarray, small: np.ndarray) -> np.ndarray:
        merges.append((full.shape, small.shape))
        return merge_low_band(full, small)

    monkeypatch.setattr(restore_module, "merge_low_band", spy)
    sides = dict(get_spec("restore").scene_sides)
    photo = textured_image(sides["dehaze"] + 64, sides["lowlight"] - 64, seed=3)
    restore_module.restore(photo, "it's grainy, remove the noise")
    restore_module.restore(photo, "brighten this dark photo")  # smaller than the low-light side: one tile
    assert merges == []
    stages = []
    result = restore_module.restore(photo, "remove the haze", progress=lambda f, m: stages.append((f, m)))
    (h, w) = photo.shape[:2]
    assert merges == [((h, w, 3), (round(h * sides["dehaze"] / w), sides["dehaze"], 3))]
    assert result.restored.shape == photo.shape and 0.0 <= result.restored.min() <= result.restored.max() <= 1
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("scene" in m for _, m in stages)
    restore_module.restore(photo, "remove the haze", scene_side=0)  # the bench's "full only"
    assert len(merges) == 1


def test_the_scene_pass_makes_the_tiles_of_a_big_dark_photo_agree() -> None:
    """Brightened tile by tile, each 512-px tile gets its own exposure (seams); the scene pass evens it out.

    On 10 of the training photos at 2048 px it gained 4.3 dB on average (8 of 10 better), at 1024 px 0.6 dB
    (TRAINING_LOG session 5); this photo (1200 x 750, 3 x 2 tiles) shows the seams.
    """
    clean = cv2.imread(str(PATH_PHOTO))[:, :, ::-1].astype(np.float32) / 255
    dark = degrade(clean, ("lowlight",), np.random.default_rng(0), level="ev-3").image
    scores = {}
    for side in (0, None):  # tiles alone, then with the model's scene pass
        out = restore_module.restore(dark, "brighten this dark photo", scene_side=side).restored
        # how far each tile-sized block's brightness is from the clean photo's
        errors = [
            out[y : y + 375, x : x + 400].mean() - clean[y : y + 375, x : x + 400].mean()
            for y in (0, 375)
            for x in (0, 400, 800)
        ]
        scores[side] = (psnr(out, clean), float(np.ptp(errors)))
    assert scores[None][1] < scores[0][1] / 2  # the blocks agree
    assert scores[None][0] > scores[0][0] + 0.2


def test_the_correction_is_smoothed_so_the_shrunk_pass_brings_no_edges() -> None:
    full = textured_image(200, 300, seed=4)
    size = scene_size(full.shape, 64)
    small = cv2.resize(full, size, interpolation=cv2.INTER_AREA)
    small[20, 30] += 0.5  # one pixel of the shrunk result disagrees: an edge the small pass saw
    added = merge_low_band(full, small) - full
    assert 0 < added.max() < 0.5 / 10  # spread into a soft bump, not a ringing spot
    assert added.sum() == pytest.approx(0.5 * 3 * (200 / size[1]) * (300 / size[0]), rel=0.1)
    sharp = merge_low_band(full, small, smooth=0) - full
    assert sharp.max() > 4 * added.max()
