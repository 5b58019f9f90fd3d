"""Defocus: find an even blur in the photo's spectrum, then undo it by deconvolution (DefocusRestorer).

numpy + OpenCV only. Why this is not left to the network: trained on the compute we have, the network
returns a defocused photo nearly as it came (TRAINING_LOG.md, sessions 2-6), while a known blur is undone
well by a deconvolution with a sparse-gradient prior (+4.7 dB on McMaster at radius 4). What the
deconvolution needs is the kernel, and an even blur writes it into the photo's power spectrum:

* A lens out of focus blurs with a disk of radius r, which multiplies the spectrum by
  2 J1(2 pi r f) / (2 pi r f): its zeros fall on rings at f = 0.61 / r, 1.12 / r, ... cycles per pixel.
  A soft lens, or an enlarged photo, blurs without a sharp rim, closer to a Gaussian. The photo's power
  spectrum is averaged over windowed patches (Welch) and over directions, then fitted, for every
  candidate disk and Gaussian, by A f^-a |H(f)|^2 + N (a natural photo's power falls as a power of f; N
  is the noise floor). The best fit is the estimate. On BSD432 photos with noise 1/255 it finds disks of
  radius 2-6 exactly (0.25 px grid) and Gaussians within 0.25-0.5 px; sharp, shaken and JPEG photos fit
  radii of 1.25 px and sigmas of 0.75 px at most, which count as "in focus".
* Deconvolution: min |k * x - y|^2 + lam |grad x|_1, by half-quadratic splitting (Krishnan & Fergus
  2009), a closed-form step per iteration in the Fourier domain, tile by tile with blended overlaps so a
  12 MP photo stays in memory. The photo's borders are reflected, as a lens's blur near the frame edge is
  best guessed from the pixels beside it.

* Where the photo is sharp, the deconvolution is not applied: each patch is fitted both ways too
  (`blur_weights`), so a subject in focus, or a sharp strip, keeps its pixels (on a test photo a sharp
  strip 60 px wide is untouched, 36 px keeps 32.7 dB, 21 px is deconvolved with the rest). A photo that
  is mostly sharp shows no blur in the textured patches the estimate pools: nothing is deconvolved.

Not modelled: blur whose size varies over the photo (one kernel is fitted, and applied wherever the
photo shows it) and motion blur (no rings and no isotropy: nothing fits better than a sharp photo;
engine.restorers.shake reads it blindly instead).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import cv2
import numpy as np
from scipy import fft

from engine.blur.analysis import estimate_noise_sigma, luminance
from engine.models import RESTORE
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, instruction_embedding, megapixels
from engine.restorers.network import network_metadata, network_pass
from engine.tiling import map_tiles

BlurShape = Literal["none", "disk", "soft"]

__all__ = [
    "MIN_RADIUS",
    "MIN_SIGMA",
    "BlurShape",
    "DefocusEstimate",
    "DefocusReading",
    "DefocusRestorer",
    "blur_kernel",
    "blur_weights",
    "deconvolve",
    "defocus_kernel",
    "estimate_defocus",
    "is_grainy",
    "prior_weight",
    "soft_kernel",
    "undo_blur",
]

#: Candidate disk radii and soft-blur sigmas (px) of the fit; the grid step is its resolution.
RADII = tuple(float(r) for r in np.arange(0.75, 12.01, 0.25))
SIGMAS = tuple(float(s) for s in np.arange(0.5, 6.01, 0.25))
#: Spectral slopes a of the fit (natural photos: about 2).
SLOPES = tuple(float(a) for a in np.arange(1.0, 3.51, 0.25))
#: An estimate under this radius means "in focus". Chosen on 36 BSD432 photos (every 12th): sharp ones
#: fit 0.75-1.0, the same after motion blur (11 and 21 px) or JPEG q10 at most 1.25.
MIN_RADIUS = 1.5
#: The same for soft blurs: there, sharp, shaken and JPEG q10 photos fit sigmas of 0.75 at most.
MIN_SIGMA = 1.0
#: Side of the Welch patches (px).
SPECTRUM_SIDE = 128
#: At most this many patches enter the spectrum (the most textured ones of a regular grid).
MAX_PATCHES = 96
#: Weight of the gradient prior per unit of luma noise sigma (the noisier the photo, the smoother the
#: answer must be), and its floor. Chosen on BSD432 photos (radius 2-6, noise 1/255 and 2/255: best
#: fixed weights 2e-4 and 5e-4), never on the validation sets. Larger is smoother and rings less.
LAMBDA_PER_SIGMA = 0.075
LAMBDA_FLOOR = 1e-4
#: Luma noise sigma ([0, 1] units) from which grain is removed before a deconvolution, which would amplify
#: it. Chosen on BSD432 (every 48th photo, disk r 3, per-channel noise sigma 1-10/255, which this estimate
#: reads as 0.7/255 at 1/255 and 1.4/255 at 2/255). The network first, then the deconvolution, against the
#: deconvolution alone: -0.13 dB at 1/255 (an ad-hoc run), then, as `python -m bench.defocus --grain
#: --every 48` prints, +0.51, +0.68, +0.72 and +1.41 dB at 2, 3, 6 and 10/255.
GRAIN_SIGMA = 1.0 / 255
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


def soft_kernel(sigma: float) -> np.ndarray:
    """A normalised Gaussian blur of `sigma` pixels, float32, odd side of about 6 sigma."""
    half = max(1, int(math.ceil(3.0 * sigma)))
    line = cv2.getGaussianKernel(2 * half + 1, sigma, cv2.CV_64F)
    kernel = line @ line.T
    return (kernel / kernel.sum()).astype(np.float32)


def blur_kernel(shape: BlurShape, size: float) -> np.ndarray:
    """The kernel of a candidate blur: a disk of radius `size` or a soft blur of sigma `size`."""
    if shape == "none" or size <= 0.0:
        return np.ones((1, 1), np.float32)
    return defocus_kernel(size) if shape == "disk" else soft_kernel(size)


@dataclass(frozen=True)
class DefocusEstimate:
    """The blur that best explains the photo's spectrum; `found` when it is big enough to undo.

    `shape` "disk" (a lens out of focus: radius `size`) or "soft" (no sharp rim, e.g. a soft lens or an
    enlarged photo: Gaussian sigma `size`); "none" when no blur fits better than a sharp photo.
    """

    shape: BlurShape
    size: float
    #: mean squared log-spectrum error of the best fit, and of the best fit without blur
    fit_error: float
    sharp_fit_error: float

    @property
    def found(self) -> bool:
        least = MIN_RADIUS if self.shape == "disk" else MIN_SIGMA
        return self.shape != "none" and self.size >= least and self.fit_error < self.sharp_fit_error

    @property
    def kernel(self) -> np.ndarray:
        return blur_kernel(self.shape, self.size)

    def describe(self) -> str:
        """E.g. "an even out-of-focus blur (a disk of radius 3.00 px)", for the user."""
        if self.shape == "disk":
            return f"an even out-of-focus blur (a disk of radius {self.size:.2f} px)"
        if self.shape == "soft":
            return f"an even soft blur (Gaussian, sigma {self.size:.2f} px)"
        return "no blur"


def _radial_index(side: int) -> np.ndarray:
    f = np.fft.fftfreq(side)
    return np.round(np.hypot(f[None, :], f[:, None]) * side).astype(np.int64)


_INDEX = _radial_index(SPECTRUM_SIDE)
_BINS = SPECTRUM_SIDE // 2
_COUNTS = np.bincount(_INDEX.ravel(), minlength=_INDEX.max() + 1)


def _radial_mean(power: np.ndarray) -> np.ndarray:
    sums = np.bincount(_INDEX.ravel(), power.ravel(), minlength=_INDEX.max() + 1)
    return (sums / np.maximum(_COUNTS, 1))[:_BINS]


_WINDOW = np.outer(np.hanning(SPECTRUM_SIDE), np.hanning(SPECTRUM_SIDE))


def _patch_power(patch: np.ndarray) -> np.ndarray:
    """Power spectrum of one SPECTRUM_SIDE patch, mean removed and Hann-windowed (float64)."""
    patch = np.asarray(patch, np.float64)
    return np.abs(fft.fft2((patch - patch.mean()) * _WINDOW)) ** 2


def _kernel_power(shape: BlurShape, size: float) -> np.ndarray:
    kernel = blur_kernel(shape, size).astype(np.float64)
    return _radial_mean(np.abs(transfer_function(kernel, (SPECTRUM_SIDE, SPECTRUM_SIDE))) ** 2)


_KERNEL_POWER: dict[tuple[BlurShape, float], np.ndarray] = {}


def _cached_kernel_power(shape: BlurShape, size: float) -> np.ndarray:
    if (shape, size) not in _KERNEL_POWER:
        _KERNEL_POWER[(shape, size)] = _kernel_power(shape, size)
    return _KERNEL_POWER[(shape, size)]


def welch_power(grey: np.ndarray) -> np.ndarray | None:
    """2-D power spectrum (Welch, Hann windows) of the most textured patches; None if too small."""
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
    power = np.zeros((side, side))
    for y, x in corners:
        power += _patch_power(grey[y : y + side, x : x + side])
    return power / len(corners)


def photo_spectrum(grey: np.ndarray) -> np.ndarray | None:
    """Radial power spectrum (Welch, Hann windows) of the most textured patches; None if too small."""
    power = welch_power(grey)
    return None if power is None else _radial_mean(power)


def fit_error(observed: np.ndarray, frequency: np.ndarray, blur_power: np.ndarray) -> float:
    """Best fit of A f^-a |H|^2 + N to observed power over the slopes a: mean squared log error.

    `observed`, `frequency` (cycles per pixel) and `blur_power` (|H|^2) are matching 1-D arrays.
    """
    observed = np.maximum(observed, 1e-20)
    best = math.inf
    for slope in SLOPES:
        g = frequency**-slope * blur_power
        # Linear in (A, N): least squares on the relative error, then the log error of that fit.
        design = np.stack([g / observed, 1.0 / observed], axis=1)
        coef, *_ = np.linalg.lstsq(design, np.ones_like(observed), rcond=None)
        model = np.maximum(coef[0], 1e-20) * g + np.maximum(coef[1], 1e-20)
        best = min(best, float(np.mean((np.log(model) - np.log(observed)) ** 2)))
    return best


def _fit_error(spectrum: np.ndarray, shape: BlurShape, size: float) -> float:
    """fit_error of the radial spectrum for a disk or Gaussian blur of `size`."""
    bins = np.arange(_BINS)
    use = (bins >= 3) & (bins < _BINS - 2)  # skip the DC leak of the window and the corner bins
    return fit_error(spectrum[use], bins[use] / SPECTRUM_SIDE, _cached_kernel_power(shape, size)[use])


def estimate_defocus(pixels: np.ndarray) -> DefocusEstimate:
    """The even blur (disk, Gaussian or none) of H x W x 3 (or H x W) pixels in [0, 1], by their spectrum."""
    grey = pixels.mean(axis=2) if pixels.ndim == 3 else pixels
    spectrum = photo_spectrum(np.asarray(grey, np.float32))
    if spectrum is None:
        return DefocusEstimate("none", 0.0, 0.0, 0.0)
    candidates: list[tuple[BlurShape, float]] = [("none", 0.0)]
    candidates += [("disk", r) for r in RADII] + [("soft", s) for s in SIGMAS]
    errors = {c: _fit_error(spectrum, *c) for c in candidates}
    shape, size = min(errors, key=errors.__getitem__)
    return DefocusEstimate(
        shape, size, fit_error=errors[(shape, size)], sharp_fit_error=errors[("none", 0.0)]
    )


def is_grainy(pixels: np.ndarray) -> bool:
    """Whether the photo's noise should be removed before deconvolving it (GRAIN_SIGMA)."""
    return estimate_noise_sigma(luminance(pixels)) >= GRAIN_SIGMA


