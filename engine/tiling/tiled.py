"""run_tiled: any photo size through a fixed-memory network call, with blending and shrink-on-OOM."""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from engine.errors import ModelError, OutOfMemoryError
from engine.progress import CancelToken, ProgressCallback
from engine.runtime.devices import preferred_device, requested_device
from engine.runtime.memory import free_device_memory
from engine.runtime.oom import is_out_of_memory
from engine.tiling.plan import Tile, TilePlan, round_up

#: infer((1, C, h, w) float32) -> (1, C, h, w)
TileInfer = Callable[[np.ndarray], np.ndarray]

CPU_TILE_SIZE = 512
# DirectML's free memory cannot be read cheaply, and integrated GPUs share system RAM: stay modest and
# let shrink-and-retry handle the rest.
DIRECTML_TILE_SIZE = 512
CUDA_FALLBACK_TILE_SIZE = 1024
# Peak activation memory per tile pixel assumed for the restore U-Net (fp32, width 32, with ORT's
# buffers): an estimate on the safe side; a wrong guess costs one OOM and a halving, not a failure.
_CUDA_BYTES_PER_PIXEL = 4096
#: At most this many tiles of a numpy filter at once (each holds its own working arrays).
MAX_FILTER_WORKERS = 4


def filter_workers() -> int:
    """How many tiles a numpy/OpenCV filter works on at once: one per core this process may use, up to
    MAX_FILTER_WORKERS. OpenCV's small separable filters and numpy's element-wise arithmetic run on one
    core each and release the GIL, so tiles in threads use the others (python -m bench.speed)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_FILTER_WORKERS, cores))


def default_tile_size(device: str | None) -> int:
    """Tile edge for a device: 512 on CPU/DirectML; on CUDA from free memory (NVML), else 1024."""
    name, _ = requested_device(device)
    if name == "auto":
        name = preferred_device(device)
    if name == "cuda":
        free = free_device_memory("cuda")
        if free is None:
            return CUDA_FALLBACK_TILE_SIZE
        # Use half of what is free: other programs and ORT's own workspace need the rest.
        edge = int(math.sqrt(free * 0.5 / _CUDA_BYTES_PER_PIXEL))
        return int(min(2048, max(256, (edge // 256) * 256)))
    if name == "directml":
        return DIRECTML_TILE_SIZE
    return CPU_TILE_SIZE


@dataclass
class _Budget:
    """Largest tile edge known to fit; shared by every tile (and nested retry) of one run_tiled call."""

    limit: int
    minimum: int
    multiple_of: int
    shrinks: int = 0

    def shrink(self, cause: BaseException) -> None:
        if self.limit <= self.minimum:
            raise OutOfMemoryError(
                f"out of memory even with {self.limit} px tiles; close other programs or try --device cpu"
            ) from cause
        self.limit = max(self.minimum, (self.limit // 2 // self.multiple_of) * self.multiple_of)
        self.shrinks += 1


def run_tiled(
    image: np.ndarray,
    infer: TileInfer,
    *,
    tile_size: int,
    overlap: int,
    multiple_of: int = 1,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    minimum_size: int = 1,
    min_tile_size: int | None = None,
    out_channels: int | None = None,
    scale: int = 1,
    workers: int = 1,
    guide: np.ndarray | None = None,
) -> np.ndarray:
    """Run `infer` over (H, W, C) float32 `image` tile by tile and blend the results into one image.

    The image is padded (reflect) to `multiple_of` and `minimum_size` tile by tile, so memory beyond the
    output is O(tile). When `infer` runs out of memory (engine.runtime.is_out_of_memory) the tile limit is
    halved and the failed tile, and every later one, is itself tiled at the smaller size, down to
    `min_tile_size`; then OutOfMemoryError. `cancel` is checked before each tile (engine.errors.Cancelled).
    `infer` returns `out_channels` channels (default: as many as it is given), e.g. when the input carries
    a guide beside the photo (engine.restorers.scene.guided_tiles). An enlarging network (`scale` > 1)
    returns each tile `scale` times bigger; the tiles are cut and blended as at scale 1, on a grid
    `scale` times finer, into an (H·scale, W·scale, C) result. `workers` > 1 runs that many tiles at once
    in threads (for an `infer` that releases the GIL and uses one core, as map_tiles' filters do); the
    result is the same, blended in the same order. `guide` (H, W, G, any float dtype, e.g. float16 to halve
    its memory) is cut into the same tiles and stacked after the image's channels as float32, so `infer`
    gets C + G channels without a whole (H, W, C + G) copy of the photo.
    """
    if image.ndim != 3:
        raise ValueError(f"run_tiled expects an (H, W, C) image, got shape {image.shape}")
    pixels = np.asarray(image, dtype=np.float32)
    if guide is not None and guide.shape[:2] != pixels.shape[:2]:
        raise ValueError(f"the guide's shape {guide.shape} does not match the image's {pixels.shape}")
    smallest = round_up(max(minimum_size, 2 * overlap + multiple_of, 32), multiple_of)
    if min_tile_size is not None:
        smallest = max(smallest, round_up(min_tile_size, multiple_of))
    start_limit = max((tile_size // multiple_of) * multiple_of, smallest)
    budget = _Budget(limit=start_limit, minimum=smallest, multiple_of=multiple_of)
    channels = out_channels or pixels.shape[2] + (0 if guide is None else guide.shape[2])
    job = _TiledJob(
        infer,
        budget,
        overlap,
        multiple_of,
        minimum_size,
        channels,
        progress or _ignore_progress,
        cancel,
        scale,
        max(1, workers),
    )
    result = job.run_plan(pixels, 0.0, 1.0, guide)
    job.progress(1.0, "done")
    return result


def map_tiles(
    pixels: np.ndarray,
    process: Callable[[np.ndarray], np.ndarray],
    *,
    tile_size: int,
    overlap: int,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """run_tiled for a numpy filter: `process` maps an (h, w, C) tile to an (h, w, C) result; the blended
    output is a new float32 array clipped to [0, 1]. Tiles run `workers` at a time (default
    filter_workers()), so `process` must be thread-safe."""

    def infer(batch: np.ndarray) -> np.ndarray:
        result = process(np.ascontiguousarray(batch[0].transpose(1, 2, 0)))
        return np.ascontiguousarray(result.transpose(2, 0, 1))[None]

    out = run_tiled(
        np.ascontiguousarray(pixels, dtype=np.float32),
        infer,
        tile_size=tile_size,
        overlap=overlap,
        progress=progress,
        cancel=cancel,
        workers=filter_workers() if workers is None else workers,
    )
    return np.clip(out, 0.0, 1.0, out=out)


def _ignore_progress(fraction: float, stage: str) -> None:
    """Progress sink when the caller passes none."""


@dataclass
class _TiledJob:
    """One run_tiled call: the settings every (possibly nested) plan of it shares."""

    infer: TileInfer
    budget: _Budget
    overlap: int
    multiple_of: int
    minimum_size: int
    out_channels: int
    progress: ProgressCallback
    cancel: CancelToken | None
    scale: int = 1
    workers: int = 1

    def run_plan(
        self, image: np.ndarray, start: float, end: float, guide: np.ndarray | None = None
    ) -> np.ndarray:
        """Tile `image` (with `guide`'s channels after its own) at the current budget and blend; progress
        goes from `start` to `end`."""
        height, width = image.shape[:2]
        plan = TilePlan.build(
            height,
            width,
            tile_size=self.budget.limit,
            overlap=self.overlap,
            multiple_of=self.multiple_of,
            minimum_size=self.minimum_size,
        )
        s = self.scale
        row_weights = plan.row_weights(s)
        col_weights = plan.col_weights(s)
        output = np.zeros((height * s, width * s, self.out_channels), dtype=np.float32)
        count = len(plan)
        span = (end - start) / count
        for tile, restored in self._restored_tiles(plan, image, guide, start, span):
            # Only the part inside the real image is kept; padding rows/columns are dropped here.
            keep_h = (min(tile.y1, height) - tile.y0) * s
            keep_w = (min(tile.x1, width) - tile.x0) * s
            weight_y = row_weights[tile.row][:keep_h, None, None]
            weight_x = col_weights[tile.col][None, :keep_w, None]
            output[tile.y0 * s : tile.y0 * s + keep_h, tile.x0 * s : tile.x0 * s + keep_w] += (
                restored[:keep_h, :keep_w] * weight_y * weight_x
            )
            self.progress(start + (tile.index + 1) * span, f"tile {tile.index + 1}/{count}")
        return output

    def _restored_tiles(
        self, plan: TilePlan, image: np.ndarray, guide: np.ndarray | None, start: float, span: float
    ) -> Iterator[tuple[Tile, np.ndarray]]:
        """(tile, its result) for every tile of `plan`, in order; `workers` tiles in flight at once."""

        def arguments(tile: Tile) -> tuple[np.ndarray, float, float]:
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            tile_start = start + tile.index * span
            crop = plan.read_tile(image, tile)
            if guide is not None:
                crop = np.concatenate([crop, plan.read_tile(guide, tile).astype(np.float32)], axis=2)
            return crop, tile_start, tile_start + span

        if self.workers == 1 or len(plan) == 1:
            for tile in plan.tiles:
                yield tile, self.infer_tile(*arguments(tile))
            return
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="photomend-tile")
        pending: deque[tuple[Tile, Future[np.ndarray]]] = deque()
        try:
            for tile in plan.tiles:
                if len(pending) == self.workers:
                    done, future = pending.popleft()
                    yield done, future.result()
                pending.append((tile, pool.submit(self.infer_tile, *arguments(tile))))
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            # Cancelled or failed: the tiles not started are dropped, the running ones finish first.
            pool.shutdown(wait=True, cancel_futures=True)

    def infer_tile(self, crop: np.ndarray, start: float, end: float) -> np.ndarray:
        """The network's (h, w, C) output for one tile; tiles it further once it exceeds the budget."""
        while True:
            if max(crop.shape[0], crop.shape[1]) > self.budget.limit:
                # The tile is itself an image whose borders are the tile's borders, so tiling it with
                # the same overlap reproduces what the network would have given for the whole tile.
                return self.run_plan(crop, start, end)
            batch = np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32)
            try:
                restored = self.infer(batch)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                self.budget.shrink(exc)
                continue
            restored = np.asarray(restored)
            expected = (1, self.out_channels, batch.shape[2] * self.scale, batch.shape[3] * self.scale)
            if restored.shape != expected:
                raise ModelError(f"tiled model returned shape {restored.shape} for input {batch.shape}")
            return restored[0].transpose(1, 2, 0).astype(np.float32, copy=False)
