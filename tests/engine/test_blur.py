"""engine.blur: sharp vs blurred, motion vs defocus, blur map, heat map PNG, folder cull, scale invariance."""

from __future__ import annotations

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


def test_score_stable_when_the_same_picture_has_twice_the_pixels() -> None:
    big = natural_image(512, 640, seed=5)
    half = cv2.resize(big, (320, 256), interpolation=cv2.INTER_AREA)
    big_report, half_report = analyze_blur(big), analyze_blur(half)
    assert abs(big_report.score - half_report.score) < 12
    assert big_report.blurry == half_report.blurry is False
    # The same relative blur: above the working size both are analysed at one resolution, so a soft
    # picture scores the same however many pixels it has (below it, the smaller copy is crisper per pixel).
    soft_big = apply_kernel(big, defocus_kernel(2.0))
    soft_half = cv2.resize(soft_big, (320, 256), interpolation=cv2.INTER_AREA)
    soft_big_score = analyze_blur(soft_big, working_side=160).score
    assert 0 < soft_big_score < 100
    assert abs(soft_big_score - analyze_blur(soft_half, working_side=160).score) < 2


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
