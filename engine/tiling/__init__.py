"""Tiled inference: tile plan, overlap blending, padding to the model's multiple, shrink-and-retry on OOM."""

from __future__ import annotations

from engine.tiling.plan import Tile, TilePlan, axis_spans, blend_ramp, reflect_indices
from engine.tiling.tiled import TileInfer, default_tile_size, map_tiles, run_tiled

__all__ = [
    "Tile",
    "TileInfer",
    "TilePlan",
    "axis_spans",
    "blend_ramp",
    "default_tile_size",
    "map_tiles",
    "reflect_indices",
    "run_tiled",
]
