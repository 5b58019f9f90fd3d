"""The planner: a request with several faults becomes an ordered list of steps, each undone by its
specialists (or by the network), each reading the photo as the step before left it.

The order undoes the faults in the reverse of how they arose. A JPEG's blocks were written last, so they go
first (its grid can only be read on the photo as it came); grain goes before blur (a deconvolution would
amplify it) and before haze and rain (bench: grain then haze beats haze then grain by 0.2 dB). A dark photo
is brightened before its grain is removed: brightening is a gain on the grain too, and the grain step must
see the noise at the strength it will have (bench: +0.3 to +0.9 dB over the other way round). Enlarging
comes last: every fault is undone on the small photo (where it is cheaper, and where the restorers were
trained to see it), and the super-resolution network is trained on clean small photos and on camera ones.

Where the network restores a combination better than any chain, NETWORK_COMBINATIONS gives that
combination to the network whole: decided per combination by `python -m bench.quality --composites`
(docs/plans.md holds the table).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from engine.instructions import TASK_LABELS, Interpretation
from engine.instructions.head import STRENGTH_LEVELS
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers import Outcome, Reading, Restorer, StepContext, registry

#: The order the steps run in: the reverse of the order in which the faults arise (see the module's notes).
UNDO_ORDER = ("jpeg", "lowlight", "denoise", "deblur", "derain", "dehaze", "upscale")

#: Combinations of faults the network alone restores better than the chain of their steps (bench.quality
#: --composites); empty while every measured chain wins.
NETWORK_COMBINATIONS: frozenset[frozenset[str]] = frozenset()

#: Of a specialist step's progress, the share its reads take (the run takes the rest).
READ_SHARE = 0.4


@dataclass(frozen=True)
class PlanStep:
    """One step: the faults it undoes, and the specialists that read the photo for them, in order (none:
    the network undoes the faults directly)."""

    faults: tuple[str, ...]
    restorers: tuple[Restorer, ...] = ()

    @property
    def label(self) -> str:
        """E.g. "reduce noise", "brighten + remove haze"."""
        return " + ".join(TASK_LABELS.get(fault, fault) for fault in self.faults)

    @property
    def method(self) -> str:
        """How the step undoes its faults, for the plan shown to the user."""
        if not self.restorers:
            return registry.GENERALIST.title
        fallback = self.restorers[-1].fallback
        return " or ".join(r.title for r in self.restorers) + (f"; else {fallback}" if fallback else "")

    def cost(self, shape: tuple[int, ...]) -> float:
        if not self.restorers:
            return registry.GENERALIST.cost(shape)
        return sum(restorer.cost(shape) for restorer in self.restorers)

    def as_dict(self) -> dict[str, object]:
        return {
            "faults": list(self.faults),
            "label": self.label,
            "restorers": [restorer.name for restorer in self.restorers] or [registry.GENERALIST.name],
            "method": self.method,
        }


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlanStep, ...]

    def describe(self) -> list[str]:
        """One line per step, numbered: "1. reduce noise: grain level read on flat ground, ..."."""
        return [f"{i}. {step.label}: {step.method}" for i, step in enumerate(self.steps, 1)]


@dataclass(frozen=True)
class StepReport:
    """What one step of a run did: which restorer ran, what it found, how long it took."""

    label: str
    restorer: str
    findings: tuple[str, ...]
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "restorer": self.restorer,
            "findings": list(self.findings),
            "seconds": round(self.seconds, 2),
        }


def _ordered(tasks: tuple[str, ...]) -> list[str]:
    known = [task for task in UNDO_ORDER if task in tasks]
    return known + [task for task in tasks if task not in UNDO_ORDER]


def make_plan(interpretation: Interpretation) -> Plan:
    """The steps for `interpretation`'s tasks (a single fault is a one-step plan)."""
    tasks = tuple(interpretation.tasks)
    if frozenset(tasks) in NETWORK_COMBINATIONS:
        return network_plan(interpretation)
    remaining = _ordered(tasks)
    steps: list[PlanStep] = []
    while remaining:
        fault = remaining[0]
        # A specialist that undoes more of the faults next in line in one step is preferred (only faults
        # that would run back to back: brightening stays between a JPEG's blocks and the grain it amplifies).
        fits = [r for r in registry.specialists_for(fault) if r.faults <= set(remaining[: len(r.faults)])]
        widest = max((len(r.faults) for r in fits), default=0)
        chosen = tuple(r for r in fits if len(r.faults) == widest)
        faults = tuple(t for t in remaining if t in chosen[0].faults) if chosen else (fault,)
        if not chosen and steps and not steps[-1].restorers:
            steps[-1] = PlanStep(steps[-1].faults + faults)  # the network undoes neighbouring faults at once
        else:
            steps.append(PlanStep(faults, chosen))
        remaining = [t for t in remaining if t not in faults]
    return Plan(tuple(steps))


def network_plan(interpretation: Interpretation) -> Plan:
    """One step: the network alone for all of `interpretation`'s tasks (and the specialists it leaves a
    cheap second read to, such as an even blur on its output)."""
    return Plan((PlanStep(tuple(_ordered(tuple(interpretation.tasks)))),) if interpretation.tasks else ())


