"""JPEG: the quality a photo was saved at, read from its pixels, and the DCT filter's level for it.

A JPEG stores each 8 x 8 block's DCT coefficients as multiples of a quantisation step; decoded, the
luma's block-aligned coefficients still cluster at those multiples. For the lowest frequencies the step
is read as the largest one that most non-zero coefficients are multiples of, and the IJG scale that
produced it (libjpeg, Pillow, OpenCV and most cameras use the IJG tables) gives the quality. A photo cropped
off the 8-pixel grid after saving is read where its grid lies (grid_phase: the block boundaries' larger
steps); one resized after saving shows no such clusters, and no quality is read; nor above about quality
80, where the DC's step (under 6) is lost in the decoding's rounding. (BSD432 and the validation photos at
qualities 5-70, cropped by 3 and 5 px: 262 of 270 read within 1.)

The artefacts are then treated as noise for engine.noise's filter, at a level proportional to the
quantisation scale (LEVEL_PER_SCALE in luma, COLOUR_FACTOR times that in colour: 4:2:0 leaves the colour
coarser). Chosen on BSD432 (16 photos, qualities 10, 20, 40 and 70): +0.6, +0.5, +0.35 and +0.2 dB.
At full size restore() hands the filtered photo, the decoded one and the scale to the JPEG refiner
(registry JPEG), which restores what a per-block filter cannot: edges, and colour at the luma's edges.
"""

from __future__ import annotations

import math

import numpy as np

from engine.blur.analysis import luminance
from engine.noise.dct import BLOCK, NoiseLevel, dct_matrix

__all__ = [
    "COLOUR_FACTOR",
    "LEVEL_PER_SCALE",
    "SCALE_UNIT",
    "estimate_jpeg_quality",
    "grid_phase",
    "jpeg_noise_level",
    "quantisation_scale",
]

#: Luma level per unit of the IJG quantisation scale (100 at quality 50, 500 at quality 10), /255.
LEVEL_PER_SCALE = 0.04
COLOUR_FACTOR = 3.0
#: The unit the JPEG refiner (registry JPEG, training/refiner.py) reads the scale in: 1 at quality 10.
SCALE_UNIT = 500.0
MAX_BLOCKS = 40_000
MIN_SAMPLES = 40  # non-zero coefficients a step must explain
# The share of them within FIT_TOLERANCE, or FIT_RELATIVE of the step, of a multiple of it. Decoding
# clips overshoots in saturated colours, which moves the luma's coefficients by several units at quality 10
# (McMaster: ±2-10 around multiples of 80); values at random fit a step's tolerance 25-50 % of the time.
FIT_SHARE = 0.7
FIT_TOLERANCE = 1.5
FIT_RELATIVE = 1 / 8
#: Blocks with a luma this many levels or fewer from 0 or 255 are left out of the read: they were clipped.
CLIP_LEVELS = 0.5
MIN_STEP = 6  # at a smaller step, values at random fit the tolerance half of the time or more
#: How much larger the mean step across the grid's boundaries must be than at the median offset.
PHASE_CONTRAST = 1.05

# The IJG (Annex K) luminance table, and the lowest AC frequencies, whose steps are read if the DC's is not.
_LUMA_TABLE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    np.float64,
)
_AC_FREQUENCIES = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (0, 3), (3, 0), (1, 2), (2, 1))
_DCT = dct_matrix(BLOCK).astype(np.float64)


def _step(values: np.ndarray) -> int | None:
    """The largest quantisation step that most of `values`' non-zero coefficients are multiples of.

    Every value outside the zero bin counts, so a multiple of the true step fails on the values at its odd
    multiples (at 160, the many coefficients at ±80 of a quality-10 photo).
    """
    for step in range(255, MIN_STEP - 1, -1):
        tolerance = max(FIT_TOLERANCE, step * FIT_RELATIVE)
        nonzero = values[np.abs(values) > tolerance]
        if len(nonzero) < MIN_SAMPLES:
            continue
        off = np.abs(nonzero - step * np.round(nonzero / step))
        if np.mean(off <= tolerance) >= FIT_SHARE:
            return step
    return None


def grid_phase(pixels: np.ndarray) -> tuple[int, int] | None:
    """Where the 8 x 8 block grid of a decoded JPEG starts (row, column offsets 0-7), or None if unseen.

    Blocks are coded apart, so the steps between neighbouring pixels are larger, on average, across a
    block boundary than inside a block: per direction, the offset whose boundary steps stand out by
    PHASE_CONTRAST over the median offset's. A photo cropped off the grid after saving shows it shifted.
    """
    return _phase_of(luminance(pixels))


