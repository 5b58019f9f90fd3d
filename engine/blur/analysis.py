"""Sharpness score, per-patch blur map and motion/defocus verdict of one photo (numpy + OpenCV only).

Seed: "Image Classification of Blurred Images Without Deblurring" (variance of the Laplacian per patch,
then a threshold). That raw variance depends on contrast, content and resolution, so this module
measures instead how much gradient energy survives at the finest scale *relative to the next coarser
scale*, direction by direction:

* The photo is reduced to a fixed working size (long side WORKING_SIDE) so a 48 MP file is as fast as a
  1 MP one and the verdict means "blurry at screen size", whatever the camera's resolution.
* A two-level pyramid (INTER_AREA halving) gives gradient structure tensors J0 (working scale) and J1
  (half scale) per patch. Natural photos are statistically scale-invariant, so for a sharp photo
  J0 ~ J1 in every direction whatever its contrast or subject; blur removes the fine octave, so J0
  shrinks relative to J1 (the ratio tends to 1/4 for a completely smooth patch).
* The generalised eigenvalues of (J0, J1) are the fine/coarse energy ratios along the least and most
  damped directions. The smaller one is the sharpness: it also catches motion blur, which damps one
  direction only. Their ratio (anisotropy) tells motion (one direction damped) from defocus
  (all directions damped alike); the least-damped eigenvector gives the streak direction.
* Sensor noise adds fine-scale energy that looks like detail; its level is estimated (Immerkaer's
  operator on the flattest blocks) and its expected share is taken off both tensors.
* Featureless patches (sky, walls) say nothing about focus and are left out (NaN in the map); the
  global score pools the sharpest POOL_FRACTION of the textured patches, because a photo with a sharp
  subject in front of a soft background is a sharp photo. The kind pools all textured patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from engine.errors import PhotoMendError

BlurKind = Literal["sharp", "motion", "defocus"]

#: Long side (px) the photo is reduced to before analysis; smaller photos are analysed as they are.
WORKING_SIDE = 1024
#: Fewest pixels on a side that sharpness can be judged on (one 4 x 4 patch and its half-scale twin).
MIN_SIDE = 8
#: Patch side (px at working size) of the blur map on photos whose short side is >= 256 px.
PATCH_SIDE = 32
#: Mean squared gradient (per half-scale pixel, [0,1] luminance) below which a patch counts as featureless.
TEXTURE_FLOOR = 4e-4
#: Fraction of the textured patches, the sharpest ones, whose tensors are pooled for the global score.
POOL_FRACTION = 0.5

# Calibrated constants (bench/blur_accuracy.py --calibrate re-derives them). Calibration set: 108 BSD
# photos (every 4th of /work/shared/data/bsd432) and the 40 photos of /work/shared/data/photos resized
# to a random long side in 400..1024, each kept sharp, motion-blurred (motion_kernel, length 9..25,
# intensity 0..1) and defocused (defocus_kernel, radius 2..6), then Gaussian noise sigma 0..0.01 and 8-bit
# rounding; seed 7. Each threshold maximises balanced accuracy on that set (sharp vs blurred: 94.0%;
# motion vs defocus: 91.2% -- some "sharp" wallpapers there are soft by design, so these are lower bounds).
#: Score (0..100) below which a photo is blurry.
BLURRY_THRESHOLD = 46.2
#: Anisotropy (ratio of the most to the least damped direction's energy ratio) above which blur is motion.
MOTION_ANISOTROPY = 1.062

#: Gradient-energy ratio of a featureless (infinitely blurred) patch between two pyramid levels: score 0.
_RATIO_FLOOR = 0.25
#: Ratio of a crisp natural photo (1/f^2 spectrum: equal energy per octave): score 100.
_RATIO_CRISP = 1.0
# Variance gain that makes the 10th-percentile noise estimate unbiased: median of (true / estimated)
# variance over 54 BSD photos (every 8th from the 2nd), defocused (radius 2..6) with noise sigma
# 0.01/0.02/0.03 added: 1.59.
_NOISE_GAIN = 1.6
_LUMA_WEIGHTS = np.array([[0.299, 0.587, 0.114]], np.float32)


class TooSmallToJudge(PhotoMendError, ValueError):
    """A photo with a side under MIN_SIDE pixels: there is no detail to judge sharpness on.

    A PhotoMendError, so every face reports it in one line; a ValueError, as unusable arrays were before.
    """

    def __init__(self, width: int, height: int) -> None:
        super().__init__(
            f"too small to judge sharpness: {width}x{height} pixels (at least {MIN_SIDE} on each side)"
        )


@dataclass(frozen=True)
class BlurReport:
    """Everything analyze_blur found; `score` and `blur_map` are in 0..100, higher is sharper."""

    score: float
    blurry: bool
    kind: BlurKind
    blur_map: np.ndarray = field(repr=False)  # (rows, cols) float32 sharpness per patch; NaN = featureless
    patch_size: int  # side of one map cell in pixels of the analysed photo (rounded)
    threshold: float  # the score threshold that was applied
    anisotropy: float  # >= 1: how much more one direction is damped than the other
    motion_angle: float | None  # streak direction in degrees (0 = horizontal, counter-clockwise), motion only
    noise_sigma: float  # estimated luminance noise at working size, [0, 1] units
    image_size: tuple[int, int]  # (width, height) of the analysed photo
    map_extent: tuple[float, float]  # (width, height) in photo pixels covered by the map grid (>= image_size)
    textured_fraction: float  # share of patches with enough detail to judge

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (without the map)."""
        return {
            "score": round(self.score, 2),
            "blurry": self.blurry,
            "kind": self.kind,
            "anisotropy": round(self.anisotropy, 3),
            "motion_angle": None if self.motion_angle is None else round(self.motion_angle, 1),
            "noise_sigma": round(self.noise_sigma, 5),
            "textured_fraction": round(self.textured_fraction, 3),
        }


