"""Blur-detection benchmark on the blur people cull: sharp vs blurred, motion vs defocus, subjects on bokeh.

    .venv/bin/python bench/blur_accuracy.py                      # figures on the report split
    .venv/bin/python bench/blur_accuracy.py --split calibration  # the same figures on the calibration split
    .venv/bin/python bench/blur_accuracy.py --calibrate          # fit the rules of engine/blur/analysis.py
                                                                 # on the calibration split; prints them

The versions (bench/blur_protocol.py): every photo sharp twice, shaken along one random path at full length
(5..30 px) and at 60 %, out of focus (disk r 2..5), softly blurred (Gaussian sigma 1..2), and as a sharp
subject on a disk-blurred background (r 4..12); each with or without grain (sigma 1..8/255) and JPEG
(q 50..95), at the photo's own size: 0.06..0.4 MP small sets, 0.3 / 1 / 3 / 8 / 24 MP from the big photos.
Splits: calibration = BSD432 (every 4th photo) + the even-numbered big photos (each at three sizes); report =
McMaster + Set14 + the odd-numbered big photos (each at two sizes), never seen by the calibration. Seeded;
nice -n 5 recommended: each split takes several minutes on two cores.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import blur_protocol as protocol  # noqa: E402
from engine.blur import analysis  # noqa: E402

CALIBRATION_SEED = 7
REPORT_SEED = 2026
BARS = {"sharp_vs_blurred": 0.97, "motion_vs_defocus": 0.90, "bokeh_kept": 0.90}


@dataclass(frozen=True)
class Measured:
    version: protocol.Version
    sharpness: float
    motion_logit: float
    anisotropy: float
    kind_features: np.ndarray
    patch_features: np.ndarray  # (n, n_features) float32 of the patches with detail at full or half size
    patch_detailed: np.ndarray  # (n,) bool: which of them have full-size detail (the others: half size only)
    seconds: float

    @property
    def said_sharp(self) -> bool:
        return self.sharpness >= analysis.BLURRY_THRESHOLD

    @property
    def said_motion(self) -> bool:
        return self.motion_logit > 0


def measure_split(split: str, every_bsd: int, tiers: int, seed: int, keep_patches: bool) -> list[Measured]:
    sources = protocol.split_sources(split, every_bsd=every_bsd, tiers_per_photo=tiers)
    out: list[Measured] = []
    start = time.perf_counter()
    for index, source in enumerate(sources):
        rng = np.random.default_rng([seed, index])
        for version, img in protocol.versions(source, rng):
            began = time.perf_counter()
            features = analysis.measure_blur(img)
            seconds = time.perf_counter() - began
            stored = (
                features.detailed | features.half_detailed
                if keep_patches
                else np.zeros_like(features.detailed)
            )
            out.append(
                Measured(
                    version,
                    features.sharpness,
                    features.motion_logit,
                    features.anisotropy,
                    features.kind_features,
                    features.patch_features[:, stored].T.astype(np.float32),
                    features.detailed[stored],
                    seconds,
                )
            )
        if (index + 1) % 25 == 0:
            print(
                f"  {split}: {index + 1}/{len(sources)} photos, {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    return out


# --- figures ---


def _rate(flags: list[bool]) -> str:
    return f"{np.mean(flags):6.1%} ({sum(flags)}/{len(flags)})" if flags else "     -"


def _blur_group(v: protocol.Version) -> str:
    if v.truth == "motion":
        return "shake 60 %" if "x0.6" in v.detail else "shake full"
    if v.truth == "defocus":
        return "disk" if v.detail.startswith("disk") else "gaussian"
    return v.truth


def _size_group(v: protocol.Version) -> str:
    return "small set" if _set_of(v) == "small" else f"{v.megapixels:4.1f} MP"


def _finish_group(v: protocol.Version) -> str:
    return {(0, 0): "clean", (1, 0): "grain", (0, 1): "JPEG", (1, 1): "grain+JPEG"}[(v.grain > 0, v.jpeg > 0)]


def headline(rows: list[Measured]) -> dict[str, float]:
    sharp = [m.said_sharp for m in rows if m.version.truth == "sharp"]
    blurred = [not m.said_sharp for m in rows if m.version.blurred]
    bokeh = [m.said_sharp for m in rows if m.version.truth == "bokeh"]
    motion = [m.said_motion for m in rows if m.version.truth == "motion"]
    defocus = [not m.said_motion for m in rows if m.version.truth == "defocus"]
    return {
        "sharp_kept": float(np.mean(sharp)),
        "blurred_caught": float(np.mean(blurred)),
        "sharp_vs_blurred": 0.5 * float(np.mean(sharp) + np.mean(blurred)),
        "bokeh_kept": float(np.mean(bokeh)),
        "motion_recall": float(np.mean(motion)),
        "defocus_recall": float(np.mean(defocus)),
        "motion_vs_defocus": 0.5 * float(np.mean(motion) + np.mean(defocus)),
        "motion_vs_defocus_plain": float(np.mean(motion + defocus)),
    }


def print_figures(title: str, rows: list[Measured], verbose: bool) -> None:
    figures = headline(rows)
    counts = defaultdict(int)
    for m in rows:
        counts[m.version.truth] += 1
    photos = len({(m.version.photo, m.version.megapixels) for m in rows})
    pixels = sum(m.version.megapixels for m in rows)
    print(f"\n{title}: {photos} photo sizes, {len(rows)} versions ({dict(counts)})")
    print(
        f"  thresholds: score < {analysis.BLURRY_THRESHOLD} is blurry (the sharpest "
        f"{analysis.SUBJECT_FRACTION:.0%} of the judged area decides); motion rule > 0 is camera shake"
    )
    print(
        f"  sharp vs blurred, balanced   {figures['sharp_vs_blurred']:.3f}  (bar {BARS['sharp_vs_blurred']})"
        f"   sharp kept {figures['sharp_kept']:.3f}, blurred caught {figures['blurred_caught']:.3f}"
    )
    print(f"  sharp subject on bokeh kept  {figures['bokeh_kept']:.3f}  (bar {BARS['bokeh_kept']})")
    print(
        f"  motion vs defocus, balanced  {figures['motion_vs_defocus']:.3f}"
        f"  (bar {BARS['motion_vs_defocus']})"
        f"   shakes typed motion {figures['motion_recall']:.3f}, disks and Gaussians typed defocus "
        f"{figures['defocus_recall']:.3f}; plain {figures['motion_vs_defocus_plain']:.3f}"
    )
    right_kind = [
        (not m.said_sharp) and (m.said_motion == (m.version.truth == "motion"))
        for m in rows
        if m.version.blurred
    ]
    print(f"  blurred caught and typed right {np.mean(right_kind):.3f}")
    print(f"  speed: {sum(m.seconds for m in rows) / max(pixels, 1e-9) * 1000:.0f} ms per megapixel measured")

    def table(name: str, key: Callable[[protocol.Version], str]) -> None:
        print(f"  by {name}:")
        groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for m in rows:
            g = groups[key(m.version)]
            if m.version.truth == "sharp":
                g["sharp kept"].append(m.said_sharp)
            elif m.version.truth == "bokeh":
                g["bokeh kept"].append(m.said_sharp)
            else:
                g["blurred caught"].append(not m.said_sharp)
                g["kind right"].append(m.said_motion == (m.version.truth == "motion"))
        for label in sorted(groups):
            g = groups[label]
            cells = "  ".join(
                f"{k} {_rate(g[k])}" for k in ("sharp kept", "blurred caught", "kind right", "bokeh kept")
            )
            print(f"    {label:12s} {cells}")

    table("blur", _blur_group)
    table("size", _size_group)
    table("finish", _finish_group)

    def length_bin(v: protocol.Version) -> str:
        if v.truth != "motion":
            return "other blur" if v.blurred else v.truth
        length = float(v.detail.split("L=")[1].split()[0].split("x")[0]) * (
            0.6 if "x0.6" in v.detail else 1.0
        )
        low = min(5 * int(length // 5), 25)  # a 30 px path is in the last bin
        return f"shake {low:2d}-{low + 5:2d} px"

    table("shake length (as applied)", length_bin)
    misses = [
        m
        for m in rows
        if (m.said_sharp == m.version.blurred)
        or (m.version.blurred and m.said_motion != (m.version.truth == "motion"))
    ]
    if verbose:
        print("  misses (verdict or kind):")
        for m in misses:
            print(
                f"    {m.version.describe():70s} score {m.sharpness:5.1f} motion rule {m.motion_logit:+.2f}"
            )


def upscaled_line() -> None:
    """How big photos enlarged to 24 MP read: not sharp 24 MP photos, so in no figure above."""
    paths = protocol.photo_files(protocol.SHARED_DATA / "photos")[1::2][::4]
    said = []
    for path in paths:
        img = protocol.load_rgb(path)
        h, w = img.shape[:2]
        small = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        factor = math.sqrt(24e6 / (h * w / 4))
        big = cv2.resize(
            small, (round(w / 2 * factor), round(h / 2 * factor)), interpolation=cv2.INTER_LANCZOS4
        )
        big = np.clip(big, 0.0, 1.0)
        said.append(analysis.measure_blur(big).sharpness < analysis.BLURRY_THRESHOLD)
    print(
        f"  (not counted: {len(paths)} report photos halved, then enlarged {factor:.1f}x to 24 MP (Lanczos), "
        f"read blurry {np.mean(said):.0%}: an enlargement holds no detail at its own pixel size)"
    )


# --- calibration ---


def logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3, iterations: int = 30
) -> np.ndarray:
    """Weighted, L2-regularised logistic regression by Newton's method; returns (weights..., bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    beta = np.zeros(xb.shape[1])
    ridge = l2 * np.eye(xb.shape[1])
    ridge[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -50, 50)))
        gradient = xb.T @ (w * (p - y)) + ridge @ beta
        hessian = (xb * (w * p * (1 - p))[:, None]).T @ xb + ridge
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def _set_of(v: protocol.Version) -> str:
    return "big" if "." not in Path(v.photo).name else "small"


