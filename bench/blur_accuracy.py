"""Blur-detection benchmark: sharp-vs-blurry and motion-vs-defocus accuracy on synthetic blur of real photos.

    .venv/bin/python bench/blur_accuracy.py              # figures on ../shared/data/val (McMaster + Set14)
    .venv/bin/python bench/blur_accuracy.py --calibrate  # re-derive the thresholds in engine/blur/analysis.py

Every photo is kept sharp and also blurred with random camera-shake trajectories (motion_kernel, length
9..25 px at the photo's size) and out-of-focus disks (defocus_kernel, radius 2..6 px); all versions then
get mild Gaussian noise and 8-bit rounding, so noise alone cannot give a version away. Seeded; prints
figures and exits 0. Calibration uses other photos (BSD and ../shared/data/photos), never the val set.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.blur import analysis  # noqa: E402
from training.degradations import apply_kernel, defocus_kernel, motion_kernel  # noqa: E402

SHARED_DATA = REPO.parent / "shared" / "data"
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

# The degradation protocol (shared by the benchmark and the calibration).
MOTION_LENGTH = (9, 25)  # px, inclusive
MOTION_INTENSITY = (0.0, 1.0)  # 0 = straight sweep .. 1 = curved, jerky hand shake
DEFOCUS_RADIUS = (2.0, 6.0)  # px
NOISE_SIGMA = (0.0, 0.01)  # Gaussian, per channel, [0, 1] units (0..2.6 of 255)


@dataclass(frozen=True)
class Sample:
    name: str
    truth: str  # "sharp" | "motion" | "defocus"
    sharpness: float
    anisotropy: float
    detail: str


def load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32) / 255.0


def finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mild sensor noise and 8-bit rounding, as a saved photo would have."""
    sigma = rng.uniform(*NOISE_SIGMA)
    noisy = img + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.round(np.clip(noisy, 0.0, 1.0) * 255.0) / 255.0


def versions(img: np.ndarray, rng: np.random.Generator, n_motion: int, n_defocus: int):
    """(truth, detail, degraded image) for the sharp original and its blurred copies."""
    yield "sharp", "", finish(img, rng)
    for _ in range(n_motion):
        length = int(rng.integers(MOTION_LENGTH[0], MOTION_LENGTH[1] + 1))
        intensity = float(rng.uniform(*MOTION_INTENSITY))
        kernel = motion_kernel(rng, length, intensity)
        yield "motion", f"L={length} i={intensity:.2f}", finish(apply_kernel(img, kernel), rng)
    for _ in range(n_defocus):
        radius = float(rng.uniform(*DEFOCUS_RADIUS))
        yield "defocus", f"r={radius:.1f}", finish(apply_kernel(img, defocus_kernel(radius)), rng)


def measure_all(
    photos: list[tuple[str, np.ndarray]], seed: int, n_motion: int, n_defocus: int
) -> list[Sample]:
    rng = np.random.default_rng(seed)
    samples = []
    for name, img in photos:
        for truth, detail, degraded in versions(img, rng, n_motion, n_defocus):
            features = analysis.measure_blur(degraded)
            samples.append(Sample(name, truth, features.sharpness, features.anisotropy, detail))
    return samples


def accuracies(samples: list[Sample], threshold: float, motion_anisotropy: float) -> dict[str, float]:
    sharp = np.array([s.truth == "sharp" for s in samples])
    said_sharp = np.array([s.sharpness >= threshold for s in samples])
    blurred = [s for s in samples if s.truth != "sharp"]
    kind_right = [(s.anisotropy > motion_anisotropy) == (s.truth == "motion") for s in blurred]
    end_to_end = [
        s.sharpness < threshold and (s.anisotropy > motion_anisotropy) == (s.truth == "motion")
        for s in blurred
    ]
    return {
        "sharp_vs_blurry": float(np.mean(sharp == said_sharp)),
        "sharp_recall": float(np.mean(said_sharp[sharp])),
        "blurry_recall": float(np.mean(~said_sharp[~sharp])),
        "motion_vs_defocus": float(np.mean(kind_right)) if kind_right else float("nan"),
        "blurred_found_with_right_kind": float(np.mean(end_to_end)) if end_to_end else float("nan"),
    }


