"""Low light: how many stops the photo is under-exposed, read once for the whole scene, and undone as a
camera's exposure is: one gain in linear light. The grain the gain brings up is then removed by the grain
step (the plan's own, or this restorer's when the request did not ask for one).

The network brightens a dark photo well on average but bends its tones and colours as it goes, and each
of its brightenings is a guess at the scene's exposure. Here the guess is read from the network's output
at 512 px (the gain that best maps the photo onto it, in linear light, on their low frequencies) together
with the photo's own white point (the 99.9th and 99.5th percentiles of the brightest channel), weighed by
`training.exposure` on BSD432's and the 39 photos' training parts (figures: docs/plans.md, "Low light").
The gain itself is then exact: tones and colours are those of the photo, only brighter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import cv2
import numpy as np

from engine.color import linear_to_srgb, srgb_to_linear
from engine.models import RESTORE
from engine.progress import CancelToken, ProgressCallback, scaled_progress
from engine.restorers.base import Outcome, Reading, StepContext, instruction_embedding, megapixels
from engine.restorers.grain import GrainRestorer
from engine.restorers.network import network_fallback, network_metadata, network_pass
from engine.restorers.scene import shrink_to

__all__ = [
    "EXPOSURE_WEIGHTS",
    "ExposureEstimate",
    "brighten",
    "ExposureRestorer",
    "exposure_features",
    "read_exposure",
    "weigh",
]

#: The side the photo is judged at (the network's low-light scene side).
JUDGE_SIDE = 512
#: What the network is told when it judges the exposure.
JUDGE_INSTRUCTION = "brighten this dark photo"
#: The percentiles of the brightest channel (linear light) that place the photo's white point.
WHITE_PERCENTILES = (99.9, 99.5)
#: Weights of the white point's reads against the network's, and a constant (stops): training.exposure.
EXPOSURE_WEIGHTS = (0.629, -0.325)
EXPOSURE_BIAS = 0.052
#: Under-exposure below this (stops) is left to the network; above MAX_STOPS the gain stops there.
MIN_STOPS = 0.25
MAX_STOPS = 7.0
#: The low frequencies the network's output is matched on (Gaussian σ in px at JUDGE_SIDE).
MATCH_SIGMA = 2.0
_FLOOR = 1e-5


class ExposureEstimate(NamedTuple):
    """The under-exposure read (stops, positive for a dark photo) and the reads it was weighed from."""

    stops: float
    network_stops: float
    white_stops: tuple[float, ...]


def exposure_features(
    pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
) -> tuple[float, tuple[float, ...]]:
    """(the network's brightening as stops of gain, −log2 of each WHITE_PERCENTILES of the brightest
    channel): each an estimate of the under-exposure, before they are weighed."""
    small = np.ascontiguousarray(shrink_to(pixels, JUDGE_SIDE), np.float32)
    brightened = network_pass(
        small,
        context,
        embedding=instruction_embedding(JUDGE_INSTRUCTION),
        scene=False,
        progress=progress,
        cancel=cancel,
    )
    dark = srgb_to_linear(cv2.GaussianBlur(small, (0, 0), MATCH_SIGMA))
    bright = srgb_to_linear(cv2.GaussianBlur(np.clip(brightened, 0.0, 1.0), (0, 0), MATCH_SIGMA))
    gain = float((dark * bright).sum() / max(float((dark * dark).sum()), 1e-12))
    brightest = dark.max(axis=2)  # on the low frequencies too: grain would raise the white point
    whites = np.percentile(brightest, WHITE_PERCENTILES)
    white_stops = tuple(float(-np.log2(max(float(w), _FLOOR))) for w in whites)
    return float(np.log2(max(gain, _FLOOR))), white_stops


def weigh(
    network_stops: float | np.ndarray,
    white_stops: tuple[float, ...] | np.ndarray,
    weights: tuple[float, ...] | np.ndarray = EXPOSURE_WEIGHTS,
    bias: float = EXPOSURE_BIAS,
) -> float | np.ndarray:
    """The network's read moved towards the white point's reads: network + bias + Σ w_k (white_k − network),
    which keeps it a shift (a photo darkened one more stop reads one stop more). One photo's reads, or N
    photos' (network N, white N x K), as training.exposure fits them."""
    network = np.asarray(network_stops, np.float64)
    return network + bias + (np.asarray(white_stops) - network[..., None]) @ np.asarray(weights)


