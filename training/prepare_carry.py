"""Write a compact training set (JPEG q92) to .carry/train_data/ for a lent GPU machine (64 MiB carry limit).

    python -m training.prepare_carry     # all of bsd432 + the 39 photos (+ the validation crop sources)

Layout mirrors ../shared/data so `training.train --data .carry/train_data --val-dir .carry/train_data/val`
works unchanged: bsd432/ at full resolution (never downscaled), photos/ downscaled only as far as needed
to keep the whole folder under `--budget-mb`, val/<folder>/ with the first images of each validation
folder as lossless PNG (validation uses only those), and prompt_cache/ with the corpus embeddings in
float16 (pass `--prompt-cache .carry/train_data/prompt_cache`; the GPU box needs no sentence encoder), and
pylib/ with the pure-Python packages the engine imports that the device's image lacks (`training/gpu_lease.sh`
puts it on PYTHONPATH; session 12's first call failed on `import platformdirs` without it).
"""

from __future__ import annotations

import argparse
import importlib.resources
import shutil
from pathlib import Path

import cv2
import numpy as np

from training.conditioning import CACHE_DIR, HELDOUT_CORPUS, TRAIN_CORPUS, cache_name, load_prompt_bank
from training.data import IMAGE_SUFFIXES, _read_rgb

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / ".carry" / "train_data"
QUALITY = 92
# float16 embeddings of ~6,700 prompts x 384 (5 MB), kept out of the photos' share of the budget.
PROMPT_CACHE_RESERVE = 6 * 2**20
#: Pure-Python packages the engine imports and the device's image does not have.
DEVICE_MISSING = ("platformdirs",)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _write_jpeg(img_rgb, path: Path, max_side: int | None) -> int:
    h, w = img_rgb.shape[:2]
    if max_side and max(h, w) > max_side:
        s = max_side / max(h, w)
        img_rgb = cv2.resize(img_rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img_rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return path.stat().st_size


def prepare(data: Path, out: Path, budget_mb: float, val_per_folder: int) -> dict[str, float]:
    if out.exists():
        shutil.rmtree(out)
    bsd_bytes = sum(
        _write_jpeg(_read_rgb(p), out / "bsd432" / (p.stem + ".jpg"), None) for p in _images(data / "bsd432")
    )
    val_bytes = 0
    for folder in sorted(p for p in (data / "val").iterdir() if p.is_dir()):
        for p in _images(folder)[:val_per_folder]:
            dst = out / "val" / folder.name / (p.stem + ".png")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst) if p.suffix.lower() == ".png" else cv2.imwrite(
                str(dst), cv2.imread(str(p))
            )
            val_bytes += dst.stat().st_size
    photos = [(p, _read_rgb(p)) for p in _images(data / "photos")]
    left = budget_mb * 2**20 - bsd_bytes - val_bytes - PROMPT_CACHE_RESERVE
    # Largest max side whose photos fit in what is left; full resolution first.
    for max_side in (None, 2304, 2048, 1792, 1600, 1408, 1280, 1024):
        shutil.rmtree(out / "photos", ignore_errors=True)
        photo_bytes = sum(_write_jpeg(img, out / "photos" / (p.stem + ".jpg"), max_side) for p, img in photos)
        if photo_bytes <= left:
            break
    cache_bytes = 0
    for corpus in (TRAIN_CORPUS, HELDOUT_CORPUS):
        load_prompt_bank(corpus)  # computes the cache entry if this corpus version has none yet
        for src in CACHE_DIR.glob(f"{corpus.stem}_*.npy"):
            if src.stem == cache_name(corpus):
                dst = out / "prompt_cache" / src.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                np.save(dst, np.load(src).astype(np.float16))
                cache_bytes += dst.stat().st_size
    for name in DEVICE_MISSING:
        package = Path(str(importlib.resources.files(name)))
        shutil.copytree(package, out / "pylib" / name, ignore=shutil.ignore_patterns("__pycache__"))
    return {
        "prompt_cache_mb": cache_bytes / 2**20,
        "bsd432_mb": bsd_bytes / 2**20,
        "photos_mb": photo_bytes / 2**20,
        "photos_max_side": float(max_side or 0),
        "val_mb": val_bytes / 2**20,
        "total_mb": (bsd_bytes + photo_bytes + val_bytes + cache_bytes) / 2**20,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--budget-mb", type=float, default=45.0)
    p.add_argument("--val-per-folder", type=int, default=3, help="must cover training.data.validation_set's")
    a = p.parse_args(argv)
    print(prepare(a.data, a.out, a.budget_mb, a.val_per_folder))


if __name__ == "__main__":
    main()
