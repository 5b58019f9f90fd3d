"""Degradation detector: a tiny CNN + in-graph photo statistics that says which restorations a photo needs.

It sees the canvas built by `engine.pipeline.detect.detector_canvas` (the whole photo shrunk to one
quadrant, three native-resolution windows in the others), so training and the engine share one input
builder. Trained on the same synthetic degradations as the restoration network (training.degradations).

    python -m training.detector data --out training/cache/detector2 --samples 8000 --seed 0
    python -m training.detector data --out training/cache/detector2b --samples 12000 --seed 1
    python -m training.detector data --out training/cache/detector2c --samples 12000 --seed 2 \
        --clean-share 0.4
    python -m training.detector train --out runs/detector5 \
        --data training/cache/detector2 training/cache/detector2b training/cache/detector2c
    python -m training.detector export --checkpoint runs/detector5/detector.pt --onnx runs/detector5/raw.onnx
    python -m bench.detector_accuracy --model runs/detector5/raw.onnx --cache runs/detbench --calibrate
    python -m training.detector export --checkpoint runs/detector5/detector.pt \
        --onnx resources/models/detector.onnx --thresholds denoise=0.7109,...  # as --calibrate prints them

It trains on BSD432's and the large photos' training parts only (training.detector_split): their calibration
parts pick the thresholds, their report parts and McMaster/Set14 are what bench.detector_accuracy reports.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from engine.pipeline.detect import detector_canvas
from training.degradations.jpeg import jpeg_compress
from training.degradations.pipeline import TASKS, degrade
from training.detector_split import DATA, bsd_photos, faint_tasks, wallpaper_photos

__all__ = [
    "DegradationDetector",
    "DetectorConfig",
    "PhotoStatistics",
    "export_onnx",
    "make_samples",
    "sample_task_set",
]

SIDE = 256  # engine.models.registry DETECTOR.minimum_size: the side of the canvas it sees


@dataclass(frozen=True)
class DetectorConfig:
    """Shape of the detector; stored in the checkpoint so it rebuilds its own model."""

    side: int = SIDE
    widths: tuple[int, ...] = (24, 40, 56, 72)
    hidden: int = 128
    dropout: float = 0.2
    tasks: tuple[str, ...] = TASKS
    #: "patch4": one 4x4 stride-4 convolution; "conv2": two overlapping 3x3 stride-2 convolutions (every
    #: pixel's neighbours seen before any stride: finer grain and streak cues, for about 3x the compute)
    stem: str = "conv2"


def _fixed_kernel(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32).reshape(1, 1, 3, 3)


class PhotoStatistics(nn.Module):
    """Hand-crafted cues computed inside the graph, so the ONNX interface stays one image input.

    Local windows: Immerkaer noise sigma, Laplacian energy, fine-to-coarse detail ratio (blur), and the
    8-pixel periodicity of horizontal/vertical steps (JPEG blocks; phase-free, so no grid alignment is
    assumed). Global view: luminance mean/std, dark-channel mean (haze: He et al. 2009), saturation, and
    the shares of very dark / very bright pixels (exposure).
    """

    local_count = 6
    global_count = 7

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("immerkaer", _fixed_kernel([[1, -2, 1], [-2, 4, -2], [1, -2, 1]]))
        self.register_buffer("laplace", _fixed_kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]]))

    @staticmethod
    def _periodicity(steps: torch.Tensor) -> torch.Tensor:
        """(N, L) mean absolute steps along one axis -> max/mean over the 8 phases of a block grid."""
        usable = (steps.shape[-1] // 8) * 8
        folded = steps[:, :usable].reshape(steps.shape[0], -1, 8).mean(dim=1)
        # The floor keeps flat (e.g. clipped black) windows at ratio 1 instead of 0/0.
        return (folded.amax(dim=1) + 1e-4) / (folded.mean(dim=1) + 1e-4)

    def local(self, crops: torch.Tensor) -> torch.Tensor:
        grey = crops.mean(dim=1, keepdim=True)
        # Immerkaer (1996): mean |M * I| * sqrt(pi/2) / 6 estimates the noise sigma, robust to smooth content.
        noise = F.conv2d(grey, self.immerkaer).abs().mean(dim=(1, 2, 3)) * (math.sqrt(math.pi / 2) / 6)
        lap = F.conv2d(grey, self.laplace)
        lap_energy = lap.pow(2).mean(dim=(1, 2, 3))
        dx = grey[..., :, 1:] - grey[..., :, :-1]
        dy = grey[..., 1:, :] - grey[..., :-1, :]
        grad_energy = dx.pow(2).mean(dim=(1, 2, 3)) + dy.pow(2).mean(dim=(1, 2, 3))
        block_x = self._periodicity(dx.abs().mean(dim=(1, 2)))
        block_y = self._periodicity(dy.abs().mean(dim=(1, 3)))
        return torch.stack(
            [
                torch.log(noise + 1e-4),
                torch.log(lap_energy + 1e-8),
                torch.log(grad_energy + 1e-8),
                torch.log((lap_energy + 1e-8) / (grad_energy + 1e-8)),
                torch.log(block_x),
                torch.log(block_y),
            ],
            dim=1,
        )

    def global_(self, view: torch.Tensor) -> torch.Tensor:
        lum = view.mean(dim=1, keepdim=True)
        low = view.amin(dim=1, keepdim=True)
        high = view.amax(dim=1, keepdim=True)
        dark_channel = -F.max_pool2d(-low, kernel_size=7, stride=1, padding=3)
        saturation = (high - low) / (high + 1e-3)
        return torch.stack(
            [
                lum.mean(dim=(1, 2, 3)),
                lum.std(dim=(1, 2, 3)),
                dark_channel.mean(dim=(1, 2, 3)),
                saturation.mean(dim=(1, 2, 3)),
                (lum < 0.1).float().mean(dim=(1, 2, 3)),
                (lum > 0.9).float().mean(dim=(1, 2, 3)),
                high.mean(dim=(1, 2, 3)) - low.mean(dim=(1, 2, 3)),
            ],
            dim=1,
        )


def _trunk(widths: tuple[int, ...], stem: str) -> nn.Sequential:
    """A stem down to 1/4 of the side, then 3x3 convolutions: cheap enough to train on two CPU cores.

    Either stem sees every full-resolution pixel, so pixel-scale cues (noise, 8x8 block edges, lost fine
    detail) survive into the features: "patch4" as non-overlapping 4x4 patches, "conv2" through two
    overlapping 3x3 stride-2 convolutions.
    """
    if stem == "patch4":
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 4, stride=4, bias=False)]
    elif stem == "conv2":
        half = max(8, widths[0] // 2)
        layers = [
            nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(),
            nn.Conv2d(half, widths[0], 3, stride=2, padding=1, bias=False),
        ]
    else:
        raise ValueError(f"unknown stem {stem!r}")
    layers += [nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for i, width in enumerate(widths[1:]):
        stride = 2 if i < len(widths) - 2 else 1
        layers += [
            nn.Conv2d(widths[i], width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers)


class DegradationDetector(nn.Module):
    """(B, 3, side, side) canvas in [0, 1] -> (B, len(tasks)) logits."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        super().__init__()
        self.config = config or DetectorConfig()
        width = self.config.widths[-1]
        self.local_trunk = _trunk(self.config.widths, self.config.stem)
        self.global_trunk = _trunk(self.config.widths, self.config.stem)
        self.statistics = PhotoStatistics()
        stat_count = 3 * PhotoStatistics.local_count + PhotoStatistics.global_count
        self.stat_norm = nn.BatchNorm1d(stat_count)
        features = 4 * width + 2 * width + stat_count
        self.head = nn.Sequential(
            nn.Linear(features, self.config.hidden),
            nn.ReLU(),
            nn.Dropout(self.config.dropout),
            nn.Linear(self.config.hidden, len(self.config.tasks)),
        )

    @staticmethod
    def _pool(features: torch.Tensor) -> torch.Tensor:
        return torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)

    def split(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Canvas -> global view (B,3,h,h) and the native windows stacked as (3B,3,h,h)."""
        half = self.config.side // 2
        view = image[:, :, :half, :half]
        crops = torch.stack(
            [image[:, :, :half, half:], image[:, :, half:, :half], image[:, :, half:, half:]], dim=1
        ).reshape(-1, 3, half, half)
        return view, crops

    def photo_statistics(self, image: torch.Tensor) -> torch.Tensor:
        """The fixed (unlearned) statistics of a canvas, (B, stat_count); training caches them per sample."""
        view, crops = self.split(image)
        stats_local = self.statistics.local(crops).reshape(-1, 3, PhotoStatistics.local_count)
        return torch.cat(
            [
                stats_local.mean(dim=1),
                stats_local.amin(dim=1),
                stats_local.amax(dim=1),
                self.statistics.global_(view),
            ],
            dim=1,
        )

    def classify(self, image: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        view, crops = self.split(image)
        local = self._pool(self.local_trunk(crops - 0.5)).reshape(-1, 3, 2 * self.config.widths[-1])
        local = torch.cat([local.mean(dim=1), local.amax(dim=1)], dim=1)
        glob = self._pool(self.global_trunk(view - 0.5))
        return self.head(torch.cat([local, glob, self.stat_norm(stats)], dim=1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.classify(image, self.photo_statistics(image))


# --------------------------------------------------------------------------------------------- data

_SOURCES: dict[str, list[np.ndarray]] = {}
PHOTO_SHARE = 0.4  # the rest comes from BSD432
PHOTO_MAX_SIDE = 1600  # photos are resized to a random long side up to this before degrading...
PHOTO_MIN_SIDE = 256
#: ...or a crop is taken at their native size (a 4-6 MP photo's pixels: fine grain, soft optics, its own
#: JPEG), between these sides
NATIVE_SHARE = 0.4
NATIVE_CROP = (384, 1280)
CLEAN_SHARE = 0.3
TASK_COUNT_WEIGHTS = (0.4, 0.45, 0.15)  # 1, 2 or 3 degradations when not clean
#: photos reach people as good JPEGs: this share of the samples without a JPEG fault is saved at quality
#: CLEAN_JPEG_QUALITY (which is no fault) after its degradations
CLEAN_JPEG_SHARE = 0.35
CLEAN_JPEG_QUALITY = (75, 96)
#: label value of a fault too faint to count (training.detector_split.is_faint): left out of the loss
FAINT = 2


def sample_task_set(rng: np.random.Generator, clean_share: float = CLEAN_SHARE) -> tuple[str, ...]:
    """Clean `clean_share` of the time; otherwise 1, 2 or 3 distinct tasks drawn uniformly."""
    if rng.random() < clean_share:
        return ()
    count = int(rng.choice(len(TASK_COUNT_WEIGHTS), p=TASK_COUNT_WEIGHTS)) + 1
    return tuple(str(t) for t in rng.choice(TASKS, size=count, replace=False))


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"{path}: cannot decode")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _init_sources(photos: str, bsd: str) -> None:
    cv2.setNumThreads(1)
    _SOURCES["photos"] = [_read_rgb(p) for p in wallpaper_photos("training", Path(photos))]
    _SOURCES["bsd"] = [_read_rgb(p) for p in bsd_photos("training", Path(bsd))]


def _source_image(rng: np.random.Generator) -> np.ndarray:
    if rng.random() < PHOTO_SHARE:
        img = _SOURCES["photos"][int(rng.integers(len(_SOURCES["photos"])))]
        if rng.random() < NATIVE_SHARE:
            # Lattice-aligned, so that the photo's own JPEG blocks keep their phase.
            ch, cw = (min(int(rng.integers(*NATIVE_CROP)), n) // 16 * 16 for n in img.shape[:2])
            y = int(rng.integers(0, img.shape[0] - ch + 1)) // 16 * 16
            x = int(rng.integers(0, img.shape[1] - cw + 1)) // 16 * 16
            img = img[y : y + ch, x : x + cw]
        else:
            # A random size stands for photos from different cameras; the source gets cleaner when shrunk.
            side = int(rng.integers(PHOTO_MIN_SIDE, PHOTO_MAX_SIDE + 1))
            scale = min(1.0, side / max(img.shape[:2]))
            size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    else:
        img = _SOURCES["bsd"][int(rng.integers(len(_SOURCES["bsd"])))]
    if rng.random() < 0.5:
        img = img[:, ::-1]
    img = np.rot90(img, int(rng.integers(4)))
    return np.ascontiguousarray(img, dtype=np.float32) / 255.0


def canvas_u8(pixels: np.ndarray) -> np.ndarray:
    """A degraded float photo -> the 8-bit photo a user would have -> the detector canvas, as uint8."""
    saved = np.round(np.clip(pixels, 0.0, 1.0) * 255.0) / 255.0
    canvas = detector_canvas(saved.astype(np.float32), SIDE)
    return np.round(canvas * 255.0).astype(np.uint8)


def _one_sample(args: tuple[int, int, float]) -> tuple[np.ndarray, np.ndarray]:
    seed, index, clean_share = args
    rng = np.random.default_rng([seed, index])
    img = _source_image(rng)
    tasks = sample_task_set(rng, clean_share)
    degraded = degrade(img, tasks, rng)
    pixels = degraded.image
    if "jpeg" not in degraded.tasks and rng.random() < CLEAN_JPEG_SHARE:
        pixels = jpeg_compress(pixels, int(rng.integers(*CLEAN_JPEG_QUALITY)))
    faint = faint_tasks(degraded.params)
    label = np.array([FAINT if t in faint else int(t in degraded.tasks) for t in TASKS], np.uint8)
    return canvas_u8(pixels), label


def make_samples(
    count: int, seed: int, *, photos: Path, bsd: Path, workers: int = 2, clean_share: float = CLEAN_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """`count` (canvas uint8 (N,256,256,3), labels uint8 (N,6): 1 a fault, 0 none, FAINT too faint to
    count) pairs; deterministic for a seed."""
    jobs = [(seed, i, clean_share) for i in range(count)]
    with Pool(workers, initializer=_init_sources, initargs=(str(photos), str(bsd))) as pool:
        results = pool.map(_one_sample, jobs, chunksize=32)
    return np.stack([r[0] for r in results]), np.stack([r[1] for r in results])


# ----------------------------------------------------------------------------------------- training


@dataclass
class TrainSettings:
    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    holdout: float = 0.1  # share of the generated samples kept for validation while training
    #: "sqrt": positives weighted by sqrt(negatives / positives) per task (recall); "none": plain BCE, which
    #: leaves the clean photos their full say (the thresholds are calibrated afterwards either way)
    pos_weight: str = "none"


def _to_tensor(canvases: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(canvases)).permute(0, 3, 1, 2).float().div_(255.0)


def _f1_table(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """F1 per task and exact task sets at 0.5, over the samples with no faint fault."""
    counted = np.all(labels != FAINT, axis=1)
    probs, labels = probs[counted], labels[counted]
    pred = probs >= 0.5
    out = {}
    for i, task in enumerate(TASKS):
        tp = float(np.sum(pred[:, i] & (labels[:, i] == 1)))
        fp = float(np.sum(pred[:, i] & (labels[:, i] == 0)))
        fn = float(np.sum(~pred[:, i] & (labels[:, i] == 1)))
        out[task] = 2 * tp / max(1.0, 2 * tp + fp + fn)
    out["exact"] = float(np.mean(np.all(pred == (labels == 1), axis=1)))
    clean = np.all(labels == 0, axis=1)
    out["clean_flagged"] = float(np.mean(np.any(pred[clean], axis=1))) if clean.any() else float("nan")
    return out


def _predict(model: DegradationDetector, canvases: np.ndarray, batch: int = 64) -> np.ndarray:
    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(canvases), batch):
            outs.append(torch.sigmoid(model(_to_tensor(canvases[start : start + batch]))).numpy())
    return np.concatenate(outs)


def train(
    canvases: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings,
    log_path: Path | None = None,
    config: DetectorConfig | None = None,
) -> tuple[DegradationDetector, list[dict]]:
    """Train from scratch on generated samples (AdamW, one-cycle cosine); returns the model and its log."""
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(len(canvases))
    n_hold = int(len(canvases) * settings.holdout)
    hold, fit = order[:n_hold], order[n_hold:]
    model = DegradationDetector(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(fit) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=settings.lr, total_steps=settings.epochs * steps_per_epoch, pct_start=0.15
    )
    # Positives are rarer than negatives for every task; weighting them evens precision against recall.
    positive_rate = (labels[fit] == 1).mean(axis=0).clip(0.05, 0.95)
    pos_weight = torch.tensor((1 - positive_rate) / positive_rate, dtype=torch.float32).sqrt()
    if settings.pos_weight == "none":
        pos_weight = torch.ones_like(pos_weight)
    # The statistics have no weights: computing them once saves a third of every training step.
    with torch.no_grad():
        stats = torch.cat(
            [model.photo_statistics(_to_tensor(canvases[i : i + 256])) for i in range(0, len(canvases), 256)]
        )
    log: list[dict] = []
    started = time.perf_counter()
    for epoch in range(settings.epochs):
        model.train()
        shuffled = rng.permutation(fit)
        total = 0.0
        for start in range(0, len(shuffled), settings.batch_size):
            idx = np.sort(shuffled[start : start + settings.batch_size])
            x = _to_tensor(canvases[idx])
            y = torch.from_numpy(labels[idx] == 1).float()
            counts = torch.from_numpy(
                labels[idx] != FAINT
            ).float()  # a faint fault is neither taught nor punished
            logits = model.classify(x, stats[torch.from_numpy(idx)])
            losses = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
            loss = (losses * counts).sum() / counts.sum().clamp(min=1.0)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
        scores = _f1_table(_predict(model, canvases[hold]), labels[hold])
        entry = {
            "epoch": epoch + 1,
            "loss": round(total / len(fit), 4),
            "minutes": round((time.perf_counter() - started) / 60, 2),
            **{(k if k in ("exact", "clean_flagged") else f"f1_{k}"): round(v, 4) for k, v in scores.items()},
        }
        log.append(entry)
        print(json.dumps(entry), flush=True)
        if log_path is not None:
            with log_path.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")
    return model.eval(), log


def save_checkpoint(model: DegradationDetector, path: Path, extra: dict) -> None:
    config = asdict(model.config)
    torch.save({"config": config, "state": model.state_dict(), "extra": extra}, path)


def load_checkpoint(path: Path) -> DegradationDetector:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    config = blob["config"]
    model = DegradationDetector(
        DetectorConfig(
            side=int(config["side"]),
            widths=tuple(config["widths"]),
            hidden=int(config["hidden"]),
            dropout=float(config["dropout"]),
            tasks=tuple(config["tasks"]),
            stem=str(config.get("stem", "patch4")),  # checkpoints from before the option: patch4
        )
    )
    model.load_state_dict(blob["state"])
    return model.eval()


def export_onnx(model: DegradationDetector, path: Path, threshold: float | dict[str, float] = 0.5) -> None:
    """ONNX with input `image` (B,3,256,256) and output `logits` (B,6), as engine.models.registry expects.

    `threshold` (one for every task, or one per task by name) is folded into the last bias so that the
    engine's fixed 0.5 on the sigmoid means that threshold on this model's probabilities (each task's
    operating point, picked by `python -m bench.detector_accuracy --calibrate` on the calibration part).
    """
    model = copy.deepcopy(model).eval()
    per_task = threshold if isinstance(threshold, dict) else {task: threshold for task in model.config.tasks}
    unknown = set(per_task) - set(model.config.tasks)
    if unknown:
        raise ValueError(f"thresholds for unknown tasks {sorted(unknown)}; tasks: {model.config.tasks}")
    shift = torch.tensor(
        [math.log(p / (1.0 - p)) for p in (per_task.get(t, 0.5) for t in model.config.tasks)],
        dtype=torch.float32,
    )
    last = model.head[-1]
    assert isinstance(last, nn.Linear) and last.bias is not None
    with torch.no_grad():
        last.bias -= shift
    dummy = torch.rand(1, 3, model.config.side, model.config.side)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


# ------------------------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.detector")
    sub = parser.add_subparsers(dest="command", required=True)
    p_data = sub.add_parser("data", help="generate training canvases with the degradation pipeline")
    p_data.add_argument("--out", type=Path, required=True)
    p_data.add_argument("--samples", type=int, default=6000)
    p_data.add_argument("--seed", type=int, default=0)
    p_data.add_argument("--workers", type=int, default=2)
    p_data.add_argument("--clean-share", type=float, default=CLEAN_SHARE, help="share of clean samples")
    p_data.add_argument("--photos", type=Path, default=DATA / "photos")
    p_data.add_argument("--bsd", type=Path, default=DATA / "bsd432")
    p_train = sub.add_parser("train", help="train the detector on generated canvases")
    p_train.add_argument("--data", type=Path, nargs="+", required=True, help="one or more `data` folders")
    p_train.add_argument("--out", type=Path, required=True)
    p_train.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    p_train.add_argument("--threads", type=int, default=2)
    p_train.add_argument("--stem", choices=("patch4", "conv2"), default=DetectorConfig.stem)
    p_train.add_argument("--widths", default=None, help="e.g. 32,48,64,96 (default: DetectorConfig's)")
    p_train.add_argument("--hidden", type=int, default=DetectorConfig.hidden)
    p_train.add_argument(
        "--pos-weight", choices=("sqrt", "none"), default=TrainSettings.pos_weight, help="weight of positives"
    )
    p_export = sub.add_parser("export", help="export a checkpoint to ONNX")
    p_export.add_argument("--checkpoint", type=Path, required=True)
    p_export.add_argument("--onnx", type=Path, required=True)
    p_export.add_argument("--threshold", type=float, default=0.5, help="probability that becomes 0.5")
    p_export.add_argument(
        "--thresholds",
        default=None,
        help="one per task, e.g. denoise=0.7,deblur=0.6 (others: --threshold), as --calibrate prints them",
    )
    args = parser.parse_args(argv)

    if args.command == "data":
        args.out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        canvases, labels = make_samples(
            args.samples,
            args.seed,
            photos=args.photos,
            bsd=args.bsd,
            workers=args.workers,
            clean_share=args.clean_share,
        )
        np.save(args.out / "canvases.npy", canvases)
        np.save(args.out / "labels.npy", labels)
        print(
            f"{len(canvases)} samples in {time.perf_counter() - started:.0f} s; positives (faint) per task:",
            {
                t: f"{int(np.sum(labels[:, i] == 1))} ({int(np.sum(labels[:, i] == FAINT))})"
                for i, t in enumerate(TASKS)
            },
            f"clean {int(np.sum(np.all(labels == 0, axis=1)))}",
        )
    elif args.command == "train":
        args.out.mkdir(parents=True, exist_ok=True)
        canvases = np.concatenate([np.load(folder / "canvases.npy") for folder in args.data])
        labels = np.concatenate([np.load(folder / "labels.npy") for folder in args.data])
        settings = TrainSettings(epochs=args.epochs, threads=args.threads, pos_weight=args.pos_weight)
        widths = tuple(int(w) for w in args.widths.split(",")) if args.widths else DetectorConfig.widths
        config = DetectorConfig(widths=widths, hidden=args.hidden, stem=args.stem)
        model, log = train(canvases, labels, settings, args.out / "log.jsonl", config=config)
        save_checkpoint(
            model,
            args.out / "detector.pt",
            {"settings": asdict(settings), "log": log, "samples": int(len(canvases))},
        )
        print(f"saved {args.out / 'detector.pt'}")
    else:
        model = load_checkpoint(args.checkpoint)
        threshold: float | dict[str, float] = args.threshold
        if args.thresholds:
            threshold = {task: args.threshold for task in model.config.tasks}
            for item in args.thresholds.split(","):
                task, _, value = item.partition("=")
                threshold[task.strip()] = float(value)
        export_onnx(model, args.onnx, threshold=threshold)
        print(f"wrote {args.onnx} ({args.onnx.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
