"""The exposure restorer: one gain in linear light, read from the network and the white point, then the grain
it brought up removed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.color import linear_to_srgb, srgb_to_linear
from engine.instructions import interpret
from engine.io import read_pixels
from engine.pipeline import restore
from engine.progress import no_progress
from engine.restorers import StepContext
from engine.restorers import exposure as exposure_module
from engine.restorers.exposure import MIN_STOPS, ExposureEstimate, brighten, read_exposure
from engine.restorers.scene import shrink_to
from training.degradations.lowlight import low_light

DATA = Path(__file__).resolve().parent.parent / "data"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1).astype(np.float64) - b) ** 2)))


def darkened(clean: np.ndarray, stops: float) -> np.ndarray:
    return linear_to_srgb(srgb_to_linear(clean) * np.float32(2.0**-stops))


@pytest.fixture(scope="module")
def garden() -> np.ndarray:
    return shrink_to(read_pixels(DATA / "path_1200.jpg"), 320)


def test_brighten_undoes_a_darkening_in_linear_light_exactly() -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.0, 1.0, (300, 40, 3)).astype(np.float32)  # taller than a band of rows
    back = brighten(darkened(clean, 3.0), 3.0, band=64)
    assert back.dtype == np.float32 and back.shape == clean.shape
    assert np.max(np.abs(back - clean)) < 2e-3
    assert np.allclose(brighten(clean, 2.0)[clean >= 0.99], 1.0, atol=1e-6)  # white stays white


def test_the_read_follows_the_darkening_stop_for_stop(garden: np.ndarray) -> None:
    context = StepContext(interpret("it's too dark"), ("lowlight",))
    reads = [read_exposure(darkened(garden, s), context, no_progress, None).stops for s in (2.0, 3.0, 4.0)]
    assert abs(reads[1] - 3.0) < 0.6
    assert 0.6 < reads[1] - reads[0] < 1.4 and 0.6 < reads[2] - reads[1] < 1.4


def test_a_dark_noisy_photo_comes_back_bright_and_its_grain_removed(garden: np.ndarray) -> None:
    dark = low_light(garden, np.random.default_rng(1), -3.0, 8000.0)
    result = restore(dark, "it's way too dark")
    assert [s.restorer for s in result.steps] == ["exposure, grain"]
    assert any("under-exposed and brightened" in f for f in result.findings)
    assert any("grain" in f for f in result.findings)
    assert 2.4 < float(result.metadata["exposure_stops"]) < 3.6
    assert psnr(result.restored, garden) > psnr(dark, garden) + 10.0
    # the grain step ran on the brightened photo: smoother than the gain alone
    gained = brighten(dark, float(result.metadata["exposure_stops"]))
    assert psnr(result.restored, garden) > psnr(gained, garden) + 1.0


def test_a_request_with_grain_removes_it_once_in_its_own_step(garden: np.ndarray) -> None:
    dark = low_light(garden, np.random.default_rng(2), -3.0, 8000.0)
    result = restore(dark, "it's dark and grainy")
    assert [s.label for s in result.steps] == ["brighten", "reduce noise"]
    assert result.steps[0].restorer == "exposure" and result.steps[1].restorer == "grain"


def test_a_photo_that_reads_well_exposed_is_left_to_the_network(
    garden: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    def barely(*_args: object) -> ExposureEstimate:
        return ExposureEstimate(MIN_STOPS / 2, MIN_STOPS / 2, (0.0, 0.0))

    monkeypatch.setattr(exposure_module, "read_exposure", barely)
    result = restore(garden, "brighten it")
    assert result.steps[0].restorer == "network"
    assert any("exposed about right" in f for f in result.findings)
    assert "exposure_stops" not in result.metadata
