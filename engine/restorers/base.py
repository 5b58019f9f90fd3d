"""What every restorer is: the faults it handles, a read of the photo, and a run with progress and cancel."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from engine.instructions import Interpretation, interpret
from engine.models import ModelSpec
from engine.progress import CancelToken, ProgressCallback

#: What a step that covers only some of a request's faults tells the network, per fault: the request's own
#: words ask for all of them, and a step that brightens must not also smooth the grain the next step reads.
STEP_INSTRUCTIONS = {
    "denoise": "remove the noise",
    "deblur": "remove the blur",
    "dehaze": "remove the haze",
    "derain": "remove the rain",
    "lowlight": "brighten this dark photo",
    "jpeg": "remove the jpeg artifacts",
}


@functools.lru_cache(maxsize=32)
def instruction_embedding(text: str) -> np.ndarray:
    """The text encoder's embedding of `text` (1 x D float32, read-only, cached): what the network is told."""
    embedding = np.asarray(interpret(text).embedding, np.float32).reshape(1, -1)
    embedding.setflags(write=False)
    return embedding


@dataclass(frozen=True)
class Reading:
    """What a restorer's read found in the photo.

    `found`: its specialist path applies (a grain level to filter at, a JPEG grid, a blur kernel). `summary`
    says what it found for the progress line ("grain of about 14.0/255"); `absent` what it looked for in
    vain, for the findings ("Found no JPEG block grid to read the quality from"). `estimate` is the
    restorer's own estimate (a NoiseLevel, a DefocusEstimate...), handed back to its run.
    """

    restorer: str
    found: bool
    summary: str = ""
    absent: str = ""
    estimate: object = None


@dataclass
class Outcome:
    """A step's result: pixels (H x W x 3 float32, not clipped), what it found, what it used."""

    pixels: np.ndarray
    findings: tuple[str, ...] = ()
    metadata: dict[str, object] = field(default_factory=dict)
    #: every network that ran, in order (the engine checked each one's sha256 when it loaded it)
    models: tuple[ModelSpec, ...] = ()
    #: who made the pixels, where a run handed its work on ("network" for a fallback); "" for itself
    made_by: str = ""

    def then(self, later: Outcome) -> Outcome:
        """This outcome followed by `later`, run on its pixels."""
        return Outcome(
            later.pixels,
            self.findings + later.findings,
            {**self.metadata, **later.metadata},
            self.models + tuple(m for m in later.models if m not in self.models),
            ", ".join(name for name in (self.made_by, later.made_by) if name),
        )


@dataclass(frozen=True)
class StepContext:
    """What a step knows besides its pixels: the request, the step's share of it, and where to run."""

    interpretation: Interpretation
    #: the faults this step undoes (a subset of the request's tasks)
    faults: tuple[str, ...]
    device: str | None = None
    tile_size: int | None = None
    #: the photo at full size as it came, when this step sees it untouched (a JPEG grid is read there);
    #: None after an earlier step changed it
    untouched: np.ndarray | None = None
    #: the photo as it came to the plan, at the pixels' scale (before any step changed it)
    arrived: np.ndarray | None = None
    #: the pixels' side over the photo's full side (a preview is < 1)
    scale: float = 1.0
    #: overrides the network's scene-pass side for every task (0: none); None: the model's own
    scene_side: int | None = None
    #: what this step's earlier restorers read, in order
    readings: tuple[Reading, ...] = ()
    #: the pixels are the network's output for this step: a specialist reads them again after it
    after_network: bool = False
    #: the photo as a JPEG step left it, once one ran (its blocks would cloud the spectrum that a camera
    #: shake's path is checked on); None before
    deblocked: np.ndarray | None = None

    def embedding(self) -> np.ndarray:
        """The network's conditioning for this step: the request's own words when the step undoes all of it,
        else the STEP_INSTRUCTIONS of its faults."""
        if set(self.faults) >= set(self.interpretation.tasks):
            return np.asarray(self.interpretation.embedding, np.float32).reshape(1, -1)
        return instruction_embedding(step_instruction(self.faults))

    def as_it_came(self, pixels: np.ndarray) -> np.ndarray | None:
        """The photo as it came to the plan, where earlier steps have changed `pixels`; else None."""
        return _other_than(self.arrived, pixels)

    def unsmoothed(self, pixels: np.ndarray) -> np.ndarray | None:
        """The photo before any step smoothed it, where that is not `pixels`: as the JPEG step left it once
        one ran, else as it came (engine.restorers.shake checks a path's spectrum there); else None."""
        return _other_than(self.deblocked if self.deblocked is not None else self.arrived, pixels)

    def reading(self, name: str) -> Reading | None:
        return next((r for r in self.readings if r.restorer == name), None)

    def with_reading(self, reading: Reading) -> StepContext:
        return replace(self, readings=(*self.readings, reading))


def _other_than(before: np.ndarray | None, pixels: np.ndarray) -> np.ndarray | None:
    return before if before is not None and before is not pixels else None


def step_instruction(faults: tuple[str, ...] | list[str]) -> str:
    """The words a step conditions the network with, for `faults` (STEP_INSTRUCTIONS joined)."""
    return " and ".join(STEP_INSTRUCTIONS.get(fault, fault) for fault in faults)


class Restorer(Protocol):
    """One way of undoing one or more faults. A specialist reads the photo first and runs only where its
    read found its fault; the generalist (the instruction-conditioned network) reads nothing and always runs.

    A restorer that finds nothing still returns pixels from `run`: the generalist's, for its faults. One
    may also define `check(shape, context) -> None`, which the planner calls for every step before the first
    runs, to refuse a photo it could not restore (engine.pipeline.plan.preflight).
    """

    #: short unique name ("grain"), used in plans, metadata and the registry
    name: str
    #: the instruction tasks it undoes (engine.instructions.TASKS)
    faults: frozenset[str]
    #: what the plan shows for its step ("remove grain: read its level, DCT filter, refiner")
    title: str
    #: read again on the generalist's output when a step left its fault to the network (a cheap read)
    after_network: bool
    #: what runs when its read finds nothing, for the plan shown to the user ("the network")
    fallback: str

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading: ...

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome: ...

    def cost(self, shape: tuple[int, ...]) -> float:
        """Rough seconds on this machine's CPU for pixels of `shape`, read and run: progress weights."""
        ...


def megapixels(shape: tuple[int, ...]) -> float:
    return shape[0] * shape[1] / 1e6
