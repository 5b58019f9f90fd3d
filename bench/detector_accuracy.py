"""How well the degradation detector says what a photo needs: exact task sets on held-out degraded photos
and false alarms on clean real photos, through the engine (the judgement of `photomend detect` and of an
empty prompt).

Degraded photos: every photo of a set, degraded (training.degradations, seeded) by each fault alone and by
each pair of faults (6 + 15 per photo), saved to 8 bit. Levels: "visible" (default) draws the training ranges
and redraws any fault too faint to count (training.detector_split.is_faint: noise under 5/255, JPEG above
quality 45...); "training" keeps the faint draws (their figures are shown with and without them);
"benchmark" uses the fixed levels of bench/quality.py (sigma 25, 21 px shake, q10, -3 EV, medium haze and
rain).

Clean photos, as they are: the large photos (../shared/data/photos) at full size and shrunk to a long side of
1024 and 512 px, McMaster and Set14, and BSD432.

Which photo is in which part (training.detector_split): McMaster and Set14 are reported on and never trained
or calibrated on; BSD432 and the large photos are split into training, calibration and report parts.
`--calibrate` picks one threshold per task on the calibration part (the most exact task sets on its degraded
photos with at most `--max-false-alarms` of its clean photos flagged) and reports on the report part.

    .venv/bin/python -m bench.detector_accuracy                       # the shipped detector, every part
    .venv/bin/python -m bench.detector_accuracy --levels benchmark    # at bench/quality.py's fixed levels
    .venv/bin/python -m bench.detector_accuracy --calibrate --model runs/detector5/raw.onnx \\
        --cache runs/detbench

`--model` judges a candidate ONNX (exported with no threshold, for --calibrate to pick them); `--cache` keeps
the canvases as uint8 so the next candidate skips the degradations (the overview quadrant is then rounded to
8 bit, which the engine does not do: the figures of record come without --cache).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from engine.io import read_photo
from engine.pipeline.detect import (
    DETECTED_TASKS,
    DETECTION_THRESHOLD,
    detector_canvas,
    detector_logits,
)
from training.degradations.pipeline import degrade
from training.detector_split import DATA, bsd_photos, faint_tasks, wallpaper_photos

SIDE = 256
#: every fault alone, then every pair
COMBOS: tuple[tuple[str, ...], ...] = tuple((t,) for t in DETECTED_TASKS) + tuple(
    itertools.combinations(DETECTED_TASKS, 2)
)
#: long sides the large photos are also judged at (None: as they are)
CLEAN_SIDES: tuple[int | None, ...] = (None, 1024, 512)
#: the large photos are degraded at this long side (a 4 MP photo per sample would take hours)
DEGRADED_SIDE = 1024
MAX_REDRAWS = 60


@dataclass
class Sample:
    """One photo the detector judged: where it comes from, what it holds, and the detector's logits."""

    group: str  # "McMaster", "Set14", "BSD432", "photos", "photos@1024"...
    part: str  # "calibration", "report" or "training" (clean photos the detector trained on)
    name: str
    truth: tuple[str, ...]
    faint: tuple[str, ...] = ()
    logits: np.ndarray = field(default_factory=lambda: np.zeros(len(DETECTED_TASKS)))

    @property
    def clean(self) -> bool:
        return not self.truth


@dataclass(frozen=True)
class Source:
    group: str
    part: str
    paths: tuple[Path, ...]
    side: int | None  # shrink to this long side first (None: as it is)


def sources(limit: int | None) -> list[Source]:
    """Every set of photos, by part: McMaster and Set14 (report), BSD432 and the large photos (both)."""

    def cut(paths: list[Path]) -> tuple[Path, ...]:
        return tuple(paths[:limit] if limit else paths)

    out = [Source(name, "report", cut(sorted((DATA / "val" / name).glob("*.png"))), None) for name in SETS]
    for part in ("calibration", "report", "training"):  # the training part: its clean photos only
        out.append(Source("BSD432", part, cut(bsd_photos(part)), None))
        out.append(Source("photos", part, cut(wallpaper_photos(part)), None))
    return out


SETS = ("McMaster", "Set14")


def _shrink(pixels: np.ndarray, side: int | None) -> np.ndarray:
    if side is None or max(pixels.shape[:2]) <= side:
        return pixels
    scale = side / max(pixels.shape[:2])
    size = (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale))
    return _eight_bit(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))