@dataclass(frozen=True)
class BlurFeatures:
    """The measured quantities behind a BlurReport, before any threshold (used by calibration)."""

    sharpness: float  # score 0..100 of the pooled tensors
    anisotropy: float
    motion_angle: float
    patch_scores: np.ndarray  # (rows, cols), NaN where featureless
    noise_sigma: float
    patch_side: int  # at working size
    scale: float  # working size / photo size
    working_shape: tuple[int, int]  # (h, w) of the working image before padding
    padded_shape: tuple[int, int]
    textured_fraction: float


def luminance(pixels: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an H x W x 3 float image (H x W passes through)."""
    img = np.asarray(pixels, np.float32)
    if img.ndim == 2:
        return img
    if img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f"expected H x W x 3 pixels, got shape {img.shape}")
    # cv2.transform is one threaded pass (3x faster than numpy's temporaries on a 48 MP photo).
    rgb = np.ascontiguousarray(img[..., :3])
    return cv2.transform(rgb, _LUMA_WEIGHTS).reshape(img.shape[:2])


def _patch_mean(values: np.ndarray, side: int) -> np.ndarray:
    """Mean over non-overlapping side x side blocks; the array's shape must be a multiple of side."""
    h, w = values.shape
    return values.reshape(h // side, side, w // side, side).mean(axis=(1, 3))


def _gradient_tensors(y: np.ndarray, side: int) -> np.ndarray:
    """Per-patch mean structure tensor (gxx, gxy, gyy) of central-difference gradients: (3, rows, cols)."""
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=1, scale=0.5, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=1, scale=0.5, borderType=cv2.BORDER_REFLECT)
    return np.stack([_patch_mean(gx * gx, side), _patch_mean(gx * gy, side), _patch_mean(gy * gy, side)])


def estimate_noise_sigma(y: np.ndarray) -> float:
    """Additive white noise level of a luminance image (Immerkaer's operator on the flattest 8x8 blocks).

    The operator cancels smooth image structure; texture still leaks in, so blocks are ranked and the
    10th percentile of their energy is used, times _NOISE_GAIN to undo that percentile's low bias.
    """
    if min(y.shape) < 10:
        return 0.0
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = cv2.filter2D(y, -1, mask, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    h, w = (response.shape[0] // 8) * 8, (response.shape[1] // 8) * 8
    energy = _patch_mean(response[:h, :w] ** 2, 8).ravel()
    return float(math.sqrt(_NOISE_GAIN * float(np.percentile(energy, 10)) / 36.0))


def _generalised_eigen(j0: np.ndarray, j1: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (min, max) of J1^-1 J0 for stacks of symmetric 2x2 tensors given as (3, ...) arrays.

    They are the extreme values over directions u of (u' J0 u) / (u' J1 u): the fine/coarse gradient
    energy ratio along the most and the least damped direction. Closed form, so fully vectorised.
    """
    a0, b0, d0 = j0[0] + eps, j0[1], j0[2] + eps
    a1, b1, d1 = j1[0] + eps, j1[1], j1[2] + eps
    det1 = np.maximum(a1 * d1 - b1 * b1, eps * eps)
    half_trace = 0.5 * (a0 * d1 + d0 * a1 - 2.0 * b0 * b1) / det1
    det = (a0 * d0 - b0 * b0) / det1
    root = np.sqrt(np.maximum(half_trace * half_trace - det, 0.0))
    return half_trace - root, half_trace + root


def _ratio_to_score(ratio: np.ndarray | float) -> np.ndarray:
    """Map an energy ratio onto 0 (featureless / fully blurred) .. 100 (crisp natural photo), log scale."""
    value = np.log(np.maximum(np.asarray(ratio, np.float64), 1e-6) / _RATIO_FLOOR)
    return np.clip(100.0 * value / math.log(_RATIO_CRISP / _RATIO_FLOOR), 0.0, 100.0)


def _patch_side_for(height: int, width: int) -> int:
    short = min(height, width)
    if short >= 8 * PATCH_SIDE:
        return PATCH_SIDE
    # Small photos (thumbnails, tests): smaller cells so the map still has a few rows; a multiple of 2.
    return max(4, min(PATCH_SIDE, 2 * (short // 16)))


def working_image(pixels: np.ndarray, working_side: int = WORKING_SIDE) -> tuple[np.ndarray, float]:
    """Luminance reduced (INTER_AREA) so its long side is at most working_side; returns (y, scale)."""
    y = luminance(pixels)
    h, w = y.shape
    scale = min(1.0, working_side / max(h, w, 1))
    # A long, thin photo (a 10000 x 20 panorama strip) is reduced no further than MIN_SIDE on its short
    # side, so that it can still be judged.
    scale = max(scale, min(1.0, MIN_SIDE / max(min(h, w), 1)))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        y = cv2.resize(y, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(y, np.float32), scale


def measure_blur(pixels: np.ndarray, *, working_side: int = WORKING_SIDE) -> BlurFeatures:
    """The threshold-free measurements of analyze_blur (exposed for calibration and the benchmark)."""
    y, scale = working_image(pixels, working_side)
    h, w = y.shape
    if h < MIN_SIDE or w < MIN_SIDE:
        height, width = np.asarray(pixels).shape[:2]
        raise TooSmallToJudge(width, height)
    side = _patch_side_for(h, w)
    sigma = estimate_noise_sigma(y)

    # Pad (mirror) to whole patches so the map covers every pixel and the half-scale grid lines up.
    ph, pw = -(-h // side) * side, -(-w // side) * side
    padded = cv2.copyMakeBorder(y, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT_101) if (ph, pw) != (h, w) else y
    half = cv2.resize(padded, (pw // 2, ph // 2), interpolation=cv2.INTER_AREA)
    j0 = _gradient_tensors(padded, side).astype(np.float64)
    j1 = _gradient_tensors(half, side // 2).astype(np.float64)
    # White noise of variance s^2 adds s^2/2 to each diagonal term of a central-difference tensor; the
    # half-scale image carries a quarter of the noise variance.
    for tensor, noise in ((j0, sigma * sigma / 2.0), (j1, sigma * sigma / 8.0)):
        tensor[0] = np.maximum(tensor[0] - noise, 0.0)
        tensor[2] = np.maximum(tensor[2] - noise, 0.0)

    textured = (j1[0] + j1[2]) > TEXTURE_FLOOR
    # Per-patch estimates are noisy; a 3x3 neighbourhood of tensors steadies them for the map.
    smooth0 = np.stack([cv2.blur(c, (3, 3), borderType=cv2.BORDER_REFLECT) for c in j0])
    smooth1 = np.stack([cv2.blur(c, (3, 3), borderType=cv2.BORDER_REFLECT) for c in j1])
    patch_min, _ = _generalised_eigen(smooth0, smooth1, 1e-6)
    patch_scores = _ratio_to_score(patch_min).astype(np.float32)

    if textured.sum() >= 2:
        candidates = textured
    else:
        # Hardly any detail: judge on the few most detailed patches rather than on nothing.
        energy = (j1[0] + j1[2]).ravel()
        keep = min(energy.size, 4)
        candidates = np.zeros(energy.size, bool)
        candidates[np.argsort(energy)[-keep:]] = True
        candidates = candidates.reshape(j1.shape[1:]) & ((j1[0] + j1[2]) > 1e-7)
    if candidates.any():
        cut = np.quantile(patch_scores[candidates], 1.0 - POOL_FRACTION)
        pool = candidates & (patch_scores >= cut)
        p0, p1 = j0[:, pool].sum(axis=1), j1[:, pool].sum(axis=1)
        lo, _ = _generalised_eigen(p0, p1, 1e-9 * pool.sum())
        sharpness = float(_ratio_to_score(lo))
        # The kind is read from every textured patch: camera shake smears the whole frame alike, and
        # more patches give a steadier direction than the sharpest few (whose pick favours noise).
        k0, k1 = j0[:, candidates].sum(axis=1), j1[:, candidates].sum(axis=1)
        k_lo, k_hi = _generalised_eigen(k0, k1, 1e-9 * candidates.sum())
        anisotropy = float(k_hi / max(float(k_lo), 1e-9))
        angle = _least_damped_normal(k0, k1, float(k_lo))
    else:  # a flat field: no detail at all, nothing is sharp
        sharpness, anisotropy, angle = 0.0, 1.0, 0.0
    patch_scores = np.where(textured, patch_scores, np.nan).astype(np.float32)
    return BlurFeatures(
        sharpness=sharpness,
        anisotropy=anisotropy,
        motion_angle=angle,
        patch_scores=patch_scores,
        noise_sigma=sigma,
        patch_side=side,
        scale=scale,
        working_shape=(h, w),
        padded_shape=(ph, pw),
        textured_fraction=float(textured.mean()),
    )


def _least_damped_normal(p0: np.ndarray, p1: np.ndarray, lam: float) -> float:
    """Direction (degrees, 0 = horizontal, counter-clockwise as seen) in which gradients were damped most.

    That is the motion streak's direction: a sweep along u flattens gradients along u. It is the
    eigenvector u of (J0 - lam J1) u = 0 for the smallest generalised eigenvalue lam.
    """
    a, b, d = p0[0] - lam * p1[0], p0[1] - lam * p1[1], p0[2] - lam * p1[2]
    # (J0 - lam J1) is singular: u is orthogonal to its larger row.
    row = (a, b) if abs(a) + abs(b) >= abs(b) + abs(d) else (b, d)
    ux, uy = -row[1], row[0]
    # Image rows grow downwards; flip y so the angle reads counter-clockwise on screen.
    return float(math.degrees(math.atan2(-uy, ux)) % 180.0)


def analyze_blur(
    pixels: np.ndarray,
    *,
    threshold: float | None = None,
    working_side: int = WORKING_SIDE,
) -> BlurReport:
    """Sharpness score (0..100), blurry verdict, kind and per-patch blur map of an H x W x 3 [0, 1] photo.

    `threshold` overrides the calibrated BLURRY_THRESHOLD (a score below it is blurry). A photo under
    MIN_SIDE pixels on a side raises TooSmallToJudge (a one-line PhotoMendError and ValueError).
    """
    img = np.asarray(pixels)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"expected H x W x 3 pixels, got shape {img.shape}")
    features = measure_blur(img, working_side=working_side)
    limit = BLURRY_THRESHOLD if threshold is None else float(threshold)
    blurry = features.sharpness < limit
    kind: BlurKind = "sharp"
    angle: float | None = None
    if blurry:
        kind = "motion" if features.anisotropy > MOTION_ANISOTROPY else "defocus"
        angle = features.motion_angle if kind == "motion" else None
    h, w = img.shape[:2]
    ph, pw = features.padded_shape
    wh, ww = features.working_shape
    return BlurReport(
        score=features.sharpness,
        blurry=blurry,
        kind=kind,
        blur_map=features.patch_scores,
        patch_size=max(1, round(features.patch_side / features.scale)),
        threshold=limit,
        anisotropy=features.anisotropy,
        motion_angle=angle,
        noise_sigma=features.noise_sigma,
        image_size=(w, h),
        map_extent=(w * pw / ww, h * ph / wh),
        textured_fraction=features.textured_fraction,
    )
