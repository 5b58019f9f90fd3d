"""Enlarging ("make it bigger"): the super-resolution network at ×2 or ×4, last in every plan.

The scale is the instruction's (×2 unless it asks for ×4), or, where it names a size ("6000 px wide"), the
smaller of ×2 and ×4 that reaches it, after which the result is resampled to exactly that size. The network
runs in tiles of the small photo (memory bounded by the output), and refuses, before any work, an output
over MAX_OUTPUT_PIXELS or one that would not fit in the memory free now.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.errors import TooLargeError
from engine.io.limits import available_memory
from engine.models import ENLARGE_X2, ENLARGE_X4, ModelSpec
from engine.progress import CancelToken, ProgressCallback
from engine.restorers.base import Outcome, Reading, StepContext, megapixels
from engine.runtime import get_session
from engine.tiling import default_tile_size, run_tiled

__all__ = ["MAX_OUTPUT_PIXELS", "SCALES", "EnlargeRestorer", "Enlargement", "enlarge", "plan_enlargement"]

#: The scales the network has tails for, and their models.
SCALES: dict[int, ModelSpec] = {2: ENLARGE_X2, 4: ENLARGE_X4}
#: The largest output PhotoMend makes (as large as the biggest photo it reads).
MAX_OUTPUT_PIXELS = 200_000_000
#: Bytes held per output pixel at the peak of a restore that enlarges and writes the result: the float32
#: result, the writer's float and 8/16-bit copies and the encoder's buffer (the peak RSS that
#: `python -m bench.enlarge --memory` measures, per output pixel, rounded up; model card enlarge.md).
BYTES_PER_OUTPUT_PIXEL = 52


@dataclass(frozen=True)
class Enlargement:
    """What an enlargement will make of a photo: the network's scale, and the exact size wanted (or None)."""

    scale: int
    size: tuple[int, int] | None  # (height, width) to resample the network's output to
    note: str = ""

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return self.size or (shape[0] * self.scale, shape[1] * self.scale)


def plan_enlargement(shape: tuple[int, ...], scale: int, target: tuple[str, int] | None) -> Enlargement:
    """The scale for a photo of `shape`: `scale` (2 or 4), or for `target` ("width"|"height"|"long"|"short",
    pixels) the smaller network scale that reaches it, then resampled to exactly it."""
    height, width = shape[:2]
    if target is None:
        return Enlargement(4 if scale >= 3 else 2, None)
    side, pixels = target
    current = {"width": width, "height": height, "long": max(height, width), "short": min(height, width)}.get(
        side, width
    )
    ratio = pixels / current
    if ratio <= 1.0:
        raise TooLargeError(
            f"the photo is already {current} px on that side: enlarging to {pixels} px would shrink it "
            "(making a photo smaller is a resize, not a restoration)"
        )
    network = 2 if ratio <= 2.0 else 4
    size = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    note = ""
    if ratio > 4.0:
        note = f"the network enlarges up to ×4; the rest of the way to {pixels} px is plain resampling"
    return Enlargement(network, size, note)


def check_output_size(shape: tuple[int, int]) -> None:
    """TooLargeError before any work when the output is over MAX_OUTPUT_PIXELS or would not fit in memory."""
    pixels = shape[0] * shape[1]
    megapixels_out = pixels / 1e6
    if pixels > MAX_OUTPUT_PIXELS:
        raise TooLargeError(
            f"the enlarged photo would be {shape[1]}×{shape[0]} ({megapixels_out:.0f} MP); PhotoMend makes "
            f"photos of up to {MAX_OUTPUT_PIXELS // 1_000_000} MP: ask for ×2, or enlarge a crop"
        )
    free = available_memory()
    needed = pixels * BYTES_PER_OUTPUT_PIXEL
    if free is not None and needed > free:
        raise TooLargeError(
            f"the enlarged photo would be {megapixels_out:.0f} MP and needs about {needed / 2**30:.1f} GB of "
            f"memory; {free / 2**30:.1f} GB is free: close other programs, ask for ×2, or enlarge a crop"
        )


def enlarge(
    pixels: np.ndarray,
    scale: int,
    *,
    device: str | None = None,
    tile_size: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The network's enlargement of H x W x 3 float32 `pixels` by `scale` (2 or 4), not clipped."""
    model = SCALES[scale]
    session = get_session(model, device)
    return run_tiled(
        pixels,
        session.tile_infer({}),
        tile_size=tile_size or default_tile_size(session.device),
        overlap=model.tile_overlap,
        multiple_of=model.multiple_of,
        minimum_size=model.minimum_size,
        progress=progress,
        cancel=cancel,
        out_channels=3,
        scale=scale,
    )


def _plan(shape: tuple[int, ...], context: StepContext) -> Enlargement:
    interpretation = context.interpretation
    return plan_enlargement(
        shape, getattr(interpretation, "scale", 2), getattr(interpretation, "target", None)
    )


class EnlargeRestorer:
    """Super-resolution: ×2 or ×4 by the network, and resampled to an exact size where one was asked for."""

    name = "enlarge"
    faults = frozenset({"upscale"})
    title = "super-resolution network ×2 or ×4"
    after_network = False
    fallback = ""  # its read always finds what to do

    def check(self, shape: tuple[int, ...], context: StepContext) -> None:
        """Refuse, before any step runs, an enlargement too large to make (the plan's preflight)."""
        check_output_size(_plan(shape, context).output_shape(shape))

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        # The size was checked before the plan's first step ran (check, engine.pipeline.plan.preflight).
        plan = _plan(pixels.shape, context)
        height, width = plan.output_shape(pixels.shape)
        return Reading(self.name, True, summary=f"enlarging ×{plan.scale} to {width}×{height}", estimate=plan)

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        plan = reading.estimate
        assert isinstance(plan, Enlargement)
        model = SCALES[plan.scale]
        enlarged = enlarge(
            pixels,
            plan.scale,
            device=context.device,
            tile_size=context.tile_size,
            progress=progress,
            cancel=cancel,
        )
        height, width = enlarged.shape[:2]
        if plan.size is not None and plan.size != (height, width):
            shrinking = plan.size[0] < height
            method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
            enlarged = cv2.resize(enlarged, (plan.size[1], plan.size[0]), interpolation=method)
            height, width = plan.size
        finding = f"Enlarged ×{plan.scale} with the super-resolution network to {width}×{height}"
        if plan.size is not None and plan.size != (
            pixels.shape[0] * plan.scale,
            pixels.shape[1] * plan.scale,
        ):
            finding += f" (resampled from ×{plan.scale} to the size asked for)"
        findings = (finding + ".",) + ((plan.note[0].upper() + plan.note[1:] + ".",) if plan.note else ())
        metadata: dict[str, object] = {
            "scale": round(width / pixels.shape[1], 4),
            "enlarge_model_sha256": model.sha256,
        }
        return Outcome(enlarged, findings, metadata, (model,))

    def cost(self, shape: tuple[int, ...]) -> float:
        # Per small-photo megapixel at ×2; the ×4 tail costs about a third more (bench.enlarge).
        return 0.5 + 15.0 * megapixels(shape)
