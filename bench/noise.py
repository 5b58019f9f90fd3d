"""The noise level, JPEG quality and DCT filter (engine.noise): what they read, gain and cost.

On BSD432 photos (textured; the set FLAT_SHARE and COLOURED_RATIO were chosen on; the validation sets are
judged by bench/quality.py), per case: the noise level read (RMS, /255), and the mean PSNR of the input,
of the network alone, of the DCT filter alone and of restore() as shipped (network, filter, then the
denoise refiner), all for "remove the noise".
Clean and faintly noisy photos show what the network alone does to texture. `--jpeg`: the 12 BSD432
photos the JPEG refiner never saw, saved at qualities 5-90 (training.degradations' JPEG, 4:2:0), "remove
the jpeg artifacts": how often the quality is read right, the same PSNRs and the DCT filter's alone (at
the quality read), before the refiner (resources/models/jpeg.onnx) finishes it.

    .venv/bin/python -m bench.noise                       # every 14th BSD432 photo (31), ~3 min
    .venv/bin/python -m bench.noise --every 36            # the 12 photos the refiners never saw
    .venv/bin/python -m bench.noise --flat-share 0.25     # the noise read in the flattest 25 % instead
    .venv/bin/python -m bench.noise --speed --every 1000   # restore() on a 12 MP grainy photo
    .venv/bin/python -m bench.noise --jpeg                 # + JPEG qualities (LEVEL_PER_SCALE's choice)
    .venv/bin/python -m bench.noise --no-noise --jpeg --speed   # JPEG only, + a 12 MP JPEG q10
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

import engine.noise.dct as dct_module
from bench.defocus import BSD_DIR, SPEED_PHOTO, degraded
from bench.quality import read_rgb
from engine.metrics import psnr
from engine.noise import NoiseLevel, denoise_dct, jpeg_noise_level
from engine.pipeline import RestoreResult, restore
from training.degradations.jpeg import jpeg_compress

INSTRUCTION = "remove the noise"
JPEG_INSTRUCTION = "remove the jpeg artifacts"


def white(sigma: float) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """White Gaussian noise of `sigma`/255, clipped and rounded to 8 bits as a saved photo is."""

    def make(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = clean + rng.normal(0.0, sigma / 255.0, clean.shape)
        return (np.round(np.clip(out, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)

    return make


CASES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    **{f"σ {s:g}": white(s) for s in (0, 3, 6, 10, 15, 25, 50)},
    "σ 20 + camera JPEG q90": degraded(("denoise",), "sigma20_camera_jpeg90"),
}


@contextlib.contextmanager
def network_alone() -> Iterator[None]:
    """restore() as if no grain and no JPEG quality were found: the network's output is kept."""
    module = sys.modules["engine.pipeline.restore"]
    noise, quality = module.estimate_noise_level, module.estimate_jpeg_quality
    module.estimate_noise_level = lambda *_: NoiseLevel((0.0, 0.0, 0.0))
    module.estimate_jpeg_quality = lambda *_: None
    try:
        yield
    finally:
        module.estimate_noise_level, module.estimate_jpeg_quality = noise, quality


@contextlib.contextmanager
def filter_alone() -> Iterator[None]:
    """restore() as if the denoise refiner never had a share: the DCT filter's output is kept."""
    module = sys.modules["engine.pipeline.restore"]
    bounds = module.REFINE_FROM, module.REFINE_FULL
    module.REFINE_FROM = module.REFINE_FULL = float("inf")
    try:
        yield
    finally:
        module.REFINE_FROM, module.REFINE_FULL = bounds


@dataclass
class Scores:
    """PSNRs of the input, of the network alone, of the filter alone (grain) and of restore() as shipped,
    photo by photo."""

    before: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)
    filtered: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)

    def measure(self, degraded: np.ndarray, clean: np.ndarray, instruction: str) -> RestoreResult:
        result = restore(degraded, instruction)
        with network_alone():
            self.alone.append(psnr(restore(degraded, instruction).pixels, clean))
        if instruction == INSTRUCTION:
            with filter_alone():
                self.filtered.append(psnr(restore(degraded, instruction).pixels, clean))
        self.before.append(min(psnr(degraded, clean), 100.0))
        self.after.append(psnr(result.pixels, clean))
        return result

    def cells(self) -> str:
        filtered = f" | {np.mean(self.filtered):.2f}" if self.filtered else ""
        return f"{np.mean(self.before):.2f} | {np.mean(self.alone):.2f}{filtered} | {np.mean(self.after):.2f}"


