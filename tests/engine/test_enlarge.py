"""Enlarging: the super-resolution restorer's tiles blend to its untiled output, it comes last in a plan,
an exact size is reached, and an output too large to make is refused before any step runs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import engine.restorers.enlarge as enlarge_module
from engine.errors import TooLargeError
from engine.instructions import Interpretation, interpret
from engine.pipeline import make_plan, restore
from engine.pipeline.restore import blend
from engine.restorers.enlarge import enlarge, plan_enlargement
from tests.conftest import textured_image


def asking(tasks: tuple[str, ...], scale: int = 2, target: tuple[str, int] | None = None) -> Interpretation:
    """An understood request for `tasks` (the words are the network's conditioning for its own steps)."""
    base = replace(interpret("remove the noise"), tasks=tasks)
    fields = {"scale": scale, "target": target} if hasattr(base, "scale") else {}
    return replace(base, **fields)


@pytest.mark.parametrize("scale", [2, 4])
def test_tiles_blend_to_the_untiled_enlargement(scale: int) -> None:
    pixels = textured_image(70, 90, seed=scale)
    whole = enlarge(pixels, scale, tile_size=4096)
    tiled = enlarge(pixels, scale, tile_size=112)
    assert whole.shape == (70 * scale, 90 * scale, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_enlarging_comes_last_in_a_plan() -> None:
    steps = make_plan(asking(("upscale", "denoise", "jpeg"))).steps
    assert [step.faults for step in steps][-1] == ("upscale",)
    assert [r.name for r in steps[-1].restorers] == ["enlarge"]
    assert "super-resolution" in steps[-1].method and "else" not in steps[-1].method


def test_a_restore_that_enlarges_reports_the_size_and_blends_at_the_new_size() -> None:
    pixels = textured_image(48, 64, seed=1)
    result = restore(pixels, asking(("upscale",)))
    assert result.restored.shape == (96, 128, 3)
    assert result.original.shape == pixels.shape  # the photo as it was given
    assert [report.restorer for report in result.steps] == ["enlarge"]
    assert "to 128×96" in result.steps[0].findings[0]
    assert result.metadata["scale"] == 2.0
    half = blend(result.original, result.restored, 0.5)
    assert half.shape == result.restored.shape
    # Half way between the bicubic enlargement of the original and the network's.
    assert (
        0
        < np.abs(half - result.restored).mean()
        < np.abs(blend(result.original, result.restored, 0.0) - result.restored).mean()
    )


def test_a_target_size_picks_the_smaller_scale_that_reaches_it_and_is_met_exactly() -> None:
    assert plan_enlargement((1000, 1500), 2, ("width", 2400)).scale == 2
    wide = plan_enlargement((1000, 1500), 2, ("width", 6000))
    assert (wide.scale, wide.size, wide.note) == (4, (4000, 6000), "")
    huge = plan_enlargement((100, 150), 2, ("long", 1500))
    assert huge.scale == 4 and huge.size == (1000, 1500) and "resampling" in huge.note
    with pytest.raises(TooLargeError, match="resize, not a restoration"):
        plan_enlargement((1000, 1500), 2, ("width", 1200))
    pixels = textured_image(30, 40, seed=2)
    result = restore(pixels, asking(("upscale",), target=("width", 100)))
    if hasattr(result.interpretation, "target"):
        assert result.restored.shape == (75, 100, 3)


def test_an_output_too_large_is_refused_before_any_step_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enlarge_module, "MAX_OUTPUT_PIXELS", 10_000)
    stages: list[str] = []
    with pytest.raises(TooLargeError, match="PhotoMend makes photos of up to"):
        restore(
            textured_image(64, 64), asking(("denoise", "upscale")), progress=lambda f, s: stages.append(s)
        )
    assert stages == ["understanding the instruction"]  # the grain step never started


def test_an_enlarged_photo_keeps_bit_depth_alpha_and_icc_and_its_exif_states_the_new_size(tmp_path) -> None:
    from PIL import Image, ImageCms

    from engine.io import read_photo, write_photo

    rng = np.random.default_rng(3)
    rgba = (rng.random((24, 32, 4)) * 65535).astype(np.uint16)
    rgba[..., 3] = np.linspace(0, 65535, 32, dtype=np.uint16)[None, :]
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "PhotoMend test camera"
    exif.get_ifd(0x8769).update({0xA002: 32, 0xA003: 24})
    source = tmp_path / "small.png"
    from engine.io.encoders import write_png

    with source.open("wb") as handle:
        write_png(handle, rgba, icc_profile=icc, exif=exif.tobytes(), compress_level=1)
    photo = read_photo(source)
    result = restore(photo, asking(("upscale",)))
    out = tmp_path / "big.png"
    write_photo(photo.with_pixels(result.pixels), out)
    back = read_photo(out)
    assert back.pixels.shape == (48, 64, 3) and back.bit_depth == 16
    assert back.alpha is not None and back.alpha.shape == (48, 64)
    assert back.alpha[:, 0].max() < 0.05 and back.alpha[:, -1].min() > 0.95  # the ramp, enlarged
    assert back.icc_profile == icc
    stated = Image.open(out).getexif()
    assert stated[0x010F] == "PhotoMend test camera"
    assert stated.get_ifd(0x8769)[0xA002] == 64 and stated.get_ifd(0x8769)[0xA003] == 48


def test_the_cli_enlarges_a_photo_asked_in_words_and_keeps_the_name(tmp_path) -> None:
    import json as json_module
    import subprocess
    import sys

    from tests.conftest import save_rgb

    source = save_rgb(tmp_path / "small.jpg", textured_image(40, 56, seed=4), quality=95)
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "restore",
            str(source),
            "--prompt",
            "make it twice as big",
            "--output",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    events = [json_module.loads(line) for line in run.stdout.splitlines()]
    assert events[0]["event"] == "interpretation" and events[0]["tasks"] == ["upscale"]
    done = next(e for e in events if e.get("event") == "done")
    assert done["steps"][0]["restorer"] == "enlarge"
    from engine.io import read_photo

    assert read_photo(out / "small.jpg").pixels.shape == (80, 112, 3)
    assert read_photo(source).pixels.shape == (40, 56, 3)  # the original untouched
