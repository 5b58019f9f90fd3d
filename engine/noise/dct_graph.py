"""engine.noise.dct's sliding-window DCT shrinkage as an ONNX graph, so a GPU runs the filter too.

The numpy version (engine.noise.dct._shrink_plane) transforms every 8 x 8 block at stride 1 with 64
separable OpenCV filters, shrinks the coefficients, and puts them back. Here the same arithmetic is one
graph, built in memory (engine.instructions.onnx_writer; nothing is read from disk), both stages at once:

- the 64 coefficients of every block: a 1 x 8 convolution (8 outputs, one per horizontal frequency) and a
  grouped 8 x 1 convolution (8 vertical frequencies each), on the plane padded by 7 px (OpenCV's
  BORDER_REFLECT, done before the graph); channel j * 8 + i holds coefficient (i, j);
- stage 1: coefficients at or under `threshold` (2.7 σ; the DC's is -1, so it is always kept) are
  dropped; stage 2: each is scaled by the Wiener gain b² / (b² + σ²), b the coefficient of the stage-1
  estimate (cropped and padded again by reflection, as the numpy version pads it);
- each block weighted by the inverse of its estimate's noise variance (the sum of its squared gains, at
  least 1); the weighted coefficients put back by the transposed convolutions and divided by the summed
  weights (a ConvTranspose of the weights with an 8 x 8 box).

On the CPU the numpy version, one tile per core, is faster (python -m bench.speed), so the engine uses
this graph only where the restore runs on CUDA or DirectML. The planes of one tile (the three opponent
channels, each with its own σ) are one batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import cv2
import numpy as np

from engine.instructions.onnx_writer import FLOAT, GraphBuilder
from engine.noise.dct import _DCT, BLOCK, HARD_THRESHOLD

__all__ = ["DCT_GRAPH_NAME", "dct_filter_graph", "shrink_planes"]

DCT_GRAPH_NAME = "dct_filter"
PAD = BLOCK - 1
COEFFICIENTS = BLOCK * BLOCK


@functools.lru_cache(maxsize=1)
def dct_filter_graph() -> bytes:
    """The serialized graph: inputs `planes` (N, 1, H + 14, W + 14), `threshold` (N, 64, 1, 1), `variance`
    (N, 1, 1, 1); output `filtered` (N, 1, H + 14, W + 14), whose inner H x W is the filtered plane."""
    g = GraphBuilder(DCT_GRAPH_NAME)
    planes = g.input("planes", FLOAT, ("n", 1, "h", "w"))
    threshold = g.input("threshold", FLOAT, ("n", COEFFICIENTS, 1, 1))
    variance = g.input("variance", FLOAT, ("n", 1, 1, 1))
    g.output("filtered", FLOAT, ("n", 1, "h", "w"))
    dct = _DCT.astype(np.float32)
    # rows: out channel j applies D[j] along x; columns: out channel j * 8 + i applies D[i] along y
    rows = g.const("rows", dct.reshape(BLOCK, 1, 1, BLOCK))
    columns = g.const("columns", np.tile(dct[:, None, :, None], (BLOCK, 1, 1, 1)))
    total_energy = g.const("sum_over_coefficients", np.ones((1, COEFFICIENTS, 1, 1), np.float32))
    box = g.const("box", np.ones((1, 1, BLOCK, BLOCK), np.float32))
    one = g.const("one", np.array(1.0, np.float32))
    tiny = g.const("tiny", np.array(1e-12, np.float32))
    index = {v: g.const(f"at{v}", np.array([v], np.int64)) for v in (PAD, PAD - 1, -PAD, -1, -PAD - 1)}
    first = g.const("first", np.array([-(2**62)], np.int64))  # a reversed slice's end: through index 0
    backwards = g.const("backwards", np.array([-1], np.int64))

    def reflected(padded: str) -> str:
        """The plane inside `padded`'s 7-px border, padded again as OpenCV's BORDER_REFLECT pads."""
        inner = padded
        for axis in (2, 3):
            axes = g.const(f"axis{axis}", np.array([axis], np.int64))
            inner = g.node("Slice", [inner, index[PAD], index[-PAD], axes])
        out = inner
        for axis in (2, 3):
            axes = g.const(f"along{axis}", np.array([axis], np.int64))
            before = g.node("Slice", [out, index[PAD - 1], first, axes, backwards])
            after = g.node("Slice", [out, index[-1], index[-PAD - 1], axes, backwards])
            out = g.node("Concat", [before, out, after], axis=axis)
        return out

    def coefficients(plane: str) -> str:
        return g.node("Conv", [g.node("Conv", [plane, rows]), columns], group=BLOCK)

    def put_back(weighted: str) -> str:
        return g.node("ConvTranspose", [g.node("ConvTranspose", [weighted, columns], group=BLOCK), rows])

    def aggregate(coefficient: str, gain: str, energy: str, output: str | None = None) -> str:
        weight = g.node("Reciprocal", [g.node("Max", [energy, one])])
        kept = g.node("Mul", [g.node("Mul", [coefficient, gain]), weight])
        norm = g.node("Max", [g.node("ConvTranspose", [weight, box]), tiny])
        return g.node("Div", [put_back(kept), norm], output)

    noisy = coefficients(planes)
    # stage 1: hard threshold (a gain of 0 or 1, so its square is itself)
    keep = g.node("Cast", [g.node("Greater", [g.node("Abs", [noisy]), threshold])], to=FLOAT)
    basic = aggregate(noisy, keep, g.node("Conv", [keep, total_energy]))
    # stage 2: empirical Wiener gains from the basic estimate's coefficients
    b2 = g.node("Mul", [coefficients(reflected(basic))] * 2)
    wiener = g.node("Div", [b2, g.node("Add", [b2, variance])])
    energy = g.node("Conv", [g.node("Mul", [wiener, wiener]), total_energy])
    aggregate(noisy, wiener, energy, "filtered")
    return g.serialize()


def shrink_planes(
    run: Callable[[Mapping[str, np.ndarray]], list[np.ndarray]], planes: np.ndarray, sigmas: np.ndarray
) -> np.ndarray:
    """Both stages of the filter on (N, H, W) float32 `planes`, plane n at noise σ `sigmas[n]` (> 0), by
    `run(feeds) -> outputs` (a session of dct_filter_graph()); returns (N, H, W) float32."""
    padded = np.stack([cv2.copyMakeBorder(p, PAD, PAD, PAD, PAD, cv2.BORDER_REFLECT) for p in planes])[
        :, None
    ]
    sigmas = np.asarray(sigmas, np.float32)
    threshold = np.repeat((HARD_THRESHOLD * sigmas)[:, None], COEFFICIENTS, axis=1)
    threshold[:, 0] = -1.0  # the DC coefficient is always kept
    feeds = {
        "planes": np.ascontiguousarray(padded, np.float32),
        "threshold": threshold[:, :, None, None],
        # the numpy version's 1e-12 keeps b² / (b² + σ²) defined where both are 0
        "variance": (sigmas * sigmas + np.float32(1e-12))[:, None, None, None].astype(np.float32),
    }
    return run(feeds)[0][:, 0, PAD:-PAD, PAD:-PAD]
