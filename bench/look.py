"""Look at a composite restoration at 100 %: the degraded photo, the network alone, the plan and the original,
side by side in one PNG (crops of `--side` px, not scaled), with each one's PSNR printed.

The default is the issue-25 face: a photo darkened 3 stops with shot noise and saved as a JPEG of quality 92,
"it's dark and grainy".

    .venv/bin/python -m bench.look ../shared/data/val/Set14/face.png --out /tmp/face.png
    .venv/bin/python -m bench.look PHOTO --tasks denoise,jpeg --level denoise=sigma15,jpeg=q40 \\
        --prompt "it's grainy and the jpeg compression made it blocky" --out /tmp/grain_jpeg.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.quality import read_rgb
from engine.instructions import interpret
from engine.metrics import psnr
from engine.pipeline import network_plan, restore
from training.degradations.jpeg import jpeg_compress
from training.degradations.pipeline import degrade

LABEL_HEIGHT = 18


def centre(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return img[y : y + side, x : x + side]


def panel(images: list[tuple[str, np.ndarray]]) -> Image.Image:
    """The images side by side at 100 %, each with its label above."""
    h, w = images[0][1].shape[:2]
    sheet = Image.new("RGB", (w * len(images), h + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, img) in enumerate(images):
        sheet.paste(Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)), (i * w, LABEL_HEIGHT))
        draw.text((i * w + 4, 3), label, fill="black")
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.look", description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--tasks", default="lowlight", help="training.degradations tasks to apply")
    parser.add_argument("--level", default="lowlight=ev-3", help="task=level,... (degradations LEVELS)")
    parser.add_argument("--jpeg", type=int, default=92, help="then save as a JPEG of this quality (0: no)")
    parser.add_argument("--prompt", default="it's dark and grainy")
    parser.add_argument("--side", type=int, default=384, help="crop side shown at 100 %%")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    clean = read_rgb(args.photo)
    levels = dict(pair.split("=") for pair in args.level.split(",") if pair)
    tasks = tuple(t for t in args.tasks.split(",") if t)
    degraded = degrade(clean, tasks, np.random.default_rng(args.seed), level=levels).image
    if args.jpeg:
        degraded = jpeg_compress(degraded, args.jpeg, None)
    interpretation = interpret(args.prompt)
    alone = restore(degraded, interpretation, plan=network_plan(interpretation))
    planned = restore(degraded, interpretation)
    print(f"{args.photo.name}: {'; '.join(planned.plan.describe())}")
    for step in planned.steps:
        print(f"  {step.label} ({step.restorer}, {step.seconds:.1f} s): {' '.join(step.findings)}")
    rows = [("input", degraded), ("network alone", alone.pixels), ("plan", planned.pixels)]
    rows.append(("original", clean))
    for label, img in rows[:3]:
        print(f"  {label}: {psnr(np.clip(img, 0, 1), clean):.2f} dB")
    panel([(label, centre(img, args.side)) for label, img in rows]).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
