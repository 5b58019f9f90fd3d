"""Training pairs: preloaded photos -> random crops -> synthetic degradations + a matching prompt."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.conditioning import PromptBank
from training.degradations.pipeline import TASKS, degrade

__all__ = ["ImageBank", "PairSampler", "SamplerConfig", "load_images", "validation_set"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
# A crop is degraded with this margin and then trimmed, so blur kernels and rain streaks see real pixels
# at the edges instead of reflections; a multiple of 8 keeps the JPEG block grid aligned with the crop.
MARGIN = 16


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"{path}: cannot decode")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def load_images(folder: Path, max_side: int | None = None) -> list[np.ndarray]:
    """Decode every image in `folder` (sorted) to uint8 RGB; `max_side` downsizes larger ones (INTER_AREA)."""
    images = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        img = _read_rgb(path)
        if max_side and max(img.shape[:2]) > max_side:
            s = max_side / max(img.shape[:2])
            img = cv2.resize(
                img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA
            )
        images.append(img)
    return images


@dataclass
class ImageBank:
    """Decoded training photos kept in RAM as uint8 (decoding a JPEG per step would dominate a CPU step)."""

    groups: dict[str, list[np.ndarray]]  # e.g. "bsd432", "photos", "photos_half"
    weights: dict[str, float]  # probability of drawing a crop from each group

    @classmethod
    def from_folders(cls, bsd: Path, photos: Path, half_scale: bool = True) -> ImageBank:
        groups = {"bsd432": load_images(bsd), "photos": load_images(photos)}
        weights = {"bsd432": 0.5, "photos": 0.5}
        if half_scale:
            # 0.5x copies show the network coarser texture per pixel, like a photo from a smaller sensor.
            groups["photos_half"] = [
                cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA)
                for im in groups["photos"]
            ]
            weights = {"bsd432": 0.45, "photos": 0.35, "photos_half": 0.2}
        return cls(groups=groups, weights=weights)

    def nbytes(self) -> int:
        return sum(im.nbytes for ims in self.groups.values() for im in ims)

    def random_crop(self, rng: np.random.Generator, size: int) -> np.ndarray:
        names = list(self.weights)
        p = np.asarray([self.weights[n] for n in names])
        group = self.groups[names[int(rng.choice(len(names), p=p / p.sum()))]]
        img = group[int(rng.integers(len(group)))]
        h, w = img.shape[:2]
        if h < size or w < size:
            img = cv2.copyMakeBorder(img, 0, max(0, size - h), 0, max(0, size - w), cv2.BORDER_REFLECT)
            h, w = img.shape[:2]
        y = int(rng.integers(h - size + 1))
        x = int(rng.integers(w - size + 1))
        crop = img[y : y + size, x : x + size]
        # Flips and 90-degree turns: free variety; rain angles and haze depth are drawn after this.
        k = int(rng.integers(4))
        crop = np.rot90(crop, k)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop)


@dataclass(frozen=True)
class SamplerConfig:
    clean_fraction: float = 0.1  # clean photo + a random restoration prompt, target = input
    single_fraction: float = 0.55  # of the degraded samples; the rest are pairs and triples
    pair_fraction: float = 0.33
    # Of the pair and triple draws: the photo gets only a proper subset of the degradations the prompt
    # names, target = clean. Teaches "apply what the photo needs": "remove the noise and brighten it" on a
    # well-exposed noisy photo must denoise, not wash it out.
    subset_fraction: float = 0.0
    # Relative draw weight per task (missing: 1); a task set's weight is the mean of its tasks', or 0 if
    # one of them has weight 0. Slow learners (deblur, JPEG) can be drawn more often than the easy global
    # corrections, or alone: the global tasks' large, coherent gradients swamp theirs in AdamW's moments.
    task_weights: tuple[tuple[str, float], ...] = ()


class PairSampler:
    """Draws (degraded, clean, embedding, tasks) training samples; one seeded generator drives everything."""

    def __init__(
        self, images: ImageBank, prompts: PromptBank, seed: int, config: SamplerConfig | None = None
    ):
        self.images = images
        self.prompts = prompts
        self.rng = np.random.default_rng(seed)
        self.config = config or SamplerConfig()
        sets = list(prompts.by_tasks)
        self.task_sets = {n: [s for s in sets if len(s) == n] for n in (1, 2, 3)}
        weights = dict(self.config.task_weights)
        self.set_probs = {}
        for n, group in self.task_sets.items():
            # A weight of 0 leaves out every set with that task (a curriculum phase without it).
            group = [s for s in group if all(weights.get(t, 1.0) > 0 for t in s)]
            self.task_sets[n] = group
            w = np.asarray([np.mean([weights.get(t, 1.0) for t in s]) for s in group], np.float64)
            self.set_probs[n] = w / w.sum() if len(w) else w
        # Per prompt row, the tasks it asks for as a 0/1 row in TASKS order: the intent loss's target
        # (clean samples too, whose prompt names tasks the photo does not need).
        self.intent = np.zeros((len(prompts.texts), len(TASKS)), np.float32)
        for tasks, rows in prompts.by_tasks.items():
            self.intent[np.ix_(rows, [TASKS.index(t) for t in tasks])] = 1.0

    def _task_set(self) -> tuple[str, ...]:
        c, r = self.config, self.rng.random()
        n = 1 if r < c.single_fraction else 2 if r < c.single_fraction + c.pair_fraction else 3
        if not self.task_sets[n]:
            n = 1
        p = self.set_probs[n]
        return self.task_sets[n][int(self.rng.choice(len(p), p=p))]

    def sample(self, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], int]:
        """(degraded, clean, prompt embedding, tasks applied, prompt row); the prompt may ask for more."""
        rng = self.rng
        if rng.random() < self.config.clean_fraction:
            clean = self.images.random_crop(rng, size).astype(np.float32) / 255.0
            row = self.prompts.any_restoration(rng)
            return clean, clean, self.prompts.embeddings[row], (), row
        tasks = self._task_set()
        applied = tasks
        if len(tasks) > 1 and rng.random() < self.config.subset_fraction:
            k = int(rng.integers(1, len(tasks)))
            applied = tuple(tasks[i] for i in sorted(rng.choice(len(tasks), size=k, replace=False)))
        big = self.images.random_crop(rng, size + 2 * MARGIN).astype(np.float32) / 255.0
        degraded = degrade(big, applied, rng).image
        inner = np.s_[MARGIN : MARGIN + size, MARGIN : MARGIN + size]
        row = self.prompts.sample(tasks, rng)
        return degraded[inner], big[inner], self.prompts.embeddings[row], tuple(sorted(applied)), row

    def batch(self, batch_size: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(B,3,S,S) degraded, (B,3,S,S) clean, (B,384) embeddings, (B,6) tasks the prompt asks for (0/1).

        All float32; the last is in `TASKS` order (the intent loss's target).
        """
        samples = [self.sample(size) for _ in range(batch_size)]
        lq = np.stack([s[0] for s in samples]).transpose(0, 3, 1, 2)
        gt = np.stack([s[1] for s in samples]).transpose(0, 3, 1, 2)
        emb = np.stack([s[2] for s in samples])
        intent = self.intent[[s[4] for s in samples]]
        return np.ascontiguousarray(lq), np.ascontiguousarray(gt), emb.astype(np.float32), intent


