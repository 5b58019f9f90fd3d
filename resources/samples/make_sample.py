"""Make resources/samples/sample_noisy.jpg, the photo the README's main command restores.

A real photo, scaled to 1024 px on the long side, with Gaussian noise (sigma 20/255, between the
sigma 15 and 25 levels of denoising benchmarks) and light JPEG compression (quality 90, 4:2:0
chroma like camera JPEGs and the training pipeline's OpenCV encoder), as a phone in dim light
would leave it. Seeded: the same source gives the same file.

    python resources/samples/make_sample.py [--source PHOTO] [--output FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data" / "photos" / "60_Kleiber_by_Lukas_Baubkus.jpg"
DEFAULT_OUTPUT = HERE / "sample_noisy.jpg"
LONG_SIDE = 1024
NOISE_SIGMA = 20.0 / 255.0
JPEG_QUALITY = 90
SEED = 20240601


def make_sample(source: Path, output: Path) -> None:
    with Image.open(source) as image:
        clean = image.convert("RGB")
    scale = LONG_SIDE / max(clean.size)
    size = (round(clean.width * scale), round(clean.height * scale))
    # Downscaling first averages away the original's own sensor noise and JPEG artefacts, so the
    # noise in the sample is (almost) only the noise added here, of a known strength.
    clean = clean.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(clean, dtype=np.float32) / 255.0
    rng = np.random.default_rng(SEED)
    noisy = pixels + rng.normal(0.0, NOISE_SIGMA, pixels.shape).astype(np.float32)
    noisy_u8 = np.rint(np.clip(noisy, 0.0, 1.0) * 255.0).astype(np.uint8)
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(noisy_u8).save(output, quality=JPEG_QUALITY, subsampling=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    make_sample(args.source, args.output)
    print(f"{args.output}: {args.output.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
