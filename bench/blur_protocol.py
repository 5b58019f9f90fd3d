"""The blur people cull, made from real photos: the versions bench/blur_accuracy.py calibrates and reports on.

Every photo yields seven versions at its own pixel size: two sharp; one camera-shake path at full length and
the same path shortened to 60 %; one out-of-focus disk; one slight Gaussian blur; one sharp subject on an
out-of-focus background ("bokeh"). Each version then gets grain or not and JPEG or not (a quarter each of
clean, grainy, JPEG, grainy + JPEG), in the order a camera adds them: blur, grain, 8-bit, JPEG.

Sizes: the small sets are used as they are (BSD 0.15 MP, McMaster and Set14 0.06-0.4 MP). The big photos
(../shared/data/photos, 1.3-6.6 MP) are brought to 0.3, 1, 3, 8 or 24 MP without ever enlarging a pixel: a
photo is downscaled by at least 2 (INTER_AREA, MAX_SCALE: not every wallpaper is crisp at its own size, and
a 2 x 2 average makes it so); a size the photo cannot reach that way is a k x k mosaic (k = 2..6) of photos
of the same split, each downscaled by 2 into its tile at a random place (a photo fills at most three tiles).
A photo enlarged to 24 MP is *not* a sharp 24 MP photo (it holds no detail at its own pixel size, like a
blurred one): the benchmark says how such photos read on a separate line and counts them in no figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.degradations import apply_kernel, defocus_kernel, motion_kernel
from training.degradations.jpeg import jpeg_compress

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

#: Camera-shake path length (px at the photo's own size), drawn uniformly; each path is also used shortened
#: to SHAKE_SHORTENED of its length (3..18 px).
SHAKE_LENGTH = (5.0, 30.0)
SHAKE_SHORTENED = 0.6
SHAKE_INTENSITY = (0.0, 1.0)  # 0 = straight sweep .. 1 = curved, jerky hand shake
DEFOCUS_RADIUS = (2.0, 5.0)  # out-of-focus disk, px
GAUSSIAN_SIGMA = (1.0, 2.0)  # slight soft blur, px
#: The sharp-subject-on-bokeh versions: background disk radius (px) and the subject's share of the frame.
BOKEH_RADIUS = (4.0, 12.0)
BOKEH_SUBJECT_AREA = (0.08, 0.30)
GRAIN_SIGMA = (1.0 / 255, 8.0 / 255)  # Gaussian per channel, on half the versions
JPEG_QUALITY = (50, 95)  # OpenCV's libjpeg, 4:2:0, on half the versions
MEGAPIXELS = (0.3, 1.0, 3.0, 8.0, 24.0)
#: Most a photo is scaled by to reach a size. Not every wallpaper is crisp at its own size (some were enlarged
#: or shot soft); averaging 2 x 2 pixels turns a source softness of sigma <= 1.4 px into <= 0.7 px: sharp.
MAX_SCALE = 0.5
TRUTHS = ("sharp", "motion", "defocus", "bokeh")


@dataclass(frozen=True)
class Version:
    """One benchmark image's ground truth and how it was made."""

    photo: str
    truth: str  # one of TRUTHS; "bokeh" must read sharp
    detail: str  # e.g. "shake L=17.2 i=0.40", "disk r=3.1", "gauss s=1.4", "bokeh r=8.0 area=0.15"
    megapixels: float
    grain: float  # sigma in 1/255 units, 0 = none
    jpeg: int  # quality, 0 = none

    @property
    def blurred(self) -> bool:
        return self.truth in ("motion", "defocus")

    def describe(self) -> str:
        finish = [f"grain {self.grain:.1f}" if self.grain else "", f"jpeg q{self.jpeg}" if self.jpeg else ""]
        extra = ", ".join(f for f in finish if f)
        return f"{self.photo} {self.megapixels:.2f} MP {self.truth} {self.detail}" + (
            f" ({extra})" if extra else ""
        )


@dataclass(frozen=True)
class Source:
    """A photo of a split at the size it is measured at: one file, or a mosaic of several."""

    name: str
    paths: tuple[Path, ...]  # one, or k*k for a mosaic (the named photo first)
    megapixels: float  # target size; 0 = the file as it is

    def load(self) -> np.ndarray:
        if self.megapixels <= 0:
            return load_rgb(self.paths[0])
        if len(self.paths) == 1:
            return downscaled(load_rgb(self.paths[0]), self.megapixels)
        loaded = {p: load_rgb(p) for p in set(self.paths)}
        images = [loaded[p] for p in self.paths]
        return mosaic(images, self.megapixels, seed=len(self.name) * 7919 + round(self.megapixels * 10))


