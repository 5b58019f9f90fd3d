"""Denoising by sliding-window DCT shrinkage, with the noise level read where the network sees flat ground.

numpy + OpenCV only. Why this is not left to the network: trained on the compute we have, it removes
grain but smooths texture away and leaves low-frequency blotches (McMaster at σ 25: 28.3 dB, where FFDNet
reaches 32.4; a clean textured BSD432 photo asked to lose its noise came back at 33 dB). Its output is
still the best guide to where a photo is flat; the noise level is measured there, and a classical
two-stage filter denoises the photo from its own pixels:

* Noise level: the photo is cut into 8 x 8 blocks in an orthonormal opponent colour space (luma and two
  colour differences, so white noise stays white with the same σ). In the flattest FLAT_SHARE of the
  blocks (flat in the network's output, with no clipped value) the input's AC DCT coefficients are
  noise alone, and the median of their squares gives a variance per channel and frequency. White noise
  takes the median over the frequencies, robust to picture left in the lowest ones; grain coloured by a
  camera's JPEG takes the mean, its whole power (COLOURED_RATIO). Measured on the network's residual
  instead, the level came out low (the network leaves low-frequency noise in): 1.3 dB less at σ 25.
* Filtering (Yu & Sapiro 2011, "DCT image denoising"; the two stages of BM3D, Dabov et al. 2007, without
  its block matching): every 8 x 8 block, stride 1, is transformed; coefficients under 2.7 σ are dropped
  (the basic estimate); then each coefficient of the input is scaled by the empirical Wiener gain
  b² / (b² + σ²), b the basic estimate's coefficient. The 64 overlapping estimates of each pixel are
  averaged, each block weighted by the inverse of its estimate's noise variance (BM3D's aggregation).
* Clipping: noise added before a photo was stored is clipped at black and white, which lifts the mean
  of a dark pixel and lowers a bright one, and a linear filter keeps that bias. Where the input has
  clipped values nearby, the estimate is mapped back through the expectation of a clipped Gaussian
  (Foi 2009, "Clipped noisy images: heteroskedastic modeling and practical denoising").

`python -m bench.quality --tasks denoise-s25,denoise-camera` measures it on McMaster and Set14;
`python -m bench.noise` on BSD432, where its constants were chosen. Not modelled: noise whose strength
changes with brightness (one level per channel for the whole photo).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from engine.blur.analysis import luminance
from engine.progress import CancelToken, ProgressCallback
from engine.runtime.devices import preferred_device
from engine.tiling import map_tiles

__all__ = [
    "BLOCK",
    "HARD_THRESHOLD",
    "MIN_NOISE",
    "NOISE_UNIT",
    "NoiseLevel",
    "denoise_dct",
    "estimate_noise_level",
    "grain_windows",
    "undo_clipping",
]

BLOCK = 8
#: Coefficients below this many noise standard deviations are dropped from the basic estimate.
HARD_THRESHOLD = 2.7
#: Below this noise (RMS over the channels, [0, 1] units) there is nothing for the filter to remove.
MIN_NOISE = 1.0 / 255
#: The denoise refiner (resources/models/denoise.onnx) reads the noise level's RMS in these units (1 at σ 50).
NOISE_UNIT = 50.0 / 255
#: The share of the blocks, flattest first, where the noise is measured. Chosen on BSD432 (textured
#: photos, 31 of them, noise 0-25/255 and a camera's JPEG grain): 5 % against 25 % reads less texture as
#: noise, +1.7 dB on clean photos and +0.35 dB at noise 10/255, and is as good at 25/255.
FLAT_SHARE = 0.05
MIN_FLAT_BLOCKS = 64
#: A channel whose mean noise power over the frequencies is above this many times the median is coloured.
COLOURED_RATIO = 1.5
#: Blocks whose guide comes within this many noise standard deviations of 0 or 1 are not read.
CLIP_MARGIN = 2.0
MAX_BLOCKS = 100_000  # blocks sampled for the noise level (a grid of every n-th block)
#: The clipping correction applies in full where this share of a pixel's 8 x 8 neighbourhood is clipped.
CLIP_SHARE = 0.1
TILE = 512
OVERLAP = 24
#: A photo bigger than GRAIN_WINDOWS windows of GRAIN_WINDOW px has its level read on that many of them.
GRAIN_WINDOWS = 8
GRAIN_WINDOW = 512
#: A window with more than this share of its pixels within 2/255 of black or white is picked last.
WINDOW_CLIP_SHARE = 0.5
_MEDIAN_CHI2 = 0.454936  # median of a chi-square variable with one degree of freedom

# Orthonormal opponent colour transform (rows: luma, red - blue, green - magenta).
_OPPONENT = (
    np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], np.float32)
    / np.array([[math.sqrt(3)], [math.sqrt(2)], [math.sqrt(6)]], np.float32)
).astype(np.float32)


def dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.astype(np.float32)


_DCT = dct_matrix(BLOCK)


def _to_opponent(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb @ _OPPONENT.T)


def _from_opponent(opp: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(opp @ _OPPONENT)


@dataclass(frozen=True)
class NoiseLevel:
    """Noise standard deviation in each opponent channel (luma, red - blue, green - magenta), [0, 1] units."""

    sigma: tuple[float, float, float]

    @property
    def rms(self) -> float:
        """RMS noise over the three channels (the same in RGB: the transform is orthonormal)."""
        return float(math.sqrt(sum(s * s for s in self.sigma) / 3.0))

    @property
    def rgb_sigma(self) -> np.ndarray:
        """Noise standard deviation in each of R, G and B."""
        variance = np.square(np.asarray(self.sigma, np.float32))
        return np.sqrt((_OPPONENT.T**2) @ variance).astype(np.float32)

    @property
    def found(self) -> bool:
        return self.rms >= MIN_NOISE

    def describe(self) -> str:
        return f"grain of about {255.0 * self.rms:.1f}/255"

    def scaled(self, factor: float) -> NoiseLevel:
        """The level times `factor` in every channel (e.g. for the photo shrunk by `factor`)."""
        return NoiseLevel(tuple(factor * s for s in self.sigma))  # type: ignore[arg-type]


def _read_level(coefficients: np.ndarray, texture: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Noise variance per opponent channel from the flattest FLAT_SHARE of the `candidates` blocks."""
    keep = max(min(len(candidates), MIN_FLAT_BLOCKS), int(FLAT_SHARE * len(candidates)))
    # A stable sort: among equally flat blocks (a synthetic gradient) the choice must not depend on the
    # CPU's sorting kernel (numpy's default sort picks different ties with and without AVX-512).
    flattest = coefficients[candidates[np.argsort(texture[candidates], kind="stable")[:keep]]]
    variance = np.median(flattest * flattest, axis=0) / _MEDIAN_CHI2  # (3, 8, 8)
    ac = variance.reshape(3, -1)[:, 1:]
    median, mean = np.median(ac, axis=1), ac.mean(axis=1)
    # White noise: the median over frequencies, robust to the picture left in the lowest ones. Noise that
    # a camera's JPEG coloured (its colour channels keep only low frequencies: mean/median about 10 on
    # BSD432, against 1.0-1.1 for white noise): the mean, i.e. the noise's whole power per pixel.
    return np.where(mean > COLOURED_RATIO * median, mean, median)


