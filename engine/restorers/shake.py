"""Camera shake: read the shake's path from the photo itself, then undo it by deconvolution and the shake
refiner (ShakeRestorer).

numpy + OpenCV only. Why this is not left to the network: trained on the compute we have, the network
returns a shaken photo as it came (McMaster, a 21-px shake: 22.00 -> 22.01 dB). A shake, unlike a lens out
of focus, writes no rings into the spectrum (engine.restorers.defocus finds nothing), so its kernel is
estimated blindly, the way Xu, Zheng & Jia (2013) and Pan et al. (2014) do, coarse to fine over a pyramid
whose kernel side grows by sqrt(2) per level:

* latent step: the sharp photo is approximated by one with sparse (L0) gradients, by half-quadratic
  splitting, a closed-form step per iteration in the Fourier domain. Such an image keeps only the strong
  edges, which are what tells a kernel;
* edge step: of its gradients, only the strongest are kept, as many per direction as a kernel of this size
  needs to be determined (Cho & Lee 2009: r * sqrt(pixels * kernel pixels) for each of 4 directions);
* kernel step: least squares on the gradients, ||grad(L) * k - grad(B)||^2 + w ||k||^2, over the kernel's
  support (conjugate gradients on FFT products), then small values and small islands pruned;
* the kernel is moved so its mass is centred, so that the deconvolved photo does not shift.

The search starts from a 2-px stroke, and where it starts matters: from a horizontal stroke alone a
diagonal shake was often read as a wrong, longer path. So it runs from each of STARTS (four directions)
and keeps the kernel whose deconvolution leaves the photo's gradients sparsest (the sparsity check below).

Edges inside fine texture (grass, fur, fabric) are left out of the edge step (Xu & Jia 2010's usefulness).

A blind estimate returns some kernel even for a sharp photo, and deconvolving a sharp photo with it costs
10-25 dB. So the kernel is used only when it is a thin path at least MIN_LENGTH long, when it explains the
photo's 2-D power spectrum clearly better than "no blur" (and than the even blur engine.restorers.defocus
found, if any), and when deconvolving with it makes the photo's gradients sparser. Otherwise the shake is
reported as not found, and left to the network. The kernel is then undone with
engine.restorers.defocus.deconvolve (sparse-gradient prior, tiled).

Not modelled: a shake that differs across the frame (rotation about the lens axis), and moving subjects.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft

from engine.blur.analysis import luminance
from engine.models import SHAKE
from engine.progress import CancelToken, ProgressCallback, no_progress, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, megapixels
from engine.restorers.defocus import (
    SPECTRUM_SIDE,
    DefocusReading,
    deconvolve,
    difference_otfs,
    fit_error,
    transfer_function,
    welch_power,
)
from engine.restorers.network import network_fallback, refine

__all__ = [
    "CROP",
    "MAX_KERNEL",
    "SHAKE_UNIT",
    "WORK_SIDE",
    "MotionEstimate",
    "ShakeRestorer",
    "estimate_motion",
    "path_length",
    "shake_level",
    "undo_motion",
]

#: The estimate runs on a copy whose long side is at most this (px); its kernel is scaled back up. A 12 MP
#: photo is read at half its size: shakes of 2 * MIN_LENGTH to 2 * MAX_KERNEL px are seen.
WORK_SIDE = 2048
#: ... and on the most detailed CROP x CROP square of that copy: edges tell the kernel, and flat sky or
#: wall only costs time.
CROP = 640
#: Largest kernel side at the working scale (px): a shake up to this long is read.
MAX_KERNEL = 31
#: Alternations of latent, edge and kernel steps per pyramid level, and at the finest level, where the
#: estimate is still settling after ITERATIONS. bench.quality's shake, 5 -> 15 there: McMaster +4.31 ->
#: +4.49, Set14 +2.62 -> +2.76 dB. 25 gave Set14 +2.77 (a scratch run), and took 47.5 s where 15 took 29.9 s
#: and 5 took 12.5 s (Set14 baboon, 2 cores).
ITERATIONS = 5
FINAL_ITERATIONS = 15
#: Directions (degrees) of the 2-px stroke each blind search starts from; the kernel whose deconvolution
#: leaves the sparsest gradients wins. Chosen on a test photo (cups_512, 8 shakes) and 12 BSD432 photos with
#: the bench's 21 px shake (mean gain before the checks, dB): horizontal start alone +3.42 / +2.54; of four
#: starts, the sparsest +3.83 / +2.60, the best spectrum fit +3.19 / +2.60, the best possible +4.08 / +2.80.
STARTS = (0, 45, 90, 135)
#: Threads the searches from the STARTS run on: one per start, as far as the CPU has cores. On 2 cores, a
#: 12 MP photo's four searches took 57.5 s one after another and 29.3 s on two threads.
SEARCH_THREADS = max(1, min(len(STARTS), os.cpu_count() or 1))
#: L0 weight of the latent step at the coarsest level, divided by 1.1 per alternation down to the floor.
L0_WEIGHT = 4e-3
L0_FLOOR = 1e-4
#: Edges kept per direction: EDGE_RATIO * sqrt(pixels * kernel pixels) (Cho & Lee's r).
EDGE_RATIO = 2.0
#: Edges are taken only where Xu & Jia's usefulness r, over a USEFUL_WINDOW square, reaches USEFUL_MIN.
USEFUL_WINDOW = 9
USEFUL_MIN = 0.1
#: Weight of ||k||^2 in the kernel step. Chosen on 24 BSD432 photos (0.5, 2, 8: within 0.13 dB).
KERNEL_WEIGHT = 8.0
#: Kernel values under this share of the peak are dropped, and so are islands under this share of the mass.
PRUNE_SHARE = 0.05
ISLAND_SHARE = 0.1
#: A shorter path than this (px, where it is read) is not trusted: on sharp photos, blind estimates
#: return paths of 2-15 px, and those that pass the two checks below were 5-7 px long.
MIN_LENGTH = 8.0
#: A thin path of length L covers about 3 L pixels (90 % of its mass). An estimate spread over more than
#: this many times L is a blob, not a path, and is not trusted. Shaken BSD432 photos spread 2.2-8.5 (at 6-8
#: the path was still worth +0.4 to +0.9 dB, a 2048 px photo's 25 px jerky shake +5.5 dB at 7.9).
MAX_SPREAD = 10.0
#: The kernel must explain the photo's 2-D power spectrum better than "no blur" does: its fit error must be
#: under this share of the sharp fit's. Blind estimates always return some kernel, and on a sharp photo
#: they return a short false one whose deconvolution ruins it (-10 to -25 dB on 11 BSD432 photos). There
#: the ratio was 0.37-1.4, on 15 shaken ones (21 px) 0.06-0.33.
SPECTRUM_MARGIN = 0.4
#: The same margin where the path is checked on the photo as it came, before an earlier step removed its
#: grain: over a floor of grain the spectrum tells a path from none less well. On 24 BSD432 photos with grain
#: σ 8 (never McMaster or Set14; bench.motion --grainy), sharp ones whose false path was 8 px or longer fitted
#: 0.28-0.86 of "no blur" (each turned down by the sparsity check, at 0.96-1.02), shaken ones (21 px)
#: 0.14-0.85: 20 of those 24 found at 0.6, 16 at 0.4; no sharp one at either.
GRAINY_SPECTRUM_MARGIN = 0.6
#: And deconvolving with it must make the photo's gradients sparser (Krishnan et al. 2011's |g|_1 / |g|_2)
#: than the same prior without a kernel does: the ratio must be under this. Sharp photos: 0.86-1.02;
#: shaken ones: 0.79-0.93.
SPARSITY_MARGIN = 0.95
#: Where engine.restorers.defocus found an even blur, the path must fit the spectrum this much better than it:
#: a free-form kernel fits any spectrum somewhat better than a disk. Photos with a disk (r 2, 3, 5 px):
#: 0.42-0.98 of the disk's error; a 12 MP photo with a 41 px shake that fitted a slight Gaussian: 0.07.
EVEN_MARGIN = 0.3
#: Weight of the sparse-gradient prior in the deconvolution. Chosen on the same BSD432 photos (1e-3 -0.3 dB,
#: 5e-4 -0.9 dB, 4e-3 -0.16 dB): a kernel read blindly is never exact, and a stronger prior rings less where
#: it is wrong.
DECONVOLUTION_WEIGHT = 2e-3
#: The shake refiner (resources/models/shake.onnx) reads a path's length in these units (px; 1 at the
#: bench's 21-px shake), up to its training draws' longest path (31 px at most, a misread one a little more).
SHAKE_UNIT = 21.0
SHAKE_LEVEL_MAX = 1.6


@dataclass(frozen=True)
class MotionEstimate:
    """The camera-shake kernel read from a photo (at full size, float32, sum 1), or None."""

    kernel: np.ndarray | None
    #: length of the path (px at full size): the longer side of its bounding box
    length: float
    #: pixels holding 90 % of the kernel's mass, over its length
    spread: float
    #: mean squared log error of the photo's 2-D spectrum fitted with this kernel, and with no blur
    fit_error: float = math.inf
    sharp_fit_error: float = math.inf
    #: gradient sparsity after deconvolving with the kernel, over that after the prior alone
    sparsity: float = math.inf
    #: the path's length where it was read (px of the working copy)
    read_length: float = 0.0
    #: the same spectrum's fit error for the even blur engine.restorers.defocus found, if it found one
    even_fit_error: float = math.inf
    #: the share of sharp_fit_error fit_error must be under (SPECTRUM_MARGIN, or GRAINY_SPECTRUM_MARGIN where
    #: the spectrum was read on the photo as it came)
    spectrum_margin: float = SPECTRUM_MARGIN

    @property
    def found(self) -> bool:
        return (
            self.kernel is not None
            and self.read_length >= MIN_LENGTH
            and self.spread <= MAX_SPREAD
            and self.fit_error < self.spectrum_margin * self.sharp_fit_error
            and self.sparsity < SPARSITY_MARGIN
            and self.fit_error < EVEN_MARGIN * self.even_fit_error
        )

    @property
    def level(self) -> float:
        """What the shake refiner is told: the path's length in SHAKE_UNITs, at most SHAKE_LEVEL_MAX."""
        return shake_level(self.length)

    def describe(self) -> str:
        """E.g. "camera shake along a path about 21 px long", for the user."""
        return f"camera shake along a path about {self.length:.0f} px long"


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences, circular (matching the Fourier-domain steps)."""
    return np.roll(x, -1, axis=1) - x, np.roll(x, -1, axis=0) - x


# The search works on real images and kernels, so its Fourier steps use real FFTs: the half spectrum
# (rfft2) holds all the information, at half the work of fft2 on the same grid.


def _kernel_of(spectrum: np.ndarray, side: int, shape: tuple[int, int]) -> np.ndarray:
    """The side x side kernel (centred) whose half spectrum on a `shape` grid is `spectrum`: the inverse of
    transfer_function(..., half=True)."""
    plane = fft.irfft2(spectrum, s=shape).astype(np.float32)
    half = side // 2
    return np.roll(plane, (half, half), axis=(0, 1))[:side, :side]


def _sparse_latent(blurred: np.ndarray, kernel: np.ndarray, weight: float) -> np.ndarray:
    """min |k * x - y|^2 + weight * #{grad x != 0}, by half-quadratic splitting (Xu et al. 2013)."""
    shape = blurred.shape
    otf = transfer_function(kernel, shape, half=True)
    fdx, fdy = difference_otfs(shape, half=True)
    grad_power = np.abs(fdx) ** 2 + np.abs(fdy) ** 2
    otf_power = np.abs(otf) ** 2
    data = np.conj(otf) * fft.rfft2(blurred)
    latent = blurred
    beta = 2.0 * weight
    while beta < 1e5:
        gx, gy = _gradients(latent)
        small = gx * gx + gy * gy < weight / beta
        gx[small] = 0.0
        gy[small] = 0.0
        numerator = data + beta * (np.conj(fdx) * fft.rfft2(gx) + np.conj(fdy) * fft.rfft2(gy))
        latent = fft.irfft2(numerator / (otf_power + beta * grad_power), s=shape).astype(np.float32)
        beta *= 2.0
    return latent