def best_threshold(good_high: np.ndarray, good_low: np.ndarray) -> tuple[float, float]:
    """Cut maximising the balanced accuracy of "high side = good_high" (mean of the two recalls, so the
    2:1 blurred:sharp mix of the calibration set does not tilt it); midway between neighbouring values.
    Among equally good cuts the lowest wins: calling a good photo blurry is the costlier mistake."""
    values = np.unique(np.concatenate([good_high, good_low]))
    cuts = (values[1:] + values[:-1]) / 2.0
    best = (0.0, float(values[0]))
    for cut in cuts:
        accuracy = 0.5 * (np.mean(good_high >= cut) + np.mean(good_low < cut))
        if accuracy > best[0] + 1e-12:
            best = (float(accuracy), float(cut))
    return best


def photo_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)


def calibration_photos(seed: int) -> list[tuple[str, np.ndarray]]:
    """Every 4th BSD photo as is, plus the large photos resized to a random long side in 400..1024."""
    rng = np.random.default_rng(seed)
    photos = [(p.name, load_rgb(p)) for p in photo_files(SHARED_DATA / "bsd432")[::4]]
    for path in photo_files(SHARED_DATA / "photos"):
        img = load_rgb(path)
        h, w = img.shape[:2]
        scale = rng.uniform(400, 1024) / max(h, w)
        if scale < 1.0:
            img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        photos.append((path.name, img))
    return photos


def calibrate(seed: int) -> None:
    photos = calibration_photos(seed)
    start = time.perf_counter()
    samples = measure_all(photos, seed, n_motion=1, n_defocus=1)
    sharp = np.array([s.sharpness for s in samples if s.truth == "sharp"])
    blurred = np.array([s.sharpness for s in samples if s.truth != "sharp"])
    motion = np.array([s.anisotropy for s in samples if s.truth == "motion"])
    defocus = np.array([s.anisotropy for s in samples if s.truth == "defocus"])
    acc_blur, threshold = best_threshold(sharp, blurred)
    acc_kind, anisotropy = best_threshold(motion, defocus)
    print(
        f"calibration set: {len(photos)} photos, {len(samples)} versions, seed {seed}, "
        f"{time.perf_counter() - start:.1f} s"
    )
    print(f"sharp score percentiles 2/5/50: {np.percentile(sharp, [2, 5, 50]).round(1)}")
    print(f"blurred score percentiles 50/95/98: {np.percentile(blurred, [50, 95, 98]).round(1)}")
    print(f"BLURRY_THRESHOLD = {threshold:.1f}   # balanced sharp-vs-blurry accuracy {acc_blur:.3f}")
    print(f"MOTION_ANISOTROPY = {anisotropy:.3f}   # balanced motion-vs-defocus accuracy {acc_kind:.3f}")
    print(
        f"(in use: BLURRY_THRESHOLD = {analysis.BLURRY_THRESHOLD}, "
        f"MOTION_ANISOTROPY = {analysis.MOTION_ANISOTROPY})"
    )


def _score(img: np.ndarray) -> float:
    return analysis.measure_blur(np.round(np.clip(img, 0.0, 1.0) * 255.0) / 255.0).sharpness