def run_plan(
    plan: Plan,
    pixels: np.ndarray,
    context: StepContext,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[Outcome, tuple[StepReport, ...]]:
    """Run `plan`'s steps on `pixels` (each on the last one's output, clipped to [0, 1]), with one progress
    bar across them weighted by their cost. `context.untouched` is handed to the first step only."""
    preflight(plan, pixels.shape, context)
    costs = [step.cost(pixels.shape) for step in plan.steps]
    total, done = sum(costs) or 1.0, 0.0
    outcome = Outcome(pixels)
    reports = []
    for index, (step, cost) in enumerate(zip(plan.steps, costs, strict=True)):
        if cancel is not None:
            cancel.raise_if_cancelled()
        started = time.perf_counter()
        step_context = replace(
            context, faults=step.faults, untouched=context.untouched if index == 0 else None
        )
        ran, result = run_step(
            step,
            outcome.pixels,
            step_context,
            scaled_progress(progress, done / total, (done + cost) / total),
            cancel,
        )
        np.clip(result.pixels, 0.0, 1.0, out=result.pixels)
        _scale_step(result.pixels, outcome.pixels, step, context.interpretation)
        if step.faults == ("jpeg",):
            context = replace(context, deblocked=result.pixels)
        reports.append(StepReport(step.label, ran, result.findings, time.perf_counter() - started))
        outcome = outcome.then(result)
        done += cost
    return outcome, tuple(reports)


def strength_blend(strength: float) -> float:
    """The share of a restoration a strength asks for (gentle < 1; plain and strong 1)."""
    return float(min(1.0, strength / STRENGTH_LEVELS[1]))


def _scale_step(
    result: np.ndarray, before: np.ndarray, step: PlanStep, interpretation: Interpretation
) -> None:
    """A step whose faults were asked for more gently than the prompt's strength ("brighten it a little, and
    remove all the grain") keeps that share of its change, in place; the final blend then applies the prompt's
    strength to the whole. A step that changes the size (an enlargement) is never asked for gently alone."""
    if not interpretation.strengths or result.shape != before.shape:
        return
    asked = max(interpretation.strength_for(fault) for fault in step.faults)
    share = strength_blend(asked) / max(strength_blend(interpretation.strength), 1e-6)
    if share < 1.0:
        result -= before
        result *= share
        result += before


def preflight(plan: Plan, shape: tuple[int, ...], context: StepContext) -> None:
    """Let each step's restorers refuse the photo before any step runs (a restorer's optional
    `check(shape, context)`, e.g. an enlargement whose output would not fit in memory)."""
    for step in plan.steps:
        for restorer in step.restorers:
            check = getattr(restorer, "check", None)
            if check is not None:
                check(shape, context)


def run_step(
    step: PlanStep,
    pixels: np.ndarray,
    context: StepContext,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[str, Outcome]:
    """(the name of the restorer that ran, its outcome). Specialists read in order, and a later one that
    finds its fault supersedes an earlier one; if none finds anything, the last one's run falls back (to the
    network, or as its `fallback` says). A step left to the network is followed by the cheap reads of its
    faults' specialists."""
    if not step.restorers:
        return _network_step(step, pixels, context, progress, cancel)
    chosen: tuple[Restorer, Reading] | None = None
    share = READ_SHARE / len(step.restorers)
    for i, restorer in enumerate(step.restorers):
        reading = restorer.read(
            pixels, context, scaled_progress(progress, i * share, (i + 1) * share), cancel
        )
        context = context.with_reading(reading)
        if reading.found:
            chosen = restorer, reading
        if cancel is not None:
            cancel.raise_if_cancelled()
    restorer, reading = chosen or (step.restorers[-1], context.readings[-1])
    if reading.found:
        progress(READ_SHARE, reading.summary)
    outcome = restorer.run(pixels, reading, context, scaled_progress(progress, READ_SHARE, 1.0), cancel)
    return outcome.made_by or restorer.name, outcome


def _network_step(
    step: PlanStep,
    pixels: np.ndarray,
    context: StepContext,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[str, Outcome]:
    second = [r for fault in step.faults for r in registry.specialists_for(fault) if r.after_network]
    end = 0.7 if second else 1.0
    outcome = registry.GENERALIST.run(
        pixels, Reading(registry.GENERALIST.name, True), context, scaled_progress(progress, 0.0, end), cancel
    )
    if not second:
        return registry.GENERALIST.name, outcome
    np.clip(outcome.pixels, 0.0, 1.0, out=outcome.pixels)  # the network's own array: clipped in place
    after = replace(context, after_network=True)
    for restorer in second:
        reading = restorer.read(outcome.pixels, after, scaled_progress(progress, end, end), cancel)
        if reading.found:
            outcome = outcome.then(
                restorer.run(outcome.pixels, reading, after, scaled_progress(progress, end, 1.0), cancel)
            )
    return registry.GENERALIST.name, outcome
