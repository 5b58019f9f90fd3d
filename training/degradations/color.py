"""sRGB <-> linear-light transfer functions (IEC 61966-2-1), float32 in [0, 1]: the engine's own
(engine.color), so a degradation and the restorer that undoes it share one definition."""

from __future__ import annotations

from engine.color import linear_to_srgb, srgb_to_linear

__all__ = ["linear_to_srgb", "srgb_to_linear"]