# Validation cases: a task set and the fixed level it is degraded at; "clean" is a clean photo with a
# mismatched instruction (dehaze), which must come back unchanged. The prompt asks for the case's tasks,
# or for those in OVERASKED: a well-exposed noisy photo with "remove the noise and brighten it" must be
# denoised, not washed out.
VALIDATION_CASES: tuple[tuple[str, tuple[str, ...], str | dict[str, str]], ...] = (
    ("denoise_s25", ("denoise",), "sigma25"),
    ("denoise_s50", ("denoise",), "sigma50"),
    ("deblur_motion", ("deblur",), "motion"),
    ("deblur_defocus", ("deblur",), "defocus"),
    ("jpeg_q10", ("jpeg",), "q10"),
    ("lowlight_ev-3", ("lowlight",), "ev-3"),
    ("dehaze", ("dehaze",), "medium"),
    ("derain", ("derain",), "medium"),
    ("lowlight+noise", ("lowlight", "denoise"), {"lowlight": "ev-3", "denoise": "sigma15"}),
    ("clean_mismatch", ("dehaze",), "clean"),
    ("noise_asked_brighter", ("denoise",), "sigma15"),
    ("denoise_camera_jpeg", ("denoise",), "sigma20_camera_jpeg90"),  # the README sample's kind of grain
)
OVERASKED: dict[str, tuple[str, ...]] = {"noise_asked_brighter": ("denoise", "lowlight")}
# The global corrections on the whole photo (up to WHOLE_MAX px a side), as the engine and the bench see it:
# on 192² crops haze looked +0.07 dB better while whole photos lost 0.55 dB (session 4), because the
# network's channel attention averages over the whole tile.
WHOLE_IMAGE_CASES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("dehaze_whole", ("dehaze",), "medium"),
    ("lowlight_whole", ("lowlight",), "ev-3"),
)
WHOLE_MAX = 512


def validation_set(
    val_dir: Path, prompt_banks: list[PromptBank], crop: int = 192, per_folder: int = 3, seed: int = 1234
) -> list[dict]:
    """Fixed validation samples from the first images of each val folder: `crop`² centre crops for every
    case of VALIDATION_CASES, and the photos themselves (up to WHOLE_MAX a side) for WHOLE_IMAGE_CASES."""
    items = []
    rng = np.random.default_rng(seed)
    folders = sorted(p for p in val_dir.iterdir() if p.is_dir())
    crops, wholes = [], []
    for folder in folders:
        for img in itertools.islice(load_images(folder), per_folder):
            crops.append(_centre(img, crop, square=True))
            wholes.append(_centre(img, WHOLE_MAX, square=False))
    cases = [(c, crops) for c in VALIDATION_CASES] + [(c, wholes) for c in WHOLE_IMAGE_CASES]
    # Whole-image cases come last, so the crops' degradations (drawn from one generator) stay as they were.
    for (name, tasks, level), images in cases:
        key = tuple(sorted(OVERASKED.get(name, tasks)))
        # A fixed prompt per case: the first prompt with exactly this task set in the first bank that has
        # one (pass the held-out corpus first, so validation phrasing is unseen in training).
        bank = next(b for b in prompt_banks if key in b.by_tasks)
        emb = bank.embeddings[int(bank.by_tasks[key][0])]
        for clean in images:
            lq = clean if level == "clean" else degrade(clean, tasks, rng, level=level).image
            items.append({"case": name, "lq": lq, "gt": clean, "embedding": emb})
    return items


def _centre(img: np.ndarray, side: int, square: bool) -> np.ndarray:
    """Centre crop to at most side x side (square: the largest square that fits), sides multiples of 16
    (the network's), as float32 in [0, 1]."""
    h, w = img.shape[:2]
    ch, cw = (min(side, h, w), min(side, h, w)) if square else (min(side, h), min(side, w))
    ch, cw = ch // 16 * 16, cw // 16 * 16
    y, x = (h - ch) // 2, (w - cw) // 2
    return img[y : y + ch, x : x + cw].astype(np.float32) / 255.0