def load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32) / 255.0


def photo_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)


def _megapixels_of(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def downscaled(img: np.ndarray, megapixels: float) -> np.ndarray:
    h, w = img.shape[:2]
    scale = min(MAX_SCALE, math.sqrt(megapixels * 1e6 / (h * w)))
    return cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def mosaic(images: list[np.ndarray], megapixels: float, seed: int) -> np.ndarray:
    """k x k tiles (a 3:2 frame of `megapixels`): photo i % len(images) in tile i, downscaled by MAX_SCALE
    (or more, to cover the tile) and cropped at a random place, so a photo used twice shows two places."""
    rng = np.random.default_rng(seed)
    k = math.isqrt(len(images))
    height = math.sqrt(megapixels * 1e6 / 1.5)
    tile_w, tile_h = round(1.5 * height / k), round(height / k)
    out = np.empty((tile_h * k, tile_w * k, 3), np.float32)
    for index, img in enumerate(images):
        h, w = img.shape[:2]
        scale = min(MAX_SCALE, max(tile_w / w, tile_h / h) * 1.0001)
        scaled = cv2.resize(
            img, (max(tile_w, round(w * scale)), max(tile_h, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        y0 = int(rng.integers(0, scaled.shape[0] - tile_h + 1))
        x0 = int(rng.integers(0, scaled.shape[1] - tile_w + 1))
        row, col = divmod(index, k)
        out[row * tile_h : (row + 1) * tile_h, col * tile_w : (col + 1) * tile_w] = scaled[
            y0 : y0 + tile_h, x0 : x0 + tile_w
        ]
    return out


def big_photo_sources(paths: list[Path], tiers_per_photo: int, offset: int = 0) -> list[Source]:
    """Each big photo at `tiers_per_photo` sizes of MEGAPIXELS (round robin), mosaics from the same list."""
    sizes = {p: _megapixels_of(p) for p in paths}
    sources = []
    for index, path in enumerate(paths):
        w, h = sizes[path]
        for t in range(tiers_per_photo):
            target = MEGAPIXELS[(index + offset + 2 * t) % len(MEGAPIXELS)]
            if target <= MAX_SCALE**2 * w * h / 1e6:
                sources.append(Source(path.stem, (path,), target))
                continue
            tiles = _mosaic_tiles(path, paths, sizes, target)
            if tiles is not None:
                sources.append(Source(f"{path.stem}+mosaic", tiles, target))
    return sources


def _mosaic_tiles(
    first: Path, paths: list[Path], sizes: dict[Path, tuple[int, int]], target: float
) -> tuple[Path, ...] | None:
    """k x k photos (this one first, then the next ones that fit, repeated if need be) for the smallest k
    whose tiles each photo fills when downscaled by MAX_SCALE."""
    start = paths.index(first)
    ring = paths[start:] + paths[:start]
    for k in range(2, 7):
        height = math.sqrt(target * 1e6 / 1.5)
        tile_w, tile_h = 1.5 * height / k, height / k
        fitting = [p for p in ring if MAX_SCALE * sizes[p][0] >= tile_w and MAX_SCALE * sizes[p][1] >= tile_h]
        if first in fitting and len(fitting) * 3 >= k * k:  # no photo in more than three tiles
            return tuple(fitting[i % len(fitting)] for i in range(k * k))
    return None


def small_photo_sources(paths: list[Path], root: Path) -> list[Source]:
    return [Source(str(p.relative_to(root)), (p,), 0.0) for p in paths]


def subject_mask(img: np.ndarray, area: float, rng: np.random.Generator) -> np.ndarray:
    """A feathered ellipse of `area` (share of the frame) over the most detailed place of the photo."""
    h, w = img.shape[:2]
    grey = img.mean(axis=2)
    small_side = 128
    scale = small_side / max(h, w)
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = cv2.resize(grey, (sw, sh), interpolation=cv2.INTER_AREA)
    gx, gy = cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1)
    detail = gx * gx + gy * gy
    aspect = rng.uniform(0.6, 1.6)
    ry = math.sqrt(area * h * w / (math.pi * aspect))
    rx = min(aspect * ry, 0.48 * w)
    ry = min(ry, 0.48 * h)
    yy, xx = np.mgrid[0:sh, 0:sw]
    best, best_centre = -1.0, (h / 2, w / 2)
    for cy in np.linspace(ry, h - ry, 7):
        for cx in np.linspace(rx, w - rx, 7):
            inside = ((yy - cy * scale) / (ry * scale)) ** 2 + ((xx - cx * scale) / (rx * scale)) ** 2 < 1
            value = float(detail[inside].mean()) if inside.any() else 0.0
            value *= rng.uniform(0.85, 1.0)  # some variety between near-equal places
            if value > best:
                best, best_centre = value, (cy, cx)
    cy, cx = best_centre
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mask = ((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) < 1.0).astype(np.float32)
    feather = max(1.0, 0.004 * max(h, w))
    return cv2.GaussianBlur(mask, (0, 0), feather)[..., None]


def shortened(kernel: np.ndarray, factor: float) -> np.ndarray:
    """The same shake path scaled to `factor` of its length (area resampling), odd side, sum 1."""
    side = max(1, round(kernel.shape[0] * factor)) | 1
    small = cv2.resize(kernel, (side, side), interpolation=cv2.INTER_AREA)
    return (small / small.sum()).astype(np.float32)


def finish(img: np.ndarray, rng: np.random.Generator, grain: float, jpeg: int) -> np.ndarray:
    """Grain (sigma in 1/255), 8-bit rounding, then JPEG at `jpeg` quality (0 = none), as a camera saves."""
    out = img
    if grain > 0:
        noise = rng.standard_normal(img.shape, dtype=np.float32)
        out = img + noise * np.float32(grain / 255.0)
    out = np.round(np.clip(out, 0.0, 1.0) * 255.0) / 255.0
    if jpeg:
        out = jpeg_compress(out, jpeg)
    return out.astype(np.float32)


def versions(source: Source, rng: np.random.Generator) -> Iterator[tuple[Version, np.ndarray]]:
    """The seven versions of one source photo (see the module's docstring), each finished."""
    img = source.load()
    mp = img.shape[0] * img.shape[1] / 1e6
    finishes = [(0, 0), (1, 0), (0, 1), (1, 1)]
    order = rng.permutation(7) % 4  # each finish at least once per photo, in a random order

    def finished(i: int) -> tuple[float, int, np.ndarray]:
        grainy, jpeg = finishes[order[i]]
        sigma = float(rng.uniform(*GRAIN_SIGMA) * 255.0) if grainy else 0.0
        quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)) if jpeg else 0
        return sigma, quality, rng.integers(2**31)

    def make(i: int, truth: str, detail: str, pixels: np.ndarray) -> tuple[Version, np.ndarray]:
        sigma, quality, seed = finished(i)
        out = finish(pixels, np.random.default_rng(seed), sigma, quality)
        return Version(source.name, truth, detail, mp, sigma, quality), out

    yield make(0, "sharp", "", img)
    yield make(1, "sharp", "", img)
    length = float(rng.uniform(*SHAKE_LENGTH))
    intensity = float(rng.uniform(*SHAKE_INTENSITY))
    kernel = motion_kernel(rng, round(length), intensity)
    yield make(2, "motion", f"shake L={round(length)} i={intensity:.2f}", apply_kernel(img, kernel))
    short = shortened(kernel, SHAKE_SHORTENED)
    yield make(3, "motion", f"shake L={round(length)}x0.6 i={intensity:.2f}", apply_kernel(img, short))
    radius = float(rng.uniform(*DEFOCUS_RADIUS))
    yield make(4, "defocus", f"disk r={radius:.1f}", apply_kernel(img, defocus_kernel(radius)))
    sigma = float(rng.uniform(*GAUSSIAN_SIGMA))
    yield make(5, "defocus", f"gauss s={sigma:.2f}", cv2.GaussianBlur(img, (0, 0), sigma))
    area = float(rng.uniform(*BOKEH_SUBJECT_AREA))
    bokeh_radius = float(rng.uniform(*BOKEH_RADIUS))
    mask = subject_mask(img, area, rng)
    background = apply_kernel(img, defocus_kernel(bokeh_radius))
    yield make(
        6, "bokeh", f"bokeh r={bokeh_radius:.1f} area={area:.2f}", mask * img + (1 - mask) * background
    )


def split_sources(split: str, every_bsd: int = 1, tiers_per_photo: int = 2) -> list[Source]:
    """ "calibration": BSD432 and the even-numbered big photos; "report": McMaster, Set14 and the odd ones."""
    big = photo_files(SHARED_DATA / "photos")
    if split == "calibration":
        bsd = photo_files(SHARED_DATA / "bsd432")[::every_bsd]
        return small_photo_sources(bsd, SHARED_DATA / "bsd432") + big_photo_sources(
            big[0::2], tiers_per_photo
        )
    if split == "report":
        val = photo_files(SHARED_DATA / "val")
        return small_photo_sources(val, SHARED_DATA / "val") + big_photo_sources(
            big[1::2], tiers_per_photo, 1
        )
    raise ValueError(f"unknown split {split!r}")
