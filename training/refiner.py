"""Filter refiners: small U-Nets that finish what engine.noise's DCT filter (or a deconvolution) starts.

The DCT filter (a sliding 8 x 8 DCT shrinkage) removes noise and JPEG artefacts at a level read from the
photo, but it is a per-block filter: it cannot bring back the edges the luma still shows in a colour that
4:2:0 and quality 10 kept one value of per 16 x 16 block, nor tell fine texture from grain as a trained
network can. A refiner sees the degraded photo, the filter's output and the level the engine read, and
predicts a correction to the filter's output (its last layer starts at zero: a fresh refiner is the
filter). One design, one kind of training data each:

- `jpeg`: synthetic JPEGs (OpenCV's libjpeg, 4:2:0, quality 5-60, a fifth saved twice); the level is
  the IJG quantisation scale over engine.noise.SCALE_UNIT (1 at quality 10). Shipped as
  resources/models/jpeg.onnx.
- `noise`: Gaussian (σ 1-55) and Poisson-Gaussian sensor noise, half of it saved as a camera's JPEG
  (training.degradations' denoise draws); the level is the one engine.noise reads (guided by the clean
  crop, as the engine is by the network's output), its rms over NOISE_UNIT; 35 % of the crops made vivid
  first; the PSNR loss. Shipped as resources/models/denoise.onnx (card resources/models/denoise.md).
- `shake`: shaken photos (random camera-shake paths, `shaken`) deconvolved as engine.restorers.shake does,
  with the true path or a misread one (`misread`), or with the path the engine read itself
  (`engine-shakes`); the "filtered" photo is the deconvolution, the level the path's length over
  engine.restorers.shake.SHAKE_UNIT.
  Shipped as resources/models/shake.onnx (card resources/models/shake.md).
- `grain_jpeg`: grain (Gaussian σ 2-35 or Poisson-Gaussian sensor noise; none in 15 % of the crops) then
  saved as a JPEG of quality 20-90 (`grain_jpeg_case`); the filtered photo is the DCT filter at the level
  the JPEG's quality implies, as for `jpeg`, and the level that quality's scale: the grain's own level is not
  given, because it cannot be read once a JPEG has smeared it (the noise read on such photos ranges from
  0.5 to 20/255 for the same σ 15). Shipped as resources/models/grain_jpeg.onnx (card grain_jpeg.md), the
  specialist for a request to remove grain and JPEG artefacts together (engine.restorers.grain_jpeg).

Crops (144 x 144) of BSD432 (every VAL_EVERY-th photo held out to validate) and of the wallpapers at full
and half size; training takes a 96 x 96 patch at a random offset, so the JPEG grid's phase varies as it
does in a tile of a big photo.

    python -m training.refiner data  --kind jpeg --out training/cache/jpeg --samples 10000
    python -m training.refiner train --kind jpeg --data training/cache/jpeg --out runs/jpeg --minutes 115
    python -m training.refiner data  --kind jpeg --out training/cache/jpeg2 --samples 20000 --seed 200000
    python -m training.refiner train --kind jpeg --data training/cache/jpeg training/cache/jpeg2 \
        --init runs/jpeg/best.pt --out runs/jpeg_ft --minutes 70 --lr 3e-4      # fine-tune on 30,000 crops
    python -m training.refiner export --checkpoint runs/jpeg_ft/best.pt --onnx resources/models/jpeg.onnx
    python -m training.refiner data  --kind noise --out training/cache/noise --samples 12000 --seed 100000
    python -m training.refiner train --kind noise --data training/cache/noise --out runs/noise --minutes 115
    python -m training.refiner data  --kind shake --out training/cache/shake --samples 12000 --seed 400000
    python -m training.refiner engine-shakes --out training/cache/shake_engine --photos 24 --seed 300000
    python -m training.refiner train --kind shake --data training/cache/shake training/cache/shake_engine \
        --init runs/noise/best.pt --out runs/shake --minutes 55 --lr 5e-4
    python -m training.refiner data  --kind grain_jpeg --out training/cache/grain_jpeg --samples 16000 \
        --seed 500000
    python -m training.refiner train --kind grain_jpeg --data training/cache/grain_jpeg \
        --init resources/models/jpeg.onnx --out runs/grain_jpeg --minutes 75 --lr 5e-4
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from engine.blur.analysis import luminance
from engine.noise.dct import NOISE_UNIT, denoise_dct, estimate_noise_level
from engine.noise.jpeg import SCALE_UNIT, jpeg_noise_level, quantisation_scale
from engine.restorers.defocus import deconvolve
from engine.restorers.shake import (
    DECONVOLUTION_WEIGHT,
    estimate_motion,
    path_length,
    shake_level,
    undo_motion,
)
from training.data import load_images
from training.degradations.blur_kernels import apply_kernel, motion_kernel
from training.degradations.jpeg import jpeg_compress
from training.degradations.noise import gaussian_noise, poisson_gaussian_noise
from training.degradations.pipeline import degrade

__all__ = [
    "KINDS",
    "FilterRefiner",
    "RefinerConfig",
    "StackedRefiner",
    "export_onnx",
    "load_checkpoint",
    "make_samples",
    "parity",
    "validation_psnr",
    "vivid",
]

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SAMPLE_SIDE = 144  # a stored crop; training takes a PATCH from it at a random offset (the grid's phase)
PATCH = 96
#: Every VAL_EVERY-th BSD432 photo is held out of training and validates it (never McMaster or Set14).
VAL_EVERY = 36

#: (degraded, filtered, level) of one clean crop: what the engine would hand the refiner.
Case = tuple[np.ndarray, np.ndarray, float]


def jpeg_case(clean: np.ndarray, quality: int, first_quality: int | None = None) -> Case:
    decoded = jpeg_compress(clean, quality, first_quality)
    filtered = denoise_dct(decoded, jpeg_noise_level(quality), clipped=False)
    return decoded, np.clip(filtered, 0.0, 1.0), quantisation_scale(quality) / SCALE_UNIT


def _random_jpeg(clean: np.ndarray, rng: np.random.Generator) -> Case:
    quality = int(rng.integers(5, 61))
    first = int(rng.integers(30, 96)) if rng.random() < 0.2 else None
    return jpeg_case(clean, quality, first)


def grain_jpeg_case(
    clean: np.ndarray, rng: np.random.Generator, sigma: float | None = None, quality: int | None = None
) -> Case:
    """Grain, then saved as a JPEG, filtered at the JPEG's level (`jpeg_case`). `sigma` (/255; 0: no grain)
    and `quality` are drawn when None: no grain 15 %, Gaussian σ 2-35 40 %, sensor noise 45 %; quality
    20-90, 15 % saved twice."""
    first = None
    if sigma is not None:
        noisy = gaussian_noise(clean, sigma / 255.0, rng) if sigma > 0 else clean
    elif (draw := rng.random()) < 0.15:
        noisy = clean
    elif draw < 0.55:
        noisy = gaussian_noise(clean, float(rng.uniform(2.0, 35.0)) / 255.0, rng)
    else:
        photons = float(np.exp(rng.uniform(np.log(50.0), np.log(2000.0))))
        noisy = poisson_gaussian_noise(clean, rng, photons, float(rng.uniform(0.002, 0.03)))
    if quality is None:
        quality = int(rng.integers(20, 91))
        first = int(rng.integers(50, 96)) if rng.random() < 0.15 else None
    return jpeg_case(_saved(noisy), quality, first)


def _saved(image: np.ndarray) -> np.ndarray:
    """`image` as an 8-bit file holds it (float32 in [0, 1])."""
    return (np.round(image * 255.0) / 255.0).astype(np.float32)


def noise_case(clean: np.ndarray, rng: np.random.Generator, level: str | None = None) -> Case:
    """`level` None: a random training draw; else a name of training.degradations' denoise LEVELS."""
    noisy = degrade(clean, ("denoise",), rng, level).image
    noisy = _saved(noisy)
    read = estimate_noise_level(noisy, clean)
    return noisy, denoise_dct(noisy, read), read.rms / NOISE_UNIT


