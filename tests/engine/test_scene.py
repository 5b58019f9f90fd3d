"""The scene pass for haze and low light: low band from the shrunk photo, detail from full resolution."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.instructions import interpret
from engine.metrics import psnr
from engine.models import get_spec
from engine.pipeline import network_plan
from engine.restorers.scene import (
    SMOOTH_SIGMA,
    guide_sigma,
    guided_tiles,
    match_low_band,
    scene_guide,
    scene_side_for,
    scene_size,
    shrink_to,
)
from engine.tiling import TileInfer, run_tiled
from tests.conftest import textured_image
from training.degradations.pipeline import degrade

PATH_PHOTO = Path(__file__).resolve().parents[1] / "data" / "path_1200.jpg"

# the module: the package's `restore` attribute is the function of the same name
restore_module = importlib.import_module("engine.pipeline.restore")
network_module = importlib.import_module("engine.restorers.network")


def test_a_result_whose_low_band_agrees_with_the_guide_is_kept() -> None:
    full = textured_image(200, 300, seed=1)
    guide = scene_guide(shrink_to(full, 64), full.shape)
    sigma = guide_sigma(full.shape, 64)
    assert np.abs(match_low_band(full, guide, sigma) - full).mean() < 0.005


def test_the_low_band_follows_the_guide_and_the_detail_stays() -> None:
    full = textured_image(200, 300, seed=2)
    guide = scene_guide(shrink_to(full, 64), full.shape)
    sigma = guide_sigma(full.shape, 64)
    # a veil the full-resolution pass left: the scene pass removed 0.1 more everywhere
    assert np.abs(match_low_band(full, guide - 0.1, sigma) - (full - 0.1)).mean() < 0.005
    # a smooth left-to-right correction comes through smoothly, and fine detail is untouched
    ramp = np.linspace(0.0, 0.2, 300, dtype=np.float32)[None, :, None]
    added = match_low_band(full, guide + ramp, sigma) - match_low_band(full, guide, sigma)
    assert added[:, :20].mean() < 0.03 and added[:, -20:].mean() > 0.17
    assert np.abs(np.diff(added, axis=1)).max() < 0.01


def test_the_correction_is_smoothed_so_the_shrunk_pass_brings_no_edges() -> None:
    full = textured_image(200, 300, seed=4)
    guide = scene_guide(shrink_to(full, 64), full.shape)
    sigma = guide_sigma(full.shape, 64)
    edged = guide.copy()
    edged[90:95, 140:145] += 0.5  # a spot the small pass saw: an edge that is not in the full photo
    added = match_low_band(full, edged, sigma) - match_low_band(full, guide, sigma)
    assert 0 < added.max() < 0.5 / 10  # spread into a soft bump, not a ringing spot
    assert added.sum() == pytest.approx(0.5 * 3 * 25, rel=0.05)


def test_guided_tiles_agree_where_plain_tiles_show_steps() -> None:
    """A network that sets each tile's exposure from the tile alone (as the real one does with low light)
    leaves a step at every tile border. Corrected towards the whole-scene exposure after blending, thin
    steps remain; corrected tile by tile before blending, the tiles agree and no step is left."""
    clean = np.clip(textured_image(300, 700, seed=5) * 0.5 + np.linspace(0, 0.5, 700)[None, :, None], 0, 1)
    dark = (clean * 0.2).astype(np.float32)

    def per_tile_exposure(batch: np.ndarray) -> np.ndarray:
        return batch - batch.mean() + 0.5

    settings = {"tile_size": 192, "overlap": 32, "multiple_of": 16}
    whole = per_tile_exposure(dark)  # the network's answer on the photo seen whole
    guide = scene_guide(shrink_to(whole, 96), dark.shape)
    sigma = guide_sigma(dark.shape, 96)
    plain = run_tiled(dark, per_tile_exposure, **settings)
    after_blending = match_low_band(plain, guide, sigma)
    stacked = np.concatenate([dark, guide], axis=2)
    guided = run_tiled(stacked, guided_tiles(per_tile_exposure, sigma), out_channels=3, **settings)

    def worst_step(image: np.ndarray) -> float:
        """Largest change of the error's low band across 16 columns (texture averaged out)."""
        error = cv2.GaussianBlur(image - whole, (0, 0), 4).mean(axis=(0, 2))
        return float(np.abs(error[16:] - error[:-16]).max())

    assert guided.shape == dark.shape
    assert worst_step(plain) > 2.5 / 255 and worst_step(after_blending) > 1 / 255
    assert worst_step(guided) < 0.1 / 255
    assert psnr(guided, whole) > 60


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
    guided_runs = []

    def spy(infer: TileInfer, sigma: float) -> TileInfer:
        guided_runs.append(sigma)
        return guided_tiles(infer, sigma)

    monkeypatch.setattr(network_module, "guided_tiles", spy)
    sides = dict(get_spec("restore").scene_sides)
    photo = textured_image(sides["dehaze"] + 64, sides["lowlight"] - 64, seed=3)
    restore_module.restore(photo, "it's grainy, remove the noise")
    restore_module.restore(photo, "brighten this dark photo")  # smaller than the low-light side: one tile
    assert guided_runs == []
    stages = []
    result = restore_module.restore(photo, "remove the haze", progress=lambda f, m: stages.append((f, m)))
    (h, w) = photo.shape[:2]
    assert guided_runs == [pytest.approx(SMOOTH_SIGMA * w / sides["dehaze"])]
    assert result.restored.shape == photo.shape and 0.0 <= result.restored.min() <= result.restored.max() <= 1
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("scene" in m for _, m in stages)
    restore_module.restore(photo, "remove the haze", scene_side=0)  # the bench's "full only"
    assert len(guided_runs) == 1


def test_the_scene_pass_makes_the_tiles_of_a_big_dark_photo_agree() -> None:
    """Brightened by the network tile by tile, each 512-px tile gets its own exposure (seams); the scene pass
    evens it out. (A dark photo goes to the exposure restorer, which applies one gain to the whole photo; the
    network brightens one that reads as exposed about right, and any part of a request it is given whole.)

    On 10 of the training photos at 2048 px it gained 4.3 dB on average (8 of 10 better), at 1024 px 0.6 dB
    (TRAINING_LOG session 5); this photo (1200 x 750, 3 x 2 tiles) shows the seams.
    """
    clean = cv2.imread(str(PATH_PHOTO))[:, :, ::-1].astype(np.float32) / 255
    dark = degrade(clean, ("lowlight",), np.random.default_rng(0), level="ev-3").image
    scores = {}
    alone = network_plan(interpret("brighten this dark photo"))
    for side in (0, None):  # tiles alone, then with the model's scene pass
        out = restore_module.restore(dark, "brighten this dark photo", scene_side=side, plan=alone).restored
        # how far each tile-sized block's brightness is from the clean photo's
        errors = [
            out[y : y + 375, x : x + 400].mean() - clean[y : y + 375, x : x + 400].mean()
            for y in (0, 375)
            for x in (0, 400, 800)
        ]
        scores[side] = (psnr(out, clean), float(np.ptp(errors)))
    assert scores[None][1] < scores[0][1] / 2  # the blocks agree
    assert scores[None][0] > scores[0][0] + 0.2
