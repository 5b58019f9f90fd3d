"""Speed on this machine (issue 28): the network beside sgemm, 12 MP single-fault restores, peak RSS by size.

Timings on a shared machine are noisy, so every figure comes with numpy's sgemm rate measured in the same
process, before and after.

- **network**: the restoration network (resources/models/restore.onnx, 38 kMAC per pixel) on one tile of
  each size through the engine's own session, as GFLOP/s and as a share of sgemm.
- **restores**: `restore()` on a 12 MP photo (4000 x 3000, 38_Path.jpg resized: texture everywhere) with one
  fault each — grain σ15, JPEG q10, low light −3 EV, haze, rain (training.degradations, the bench levels of
  bench/quality.py) — total seconds, each step's, and PSNR before and after. `--only` adds camera shake
  (a 21 px path), defocus (disk r 3), "dark and grainy" and grain σ15 saved as a JPEG q40 (`grain-jpeg`);
  `--megapixels` sets the size.
- **memory** (`--memory`): peak RSS of `photomend restore` at 12 MP and at 48 MP, each in its own child
  process (ru_maxrss only grows), and their ratio: "brighten this dark photo" on the photo 3 stops darker
  (since session 22: on the photo as it is the exposure restorer finds nothing to brighten and the network
  alone runs).

    .venv/bin/python -m bench.speed                    # network + the five 12 MP restores (~5 min on 2 cores)
    .venv/bin/python -m bench.speed --only network     # the network beside sgemm (~30 s)
    git show 795989f:resources/models/restore.onnx > /tmp/textbook.onnx   # the graph before issue 28
    .venv/bin/python -m bench.speed --only network --also /tmp/textbook.onnx   # both, side by side
    .venv/bin/python -m bench.speed --only grain jpeg  # some restores
    .venv/bin/python -m bench.speed --only shake defocus dark-grainy --megapixels 0.25   # small photos
    .venv/bin/python -m bench.speed --memory           # peak RSS at 12 and 48 MP (~4 min)
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

from bench.defocus import SPEED_PHOTO, on_camera
from bench.noise import white
from bench.quality import read_rgb
from engine.metrics import psnr
from engine.models import RESTORE, model_path
from engine.pipeline import restore
from engine.restorers.defocus import defocus_kernel
from engine.runtime.sessions import session_options
from training.degradations import motion_kernel
from training.degradations.jpeg import jpeg_compress
from training.degradations.pipeline import degrade

#: multiply-accumulates per pixel of restore.onnx (training/model.py's RestoreNet, width 16, counted per conv)
NETWORK_MACS_PER_PIXEL = 38_000
RESTORE_FILE = model_path(RESTORE)
TWELVE_MP = (3000, 4000)
FORTY_EIGHT_MP = (6000, 8000)


def sgemm_gflops(seconds: float = 3.0, n: int = 1024) -> float:
    """numpy's float32 matrix-multiply rate (GFLOP/s) on this machine, now."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    return count * 2 * n**3 / (time.perf_counter() - started) / 1e9


def network_rates(
    model: Path, sides: tuple[int, ...] = (256, 512, 1024), repeats: int = 4
) -> list[tuple[int, float]]:
    """(tile side, GFLOP/s) of a restoration network file on the CPU, with the engine's session options;
    the best of `repeats` runs per side (the machine is shared: the best run is the least disturbed)."""
    session = ort.InferenceSession(
        str(model), session_options(["CPUExecutionProvider"]), providers=["CPUExecutionProvider"]
    )
    embedding = np.random.default_rng(1).standard_normal((1, 384)).astype(np.float32)
    rates = []
    for side in sides:
        feeds = {"image": np.random.default_rng(side).random((1, 3, side, side), dtype=np.float32)}
        feeds["embedding"] = embedding
        session.run(None, feeds)  # first run: allocations
        best = math.inf
        for _ in range(repeats):
            started = time.perf_counter()
            session.run(None, feeds)
            best = min(best, time.perf_counter() - started)
        rates.append((side, 2 * NETWORK_MACS_PER_PIXEL * side * side / best / 1e9))
    return rates


def run_network(also: list[Path]) -> None:
    before = sgemm_gflops()
    measured = [(model, network_rates(model)) for model in [RESTORE_FILE, *also]]
    after = sgemm_gflops()
    reference = (before + after) / 2
    print(f"numpy sgemm in this process: {before:.0f} GFLOP/s before, {after:.0f} after")
    for model, rates in measured:
        for side, rate in rates:
            print(
                f"{model}, one {side}² tile: {rate:.1f} GFLOP/s = {100 * rate / reference:.0f} % of sgemm",
                flush=True,
            )


def _degraded(task: str, level: str) -> Callable[[np.ndarray], np.ndarray]:
    return lambda clean: degrade(clean, (task,), np.random.default_rng(0), level=level).image