def estimate_noise_level(noisy: np.ndarray, guide: np.ndarray) -> NoiseLevel:
    """The white-noise level of `noisy` (H x W x 3, [0, 1]), measured where `guide` (denoised) is flattest.

    Clipping at black and white shrinks the noise, so blocks near either are left out. A first reading
    leaves out blocks with a clipped value, which under strong noise favours blocks whose noise happened
    to be small (σ 50 read as 38); the second leaves out blocks whose guide comes within CLIP_MARGIN of
    those levels of 0 or 1, which does not depend on the noise drawn.
    """
    rows, cols = noisy.shape[0] // BLOCK, noisy.shape[1] // BLOCK
    if rows == 0 or cols == 0:
        return NoiseLevel((0.0, 0.0, 0.0))
    step = max(1, math.ceil(math.sqrt(rows * cols / MAX_BLOCKS)))

    def sampled(pixels: np.ndarray) -> np.ndarray:  # (blocks, 8, 8, 3) on the sampling grid
        cut = pixels[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK, 3)[::step, :, ::step]
        return cut.transpose(0, 2, 1, 3, 4).reshape(-1, BLOCK, BLOCK, 3)

    noisy_blocks, guide_blocks = sampled(noisy), sampled(guide)
    coefficients = _DCT @ _to_opponent(noisy_blocks).transpose(0, 3, 1, 2) @ _DCT.T
    guide_luma = _DCT @ _to_opponent(guide_blocks)[..., 0] @ _DCT.T
    texture = np.sum(guide_luma**2, axis=(1, 2)) - guide_luma[:, 0, 0] ** 2
    unclipped = np.flatnonzero(~np.any((noisy_blocks <= 0.0) | (noisy_blocks >= 1.0), axis=(1, 2, 3)))
    if len(unclipped) < MIN_FLAT_BLOCKS:  # a photo clipped nearly everywhere: every block is read
        unclipped = np.arange(len(texture))
    level = _read_level(coefficients, texture, unclipped)
    margin = CLIP_MARGIN * float(NoiseLevel(tuple(np.sqrt(level))).rgb_sigma.max())  # type: ignore[arg-type]
    low, high = guide_blocks.min(axis=(1, 2, 3)), guide_blocks.max(axis=(1, 2, 3))
    inside = np.flatnonzero((low >= margin) & (high <= 1.0 - margin))
    if len(inside) >= MIN_FLAT_BLOCKS:  # else too little of the photo is far from black and white
        level = _read_level(coefficients, texture, inside)
    return NoiseLevel(tuple(float(math.sqrt(v)) for v in level))  # type: ignore[arg-type]


