"""Sharpness score, per-patch blur map and motion/defocus verdict of one photo (numpy + OpenCV only).

Seed: "Image Classification of Blurred Images Without Deblurring" (variance of the Laplacian per patch, then a
threshold). That raw variance depends on contrast, content, grain and resolution, so this module compares
instead how much gradient survives at each scale, patch by patch, and lets a calibrated rule read the result:

* The photo is judged at its own resolution (up to WORKING_SIDE on the long side): people cull at 100 %, and a
  radius-2 defocus or a 5-px shake that ruins a 24 MP shot is invisible once it is reduced to screen size.
* A four-level pyramid (2 x 2 area averaging) gives, per patch and level, the gradient structure tensor and
  the fourth moment of the gradient. Natural scenes look alike at every scale, so in a sharp patch each level
  carries about as much gradient (per own pixel) as the next coarser one, in every direction; blur empties
  the finest levels first, camera shake along one direction only.
* The features of a patch, all ratios and so free of contrast: the generalised eigenvalues of each pair of
  neighbouring tensors (the fine/coarse energy ratio along the most and least damped directions), the
  ratio of the edge amplitude sqrt(E|g|^4 / E|g|^2) between scales (a few crisp edges amid smooth shading
  make a patch sharp), how directional the structure is at three scales (a shake makes fine structure more
  directional than coarse), and the signal-to-grain ratio. Grain is estimated once (Immerkaer's operator on
  the flattest blocks) and its share taken off every moment.
* A logistic rule calibrated on pairs of the same patch sharp and blurred (bench/blur_accuracy.py
  --calibrate) turns them into a sharpness score 0..100 per patch; BLURRY_THRESHOLD (50) separates in focus
  from out of focus. That is the blur map.
* Judging: a patch with detail clearly above the grain is scored. One without is judged at half size, where
  the grain is a quarter (the half-scale rule): out of focus if clearly blurred there, else not judgeable,
  since grain hides whether it is sharp. One with structure only at 1/8 size (a strongly blurred
  background) is out of focus; one with none at any scale (sky, a wall) is not judgeable: NaN in the map.
  The photo is sharp when its sharpest SUBJECT_FRACTION of the scored area is: a sharp subject on an
  out-of-focus background is a sharp photo, and culling keeps it. (A photo too grainy to score anywhere is
  judged by the half-scale rule.)
* Kind: a shake keeps its least damped direction almost as crisp as a sharp photo at the finest scale while
  its most damped one loses even the next scale; an out-of-focus disk or a soft blur damps all directions
  alike. A second calibrated logistic rule reads that from the tensors pooled over the scored patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from engine.errors import PhotoMendError

BlurKind = Literal["sharp", "motion", "defocus"]

#: Long side (px) above which the photo is reduced before analysis (a 60 MP scan is judged as a 45 MP photo).
WORKING_SIDE = 8192
#: Fewest pixels on a side that sharpness can be judged on.
MIN_SIDE = 8
#: Patch side (px) of the blur map on photos up to 1536 px long; larger photos get about 48 patches across.
PATCH_SIDE = 32
#: Pyramid levels (1, 1/2, 1/4, 1/8).
LEVELS = 4

# Calibrated constants: `python bench/blur_accuracy.py --calibrate` re-derives and prints them (see there for
# the protocol: BSD432 and half of ../shared/data/photos; never the report photos).
#: Score (0..100) below which a photo (and a patch of the map) is blurry.
BLURRY_THRESHOLD = 50.0
#: Share of the judged area whose sharpness decides the verdict (the "subject" that must be in focus).
SUBJECT_FRACTION = 0.05
#: Mean squared gradient (per pixel at 1/2 scale, luminance normalised to the photo's contrast) a patch needs
#: to be judged, and the multiple of the grain's energy it must exceed.
DETAIL_FLOOR = 4e-4
DETAIL_OVER_GRAIN = 3.0
#: The same floor at 1/8 scale: below it at every scale a patch is featureless (not judgeable).
STRUCTURE_FLOOR = 4e-4
#: The per-patch features, each free of the photo's contrast (see _features):
FEATURE_NAMES = (
    *("lmin01", "lmax01", "lmin12", "lmax12", "lmin23", "lmax23"),  # log fine/coarse ratios, both directions
    *("edge01", "edge12"),  # log ratio of the edge amplitude sqrt(E|g|^4 / E|g|^2) between scales
    *("snr1", "log_noise"),  # half-scale detail over the grain's energy; the grain's level
    *("coherence0", "coherence1", "coherence2"),  # 0 (every direction) .. 1 (one direction), per scale
    *("grain0", "grain1"),  # log share of Immerkaer's (grain-only) response in the gradient energy
)
#: Weights of the per-patch sharpness rule (a logit: > 0 is in focus) and the score's scale (logit units).
PATCH_WEIGHTS: dict[str, float] = {
    "lmin01": 1.8323, "lmax01": 0.5022, "lmin12": 0.6612, "lmax12": -1.8142, "lmin23": 0.3782,
    "lmax23": 0.0664, "edge01": 9.4347, "edge12": 1.8832, "snr1": 0.8626, "log_noise": 0.0592,
    "coherence0": -8.6303, "coherence1": 5.0263, "coherence2": 4.2429, "grain0": 1.2962, "grain1": -0.8884,
    "bias": -2.8164,
}  # fmt: skip
SCORE_SCALE = 2.157
#: The motion-vs-defocus rule (> 0 is camera shake) on the tensors pooled over the judged patches.
KIND_FEATURE_NAMES = ("lmin01", "lmax01", "lmin12", "lmax12")
KIND_WEIGHTS: dict[str, float] = {
    "lmin01": -0.5460, "lmax01": 23.5214, "lmin12": -19.1132, "lmax12": 0.5032, "bias": 5.7308,
}  # fmt: skip
#: The half-scale rule, for the map only: where grain hides the finest scale, a patch whose half-size detail
#: is clearly blurred (logit < 0) is out of focus; one whose half-size detail looks sharp is not judgeable
#: (sharpness at full size cannot be seen through the grain).
HALF_FEATURE_NAMES = (
    *("lmin12", "lmax12", "lmin23", "lmax23", "edge12", "snr1", "log_noise"),
    *("coherence1", "coherence2", "grain1"),
)
HALF_WEIGHTS: dict[str, float] = {
    "lmin12": 0.3664, "lmax12": -0.4133, "lmin23": -0.1652, "lmax23": -1.0799, "edge12": 2.8391,
    "snr1": 0.0961, "log_noise": -0.3264, "coherence1": -1.7378, "coherence2": 2.0285, "grain1": 0.6566,
    "bias": -2.3982,
}  # fmt: skip
_HALF_INDEX = [FEATURE_NAMES.index(name) for name in HALF_FEATURE_NAMES]

# Variance gain that makes the 10th-percentile noise estimate unbiased: median of (true / estimated)
# variance over 54 BSD photos (every 8th from the 2nd), defocused (radius 2..6) with noise sigma
# 0.01/0.02/0.03 added: 1.59.
_NOISE_GAIN = 1.6
_LUMA_WEIGHTS = np.array([[0.299, 0.587, 0.114]], np.float32)
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
#: Upper clip of the fine/coarse ratios (see _features).
_MAX_RATIO = 2.0
#: Pixels per band of the level statistics (bounds the memory of a large photo's gradient images).
_BAND_PIXELS = 1 << 22
#: Contrast (1st to 99th percentile of luminance) the floors are stated for; a dimmer or flatter photo's
#: floors shrink with the square of its contrast (not below a quarter of it).
_REFERENCE_CONTRAST = 0.5
_MIN_CONTRAST = 0.125


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

    score: float  # sharpness of the sharpest SUBJECT_FRACTION of the judged area
    blurry: bool
    kind: BlurKind
    blur_map: np.ndarray = field(repr=False)  # (rows, cols) float32 sharpness per patch; NaN = not judgeable
    patch_size: int  # side of one map cell in pixels of the analysed photo (rounded)
    threshold: float  # the score threshold that was applied
    anisotropy: float  # >= 1: how much more one direction is damped than the other (pooled, fine scales)
    motion_angle: float | None  # streak direction in degrees (0 = horizontal, counter-clockwise), motion only
    noise_sigma: float  # estimated luminance noise at the analysed size, [0, 1] units
    image_size: tuple[int, int]  # (width, height) of the analysed photo
    map_extent: tuple[float, float]  # (width, height) in photo pixels covered by the map grid (>= image_size)
    textured_fraction: float  # share of patches that could be judged (in focus or out of focus)
    sharp_fraction: float = 0.0  # share of the judged patches that are in focus

    @property
    def background_out_of_focus(self) -> bool:
        """A sharp photo whose in-focus part is a minority of what could be judged: a subject on bokeh."""
        return not self.blurry and self.textured_fraction > 0 and self.sharp_fraction < 0.5

    def verdict(self) -> str:
        """The one-line verdict every face shows, e.g. "blurry (camera shake)" or "sharp subject, background
        out of focus"; it never names a blur for a sharp photo, nor calls a blurry one sharp."""
        if self.blurry:
            if self.textured_fraction == 0:
                return "blurry (nothing in the photo has detail to judge)"
            return "blurry (camera shake)" if self.kind == "motion" else "blurry (out of focus)"
        return "sharp subject, background out of focus" if self.background_out_of_focus else "sharp"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (without the map)."""
        return {
            "score": round(self.score, 2),
            "blurry": self.blurry,
            "kind": self.kind,
            "verdict": self.verdict(),
            "anisotropy": round(self.anisotropy, 3),
            "motion_angle": None if self.motion_angle is None else round(self.motion_angle, 1),
            "noise_sigma": round(self.noise_sigma, 5),
            "textured_fraction": round(self.textured_fraction, 3),
            "sharp_fraction": round(self.sharp_fraction, 3),
        }


@dataclass(frozen=True)
class BlurFeatures:
    """The measured quantities behind a BlurReport, before the verdict's threshold (used by calibration)."""

    sharpness: float  # score 0..100 of the sharpest SUBJECT_FRACTION of the judged patches
    anisotropy: float  # pooled over the judged patches, fine scales
    motion_angle: float
    motion_logit: float  # the kind rule's output: > 0 reads as motion blur
    patch_scores: np.ndarray  # (rows, cols) 0..100, NaN where not judgeable
    patch_features: np.ndarray  # (len(FEATURE_NAMES), rows, cols)
    detailed: np.ndarray  # (rows, cols) bool: enough fine detail to be scored
    half_detailed: np.ndarray  # (rows, cols) bool: enough detail at half size for the half-scale rule
    judgeable: np.ndarray  # (rows, cols) bool: scored, or out of focus by the half-scale or coarse evidence
    kind_features: np.ndarray  # (len(KIND_FEATURE_NAMES),)
    noise_sigma: float
    patch_side: int  # at working size
    scale: float  # working size / photo size
    working_shape: tuple[int, int]  # (h, w) of the working image before padding
    padded_shape: tuple[int, int]
    textured_fraction: float
    sharp_fraction: float


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
    if side == 1:
        return values.astype(np.float64)
    # INTER_AREA at an integer factor is exactly the block mean, in one threaded pass.
    return cv2.resize(values, (w // side, h // side), interpolation=cv2.INTER_AREA).astype(np.float64)


def estimate_noise_sigma(y: np.ndarray) -> float:
    """Additive white noise level of a luminance image (Immerkaer's operator on the flattest 8x8 blocks).

    The operator cancels smooth image structure; texture still leaks in, so blocks are ranked and the
    10th percentile of their energy is used, times _NOISE_GAIN to undo that percentile's low bias.
    """
    if min(y.shape) < 10:
        return 0.0
    response = cv2.filter2D(y, -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    h, w = (response.shape[0] // 8) * 8, (response.shape[1] // 8) * 8
    energy = response[:h, :w] ** 2
    energy = energy.reshape(h // 8, 8, w // 8, 8).mean(axis=(1, 3)).ravel()
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


def _least_damped_normal(p0: np.ndarray, p1: np.ndarray, lam: np.ndarray | float) -> np.ndarray:
    """Direction (degrees, 0 = horizontal, counter-clockwise as seen) in which gradients were damped most.

    That is the motion streak's direction: a sweep along u flattens gradients along u. It is the
    eigenvector u of (J0 - lam J1) u = 0 for the smallest generalised eigenvalue lam. Works on a single
    tensor pair (3,) or on stacks (3, ...).
    """
    a, b, d = p0[0] - lam * p1[0], p0[1] - lam * p1[1], p0[2] - lam * p1[2]
    # (J0 - lam J1) is singular: u is orthogonal to its larger row.
    first = np.abs(a) + np.abs(b) >= np.abs(b) + np.abs(d)
    ux = np.where(first, -b, -d)
    uy = np.where(first, a, b)
    # Image rows grow downwards; flip y so the angle reads counter-clockwise on screen.
    return np.degrees(np.arctan2(-uy, ux)) % 180.0


def _patch_side_for(height: int, width: int) -> int:
    """About 48 patches along the long side (at least PATCH_SIDE px), a multiple of 2**(LEVELS-1), and small
    enough that the short side holds a few patches."""
    long_side, short = max(height, width), min(height, width)
    step = 1 << (LEVELS - 1)
    side = PATCH_SIDE if long_side <= 48 * PATCH_SIDE else step * math.ceil(long_side / 48 / step)
    while side > step and short < 4 * side:
        side //= 2
    return max(step, side - side % step)


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


@dataclass(frozen=True)
class _LevelStatistics:
    tensor: np.ndarray  # (3, rows, cols) mean gxx, gxy, gyy, noise share removed
    m2: np.ndarray  # (rows, cols) mean |g|^2, noise share removed
    m4: np.ndarray  # (rows, cols) mean |g|^4, noise share removed
    immerkaer: np.ndarray  # (rows, cols) mean squared Immerkaer response (as measured)
    m2_measured: np.ndarray  # (rows, cols) mean |g|^2 as measured, grain included


def _level_statistics(y: np.ndarray, side: int, noise_var: float) -> _LevelStatistics:
    """Per side x side patch: gradient structure tensor, 2nd and 4th moments of |g| and the Immerkaer energy,
    with the share of white noise of variance noise_var (at this level) taken off the moments. Central
    differences, mirrored border; computed in bands of patch rows so a 48 MP photo needs little memory."""
    h, w = y.shape
    padded = cv2.copyMakeBorder(y, 1, 1, 1, 1, cv2.BORDER_REFLECT_101)
    band = side * max(1, _BAND_PIXELS // max(w * side, 1))
    parts = [_band_moments(padded[top : top + band + 2], side) for top in range(0, h, band)]
    gxx, gxy, gyy, m4, immerkaer = (np.concatenate(column, axis=0) for column in zip(*parts, strict=True))
    m2 = gxx + gyy
    # White noise of variance s^2 gives each gradient component variance s^2/2 = v; then E|g|^2 gains 2v
    # and E|g|^4 = E|s|^4 + 8 v E|s|^2 + 8 v^2 (signal s, Gaussian noise).
    v = noise_var / 2.0
    tensor = np.stack([np.maximum(gxx - v, 0.0), gxy, np.maximum(gyy - v, 0.0)])
    m2_signal = np.maximum(m2 - 2.0 * v, 0.0)
    m4_signal = np.maximum(m4 - 8.0 * v * m2_signal - 8.0 * v * v, 0.0)
    return _LevelStatistics(tensor, m2_signal, m4_signal, immerkaer, m2)


def _band_moments(padded: np.ndarray, side: int) -> tuple[np.ndarray, ...]:
    """Patch means of gx^2, gx*gy, gy^2, |g|^4 and the Immerkaer response^2 of a band with a 1 px margin."""
    gx = 0.5 * (padded[1:-1, 2:] - padded[1:-1, :-2])
    gy = 0.5 * (padded[2:, 1:-1] - padded[:-2, 1:-1])
    gxx, gyy = gx * gx, gy * gy
    g2 = gxx + gyy
    # Immerkaer's operator cancels smooth structure: its share of the gradient energy is high where grain
    # (or JPEG's ringing) makes up the fine detail, low where edges and texture do.
    response = cv2.filter2D(padded, -1, _IMMERKAER)[1:-1, 1:-1]
    return (
        _patch_mean(gxx, side),
        _patch_mean(gx * gy, side),
        _patch_mean(gyy, side),
        _patch_mean(g2 * g2, side),
        _patch_mean(response * response, side),
    )


def _box3(values: np.ndarray) -> np.ndarray:
    """Mean over each patch's 3 x 3 neighbourhood: single patches are noisy, a subject spans several."""
    return cv2.blur(values, (3, 3), borderType=cv2.BORDER_REFLECT)


def _coherence(t: np.ndarray) -> np.ndarray:
    """0 (structure in every direction) .. 1 (a single direction) of a (3, ...) tensor stack."""
    trace = t[0] + t[2] + 1e-12
    return np.clip(np.sqrt((t[0] - t[2]) ** 2 + 4.0 * t[1] ** 2) / trace, 0.0, 1.0)


def _features(levels: list[_LevelStatistics], sigma: float) -> np.ndarray:
    """The per-patch features of FEATURE_NAMES, (len, rows, cols) float64."""
    tensors = [np.stack([_box3(c) for c in lv.tensor]) for lv in levels]
    out = []
    for a in range(LEVELS - 1):
        lo, hi = _generalised_eigen(tensors[a], tensors[a + 1], 1e-9)
        # Ratios above 2 (a finer scale much richer than the coarser one) come from fine periodic texture or
        # aliasing, never from blur: clipped, so the linear rule does not extrapolate into them.
        out += [np.log(np.clip(lo, 1e-3, _MAX_RATIO)), np.log(np.clip(hi, 1e-3, _MAX_RATIO))]
    amplitude = [_box3(lv.m4) / np.maximum(_box3(lv.m2), 1e-10) for lv in levels[:3]]
    for a in range(2):
        ratio = np.maximum(amplitude[a], 1e-10) / np.maximum(amplitude[a + 1], 1e-10)
        out.append(np.clip(0.5 * np.log(ratio), -3.0, 1.0))
    detail = tensors[1][0] + tensors[1][2]
    out.append(np.clip(np.log(np.maximum(detail, 1e-9) / (sigma * sigma / 4.0 + 1e-6)), -5.0, 10.0))
    out.append(np.full(detail.shape, math.log(sigma + 1e-3)))
    out += [_coherence(t) for t in tensors[:3]]
    for lv in levels[:2]:
        grain_share = np.maximum(_box3(lv.immerkaer), 1e-12) / np.maximum(_box3(lv.m2_measured), 1e-12)
        out.append(np.clip(np.log(grain_share), -5.0, 5.0))
    return np.stack(out)


def _sigmoid_score(logit: np.ndarray | float) -> np.ndarray:
    return 100.0 / (1.0 + np.exp(-np.clip(np.asarray(logit, np.float64) / SCORE_SCALE, -50.0, 50.0)))


def rule_vector(weights: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """A rule's weights in the order of `names`, then its bias."""
    return np.array([weights[name] for name in names] + [weights["bias"]], np.float64)


def patch_logits(features: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The per-patch sharpness rule on (len(names), ...) features: > 0 is in focus (score above 50)."""
    w = rule_vector(PATCH_WEIGHTS, FEATURE_NAMES) if weights is None else weights
    return np.tensordot(w[:-1], features, axes=1) + w[-1]


def _kind_features(levels: list[_LevelStatistics], judged: np.ndarray) -> tuple[np.ndarray, float, float]:
    """KIND_FEATURE_NAMES (tensors pooled over the judged patches), the anisotropy and the streak angle.

    A shake keeps its least damped direction almost as crisp as a sharp photo at the finest scale while its
    most damped one loses even the coarser scale; an out-of-focus disk or a soft blur damps all alike.
    """
    n = max(int(judged.sum()), 1)
    pooled = [lv.tensor[:, judged].sum(axis=1) for lv in levels[:3]]
    lo01, hi01 = _generalised_eigen(pooled[0], pooled[1], 1e-9 * n)
    lo12, hi12 = _generalised_eigen(pooled[1], pooled[2], 1e-9 * n)
    anisotropy = float(hi01 / max(float(lo01), 1e-9))
    angle = float(_least_damped_normal(pooled[0], pooled[1], float(lo01)))
    features = np.log(np.clip([float(lo01), float(hi01), float(lo12), float(hi12)], 1e-3, _MAX_RATIO))
    return features, anisotropy, angle


def measure_blur(pixels: np.ndarray, *, working_side: int = WORKING_SIDE) -> BlurFeatures:
    """The measurements of analyze_blur before its threshold (exposed for calibration and the benchmark)."""
    y, scale = working_image(pixels, working_side)
    h, w = y.shape
    if h < MIN_SIDE or w < MIN_SIDE:
        height, width = np.asarray(pixels).shape[:2]
        raise TooSmallToJudge(width, height)
    side = _patch_side_for(h, w)
    sigma = estimate_noise_sigma(y)
    low, high = np.percentile(y[:: max(1, h // 512), :: max(1, w // 512)], [1, 99])
    contrast = max(float(high - low), _MIN_CONTRAST * _REFERENCE_CONTRAST)
    floor_scale = min(1.0, (contrast / _REFERENCE_CONTRAST) ** 2)

    # Pad (mirror) to whole patches so the map covers every pixel and each level's grid lines up.
    ph, pw = -(-h // side) * side, -(-w // side) * side
    padded = cv2.copyMakeBorder(y, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT_101) if (ph, pw) != (h, w) else y
    levels = []
    level = padded
    for k in range(LEVELS):
        # 2 x 2 averaging divides white noise variance by 4 per level.
        levels.append(_level_statistics(level, side >> k, sigma * sigma / 4.0**k))
        if k + 1 < LEVELS:
            level = cv2.resize(
                level, (level.shape[1] // 2, level.shape[0] // 2), interpolation=cv2.INTER_AREA
            )

    features = _features(levels, sigma)
    grain = DETAIL_OVER_GRAIN * sigma * sigma
    detailed = _box3(levels[1].m2) > np.maximum(DETAIL_FLOOR * floor_scale, grain)
    # The half-size and coarse tests use each patch alone: a neighbour's edge must not make a flat patch
    # look out of focus.
    half_detailed = levels[2].m2 > np.maximum(DETAIL_FLOOR * floor_scale, grain / 4.0)
    coarse = levels[3].m2 > np.maximum(STRUCTURE_FLOOR * floor_scale, grain / 16.0)
    scores = _sigmoid_score(patch_logits(features))
    half_logits = patch_logits(features[_HALF_INDEX], rule_vector(HALF_WEIGHTS, HALF_FEATURE_NAMES))
    # Without fine detail above the grain: out of focus where half-size detail is clearly blurred, or where
    # only coarse structure is left; otherwise (grain hides the detail, or nothing is there) not judgeable.
    half_blurred = ~detailed & half_detailed & (half_logits < 0)
    coarse_only = ~detailed & ~half_detailed & coarse
    scores = np.where(half_blurred, _sigmoid_score(half_logits), np.where(coarse_only, 0.0, scores))
    judgeable = detailed | half_blurred | coarse_only

    half_scores = _sigmoid_score(half_logits)
    if detailed.sum() >= 2:
        sharpness = float(np.quantile(scores[detailed], 1.0 - SUBJECT_FRACTION))
    elif half_detailed.sum() >= 2:
        # So grainy that no fine detail stands out: judged at half size, where the grain is a quarter.
        sharpness = float(np.quantile(half_scores[half_detailed], 1.0 - SUBJECT_FRACTION))
    elif detailed.any():
        sharpness = float(scores[detailed].max())
    else:  # no detail anywhere: nothing is in focus
        sharpness = 0.0
    pool = detailed if detailed.any() else judgeable
    if pool.any():
        kind_features, anisotropy, angle = _kind_features(levels, pool)
    else:
        kind_features, anisotropy, angle = np.zeros(len(KIND_FEATURE_NAMES)), 1.0, 0.0
    kind_w = rule_vector(KIND_WEIGHTS, KIND_FEATURE_NAMES)
    motion_logit = float(kind_w[:-1] @ kind_features + kind_w[-1])
    in_focus = judgeable & (scores >= BLURRY_THRESHOLD)
    return BlurFeatures(
        sharpness=sharpness,
        anisotropy=anisotropy,
        motion_angle=angle,
        motion_logit=motion_logit,
        patch_scores=np.where(judgeable, scores, np.nan).astype(np.float32),
        patch_features=features,
        detailed=detailed,
        half_detailed=half_detailed,
        judgeable=judgeable,
        kind_features=kind_features,
        noise_sigma=sigma,
        patch_side=side,
        scale=scale,
        working_shape=(h, w),
        padded_shape=(ph, pw),
        textured_fraction=float(judgeable.mean()),
        sharp_fraction=float(in_focus.sum() / max(int(judgeable.sum()), 1)),
    )


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
        kind = "motion" if features.motion_logit > 0 else "defocus"
        angle = features.motion_angle if kind == "motion" else None
    h, w = img.shape[:2]
    ph, pw = features.padded_shape
    wh, ww = features.working_shape
    scores = features.patch_scores
    judged = np.isfinite(scores)
    return BlurReport(
        score=features.sharpness,
        blurry=blurry,
        kind=kind,
        blur_map=scores,
        patch_size=max(1, round(features.patch_side / features.scale)),
        threshold=limit,
        anisotropy=features.anisotropy,
        motion_angle=angle,
        noise_sigma=features.noise_sigma,
        image_size=(w, h),
        map_extent=(w * pw / ww, h * ph / wh),
        textured_fraction=features.textured_fraction,
        sharp_fraction=float((scores[judged] >= limit).sum() / max(int(judged.sum()), 1)),
    )