def _blurred(kernel: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda clean: on_camera(kernel)(clean, np.random.default_rng(0))


#: name -> (how the clean photo is degraded, what the user types)
RESTORES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "grain": (lambda clean: white(15)(clean, np.random.default_rng(0)), "remove the noise"),
    "jpeg": (lambda clean: jpeg_compress(clean, 10), "remove the jpeg artifacts"),
    "lowlight": (_degraded("lowlight", "ev-3"), "brighten this dark photo"),
    "haze": (_degraded("dehaze", "medium"), "remove the haze"),
    "rain": (_degraded("derain", "medium"), "remove the rain"),
    # not in the default 12 MP run (bench.motion --speed and bench.defocus --speed time those)
    "shake": (_blurred(motion_kernel(np.random.default_rng(0), 21, 0.5)), "the camera shook, fix the blur"),
    "defocus": (_blurred(defocus_kernel(3.0)), "the photo is out of focus, sharpen it"),
    "dark-grainy": (_degraded("lowlight", "ev-3"), "it's dark and grainy"),
    "grain-jpeg": (
        lambda clean: jpeg_compress(white(15)(clean, np.random.default_rng(0)), 40),
        "it's grainy and the jpeg compression made it blocky",
    ),
}
DEFAULT_RESTORES = ("grain", "jpeg", "lowlight", "haze", "rain")


def clean_photo(megapixels: float) -> np.ndarray:
    """The clean photo every restore starts from, 4:3 (float32 H x W x 3 in [0, 1])."""
    width = int(round(math.sqrt(megapixels * 1e6 * 4 / 3) / 16)) * 16
    height = width * 3 // 4
    return cv2.resize(read_rgb(SPEED_PHOTO), (width, height), interpolation=cv2.INTER_AREA)


def run_restores(names: list[str], megapixels: float) -> None:
    clean = clean_photo(megapixels)
    label = f"{clean.shape[0] * clean.shape[1] / 1e6:.2g} MP"
    restore(clean[:512, :512], "remove the noise")  # sessions and the encoder loaded outside the timings
    before = sgemm_gflops()
    print(f"numpy sgemm in this process: {before:.0f} GFLOP/s before the restores")
    for name in names:
        make, prompt = RESTORES[name]
        degraded = make(clean)
        started = time.perf_counter()
        result = restore(degraded, prompt)
        seconds = time.perf_counter() - started
        steps = "; ".join(f"{s.label} {s.seconds:.1f} s" for s in result.steps)
        print(
            f"{label} {name:11s} {prompt!r}: {seconds:.1f} s ({steps}); PSNR {psnr(degraded, clean):.2f} -> "
            f"{psnr(result.pixels, clean):.2f} dB",
            flush=True,
        )
    print(f"numpy sgemm in this process: {sgemm_gflops():.0f} GFLOP/s after the restores")


def _peak_rss_mb(source: Path, prompt: str, out: Path) -> tuple[float, float, int]:
    """(peak RSS MB, seconds, exit code) of `photomend restore` on `source`, in a child of its own."""
    code = "\n".join(
        [
            "import atexit, resource, sys",
            "from engine.cli import main",
            "atexit.register(lambda: print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))",
            "sys.exit(main(sys.argv[1:]))",
        ]
    )
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", code, "restore", str(source), "--prompt", prompt, "--output", str(out)],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peaks = [line.split()[1] for line in run.stdout.splitlines() if line.startswith("PEAK ")]
    if run.returncode or not peaks:
        print("  " + run.stderr.strip()[-400:])
    return (int(peaks[-1]) / 1024 if peaks else float("nan")), seconds, run.returncode


def run_memory(prompt: str = "brighten this dark photo") -> None:
    clean = read_rgb(SPEED_PHOTO)
    with tempfile.TemporaryDirectory() as tmp:
        peaks = []
        for label, (height, width) in (("12 MP", TWELVE_MP), ("48 MP", FORTY_EIGHT_MP)):
            source = Path(tmp) / f"{label.replace(' ', '')}.jpg"
            # the photo 3 stops darker with its shot noise (RESTORES["lowlight"]), as the prompt says it is
            dark = RESTORES["lowlight"][0](cv2.resize(clean, (width, height), interpolation=cv2.INTER_AREA))
            Image.fromarray(np.rint(np.clip(dark, 0.0, 1.0) * 255).astype(np.uint8)).save(source, quality=92)
            del dark
            peak, seconds, code = _peak_rss_mb(source, prompt, Path(tmp) / f"out{label[:2]}")
            peaks.append(peak)
            buffers = height * width * 3 * 4 * 2 / 2**20  # one float32 photo in, one out
            print(
                f"{label} ({width} x {height}) {prompt!r}: exit {code}, {seconds:.0f} s, "
                f"peak RSS {peak:.0f} MB (a float32 photo in and out alone: {buffers:.0f} MB)",
                flush=True,
            )
        print(f"peak RSS 48 MP / 12 MP: {peaks[1] / peaks[0]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", nargs="+", choices=["network", *RESTORES], help="the network and/or some restores"
    )
    parser.add_argument("--memory", action="store_true", help="peak RSS at 12 and 48 MP instead")
    parser.add_argument("--megapixels", type=float, default=12.0, help="the restores' size (default 12)")
    parser.add_argument(
        "--also", nargs="+", type=Path, default=[], help="other restore.onnx files to time beside it"
    )
    args = parser.parse_args(argv)
    if args.memory:
        run_memory()
        return
    chosen = args.only or ["network", *DEFAULT_RESTORES]
    if "network" in chosen:
        run_network(args.also)
    restores = [name for name in chosen if name != "network"]
    if restores:
        run_restores(restores, args.megapixels)


if __name__ == "__main__":
    main()