def grain_windows(pixels: np.ndarray) -> list[tuple[slice, slice]]:
    """Where to read the noise level of `pixels` (H x W x 3, [0, 1]): the whole photo, or for one bigger
    than GRAIN_WINDOWS windows of GRAIN_WINDOW px, the GRAIN_WINDOWS flattest of a grid of such windows.

    The level is read where the photo is flattest (estimate_noise_level), so the windows are chosen there:
    by the mean absolute Laplacian of the luma, which grain raises alike everywhere; windows mostly clipped
    at black or white, where grain is clipped away, come last. Each starts on the 8-pixel grid.
    """
    height, width = pixels.shape[:2]
    side = GRAIN_WINDOW
    if height * width <= GRAIN_WINDOWS * side * side or height < side or width < side:
        return [(slice(None), slice(None))]
    luma = luminance(pixels)
    edges = np.abs(cv2.Laplacian(luma, cv2.CV_32F))
    clipped = (luma <= 2 / 255) | (luma >= 253 / 255)
    rows, cols = height // side, width // side
    top, left = (height - rows * side) // 2 // BLOCK * BLOCK, (width - cols * side) // 2 // BLOCK * BLOCK
    candidates = []
    for r in range(rows):
        for c in range(cols):
            y, x = top + r * side, left + c * side
            window = (slice(y, y + side), slice(x, x + side))
            mostly_clipped = float(clipped[window].mean()) > WINDOW_CLIP_SHARE
            candidates.append((mostly_clipped, float(edges[window].mean()), window))
    candidates.sort(key=lambda candidate: candidate[:2])
    return [window for _, _, window in candidates[:GRAIN_WINDOWS]]


def _coefficient(padded: np.ndarray, i: int, j: int) -> np.ndarray:
    """DCT coefficient (i, j) of the 8 x 8 block whose top-left corner is each pixel of `padded`."""
    return cv2.sepFilter2D(
        padded,
        -1,
        _DCT[j].reshape(1, -1),
        _DCT[i].reshape(-1, 1),
        anchor=(0, 0),
        borderType=cv2.BORDER_REFLECT,
    )


def _put_back(coefficient: np.ndarray, i: int, j: int) -> np.ndarray:
    """Each block's coefficient (i, j) spread back over its 8 x 8 pixels (the transpose of _coefficient)."""
    return cv2.sepFilter2D(
        coefficient,
        -1,
        np.ascontiguousarray(_DCT[j, ::-1].reshape(1, -1)),
        np.ascontiguousarray(_DCT[i, ::-1].reshape(-1, 1)),
        anchor=(BLOCK - 1, BLOCK - 1),
        borderType=cv2.BORDER_CONSTANT,
    )


