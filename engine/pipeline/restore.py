"""restore(): interpret the instruction, plan the steps that undo its faults, run them, blend by strength."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.errors import InstructionError
from engine.instructions import Interpretation, interpret
from engine.io import Photo
from engine.models import RESTORE
from engine.pipeline.plan import Plan, StepReport, make_plan, run_plan, strength_blend
from engine.progress import CancelToken, ProgressCallback, no_progress
from engine.restorers import StepContext
from engine.restorers.scene import shrink_to
from engine.runtime import get_session
from engine.tiling import default_tile_size


def blend(original: np.ndarray, restored: np.ndarray, strength: float) -> np.ndarray:
    """Linear mix of original and restored pixels; strength 0 = original, 1 = full restoration. An original
    smaller than the restoration (it was enlarged) is first enlarged to its size by bicubic resampling."""
    s = float(min(max(strength, 0.0), 1.0))
    if s >= 1.0:
        return restored
    if original.shape != restored.shape:
        original = resample_to(original, restored.shape)
    if s <= 0.0:
        return original
    return (original + s * (restored - original)).astype(np.float32, copy=False)


def resample_to(pixels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`pixels` resampled to `shape`'s height and width (bicubic; clipped to [0, 1])."""
    resized = cv2.resize(pixels, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(resized, 0.0, 1.0, out=resized)


def instruction_blend(interpretation: Interpretation) -> float:
    """How much of the restoration an instruction asks for.

    A plain request ("remove the noise") and a strong one both get the full network output: the network
    itself is conditioned on the wording. Only gentle requests ("slightly") are mixed back towards the
    original, in proportion to the head's strength relative to a plain request.
    """
    return strength_blend(interpretation.strength)


@dataclass
class RestoreResult:
    """A finished restoration: full-strength output kept so the strength can be changed instantly.

    `original` is the photo as restore() was given it (shrunk for a preview); `restored` is larger where the
    plan enlarged it, and blend() then enlarges the original to match."""

    original: np.ndarray
    restored: np.ndarray
    interpretation: Interpretation
    strength: float
    device: str
    providers: list[str]
    tile_size: int
    seconds: float
    auto_detected: bool = False
    #: task_notes() of the tasks it ran: what the model does poorly there
    notes: tuple[str, ...] = ()
    #: what this run found in this photo (e.g. the out-of-focus disk it undid), one line each
    findings: tuple[str, ...] = ()
    metadata: dict[str, object] = field(default_factory=dict)
    #: the steps it planned, and what each one did
    plan: Plan = field(default_factory=lambda: Plan(()))
    steps: tuple[StepReport, ...] = ()

    def blend(self, strength: float | None = None) -> np.ndarray:
        """Pixels at `strength` (default: the strength asked for), without re-running the network."""
        return blend(self.original, self.restored, self.strength if strength is None else strength)

    @property
    def pixels(self) -> np.ndarray:
        return self.blend()


def task_notes(tasks: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """What the restoration model does poorly among `tasks` (ModelSpec.task_notes), for the user to read."""
    wanted = set(tasks)
    return tuple(note for task, note in RESTORE.task_notes if task in wanted)


def _rgb(image: Photo | np.ndarray) -> np.ndarray:
    pixels = image.pixels if isinstance(image, Photo) else image
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected H x W x 3 pixels, got shape {pixels.shape}")
    return np.ascontiguousarray(pixels, dtype=np.float32)


def _resolve_instruction(
    pixels: np.ndarray, instruction: str | Interpretation, device: str | None
) -> tuple[Interpretation, bool]:
    if isinstance(instruction, Interpretation):
        interpretation, auto = instruction, False
    elif instruction.strip():
        interpretation, auto = interpret(instruction), False
    else:
        # Empty prompt: propose what the detector sees (DA-CLIP / OneRestore idea).
        from engine.pipeline.detect import suggest_instruction

        suggestion = suggest_instruction(pixels, device=device)
        if suggestion is None:
            raise InstructionError(
                "No instruction given and no degradation detected: the photo looks clean. "
                "Type what is wrong with it, e.g. 'reduce the noise'."
            )
        interpretation, auto = suggestion, True
    if not interpretation.understood:
        raise InstructionError(interpretation.message)
    return interpretation, auto


def restore(
    image: Photo | np.ndarray,
    instruction: str | Interpretation,
    *,
    strength: float = 1.0,
    device: str | None = None,
    tile_size: int | None = None,
    max_side: int | None = None,
    scene_side: int | None = None,
    plan: Plan | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RestoreResult:
    """Restore `image` (a Photo or H x W x 3 float32 RGB in [0, 1]) as `instruction` asks: interpret, plan,
    run the steps, blend by `strength` (0..1, times the instruction's own). `max_side` downscales first (a
    preview); `scene_side` overrides the network's scene-pass sides (0: none); `plan` replaces the planner's
    (network_plan: the network alone). Raises InstructionError, ModelError, DeviceError, Cancelled.
    """
    progress = progress or no_progress
    source = _rgb(image)
    pixels = shrink_to(source, max_side)
    started = time.perf_counter()
    progress(0.0, "understanding the instruction")
    # An empty prompt is detected on the photo as given, not on a preview's shrunk copy: the same pixels
    # `photomend detect` and the app's suggestion judge, so they cannot disagree.
    interpretation, auto = _resolve_instruction(source, instruction, device)
    if cancel is not None:
        cancel.raise_if_cancelled()
    session = get_session(RESTORE, device)  # the device every step runs on, and an early ModelError
    steps = plan or make_plan(interpretation)
    context = StepContext(
        interpretation,
        faults=tuple(interpretation.tasks),
        device=device,
        tile_size=tile_size or default_tile_size(session.device),
        untouched=source,
        arrived=pixels,
        scale=pixels.shape[0] / source.shape[0],
        scene_side=scene_side,
    )
    outcome, reports = run_plan(steps, pixels, context, progress, cancel)
    progress(1.0, "done")
    return RestoreResult(
        original=pixels,
        restored=outcome.pixels,
        interpretation=interpretation,
        strength=float(min(max(strength, 0.0), 1.0)) * instruction_blend(interpretation),
        device=session.device,
        providers=list(session.providers),
        tile_size=context.tile_size or 0,
        seconds=time.perf_counter() - started,
        auto_detected=auto,
        notes=task_notes(interpretation.tasks),
        findings=outcome.findings,
        metadata={**outcome.metadata, "plan": [report.restorer for report in reports]},
        plan=steps,
        steps=reports,
    )