def _strong_edges(latent: np.ndarray, side: int, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The latent's gradients, only the strongest ones in each of 4 directions (Cho & Lee 2009)."""
    gx, gy = _gradients(latent)
    magnitude = np.hypot(gx, gy) * inside
    direction = np.floor(np.mod(np.arctan2(gy, gx), np.pi) / (np.pi / 4) + 0.5).astype(np.int64) % 4
    wanted = int(EDGE_RATIO * math.sqrt(magnitude.size * side * side))
    keep = np.zeros(magnitude.shape, bool)
    for d in range(4):
        values = magnitude[direction == d]
        if values.size > wanted:
            threshold = np.partition(values, values.size - wanted - 1)[values.size - wanted - 1]
            keep |= (direction == d) & (magnitude > threshold)
        else:
            keep |= direction == d
    return gx * keep, gy * keep


def _usefulness(gx: np.ndarray, gy: np.ndarray, side: int) -> np.ndarray:
    """Xu & Jia (2010)'s r: |sum of gradients| / (sum of |gradients| + 0.5) over a window around each pixel.

    Near 1 along an edge wider than the window, near 0 in fine texture (grass, foliage, fabric), whose
    gradients cancel: texture finer than the kernel misleads its estimate, so its edges are not used.
    """
    window = (USEFUL_WINDOW, USEFUL_WINDOW)
    sx = cv2.boxFilter(gx, -1, window, normalize=False)
    sy = cv2.boxFilter(gy, -1, window, normalize=False)
    total = cv2.boxFilter(np.hypot(gx, gy), -1, window, normalize=False)
    return np.hypot(sx, sy) / (total + 0.5)


def _kernel_step(
    blurred_grads: tuple[np.ndarray, np.ndarray], latent_grads: tuple[np.ndarray, np.ndarray], side: int
) -> np.ndarray:
    """Least-squares kernel on its side x side support, by conjugate gradients."""
    shape = blurred_grads[0].shape
    latent_f = [fft.rfft2(g) for g in latent_grads]
    (lx, ly), (bx, by) = latent_f, blurred_grads
    rhs = _kernel_of(np.conj(lx) * fft.rfft2(bx) + np.conj(ly) * fft.rfft2(by), side, shape)
    gram = np.abs(lx) ** 2 + np.abs(ly) ** 2

    def apply(k: np.ndarray) -> np.ndarray:
        return _kernel_of(gram * transfer_function(k, shape, half=True), side, shape) + KERNEL_WEIGHT * k

    kernel = np.full((side, side), 1.0 / (side * side), np.float32)
    residual = rhs - apply(kernel)
    direction = residual.copy()
    power = float((residual * residual).sum())
    for _ in range(20):
        applied = apply(direction)
        step = power / max(float((direction * applied).sum()), 1e-30)
        kernel = kernel + step * direction
        residual = residual - step * applied
        new_power = float((residual * residual).sum())
        if new_power < 1e-12:
            break
        direction = residual + (new_power / power) * direction
        power = new_power
    return _prune(kernel)


def _prune(kernel: np.ndarray) -> np.ndarray:
    kernel = np.where(kernel < PRUNE_SHARE * kernel.max(), 0.0, kernel).astype(np.float32)
    count, labels = cv2.connectedComponents((kernel > 0).astype(np.uint8), connectivity=8)
    total = float(kernel.sum())
    for label in range(1, count):
        island = labels == label
        if kernel[island].sum() < ISLAND_SHARE * total:
            kernel[island] = 0.0
    total = float(kernel.sum())
    if total <= 0:
        kernel = np.zeros_like(kernel)
        kernel[kernel.shape[0] // 2, kernel.shape[1] // 2] = 1.0
        return kernel
    return kernel / total


def _centred(kernel: np.ndarray) -> np.ndarray:
    """The kernel moved (sub-pixel) so its centre of mass is its centre: deconvolving it will not shift."""
    side = kernel.shape[0]
    rows, cols = np.mgrid[:side, :side]
    total = float(kernel.sum())
    cy = float((kernel * rows).sum()) / total
    cx = float((kernel * cols).sum()) / total
    shift = np.array([[1, 0, side // 2 - cx], [0, 1, side // 2 - cy]], np.float32)
    moved = cv2.warpAffine(kernel.astype(np.float32), shift, (side, side), flags=cv2.INTER_LINEAR)
    moved = np.maximum(moved, 0.0)
    return moved / moved.sum()


def _resized_kernel(kernel: np.ndarray, side: int) -> np.ndarray:
    out = np.maximum(cv2.resize(kernel, (side, side), interpolation=cv2.INTER_LINEAR), 0.0)
    return out / out.sum()


def shake_level(length: float) -> float:
    """A path `length` (px) as the shake refiner is told it: in SHAKE_UNITs, at most SHAKE_LEVEL_MAX."""
    return min(length / SHAKE_UNIT, SHAKE_LEVEL_MAX)


def path_length(kernel: np.ndarray) -> float:
    """A shake kernel's path length (px): the longer side of the box around its values of at least
    PRUNE_SHARE of its peak."""
    rows, cols = np.nonzero(kernel >= PRUNE_SHARE * kernel.max())
    return float(max(rows.max() - rows.min(), cols.max() - cols.min()))


def _stroke(side: int, degrees: int) -> np.ndarray:
    """A side x side kernel: a 2-px stroke through its centre, in the direction `degrees` (0, 45, 90, 135)."""
    kernel = np.zeros((side, side), np.float32)
    c = side // 2
    dy, dx = {0: (0, -1), 45: (1, -1), 90: (-1, 0), 135: (-1, -1)}[degrees]
    kernel[c, c] = kernel[c + dy, c + dx] = 0.5
    return kernel


def _fast_side(length: int, pad: int) -> int:
    """The largest side up to `length`, and at least 7/8 of it, that padded by `pad` on both ends is a
    length the FFTs are fast on (only the factors 2, 3 and 5); `length` itself where there is none."""
    for side in range(length, max(1, length * 7 // 8) - 1, -1):
        if fft.next_fast_len(side + 2 * pad, real=True) == side + 2 * pad:
            return side
    return length


def _blind_kernel(
    grey: np.ndarray,
    side: int,
    start: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> np.ndarray:
    """Coarse-to-fine kernel estimate on a grey float32 image (kernel side `side`, odd), from a stroke."""
    sides: list[float] = []
    size = float(side)
    while size >= 3.0:
        sides.append(size)
        size /= math.sqrt(2.0)
    sides.reverse()
    kernel: np.ndarray | None = None
    weight = L0_WEIGHT
    steps = (len(sides) - 1) * ITERATIONS + FINAL_ITERATIONS
    for level, level_size in enumerate(sides):
        k_side = int(round(level_size)) | 1
        factor = level_size / side
        if factor < 1.0:
            dsize = (max(16, round(grey.shape[1] * factor)), max(16, round(grey.shape[0] * factor)))
            image = cv2.resize(grey, dsize, interpolation=cv2.INTER_AREA)
        else:
            image = grey
        kernel = _stroke(k_side, start) if kernel is None else _resized_kernel(kernel, k_side)
        # Reflected borders, and the border's gradients left out of both sides of the kernel step: the
        # Fourier steps are circular, and the seam where the padding wraps around is no edge of the photo.
        # A few rows and columns less where that makes a grid the FFTs are fast on (a 494 x 638 grid has
        # the factors 13, 19 and 29); added reflected borders instead cost 0.3 dB on McMaster.
        image = image[: _fast_side(image.shape[0], k_side), : _fast_side(image.shape[1], k_side)]
        height, width = image.shape
        padded = cv2.copyMakeBorder(image, k_side, k_side, k_side, k_side, cv2.BORDER_REFLECT)
        inside = np.zeros(padded.shape, np.float32)
        inside[2 * k_side : height, 2 * k_side : width] = 1.0
        gx, gy = _gradients(padded)
        blurred_grads = (gx * inside, gy * inside)
        edges_allowed = inside * (_usefulness(gx, gy, k_side) >= USEFUL_MIN)
        for iteration in range(FINAL_ITERATIONS if level == len(sides) - 1 else ITERATIONS):
            if cancel is not None:
                cancel.raise_if_cancelled()
            progress((level * ITERATIONS + iteration) / steps, "reading the camera shake")
            latent = _sparse_latent(padded, kernel, weight)
            kernel = _kernel_step(blurred_grads, _strong_edges(latent, k_side, edges_allowed), k_side)
            weight = max(weight / 1.1, L0_FLOOR)
    assert kernel is not None
    return _centred(kernel)


def _most_detailed_square(grey: np.ndarray, side: int) -> np.ndarray:
    """The side x side square (or the whole image, if smaller) with the most gradient energy."""
    return grey[_detail_window(grey, side)]


def _detail_window(grey: np.ndarray, side: int) -> tuple[slice, slice]:
    """Where _most_detailed_square cuts its square: (rows, columns)."""
    height, width = grey.shape
    if height <= side and width <= side:
        return slice(0, height), slice(0, width)
    gx, gy = _gradients(grey)
    energy = cv2.integral(np.abs(gx[:-1, :-1]) + np.abs(gy[:-1, :-1]))
    rows, cols = min(side, height), min(side, width)
    step = max(8, side // 16)
    best, corner = -1.0, (0, 0)
    for y in range(0, height - rows + 1, step):
        for x in range(0, width - cols + 1, step):
            total = (
                energy[y + rows - 1, x + cols - 1]
                - energy[y, x + cols - 1]
                - energy[y + rows - 1, x]
                + energy[y, x]
            )
            if total > best:
                best, corner = float(total), (y, x)
    y, x = corner
    return slice(y, y + rows), slice(x, x + cols)


def _normalised_sparsity(grey: np.ndarray) -> float:
    """|g|_1 / (|g|_2 sqrt(n)) of the forward differences: lower is sparser (sharper)."""
    g = np.concatenate([np.diff(grey, axis=1).ravel(), np.diff(grey, axis=0).ravel()]).astype(np.float64)
    return float(np.abs(g).sum() / max(math.sqrt(float((g * g).sum()) * g.size), 1e-12))


def _deconvolved_sparsity(grey: np.ndarray, kernel: np.ndarray) -> float:
    """Sparsity of the photo deconvolved with `kernel` (a 1 x 1 kernel: what the prior alone does)."""
    return _normalised_sparsity(deconvolve(grey[..., None], kernel, lam=DECONVOLUTION_WEIGHT)[..., 0])


def _sparsity_gain(grey: np.ndarray, kernel: np.ndarray, reference: float) -> float:
    """Sparsity after deconvolving `kernel`, over `reference` (the prior alone's): SPARSITY_MARGIN."""
    return _deconvolved_sparsity(grey, kernel) / max(reference, 1e-12)


def _best_start(
    grey: np.ndarray, side: int, progress: ProgressCallback, cancel: CancelToken | None
) -> tuple[np.ndarray, float]:
    """The blind kernel, from each of STARTS, whose deconvolution leaves the sparsest gradients, and that
    sparsity (_sparsity_gain). The searches run side by side on SEARCH_THREADS threads (their FFTs and
    OpenCV calls release the GIL); progress is their mean, so it only grows."""
    reference = _deconvolved_sparsity(grey, np.ones((1, 1), np.float32))
    done = [0.0] * len(STARTS)
    lock = threading.Lock()

    def search(index: int) -> tuple[np.ndarray, float]:
        def report(fraction: float, stage: str) -> None:
            with lock:
                done[index] = fraction
                progress(sum(done) / len(done), stage)

        kernel = _blind_kernel(grey, side, STARTS[index], report, cancel)
        return kernel, _sparsity_gain(grey, kernel, reference)

    with ThreadPoolExecutor(max_workers=SEARCH_THREADS) as pool:
        found = list(pool.map(search, range(len(STARTS))))
    return min(found, key=lambda pair: pair[1])


def estimate_motion(
    pixels: np.ndarray,
    *,
    even_blur: np.ndarray | None = None,
    spectrum_of: np.ndarray | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> MotionEstimate:
    """Read a camera shake's kernel from H x W x C float32 pixels in [0, 1] (see the module's notes).

    `spectrum_of`: the photo (same size) whose power spectrum checks the path, where it is not `pixels`: a
    grainy photo's path is read after its grain is removed, but the grain filter reshapes the spectrum (the
    true path's fit fell from 0.08 to 0.5-1.2 of "no blur"), while the photo as it came shows the path's
    spectrum over a flat floor of grain, which the fit models.

    `even_blur`: the kernel of an even blur found in the same photo (engine.restorers.defocus). A shake is
    then found only if its path explains the photo's spectrum better (a shaken photo can fit a slight even
    blur).
    """
    height, width = pixels.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    grey = _working_grey(pixels, scale)
    window = _detail_window(grey, CROP)
    grey = np.ascontiguousarray(grey[window])
    side = min(MAX_KERNEL, (min(grey.shape) // 4) | 1)
    power = welch_power(grey if spectrum_of is None else _working_grey(spectrum_of, scale)[window])
    if side < 5 or power is None:
        return MotionEstimate(None, 0.0, math.inf)
    kernel, sparsity = _best_start(grey, side, progress, cancel)
    mass = np.sort(kernel.ravel())[::-1]
    covering = int(np.searchsorted(np.cumsum(mass), 0.9)) + 1
    length = path_length(kernel)
    spread = covering / max(length, 1.0)
    fit, sharp_fit = spectrum_fit(power, kernel), spectrum_fit(power, None)
    even_fit = math.inf
    if even_blur is not None:
        even_side = max(1, round(even_blur.shape[0] * scale)) | 1
        even_fit = spectrum_fit(power, _resized_kernel(np.asarray(even_blur, np.float32), even_side))
    full_kernel = kernel if scale >= 1.0 else _centred(_resized_kernel(kernel, int(round(side / scale)) | 1))
    margin = SPECTRUM_MARGIN if spectrum_of is None else GRAINY_SPECTRUM_MARGIN
    return MotionEstimate(
        full_kernel.astype(np.float32),
        length / scale,
        spread,
        fit,
        sharp_fit,
        sparsity,
        length,
        even_fit,
        margin,
    )


def _working_grey(pixels: np.ndarray, scale: float) -> np.ndarray:
    """The luminance the search works on: clipped, and shrunk by `scale` (area averaging) when below 1."""
    grey = luminance(np.clip(np.asarray(pixels, np.float32), 0.0, 1.0))
    if scale < 1.0:
        height, width = grey.shape
        grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    return grey


def undo_motion(
    pixels: np.ndarray,
    estimate: MotionEstimate,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Deconvolve the shake `estimate` found; a copy of the pixels when it found none."""
    pixels = np.clip(np.asarray(pixels, np.float32), 0.0, 1.0)
    if not estimate.found or estimate.kernel is None:
        return pixels  # np.clip made it a new array
    return deconvolve(
        pixels,
        estimate.kernel,
        lam=DECONVOLUTION_WEIGHT,
        progress=progress,
        cancel=cancel,
    )


_FREQUENCY = np.hypot(*np.meshgrid(np.fft.fftfreq(SPECTRUM_SIDE), np.fft.fftfreq(SPECTRUM_SIDE)))
_FIT_BAND = (_FREQUENCY >= 3 / SPECTRUM_SIDE) & (_FREQUENCY <= 0.5 - 2 / SPECTRUM_SIDE)


def spectrum_fit(power: np.ndarray, kernel: np.ndarray | None) -> float:
    """fit_error of a 2-D power spectrum (SPECTRUM_SIDE square) for a blur `kernel` (None: no blur)."""
    if kernel is None:
        blur_power = np.ones(int(_FIT_BAND.sum()))
    else:
        otf = transfer_function(np.asarray(kernel, np.float64), (SPECTRUM_SIDE, SPECTRUM_SIDE))
        blur_power = (np.abs(otf) ** 2)[_FIT_BAND]
    return fit_error(power[_FIT_BAND], _FREQUENCY[_FIT_BAND], blur_power)


class ShakeRestorer:
    """Reads a camera shake's path blindly from the photo's edges (after the defocus read, whose even blur the
    path must explain better), deconvolves it, and lets the shake refiner clean up the deconvolution's
    ringing and the ghost edges of a slightly misread path. A grainy photo with an even blur is not searched:
    its grain goes first (engine.restorers.defocus)."""

    name = "shake"
    faults = frozenset({"deblur"})
    title = "shake path read from the edges, deconvolution + shake refiner"
    after_network = False
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        absent = "Found neither an even out-of-focus blur nor a camera shake to undo"
        even = context.reading("defocus")
        even_blur = None
        if even is not None and even.found and isinstance(even.estimate, DefocusReading):
            if even.estimate.grainy:
                return Reading(self.name, False, absent=absent)
            even_blur = even.estimate.estimate.kernel
        progress(0.0, "reading the camera's path")
        # after an earlier step (grain), the path is read on its output and checked on the photo before any
        # step smoothed it: as it came, or as the JPEG step left it (blocks cloud the spectrum)
        motion = estimate_motion(
            pixels,
            even_blur=even_blur,
            spectrum_of=context.unsmoothed(pixels),
            progress=progress,
            cancel=cancel,
        )
        return Reading(self.name, motion.found, f"undoing {motion.describe()}", absent, motion)

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        motion = reading.estimate
        if not reading.found or not isinstance(motion, MotionEstimate):
            return network_fallback(pixels, context, progress, cancel)
        progress(0.0, f"undoing {motion.describe()}")
        restored = undo_motion(pixels, motion, progress=scaled_progress(progress, 0.0, 0.6), cancel=cancel)
        # The deconvolution's ringing and the path's misreadings are what the shake refiner was trained on.
        progress(0.6, "cleaning up after the deconvolution")
        restored = refine(
            SHAKE,
            motion.level,
            pixels,
            restored,
            device=context.device,
            tile_size=context.tile_size,
            progress=scaled_progress(progress, 0.6, 1.0),
            cancel=cancel,
        )
        metadata = {"motion_length": round(motion.length, 1), "shake_model_sha256": SHAKE.sha256}
        return Outcome(restored, (f"Found {motion.describe()} and undid it.",), metadata, (SHAKE,))

    def cost(self, shape: tuple[int, ...]) -> float:
        # the search reads at most a 640-px square of a copy of at most 2048 px; the deconvolution and the
        # refiner run at full size
        return 15.0 + 6.0 * megapixels(shape)