def read_exposure(
    pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
) -> ExposureEstimate:
    """The photo's under-exposure in stops (weigh), at most MAX_STOPS."""
    network_stops, white_stops = exposure_features(pixels, context, progress, cancel)
    stops = min(float(weigh(network_stops, white_stops)), MAX_STOPS)
    return ExposureEstimate(stops, network_stops, white_stops)


def brighten(pixels: np.ndarray, stops: float, band: int = 256) -> np.ndarray:
    """`pixels` brightened by `stops` in linear light (clipped at white), a band of rows at a time so a big
    photo needs no whole-size temporaries besides its output."""
    gain = np.float32(2.0**stops)
    out = np.empty(pixels.shape, np.float32)
    for top in range(0, pixels.shape[0], band):
        rows = slice(top, top + band)
        out[rows] = linear_to_srgb(srgb_to_linear(pixels[rows]) * gain)
    return out


def describe_stops(stops: float) -> str:
    return f"{stops:.1f} stop{'' if round(stops, 1) == 1.0 else 's'}"


class ExposureRestorer:
    """Reads how far the photo is under-exposed; brightens it by that many stops in linear light, then
    removes the grain the gain brought up (unless the plan's own grain step follows). A photo that reads
    as exposed well enough is left to the network."""

    name = "exposure"
    faults = frozenset({"lowlight"})
    title = "exposure read for the whole scene, one gain in linear light, then the grain it brought up"
    after_network = False
    fallback = "the network"

    def read(
        self, pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
    ) -> Reading:
        progress(0.0, "judging the exposure")
        estimate = read_exposure(pixels, context, progress, cancel)
        return Reading(
            self.name,
            estimate.stops >= MIN_STOPS,
            summary=f"brightening by {describe_stops(estimate.stops)}",
            absent="The photo reads as exposed about right",
            estimate=estimate,
        )

    def run(
        self,
        pixels: np.ndarray,
        reading: Reading,
        context: StepContext,
        progress: ProgressCallback,
        cancel: CancelToken | None,
    ) -> Outcome:
        assert isinstance(reading.estimate, ExposureEstimate)
        if not reading.found:
            return network_fallback(pixels, context, progress, cancel)
        stops = reading.estimate.stops
        brightened = brighten(pixels, stops)
        outcome = Outcome(
            brightened,
            (f"Found the photo {describe_stops(stops)} under-exposed and brightened it.",),
            {**network_metadata(), "exposure_stops": round(stops, 2)},
            (RESTORE,),
            made_by=self.name,
        )
        if "denoise" in context.interpretation.tasks:
            return outcome  # the plan's grain step follows and sees the grain at its new strength
        return outcome.then(_grain_brought_up(brightened, context, progress, cancel))

    def cost(self, shape: tuple[int, ...]) -> float:
        # the network at 512 px, the gain, and (for most requests) the grain step after it
        return 1.0 + 0.3 * megapixels(shape) + GrainRestorer().cost(shape)


def _grain_brought_up(
    pixels: np.ndarray, context: StepContext, progress: ProgressCallback, cancel: CancelToken | None
) -> Outcome:
    """The grain step on the brightened photo, for a request that asked only to brighten it."""
    grain = GrainRestorer()
    step = replace(context, faults=("denoise",), untouched=None, readings=())
    reading = grain.read(pixels, step, scaled_progress(progress, 0.1, 0.4), cancel)
    # Where no fine grain is read (a JPEG that smeared it into blotches before the gain magnified them), the
    # grain step keeps the network's denoised output: the blotches are the noise a dark photo always has.
    outcome = grain.run(
        pixels, reading, step.with_reading(reading), scaled_progress(progress, 0.4, 1.0), cancel
    )
    outcome.made_by = outcome.made_by or grain.name
    if not reading.found:
        outcome.findings = (
            "Found no fine grain after brightening; the network smoothed the noise it brought up.",
        )
    return outcome
