"""Synthetic degradations: each changes a photo the way its physics says, deterministically per seed."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from training.degradations.pipeline import LEVELS, ORDER, TASKS, degrade, sample_params  # noqa: E402


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 96x96 smooth synthetic scene (gradients + soft shapes): little high frequency, mid-tones."""
    y, x = np.mgrid[0:96, 0:96].astype(np.float32) / 95.0
    img = np.stack([0.3 + 0.4 * x, 0.25 + 0.5 * y, 0.5 - 0.2 * x * y], axis=-1)
    cv2.circle(img, (60, 40), 18, (0.8, 0.6, 0.3), -1)
    cv2.rectangle(img, (10, 60), (40, 85), (0.2, 0.3, 0.6), -1)
    return cv2.GaussianBlur(img, (0, 0), 1.5).astype(np.float32)


def high_frequency_energy(img: np.ndarray) -> float:
    grey = img.mean(axis=2)
    return float(np.mean(cv2.Laplacian(grey, cv2.CV_32F) ** 2))


def dark_channel_min(img: np.ndarray) -> float:
    return float(np.percentile(img.min(axis=2), 5))


def blockiness(img: np.ndarray) -> float:
    """Mean jump across 8x8 block borders divided by the mean jump inside blocks (about 1 when none)."""
    grey = img.mean(axis=2)
    dx = np.abs(np.diff(grey, axis=1))
    border = dx[:, 7::8].mean()
    inside = np.delete(dx, np.s_[7::8], axis=1).mean()
    return float(border / max(inside, 1e-8))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("level", ["sigma15", "sigma25", "sigma50", "sensor", "sigma20_camera_jpeg90", None])
def test_noise_raises_high_frequency_energy(photo, level):
    out = degrade(photo, ("denoise",), rng(), level=level).image
    assert high_frequency_energy(out) > 5 * high_frequency_energy(photo)
    assert abs(out.mean() - photo.mean()) < 0.03  # noise is zero-mean (up to clipping)


def test_stronger_noise_level_is_noisier(photo):
    std = [
        float(np.std(degrade(photo, ("denoise",), rng(), level=lv).image - photo))
        for lv in ("sigma25", "sigma50")
    ]
    assert std[0] == pytest.approx(25 / 255, rel=0.15)
    assert std[1] > 1.6 * std[0]


def test_camera_jpeg_compresses_the_grain_as_a_camera_would(photo):
    plain = degrade(photo, ("denoise",), rng(), level={"denoise": "sigma25"}).image - photo
    camera = degrade(photo, ("denoise",), rng(), level={"denoise": "sigma20_camera_jpeg90"}).image - photo

    def luma_chroma(residual: np.ndarray) -> tuple[float, float]:
        luma = residual.mean(axis=2)
        return float(luma.std()), float((residual[..., 2] - residual[..., 1]).std())

    (pl, pc), (cl, cc) = luma_chroma(plain), luma_chroma(camera)
    # i.i.d. noise: the blue-green difference has sqrt(6) x the std of the channel mean; 4:2:0 JPEG
    # averages chroma over 2x2 pixels and quantises it, so the camera's grain is mostly luma.
    assert pc / pl == pytest.approx(6**0.5, rel=0.1)
    assert cc / cl < 0.7 * pc / pl
    drawn = [sample_params("denoise", rng(seed)).get("camera_jpeg") for seed in range(200)]
    assert 60 < sum(q is None for q in drawn) < 140
    assert all(70 <= q <= 95 for q in drawn if q is not None)


@pytest.mark.parametrize("level", ["motion", "defocus", None])
def test_blur_lowers_high_frequency_energy_and_keeps_mean(photo, level):
    sharp = photo.copy()
    sharp[::6] = 0.9  # thin lines: lots of high frequency that any blur must smear
    out = degrade(sharp, ("deblur",), rng(), level=level).image
    assert high_frequency_energy(out) < 0.5 * high_frequency_energy(sharp)
    assert abs(out.mean() - sharp.mean()) < 0.01


@pytest.mark.parametrize("level", ["ev-2", "ev-3", "ev-4", None])
def test_low_light_lowers_the_mean(photo, level):
    out = degrade(photo, ("lowlight",), rng(), level=level).image
    assert out.mean() < 0.6 * photo.mean()


