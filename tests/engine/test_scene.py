"""The scene-scale pass for haze: low band from the shrunk photo, detail from full resolution."""

from __future__ import annotations

import dataclasses
import importlib

import cv2
import numpy as np
import pytest

from engine.models import get_spec
from engine.pipeline.scene import merge_low_band, scene_size, wants_scene_pass
from tests.conftest import textured_image

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


def test_only_the_models_scene_tasks_on_photos_bigger_than_its_side_get_the_pass() -> None:
    spec = dataclasses.replace(get_spec("restore"), scene_tasks=("dehaze",), scene_side=256)
    assert wants_scene_pass(spec, ("dehaze",), (600, 800, 3))
    assert wants_scene_pass(spec, ("denoise", "dehaze"), (600, 800, 3))
    assert not wants_scene_pass(spec, ("denoise",), (600, 800, 3))
    assert not wants_scene_pass(spec, ("dehaze",), (200, 256, 3))  # already at the scene scale
    assert not wants_scene_pass(dataclasses.replace(spec, scene_tasks=()), ("dehaze",), (600, 800, 3))
    with pytest.raises(ValueError, match="scene_side"):
        dataclasses.replace(spec, scene_side=8)


def test_restore_runs_the_scene_pass_for_haze_only(monkeypatch: pytest.MonkeyPatch) -> None:
    merges = []

    def spy(full: np.ndarray, small: np.ndarray) -> np.ndarray:
        merges.append((full.shape, small.shape))
        return merge_low_band(full, small)

    monkeypatch.setattr(restore_module, "merge_low_band", spy)
    spec = get_spec("restore")
    photo = textured_image(spec.scene_side + 64, spec.scene_side * 2, seed=3)
    restore_module.restore(photo, "it's grainy, remove the noise")
    assert merges == []
    stages = []
    result = restore_module.restore(photo, "remove the haze", progress=lambda f, m: stages.append((f, m)))
    (h, w) = photo.shape[:2]
    assert merges == [((h, w, 3), (round(h * spec.scene_side / w), spec.scene_side, 3))]
    assert result.restored.shape == photo.shape and 0.0 <= result.restored.min() <= result.restored.max() <= 1
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("scene" in m for _, m in stages)


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
