"""Degradation detector: a tiny CNN + in-graph photo statistics that says which restorations a photo needs.

It sees the canvas built by `engine.pipeline.detect.detector_canvas` (the whole photo shrunk to one
quadrant, three native-resolution windows in the others), so training and the engine share one input
builder. Trained on the same synthetic degradations as the restoration network (training.degradations).

    python -m training.detector data  --out training/cache/detector --samples 6000
    python -m training.detector train --data training/cache/detector --out runs/detector
    python -m training.detector export --checkpoint runs/detector/detector.pt \
        --onnx resources/models/detector.onnx --threshold 0.6
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
from training.data import load_images
from training.degradations.pipeline import TASKS, degrade

__all__ = [
    "DegradationDetector",
    "DetectorConfig",
    "PhotoStatistics",
    "export_onnx",
    "make_samples",
    "sample_task_set",
]

SIDE = 256  # engine.models.registry DETECTOR.minimum_size: the side of the canvas it sees
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class DetectorConfig:
    """Shape of the detector; stored in the checkpoint so it rebuilds its own model."""

    side: int = SIDE
    widths: tuple[int, ...] = (24, 32, 48, 64)
    hidden: int = 128
    dropout: float = 0.2
    tasks: tuple[str, ...] = TASKS


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


def _trunk(widths: tuple[int, ...]) -> nn.Sequential:
    """Patchify stem (4x4, stride 4) then 3x3 convolutions: cheap enough to train on two CPU cores.

    The stem still sees every full-resolution pixel (non-overlapping 4x4 patches), so pixel-scale cues
    (noise, 8x8 block edges, lost fine detail) survive into the features.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(3, widths[0], 4, stride=4, bias=False),
        nn.BatchNorm2d(widths[0]),
        nn.ReLU(),
    ]
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
        self.local_trunk = _trunk(self.config.widths)
        self.global_trunk = _trunk(self.config.widths)
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
PHOTO_SHARE = 0.35  # the rest comes from BSD432
PHOTO_MAX_SIDE = 1600  # photos are resized to a random long side up to this before degrading
PHOTO_MIN_SIDE = 384
CLEAN_SHARE = 0.2
TASK_COUNT_WEIGHTS = (0.5, 0.35, 0.15)  # 1, 2 or 3 degradations when not clean


def sample_task_set(rng: np.random.Generator) -> tuple[str, ...]:
    """Clean 20 %; otherwise 1, 2 or 3 distinct tasks drawn uniformly."""
    if rng.random() < CLEAN_SHARE:
        return ()
    count = int(rng.choice(len(TASK_COUNT_WEIGHTS), p=TASK_COUNT_WEIGHTS)) + 1
    return tuple(str(t) for t in rng.choice(TASKS, size=count, replace=False))


def _init_sources(photos: str, bsd: str) -> None:
    cv2.setNumThreads(1)
    _SOURCES["photos"] = load_images(Path(photos), max_side=PHOTO_MAX_SIDE)
    _SOURCES["bsd"] = load_images(Path(bsd))


def _source_image(rng: np.random.Generator) -> np.ndarray:
    if rng.random() < PHOTO_SHARE:
        img = _SOURCES["photos"][int(rng.integers(len(_SOURCES["photos"])))]
        # A random size stands for photos from different cameras; the clean source gets cleaner when shrunk.
        side = int(rng.integers(PHOTO_MIN_SIDE, PHOTO_MAX_SIDE + 1))
        scale = min(1.0, side / max(img.shape[:2]))
        if scale < 1.0:
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