def test_low_light_darkens_more_with_more_stops(photo):
    means = [degrade(photo, ("lowlight",), rng(), level=lv).image.mean() for lv in ("ev-2", "ev-3", "ev-4")]
    assert means[0] > means[1] > means[2]


@pytest.mark.parametrize("level", ["thin", "medium", "thick", None])
def test_haze_raises_the_minimum_channel(photo, level):
    out = degrade(photo, ("dehaze",), rng(), level=level).image
    assert dark_channel_min(out) > dark_channel_min(photo) + 0.1


def test_haze_depth_of_a_crop_is_a_window_of_a_larger_frame() -> None:
    from training.degradations.haze import random_depth

    whole = [random_depth(rng(s), 64, 96) for s in range(20)]
    windows = [random_depth(rng(s), 64, 96, frame=4.0) for s in range(20)]
    # a whole frame spans the full depth range, farther at the top; a window of a 4x frame sees part of it
    assert all(d.min() == 0.0 and d.max() == 1.0 and d[0].mean() > d[-1].mean() for d in whole)
    assert np.mean([np.ptp(d) for d in windows]) < 0.6 < np.mean([np.ptp(d) for d in whole])
    assert all(d.shape == (64, 96) and d.dtype == np.float32 for d in windows)
    # the fixed benchmark levels keep whole-frame haze: their degradations are as they were
    assert "frame" not in LEVELS["dehaze"]["medium"]
    assert 1.0 <= sample_params("dehaze", rng(3))["frame"] <= 4.0


@pytest.mark.parametrize("level", ["q10", "q20", "q10_double", None])
def test_jpeg_shows_8x8_blockiness(photo, level):
    out = degrade(photo, ("jpeg",), rng(), level=level).image
    assert blockiness(out) > 1.3 * blockiness(photo)


def test_lower_jpeg_quality_loses_more(photo):
    err = [
        float(np.abs(degrade(photo, ("jpeg",), rng(), level=q).image - photo).mean()) for q in ("q10", "q30")
    ]
    assert err[0] > err[1]


@pytest.mark.parametrize("level", ["light", "heavy", None])
def test_rain_adds_bright_streaks(photo, level):
    out = degrade(photo, ("derain",), rng(), level=level).image
    diff = out - photo
    assert diff.min() > -1e-6  # screen blend only lightens
    assert (diff.max(axis=2) > 0.1).mean() > 0.005


@pytest.mark.parametrize(
    "tasks", [("denoise",), ("lowlight", "denoise"), ("dehaze", "derain", "jpeg"), ("deblur", "jpeg")]
)
def test_same_seed_same_result_other_seed_differs(photo, tasks):
    a = degrade(photo, tasks, rng(7)).image
    b = degrade(photo, tasks, rng(7)).image
    c = degrade(photo, tasks, rng(8)).image
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_composite_reports_tasks_in_physical_order(photo):
    out = degrade(photo, ("jpeg", "denoise", "dehaze"), rng())
    assert out.tasks == ("dehaze", "denoise", "jpeg")
    assert list(out.params) == list(out.tasks)
    assert [ORDER.index(t) for t in out.tasks] == sorted(ORDER.index(t) for t in out.tasks)


def test_no_tasks_returns_an_unchanged_copy(photo):
    out = degrade(photo, (), rng())
    assert np.array_equal(out.image, photo) and out.image is not photo and out.tasks == ()


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_a_default_level_and_output_stays_in_range(photo, task):
    assert "default" in LEVELS[task]
    out = degrade(photo, (task,), rng(), level="default").image
    assert out.dtype == np.float32 and out.shape == photo.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert sample_params(task, rng())  # random training parameters exist for every task


def test_per_task_levels_and_unknown_names_are_rejected(photo):
    out = degrade(photo, ("lowlight", "denoise"), rng(), level={"lowlight": "ev-4", "denoise": "sigma15"})
    assert out.params["lowlight"]["ev"] == -4.0 and out.params["denoise"]["sigma"] == pytest.approx(15 / 255)
    with pytest.raises(ValueError, match="no level"):
        degrade(photo, ("jpeg",), rng(), level="sigma25")
    with pytest.raises(ValueError, match="unknown tasks"):
        degrade(photo, ("sharpen",), rng())
