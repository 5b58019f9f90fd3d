"""Haze and low light with and without the scene pass (engine.restorers.scene), per scene side.

The side is chosen on the shared training photos shrunk to a few sizes (whole photos: the network only
ever saw crops of them) and then checked on the validation sets, which bench/quality.py judges:

    .venv/bin/python -m bench.scene_pass --photos-side 1024 --sides 0,192,256,320     # choose
    .venv/bin/python -m bench.scene_pass --sets McMaster,Set14 --sides 0,192,256,320   # check
    .venv/bin/python -m bench.scene_pass --case lowlight --photos-side 2048 --sides 0,320,512 --limit 8

Side 0 is the full-resolution pass alone. The degradation is bench/quality.py's case at its level; photos
are degraded with a generator seeded per photo, so every side sees the same input. Prints mean PSNR per
set and side.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench.quality import CASES, SETS, VAL_DIR, Case, read_rgb, seed_for, val_images
from engine.metrics import psnr
from engine.pipeline import restore
from engine.restorers.scene import shrink_to
from training.degradations.pipeline import degrade

PHOTOS_DIR = VAL_DIR.parent / "photos"


def pairs(case: Case, name: str, photos_side: int, limit: int | None):  # type: ignore[no-untyped-def]
    """(degraded, clean) pairs: a validation set as bench/quality.py degrades it, or the photos folder."""
    if name in SETS:
        set_index, case_index = SETS.index(name), CASES.index(case)
        for i, path in enumerate(val_images(name, limit)):
            clean = read_rgb(path)
            rng = seed_for(0, set_index, i, case_index)
            yield degrade(clean, case.tasks, rng, level=case.level).image, clean
        return
    paths = sorted(p for p in PHOTOS_DIR.iterdir() if p.suffix.lower() in (".jpg", ".png"))[:limit]
    for i, path in enumerate(paths):
        clean = shrink_to(read_rgb(path), photos_side)
        yield degrade(clean, case.tasks, np.random.default_rng([7, i]), level=case.level).image, clean


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scene_pass", description=__doc__.splitlines()[0])
    p.add_argument("--case", default="dehaze", choices=[c.key for c in CASES if c.tasks])
    p.add_argument("--sets", default="photos", help=f"comma-separated: photos and/or {','.join(SETS)}")
    p.add_argument("--photos-side", type=int, default=1024, help="shrink the photos to this long side")
    p.add_argument("--sides", default="0,192,256,320", help="scene sides to compare (0: no scene pass)")
    p.add_argument("--limit", type=int, default=None, help="photos per set")
    args = p.parse_args(argv)
    sides = [int(s) for s in args.sides.split(",")]
    case = next(c for c in CASES if c.key == args.case)
    started = time.perf_counter()
    print("| set | n | input | " + " | ".join(f"side {s}" if s else "full only" for s in sides) + " |")
    print("|---" * (len(sides) + 3) + "|")
    for name in args.sets.split(","):
        scores: dict[int, list[float]] = {s: [] for s in sides}
        inputs = []
        for degraded, clean in pairs(case, name, args.photos_side, args.limit):
            inputs.append(psnr(degraded, clean))
            for side in sides:
                restored = restore(degraded, case.instruction, scene_side=side).pixels
                scores[side].append(psnr(restored, clean))
            row = " ".join(f"{scores[s][-1]:.2f}" for s in sides)
            print(f"{name} {len(inputs)}: {row}", file=sys.stderr)
        label = f"photos @ {args.photos_side} px" if name == "photos" else name
        cells = " | ".join(f"{np.mean(scores[s]):.2f}" for s in sides)
        print(f"| {label} | {len(inputs)} | {np.mean(inputs):.2f} | {cells} |", flush=True)
    print(f"\n{case.title}, instruction {case.instruction!r}, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