def _one_sample(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    seed, index = args
    rng = np.random.default_rng([seed, index])
    img = _source_image(rng)
    tasks = sample_task_set(rng)
    degraded = degrade(img, tasks, rng)
    label = np.array([t in degraded.tasks for t in TASKS], np.uint8)
    return canvas_u8(degraded.image), label


def make_samples(
    count: int, seed: int, *, photos: Path, bsd: Path, workers: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """`count` (canvas uint8 (N,256,256,3), labels uint8 (N,6)) pairs; deterministic for a seed."""
    jobs = [(seed, i) for i in range(count)]
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


def _to_tensor(canvases: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(canvases)).permute(0, 3, 1, 2).float().div_(255.0)


def _f1_table(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    pred = probs >= 0.5
    out = {}
    for i, task in enumerate(TASKS):
        tp = float(np.sum(pred[:, i] & (labels[:, i] == 1)))
        fp = float(np.sum(pred[:, i] & (labels[:, i] == 0)))
        fn = float(np.sum(~pred[:, i] & (labels[:, i] == 1)))
        out[task] = 2 * tp / max(1.0, 2 * tp + fp + fn)
    out["exact"] = float(np.mean(np.all(pred == (labels == 1), axis=1)))
    return out


def _predict(model: DegradationDetector, canvases: np.ndarray, batch: int = 64) -> np.ndarray:
    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(canvases), batch):
            outs.append(torch.sigmoid(model(_to_tensor(canvases[start : start + batch]))).numpy())
    return np.concatenate(outs)


def train(
    canvases: np.ndarray, labels: np.ndarray, settings: TrainSettings, log_path: Path | None = None
) -> tuple[DegradationDetector, list[dict]]:
    """Train from scratch on generated samples (AdamW, one-cycle cosine); returns the model and its log."""
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(len(canvases))
    n_hold = int(len(canvases) * settings.holdout)
    hold, fit = order[:n_hold], order[n_hold:]
    model = DegradationDetector()
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(fit) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=settings.lr, total_steps=settings.epochs * steps_per_epoch, pct_start=0.15
    )
    # Positives are rarer than negatives for every task; weighting them evens precision against recall.
    positive_rate = labels[fit].mean(axis=0).clip(0.05, 0.95)
    pos_weight = torch.tensor((1 - positive_rate) / positive_rate, dtype=torch.float32).sqrt()
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
            y = torch.from_numpy(labels[idx]).float()
            logits = model.classify(x, stats[torch.from_numpy(idx)])
            loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
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
            **{(f"f1_{k}" if k != "exact" else "exact"): round(v, 4) for k, v in scores.items()},
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
        )
    )
    model.load_state_dict(blob["state"])
    return model.eval()


def export_onnx(model: DegradationDetector, path: Path, threshold: float = 0.5) -> None:
    """ONNX with input `image` (B,3,256,256) and output `logits` (B,6), as engine.models.registry expects.

    `threshold` is folded into the last bias so that the engine's fixed 0.5 on the sigmoid means
    `threshold` on this model's probabilities (the operating point chosen on the training holdout).
    """
    model = copy.deepcopy(model).eval()
    if threshold != 0.5:
        last = model.head[-1]
        assert isinstance(last, nn.Linear) and last.bias is not None
        with torch.no_grad():
            last.bias -= math.log(threshold / (1.0 - threshold))
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
    p_data.add_argument("--photos", type=Path, default=DATA / "photos")
    p_data.add_argument("--bsd", type=Path, default=DATA / "bsd432")
    p_train = sub.add_parser("train", help="train the detector on generated canvases")
    p_train.add_argument("--data", type=Path, required=True)
    p_train.add_argument("--out", type=Path, required=True)
    p_train.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    p_train.add_argument("--threads", type=int, default=2)
    p_export = sub.add_parser("export", help="export a checkpoint to ONNX")
    p_export.add_argument("--checkpoint", type=Path, required=True)
    p_export.add_argument("--onnx", type=Path, required=True)
    p_export.add_argument("--threshold", type=float, default=0.5, help="probability that becomes 0.5")
    args = parser.parse_args(argv)

    if args.command == "data":
        args.out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        canvases, labels = make_samples(
            args.samples, args.seed, photos=args.photos, bsd=args.bsd, workers=args.workers
        )
        np.save(args.out / "canvases.npy", canvases)
        np.save(args.out / "labels.npy", labels)
        print(
            f"{len(canvases)} samples in {time.perf_counter() - started:.0f} s; positives per task:",
            dict(zip(TASKS, labels.sum(axis=0).tolist(), strict=True)),
        )
    elif args.command == "train":
        args.out.mkdir(parents=True, exist_ok=True)
        canvases = np.load(args.data / "canvases.npy")
        labels = np.load(args.data / "labels.npy")
        settings = TrainSettings(epochs=args.epochs, threads=args.threads)
        model, log = train(canvases, labels, settings, args.out / "log.jsonl")
        save_checkpoint(
            model,
            args.out / "detector.pt",
            {"settings": asdict(settings), "log": log, "samples": int(len(canvases))},
        )
        print(f"saved {args.out / 'detector.pt'}")
    else:
        export_onnx(load_checkpoint(args.checkpoint), args.onnx, threshold=args.threshold)
        print(f"wrote {args.onnx} ({args.onnx.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
