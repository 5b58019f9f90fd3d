"""Accuracy of the shipped degradation detector on ../shared/data/val (never trained on), through the engine.

Each validation photo is degraded with training.degradations (seeded) into: the clean photo, each task
alone, and composites of two or three tasks; `engine.pipeline.detect_degradations` (the path `restore`
uses for an empty prompt) then says which tasks it sees. Prints per-task precision / recall / F1,
exact-set accuracy and the clean photos' false-alarm rate.

    .venv/bin/python -m bench.detector_accuracy                    # random training-range levels
    .venv/bin/python -m bench.detector_accuracy --levels benchmark # the fixed levels of bench/quality.py
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import cv2
import numpy as np

from bench.quality import SETS, centre_crop, read_rgb, val_images
from engine.instructions import TASKS
from engine.pipeline import detect_degradations
from training.degradations.pipeline import degrade

COMPOSITES_PER_PHOTO = 3


@dataclass
class Sample:
    set_name: str
    name: str
    truth: tuple[str, ...]
    predicted: tuple[str, ...]


def task_sets(rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Clean, every task alone, and a few random composites of 2-3 distinct tasks."""
    sets: list[tuple[str, ...]] = [(), *[(t,) for t in TASKS]]
    for _ in range(COMPOSITES_PER_PHOTO):
        count = int(rng.integers(2, 4))
        sets.append(tuple(str(t) for t in rng.choice(TASKS, size=count, replace=False)))
    return sets


def collect(
    levels: str, limit: int | None, max_side: int | None, seed: int, scale: float = 1.0
) -> list[Sample]:
    samples = []
    for set_index, set_name in enumerate(SETS):
        for image_index, path in enumerate(val_images(set_name, limit)):
            clean = centre_crop(read_rgb(path), max_side)
            if scale != 1.0:
                # Stands in for a bigger photo: same scene, smoother per pixel, degraded at its new size.
                size = (round(clean.shape[1] * scale), round(clean.shape[0] * scale))
                clean = np.clip(cv2.resize(clean, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
            rng = np.random.default_rng([seed, set_index, image_index])
            for tasks in task_sets(rng):
                level = None if levels == "random" else "default"
                degraded = degrade(clean, tasks, rng, level=level) if tasks else None
                pixels = degraded.image if degraded is not None else clean
                # What a user would open: an 8-bit file.
                pixels = (np.round(np.clip(pixels, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)
                found = detect_degradations(pixels, device="cpu")
                truth = degraded.tasks if degraded is not None else ()
                samples.append(Sample(set_name, path.name, tuple(truth), found.tasks))
    return samples


def report(samples: list[Sample]) -> str:
    lines = ["| task | precision | recall | F1 | positives |", "|---|---|---|---|---|"]
    for task in TASKS:
        tp = sum(task in s.truth and task in s.predicted for s in samples)
        fp = sum(task not in s.truth and task in s.predicted for s in samples)
        fn = sum(task in s.truth and task not in s.predicted for s in samples)
        precision = tp / max(1, tp + fp)
        recall = tp / max(1, tp + fn)
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        lines.append(f"| {task} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {tp + fn} |")
    exact = np.mean([set(s.truth) == set(s.predicted) for s in samples])
    clean = [s for s in samples if not s.truth]
    false_alarm = np.mean([bool(s.predicted) for s in clean]) if clean else float("nan")
    single = [s for s in samples if len(s.truth) == 1]
    single_exact = np.mean([set(s.truth) == set(s.predicted) for s in single]) if single else float("nan")
    lines.append("")
    lines.append(
        f"exact-set accuracy {exact:.3f} over {len(samples)} samples; single-task exact {single_exact:.3f}; "
        f"clean photos flagged {false_alarm:.3f} ({len(clean)} clean)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.detector_accuracy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--levels", choices=("random", "benchmark"), default="random")
    parser.add_argument("--limit", type=int, default=None, help="photos per validation set (default: all)")
    parser.add_argument("--max-side", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="resize each clean photo first (e.g. 3)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    samples = collect(args.levels, args.limit, args.max_side, args.seed, args.scale)
    print(report(samples))
    for set_name in SETS:
        subset = [s for s in samples if s.set_name == set_name]
        exact = np.mean([set(s.truth) == set(s.predicted) for s in subset])
        print(f"{set_name}: exact-set accuracy {exact:.3f} over {len(subset)} samples")
    print(
        f"levels {args.levels}, seed {args.seed}, scale {args.scale}, {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