def _balanced_weights(groups: list[tuple[str, int]]) -> np.ndarray:
    """One weight per item so that every (set, class) group weighs the same in total."""
    totals: dict[tuple[str, int], int] = defaultdict(int)
    for g in groups:
        totals[g] += 1
    w = np.array([1.0 / totals[g] for g in groups])
    return w * len(w) / w.sum()


def _subject_quantile(logits: np.ndarray) -> float:
    if logits.size == 0:
        return -50.0
    return (
        float(np.quantile(logits, 1.0 - analysis.SUBJECT_FRACTION))
        if logits.size >= 2
        else float(logits.max())
    )


def _patch_rule(rows: list[Measured], columns: list[int], use_detailed: bool) -> np.ndarray:
    """Per patch: the same photos sharp (1) against blurred (0); every image weighs the same, and each
    (set, class) group in total as well, so BSD's 108 photos do not outvote the big ones."""
    train = []
    for m in rows:
        chosen = m.patch_detailed if use_detailed else ~m.patch_detailed
        if m.version.truth != "bokeh" and chosen.any():
            train.append((m, m.patch_features[chosen][:, columns]))
    image_w = _balanced_weights([(_set_of(m.version), int(m.version.truth == "sharp")) for m, _ in train])
    x = np.vstack([f for _, f in train]).astype(np.float64)
    y = np.concatenate([np.full(len(f), float(m.version.truth == "sharp")) for m, f in train])
    w = np.concatenate([np.full(len(f), wi / len(f)) for (_, f), wi in zip(train, image_w, strict=True)])
    return logistic(x, y, w * len(w) / w.sum())