def prior_weight(pixels: np.ndarray) -> float:
    """The deconvolution's gradient-prior weight for these pixels, from their noise level."""
    sigma = estimate_noise_sigma(luminance(pixels))
    return max(LAMBDA_FLOOR, LAMBDA_PER_SIGMA * sigma)


def _patch_corners(length: int, side: int, step: int) -> list[int]:
    starts = list(range(0, max(length - side, 0) + 1, step))
    if starts[-1] + side < length:
        starts.append(length - side)  # the last patch ends at the border: every pixel is covered
    return starts


def blur_weights(pixels: np.ndarray, estimate: DefocusEstimate) -> np.ndarray:
    """Where the photo shows `estimate`'s blur: an H x W float32 map, 1 = blurred as estimated, 0 = sharp.

    One kernel is fitted to the whole photo, but a photo may be sharp in part (a subject in focus in
    front of a blurred background, a sharp strip at an edge). Each 128-px patch (half overlapping) is fitted
    twice, sharp and with the estimated kernel: on BSD432 and test photos, blurred patches favour the
    kernel by 1.2 or more in log-spectrum error, sharp ones favour "none" (error difference below 0).
    The differences, clipped to 0..1 per patch, are blended with Hann windows into a smooth map. Flat
    patches tell nothing apart and come out near 0, where deconvolution would change little anyway.
    """
    grey = np.asarray(pixels.mean(axis=2) if pixels.ndim == 3 else pixels, np.float64)
    height, width = grey.shape
    side = SPECTRUM_SIDE
    if height < side or width < side:
        return np.ones((height, width), np.float32)
    taper = np.outer(np.hanning(side + 2)[1:-1], np.hanning(side + 2)[1:-1])  # no zero rim: full cover
    total = np.zeros((height, width))
    norm = np.zeros((height, width))
    for y in _patch_corners(height, side, side // 2):
        for x in _patch_corners(width, side, side // 2):
            power = _radial_mean(_patch_power(grey[y : y + side, x : x + side]))
            gain = _fit_error(power, "none", 0.0) - _fit_error(power, estimate.shape, estimate.size)
            total[y : y + side, x : x + side] += taper * float(np.clip(gain, 0.0, 1.0))
            norm[y : y + side, x : x + side] += taper
    return (total / np.maximum(norm, 1e-12)).astype(np.float32)


def undo_blur(
    pixels: np.ndarray,
    estimate: DefocusEstimate,
    *,
    lam: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Deconvolve `estimate`'s kernel where the photo shows that blur; sharp parts are left as they are.
    `lam`: the prior's weight (default: prior_weight(pixels))."""
    pixels = np.clip(np.asarray(pixels, np.float32), 0.0, 1.0)
    sharp = deconvolve(pixels, estimate.kernel, lam=lam, progress=progress, cancel=cancel)
    weights = blur_weights(pixels, estimate)[..., None]
    return np.clip(pixels + weights * (sharp - pixels), 0.0, 1.0).astype(np.float32, copy=False)


def transfer_function(kernel: np.ndarray, shape: tuple[int, int], *, half: bool = False) -> np.ndarray:
    """The kernel's transfer function on a `shape` grid (centred at the origin), in the kernel's precision;
    `half`: only its non-negative horizontal frequencies (rfft2), which hold all of a real kernel's."""
    plane = np.zeros(shape, kernel.dtype)
    kh, kw = kernel.shape
    plane[:kh, :kw] = kernel
    centred = np.roll(plane, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return fft.rfft2(centred) if half else fft.fft2(centred)


@functools.lru_cache(maxsize=16)
def difference_otfs(shape: tuple[int, int], *, half: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Transfer functions (complex64) of the forward differences x[i+1] - x[i] along x and along y, as
    circular convolutions on a `shape` grid: np.roll(x, -1, axis) - x (`half`: as rfft2 half spectra, for
    the shake search's real FFTs). Made once per shape (the shake search asks for the same grid at every
    alternation of a level, the deconvolution for every tile of a photo) and read-only, since every caller
    shares them."""
    if half:  # the full spectra's first columns, so both forms hold exactly the same values
        fdx, fdy = (np.ascontiguousarray(otf[:, : shape[1] // 2 + 1]) for otf in difference_otfs(shape))
    else:
        dx = np.zeros(shape, np.float32)
        dx[0, 0], dx[0, -1] = -1.0, 1.0
        dy = np.zeros(shape, np.float32)
        dy[0, 0], dy[-1, 0] = -1.0, 1.0
        fdx, fdy = fft.fft2(dx), fft.fft2(dy)
    fdx.setflags(write=False)
    fdy.setflags(write=False)
    return fdx, fdy


def _deconvolve_plane_set(image: np.ndarray, kernel: np.ndarray, lam: float, iterations: int) -> np.ndarray:
    """HQS deconvolution of an H x W x C image (circular; the caller pads)."""
    shape = image.shape[:2]
    otf = transfer_function(kernel, shape)
    fdx, fdy = difference_otfs(shape)  # matching np.roll below
    otf_power = (np.abs(otf) ** 2).astype(np.float32)
    grad_power = (np.abs(fdx) ** 2 + np.abs(fdy) ** 2).astype(np.float32)
    out = np.empty_like(image)
    for c in range(image.shape[2]):
        y = image[..., c]
        numerator_data = np.conj(otf) * fft.fft2(y)
        x = y
        beta = 20.0 * lam
        for _ in range(iterations):
            gx = np.roll(x, -1, axis=1) - x
            gy = np.roll(x, -1, axis=0) - x
            threshold = lam / beta
            wx = np.sign(gx) * np.maximum(np.abs(gx) - threshold, 0.0)
            wy = np.sign(gy) * np.maximum(np.abs(gy) - threshold, 0.0)
            numerator = numerator_data + beta * (np.conj(fdx) * fft.fft2(wx) + np.conj(fdy) * fft.fft2(wy))
            x = np.real(fft.ifft2(numerator / (otf_power + beta * grad_power))).astype(np.float32)
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

    def process(tile: np.ndarray) -> np.ndarray:
        height, width = tile.shape[:2]
        padded_h = cv2.getOptimalDFTSize(height + 2 * pad)
        padded_w = cv2.getOptimalDFTSize(width + 2 * pad)
        padded = cv2.copyMakeBorder(
            tile, pad, padded_h - height - pad, pad, padded_w - width - pad, cv2.BORDER_REFLECT
        )
        if padded.ndim == 2:
            padded = padded[..., None]
        return _deconvolve_plane_set(padded, kernel, lam, iterations)[pad : pad + height, pad : pad + width]

    return map_tiles(pixels, process, tile_size=TILE, overlap=OVERLAP, progress=progress, cancel=cancel)


class DefocusReading(NamedTuple):
    """The even blur read, and whether the photo is too grainy to deconvolve before its grain is gone."""

    estimate: DefocusEstimate
    grainy: bool


#: The deconvolution's prior weight after an earlier step removed the grain, as a share of the weight the
#: photo as it came would get: chosen on held-out BSD432 photos, never on McMaster or Set14 (the figures are
#: in TRAINING_LOG session 17).
ARRIVED_PRIOR_SHARE = 0.25

#: How the network is conditioned when a grainy photo must lose its grain before its blur is undone.
GRAIN_FIRST_INSTRUCTION = "remove the noise and the blur"


class DefocusRestorer:
    """Reads an even blur from the photo's spectrum and deconvolves it where the photo shows it. Deconvolving
    grain would amplify it: a grainy photo (asked for deblurring alone) first goes through the network,
    conditioned as for a request to remove noise and blur, and the kernel is read again from its output.
    Read again on the network's output when a step left the blur to the network (a cheap read)."""

    name = "defocus"
    faults = frozenset({"deblur"})
    title = "even blur read from the spectrum, deconvolution"
    after_network = True
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        progress(0.0, "looking for an even blur")
        estimate = None
        arrived = context.as_it_came(pixels)
        if arrived is not None:
            # An earlier step (grain) smoothed the rings the blur wrote into the spectrum into a soft blur
            # of its own; the photo as it came still shows them, its grain a floor the fit models. The kernel
            # read there is undone on the pixels the earlier steps made; where it shows none (a JPEG's blocks
            # hide it), the pixels as they are now are read.
            estimate = estimate_defocus(arrived)
        if estimate is None or not estimate.found:
            estimate = estimate_defocus(pixels)
        grainy = estimate.found and not context.after_network and is_grainy(pixels)
        return Reading(
            self.name,
            estimate.found,
            summary=f"undoing {estimate.describe()}",
            absent="Found no even out-of-focus blur to undo",
            estimate=DefocusReading(estimate, grainy),
        )

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        assert isinstance(reading.estimate, DefocusReading)
        estimate, grainy = reading.estimate
        if not grainy:
            progress(0.0, f"undoing {estimate.describe()}")
            lam = None
            arrived = context.as_it_came(pixels)
            if arrived is not None:
                # After a grain step the pixels read as clean, but what the filter left of the grain is still
                # there for the deconvolution to amplify: the prior is weighted by the grain the photo came
                # with (ARRIVED_PRIOR_SHARE).
                lam = max(LAMBDA_FLOOR, ARRIVED_PRIOR_SHARE * prior_weight(arrived))
            restored = undo_blur(pixels, estimate, lam=lam, progress=progress, cancel=cancel)
            return Outcome(restored, (f"Found {estimate.describe()} and undid it.",), _metadata(estimate))
        progress(0.0, "removing the grain before the blur")
        cleaned = network_pass(
            pixels,
            context,
            embedding=instruction_embedding(GRAIN_FIRST_INSTRUCTION),
            progress=scaled_progress(progress, 0.0, 0.7),
            cancel=cancel,
        )
        np.clip(cleaned, 0.0, 1.0, out=cleaned)  # the network's own array: clipped in place
        estimate = estimate_defocus(cleaned)
        if not estimate.found:
            finding = (
                "Found neither an even out-of-focus blur nor a camera shake to undo, so only the network ran."
            )
            return Outcome(cleaned, (finding,), network_metadata(), (RESTORE,), made_by="network")
        progress(0.7, f"undoing {estimate.describe()}")
        restored = undo_blur(cleaned, estimate, progress=scaled_progress(progress, 0.7, 1.0), cancel=cancel)
        finding = (
            f"Found {estimate.describe()} and undid it. It was grainy too, so the grain was removed first."
        )
        return Outcome(restored, (finding,), {**network_metadata(), **_metadata(estimate)}, (RESTORE,))

    def cost(self, shape: tuple[int, ...]) -> float:
        return 0.3 + 3.0 * megapixels(shape)


def _metadata(estimate: DefocusEstimate) -> dict[str, object]:
    return {"defocus": (estimate.shape, estimate.size)}