def run_cases(every: int) -> str:
    photos = sorted(BSD_DIR.glob("*.jpg"))[::every]
    rows = [
        "| case | photos | level read (/255): mean, min–max | input | network alone | DCT filter alone "
        "| PhotoMend |",
        "|---|---|---|---|---|---|---|",
    ]
    for case_index, (name, make) in enumerate(CASES.items()):
        levels, scores = [], Scores()
        for photo_index, path in enumerate(photos):
            clean = read_rgb(path)
            noisy = make(clean, np.random.default_rng([case_index, photo_index]))
            levels.append(scores.measure(noisy, clean, INSTRUCTION).metadata["noise"])
        rows.append(
            f"| {name} | {len(photos)} | {np.mean(levels):.1f}, {min(levels):.1f}–{max(levels):.1f} "
            f"| {scores.cells()} |"
        )
        print(rows[-1], flush=True)
    return "\n".join(rows)


def run_jpeg(every: int) -> str:
    """Every `every`-th of the BSD432 photos the JPEG refiner was not trained on (VAL_EVERY-th ones)."""
    from training.refiner import VAL_EVERY  # (imports torch)

    photos = sorted(BSD_DIR.glob("*.jpg"))[:: VAL_EVERY * every]
    rows = [
        "| JPEG quality | photos | read within 1 | input | network alone | DCT filter alone | PhotoMend |",
        "|---|---|---|---|---|---|---|",
    ]
    for quality in (5, 10, 20, 40, 70, 90):
        right, scores, filtered = 0, Scores(), []
        for path in photos:
            clean = read_rgb(path)
            blocky = jpeg_compress(clean, quality)
            read = scores.measure(blocky, clean, JPEG_INSTRUCTION).metadata.get("jpeg_quality")
            right += isinstance(read, int) and abs(read - quality) <= 1
            if isinstance(read, int):
                filtered.append(psnr(denoise_dct(blocky, jpeg_noise_level(read), clipped=False), clean))
        alone = f"{np.mean(filtered):.2f}" if filtered else "—"
        before, network, after = scores.cells().split(" | ")
        rows.append(f"| {quality} | {len(photos)} | {right} | {before} | {network} | {alone} | {after} |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def run_jpeg_speed() -> str:
    clean = cv2.resize(read_rgb(SPEED_PHOTO), (4000, 3000), interpolation=cv2.INTER_AREA)
    blocky = jpeg_compress(clean, 10)
    started = time.perf_counter()
    result = restore(blocky, JPEG_INSTRUCTION)
    seconds = time.perf_counter() - started
    return (
        f"12 MP (4000 x 3000, {SPEED_PHOTO.name} resized, JPEG q10): restore() {seconds:.1f} s; "
        f"{result.findings[0]} PSNR {psnr(blocky, clean):.2f} -> {psnr(result.pixels, clean):.2f} dB"
    )


def run_speed() -> str:
    source = read_rgb(SPEED_PHOTO)
    clean = cv2.resize(source, (4000, 3000), interpolation=cv2.INTER_AREA)
    noisy = white(15)(clean, np.random.default_rng(0))
    started = time.perf_counter()
    result = restore(noisy, INSTRUCTION)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    dct_module.denoise_dct(noisy, NoiseLevel((15 / 255,) * 3))
    filter_seconds = time.perf_counter() - started
    return (
        f"12 MP (4000 x 3000, {SPEED_PHOTO.name} resized, σ 15): restore() {seconds:.1f} s, of which the "
        f"DCT filter about {filter_seconds:.1f} s; {result.findings[0]} PSNR {psnr(noisy, clean):.2f} -> "
        f"{psnr(result.pixels, clean):.2f} dB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.noise", description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=14, help="use every Nth BSD432 photo (default 14)")
    parser.add_argument(
        "--flat-share", type=float, help=f"share of flattest blocks read (default {dct_module.FLAT_SHARE})"
    )
    parser.add_argument("--speed", action="store_true", help="also time restore() on a 12 MP photo")
    parser.add_argument("--jpeg", action="store_true", help="also photos saved as JPEG at qualities 5-90")
    parser.add_argument("--no-noise", action="store_true", help="skip the noise cases")
    parser.add_argument(
        "--jpeg-every", type=int, default=1, help="JPEG: every Nth of the 12 held-out photos (default 1)"
    )
    args = parser.parse_args(argv)
    if args.flat_share is not None:
        dct_module.FLAT_SHARE = args.flat_share
    cv2.setNumThreads(2)
    started = time.perf_counter()
    if not args.no_noise:
        table = run_cases(args.every)
        print()
        print(table)
    if args.jpeg:
        print(run_jpeg(args.jpeg_every))
    if args.speed and not args.no_noise:
        print(run_speed())
    if args.speed and args.jpeg:
        print(run_jpeg_speed())
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
