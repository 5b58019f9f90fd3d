"""Super-resolution: the network's ×2 and ×4 beside bicubic and Lanczos, its speed, its memory, and a look.

Quality: each clean photo is made `scale` times smaller by antialiased bicubic resampling (Pillow's, as
MATLAB's imresize: the field's usual degradation) and enlarged back by each method; PSNR and SSIM (RGB, a
border of `scale` px left out) against the original. "camera" rows make the small photo as a phone would:
area resampling, grain σ 4/255 and a JPEG at quality 80 (the network should enlarge the photo, not its
grain and blocks). Sets: McMaster, Set14 and BSD432's 12 held-out photos (every 36th, never trained on).

    .venv/bin/python -m bench.enlarge                    # the quality table (about 10 min on 2 cores)
    .venv/bin/python -m bench.enlarge --speed            # 3 MP -> 12 MP at ×2, beside sgemm, in one process
    .venv/bin/python -m bench.enlarge --memory           # peak RSS of a 12 MP photo enlarged ×4 (CLI run)
    .venv/bin/python -m bench.enlarge --look PHOTO --out look.png   # a crop at 100 %: bicubic | network
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bench.speed import sgemm_gflops
from engine.metrics import psnr, ssim
from engine.restorers.enlarge import enlarge

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VAL_EVERY = 36  # training/enlarger.py holds BSD432's every 36th photo out


def photo_sets(limit: int | None) -> dict[str, list[np.ndarray]]:
    bsd = [p for i, p in enumerate(sorted((SHARED / "bsd432").glob("*.jpg"))) if i % VAL_EVERY == 0]
    folders = {
        "McMaster": sorted((SHARED / "val" / "McMaster").glob("*.png")),
        "Set14": sorted((SHARED / "val" / "Set14").glob("*.png")),
        "BSD432 held-out": bsd,
    }
    return {name: [_rgb(p) for p in paths[:limit]] for name, paths in folders.items()}


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def pil_resize(pixels: np.ndarray, size: tuple[int, int], method: Image.Resampling) -> np.ndarray:
    """float32 H x W x 3 resampled per channel by Pillow (mode F: no 8-bit rounding) to (width, height)."""
    channels = [np.asarray(Image.fromarray(pixels[..., c], mode="F").resize(size, method)) for c in range(3)]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0)


def small_version(clean: np.ndarray, scale: int, camera: bool, rng: np.random.Generator) -> np.ndarray:
    h, w = clean.shape[0] // scale, clean.shape[1] // scale
    clean = clean[: h * scale, : w * scale]
    if not camera:
        return _float(np.asarray(Image.fromarray(clean).resize((w, h), Image.Resampling.BICUBIC)))
    small = cv2.resize(clean, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    small = np.clip(np.rint(small + rng.normal(0.0, 4.0, small.shape)), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    return _float(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def quality(limit: int | None) -> None:
    sets = photo_sets(limit)
    print("| set | scale | small photo | bicubic | Lanczos | network | network − bicubic | bar |")
    print("|---|---|---|---|---|---|---|---|")
    for camera in (False, True):
        for scale, bar in ((2, 1.5), (4, 0.8)):
            for name, photos in sets.items():
                rng = np.random.default_rng(scale)
                scores: dict[str, list[tuple[float, float]]] = {"bicubic": [], "lanczos": [], "network": []}
                for clean in photos:
                    small = small_version(clean, scale, camera, rng)
                    target = _float(clean[: small.shape[0] * scale, : small.shape[1] * scale])
                    size = (target.shape[1], target.shape[0])
                    outputs = {
                        "bicubic": pil_resize(small, size, Image.Resampling.BICUBIC),
                        "lanczos": pil_resize(small, size, Image.Resampling.LANCZOS),
                        "network": np.clip(enlarge(small, scale), 0.0, 1.0),
                    }
                    for method, out in outputs.items():
                        scores[method].append(
                            (psnr(out, target, border=scale), ssim(out, target, border=scale))
                        )
                mean = {m: np.mean(np.array(v), axis=0) for m, v in scores.items()}
                gain = mean["network"][0] - mean["bicubic"][0]
                judged = "" if camera else ("met" if gain >= bar else f"NOT met (+{bar})")
                cells = " | ".join(
                    f"{mean[m][0]:.2f} / {mean[m][1]:.4f}" for m in ("bicubic", "lanczos", "network")
                )
                kind = "camera (area, grain σ4, JPEG q80)" if camera else "bicubic"
                print(
                    f"| {name} ({len(photos)}) | ×{scale} | {kind} | {cells} | {gain:+.2f} | {judged} |",
                    flush=True,
                )
    print("\nPSNR dB / SSIM, RGB, border of `scale` px left out.")


def speed() -> None:
    photo = _float(_rgb(sorted((SHARED / "photos").glob("*.jpg"))[0]))
    small = cv2.resize(photo, (2000, 1500), interpolation=cv2.INTER_AREA)  # 3 MP
    before = sgemm_gflops()
    enlarge(small[:256, :256], 2)  # session load and first-run allocations outside the timing
    started = time.perf_counter()
    out = enlarge(small, 2)
    seconds = time.perf_counter() - started
    after = sgemm_gflops()
    print(
        f"×2: {small.shape[1]}×{small.shape[0]} ({small.shape[0] * small.shape[1] / 1e6:.1f} MP) -> "
        f"{out.shape[1]}×{out.shape[0]} ({out.shape[0] * out.shape[1] / 1e6:.1f} MP) in {seconds:.1f} s"
    )
    print(f"numpy sgemm in the same process: {before:.0f} GFLOP/s before, {after:.0f} GFLOP/s after")


def memory() -> None:
    """Peak RSS of `photomend restore` enlarging a 12 MP photo ×4 (a 192 MP result), in a child process."""
    photo = _rgb(sorted((SHARED / "photos").glob("*.jpg"))[0])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "twelve.jpg"
        Image.fromarray(cv2.resize(photo, (4000, 3000), interpolation=cv2.INTER_AREA)).save(
            source, quality=92
        )
        for prompt in ("make it twice as big", "make it 4x bigger"):
            started = time.perf_counter()
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "engine.cli",
                    "restore",
                    str(source),
                    "--prompt",
                    prompt,
                    "--output",
                    str(Path(tmp) / "out"),
                    "--overwrite",
                ],
                capture_output=True,
                text=True,
            )
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"12 MP, {prompt!r}: exit {run.returncode}, {time.perf_counter() - started:.0f} s, "
                f"peak RSS so far of the child runs {peak:.0f} MB"
            )
            print("  " + (run.stdout.strip().splitlines() or [""])[-1][:160])
            if run.returncode:
                print("  " + run.stderr.strip()[-300:])


def look(path: Path, out: Path, side: int = 160) -> None:
    """A real photo made small and grainy (area ×1/4, grain σ 5/255, saved at JPEG q80, as a phone's shot
    shared small), enlarged ×2 by bicubic and by the network; a crop of each at 100 % side by side, after
    the small photo's crop (nearest ×2)."""
    photo = _rgb(path)
    small_u8 = cv2.resize(photo, (photo.shape[1] // 4, photo.shape[0] // 4), interpolation=cv2.INTER_AREA)
    grain = np.random.default_rng(0).normal(0.0, 5.0, small_u8.shape)
    small_u8 = np.clip(np.rint(small_u8 + grain), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", small_u8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    small = _float(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])
    size = (small.shape[1] * 2, small.shape[0] * 2)
    bicubic = pil_resize(small, size, Image.Resampling.BICUBIC)
    network = np.clip(enlarge(small, 2), 0.0, 1.0)
    y, x = (size[1] - 2 * side) // 2, (size[0] - 2 * side) // 2
    nearest = cv2.resize(small, size, interpolation=cv2.INTER_NEAREST)
    crops = [image[y : y + 2 * side, x : x + 2 * side] for image in (nearest, bicubic, network)]
    gap = np.ones((2 * side, 8, 3), np.float32)
    strip = np.concatenate([crops[0], gap, crops[1], gap, crops[2]], axis=1)
    Image.fromarray(np.rint(strip * 255).astype(np.uint8)).save(out)
    print(f"{out}: small photo (nearest) | bicubic ×2 | network ×2, {2 * side} px crops at 100 %")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, help="photos per set")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--look", type=Path)
    parser.add_argument("--out", type=Path, default=Path("enlarge_look.png"))
    args = parser.parse_args(argv)
    if args.speed:
        speed()
    elif args.memory:
        memory()
    elif args.look:
        look(args.look, args.out)
    else:
        quality(args.limit)


if __name__ == "__main__":
    main()
