"""The defocus search and deconvolution (engine.restorers.defocus): what it finds, gains, and costs.

Per case, on BSD432 photos (the set the thresholds were chosen on; the validation sets are judged by
bench/quality.py): how many photos a blur was found in, the shapes and sizes fitted, and the mean PSNR
before and after (the deconvolution runs only where a blur was found, as in restore()). Sharp, shaken
and JPEG photos must show no blur; disks and Gaussians must be found at their size.

    .venv/bin/python -m bench.defocus                    # every 12th BSD432 photo (36), ~2 min
    .venv/bin/python -m bench.defocus --speed            # + restore() on a 12 MP defocused photo
    .venv/bin/python -m bench.defocus --grain --every 48  # grainy and defocused: what GRAIN_SIGMA chose
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import cv2
import numpy as np

from bench.quality import VAL_DIR, read_rgb
from engine.metrics import psnr
from engine.restorers.defocus import deconvolve, defocus_kernel, estimate_defocus, soft_kernel
from training.degradations import apply_kernel
from training.degradations.pipeline import degrade

BSD_DIR = VAL_DIR.parent / "bsd432"
PHOTOS_DIR = VAL_DIR.parent / "photos"
SENSOR_SIGMA = 1 / 255
SPEED_PHOTO = PHOTOS_DIR / "38_Path.jpg"  # grass, trees, a path: texture everywhere


def on_camera(
    kernel: np.ndarray, sigma: float = SENSOR_SIGMA
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Blur with `kernel`, add sensor noise (default: faint), round to 8 bits."""

    def make(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = apply_kernel(clean, kernel) + rng.normal(0.0, sigma, clean.shape)
        return (np.round(np.clip(out, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)

    return make


def degraded(
    tasks: tuple[str, ...], level: str | dict[str, str]
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    return lambda clean, rng: degrade(clean, tasks, rng, level=level).image


CASES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "sharp": lambda clean, _rng: clean,
    "motion 21 px": degraded(("deblur",), "motion"),
    "motion 11 px": degraded(("deblur",), "motion_small"),
    "JPEG q10": degraded(("jpeg",), "q10"),
    **{f"disk r {r:g}": on_camera(defocus_kernel(r)) for r in (2.0, 4.0, 6.0)},
    **{f"Gaussian σ {s:g}": on_camera(soft_kernel(s)) for s in (1.0, 1.5, 2.5)},
}


def run_cases(every: int) -> str:
    photos = sorted(BSD_DIR.glob("*.jpg"))[::every]
    rows = [
        "| case | photos | found | shapes fitted (n: min–max px) | input PSNR | PhotoMend PSNR |",
        "|---|---|---|---|---|---|",
    ]
    for case_index, (name, make) in enumerate(CASES.items()):
        found, fitted, before, after = 0, {}, [], []
        for photo_index, path in enumerate(photos):
            clean = read_rgb(path)
            blurred = make(clean, np.random.default_rng([case_index, photo_index]))
            estimate = estimate_defocus(blurred)
            fitted.setdefault(estimate.shape, []).append(estimate.size)
            out = deconvolve(blurred, estimate.kernel) if estimate.found else blurred
            found += estimate.found
            if name != "sharp":
                before.append(psnr(blurred, clean))
                after.append(psnr(out, clean))
        shapes = ", ".join(f"{s} {len(v)}: {min(v):g}–{max(v):g}" for s, v in sorted(fitted.items()))
        scores = (f"{np.mean(before):.2f}", f"{np.mean(after):.2f}") if before else ("—", "—")
        rows.append(f"| {name} | {len(photos)} | {found} | {shapes} | {scores[0]} | {scores[1]} |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def run_grain(every: int) -> str:
    """Disk r 3 with more noise: the deconvolution alone against restore() (grain removed first if grainy)."""
    from engine.pipeline import restore
    from engine.restorers.defocus import is_grainy, undo_blur

    photos = sorted(BSD_DIR.glob("*.jpg"))[::every]
    rows = [
        "| disk r 3, noise σ | photos | read as grainy | input | deconvolution alone | restore() |",
        "|---|---|---|---|---|---|",
    ]
    for level in (1, 2, 3, 6, 10):
        grainy, scores = 0, {"input": [], "alone": [], "restore": []}
        for photo_index, path in enumerate(photos):
            clean = read_rgb(path)
            make = on_camera(defocus_kernel(3.0), level / 255)
            noisy = make(clean, np.random.default_rng([level, photo_index]))
            grainy += is_grainy(noisy)
            scores["input"].append(psnr(noisy, clean))
            scores["alone"].append(psnr(undo_blur(noisy, estimate_defocus(noisy)), clean))
            scores["restore"].append(psnr(restore(noisy, "it's out of focus").pixels, clean))
        means = " | ".join(f"{np.mean(v):.2f}" for v in scores.values())
        rows.append(f"| {level}/255 | {len(photos)} | {grainy} | {means} |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def run_speed() -> str:
    from engine.pipeline import restore

    source = read_rgb(SPEED_PHOTO)
    clean = cv2.resize(source, (4000, 3000), interpolation=cv2.INTER_AREA)
    blurred = on_camera(defocus_kernel(4.0))(clean, np.random.default_rng(0))
    started = time.perf_counter()
    result = restore(blurred, "the photo is out of focus, sharpen it")
    seconds = time.perf_counter() - started
    return (
        f"12 MP (4000 x 3000, {SPEED_PHOTO.name} resized, disk r 4): "
        f"restore() {seconds:.1f} s; found: {result.findings[0]}; PSNR {psnr(blurred, clean):.2f} -> "
        f"{psnr(result.pixels, clean):.2f} dB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.defocus", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=12, help="use every Nth BSD432 photo (default 12)")
    parser.add_argument("--speed", action="store_true", help="also time restore() on a 12 MP photo")
    parser.add_argument("--grain", action="store_true", help="also grainy defocused photos through restore()")
    args = parser.parse_args(argv)
    cv2.setNumThreads(2)
    started = time.perf_counter()
    table = run_cases(args.every)
    print()
    print(table)
    if args.grain:
        print(run_grain(args.every))
    if args.speed:
        print(run_speed())
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