def shaken(
    clean: np.ndarray, rng: np.random.Generator, size: int | None = None, intensity: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(the photo shaken along a random path, saved to 8 bits; the path's kernel). `size` 9-31 px and
    `intensity` 0-1 drawn when None; Gaussian noise of 0-2/255, as training.degradations' deblur draws."""
    kernel = motion_kernel(
        rng,
        int(rng.integers(9, 32)) if size is None else size,
        float(rng.random()) if intensity is None else intensity,
    )
    blurred = gaussian_noise(apply_kernel(clean, kernel), float(rng.uniform(0.0, 2.0)) / 255.0, rng)
    return _saved(blurred), kernel


def misread(kernel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`kernel` as a blind estimate might read it: some of blurred (σ 0.4-1.2 px), stretched or shrunk
    (0.8-1.2x), moved by a pixel, given a spurious arm (a short path holding 10-30 % of the mass)."""
    k = kernel.astype(np.float32)
    side = k.shape[0]
    if rng.random() < 0.5:
        k = cv2.GaussianBlur(k, (0, 0), float(rng.uniform(0.4, 1.2)))
    if rng.random() < 0.5:
        scale = float(rng.uniform(0.8, 1.2))
        grown = cv2.resize(k, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        g = grown.shape[0]
        if g >= side:
            o = (g - side) // 2
            k = grown[o : o + side, o : o + side].copy()
        else:
            o = (side - g) // 2
            k = np.zeros_like(k)
            k[o : o + g, o : o + g] = grown
    if rng.random() < 0.3:
        arm = motion_kernel(rng, int(rng.integers(5, max(6, side // 2) + 1)), 0.5)
        o = int(rng.integers(0, side - arm.shape[0] + 1))
        k[o : o + arm.shape[0], o : o + arm.shape[0]] += float(rng.uniform(0.1, 0.3)) * arm * k.sum()
    if rng.random() < 0.3:
        k = np.roll(k, (int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), axis=(0, 1))
    k = np.maximum(k, 0.0)
    return (k / k.sum()).astype(np.float32)


def shake_case(clean: np.ndarray, rng: np.random.Generator, size: int | None = None) -> Case:
    """A shaken crop, deconvolved as engine.restorers.shake does, with the true path (40 %) or a misread one;
    the level is the used path's, as the engine tells it (shake_level). (`engine_shake_samples` gives crops
    whose path the engine read blindly.)"""
    blurred, kernel = shaken(clean, rng, size)
    return _deconvolved(blurred, kernel if rng.random() < 0.4 else misread(kernel, rng))


def _deconvolved(blurred: np.ndarray, used: np.ndarray) -> Case:
    return blurred, deconvolve(blurred, used, lam=DECONVOLUTION_WEIGHT), shake_level(path_length(used))


def vivid(clean: np.ndarray, saturation: float) -> np.ndarray:
    """`clean` with its colours pushed away from their grey by `saturation`, clipped at 0 and 1.

    Fruit, flowers and signs have channels near 0 or 1, where noise is clipped: rare in BSD432 and the
    wallpapers, and a refiner trained without them smoothed a red apple's green and blue channels (-1 dB
    against the filter alone on such a photo; TRAINING_LOG session 11)."""
    grey = luminance(clean)[..., None]
    return np.clip(grey + saturation * (clean - grey), 0.0, 1.0).astype(np.float32)


def _fixed_shake(clean: np.ndarray, size: int, misreading: bool) -> Case:
    """A validation case: a `size`-px path of intensity 0.5 (seeded by its size), read right or misread."""
    rng = np.random.default_rng(size + (1000 if misreading else 0))
    blurred, kernel = shaken(clean, rng, size, 0.5)
    return _deconvolved(blurred, misread(kernel, rng) if misreading else kernel)


@dataclass(frozen=True)
class Kind:
    """What one refiner is trained on: a random case per crop, and fixed cases to validate on.

    `validation`: (label, case) on the held-out photos; `vivid_validation`: the labels of cases that are
    validated on the held-out photos made vivid (`vivid` at 2.0). `vivid`: the share of training crops whose
    colours are first saturated (by 1.5-3x). `loss`: "l1", or "psnr" (the mean over the batch of each
    sample's log MSE), which weighs a sample at σ 5 as much as one at σ 50: under L1 the big errors of
    heavy noise drown the small ones, and the noise refiner took 2 dB off light grain (TRAINING_LOG
    session 11)."""

    draw: Callable[[np.ndarray, np.random.Generator], Case]
    validation: tuple[tuple[str, Callable[[np.ndarray], Case]], ...]
    vivid: float = 0.0
    vivid_validation: tuple[str, ...] = ()
    loss: str = "l1"


KINDS: dict[str, Kind] = {
    "jpeg": Kind(
        _random_jpeg,
        (("q10", lambda clean: jpeg_case(clean, 10)), ("q30", lambda clean: jpeg_case(clean, 30))),
    ),
    "noise": Kind(
        lambda clean, rng: noise_case(clean, rng),
        (
            ("s15", lambda clean: noise_case(clean, np.random.default_rng(15), "sigma15")),
            ("s25", lambda clean: noise_case(clean, np.random.default_rng(25), "sigma25")),
            ("s50", lambda clean: noise_case(clean, np.random.default_rng(50), "sigma50")),
            ("s25vivid", lambda clean: noise_case(clean, np.random.default_rng(26), "sigma25")),
        ),
        vivid=0.35,
        vivid_validation=("s25vivid",),
        loss="psnr",
    ),
    "shake": Kind(
        shake_case,
        (
            ("true21", lambda clean: _fixed_shake(clean, 21, False)),
            ("misread21", lambda clean: _fixed_shake(clean, 21, True)),
            ("true11", lambda clean: _fixed_shake(clean, 11, False)),
        ),
    ),
    "grain_jpeg": Kind(
        grain_jpeg_case,
        (
            ("s15q40", lambda clean: grain_jpeg_case(clean, np.random.default_rng(1540), 15.0, 40)),
            ("s8q60", lambda clean: grain_jpeg_case(clean, np.random.default_rng(860), 8.0, 60)),
            ("s25q75", lambda clean: grain_jpeg_case(clean, np.random.default_rng(2575), 25.0, 75)),
            ("q30", lambda clean: grain_jpeg_case(clean, np.random.default_rng(30), 0.0, 30)),
        ),
        loss="psnr",
    ),
}


@dataclass(frozen=True)
class RefinerConfig:
    """Shape of the refiner; stored in the checkpoint so it rebuilds its own model."""

    widths: tuple[int, int, int] = (24, 48, 96)
    blocks: tuple[int, int, int] = (1, 2, 2)


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def _blocks(width: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(_ResBlock(width) for _ in range(count)))


class FilterRefiner(nn.Module):
    """degraded, filtered (N,3,H,W) in [0,1], level (N,1) -> filtered + correction; H, W multiples of 4."""

    multiple_of = 4

    def __init__(self, config: RefinerConfig | None = None) -> None:
        super().__init__()
        self.config = config or RefinerConfig()
        w0, w1, w2 = self.config.widths
        b0, b1, b2 = self.config.blocks
        self.head = nn.Conv2d(7, w0, 3, padding=1)
        self.enc0, self.down0 = _blocks(w0, b0), nn.Conv2d(w0, w1, 2, stride=2)
        self.enc1, self.down1 = _blocks(w1, b1), nn.Conv2d(w1, w2, 2, stride=2)
        self.middle = _blocks(w2, b2)
        self.up1, self.dec1 = nn.Sequential(nn.Conv2d(w2, 4 * w1, 1), nn.PixelShuffle(2)), _blocks(w1, b1)
        self.up0, self.dec0 = nn.Sequential(nn.Conv2d(w1, 4 * w0, 1), nn.PixelShuffle(2)), _blocks(w0, b0)
        self.tail = nn.Conv2d(w0, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as the DCT filter itself
        nn.init.zeros_(self.tail.bias)

    def forward(self, degraded: torch.Tensor, filtered: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        plane = level[:, :, None, None] * torch.ones_like(degraded[:, :1])
        x0 = self.enc0(self.head(torch.cat([degraded, filtered, plane], dim=1)))
        x1 = self.enc1(self.down0(x0))
        x2 = self.middle(self.down1(x1))
        y1 = self.dec1(self.up1(x2) + x1)
        y0 = self.dec0(self.up0(y1) + x0)
        return filtered + self.tail(y0)


# --- data -------------------------------------------------------------------------------------------

_SOURCES: dict[str, list[np.ndarray]] = {}


def _bsd_paths(bsd: Path, held_out: bool) -> list[Path]:
    """BSD432's training photos, or the held-out ones (every VAL_EVERY-th)."""
    return [p for i, p in enumerate(sorted(bsd.glob("*.jpg"))) if (i % VAL_EVERY == 0) == held_out]


def _read_rgb(path: Path) -> np.ndarray:
    return cv2.imread(str(path))[:, :, ::-1].copy()


def _init_sources(photos: str, bsd: str, kind: str) -> None:
    _SOURCES["bsd"] = [_read_rgb(p) for p in _bsd_paths(Path(bsd), held_out=False)]
    full = load_images(Path(photos))
    _SOURCES["photos"] = full
    _SOURCES["photos_half"] = [
        cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA) for im in full
    ]
    _SOURCES["kind"] = [np.array(kind)]


def _u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def _one_sample(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["bsd", "photos", "photos_half"], p=[0.5, 0.25, 0.25])
    images = _SOURCES[str(group)]
    img = images[int(rng.integers(len(images)))]
    y = int(rng.integers(0, img.shape[0] - SAMPLE_SIDE + 1))
    x = int(rng.integers(0, img.shape[1] - SAMPLE_SIDE + 1))
    clean = img[y : y + SAMPLE_SIDE, x : x + SAMPLE_SIDE].astype(np.float32) / 255.0
    kind = KINDS[str(_SOURCES["kind"][0])]
    if kind.vivid and rng.random() < kind.vivid:
        clean = vivid(clean, float(rng.uniform(1.5, 3.0)))
    degraded, filtered, level = kind.draw(clean, rng)
    return _u8(clean), _u8(degraded), _u8(filtered), level


def make_samples(
    kind: str, out: Path, samples: int, seed: int, photos: Path, bsd: Path, workers: int = 2
) -> None:
    """samples.npz: clean, decoded (the degraded photo as its 8-bit file holds it), filtered (uint8
    N x 144 x 144 x 3) and scale (the level fed to the refiner, float32 N)."""
    with Pool(workers, initializer=_init_sources, initargs=(str(photos), str(bsd), kind)) as pool:
        rows = pool.map(_one_sample, range(seed, seed + samples), chunksize=64)
    _save_samples(out, rows)


def _save_samples(out: Path, rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]) -> None:
    """out/samples.npz (written whole, then moved into place) from (clean, decoded, filtered, level) rows."""
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "samples.partial.npz"
    np.savez(
        partial,
        clean=np.stack([r[0] for r in rows]),
        decoded=np.stack([r[1] for r in rows]),
        filtered=np.stack([r[2] for r in rows]),
        scale=np.array([r[3] for r in rows], np.float32),
    )
    partial.replace(out / "samples.npz")


