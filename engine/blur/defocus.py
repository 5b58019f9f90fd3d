"""Defocus: find the out-of-focus disk in the photo's spectrum, then undo it by deconvolution.

numpy + OpenCV only. Why this is not left to the network: trained on the compute we have, the network
returns a defocused photo nearly as it came (TRAINING_LOG.md, sessions 2-6), while a known disk is undone
well by a deconvolution with a sparse-gradient prior (+4.7 dB on McMaster at radius 4). What the
deconvolution needs is the radius, and a disk writes it into the spectrum:

* A disk of radius r multiplies the photo's spectrum by 2 J1(2 pi r f) / (2 pi r f), whose zeros fall on
  rings at f = 0.61 / r, 1.12 / r, ... cycles per pixel. The photo's power spectrum is averaged over
  windowed patches (Welch) and over directions, then fitted, for every candidate radius, by
  A f^-a |H_r(f)|^2 + N (a natural photo's power falls as a power of f; N is the noise floor). The
  radius whose rings fit best is the estimate. On synthetic disks (radius 1.5-7, noise 1/255) it is
  exact to the 0.25 px grid; sharp photos fit radii of 1 or less, which count as "in focus".
* Deconvolution: min |k * x - y|^2 + lam |grad x|_1, by half-quadratic splitting (Krishnan & Fergus
  2009), a closed-form step per iteration in the Fourier domain, tile by tile with blended overlaps so a
  12 MP photo stays in memory. The photo's borders are reflected, as a lens's blur near the frame edge is
  best guessed from the pixels beside it.

Not modelled: defocus that varies over the photo (a sharp subject in front of a blurred background gets
the background's radius) and motion blur (no disk rings: the fit finds no radius, and the network runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from engine.blur.analysis import estimate_noise_sigma, luminance
from engine.progress import CancelToken, ProgressCallback
from engine.tiling import run_tiled

__all__ = [
    "MIN_RADIUS",
    "DefocusEstimate",
    "deconvolve",
    "defocus_kernel",
    "estimate_defocus",
    "prior_weight",
]

#: Candidate radii (px) of the fit; the grid step is its resolution.
RADII = tuple(float(r) for r in np.arange(0.0, 12.01, 0.25))
#: Spectral slopes a of the fit (natural photos: about 2).
SLOPES = tuple(float(a) for a in np.arange(1.0, 3.51, 0.25))
#: An estimate under this radius means "in focus". Chosen on 36 BSD432 photos (every 12th): sharp ones
#: fit 0.75-1.0, the same after motion blur (11 and 21 px) or JPEG q10 at most 1.25.
MIN_RADIUS = 1.5
#: Side of the Welch patches (px).
SPECTRUM_SIDE = 128
#: At most this many patches enter the spectrum (the most textured ones of a regular grid).
MAX_PATCHES = 96
#: Weight of the gradient prior per unit of luma noise sigma (the noisier the photo, the smoother the
#: answer must be), and its floor. Chosen on BSD432 photos (radius 2-6, noise 1/255 and 2/255: best
#: fixed weights 2e-4 and 5e-4), never on the validation sets. Larger is smoother and rings less.
LAMBDA_PER_SIGMA = 0.075
LAMBDA_FLOOR = 1e-4
HQS_ITERATIONS = 6
#: Tile side and overlap (px) of the deconvolution; the overlap is blended.
TILE = 1024
OVERLAP = 64


def defocus_kernel(radius: float) -> np.ndarray:
    """A normalised out-of-focus disk of `radius` pixels, float32, odd side, with an anti-aliased rim.

    Each pixel's weight is the fraction of it the disk covers (approximated by the signed distance of
    its centre to the rim), so radius 2.3 and 2.7 give different kernels instead of the same staircase.
    """
    radius = float(radius)
    if radius <= 0.5:
        return np.ones((1, 1), np.float32)
    # Pixels whose centre lies beyond radius + 0.5 get no weight, so the side stays as tight as possible.
    half = max(1, int(math.ceil(radius - 0.5)))
    coords = np.arange(-half, half + 1, dtype=np.float64)
    distance = np.hypot(coords[None, :], coords[:, None])
    kernel = np.clip(radius + 0.5 - distance, 0.0, 1.0)
    return (kernel / kernel.sum()).astype(np.float32)


@dataclass(frozen=True)
class DefocusEstimate:
    """The disk that best explains the photo's spectrum; `found` when it is big enough to undo."""

    radius: float
    #: mean squared log-spectrum error of the best fit, and of the best fit without blur (radius 0)
    fit_error: float
    sharp_fit_error: float

    @property
    def found(self) -> bool:
        return self.radius >= MIN_RADIUS and self.fit_error < self.sharp_fit_error

    @property
    def kernel(self) -> np.ndarray:
        return defocus_kernel(self.radius)


