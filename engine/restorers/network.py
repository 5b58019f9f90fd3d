"""The generalist: the instruction-conditioned network (InstructIR-style), for haze, rain, low light and
whatever has no specialist; and the tiled passes that every network of the engine runs through."""

from __future__ import annotations

import dataclasses

import numpy as np

from engine.models import RESTORE, ModelSpec
from engine.progress import CancelToken, ProgressCallback, no_progress, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, megapixels
from engine.restorers.scene import guide_sigma, guided_tiles, scene_guide, scene_side_for, shrink_to
from engine.runtime import get_session
from engine.tiling import TileInfer, default_tile_size, run_tiled

__all__ = ["GENERALIST", "NetworkRestorer", "network_fallback", "network_pass", "refine", "tiled_pass"]


def _turned(pixels: np.ndarray, turn: int) -> np.ndarray:
    """One of the photo's eight flips and transposes, as a view (H x W x C): bit 4 transposes, then bit 1
    mirrors left to right and bit 2 upside down."""
    if turn & 4:
        pixels = pixels.transpose(1, 0, 2)
    if turn & 1:
        pixels = pixels[:, ::-1]
    if turn & 2:
        pixels = pixels[::-1]
    return pixels


def _unturned(pixels: np.ndarray, turn: int) -> np.ndarray:
    """`_turned`'s inverse."""
    if turn & 2:
        pixels = pixels[::-1]
    if turn & 1:
        pixels = pixels[:, ::-1]
    if turn & 4:
        pixels = pixels.transpose(1, 0, 2)
    return pixels


def tiled_pass(
    image: np.ndarray,
    run: TileInfer,
    model: ModelSpec,
    tile_size: int,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    guide: np.ndarray | None = None,
) -> np.ndarray:
    """`run` over `image` tile by tile, as `model` is cut (`guide`'s channels stacked after the image's, per
    tile: run_tiled); averaged over the photo's flips and transposes where the model asks for a
    self-ensemble (ModelSpec.self_ensemble; 2 is the photo and its mirror image)."""
    runs = model.self_ensemble

    def once(turn: int) -> np.ndarray:
        pixels = image if turn == 0 else np.ascontiguousarray(_turned(image, turn))
        return run_tiled(
            pixels,
            run,
            tile_size=tile_size,
            overlap=model.tile_overlap,
            multiple_of=model.multiple_of,
            minimum_size=model.minimum_size,
            progress=scaled_progress(progress, turn / runs, (turn + 1) / runs),
            cancel=cancel,
            out_channels=3,
            guide=None if guide is None else _turned(guide, turn),
        )

    total = once(0)
    for turn in range(1, runs):
        total += _unturned(once(turn), turn)
    if runs > 1:
        total /= runs
    return total


def refine(
    model: ModelSpec,
    level: float,
    degraded: np.ndarray,
    filtered: np.ndarray,
    *,
    device: str | None = None,
    tile_size: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """A filter refiner's output (JPEG, DENOISE or SHAKE: H x W x 3 float32, not clipped) from the degraded
    photo, what the engine's filter or deconvolution made of it, and the level the refiner is told."""
    session = get_session(model, device)
    run = session.tile_infer({"level": np.array([[level]], np.float32)})
    size = tile_size or default_tile_size(session.device)
    stacked = np.concatenate([degraded, filtered], axis=2)
    return tiled_pass(stacked, run, model, size, progress=progress, cancel=cancel)


def network_pass(
    pixels: np.ndarray,
    context: StepContext,
    *,
    embedding: np.ndarray | None = None,
    scene: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The restoration network over `pixels` (not clipped), conditioned on `embedding` (default: the step's,
    StepContext.embedding); with the scene pass where the step's faults need the whole scene in view."""
    spec = RESTORE
    session = get_session(spec, context.device)
    conditioning = context.embedding() if embedding is None else embedding
    infer = session.tile_infer({spec.conditioning or "embedding": conditioning})
    tile = context.tile_size or default_tile_size(session.device)
    if context.scene_side is not None:  # the same side for every task that has one (0: no scene pass)
        spec = dataclasses.replace(
            spec, scene_sides=tuple((t, context.scene_side) for t, _ in spec.scene_sides)
        )
    side = scene_side_for(spec, context.faults, pixels.shape) if scene else 0
    if not side:
        return tiled_pass(pixels, infer, spec, tile, progress=progress, cancel=cancel)
    progress(0.0, "judging the whole scene")
    small = tiled_pass(
        shrink_to(pixels, side, spec.minimum_size),
        infer,
        spec,
        tile,
        progress=scaled_progress(progress, 0, 0.05),
        cancel=cancel,
    )
    # The guide goes beside the photo tile by tile, in float16: a whole float32 copy of the photo with the
    # guide's channels was the largest buffer of a 48 MP restore (python -m bench.speed --memory).
    guide = scene_guide(small, pixels.shape).astype(np.float16)
    run = guided_tiles(infer, guide_sigma(pixels.shape, max(small.shape[:2])))
    return tiled_pass(
        pixels, run, spec, tile, progress=scaled_progress(progress, 0.05, 1.0), cancel=cancel, guide=guide
    )


class NetworkRestorer:
    """The instruction-conditioned network: reads nothing, undoes any fault as well as it was trained to."""

    name = "network"
    faults = frozenset({"denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg"})
    title = "restoration network"
    after_network = False
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        return Reading(self.name, found=True, summary="restoring")

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        restored = network_pass(pixels, context, progress=progress, cancel=cancel)
        return Outcome(restored, metadata=network_metadata(), models=(RESTORE,), made_by=self.name)

    def cost(self, shape: tuple[int, ...]) -> float:
        return 6.0 * megapixels(shape) + 0.5


#: The one generalist (engine.restorers.registry.GENERALIST).
GENERALIST = NetworkRestorer()


def network_metadata() -> dict[str, object]:
    """RestoreResult.metadata's entries for a run of the restoration network."""
    return {"model": RESTORE.id, "model_sha256": RESTORE.sha256}


def network_fallback(
    pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
) -> Outcome:
    """What a specialist that found nothing returns: the generalist's run for the step's faults, with the
    last reading's `absent` as the finding."""
    absent = context.readings[-1].absent if context.readings else ""
    outcome = GENERALIST.run(pixels, Reading(NetworkRestorer.name, True), context, progress, cancel)
    if absent:
        outcome.findings = (f"{absent}, so only the network ran.",)
    return outcome