def engine_shake_samples(out: Path, photos: int, seed: int, bsd: Path, crops: int = 8) -> None:
    """samples.npz as make_samples' for the shake refiner, from whole training BSD432 photos shaken (as
    `shaken`) and read blindly by engine.restorers.shake: where it finds the shake, the photo deconvolved with
    the kernel it read and `crops` random crops of it. Rewritten every 5 photos, so it can be stopped."""
    paths = _bsd_paths(bsd, held_out=False)
    rng = np.random.default_rng(seed)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = []
    for n, index in enumerate(rng.permutation(len(paths))[:photos]):
        clean = _read_rgb(paths[index]).astype(np.float32) / 255.0
        blurred, kernel = shaken(clean, rng)
        estimate = estimate_motion(blurred)
        print(
            f"{paths[index].stem}: true {path_length(kernel):.0f} px, read {estimate.length:.0f} px, "
            f"found {estimate.found}",
            flush=True,
        )
        if estimate.found:
            restored = undo_motion(blurred, estimate)
            for _ in range(crops):
                y = int(rng.integers(0, clean.shape[0] - SAMPLE_SIDE + 1))
                x = int(rng.integers(0, clean.shape[1] - SAMPLE_SIDE + 1))
                cut = (slice(y, y + SAMPLE_SIDE), slice(x, x + SAMPLE_SIDE))
                rows.append((_u8(clean[cut]), _u8(blurred[cut]), _u8(restored[cut]), estimate.level))
        if rows and (n + 1) % 5 == 0:
            _save_samples(out, rows)
    if rows:
        _save_samples(out, rows)