def _radial_index(side: int) -> np.ndarray:
    f = np.fft.fftfreq(side)
    return np.round(np.hypot(f[None, :], f[:, None]) * side).astype(np.int64)


_INDEX = _radial_index(SPECTRUM_SIDE)
_BINS = SPECTRUM_SIDE // 2
_COUNTS = np.bincount(_INDEX.ravel(), minlength=_INDEX.max() + 1)


def _radial_mean(power: np.ndarray) -> np.ndarray:
    sums = np.bincount(_INDEX.ravel(), power.ravel(), minlength=_INDEX.max() + 1)
    return (sums / np.maximum(_COUNTS, 1))[:_BINS]


def _kernel_power(radius: float) -> np.ndarray:
    kernel = defocus_kernel(radius).astype(np.float64)
    plane = np.zeros((SPECTRUM_SIDE, SPECTRUM_SIDE))
    kh, kw = kernel.shape
    plane[:kh, :kw] = kernel
    plane = np.roll(plane, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return _radial_mean(np.abs(np.fft.fft2(plane)) ** 2)


_KERNEL_POWER: dict[float, np.ndarray] = {}


def _cached_kernel_power(radius: float) -> np.ndarray:
    if radius not in _KERNEL_POWER:
        _KERNEL_POWER[radius] = _kernel_power(radius)
    return _KERNEL_POWER[radius]


def photo_spectrum(grey: np.ndarray) -> np.ndarray | None:
    """Radial power spectrum (Welch, Hann windows) of the most textured patches; None if too small."""
    side = SPECTRUM_SIDE
    height, width = grey.shape
    if height < side or width < side:
        return None
    step = side // 2
    corners = [(y, x) for y in range(0, height - side + 1, step) for x in range(0, width - side + 1, step)]
    if len(corners) > MAX_PATCHES:
        # Flat patches (sky, walls) carry only the noise floor: keep the most textured ones.
        variances = np.array([float(grey[y : y + side, x : x + side].var()) for y, x in corners])
        keep = np.argsort(variances)[-MAX_PATCHES:]
        corners = [corners[i] for i in sorted(keep)]
    window = np.outer(np.hanning(side), np.hanning(side))
    power = np.zeros((side, side))
    for y, x in corners:
        patch = grey[y : y + side, x : x + side].astype(np.float64)
        power += np.abs(np.fft.fft2((patch - patch.mean()) * window)) ** 2
    return _radial_mean(power / len(corners))


def _fit_error(spectrum: np.ndarray, radius: float) -> float:
    """Best fit of A f^-a |H_r|^2 + N to the spectrum over the slopes a: mean squared log error."""
    bins = np.arange(_BINS)
    use = (bins >= 3) & (bins < _BINS - 2)  # skip the DC leak of the window and the corner bins
    f = bins[use] / SPECTRUM_SIDE
    observed = np.maximum(spectrum[use], 1e-20)
    shape_r = _cached_kernel_power(radius)[use] if radius > 0.5 else np.ones_like(f)
    best = math.inf
    for slope in SLOPES:
        g = f**-slope * shape_r
        # Linear in (A, N): least squares on the relative error, then the log error of that fit.
        design = np.stack([g / observed, 1.0 / observed], axis=1)
        coef, *_ = np.linalg.lstsq(design, np.ones_like(observed), rcond=None)
        model = np.maximum(coef[0], 1e-20) * g + np.maximum(coef[1], 1e-20)
        best = min(best, float(np.mean((np.log(model) - np.log(observed)) ** 2)))
    return best


def estimate_defocus(pixels: np.ndarray) -> DefocusEstimate:
    """The defocus disk of H x W x 3 (or H x W) float pixels in [0, 1], from their spectrum."""
    grey = pixels.mean(axis=2) if pixels.ndim == 3 else pixels
    spectrum = photo_spectrum(np.asarray(grey, np.float32))
    if spectrum is None:
        return DefocusEstimate(0.0, 0.0, 0.0)
    errors = {r: _fit_error(spectrum, r) for r in RADII}
    radius = min(errors, key=errors.__getitem__)
    return DefocusEstimate(radius=radius, fit_error=errors[radius], sharp_fit_error=errors[0.0])


def prior_weight(pixels: np.ndarray) -> float:
    """The deconvolution's gradient-prior weight for these pixels, from their noise level."""
    sigma = estimate_noise_sigma(luminance(pixels))
    return max(LAMBDA_FLOOR, LAMBDA_PER_SIGMA * sigma)


def _otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    plane = np.zeros(shape, np.float32)
    kh, kw = kernel.shape
    plane[:kh, :kw] = kernel
    return np.fft.fft2(np.roll(plane, (-(kh // 2), -(kw // 2)), axis=(0, 1)))


def _deconvolve_plane_set(image: np.ndarray, kernel: np.ndarray, lam: float, iterations: int) -> np.ndarray:
    """HQS deconvolution of an H x W x C image (circular; the caller pads)."""
    shape = image.shape[:2]
    otf = _otf(kernel, shape)
    # Forward differences x[i+1] - x[i] as circular convolutions, matching np.roll below.
    dx = np.zeros(shape, np.float32)
    dx[0, 0], dx[0, -1] = -1.0, 1.0
    dy = np.zeros(shape, np.float32)
    dy[0, 0], dy[-1, 0] = -1.0, 1.0
    fdx, fdy = np.fft.fft2(dx), np.fft.fft2(dy)
    otf_power = (np.abs(otf) ** 2).astype(np.float32)
    grad_power = (np.abs(fdx) ** 2 + np.abs(fdy) ** 2).astype(np.float32)
    out = np.empty_like(image)
    for c in range(image.shape[2]):
        y = image[..., c]
        numerator_data = np.conj(otf) * np.fft.fft2(y)
        x = y
        beta = 20.0 * lam
        for _ in range(iterations):
            gx = np.roll(x, -1, axis=1) - x
            gy = np.roll(x, -1, axis=0) - x
            threshold = lam / beta
            wx = np.sign(gx) * np.maximum(np.abs(gx) - threshold, 0.0)
            wy = np.sign(gy) * np.maximum(np.abs(gy) - threshold, 0.0)
            numerator = numerator_data + beta * (
                np.conj(fdx) * np.fft.fft2(wx) + np.conj(fdy) * np.fft.fft2(wy)
            )
            x = np.real(np.fft.ifft2(numerator / (otf_power + beta * grad_power))).astype(np.float32)
            beta *= 2.0 * math.sqrt(2.0)
        out[..., c] = x
    return out


def deconvolve(
    pixels: np.ndarray,
    kernel: np.ndarray,
    *,
    lam: float | None = None,
    iterations: int = HQS_ITERATIONS,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Undo a known blur `kernel` on H x W x C float32 pixels in [0, 1]; returns a new clipped array.

    `lam` weighs the sparse-gradient prior (default: prior_weight(pixels)).
    """
    lam = prior_weight(pixels) if lam is None else float(lam)
    kernel = np.asarray(kernel, np.float32)
    pad = 3 * max(kernel.shape)

    def infer(batch: np.ndarray) -> np.ndarray:
        tile = batch[0].transpose(1, 2, 0)
        height, width = tile.shape[:2]
        padded_h = cv2.getOptimalDFTSize(height + 2 * pad)
        padded_w = cv2.getOptimalDFTSize(width + 2 * pad)
        padded = cv2.copyMakeBorder(
            tile, pad, padded_h - height - pad, pad, padded_w - width - pad, cv2.BORDER_REFLECT
        )
        if padded.ndim == 2:
            padded = padded[..., None]
        sharp = _deconvolve_plane_set(padded, kernel, lam, iterations)[pad : pad + height, pad : pad + width]
        return np.ascontiguousarray(sharp.transpose(2, 0, 1))[None]

    out = run_tiled(
        np.ascontiguousarray(pixels, dtype=np.float32),
        infer,
        tile_size=TILE,
        overlap=OVERLAP,
        progress=progress,
        cancel=cancel,
    )
    return np.clip(out, 0.0, 1.0, out=out)
