"""engine.blur: sharp vs blurred, motion vs defocus, subject on bokeh, blur map, heat map PNG, folder cull."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.blur import (
    BLURRY_THRESHOLD,
    analyze_blur,
    blur_heatmap,
    cull_folder,
    save_blur_map_png,
)
from engine.blur.heatmap import HATCH_DARK, HATCH_LIGHT
from engine.progress import CancelToken
from training.degradations import apply_kernel, defocus_kernel, motion_kernel


def natural_image(height: int, width: int, seed: int) -> np.ndarray:
    """Photo-like texture: 1/f amplitude spectrum (as natural scenes have), hard-edged shapes, faint noise."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / max(height, width))
    base = np.real(np.fft.ifft2(amplitude * np.exp(2j * np.pi * rng.random((height, width)))))
    base = (base - base.mean()) / base.std()
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = 0.5 + 0.12 * base * rng.uniform(0.7, 1.2)
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(25):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        r = rng.uniform(0.03, 0.15) * min(height, width)
        if rng.random() < 0.5:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        else:
            mask = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < 1.6 * r)
        img[mask] = img[mask] * 0.5 + rng.uniform(0.1, 0.9, 3).astype(np.float32) * 0.5
    img += rng.normal(0.0, 0.005, img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0)


def line_kernel(length: int, angle_deg: float) -> np.ndarray:
    """A straight motion streak at angle_deg (counter-clockwise on screen)."""
    kernel = np.zeros((length, length), np.float32)
    centre = length // 2
    for t in np.linspace(-centre, centre, 8 * length):
        x = centre + t * np.cos(np.radians(angle_deg))
        y = centre - t * np.sin(np.radians(angle_deg))
        kernel[int(round(y)), int(round(x))] += 1.0
    return kernel / kernel.sum()


#: The subject's semi-axes as fractions of the frame's height and width: an ellipse over a fifth of it.
SUBJECT_AXES = (0.28, 0.22)


def in_ellipse(yy: np.ndarray, xx: np.ndarray, height: int, width: int, margin: float = 0.0) -> np.ndarray:
    """Whether points lie inside the subject's ellipse grown (or, margin < 0, shrunk) by `margin` px."""
    ry, rx = SUBJECT_AXES[0] * height + margin, SUBJECT_AXES[1] * width + margin
    return ((yy - height / 2) / ry) ** 2 + ((xx - width / 2) / rx) ** 2 < 1


def subject_mask(height: int, width: int) -> np.ndarray:
    """A centred, feathered ellipse (SUBJECT_AXES): the subject a portrait keeps in focus."""
    yy, xx = np.mgrid[0:height, 0:width]
    inside = in_ellipse(yy, xx, height, width)
    return cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.5)[..., None]


def on_bokeh(img: np.ndarray, radius: float = 8.0) -> np.ndarray:
    """The photo's subject (subject_mask) kept sharp, the rest out of focus (a lens disk of `radius`)."""
    mask = subject_mask(*img.shape[:2])
    return mask * img + (1.0 - mask) * apply_kernel(img, defocus_kernel(radius))


def shortened(kernel: np.ndarray, factor: float) -> np.ndarray:
    """The same shake path at `factor` of its length."""
    side = max(1, round(kernel.shape[0] * factor)) | 1
    small = cv2.resize(kernel, (side, side), interpolation=cv2.INTER_AREA)
    return small / small.sum()


def save_png(path: Path, img: np.ndarray) -> Path:
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return natural_image(192, 256, seed=11)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharp_photo_is_sharp(seed: int) -> None:
    report = analyze_blur(natural_image(192, 256, seed))
    assert not report.blurry
    assert report.kind == "sharp"
    assert report.score > BLURRY_THRESHOLD + 20
    assert report.motion_angle is None


@pytest.mark.parametrize(
    ("kind", "kernel"),
    [
        ("motion", motion_kernel(np.random.default_rng(3), 15, 0.1)),
        ("motion", motion_kernel(np.random.default_rng(4), 21, 0.3)),
        ("motion", line_kernel(11, 45.0)),
        ("defocus", defocus_kernel(2.5)),
        ("defocus", defocus_kernel(5.0)),
    ],
)
def test_blurred_photo_is_blurry_with_its_kind(photo: np.ndarray, kind: str, kernel: np.ndarray) -> None:
    sharp = analyze_blur(photo)
    report = analyze_blur(apply_kernel(photo, kernel))
    assert report.blurry
    assert report.kind == kind
    assert report.score < sharp.score - 30
    assert (report.motion_angle is not None) == (kind == "motion")