def validation_images(bsd: Path) -> list[np.ndarray]:
    """The held-out BSD432 photos, cut to 320 x 480 (or 480 x 320)."""
    held = [_read_rgb(p) for p in _bsd_paths(bsd, held_out=True)]
    return [im[: im.shape[0] // 16 * 16, : im.shape[1] // 16 * 16].astype(np.float32) / 255.0 for im in held]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10.0 * math.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-12)))


#: (label, clean, degraded, filtered, level) of one validation photo
ValidationRow = tuple[str, np.ndarray, np.ndarray, np.ndarray, float]


def validation_set(kind: str, bsd: Path) -> list[ValidationRow]:
    rows: list[ValidationRow] = []
    for label, case in KINDS[kind].validation:
        for photo in validation_images(bsd):
            clean = vivid(photo, 2.0) if label in KINDS[kind].vivid_validation else photo
            rows.append((label, clean, *case(clean)))
    return rows


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


@torch.no_grad()
def validation_psnr(model: FilterRefiner, rows: list[ValidationRow]) -> dict[str, float]:
    """Mean PSNR per validation case of the input, the DCT filter and the refiner on the held-out photos."""
    model.eval()
    table: dict[str, list[float]] = {}
    for label, clean, degraded, filtered, level in rows:
        out = model(_tensor(degraded), _tensor(filtered), torch.tensor([[level]], dtype=torch.float32))
        refined = np.clip(out[0].numpy().transpose(1, 2, 0), 0.0, 1.0)
        for name, image in (("input", degraded), ("dct", filtered), ("refiner", refined)):
            table.setdefault(f"{label}_{name}", []).append(_psnr(clean, image))
    model.train()
    return {key: round(float(np.mean(values)), 3) for key, values in table.items()}


# --- training ---------------------------------------------------------------------------------------


def _batch(data: dict[str, np.ndarray], rng: np.random.Generator, size: int) -> list[torch.Tensor]:
    index = rng.integers(0, len(data["scale"]), size)
    y, x = rng.integers(0, SAMPLE_SIDE - PATCH + 1, 2)
    tensors = []
    for key in ("clean", "decoded", "filtered"):
        crop = data[key][index, y : y + PATCH, x : x + PATCH].astype(np.float32) / 255.0
        tensors.append(torch.from_numpy(crop).permute(0, 3, 1, 2))
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    tensors = [torch.rot90(t, k, dims=(2, 3)) for t in tensors]
    if flip:
        tensors = [torch.flip(t, dims=(3,)) for t in tensors]
    tensors.append(torch.from_numpy(data["scale"][index])[:, None])
    return tensors


def load_samples(data_dirs: list[Path]) -> dict[str, np.ndarray]:
    """The samples.npz of each folder (make_samples'), joined."""
    parts = [np.load(d / "samples.npz") for d in data_dirs]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0].files}