def _eight_bit(pixels: np.ndarray) -> np.ndarray:
    """What a user would open: an 8-bit file."""
    return (np.round(np.clip(pixels, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _degraded(
    clean: np.ndarray, combo: tuple[str, ...], levels: str, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(8-bit degraded pixels, the tasks that undo it, those of them too faint to count)."""
    for _ in range(MAX_REDRAWS):
        degraded = degrade(clean, combo, rng, level="default" if levels == "benchmark" else None)
        faint = faint_tasks(degraded.params) if levels != "benchmark" else ()
        if levels != "visible" or not faint:
            return _eight_bit(degraded.image), tuple(degraded.tasks), faint
    raise RuntimeError(f"no visible draw of {combo} in {MAX_REDRAWS} tries")


def photos_to_judge(
    levels: str, seed: int, limit: int | None, degraded: bool = True
) -> Iterator[tuple[Sample, np.ndarray]]:
    """(sample without logits, 8-bit pixels) for every clean and degraded photo of every source."""
    for group_index, source in enumerate(sources(limit)):
        for image_index, path in enumerate(source.paths):
            pixels = _eight_bit(read_photo(path).pixels)
            sides = CLEAN_SIDES if source.group == "photos" else (None,)
            for side in sides:
                group = source.group if side is None else f"{source.group}@{side}"
                yield Sample(group, source.part, path.name, ()), _shrink(pixels, side)
            if not degraded or source.part == "training":
                continue
            base = _shrink(pixels, DEGRADED_SIDE if source.group == "photos" else None)
            group = source.group if source.group != "photos" else f"photos@{DEGRADED_SIDE}"
            for combo_index, combo in enumerate(COMBOS):
                rng = np.random.default_rng([seed, group_index, image_index, combo_index])
                image, truth, faint = _degraded(base, combo, levels, rng)
                yield Sample(group, source.part, path.name, truth, faint), image


# --------------------------------------------------------------------------------------------- logits


def engine_logits(pixels: np.ndarray) -> np.ndarray:
    """The shipped detector through the engine (engine.pipeline.detect.detector_logits)."""
    return detector_logits(pixels, device="cpu")


def onnx_canvas_logits(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Logits of a candidate ONNX detector (not the shipped one) for canvases (N, side, side, 3)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(canvases: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(canvases.transpose(0, 3, 1, 2), dtype=np.float32)
        return np.asarray(session.run(None, {name: batch})[0], np.float64)

    return run


def collect(
    levels: str, seed: int, limit: int | None, model: Path | None, cache: Path | None
) -> list[Sample]:
    """Every sample with its logits: the shipped detector on the pixels, or `model` on canvases (kept in
    `cache` as uint8 for the next candidate)."""
    if model is None and cache is None:
        samples = []
        for sample, pixels in photos_to_judge(levels, seed, limit):
            sample.logits = engine_logits(pixels)
            samples.append(sample)
        return samples
    samples, canvases = _canvases(levels, seed, limit, cache)
    run = onnx_canvas_logits(model) if model is not None else _engine_canvas_logits()
    logits = np.concatenate(
        [run(canvases[i : i + 64].astype(np.float32) / 255.0) for i in range(0, len(canvases), 64)]
    )
    for sample, row in zip(samples, logits, strict=True):
        sample.logits = row
    return samples


def _engine_canvas_logits() -> Callable[[np.ndarray], np.ndarray]:
    from engine.models import get_spec
    from engine.pipeline.detect import DETECTOR_MODEL_ID
    from engine.runtime import get_session

    spec = get_spec(DETECTOR_MODEL_ID)
    session = get_session(spec, "cpu")

    def run(canvases: np.ndarray) -> np.ndarray:
        rows = [
            session.run({spec.inputs[0]: np.ascontiguousarray(c.transpose(2, 0, 1)[None])})[0]
            for c in canvases
        ]
        return np.concatenate(rows).astype(np.float64)

    return run


def _canvases(
    levels: str, seed: int, limit: int | None, cache: Path | None
) -> tuple[list[Sample], np.ndarray]:
    path = cache / f"canvases_{levels}_seed{seed}_limit{limit or 0}.npz" if cache is not None else None
    if path is not None and path.exists():
        blob = np.load(path, allow_pickle=False)
        samples = [
            Sample(g, p, n, tuple(t.split("+")) if t else (), tuple(f.split("+")) if f else ())
            for g, p, n, t, f in zip(
                blob["group"], blob["part"], blob["name"], blob["truth"], blob["faint"], strict=True
            )
        ]
        return samples, blob["canvases"]
    samples, canvases = [], []
    for sample, pixels in photos_to_judge(levels, seed, limit):
        samples.append(sample)
        canvases.append(np.round(detector_canvas(pixels, SIDE) * 255.0).astype(np.uint8))
    stacked = np.stack(canvases)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            canvases=stacked,
            group=np.array([s.group for s in samples]),
            part=np.array([s.part for s in samples]),
            name=np.array([s.name for s in samples]),
            truth=np.array(["+".join(s.truth) for s in samples]),
            faint=np.array(["+".join(s.faint) for s in samples]),
        )
    return samples, stacked


# ------------------------------------------------------------------------------------ scoring


def flagged(samples: Sequence[Sample], offsets: np.ndarray) -> np.ndarray:
    """(N, tasks) bool: flagged with each task's logit shifted down by its offset (0: as shipped)."""
    logits = np.stack([s.logits for s in samples]) if samples else np.zeros((0, len(DETECTED_TASKS)))
    threshold = np.log(DETECTION_THRESHOLD / (1.0 - DETECTION_THRESHOLD))
    return logits - offsets[None, :] >= threshold


def truth_matrix(samples: Sequence[Sample]) -> np.ndarray:
    return np.array([[t in s.truth for t in DETECTED_TASKS] for s in samples], bool).reshape(
        -1, len(DETECTED_TASKS)
    )


def exact_rate(samples: Sequence[Sample], offsets: np.ndarray) -> float:
    if not samples:
        return float("nan")
    return float(np.mean(np.all(flagged(samples, offsets) == truth_matrix(samples), axis=1)))


def flag_rate(samples: Sequence[Sample], offsets: np.ndarray) -> float:
    if not samples:
        return float("nan")
    return float(np.mean(np.any(flagged(samples, offsets), axis=1)))


def calibrate(samples: Sequence[Sample], max_false_alarms: float, rounds: int = 4) -> np.ndarray:
    """Per-task logit offsets: the most exact task sets on the degraded samples with at most
    `max_false_alarms` of the clean ones flagged (coordinate search over a grid, from no offset)."""
    degraded = [s for s in samples if not s.clean]
    clean = [s for s in samples if s.clean]
    grid = np.round(np.arange(-3.0, 8.01, 0.1), 2)
    offsets = np.zeros(len(DETECTED_TASKS))

    def score(candidate: np.ndarray) -> float:
        over = max(0.0, flag_rate(clean, candidate) - max_false_alarms)
        return exact_rate(degraded, candidate) - 10.0 * over

    best = score(offsets)
    for _ in range(rounds):
        improved = False
        for task_index in range(len(DETECTED_TASKS)):
            for value in grid:
                candidate = offsets.copy()
                candidate[task_index] = value
                value_score = score(candidate)
                # ties go to the higher offset: fewer flags on photos unlike the calibration ones
                if value_score > best + 1e-12 or (
                    abs(value_score - best) <= 1e-12 and value > offsets[task_index]
                ):
                    best, offsets, improved = value_score, candidate, True
        if not improved:
            break
    return offsets


def per_task_table(samples: Sequence[Sample], offsets: np.ndarray) -> list[str]:
    lines = ["| task | precision | recall | F1 | positives |", "|---|---|---|---|---|"]
    pred, truth = flagged(samples, offsets), truth_matrix(samples)
    for i, task in enumerate(DETECTED_TASKS):
        tp = int(np.sum(pred[:, i] & truth[:, i]))
        fp = int(np.sum(pred[:, i] & ~truth[:, i]))
        fn = int(np.sum(~pred[:, i] & truth[:, i]))
        lines.append(
            f"| {task} | {tp / max(1, tp + fp):.3f} | {tp / max(1, tp + fn):.3f} | "
            f"{2 * tp / max(1, 2 * tp + fp + fn):.3f} | {tp + fn} |"
        )
    return lines


def report(samples: Sequence[Sample], offsets: np.ndarray, part: str, levels: str) -> str:
    """The figures of one part: exact task sets on its degraded photos, false alarms on its clean ones."""
    chosen = [s for s in samples if s.part == part]
    degraded = [s for s in chosen if not s.clean]
    lines = [f"## {part} part, levels {levels}", ""]
    if degraded:
        lines += _degraded_lines(degraded, offsets)
    lines += _clean_lines([s for s in chosen if s.clean], offsets)
    return "\n".join(lines)


def _degraded_lines(degraded: Sequence[Sample], offsets: np.ndarray) -> list[str]:
    counted = [s for s in degraded if not s.faint]
    lines = ["Degraded photos (every fault alone and every pair), exact task set:", ""]
    lines.append("| set | singles | pairs | all | samples |")
    lines.append("|---|---|---|---|---|")
    for group in [*sorted({s.group for s in counted}), "all"]:
        rows = [s for s in counted if group in ("all", s.group)]
        singles = [s for s in rows if len(s.truth) == 1]
        pairs = [s for s in rows if len(s.truth) == 2]
        lines.append(
            f"| {group} | {exact_rate(singles, offsets):.3f} | {exact_rate(pairs, offsets):.3f} | "
            f"{exact_rate(rows, offsets):.3f} | {len(rows)} |"
        )
    if len(counted) != len(degraded):  # "training" levels
        lines.append(
            f"\nWith the {len(degraded) - len(counted)} samples holding a faint fault: exact "
            f"{exact_rate(degraded, offsets):.3f} over {len(degraded)}."
        )
    return [*lines, "", *per_task_table(counted, offsets), ""]


def _clean_lines(clean: Sequence[Sample], offsets: np.ndarray) -> list[str]:
    lines = [
        "Clean photos flagged:",
        "",
        "| set | flagged | photos | rate | by task |",
        "|---|---|---|---|---|",
    ]
    pred = flagged(clean, offsets)
    for group in [*sorted({s.group for s in clean}), "all"]:
        rows = pred[np.array([group in ("all", s.group) for s in clean], bool)]
        by_task = ", ".join(
            f"{t} {int(n)}" for t, n in zip(DETECTED_TASKS, rows.sum(axis=0), strict=True) if n
        )
        count = int(np.any(rows, axis=1).sum())
        lines.append(f"| {group} | {count} | {len(rows)} | {count / max(1, len(rows)):.3f} | {by_task} |")
    names = [
        f"{s.group}/{s.name} ({', '.join(t for t, f in zip(DETECTED_TASKS, row, strict=True) if f)})"
        for s, row in zip(clean, pred, strict=True)
        if row.any()
    ]
    return [*lines, "", "Flagged: " + "; ".join(names)] if names else lines


def thresholds_text(offsets: np.ndarray) -> str:
    """The offsets as per-task probability thresholds on the model's own scores (for the export)."""
    base = np.log(DETECTION_THRESHOLD / (1.0 - DETECTION_THRESHOLD))
    probs = 1.0 / (1.0 + np.exp(-(base + offsets)))
    return ",".join(f"{t}={p:.4f}" for t, p in zip(DETECTED_TASKS, probs, strict=True))


def print_reports(
    samples: Sequence[Sample], offsets: np.ndarray, parts: tuple[str, ...], levels: str
) -> None:
    """report() for each part, a blank line between them."""
    print("\n\n".join(report(samples, offsets, part, levels) for part in parts))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.detector_accuracy", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--levels", choices=("visible", "training", "benchmark"), default="visible")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="photos per set and part (default: all)")
    parser.add_argument(
        "--model", type=Path, default=None, help="a candidate ONNX detector (default: shipped)"
    )
    parser.add_argument("--cache", type=Path, default=None, help="keep the canvases here for the next model")
    parser.add_argument("--calibrate", action="store_true", help="pick thresholds on the calibration part")
    parser.add_argument("--max-false-alarms", type=float, default=0.03, help="for --calibrate (default 0.03)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    samples = collect(args.levels, args.seed, args.limit, args.model, args.cache)
    zero = np.zeros(len(DETECTED_TASKS))
    print(f"model: {args.model or 'shipped (engine.pipeline.detect)'}; {len(samples)} samples\n")
    print_reports(samples, zero, ("report", "calibration", "training"), args.levels)
    if args.calibrate:
        offsets = calibrate([s for s in samples if s.part == "calibration"], args.max_false_alarms)
        limit = f"at most {args.max_false_alarms:.0%} clean flagged"
        print(f"\n# Thresholds picked on the calibration part ({limit})")
        print(f"\nlogit offsets {np.round(offsets, 2).tolist()}; thresholds {thresholds_text(offsets)}\n")
        print_reports(samples, offsets, ("calibration", "report", "training"), args.levels)
    print(f"\nlevels {args.levels}, seed {args.seed}, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
