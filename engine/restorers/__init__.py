"""Restorers: one module per fault (grain, JPEG, defocus, camera shake) and the instruction-conditioned
network as the generalist; each reads the photo, then runs with progress and cancel. The explicit list is
engine.restorers.registry."""

from __future__ import annotations

from engine.restorers.base import (
    STEP_INSTRUCTIONS,
    Outcome,
    Reading,
    Restorer,
    StepContext,
    instruction_embedding,
    step_instruction,
)
from engine.restorers.network import network_pass, refine, tiled_pass
from engine.restorers.registry import GENERALIST, RESTORERS, get_restorer, specialists_for

__all__ = [
    "GENERALIST",
    "RESTORERS",
    "STEP_INSTRUCTIONS",
    "Outcome",
    "Reading",
    "Restorer",
    "StepContext",
    "get_restorer",
    "instruction_embedding",
    "network_pass",
    "refine",
    "specialists_for",
    "step_instruction",
    "tiled_pass",
]