def train(
    kind: str,
    data_dirs: list[Path],
    out: Path,
    minutes: float,
    batch: int,
    lr: float,
    seed: int,
    bsd: Path,
    init: Path | None = None,
) -> None:
    """Adam, L1, cosine over the wall-clock budget; validation and checkpoints every 250 steps (resumable
    from out/last.pt; out/best.pt keeps the best mean refiner PSNR over the validation cases). `init`: a
    checkpoint whose weights a new run starts from (a fresh optimiser and schedule: fine-tuning)."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = load_samples(data_dirs)
    rows = validation_set(kind, bsd)
    model = FilterRefiner() if init is None else load_checkpoint(init).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    step, spent, best = 0, 0.0, -1.0
    last = out / "last.pt"
    if last.exists():
        state = torch.load(last, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, spent, best = state["step"], state["seconds"], state["best"]
        if set(state["scores"]) != {
            f"{label}_{name}" for label, *_ in rows for name in ("input", "dct", "refiner")
        }:
            best = -1.0  # validated on other cases before: its best is not comparable
        rng = np.random.default_rng(seed + step)
    log = (out / "log.jsonl").open("a")
    budget = minutes * 60.0
    started = time.perf_counter() - spent
    while (spent := time.perf_counter() - started) < budget:
        for group in optimiser.param_groups:  # cosine over the time budget, so a resumed run ends on time
            group["lr"] = 1e-6 + 0.5 * (lr - 1e-6) * (1.0 + math.cos(math.pi * spent / budget))
        clean, decoded, filtered, scale = _batch(data, rng, batch)
        loss = _loss(KINDS[kind].loss, model(decoded, filtered, scale), clean)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        if step % 250 == 0:
            scores = validation_psnr(model, rows)
            gain = float(np.mean([v for key, v in scores.items() if key.endswith("_refiner")]))
            record = {"step": step, "minutes": round(spent / 60, 1), "loss": round(loss.item(), 5), **scores}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record), flush=True)
            state = {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "config": asdict(model.config),
                "kind": kind,
                "step": step,
                "seconds": spent,
                "best": max(best, gain),
                "scores": scores,
            }
            if gain > best:
                best = gain
                torch.save(state, out / "best.pt")
            torch.save(state, last)


def _loss(name: str, restored: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    if name == "psnr":
        return 10.0 * torch.log10(((restored - clean) ** 2).mean(dim=(1, 2, 3)) + 1e-8).mean()
    return F.l1_loss(restored, clean)


def load_onnx_weights(path: Path) -> FilterRefiner:
    """A FilterRefiner of the default shape with the weights of a shipped refiner's ONNX file (export_onnx's
    initializers: "refiner.<name>", "__fp16" where stored as half)."""
    import onnx
    from onnx import numpy_helper

    weights = {}
    for tensor in onnx.load(str(path)).graph.initializer:
        name = tensor.name.removesuffix("__fp16")
        if name.startswith("refiner."):
            weights[name.removeprefix("refiner.")] = torch.from_numpy(
                numpy_helper.to_array(tensor).astype(np.float32)
            )
    model = FilterRefiner()
    model.load_state_dict(weights)
    return model


def load_checkpoint(path: Path) -> FilterRefiner:
    if path.suffix == ".onnx":
        return load_onnx_weights(path)
    state = torch.load(path, weights_only=False, map_location="cpu")
    config = state["config"]
    model = FilterRefiner(RefinerConfig(tuple(config["widths"]), tuple(config["blocks"])))
    model.load_state_dict(state["model"])
    return model.eval()


class StackedRefiner(nn.Module):
    """The exported interface: one (N,6,H,W) image, the degraded photo stacked with the DCT filter's output,
    so that engine.tiling cuts both into the same tiles; level (N,1) as in training."""

    def __init__(self, refiner: FilterRefiner) -> None:
        super().__init__()
        self.refiner = refiner

    def forward(self, image: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return self.refiner(image[:, :3], image[:, 3:], level)


def export_onnx(model: FilterRefiner, path: Path, fp16_weights: bool = True) -> Path:
    """ONNX with dynamic height and width; weights stored as fp16 and cast back in the graph."""
    from training.export import export_image_graph

    example = (torch.rand(1, 6, 64, 96), torch.tensor([[1.0]]))
    module = StackedRefiner(model.eval())
    return export_image_graph(
        module,
        example,
        path,
        ("image", "level"),
        ("restored",),
        per_sample=("level",),
        fp16_weights=fp16_weights,
    )


def parity(
    model: FilterRefiner, onnx_path: Path, sizes: tuple[tuple[int, int], ...] = ((64, 96), (100, 60))
) -> float:
    """Largest |torch - ORT| over random inputs at two sizes (torch weights fp16-rounded, as shipped)."""
    import onnxruntime as ort

    rounded = FilterRefiner(model.config).eval()
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for h, w in sizes:
        image = rng.random((1, 6, h, w), dtype=np.float32)
        level = np.array([[rng.uniform(0.1, 2.0)]], np.float32)
        with torch.no_grad():
            ref = StackedRefiner(rounded)(torch.from_numpy(image), torch.from_numpy(level)).numpy()
        got = session.run(["restored"], {"image": image, "level": level})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data")
    data.add_argument("--kind", choices=sorted(KINDS), required=True)
    data.add_argument("--out", type=Path, required=True)
    data.add_argument("--samples", type=int, default=10000)
    data.add_argument("--seed", type=int, default=0)
    shakes = sub.add_parser("engine-shakes", help="shake refiner crops whose path the engine read blindly")
    shakes.add_argument("--out", type=Path, required=True)
    shakes.add_argument("--photos", type=int, default=200)
    shakes.add_argument("--seed", type=int, default=0)
    run = sub.add_parser("train")
    run.add_argument("--kind", choices=sorted(KINDS), required=True)
    run.add_argument("--data", type=Path, nargs="+", required=True, help="folders of samples.npz, joined")
    run.add_argument(
        "--init",
        type=Path,
        help="start from this checkpoint's (or shipped .onnx refiner's) weights (fine-tune)",
    )
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--minutes", type=float, default=90.0)
    run.add_argument("--batch", type=int, default=16)
    run.add_argument("--lr", type=float, default=1e-3)
    run.add_argument("--seed", type=int, default=0)
    export = sub.add_parser("export")
    export.add_argument("--checkpoint", type=Path, required=True)
    export.add_argument("--onnx", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "data":
        make_samples(args.kind, args.out, args.samples, args.seed, DATA / "photos", DATA / "bsd432")
    elif args.command == "engine-shakes":
        engine_shake_samples(args.out, args.photos, args.seed, DATA / "bsd432")
    elif args.command == "train":
        train(
            args.kind,
            args.data,
            args.out,
            args.minutes,
            args.batch,
            args.lr,
            args.seed,
            DATA / "bsd432",
            init=args.init,
        )
    else:
        from training.export import sha256_of

        model = load_checkpoint(args.checkpoint)
        export_onnx(model, args.onnx)
        print(f"{args.onnx}  sha256 {sha256_of(args.onnx)}  max |torch - ORT| {parity(model, args.onnx):.2e}")


if __name__ == "__main__":
    main()
