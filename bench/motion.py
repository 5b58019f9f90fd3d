"""The camera-shake estimate and deconvolution (engine.restorers.shake): what it finds, gains, and costs.

Per case, on BSD432 photos (the set its constants were chosen on; the validation sets are judged by
bench/quality.py): how many photos a shake was found in, the path lengths read, and the mean PSNR before
and after the deconvolution (it runs only where a shake was found, and the even blur engine.restorers.defocus
finds is its rival, as in restore()), and after the shake refiner (resources/models/shake.onnx) has
finished it, as restore() does. Sharp, defocused and JPEG photos must show no shake; the checks that
turn a false path down are what matter there.

    .venv/bin/python -m bench.motion                   # every 36th BSD432 photo (12), ~8 min
    .venv/bin/python -m bench.motion --speed --every 0  # only restore() on a 12 MP shaken photo
    .venv/bin/python -m bench.motion --grainy --offset 18  # the checks after a grain step, per photo

`--grainy`: sharp and shaken (21 px) photos with grain σ 8, the grain step run first as a plan runs it, the
path read on its output and checked on the photo as it came: per photo, what each check saw (the figures
GRAINY_SPECTRUM_MARGIN was chosen from, on offsets 0 and 18).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import cv2
import numpy as np

from bench.defocus import BSD_DIR, SPEED_PHOTO, degraded, on_camera
from bench.quality import read_rgb
from engine.metrics import psnr
from engine.models import SHAKE
from engine.restorers import refine
from engine.restorers.defocus import defocus_kernel, estimate_defocus
from engine.restorers.shake import estimate_motion, undo_motion
from training.degradations import motion_kernel

CASES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "sharp": on_camera(np.ones((1, 1), np.float32)),
    "shake 21 px (bench level)": degraded(("deblur",), "motion"),
    "shake 11 px": degraded(("deblur",), "motion_small"),
    "disk r 3": on_camera(defocus_kernel(3.0)),
    "JPEG q10": degraded(("jpeg",), "q10"),
}


def run_cases(every: int) -> str:
    photos = sorted(BSD_DIR.glob("*.jpg"))[::every]
    rows = [
        "| case | photos | found | lengths read (px) | input PSNR | deconvolved | + refiner (PhotoMend) "
        "| gain per photo (dB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case_index, (name, make) in enumerate(CASES.items()):
        lengths, before, deconvolved, after = [], [], [], []
        for photo_index, path in enumerate(photos):
            clean = read_rgb(path)
            shaken = make(clean, np.random.default_rng([case_index, photo_index]))
            even = estimate_defocus(shaken)
            estimate = estimate_motion(shaken, even_blur=even.kernel if even.found else None)
            if estimate.found:
                lengths.append(estimate.length)
            before.append(psnr(shaken, clean))
            undone = undo_motion(shaken, estimate)
            deconvolved.append(psnr(undone, clean))
            if estimate.found:
                undone = np.clip(refine(SHAKE, estimate.level, shaken, undone), 0.0, 1.0)
            after.append(psnr(undone, clean))
        read = f"{min(lengths):.0f}–{max(lengths):.0f}" if lengths else "—"
        gains = " ".join(f"{a - b:+.1f}" for a, b in zip(after, before, strict=True))
        rows.append(
            f"| {name} | {len(photos)} | {len(lengths)} | {read} | {np.mean(before):.2f} | "
            f"{np.mean(deconvolved):.2f} | {np.mean(after):.2f} | {gains} |"
        )
        print(rows[-1], flush=True)
    return "\n".join(rows)


def run_grainy(every: int, offset: int) -> str:
    from engine.pipeline import restore

    photos = sorted(BSD_DIR.glob("*.jpg"))[offset::every]
    rows = [
        "| photo | case | found | path read (px) | spread | fit / no blur | sparsity |",
        "|---|---|---|---|---|---|---|",
    ]
    grainy_cases = {
        "sharp": degraded(("denoise",), {"denoise": "sigma8"}),
        "shaken": degraded(("deblur", "denoise"), {"deblur": "motion", "denoise": "sigma8"}),
    }
    for photo_index, path in enumerate(photos):
        clean = read_rgb(path)
        for name, make in grainy_cases.items():
            grainy = make(clean, np.random.default_rng([11 + offset, photo_index]))
            denoised = restore(grainy, "remove the noise").pixels
            estimate = estimate_motion(denoised, spectrum_of=grainy)
            rows.append(
                f"| {path.stem} | {name} | {'yes' if estimate.found else 'no'} | {estimate.read_length:.0f} "
                f"| {estimate.spread:.2f} | {estimate.fit_error / estimate.sharp_fit_error:.3f} "
                f"| {estimate.sparsity:.3f} |"
            )
            print(rows[-1], flush=True)
    return "\n".join(rows)


def run_speed() -> str:
    from engine.pipeline import restore

    clean = cv2.resize(read_rgb(SPEED_PHOTO), (4000, 3000), interpolation=cv2.INTER_AREA)
    # 41 px at full size: read at half size, the bench's 21 px.
    shaken = on_camera(motion_kernel(np.random.default_rng(0), 41, 0.5))(clean, np.random.default_rng(0))
    started = time.perf_counter()
    result = restore(shaken, "the camera shook, fix the motion blur")
    seconds = time.perf_counter() - started
    return (
        f"12 MP (4000 x 3000, {SPEED_PHOTO.name} resized, a 41 px shake): restore() {seconds:.1f} s; "
        f"found: {result.findings[0]}; PSNR {psnr(shaken, clean):.2f} -> {psnr(result.pixels, clean):.2f} dB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.motion", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=36, help="every Nth BSD432 photo (default 36; 0: none)")
    parser.add_argument("--speed", action="store_true", help="also time restore() on a 12 MP photo")
    parser.add_argument("--grainy", action="store_true", help="the checks after a grain step, per photo")
    parser.add_argument("--offset", type=int, default=0, help="the first photo of every Nth (--grainy)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(2)
    started = time.perf_counter()
    if args.grainy:
        print()
        print(run_grainy(args.every, args.offset))
    elif args.every > 0:
        print()
        print(run_cases(args.every))
    if args.speed:
        print(run_speed())
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