def _shrink_plane(plane: np.ndarray, sigma: float, basic: np.ndarray | None) -> np.ndarray:
    """Sliding 8 x 8 DCT shrinkage of one channel: hard threshold (basic None) or Wiener gains from `basic`.

    Each block counts in inverse proportion to its estimate's noise variance (the sum of its squared gains).
    """
    pad = BLOCK - 1
    noisy = cv2.copyMakeBorder(plane, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    guide = None if basic is None else cv2.copyMakeBorder(basic, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    variance = sigma * sigma
    kept: list[np.ndarray] = []
    energy = np.zeros_like(noisy)
    for i in range(BLOCK):
        for j in range(BLOCK):
            coefficient = _coefficient(noisy, i, j)
            if guide is None:
                gain = (np.abs(coefficient) > HARD_THRESHOLD * sigma).astype(np.float32)
                if i == 0 and j == 0:
                    gain[:] = 1.0
            else:
                b = _coefficient(guide, i, j)
                b *= b
                gain = b / (b + variance + 1e-12)
            kept.append(coefficient * gain)
            energy += gain * gain
    weight = 1.0 / np.maximum(energy, 1.0)
    total = np.zeros_like(noisy)
    for index, coefficient in enumerate(kept):
        total += _put_back(coefficient * weight, *divmod(index, BLOCK))
    corner = (BLOCK - 1, BLOCK - 1)
    norm = cv2.boxFilter(
        weight, -1, (BLOCK, BLOCK), anchor=corner, normalize=False, borderType=cv2.BORDER_CONSTANT
    )
    return (total / np.maximum(norm, 1e-12))[pad:-pad, pad:-pad]


@functools.lru_cache(maxsize=16)
def _clipped_mean_table(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, E[clip(x + n, 0, 1)]) on a grid of x, for n ~ N(0, sigma²): made once per level, not per tile."""
    x = np.linspace(-4.0 * sigma, 1.0 + 4.0 * sigma, 2048)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    a, b = -x / sigma, (1.0 - x) / sigma
    cdf_a, cdf_b = 0.5 * (1.0 + erf(a / math.sqrt(2.0))), 0.5 * (1.0 + erf(b / math.sqrt(2.0)))
    pdf_a, pdf_b = np.exp(-0.5 * a * a), np.exp(-0.5 * b * b)
    mean = x * (cdf_b - cdf_a) + sigma * (pdf_a - pdf_b) / math.sqrt(2.0 * math.pi) + (1.0 - cdf_b)
    return x, mean


def undo_clipping(estimate: np.ndarray, noisy: np.ndarray, rgb_sigma: np.ndarray) -> np.ndarray:
    """Remove from `estimate` the bias that clipping `noisy`'s noise at 0 and 1 left, where it was clipped."""
    out = estimate.copy()
    for c in range(3):
        sigma = float(rgb_sigma[c])
        if sigma <= 0.0:
            continue
        grid, clipped_mean = _clipped_mean_table(sigma)
        unbiased = np.interp(estimate[..., c], clipped_mean, grid).astype(np.float32)
        clipped = ((noisy[..., c] <= 0.0) | (noisy[..., c] >= 1.0)).astype(np.float32)
        weight = np.minimum(1.0, cv2.blur(clipped, (BLOCK, BLOCK)) / CLIP_SHARE)
        out[..., c] += weight * (unbiased - estimate[..., c])
    return out


def denoise_dct(
    noisy: np.ndarray,
    level: NoiseLevel,
    *,
    clipped: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    device: str | None = None,
    graph: bool | None = None,
) -> np.ndarray:
    """Remove white noise of `level` from `noisy` (H x W x 3 float32, [0, 1]); returns a new clipped array.

    `clipped`: the noise was clipped at 0 and 1 after it was added (grain), so its bias is undone where the
    input is clipped; not for JPEG artefacts, which are made after clipping. `graph`: run the shrinkage as
    an ONNX graph (engine.noise.dct_graph) on `device`; by default only where that is a GPU (CUDA,
    DirectML): on the CPU the numpy filter, one tile per core, is faster.
    """
    rgb_sigma = level.rgb_sigma
    if graph is None:
        graph = preferred_device(device) != "cpu"
    shrink = _graph_shrink(device) if graph else _numpy_shrink

    def process(tile: np.ndarray) -> np.ndarray:
        opponent = _to_opponent(tile)
        out = opponent.copy()
        active = [c for c, sigma in enumerate(level.sigma) if sigma > 0.0]
        if active:
            planes = np.ascontiguousarray(opponent.transpose(2, 0, 1)[active])
            filtered = shrink(planes, np.array([level.sigma[c] for c in active], np.float32))
            for index, c in enumerate(active):
                out[..., c] = filtered[index]
        restored = _from_opponent(out)
        return undo_clipping(restored, tile, rgb_sigma) if clipped else restored

    # A GPU takes one tile at a time; on the CPU each core filters a tile of its own.
    workers = 1 if graph else None
    return map_tiles(
        noisy, process, tile_size=TILE, overlap=OVERLAP, progress=progress, cancel=cancel, workers=workers
    )


def _numpy_shrink(planes: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Both stages of the filter on each of (N, H, W) `planes`, plane n at noise σ `sigmas[n]`."""
    return np.stack(
        [
            _shrink_plane(p, float(s), _shrink_plane(p, float(s), None))
            for p, s in zip(planes, sigmas, strict=True)
        ]
    )


def _graph_shrink(device: str | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """_numpy_shrink's result computed by the filter's ONNX graph on `device`."""
    from engine.noise.dct_graph import DCT_GRAPH_NAME, dct_filter_graph, shrink_planes
    from engine.runtime import graph_session

    session = graph_session(DCT_GRAPH_NAME, dct_filter_graph, device)
    return lambda planes, sigmas: shrink_planes(session.run, planes, sigmas)