def _photo_logit(m: Measured, beta: np.ndarray) -> float:
    return _subject_quantile(m.patch_features[m.patch_detailed].astype(np.float64) @ beta[:-1] + beta[-1])


def calibrate(rows: list[Measured]) -> tuple[tuple[float, ...], float, tuple[float, ...], tuple[float, ...]]:
    # 1. The full-size rule, on the patches with fine detail above the grain.
    beta = _patch_rule(rows, list(range(len(analysis.FEATURE_NAMES))), use_detailed=True)
    # The half-size rule (map only), on the patches whose detail shows at half size but not above the grain
    # at full size.
    half = _patch_rule(rows, [analysis.FEATURE_NAMES.index(n) for n in analysis.HALF_FEATURE_NAMES], False)

    # 2. The photo's logit is that of its sharpest SUBJECT_FRACTION; the cut keeps sharp photos and sharp
    # subjects on bokeh (a quarter each) and catches blurred ones (a half), per set.
    def photo_logit(m: Measured) -> float:
        return _photo_logit(m, beta)

    logits = np.array([photo_logit(m) for m in rows])
    truth = np.array([m.version.truth for m in rows])
    sets = np.array([_set_of(m.version) for m in rows])
    candidates = np.unique(np.round(logits, 3))
    cuts = (candidates[1:] + candidates[:-1]) / 2
    above = logits[:, None] >= cuts[None, :]
    objective = np.zeros(len(cuts))
    for s in ("small", "big"):

        def rate(t: str, keep: bool, s: str = s) -> np.ndarray:
            sel = (truth == t) & (sets == s)
            return (above[sel] == keep).mean(axis=0) if sel.any() else np.ones(len(cuts))

        caught = 0.5 * (rate("motion", False) + rate("defocus", False))
        objective += 0.5 * (0.25 * rate("sharp", True) + 0.25 * rate("bokeh", True) + 0.5 * caught)
    cut = float(cuts[int(np.argmax(objective))])
    beta[-1] -= cut
    sharp_logits = logits[truth == "sharp"] - cut
    scale = float(max(np.median(sharp_logits), 0.5) / math.log(9.0))  # the median sharp photo scores 90

    # 3. Kind: shakes (1) against disks and Gaussians (0), over the blurred versions.
    blurred = [m for m in rows if m.version.blurred]
    kx = np.array([m.kind_features for m in blurred])
    ky = np.array([float(m.version.truth == "motion") for m in blurred])
    kw = _balanced_weights([(_set_of(m.version), int(m.version.truth == "motion")) for m in blurred])
    kind = logistic(kx, ky, kw, l2=1e-2)
    return tuple(float(v) for v in beta), scale, tuple(float(v) for v in kind), tuple(float(v) for v in half)