@pytest.mark.parametrize("angle", [0.0, 60.0, 90.0, 135.0])
def test_motion_angle_follows_the_streak(photo: np.ndarray, angle: float) -> None:
    report = analyze_blur(apply_kernel(photo, line_kernel(15, angle)))
    assert report.kind == "motion"
    assert report.motion_angle is not None
    difference = abs(report.motion_angle - angle) % 180.0
    assert min(difference, 180.0 - difference) < 10.0


def test_noise_does_not_pass_for_detail(photo: np.ndarray) -> None:
    blurred = apply_kernel(photo, defocus_kernel(4.0))
    noisy = np.clip(blurred + np.random.default_rng(0).normal(0, 0.01, blurred.shape), 0, 1).astype(
        np.float32
    )
    assert analyze_blur(noisy).blurry
    assert analyze_blur(noisy).noise_sigma > analyze_blur(blurred).noise_sigma


def test_threshold_override(photo: np.ndarray) -> None:
    report = analyze_blur(photo, threshold=101.0)
    assert report.blurry and report.threshold == 101.0


def test_blur_map_shape_and_blurrier_half(photo: np.ndarray) -> None:
    half = photo.copy()
    half[:, :128] = apply_kernel(photo, defocus_kernel(4.0))[:, :128]
    report = analyze_blur(half)
    rows, cols = report.blur_map.shape
    assert report.blur_map.dtype == np.float32
    # The grid covers the whole photo: cells * patch size >= each side, with less than one cell spare.
    assert rows * report.patch_size >= 192 > (rows - 1) * report.patch_size
    assert cols * report.patch_size >= 256 > (cols - 1) * report.patch_size
    left = np.nanmean(report.blur_map[:, : cols // 2 - 1])
    right = np.nanmean(report.blur_map[:, cols // 2 + 1 :])
    assert left < right - 30
    # A sharp subject in front of a soft background is a sharp photo.
    assert not report.blurry


def test_featureless_patches_are_nan_and_flat_photo_is_blurry() -> None:
    flat = np.full((128, 128, 3), 0.5, np.float32)
    report = analyze_blur(flat)
    assert np.isnan(report.blur_map).all()
    assert report.blurry and report.score == 0.0


@pytest.mark.parametrize("shape", [(4, 4, 3), (0, 0, 3), (10, 10, 2), (2, 10, 10, 3)])
def test_unusable_input_raises_value_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        analyze_blur(np.zeros(shape, np.float32))


def test_judged_at_full_resolution_where_a_slight_blur_shows() -> None:
    # People cull at 100 %: a 2 px defocus of a big photo is a blurred photo, although the same picture
    # reduced to half size looks sharp; and a sharp picture stays sharp at every size.
    big = natural_image(768, 1152, seed=5)
    half = cv2.resize(big, (576, 384), interpolation=cv2.INTER_AREA)
    assert not analyze_blur(big).blurry and not analyze_blur(half).blurry
    soft = apply_kernel(big, defocus_kernel(2.0))
    assert analyze_blur(soft).blurry
    assert not analyze_blur(cv2.resize(soft, (288, 192), interpolation=cv2.INTER_AREA)).blurry
    # working_side reduces a photo before it is judged (a 60 MP scan is judged as 45 MP).
    assert not analyze_blur(soft, working_side=288).blurry


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharp_subject_on_bokeh_is_sharp_and_its_background_out_of_focus(seed: int) -> None:
    img = on_bokeh(natural_image(288, 384, seed))
    report = analyze_blur(img)
    assert not report.blurry and report.kind == "sharp"
    assert report.background_out_of_focus
    assert report.verdict() == "sharp subject, background out of focus"
    rows, cols = report.blur_map.shape
    yy = (np.arange(rows)[:, None] + 0.5) * report.patch_size  # map cell centres
    xx = (np.arange(cols)[None, :] + 0.5) * report.patch_size
    inside = in_ellipse(yy, xx, 288, 384, margin=-24)
    # Cells further than 2 cells from the subject (each is judged with its neighbours).
    outside = ~in_ellipse(yy, xx, 288, 384, margin=64)
    background = report.blur_map[outside]
    assert np.isfinite(background).mean() > 0.8  # out of focus is judged, not left out
    assert np.mean(background[np.isfinite(background)] < BLURRY_THRESHOLD) > 0.9
    assert np.nanmedian(report.blur_map[inside]) > BLURRY_THRESHOLD
    # The heat map colours the background and leaves the subject clear.
    rgba = blur_heatmap(report)
    mask = subject_mask(288, 384)[..., 0]
    assert rgba[..., 3][mask < 0.01].mean() > rgba[..., 3][mask > 0.99].mean() + 60


def test_flat_area_is_not_judgeable_and_hatched_in_the_map() -> None:
    img = natural_image(192, 384, seed=4)
    img[:, 192:] = 0.6 + np.random.default_rng(0).normal(0.0, 0.004, (192, 192, 3)).astype(np.float32)
    report = analyze_blur(img)
    cols = report.blur_map.shape[1]
    assert np.isnan(report.blur_map[:, cols // 2 + 1 :]).all()  # the flat half (but its edge): not judgeable
    assert np.isfinite(report.blur_map[:, : cols // 2 - 1]).all()
    assert not report.blurry
    rgba = blur_heatmap(report).astype(int)
    flat, detailed = rgba[:, 224:], rgba[:, :160]
    hatched = flat[flat[..., 3] > 0]
    assert 0.1 < len(hatched) / flat[..., 0].size < 0.4  # thin lines, the photo visible between them
    greys = [list(HATCH_LIGHT), list(HATCH_DARK)]
    assert all(list(px[:3]) in greys for px in hatched)  # neutral greys: neither the blurry colour nor clear
    assert (flat[..., 3] == 0).mean() > 0.5
    assert detailed[..., 3].mean() < 10  # the sharp half stays clear


@pytest.mark.parametrize(
    ("kind", "kernel"),
    [
        ("motion", motion_kernel(np.random.default_rng(7), 5, 0.3)),  # a 5 px shake
        ("motion", shortened(motion_kernel(np.random.default_rng(8), 9, 0.5), 0.6)),  # a 9 px path at 60 %
        ("motion", line_kernel(5, 120.0)),
        ("defocus", defocus_kernel(2.0)),
        ("defocus", cv2.getGaussianKernel(9, 1.0) @ cv2.getGaussianKernel(9, 1.0).T),  # a slight soft blur
    ],
)
def test_slight_blur_is_flagged_with_its_kind(photo: np.ndarray, kind: str, kernel: np.ndarray) -> None:
    report = analyze_blur(apply_kernel(photo, kernel.astype(np.float32)))
    assert report.blurry and report.kind == kind
    assert report.verdict() == ("blurry (camera shake)" if kind == "motion" else "blurry (out of focus)")


def test_the_verdict_never_calls_a_photo_sharp_and_blurred_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli import main

    photos = {
        "sharp": natural_image(192, 256, seed=31),
        "portrait": on_bokeh(natural_image(288, 384, seed=32)),
        "soft": apply_kernel(natural_image(192, 256, seed=33), defocus_kernel(3.0)),
        "shaky": apply_kernel(natural_image(192, 256, seed=34), line_kernel(11, 30.0)),
    }
    for name, img in photos.items():
        save_png(tmp_path / f"{name}.png", img)
    assert main(["blur", *(str(tmp_path / f"{name}.png") for name in photos)]) == 0
    lines = {
        Path(line.split(":")[0]).stem: line.split(" — ")[1] for line in capsys.readouterr().out.splitlines()
    }
    assert lines["sharp"] == "sharp"
    assert lines["portrait"] == "sharp subject, background out of focus"  # no blur named beside "sharp"
    assert lines["soft"].startswith("blurry (out of focus)")
    assert lines["shaky"] == "blurry (camera shake)"
    assert main(["blur", "--json", *(str(tmp_path / f"{name}.png") for name in photos)]) == 0
    for row in map(json.loads, capsys.readouterr().out.splitlines()):
        assert row["verdict"].startswith("blurry") == row["blurry"]
        assert row["blurry"] or row["even_blur"] is None  # an even blur is named only for a blurred photo


@pytest.mark.parametrize("sigma", [0.03, 0.06])
def test_a_sharp_photo_denoised_stays_sharp(sigma: float) -> None:
    from engine.pipeline import restore

    clean = natural_image(192, 256, seed=3)
    grainy = np.clip(clean + np.random.default_rng(3).normal(0.0, sigma, clean.shape), 0.0, 1.0).astype(
        np.float32
    )
    assert not analyze_blur(grainy).blurry  # grain is not detail, but it does not hide a sharp subject either
    denoised = restore(grainy, "remove the noise").pixels
    report = analyze_blur(denoised)
    assert not report.blurry and report.kind == "sharp"


def test_heatmap_is_warm_and_translucent_over_the_blurry_half(photo: np.ndarray) -> None:
    half = photo.copy()
    half[:, :128] = apply_kernel(photo, defocus_kernel(5.0))[:, :128]
    report = analyze_blur(half)
    rgba = blur_heatmap(report, 128, 96)
    assert rgba.shape == (96, 128, 4) and rgba.dtype == np.uint8
    left, right = rgba[:, :48], rgba[:, 80:]
    assert left[..., 3].mean() > right[..., 3].mean() + 50
    assert left[..., 3].max() < 255  # translucent: the photo stays visible
    warm = left[left[..., 3] > 0]
    assert (warm[:, 0] >= warm[:, 2]).all()  # red over blue
    assert blur_heatmap(report).shape == (192, 256, 4)


def test_save_blur_map_png_writes_rgba_atomically(tmp_path: Path, photo: np.ndarray) -> None:
    report = analyze_blur(apply_kernel(photo, defocus_kernel(3.0)))
    target = save_blur_map_png(report, tmp_path / "maps" / "photo.blurmap.png", 256, 192)
    with Image.open(target) as png:
        assert png.format == "PNG" and png.mode == "RGBA" and png.size == (256, 192)
        assert np.asarray(png)[..., 3].max() > 0
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["photo.blurmap.png"]  # no temp file left


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    """A folder of two sharp shots, two blurred ones, a broken JPEG and a text file."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    save_png(folder / "sharp1.png", natural_image(160, 200, seed=21))
    save_png(folder / "sharp2.png", natural_image(160, 200, seed=22))
    save_png(folder / "shaky.png", apply_kernel(natural_image(160, 200, seed=23), line_kernel(15, 20.0)))
    save_png(folder / "soft.png", apply_kernel(natural_image(160, 200, seed=24), defocus_kernel(4.0)))
    (folder / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole JPEG")
    (folder / "notes.txt").write_text("shot list")
    return folder


def test_cull_ranks_without_touching_files(shoot: Path) -> None:
    before = sorted(p.name for p in shoot.iterdir())
    report = cull_folder(shoot, action="none")
    assert {e.path.name for e in report.ranked[:2]} == {"sharp1.png", "sharp2.png"}
    scores = [e.report.score for e in report.ranked]
    assert scores == sorted(scores, reverse=True)
    assert {e.path.name for e in report.blurry} == {"shaky.png", "soft.png"}
    assert all(e.destination is None for e in report.ranked)
    assert sorted(p.name for p in shoot.iterdir()) == before
    assert [(p.name, "junk.jpg" in reason) for p, reason in report.failed] == [("junk.jpg", True)]
    assert [p.name for p, _ in report.ignored] == ["notes.txt"]


def test_cull_copy_keeps_originals_and_never_overwrites(shoot: Path) -> None:
    existing = shoot / "blurry"
    existing.mkdir()
    (existing / "soft.png").write_bytes(b"an earlier file with the same name")
    progress: list[float] = []
    report = cull_folder(shoot, action="copy", progress=lambda f, _s: progress.append(f))
    assert (existing / "soft.png").read_bytes() == b"an earlier file with the same name"
    copies = {e.path.name: e.destination for e in report.blurry}
    assert copies["soft.png"] == existing / "soft-1.png"
    assert copies["shaky.png"] == existing / "shaky.png"
    for name, destination in copies.items():
        assert destination is not None
        assert destination.read_bytes() == (shoot / name).read_bytes()  # original still there
    assert sorted(p.name for p in existing.iterdir()) == ["shaky.png", "soft-1.png", "soft.png"]
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_cull_move_puts_blurry_shots_aside(shoot: Path) -> None:
    data = {name: (shoot / name).read_bytes() for name in ("shaky.png", "soft.png")}
    report = cull_folder(shoot, action="move", subfolder="rejects")
    assert not (shoot / "shaky.png").exists() and not (shoot / "soft.png").exists()
    for name, content in data.items():
        assert (shoot / "rejects" / name).read_bytes() == content
    assert (shoot / "sharp1.png").exists() and (shoot / "sharp2.png").exists()
    assert (shoot / "junk.jpg").exists() and (shoot / "notes.txt").exists()  # bad files are left alone
    assert len(report.failed) == 1


def test_cull_threshold_override_and_cancel(shoot: Path) -> None:
    assert not cull_folder(shoot, threshold=0.0).blurry
    token = CancelToken()
    token.cancel()
    report = cull_folder(shoot, action="move", cancel=token)
    assert report.cancelled and not report.ranked
    assert not (shoot / "blurry").exists()


@pytest.mark.parametrize(
    ("kwargs", "error"), [({"action": "delete"}, ValueError), ({"subfolder": "../x"}, ValueError)]
)
def test_cull_rejects_bad_arguments(shoot: Path, kwargs: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        cull_folder(shoot, **kwargs)


# The kernels come from training.degradations (numpy/OpenCV only); the calibration relies on their shape.


@pytest.mark.parametrize(("size", "intensity"), [(9, 0.0), (14, 0.5), (25, 1.0)])
def test_motion_kernel_is_normalised_odd_and_centred(size: int, intensity: float) -> None:
    kernel = motion_kernel(np.random.default_rng(size), size, intensity)
    side = size if size % 2 else size + 1
    assert kernel.shape == (side, side) and kernel.dtype == np.float32
    assert kernel.min() >= 0 and abs(float(kernel.sum()) - 1.0) < 1e-5
    yy, xx = np.mgrid[0:side, 0:side]
    centre = (side - 1) / 2
    assert abs(float((kernel * xx).sum()) - centre) < 0.5 and abs(float((kernel * yy).sum()) - centre) < 0.5
    assert (kernel > 1e-3).sum() >= side  # a streak, not a dot


def test_straight_motion_kernel_is_a_line() -> None:
    kernel = motion_kernel(np.random.default_rng(0), 15, 0.0)
    ys, xs = np.nonzero(kernel > 1e-4)
    weights = kernel[ys, xs]
    cov = np.cov(np.stack([xs, ys]), aweights=weights)
    eigen = np.linalg.eigvalsh(cov)
    assert eigen[0] < 0.1 * eigen[1]


@pytest.mark.parametrize("radius", [1.0, 2.3, 2.7, 6.0])
def test_defocus_kernel_is_a_symmetric_disk(radius: float) -> None:
    kernel = defocus_kernel(radius)
    assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
    assert abs(float(kernel.sum()) - 1.0) < 1e-5
    np.testing.assert_allclose(kernel, kernel.T, atol=1e-7)
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-7)
    yy, xx = np.mgrid[0 : kernel.shape[0], 0 : kernel.shape[1]] - kernel.shape[0] // 2
    assert kernel[np.hypot(xx, yy) > radius + 0.75].sum() == 0  # nothing outside the anti-aliased rim
    assert (kernel > 0).sum() > np.pi * (radius - 0.5) ** 2


def test_apply_kernel_keeps_shape_and_flat_images() -> None:
    flat = np.full((20, 30, 3), 0.25, np.float32)
    out = apply_kernel(flat, motion_kernel(np.random.default_rng(1), 9, 0.4))
    assert out.shape == flat.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, flat, atol=1e-6)
    impulse = np.zeros((21, 21), np.float32)
    impulse[10, 10] = 1.0
    kernel = line_kernel(7, 0.0)
    kernel[3, 6] += 0.5  # make it asymmetric: apply_kernel must convolve, not correlate
    kernel /= kernel.sum()
    np.testing.assert_allclose(apply_kernel(impulse, kernel)[7:14, 7:14], kernel, atol=1e-6)
