"""Weigh the exposure restorer's reads (engine.restorers.exposure): how far a dark photo is under-exposed,
from the network's brightening and the photo's white point.

Each photo of a part (training.detector_split: BSD432's and the 39 photos', the big ones shrunk to 800 px)
is darkened `--per-photo` times as training.degradations does (−2 to −5 EV in linear light, shot noise of
2,000 to 20,000 electrons at white; 40 % with Gaussian grain of σ 3–25/255 on top; half of them then saved
as a JPEG of quality 60–95), and the engine's
own reads are taken on it. The weights are fitted on the training part by least squares (with a small ridge)
under the constraint that keeps the estimate a shift (a photo one stop darker reads one stop more); the
calibration part reports the error of each choice of reads. McMaster and Set14 are never used here.

    python -m training.exposure --per-photo 2 --calibration-per-photo 3

prints the weights and bias for EXPOSURE_WEIGHTS / EXPOSURE_BIAS and the errors (stops, RMS). Torch-free.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from engine.instructions import interpret
from engine.io import read_pixels
from engine.progress import no_progress
from engine.restorers.base import StepContext
from engine.restorers.exposure import exposure_features, weigh
from engine.restorers.scene import shrink_to
from training.degradations.jpeg import jpeg_compress
from training.degradations.lowlight import low_light
from training.degradations.noise import gaussian_noise
from training.detector_split import bsd_photos, wallpaper_photos

__all__ = ["fit_weights", "samples"]

BIG_SIDE = 800
EV_RANGE = (-5.0, -2.0)
PHOTONS_RANGE = (2000.0, 20000.0)
GRAIN_SHARE = 0.4
GRAIN_SIGMA = (3.0, 25.0)
JPEG_SHARE = 0.5
JPEG_QUALITY = (60, 96)
RIDGE = 1e-3


def samples(part: str, per_photo: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true under-exposure in stops, the network's read, the white point's reads) for `part`'s photos."""
    context = StepContext(interpret("it's too dark"), ("lowlight",))
    truth, network, white = [], [], []
    paths = bsd_photos(part) + wallpaper_photos(part)
    started = time.monotonic()
    for index, path in enumerate(paths):
        clean = shrink_to(read_pixels(path), BIG_SIDE)
        for repeat in range(per_photo):
            rng = np.random.default_rng([seed, index, repeat])
            ev = float(rng.uniform(*EV_RANGE))
            photons = float(np.exp(rng.uniform(*np.log(PHOTONS_RANGE))))
            dark = low_light(clean, rng, ev, photons)
            if rng.random() < GRAIN_SHARE:  # grain on top, as a "dark and grainy" request's photo has
                dark = gaussian_noise(dark, float(rng.uniform(*GRAIN_SIGMA)) / 255.0, rng)
            if rng.random() < JPEG_SHARE:
                dark = jpeg_compress(dark, int(rng.integers(*JPEG_QUALITY)))
            n, w = exposure_features(dark, context, no_progress, None)
            truth.append(-ev)
            network.append(n)
            white.append(w)
        if index % 25 == 0:
            print(f"{part}: {index + 1}/{len(paths)} photos, {time.monotonic() - started:.0f} s", flush=True)
    return np.array(truth), np.array(network), np.array(white)


def fit_weights(truth: np.ndarray, network: np.ndarray, white: np.ndarray) -> tuple[np.ndarray, float]:
    """(weights of the white point's reads, bias) for stops = network + bias + Σ w_k (white_k − network)."""
    design = np.column_stack([white - network[:, None], np.ones(len(truth))])
    lhs = design.T @ design + RIDGE * np.eye(design.shape[1])
    solution = np.linalg.solve(lhs, design.T @ (truth - network))
    return solution[:-1], float(solution[-1])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-photo", type=int, default=2, help="darkenings of each training photo")
    parser.add_argument("--calibration-per-photo", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    train = samples("training", args.per_photo, args.seed)
    check = samples("calibration", args.calibration_per_photo, args.seed + 1)

    def rms(error: np.ndarray) -> str:
        worst = np.max(np.abs(error))
        return f"RMS {np.sqrt(np.mean(error**2)):.3f}, mean {np.mean(error):+.3f}, worst {worst:.2f}"

    print(f"\n{len(train[0])} training and {len(check[0])} calibration samples; errors in stops")
    print(f"network alone:           {rms(check[1] - check[0])}")
    weights, bias = fit_weights(*train)
    print(f"network + white point:   {rms(weigh(check[1], check[2], weights, bias) - check[0])}")
    print(f"\nEXPOSURE_WEIGHTS = ({', '.join(f'{w:.3f}' for w in weights)})\nEXPOSURE_BIAS = {bias:.3f}")


if __name__ == "__main__":
    main()