def _resized(img: np.ndarray, long_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    scale = long_side / max(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
    return cv2.resize(img, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=interp)


def _print_stability(title: str, rows: list[tuple[str, list[float]]]) -> None:
    print(title)
    for truth in ("sharp", "defocus"):
        s = np.array([r[1] for r in rows if r[0] == truth])
        verdicts = s >= analysis.BLURRY_THRESHOLD
        same = np.mean(np.all(verdicts == verdicts[:, :1], axis=1))
        print(
            f"  {truth:8s} mean score {s[:, 0].mean():5.1f} / {s[:, 1].mean():5.1f} / {s[:, 2].mean():5.1f}"
            f"   mean |0.5x-1x| {np.abs(s[:, 0] - s[:, 1]).mean():4.1f}   mean |2x-1x| "
            f"{np.abs(s[:, 2] - s[:, 1]).mean():4.1f}   same verdict at all three: {same:.0%}"
        )


def resolution_stability(photos: list[tuple[str, np.ndarray]], seed: int) -> None:
    """The same photo at 0.5x / 1x / 2x: on the val photos (2x is an upscale, so it holds no new detail)
    and on large photos whose three sizes are all downscales of a native 2560 px original. Blurred
    versions get the same blur relative to the picture (the radius scales with the size)."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for _name, img in photos:
        h, w = img.shape[:2]
        radius = float(rng.uniform(*DEFOCUS_RADIUS))
        for truth in ("sharp", "defocus"):
            scores = []
            for factor in (0.5, 1.0, 2.0):
                scaled = img if factor == 1.0 else _resized(img, round(max(h, w) * factor))
                if truth == "defocus":
                    scaled = apply_kernel(scaled, defocus_kernel(radius * factor))
                scores.append(_score(scaled))
            rows.append((truth, scores))
    _print_stability("\nscore stability, val photos at 0.5x (INTER_AREA) / 1x / 2x (Lanczos upscale):", rows)

    big = [p for p in photo_files(SHARED_DATA / "photos")[::4]]
    if not big:
        return
    rows = []
    for path in big:
        native = load_rgb(path)
        radius = float(rng.uniform(*DEFOCUS_RADIUS))
        for truth in ("sharp", "defocus"):
            scores = []
            for long_side in (640, 1280, 2560):
                scaled = _resized(native, long_side)
                if truth == "defocus":
                    scaled = apply_kernel(scaled, defocus_kernel(radius * long_side / 1280))
                scores.append(_score(scaled))
            rows.append((truth, scores))
    _print_stability(
        f"score stability, {len(big)} photos of ../shared/data/photos at long side 640 / 1280 / 2560 "
        "(all with native detail):",
        rows,
    )


def benchmark(data: Path, seed: int, n_motion: int, n_defocus: int, verbose: bool) -> None:
    files = photo_files(data)
    if not files:
        raise SystemExit(f"no photos under {data}")
    photos = [(str(p.relative_to(data)), load_rgb(p)) for p in files]
    start = time.perf_counter()
    samples = measure_all(photos, seed, n_motion, n_defocus)
    seconds = time.perf_counter() - start
    acc = accuracies(samples, analysis.BLURRY_THRESHOLD, analysis.MOTION_ANISOTROPY)
    counts = {t: sum(s.truth == t for s in samples) for t in ("sharp", "motion", "defocus")}
    print(f"blur benchmark: {len(photos)} photos from {data}, seed {seed}")
    print(
        f"  versions: {counts['sharp']} sharp, {counts['motion']} motion (length {MOTION_LENGTH[0]}.."
        f"{MOTION_LENGTH[1]} px, intensity {MOTION_INTENSITY[0]}..{MOTION_INTENSITY[1]}), {counts['defocus']}"
        f" defocus (radius {DEFOCUS_RADIUS[0]}..{DEFOCUS_RADIUS[1]} px); noise sigma "
        f"{NOISE_SIGMA[0]}..{NOISE_SIGMA[1]}; {seconds / len(samples) * 1000:.0f} ms per image"
    )
    print(
        f"  thresholds: score < {analysis.BLURRY_THRESHOLD} is blurry; anisotropy > "
        f"{analysis.MOTION_ANISOTROPY} is motion"
    )
    print(
        f"  sharp-vs-blurry accuracy   {acc['sharp_vs_blurry']:.1%}  (target >= 95%)"
        f"   [sharp kept sharp {acc['sharp_recall']:.1%}, blurred caught {acc['blurry_recall']:.1%}]"
    )
    print(
        f"  motion-vs-defocus accuracy {acc['motion_vs_defocus']:.1%}  (target >= 85%, all blurred versions)"
    )
    print(f"  blurred caught with the right kind {acc['blurred_found_with_right_kind']:.1%}")
    wrong = [
        s
        for s in samples
        if (s.sharpness >= analysis.BLURRY_THRESHOLD) != (s.truth == "sharp")
        or (s.truth != "sharp" and (s.anisotropy > analysis.MOTION_ANISOTROPY) != (s.truth == "motion"))
    ]
    if verbose or len(wrong) <= 12:
        for s in wrong:
            print(
                f"    miss: {s.name:22s} {s.truth:8s} {s.detail:14s} score {s.sharpness:5.1f} "
                f"anisotropy {s.anisotropy:.3f}"
            )
    resolution_stability(photos, seed)


def main(argv: list[str] | None = None) -> int:
    global NOISE_SIGMA  # --noise changes the protocol for this run
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "val", help="folder of sharp photos")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--motion", type=int, default=2, help="motion-blurred versions per photo")
    parser.add_argument("--defocus", type=int, default=2, help="defocused versions per photo")
    parser.add_argument(
        "--noise", type=float, nargs=2, default=NOISE_SIGMA, metavar=("LOW", "HIGH"), help="noise sigma range"
    )
    parser.add_argument("--calibrate", action="store_true", help="re-derive the thresholds (not on --data)")
    parser.add_argument("--verbose", action="store_true", help="list every misclassified version")
    args = parser.parse_args(argv)
    NOISE_SIGMA = (float(args.noise[0]), float(args.noise[1]))
    if args.calibrate:
        calibrate(seed=7)
    else:
        benchmark(args.data, args.seed, args.motion, args.defocus, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
