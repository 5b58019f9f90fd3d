"""Which photos the degradation detector trains on, calibrates on and is reported on, and which degradation
levels are too faint to count (torch-free: bench.detector_accuracy uses it too).

BSD432 (sorted by name, index i) and the 39 photos of ../shared/data/photos (sorted, index j):

============  ===========================  ==========================
part          BSD432                       photos
============  ===========================  ==========================
training      i % 4 != 0 (324 photos)      j % 3 != 0 (26 photos)
calibration   i % 8 == 4 (54)              j % 6 == 3 (6)
report        i % 8 == 0 (54)              j % 6 == 0 (7)
============  ===========================  ==========================

The detector shipped before this split (sha256 4c7a0991...) trained on all of both; the split holds out a
quarter of BSD432 and a third of the photos, so that false alarms on clean photos are measured on photos the
detector never saw.
McMaster and Set14 (../shared/data/val) are never trained or calibrated on; CBSD68, Kodak24, LIVE1 and
Urban100 are never used at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DATA",
    "PARTS",
    "bsd_photos",
    "faint_tasks",
    "is_faint",
    "jpeg_erases",
    "noise_sigma",
    "wallpaper_photos",
]

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PARTS = ("training", "calibration", "report")
_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def _sorted_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)


def _bsd_part(index: int) -> str:
    if index % 4:
        return "training"
    return "calibration" if index % 8 == 4 else "report"


def _photo_part(index: int) -> str:
    if index % 3:
        return "training"
    return "calibration" if index % 6 == 3 else "report"


def bsd_photos(part: str, folder: Path | None = None) -> list[Path]:
    """BSD432's photos of one part ("training", "calibration", "report")."""
    return [p for i, p in enumerate(_sorted_images(folder or DATA / "bsd432")) if _bsd_part(i) == part]


def wallpaper_photos(part: str, folder: Path | None = None) -> list[Path]:
    """The large photos (../shared/data/photos) of one part."""
    return [p for i, p in enumerate(_sorted_images(folder or DATA / "photos")) if _photo_part(i) == part]


# Levels below these are in the restoration training ranges but barely visible in a photo: the detector is
# neither taught to flag them nor judged on them (a clean photo must come back with no tasks, and a photo
# with noise of 2/255 is, to its owner, clean).
FAINT_NOISE_SIGMA = 5.0 / 255  # Gaussian sigma, or a sensor's at mid-grey (sRGB 0.5)
FAINT_MOTION_PX = 9  # camera-shake trajectory length
FAINT_DEFOCUS_RADIUS = 2.0
FAINT_JPEG_QUALITY = 45  # above this (final save)
FAINT_HAZE_BETA = 0.6
FAINT_RAIN_DENSITY = 0.004
FAINT_RAIN_BRIGHTNESS = 0.4
FAINT_LOWLIGHT_EV = -2.0  # every training level (-2..-5 EV) is visible


def _sensor_sigma(photons: float, read_sigma: float) -> float:
    """Noise sigma in sRGB units at sRGB mid-grey for shot noise of `photons` at white plus read noise."""
    linear = ((0.5 + 0.055) / 1.055) ** 2.4  # 0.214
    slope = 1.055 / 2.4 * linear ** (1 / 2.4 - 1)  # d sRGB / d linear there
    return float(np.sqrt(linear / photons + read_sigma**2) * slope)


def is_faint(task: str, params: Mapping[str, Any]) -> bool:
    """Whether a degradation drawn by training.degradations (its `params`) is too faint to count."""
    if task == "denoise":
        return noise_sigma(params) < FAINT_NOISE_SIGMA
    if task == "deblur":
        if params["model"] == "motion":
            return int(params["size"]) < FAINT_MOTION_PX
        return float(params["radius"]) < FAINT_DEFOCUS_RADIUS
    if task == "jpeg":
        return int(params["quality"]) > FAINT_JPEG_QUALITY
    if task == "dehaze":
        return float(params["beta"]) < FAINT_HAZE_BETA
    if task == "derain":
        return (
            float(params["density"]) < FAINT_RAIN_DENSITY
            or float(params["brightness"]) < FAINT_RAIN_BRIGHTNESS
        )
    if task == "lowlight":
        return float(params["ev"]) > FAINT_LOWLIGHT_EV
    raise ValueError(f"unknown task {task!r}")


def noise_sigma(params: Mapping[str, Any]) -> float:
    """A denoise degradation's noise sigma in sRGB units (a sensor's at mid-grey)."""
    if params["model"] == "gaussian":
        return float(params["sigma"])
    return _sensor_sigma(float(params["photons"]), float(params["read_sigma"]))


def jpeg_erases(quality: int, sigma: float) -> bool:
    """Whether a JPEG saved at `quality` erases grain of `sigma` (sRGB units): the grain's DCT coefficients
    (std sigma * 255: JPEG's DCT is orthonormal) fall under half the smallest luminance AC step, and round to
    zero. What is left of such grain is the JPEG's blocks, which the jpeg task undoes."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality  # libjpeg's quality scaling, in %
    smallest_step = max(1.0, (11 * scale + 50) // 100)  # 11: the smallest AC entry of the base table
    return sigma * 255 < smallest_step / 2


def faint_tasks(params: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    """The tasks of a Degraded's `params` whose level is too faint to count (alone, or under a later JPEG
    that erases the grain)."""
    faint = [task for task, p in params.items() if is_faint(task, p)]
    grain, jpeg = params.get("denoise"), params.get("jpeg")
    if grain and jpeg and "denoise" not in faint and jpeg_erases(int(jpeg["quality"]), noise_sigma(grain)):
        faint.append("denoise")
    return tuple(t for t in params if t in faint)
