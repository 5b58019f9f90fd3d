"""Automatic degradation detection with the real shipped detector: canvas layout, what it flags, and one
judgement for `photomend detect` and every empty prompt."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.batch import JOURNAL_NAME, run_batch
from engine.errors import InstructionError
from engine.pipeline import detect as detect_module
from engine.pipeline import restore
from engine.pipeline.detect import (
    DETECTED_TASKS,
    DetectedDegradations,
    degradations_from_logits,
    detect_degradations,
    detector_canvas,
    suggest_instruction,
)
from tests.conftest import save_rgb, textured_image
from tests.engine.detect_photos import clean_scene, grainy

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


def test_a_clean_scene_is_not_flagged_and_its_grainy_copy_is() -> None:
    scene = clean_scene(384, 512, seed=1)
    clean, noisy = detect_degradations(scene, device="cpu"), detect_degradations(grainy(scene), device="cpu")
    assert clean.tasks == () and clean.instruction == "", clean.probabilities
    assert "denoise" in noisy.tasks and "noise" in noisy.instruction, noisy.probabilities
    assert suggest_instruction(scene, device="cpu") is None


def test_as_dict_holds_tasks_scores_and_the_instruction() -> None:
    found = degradations_from_logits(np.array([3.0, -2.0, -5.0, -1.0, 0.5, -3.0]))
    assert found.tasks == ("denoise", "lowlight")
    row = found.as_dict()
    assert row["tasks"] == ["denoise", "lowlight"]
    assert list(row["scores"]) == list(DETECTED_TASKS)
    assert row["scores"]["denoise"] == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-4)
    assert row["instruction"] == found.instruction == "remove the noise and brighten the dark photo"
    json.dumps(row, allow_nan=False)


# ----------------------------------------------- one judgement: detect and every empty prompt agree

ALL_TASK_SETS = [s for n in range(1, 7) for s in itertools.combinations(DETECTED_TASKS, n)]


@pytest.mark.parametrize("tasks", ALL_TASK_SETS, ids=["+".join(s) for s in ALL_TASK_SETS])
def test_the_empty_prompt_runs_exactly_the_detected_tasks(tasks: tuple[str, ...]) -> None:
    """The proposed words are interpreted like a typed prompt, but what runs is what was detected, even
    where the text model would read a long list of phrases differently."""
    found = DetectedDegradations({t: 0.9 if t in tasks else 0.1 for t in DETECTED_TASKS}, tasks)
    suggestion = found.interpretation()
    assert suggestion is not None and suggestion.understood
    assert suggestion.tasks == tasks and suggestion.text == found.instruction
    assert suggestion.message == f"Understood: {suggestion.summary()}"


@pytest.fixture
def verdict(monkeypatch: pytest.MonkeyPatch) -> Callable[[tuple[str, ...]], list[tuple[int, ...]]]:
    """Makes the detector's logits say `tasks` for any photo; returns the shapes of the photos it judged."""

    def set_verdict(tasks: tuple[str, ...]) -> list[tuple[int, ...]]:
        judged: list[tuple[int, ...]] = []
        logits = np.array([4.0 if t in tasks else -4.0 for t in DETECTED_TASKS])

        def fake(pixels: np.ndarray, *, device: str | None = None) -> np.ndarray:
            judged.append(pixels.shape)
            return logits.copy()

        monkeypatch.setattr(detect_module, "detector_logits", fake)
        return judged

    return set_verdict


def _detected_in_journal(folder: Path) -> list[list[str]]:
    lines = [json.loads(line) for line in (folder / JOURNAL_NAME).read_text().splitlines() if line.strip()]
    return [line["detected"]["tasks"] for line in lines if line.get("state") == "done"]


@pytest.mark.parametrize(
    "tasks",
    [("lowlight",), ("denoise", "lowlight", "jpeg"), ("deblur", "dehaze", "lowlight")],
    ids=["lowlight", "grain-dark-jpeg", "blur-haze-dark"],
)
def test_detect_restore_and_the_batch_judge_the_same_way(
    verdict: Callable[[tuple[str, ...]], list[tuple[int, ...]]],
    tasks: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`photomend detect`, restore() with an empty prompt (the app's path too) and a batch with no
    instruction all go through detect_degradations, on the photo at its full size (also for a preview)."""
    from engine.cli import main

    judged = verdict(tasks)
    (tmp_path / "in").mkdir()
    photo = save_rgb(tmp_path / "in" / "p.png", clean_scene(48, 64, seed=2))
    pixels = clean_scene(48, 64, seed=2)

    assert main(["detect", str(photo), "--json", "--device", "cpu"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert tuple(row["tasks"]) == tasks
    assert suggest_instruction(pixels, device="cpu").tasks == tasks  # type: ignore[union-attr]
    result = restore(pixels, "", device="cpu", max_side=32)
    assert result.auto_detected and result.interpretation.tasks == tasks
    assert result.interpretation.text == row["instruction"]
    run_batch([photo], None, tmp_path / "out", device="cpu")
    assert _detected_in_journal(tmp_path / "out") == [list(tasks)]
    assert set(judged) == {(48, 64, 3)}  # never the preview's shrunk copy


def test_a_clean_verdict_is_no_instruction_everywhere(
    verdict: Callable[[tuple[str, ...]], list[tuple[int, ...]]], tmp_path: Path
) -> None:
    verdict(())
    pixels = clean_scene(48, 64, seed=3)
    assert detect_degradations(pixels).tasks == () and suggest_instruction(pixels) is None
    with pytest.raises(InstructionError, match="looks clean"):
        restore(pixels, "")
    report = run_batch([save_rgb(tmp_path / "p.png", pixels)], None, tmp_path / "out")
    assert not report.done and len(report.failed) == 1 and "looks clean" in report.failed[0][1]
