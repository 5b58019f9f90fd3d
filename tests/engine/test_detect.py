"""Automatic degradation detection with the real shipped detector: canvas layout and what it flags."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from engine.pipeline.detect import (
    DETECTED_TASKS,
    DetectedDegradations,
    detect_degradations,
    detector_canvas,
    suggest_instruction,
)
from tests.conftest import textured_image

SIDE = 256
HALF = SIDE // 2


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(np.maximum(x, 0), 1 / 2.4) - 0.055)


def _eight_bit(img: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(img, 0, 1) * 255) / 255).astype(np.float32)


def _noisy(img: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(11)
    return _eight_bit(img + rng.normal(0, 40 / 255, img.shape))


def _dark(img: np.ndarray) -> np.ndarray:
    # -4 EV in linear light with a little sensor noise, like an underexposed shot.
    rng = np.random.default_rng(12)
    linear = _srgb_to_linear(img) / 16.0
    linear = linear + rng.normal(0, 0.001, img.shape)
    return _eight_bit(_linear_to_srgb(np.clip(linear, 0, 1)))


def _hazy(img: np.ndarray) -> np.ndarray:
    # Atmospheric scattering I = J t + A (1 - t) with thick, slightly varying haze.
    h, w = img.shape[:2]
    t = np.linspace(0.2, 0.35, h, dtype=np.float32)[:, None, None] * np.ones((1, w, 1), np.float32)
    return _eight_bit(img * t + 0.9 * (1 - t))


@pytest.fixture(scope="module")
def clean_photo() -> np.ndarray:
    return _eight_bit(textured_image(384, 512, seed=21))


# ----------------------------------------------------------------------------------- canvas layout


def test_canvas_holds_the_whole_photo_and_three_native_windows(clean_photo: np.ndarray) -> None:
    canvas = detector_canvas(clean_photo, SIDE)
    assert canvas.shape == (SIDE, SIDE, 3) and canvas.dtype == np.float32
    overview = cv2.resize(clean_photo, (HALF, HALF), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(canvas[:HALF, :HALF], overview, atol=1e-6)
    h, w = clean_photo.shape[:2]
    for sy, sx in ((0, HALF), (HALF, 0), (HALF, HALF)):
        window = canvas[sy : sy + HALF, sx : sx + HALF]
        # Each window is an exact native-resolution crop whose origin sits on the 16 px JPEG lattice.
        matches = [
            (y, x)
            for y in range(0, h - HALF + 1, 16)
            for x in range(0, w - HALF + 1, 16)
            if np.array_equal(clean_photo[y : y + HALF, x : x + HALF], window)
        ]
        assert matches, f"window at {(sy, sx)} is not a lattice-aligned crop of the photo"


def test_central_window_is_the_centre(clean_photo: np.ndarray) -> None:
    canvas = detector_canvas(clean_photo, SIDE)
    h, w = clean_photo.shape[:2]
    y, x = round((h - HALF) / 32) * 16, round((w - HALF) / 32) * 16
    np.testing.assert_array_equal(canvas[HALF:, HALF:], clean_photo[y : y + HALF, x : x + HALF])


def test_textured_window_is_more_detailed_than_the_flat_one() -> None:
    img = np.full((512, 512, 3), 0.5, np.float32)
    img[:256, :256] = textured_image(256, 256, seed=3)  # detail only in the top-left quarter
    canvas = detector_canvas(img, SIDE)

    def detail(patch: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(patch.mean(axis=2), cv2.CV_32F)).mean())

    assert detail(canvas[:HALF, HALF:]) > 10 * detail(canvas[HALF:, :HALF]) + 1e-6


@pytest.mark.parametrize("shape", [(40, 90), (128, 128), (100, 700), (1200, 1700)])
def test_canvas_accepts_any_photo_size(shape: tuple[int, int]) -> None:
    img = textured_image(*shape, seed=4)
    canvas = detector_canvas(img, SIDE)
    assert canvas.shape == (SIDE, SIDE, 3)
    assert np.isfinite(canvas).all() and canvas.min() >= 0.0 and canvas.max() <= 1.0


# ------------------------------------------------------------------------- the shipped detector


@pytest.mark.parametrize(
    ("degrade", "task"),
    [
        pytest.param(_noisy, "denoise", id="noise"),
        pytest.param(_dark, "lowlight", id="dark"),
        pytest.param(_hazy, "dehaze", id="haze"),
    ],
)
def test_flags_a_strong_degradation(
    clean_photo: np.ndarray, degrade: Callable[[np.ndarray], np.ndarray], task: str
) -> None:
    clean = detect_degradations(clean_photo, device="cpu")
    found = detect_degradations(degrade(clean_photo), device="cpu")
    assert task in found.tasks, found.probabilities
    assert found.probabilities[task] > clean.probabilities[task] + 0.3


def test_clean_photo_is_not_flagged_for_noise_darkness_or_haze(clean_photo: np.ndarray) -> None:
    found = detect_degradations(clean_photo, device="cpu")
    assert isinstance(found, DetectedDegradations)
    assert set(found.probabilities) == set(DETECTED_TASKS)
    assert all(0.0 <= p <= 1.0 for p in found.probabilities.values())
    assert not {"denoise", "lowlight", "dehaze"} & set(found.tasks), found.probabilities


def test_noisy_photo_gets_a_noise_instruction(clean_photo: np.ndarray) -> None:
    suggestion = suggest_instruction(_noisy(clean_photo), device="cpu")
    assert suggestion is not None
    assert "denoise" in suggestion.tasks
