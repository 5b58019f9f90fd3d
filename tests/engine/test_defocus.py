"""engine.restorers.defocus: the disk read from the spectrum, its deconvolution, and restore()'s use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import engine.restorers.defocus as defocus_module
from engine.errors import Cancelled
from engine.instructions import interpret
from engine.metrics import psnr
from engine.pipeline import network_plan, restore
from engine.progress import CancelToken
from engine.restorers.defocus import (
    LAMBDA_FLOOR,
    MIN_RADIUS,
    MIN_SIGMA,
    blur_weights,
    deconvolve,
    defocus_kernel,
    estimate_defocus,
    is_grainy,
    prior_weight,
    soft_kernel,
    undo_blur,
)
from training.degradations import apply_kernel, motion_kernel

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def sharp() -> np.ndarray:
    """A 384 x 384 crop of a real photo (tests/data/path_1200.jpg): grass, path and trees."""
    photo = np.asarray(Image.open(DATA / "path_1200.jpg").convert("RGB"), np.float32) / 255.0
    return np.ascontiguousarray(photo[200:584, 400:784])


def camera(img: np.ndarray, kernel: np.ndarray, sigma: float = 1 / 255, seed: int = 0) -> np.ndarray:
    """Blur, faint sensor noise, 8-bit rounding: what a defocused photo looks like on disk."""
    rng = np.random.default_rng(seed)
    out = apply_kernel(img, kernel) + rng.normal(0.0, sigma, img.shape)
    return (np.round(np.clip(out, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


@pytest.mark.parametrize("radius", [2.0, 3.5, 5.0])
def test_the_disk_radius_is_read_from_the_spectrum(sharp: np.ndarray, radius: float) -> None:
    estimate = estimate_defocus(camera(sharp, defocus_kernel(radius)))
    assert estimate.found and estimate.shape == "disk"
    assert estimate.size == pytest.approx(radius, abs=0.25)
    assert estimate.fit_error < estimate.sharp_fit_error


@pytest.mark.parametrize("sigma", [1.5, 2.5])
def test_a_soft_blur_without_a_rim_is_read_as_a_gaussian(sharp: np.ndarray, sigma: float) -> None:
    estimate = estimate_defocus(camera(sharp, soft_kernel(sigma)))
    assert estimate.found and estimate.shape == "soft"
    assert estimate.size == pytest.approx(sigma, abs=0.5)
    assert estimate.describe() == f"an even soft blur (Gaussian, sigma {estimate.size:.2f} px)"


def test_soft_blur_is_undone_too(sharp: np.ndarray) -> None:
    blurred = camera(sharp, soft_kernel(1.5))
    restored = deconvolve(blurred, estimate_defocus(blurred).kernel)
    # Measured on this crop: 26.5 -> 27.7 dB (BSD432, sigma 1.5: +2.8 dB on average).
    assert psnr(restored, sharp) > psnr(blurred, sharp) + 1.0


def test_sharp_and_motion_blurred_photos_show_no_even_blur(sharp: np.ndarray) -> None:
    assert not estimate_defocus(sharp).found
    shaken = camera(sharp, motion_kernel(np.random.default_rng(3), 21, 0.5))
    estimate = estimate_defocus(shaken)
    assert not estimate.found
    assert estimate.size < (MIN_RADIUS if estimate.shape == "disk" else MIN_SIGMA)


def test_a_photo_smaller_than_one_spectrum_patch_shows_no_disk() -> None:
    assert not estimate_defocus(np.full((64, 300, 3), 0.5, np.float32)).found


def test_deconvolution_undoes_the_disk(sharp: np.ndarray) -> None:
    blurred = camera(sharp, defocus_kernel(3.5))
    restored = deconvolve(blurred, defocus_kernel(3.5))
    assert restored.shape == blurred.shape and restored.dtype == np.float32
    assert restored.min() >= 0.0 and restored.max() <= 1.0
    # Measured on this crop: 25.6 -> 27.9 dB.
    assert psnr(restored, sharp) > psnr(blurred, sharp) + 1.5
    assert not np.shares_memory(restored, blurred)


def test_tiles_agree_with_one_piece(sharp: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    blurred = camera(sharp, defocus_kernel(3.0))
    whole = deconvolve(blurred, defocus_kernel(3.0), lam=3e-4)
    monkeypatch.setattr(defocus_module, "TILE", 160)
    tiled = deconvolve(blurred, defocus_kernel(3.0), lam=3e-4)
    assert np.abs(tiled - whole).mean() < 1e-3
    assert psnr(tiled, whole) > 40.0


def test_a_noisier_photo_gets_a_stronger_prior(sharp: np.ndarray) -> None:
    weights = [prior_weight(camera(sharp, defocus_kernel(3.0), sigma=s)) for s in (0.0, 2 / 255, 6 / 255)]
    assert weights[0] >= LAMBDA_FLOOR
    assert weights[0] < weights[1] < weights[2]


def test_deconvolution_reports_progress_and_can_be_cancelled(sharp: np.ndarray) -> None:
    seen: list[float] = []
    deconvolve(sharp, defocus_kernel(2.0), progress=lambda f, _m: seen.append(f))
    assert seen and seen[-1] == pytest.approx(1.0)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        deconvolve(sharp, defocus_kernel(2.0), cancel=token)


def test_the_weights_tell_blurred_from_sharp_parts(sharp: np.ndarray) -> None:
    blurred = camera(sharp, defocus_kernel(4.0))
    estimate = estimate_defocus(blurred)
    assert blur_weights(blurred, estimate).mean() > 0.9
    assert blur_weights(sharp, estimate).mean() < 0.1
    assert blur_weights(blurred, estimate).shape == sharp.shape[:2]


def test_a_sharp_part_keeps_its_pixels_while_the_rest_is_deconvolved() -> None:
    photo = np.asarray(Image.open(DATA / "path_1200.jpg").convert("RGB"), np.float32) / 255.0
    mixed = camera(photo, defocus_kernel(4.0))
    # A strip in focus at the left edge (5 %: enough sharp patches and the estimate would say "none").
    mixed[:, :60] = photo[:, :60]
    estimate = estimate_defocus(mixed)
    assert estimate.found and estimate.shape == "disk"
    out = undo_blur(mixed, estimate)
    # Deconvolving the sharp strip with the whole photo's disk would ruin it (17 dB measured).
    assert psnr(out[:, :40], mixed[:, :40]) > 40.0
    assert psnr(out[:, 160:], photo[:, 160:]) > psnr(mixed[:, 160:], photo[:, 160:]) + 1.5


def test_training_blurs_with_the_disk_the_engine_undoes() -> None:
    from training.degradations import defocus_kernel as training_disk

    assert training_disk is defocus_kernel


def test_restore_undoes_an_even_defocus(sharp: np.ndarray) -> None:
    blurred = camera(sharp, defocus_kernel(3.0))
    messages: list[str] = []
    prompt = "the photo is out of focus, sharpen it"
    result = restore(blurred, prompt, progress=lambda _f, m: messages.append(m))
    shape, size = result.metadata["defocus"]
    assert shape == "disk" and size == pytest.approx(3.0, abs=0.25)
    assert result.findings == ("Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it.",)
    assert "undoing an even out-of-focus blur (a disk of radius 3.00 px)" in messages
    assert psnr(result.pixels, sharp) > psnr(blurred, sharp) + 1.5
    assert not np.shares_memory(result.pixels, blurred)


def test_restore_leaves_a_sharp_photo_to_the_network(sharp: np.ndarray) -> None:
    result = restore(sharp, "sharpen it please")
    assert "defocus" not in result.metadata
    assert result.findings == (
        "Found neither an even out-of-focus blur nor a camera shake to undo, so only the network ran.",
    )
    assert psnr(result.pixels, sharp) > 35.0


def test_in_a_composite_the_grain_goes_first_and_the_disk_is_read_as_it_came(
    sharp: np.ndarray,
) -> None:
    # Defocused and grainy: the grain step removes the grain; the disk is read from the photo as it came
    # (the grain step's smoothing would read as a soft blur of its own) and undone on the grain step's output.
    blurred = camera(sharp, defocus_kernel(3.0), sigma=10 / 255)
    result = restore(blurred, "it's blurry and grainy, fix both")
    assert {"deblur", "denoise"} <= set(result.interpretation.tasks)
    assert [step.restorer for step in result.steps] == ["grain", "defocus"]
    shape, size = result.metadata["defocus"]
    assert shape == "disk" and size == pytest.approx(3.0, abs=0.5)
    assert psnr(result.pixels, sharp) > psnr(blurred, sharp) + 1.5


def test_the_network_alone_reads_the_disk_after_it_ran(sharp: np.ndarray) -> None:
    blurred = camera(sharp, defocus_kernel(3.0), sigma=10 / 255)
    request = interpret("it's blurry and grainy, fix both")
    result = restore(blurred, request, plan=network_plan(request))
    assert [step.restorer for step in result.steps] == ["network"]
    assert result.metadata["defocus"][0] in ("disk", "soft")
    assert psnr(result.pixels, sharp) > psnr(blurred, sharp) + 1.0


def test_other_tasks_never_look_for_a_disk(sharp: np.ndarray) -> None:
    result = restore(camera(sharp, defocus_kernel(3.0)), "remove the noise")
    assert "defocus" not in result.metadata
    assert not any("blur" in finding for finding in result.findings)


def test_the_cli_says_per_photo_what_it_found(
    sharp: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import EXIT_OK, main
    from tests.conftest import save_rgb

    folder = tmp_path / "in"
    folder.mkdir()
    save_rgb(folder / "soft.png", camera(sharp, defocus_kernel(3.0)))
    save_rgb(folder / "crisp.png", sharp)
    prompt = ["--prompt", "it's out of focus"]
    assert main(["restore", str(folder), *prompt, "--output", str(tmp_path / "out")]) == EXIT_OK
    err = capsys.readouterr().err
    assert "soft.png: Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it." in err
    assert "crisp.png: Found neither an even out-of-focus blur nor a camera shake to undo" in err
    assert main(["restore", str(folder), *prompt, "--output", str(tmp_path / "json"), "--json"]) == EXIT_OK
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    done = {Path(r["path"]).name: r["findings"] for r in rows if r.get("event") == "done"}
    assert done["soft.png"] == ["Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it."]
    assert len(done["crisp.png"]) == 1


def test_the_batch_report_keeps_the_findings_per_photo(sharp: np.ndarray, tmp_path: Path) -> None:
    from engine.batch import run_batch
    from engine.instructions import interpret
    from tests.conftest import save_rgb

    soft = save_rgb(tmp_path / "soft.png", camera(sharp, defocus_kernel(3.0)))
    report = run_batch([soft], interpret("it's out of focus"), tmp_path / "out")
    assert [item.source for item in report.done] == [soft]
    assert report.findings == {
        soft: ("Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it.",)
    }
    assert run_batch([soft], interpret("remove the haze"), tmp_path / "plain").findings == {}  # the network


def test_a_grainy_defocused_photo_loses_its_grain_before_its_blur(sharp: np.ndarray) -> None:
    grainy = camera(sharp, defocus_kernel(3.0), sigma=6 / 255)
    assert is_grainy(grainy) and not is_grainy(camera(sharp, defocus_kernel(3.0)))
    result = restore(grainy, "it's out of focus")
    (finding,) = result.findings
    assert finding.endswith("It was grainy too, so the grain was removed first.")
    assert result.metadata["defocus"][0] in ("disk", "soft")
    # Deconvolving the grain directly amplifies it: the network first does better.
    direct = undo_blur(grainy, estimate_defocus(grainy))
    assert psnr(result.pixels, sharp) > psnr(direct, sharp) + 0.3


def test_photomend_blur_reports_the_even_blur_restore_would_undo(
    sharp: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import EXIT_OK, main
    from tests.conftest import save_rgb

    soft = save_rgb(tmp_path / "soft.png", camera(sharp, defocus_kernel(3.0)))
    crisp = save_rgb(tmp_path / "crisp.png", sharp)
    assert main(["blur", str(soft), str(crisp), "--json"]) == EXIT_OK
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rows[0]["even_blur"] == {"shape": "disk", "size_px": 3.0}
    assert rows[1]["even_blur"] is None
    assert main(["blur", str(soft)]) == EXIT_OK
    assert (
        "an even out-of-focus blur (a disk of radius 3.00 px), which restore can undo"
        in capsys.readouterr().out
    )


def test_an_empty_prompt_on_a_defocused_photo_detects_and_undoes_the_blur() -> None:
    photo = np.asarray(Image.open(DATA / "path_1200.jpg").convert("RGB"), np.float32) / 255.0
    soft = camera(photo, defocus_kernel(3.0))
    result = restore(soft, "")
    assert result.auto_detected and result.interpretation.tasks == ("deblur",)
    assert result.findings == ("Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it.",)
    assert psnr(result.pixels, photo) > psnr(soft, photo) + 2.0  # measured 25.7 -> 28.4 dB