def apply_calibration(
    rows: list[Measured], weights: tuple[float, ...], kind: tuple[float, ...]
) -> list[Measured]:
    """The rows as the fitted constants would score them (without re-measuring)."""
    out = []
    beta, kind_w = np.asarray(weights), np.asarray(kind)
    for m in rows:
        logit = _photo_logit(m, beta)
        sharpness = float(100.0 / (1 + math.exp(-np.clip(logit / analysis.SCORE_SCALE, -50, 50))))
        if not m.patch_detailed.any():
            sharpness = 0.0
        out.append(
            Measured(
                m.version,
                sharpness,
                float(kind_w[:-1] @ m.kind_features + kind_w[-1]),
                m.anisotropy,
                m.kind_features,
                m.patch_features,
                m.patch_detailed,
                m.seconds,
            )
        )
    return out


def _python_dict(name: str, names: tuple[str, ...], values: tuple[float, ...], per_line: int = 5) -> str:
    cells = [f'"{n}": {v:.4f}' for n, v in zip((*names, "bias"), values, strict=True)]
    lines = [", ".join(cells[i : i + per_line]) + "," for i in range(0, len(cells), per_line)]
    body = "\n".join(f"    {line}" for line in lines)
    return f"{name}: dict[str, float] = {{\n{body}\n}}  # fmt: skip"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=("report", "calibration"), default="report")
    parser.add_argument("--calibrate", action="store_true", help="fit the rules on the calibration split")
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    if args.calibrate:
        rows = measure_split("calibration", 4, 3, CALIBRATION_SEED, keep_patches=True)
        weights, scale, kind, half = calibrate(rows)
        print("\n# engine/blur/analysis.py, from `python bench/blur_accuracy.py --calibrate`:")
        print(_python_dict("PATCH_WEIGHTS", analysis.FEATURE_NAMES, weights))
        print(f"SCORE_SCALE = {scale:.3f}")
        print(_python_dict("KIND_WEIGHTS", analysis.KIND_FEATURE_NAMES, kind))
        print(_python_dict("HALF_WEIGHTS", analysis.HALF_FEATURE_NAMES, half))
        analysis.SCORE_SCALE = scale
        print_figures(
            "calibration split, with these constants", apply_calibration(rows, weights, kind), args.verbose
        )
        return 0
    if args.split == "calibration":
        rows = measure_split("calibration", 4, 3, CALIBRATION_SEED, keep_patches=False)
        print_figures("calibration split", rows, args.verbose)
    else:
        rows = measure_split("report", 1, 2, REPORT_SEED, keep_patches=False)
        print_figures(
            "report split (McMaster + Set14 + odd-numbered big photos; never calibrated on)",
            rows,
            args.verbose,
        )
        upscaled_line()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
