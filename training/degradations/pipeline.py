"""One entry point for synthetic degradations: `degrade(img, tasks, rng, level=None)`.

Used by training (random parameters), by the auto-detection classifier and by bench/quality.py (fixed,
named levels). Images are float32 H x W x 3 RGB in [0, 1]; nothing here imports torch.

Tasks are the restoration tasks of `engine.instructions.TASKS`; each one names the degradation it undoes:

=========  ===========================================================================================
task       degradation (random ranges in training)
=========  ===========================================================================================
denoise    Gaussian noise sigma 1..55 /255, or Poisson-Gaussian sensor noise in linear light
           (50..2000 electrons at white, read noise 0.002..0.03), half each; then half of them are saved
           as the camera would, JPEG quality 70..95 (4:2:0), which smears the grain into blotches
deblur     camera-shake motion blur (trajectory 5..31 px, intensity 0..1) 60 %, or defocus disk
           (radius 1..7 px) 40 %; both followed by mild Gaussian noise 0..2 /255
jpeg       JPEG quality 5..60; 30 % are saved twice (first at quality 50..95)
lowlight   linear-light exposure -2..-5 EV with shot noise (2,000..20,000 e- at white at the original
           exposure) and read noise 0.0002..0.002, re-encoded with the sRGB curve
dehaze     I = J t + A (1 - t), t = exp(-beta d), beta 0.5..2.0, random smooth depth d (farther towards the
           top) drawn for a frame 1..4x the crop and seen through a random window of it, airlight
           0.7..1.0 grey with a +-0.05 tint per channel
derain     streaks: drop density 0.002..0.02, length 10..40 px, angle -30..30 deg from vertical,
           Gaussian blur 0.5..1.5 px, brightness 0.3..0.9, screen-blended
=========  ===========================================================================================

Composites apply their parts in the order light meets them: scene (haze, rain) -> optics and shake (blur)
-> exposure (low light) -> sensor (noise) -> file (JPEG). `ORDER` holds that order.

Fixed levels for benchmarks are in `LEVELS` (one dict per task; "default" is the reference level):

    degrade(img, ("denoise",), rng, level="sigma25")
    degrade(img, ("lowlight", "denoise"), rng, level={"lowlight": "ev-3", "denoise": "sigma15"})
    degrade(img, ("jpeg",), rng, level="default")      # each task's default level

Motion blur, haze depth and rain still draw their shapes from `rng`, so pass a seeded generator for
repeatable benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.degradations.blur import defocus_blur, motion_blur
from training.degradations.haze import add_haze, random_depth
from training.degradations.jpeg import jpeg_compress
from training.degradations.lowlight import low_light
from training.degradations.noise import gaussian_noise, poisson_gaussian_noise
from training.degradations.rain import add_rain, rain_layer

__all__ = ["LEVELS", "ORDER", "TASKS", "Degraded", "degrade", "sample_params"]

TASKS: tuple[str, ...] = ("denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg")
ORDER: tuple[str, ...] = ("dehaze", "derain", "deblur", "lowlight", "denoise", "jpeg")

Params = dict[str, Any]

LEVELS: dict[str, dict[str, Params]] = {
    "denoise": {
        "sigma8": {"model": "gaussian", "sigma": 8 / 255},
        "sigma10": {"model": "gaussian", "sigma": 10 / 255},
        "sigma15": {"model": "gaussian", "sigma": 15 / 255},
        "sigma25": {"model": "gaussian", "sigma": 25 / 255},
        "sigma50": {"model": "gaussian", "sigma": 50 / 255},
        "sensor": {"model": "poisson_gaussian", "photons": 200.0, "read_sigma": 0.01},
        "sigma20_camera_jpeg90": {"model": "gaussian", "sigma": 20 / 255, "camera_jpeg": 90},
    },
    "deblur": {
        "motion": {"model": "motion", "size": 21, "intensity": 0.5, "noise_sigma": 1 / 255},
        "motion_small": {"model": "motion", "size": 11, "intensity": 0.3, "noise_sigma": 1 / 255},
        "defocus": {"model": "defocus", "radius": 4.0, "noise_sigma": 1 / 255},
        "defocus_small": {"model": "defocus", "radius": 2.0, "noise_sigma": 1 / 255},
        "defocus_r2_5": {"model": "defocus", "radius": 2.5, "noise_sigma": 1 / 255},
    },
    "jpeg": {
        "q10": {"quality": 10, "first_quality": None},
        "q20": {"quality": 20, "first_quality": None},
        "q30": {"quality": 30, "first_quality": None},
        "q40": {"quality": 40, "first_quality": None},
        "q75": {"quality": 75, "first_quality": None},
        "q10_double": {"quality": 10, "first_quality": 75},
    },
    "lowlight": {
        "ev-2": {"ev": -2.0, "photons": 8000.0, "read_sigma": 0.0005},
        "ev-3": {"ev": -3.0, "photons": 8000.0, "read_sigma": 0.0005},
        "ev-4": {"ev": -4.0, "photons": 8000.0, "read_sigma": 0.0005},
    },
    "dehaze": {
        "thin": {"beta": 0.6, "airlight": 0.85},
        "medium": {"beta": 1.0, "airlight": 0.85},
        "thick": {"beta": 1.8, "airlight": 0.85},
    },
    "derain": {
        "light": {"density": 0.005, "length": 20, "angle": 10.0, "blur_sigma": 1.0, "brightness": 0.5},
        "medium": {"density": 0.01, "length": 25, "angle": 10.0, "blur_sigma": 1.0, "brightness": 0.6},
        "heavy": {"density": 0.02, "length": 30, "angle": -15.0, "blur_sigma": 1.0, "brightness": 0.8},
    },
}
_DEFAULT_LEVEL = {
    "denoise": "sigma25",
    "deblur": "motion",
    "jpeg": "q10",
    "lowlight": "ev-3",
    "dehaze": "medium",
    "derain": "medium",
}
for _task, _name in _DEFAULT_LEVEL.items():
    LEVELS[_task]["default"] = LEVELS[_task][_name]


@dataclass
class Degraded:
    """A degraded image, the tasks that undo it (in `ORDER`) and the parameters actually drawn."""

    image: np.ndarray
    tasks: tuple[str, ...]
    params: dict[str, Params] = field(default_factory=dict)


def sample_params(task: str, rng: np.random.Generator) -> Params:
    """Draw random training parameters for one task (ranges in the module docstring)."""
    if task == "denoise":
        camera_jpeg = int(rng.integers(70, 96)) if rng.random() < 0.5 else None
        if rng.random() < 0.5:
            return {
                "model": "gaussian",
                "sigma": float(rng.uniform(1.0, 55.0)) / 255,
                "camera_jpeg": camera_jpeg,
            }
        return {
            "model": "poisson_gaussian",
            "photons": float(np.exp(rng.uniform(np.log(50.0), np.log(2000.0)))),
            "read_sigma": float(rng.uniform(0.002, 0.03)),
            "camera_jpeg": camera_jpeg,
        }
    if task == "deblur":
        noise = float(rng.uniform(0.0, 2.0)) / 255
        if rng.random() < 0.6:
            return {
                "model": "motion",
                "size": int(rng.integers(5, 32)),
                "intensity": float(rng.random()),
                "noise_sigma": noise,
            }
        return {"model": "defocus", "radius": float(rng.uniform(1.0, 7.0)), "noise_sigma": noise}
    if task == "jpeg":
        first = int(rng.integers(50, 96)) if rng.random() < 0.3 else None
        return {"quality": int(rng.integers(5, 61)), "first_quality": first}
    if task == "lowlight":
        return {
            "ev": float(rng.uniform(-5.0, -2.0)),
            "photons": float(np.exp(rng.uniform(np.log(2000.0), np.log(20000.0)))),
            "read_sigma": float(rng.uniform(0.0002, 0.002)),
        }
    if task == "dehaze":
        grey = float(rng.uniform(0.7, 1.0))
        tint = rng.uniform(-0.05, 0.05, 3)
        return {
            "beta": float(rng.uniform(0.5, 2.0)),
            "airlight": np.clip(grey + tint, 0.0, 1.0).tolist(),
            # the crop is a window of a frame 1-4x its size (log-uniform): see haze.random_depth
            "frame": float(np.exp(rng.uniform(0.0, np.log(4.0)))),
        }
    if task == "derain":
        return {
            "density": float(rng.uniform(0.002, 0.02)),
            "length": int(rng.integers(10, 41)),
            "angle": float(rng.uniform(-30.0, 30.0)),
            "blur_sigma": float(rng.uniform(0.5, 1.5)),
            "brightness": float(rng.uniform(0.3, 0.9)),
        }
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def _apply(task: str, img: np.ndarray, p: Params, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    if task == "denoise":
        if p["model"] == "gaussian":
            noisy = gaussian_noise(img, p["sigma"], rng)
        else:
            noisy = poisson_gaussian_noise(img, rng, p["photons"], p["read_sigma"])
        # Most noisy photos reach us as the camera's JPEG: the grain arrives compressed.
        return jpeg_compress(noisy, p["camera_jpeg"], None) if p.get("camera_jpeg") else noisy
    if task == "deblur":
        if p["model"] == "motion":
            out = motion_blur(img, rng, p["size"], p["intensity"])
        else:
            out = defocus_blur(img, p["radius"])
        return gaussian_noise(out, p["noise_sigma"], rng) if p["noise_sigma"] > 0 else out
    if task == "jpeg":
        return jpeg_compress(img, p["quality"], p["first_quality"])
    if task == "lowlight":
        return low_light(img, rng, p["ev"], p["photons"], p["read_sigma"])
    if task == "dehaze":
        depth = random_depth(rng, h, w, p.get("frame", 1.0))
        return add_haze(img, p["beta"], np.asarray(p["airlight"], np.float32), depth)
    if task == "derain":
        layer = rain_layer(rng, h, w, p["density"], p["length"], p["angle"], p["blur_sigma"])
        return add_rain(img, layer, p["brightness"])
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def _level_params(task: str, level: str | Mapping[str, str]) -> Params:
    name = level if isinstance(level, str) else level.get(task, "default")
    try:
        return dict(LEVELS[task][name])
    except KeyError:
        raise ValueError(f"no level {name!r} for task {task!r}; known: {sorted(LEVELS[task])}") from None


def degrade(
    img: np.ndarray,
    tasks: Sequence[str],
    rng: np.random.Generator,
    level: str | Mapping[str, str] | None = None,
) -> Degraded:
    """Degrade `img` (float32 H x W x 3 in [0, 1]) so that `tasks` undo it; empty `tasks` returns a copy.

    `level` None draws random training parameters; a string names a level of `LEVELS` for every task
    ("default" works for all); a mapping gives one level name per task (missing tasks use "default").
    """
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; expected a subset of {TASKS}")
    ordered = tuple(t for t in ORDER if t in set(tasks))
    out = np.ascontiguousarray(img, dtype=np.float32).copy()
    params: dict[str, Params] = {}
    for task in ordered:
        p = sample_params(task, rng) if level is None else _level_params(task, level)
        out = _apply(task, out, p, rng)
        params[task] = p
    return Degraded(image=np.clip(out, 0.0, 1.0).astype(np.float32), tasks=ordered, params=params)
