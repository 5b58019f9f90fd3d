"""What a refiner's self-ensemble gives: the grain-and-JPEG refiner run on 1, 2, 4 and 8 of the photo's flips
and transposes, averaged (ModelSpec.self_ensemble), on the 12 held-out BSD432 photos (every 36th; the set
the choice was made on, never McMaster or Set14, which bench/quality.py judges).

Each photo gets grain and then a JPEG at named levels (training.degradations, seeded); the engine reads the
quality from the block grid, runs its DCT filter at that level, and the refiner finishes it, as the plan's
grain+jpeg step does. Mean PSNR (dB, RGB) per level and number of runs.

    .venv/bin/python -m bench.self_ensemble                        # the shipped refiner (~1 min)
    .venv/bin/python -m bench.self_ensemble --onnx OTHER.onnx      # another export of it, side by side
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.defocus import BSD_DIR
from bench.quality import read_rgb
from engine.metrics import psnr
from engine.models import GRAIN_JPEG, ModelSpec
from engine.noise import denoise_dct
from engine.noise.jpeg import SCALE_UNIT, estimate_jpeg_quality, jpeg_noise_level, quantisation_scale
from engine.restorers import refine
from training.degradations.pipeline import degrade

LEVELS = (
    {"denoise": "sigma15", "jpeg": "q40"},
    {"denoise": "sigma8", "jpeg": "q75"},
    {"denoise": "sigma25", "jpeg": "q20"},
)
RUNS = (1, 2, 4, 8)


def row(model: ModelSpec, label: str) -> str:
    photos = sorted(BSD_DIR.glob("*.jpg"))[::36]
    cells = []
    for level_index, level in enumerate(LEVELS):
        scores: dict[int, list[float]] = {runs: [] for runs in RUNS}
        for photo_index, path in enumerate(photos):
            clean = read_rgb(path)
            rng = np.random.default_rng([7, level_index, photo_index])
            degraded = degrade(clean, ("denoise", "jpeg"), rng, level=level).image
            quality = estimate_jpeg_quality(degraded)
            if quality is None:
                continue
            filtered = denoise_dct(degraded, jpeg_noise_level(quality), clipped=False)
            told = quantisation_scale(quality) / SCALE_UNIT
            for runs in RUNS:
                restored = refine(replace(model, self_ensemble=runs), told, degraded, filtered)
                scores[runs].append(psnr(np.clip(restored, 0.0, 1.0), clean))
        cells.append(" / ".join(f"{np.mean(scores[runs]):.2f}" for runs in RUNS))
    return f"| {label} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.self_ensemble", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--onnx", type=Path, nargs="*", default=[], help="other exports of the refiner")
    args = parser.parse_args(argv)
    names = " | ".join("σ{} + {}".format(level["denoise"][5:], level["jpeg"]) for level in LEVELS)
    print(f"| refiner | {names} |  (mean PSNR dB with {' / '.join(map(str, RUNS))} runs averaged)")
    print("|---|" + "---|" * len(LEVELS))
    print(row(GRAIN_JPEG, "shipped"), flush=True)
    for path in args.onnx:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(row(replace(GRAIN_JPEG, file=str(path.resolve()), sha256=digest), path.name), flush=True)


if __name__ == "__main__":
    main()
