"""TilePlan: where the tiles of one image go, and how much each tile's pixels count when blended."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class Tile:
    """One tile, in the coordinates of the padded image (ends exclusive)."""

    index: int
    row: int
    col: int
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0


def axis_spans(length: int, tile: int, overlap: int, multiple_of: int = 1) -> tuple[tuple[int, int], ...]:
    """(start, end) spans covering [0, length) with tiles of `tile` px overlapping by >= `overlap`.

    `length` and `tile` are multiples of `multiple_of`; every start is one too, so a network that
    downsamples by that factor sees each tile on the same pixel grid as the whole image. Spans are spread
    evenly and the last one ends exactly at `length`, so no tile reaches past the (padded) image.
    """
    if length <= tile:
        return ((0, length),)
    stride = tile - overlap
    last = length - tile
    count = math.ceil((length - overlap) / stride)
    while True:
        starts = [(round(k * last / (count - 1)) // multiple_of) * multiple_of for k in range(count)]
        starts[-1] = last
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        # Snapping to the multiple can stretch a gap past the stride: add a tile until it cannot.
        if all(0 < gap <= stride for gap in gaps):
            return tuple((start, start + tile) for start in starts)
        count += 1


def blend_ramp(overlap: int) -> np.ndarray:
    """Weights over the `overlap` pixels at a tile's inner edge, edge first: 0 ... raised cosine ... 1.

    The outer 3/8 of the overlap has weight exactly 0: those pixels saw the tile's artificial border
    (zero padding inside the network), so a network whose receptive radius is <= 3/8 of the overlap
    (receptive field 7 in an overlap of 8; 25 in 32) blends to exactly its untiled output. The middle
    quarter is a raised cosine, which with the neighbour's mirrored ramp sums to 1, so networks with a
    wider reach cross-fade instead of showing a seam.
    """
    margin = overlap // 2 - overlap // 8
    ramp_length = overlap - 2 * margin
    weights = np.ones(overlap, dtype=np.float64)
    weights[:margin] = 0.0
    if ramp_length > 0:
        t = (np.arange(ramp_length, dtype=np.float64) + 0.5) / ramp_length
        weights[margin : margin + ramp_length] = np.sin(0.5 * np.pi * t) ** 2
    return weights


def axis_weights(spans: tuple[tuple[int, int], ...], length: int, overlap: int) -> list[np.ndarray]:
    """Per-span 1-D weights, normalised so that at every position the spans' weights sum to 1.

    A tile's 2-D weight is the outer product of its row and column weights; because the tiles form a
    grid, the 2-D weights then also sum to 1 everywhere and no full-size weight buffer is needed.
    """
    ramp = blend_ramp(overlap)
    raw = []
    for start, end in spans:
        weights = np.ones(end - start, dtype=np.float64)
        if start > 0 and overlap:
            weights[:overlap] *= ramp
        if end < length and overlap:
            weights[-overlap:] *= ramp[::-1]
        raw.append(weights)
    total = np.zeros(length, dtype=np.float64)
    for (start, end), weights in zip(spans, raw, strict=True):
        total[start:end] += weights
    if not np.all(total > 0):
        raise RuntimeError(f"tile plan leaves pixels without weight (length={length}, spans={spans})")
    return [
        (weights / total[start:end]).astype(np.float32)
        for (start, end), weights in zip(spans, raw, strict=True)
    ]


def _scaled(spans: tuple[tuple[int, int], ...], scale: int) -> tuple[tuple[int, int], ...]:
    return spans if scale == 1 else tuple((start * scale, end * scale) for start, end in spans)


def reflect_indices(start: int, end: int, size: int) -> np.ndarray:
    """Indices into [0, size) for positions [start, end), mirrored at the edges (numpy "reflect")."""
    positions = np.arange(start, end)
    if size == 1:
        return np.zeros_like(positions)
    period = 2 * (size - 1)
    folded = np.mod(positions, period)
    return np.where(folded < size, folded, period - folded)


@dataclass(frozen=True)
class TilePlan:
    """The tile grid over an image padded up to the model's multiple (and minimum size)."""

    height: int
    width: int
    padded_height: int
    padded_width: int
    tile_size: int
    overlap: int
    multiple_of: int
    rows: tuple[tuple[int, int], ...]
    cols: tuple[tuple[int, int], ...]

    @classmethod
    def build(
        cls,
        height: int,
        width: int,
        *,
        tile_size: int,
        overlap: int,
        multiple_of: int = 1,
        minimum_size: int = 1,
    ) -> TilePlan:
        if height < 1 or width < 1:
            raise ValueError(f"cannot tile an empty image ({height}x{width})")
        if multiple_of < 1 or overlap < 0:
            raise ValueError("multiple_of must be >= 1 and overlap >= 0")
        tile = (tile_size // multiple_of) * multiple_of
        if tile < round_up(minimum_size, multiple_of) or tile <= 2 * overlap:
            raise ValueError(
                f"tile size {tile_size} is too small for overlap {overlap}, multiple {multiple_of} "
                f"and minimum size {minimum_size}"
            )
        padded_height = round_up(max(height, minimum_size), multiple_of)
        padded_width = round_up(max(width, minimum_size), multiple_of)
        return cls(
            height=height,
            width=width,
            padded_height=padded_height,
            padded_width=padded_width,
            tile_size=tile,
            overlap=overlap,
            multiple_of=multiple_of,
            rows=axis_spans(padded_height, tile, overlap, multiple_of),
            cols=axis_spans(padded_width, tile, overlap, multiple_of),
        )

    @property
    def tiles(self) -> list[Tile]:
        """Row-major list of tiles."""
        return [
            Tile(r * len(self.cols) + c, r, c, y0, y1, x0, x1)
            for r, (y0, y1) in enumerate(self.rows)
            for c, (x0, x1) in enumerate(self.cols)
        ]

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols)

    def row_weights(self, scale: int = 1) -> list[np.ndarray]:
        """Each tile row's blend weights, on a grid `scale` times finer (an enlarging network's output)."""
        return axis_weights(_scaled(self.rows, scale), self.padded_height * scale, self.overlap * scale)

    def col_weights(self, scale: int = 1) -> list[np.ndarray]:
        return axis_weights(_scaled(self.cols, scale), self.padded_width * scale, self.overlap * scale)

    def read_tile(self, image: np.ndarray, tile: Tile) -> np.ndarray:
        """The tile's pixels (h, w, C); parts past the image edge are mirrored, as np.pad(mode="reflect")."""
        if tile.y1 <= self.height and tile.x1 <= self.width:
            return image[tile.y0 : tile.y1, tile.x0 : tile.x1]
        rows = reflect_indices(tile.y0, tile.y1, self.height)
        cols = reflect_indices(tile.x0, tile.x1, self.width)
        return image[np.ix_(rows, cols)]