def _phase_of(luma: np.ndarray) -> tuple[int, int] | None:
    phase = []
    for steps in (np.abs(np.diff(luma, axis=0)).mean(axis=1), np.abs(np.diff(luma, axis=1)).mean(axis=0)):
        usable = len(steps) // BLOCK * BLOCK
        if usable < 4 * BLOCK:
            return None
        # steps[i] lies between pixels i and i + 1: a boundary of blocks that start at (i + 1) % 8
        by_offset = np.roll(steps[:usable].reshape(-1, BLOCK).mean(axis=0), 1)
        best = int(np.argmax(by_offset))
        if by_offset[best] < PHASE_CONTRAST * float(np.median(by_offset)):
            return None
        phase.append(best)
    return phase[0], phase[1]


def estimate_jpeg_quality(pixels: np.ndarray) -> int | None:
    """The IJG quality (1-100) `pixels` (H x W x 3, [0, 1]) were last saved at as a JPEG, or None.

    The grid is read where grid_phase sees it start, then where it starts in an uncropped photo: at
    quality 70 and above the boundaries barely stand out (grid_phase can pick a wrong offset), but the
    steps can still be read. Read half a block off the grid, quality 5's steps can pass for quality 10's.
    """
    luma = luminance(pixels)  # JPEG's Y (Rec. 601), read once for the grid and the steps
    phase = _phase_of(luma)
    if phase is not None and phase != (0, 0):
        quality = _quality_on_grid(luma[phase[0] :, phase[1] :])
        if quality is not None:
            return quality
    return _quality_on_grid(luma)


def _quality_on_grid(luma: np.ndarray) -> int | None:
    rows, cols = luma.shape[0] // BLOCK, luma.shape[1] // BLOCK
    if rows * cols < MIN_SAMPLES:
        return None
    step = max(1, math.ceil(math.sqrt(rows * cols / MAX_BLOCKS)))
    # level-shifted as its encoder does
    cut = 255.0 * luma[: rows * BLOCK, : cols * BLOCK].astype(np.float64) - 128.0
    blocks = cut.reshape(rows, BLOCK, cols, BLOCK)[::step, :, ::step].transpose(0, 2, 1, 3)
    blocks = blocks.reshape(-1, BLOCK, BLOCK)
    # A block that decodes past white or black is clipped, which moves even its DC off the grid of steps
    # (white: 1016, where quality 10 stores 1040): a page, a sky or a studio backdrop would hide the steps.
    unclipped = np.all(np.abs(blocks + 0.5) < 127.5 - CLIP_LEVELS, axis=(1, 2))
    if np.count_nonzero(unclipped) >= MIN_SAMPLES:
        blocks = blocks[unclipped]
    coefficients = _DCT @ blocks @ _DCT.T
    # Every block's DC is non-zero and, as the mean of 64 pixels, barely moved by the clipping of a
    # decoded JPEG's overshoots; the AC coefficients are, at low quality. The DC's step decides when found.
    dc = _step(coefficients[:, 0, 0])
    if dc is not None:
        scale = 100.0 * dc / _LUMA_TABLE[0, 0]
    else:
        scales = [
            100.0 * found / _LUMA_TABLE[i, j]
            for i, j in _AC_FREQUENCIES
            if (found := _step(coefficients[:, i, j])) is not None
        ]
        if len(scales) < 3:
            return None
        scale = float(np.median(scales))
    if scale <= 1.0:
        return None
    quality = 5000.0 / scale if scale > 100.0 else (200.0 - scale) / 2.0
    return int(round(min(max(quality, 1.0), 100.0)))


def quantisation_scale(quality: int) -> float:
    """The IJG scale (percent of the Annex K tables) a JPEG saved at `quality` was quantised with."""
    q = min(max(int(quality), 1), 100)
    return 5000.0 / q if q < 50 else 200.0 - 2.0 * q


def jpeg_noise_level(quality: int) -> NoiseLevel:
    """The level at which engine.noise's filter removes the artefacts of a JPEG saved at `quality`."""
    luma = LEVEL_PER_SCALE * quantisation_scale(quality) / 255.0
    return NoiseLevel((luma, COLOUR_FACTOR * luma, COLOUR_FACTOR * luma))
