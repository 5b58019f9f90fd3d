"""Super-resolution network ("make it bigger"): one body at the small photo's resolution, a ×2 and a ×4 tail.

    python -m training.enlarger train --out runs/enlarger --minutes 100
    python -m training.enlarger export --checkpoint runs/enlarger/last.pt --out resources/models

The body runs at the input's resolution (so its cost is per small pixel) and a pixel-shuffle tail adds the
detail on top of a bicubic enlargement (the network learns only what bicubic misses). Training pairs are
real photos cut down the way small photos arise: bicubic or area resampling, and in half the pairs a camera
before it (slight optical blur) and after it (grain, then JPEG), so a real small photo is enlarged without
sharpening its noise or its blocks. The target is always the clean photo.

Held out: BSD432's every 36th photo (the 12 that bench.enlarge reports on), McMaster and Set14 — none is
read here. No checkpoint is picked on a validation score: the shipped model is the last one of a cosine
schedule over the time budget, and the log's validation rows (on two held-out BSD crops) are only a
progress trace.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from training.data import load_images
from training.refiner import DATA, _bsd_paths, _read_rgb

SCALES = (2, 4)
LOW_CROP = 48  # side of a small training crop; the target is LOW_CROP * scale


@dataclass
class EnlargerConfig:
    width: int = 64
    blocks: int = 6
    tail_width: int = 32


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.1))


def _tail(width: int, tail_width: int, scale: int) -> nn.Sequential:
    """×2 per pixel-shuffle stage: width -> 4·tail_width -> shuffle; the next stage at the larger size."""
    layers: list[nn.Module] = []
    channels = width
    for _ in range(int(math.log2(scale))):
        layers += [nn.Conv2d(channels, 4 * tail_width, 3, padding=1), nn.PixelShuffle(2), nn.LeakyReLU(0.1)]
        channels = tail_width
    last = nn.Conv2d(channels, 3, 3, padding=1)
    nn.init.zeros_(last.weight)  # the untrained network is bicubic enlargement exactly
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class Enlarger(nn.Module):
    """image (N,3,h,w) in [0,1] -> (N,3,h·s,w·s): bicubic enlargement + the learned detail."""

    def __init__(self, config: EnlargerConfig | None = None) -> None:
        super().__init__()
        self.config = config or EnlargerConfig()
        c = self.config
        self.head = nn.Conv2d(3, c.width, 3, padding=1)
        self.body = nn.Sequential(
            *[_ResBlock(c.width) for _ in range(c.blocks)], nn.Conv2d(c.width, c.width, 3, padding=1)
        )
        self.tails = nn.ModuleDict({str(s): _tail(c.width, c.tail_width, s) for s in SCALES})

    def forward(self, image: torch.Tensor, scale: int) -> torch.Tensor:
        features = self.head(image)
        features = features + self.body(features)
        base = F.interpolate(image, scale_factor=scale, mode="bicubic", align_corners=False)
        return base + self.tails[str(scale)](features)


class OneScale(nn.Module):
    """The graph shipped for one scale: image -> enlarged."""

    def __init__(self, model: Enlarger, scale: int) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image, self.scale)


# --- data -------------------------------------------------------------------------------------------


def shrink(big: np.ndarray, scale: int, method: str) -> np.ndarray:
    """uint8 RGB made `scale` times smaller: "bicubic" is Pillow's antialiased bicubic (as MATLAB's imresize,
    the field's usual degradation), "area" averages each scale×scale block (as a camera's binning)."""
    h, w = big.shape[0] // scale, big.shape[1] // scale
    if method == "area":
        return cv2.resize(big[: h * scale, : w * scale], (w, h), interpolation=cv2.INTER_AREA)
    return np.asarray(Image.fromarray(big[: h * scale, : w * scale]).resize((w, h), Image.Resampling.BICUBIC))


def camera_small(big: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """A small photo as a camera or a phone makes one: maybe a little optical blur, resampling, maybe grain
    (luma-heavy, like a sensor's after demosaicing), maybe saved as a JPEG."""
    if rng.random() < 0.3:
        big = cv2.GaussianBlur(big, (0, 0), rng.uniform(0.3, 1.0))
    small = shrink(big, scale, "area" if rng.random() < 0.5 else "bicubic").astype(np.float32)
    if rng.random() < 0.6:
        sigma = rng.uniform(1.0, 10.0)
        luma = rng.normal(0.0, sigma, small.shape[:2] + (1,))
        chroma = rng.normal(0.0, sigma * rng.uniform(0.2, 0.6), small.shape)
        small = small + luma + chroma
    small = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, data = cv2.imencode(
            ".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 96))]
        )
        small = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
    return np.ascontiguousarray(small)


class Pairs:
    """Random (small, big) crops from BSD432's training photos and the 39 photos (at 1/2 and 1/4 size, so the
    target has no sensor grain or JPEG blocks of its own)."""

    def __init__(self, photos: Path, bsd: Path) -> None:
        self.bsd = [_read_rgb(p) for p in _bsd_paths(bsd, held_out=False)]
        full = load_images(photos)
        self.photos = [
            cv2.resize(im, (im.shape[1] // f, im.shape[0] // f), interpolation=cv2.INTER_AREA)
            for im in full
            for f in (2, 4)
        ]

    def crop(self, rng: np.random.Generator, side: int) -> np.ndarray:
        group = self.bsd if rng.random() < 0.5 else self.photos
        image = group[int(rng.integers(len(group)))]
        y = int(rng.integers(image.shape[0] - side + 1))
        x = int(rng.integers(image.shape[1] - side + 1))
        crop = np.rot90(image[y : y + side, x : x + side], int(rng.integers(4)))
        return np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)

    def batch(self, rng: np.random.Generator, size: int, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
        smalls, bigs = [], []
        for _ in range(size):
            big = self.crop(rng, LOW_CROP * scale)
            if rng.random() < 0.5:
                small = shrink(big, scale, "bicubic" if rng.random() < 0.6 else "area")
            else:
                small = camera_small(big, scale, rng)
            smalls.append(small)
            bigs.append(big)
        return _tensor(np.stack(smalls)), _tensor(np.stack(bigs))


def _tensor(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(batch.astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10.0 * torch.log10(1.0 / F.mse_loss(a.clamp(0, 1), b)))


def progress_rows(bsd: Path) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
    """Two 192² held-out BSD crops per scale, cut down by bicubic: a progress trace, never used to pick."""
    rows = []
    for path in _bsd_paths(bsd, held_out=True)[:2]:
        image = _read_rgb(path)
        y, x = (image.shape[0] - 192) // 2, (image.shape[1] - 192) // 2
        big = image[y : y + 192, x : x + 192]
        for scale in SCALES:
            rows.append((scale, _tensor(shrink(big, scale, "bicubic")[None]), _tensor(big[None])))
    return rows


def progress(model: Enlarger, rows: list[tuple[int, torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    scores: dict[str, list[float]] = {}
    model.eval()
    with torch.no_grad():
        for scale, small, big in rows:
            bicubic = F.interpolate(small, scale_factor=scale, mode="bicubic", align_corners=False)
            scores.setdefault(f"x{scale}_bicubic", []).append(_psnr(bicubic, big))
            scores.setdefault(f"x{scale}_net", []).append(_psnr(model(small, scale), big))
    model.train()
    return {key: round(float(np.mean(v)), 3) for key, v in scores.items()}


# --- training ---------------------------------------------------------------------------------------


def train(out: Path, minutes: float, batch: int, lr: float, seed: int, threads: int) -> None:
    """Adam, L1, cosine over the wall-clock budget, ×2 and ×4 steps alternating; out/last.pt every 100 steps
    (a stopped run resumes from it and still ends on time)."""
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    pairs = Pairs(DATA / "photos", DATA / "bsd432")
    rows = progress_rows(DATA / "bsd432")
    model = Enlarger()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    step, spent = 0, 0.0
    last = out / "last.pt"
    if last.exists():
        state = torch.load(last, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, spent = state["step"], state["seconds"]
    rng = np.random.default_rng(seed + step)
    budget = minutes * 60.0
    started = time.perf_counter() - spent
    with (out / "log.jsonl").open("a") as log:
        while (spent := time.perf_counter() - started) < budget:
            for group in optimiser.param_groups:
                group["lr"] = 1e-6 + 0.5 * (lr - 1e-6) * (1.0 + math.cos(math.pi * spent / budget))
            scale = SCALES[step % len(SCALES)]
            small, big = pairs.batch(rng, batch if scale == 2 else max(1, batch // 2), scale)
            loss = F.l1_loss(model(small, scale), big)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            if step % 100 == 0:
                record = {"step": step, "minutes": round(spent / 60, 1), "loss": round(loss.item(), 5)}
                if step % 500 == 0:
                    record |= progress(model, rows)
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(json.dumps(record), flush=True)
                state = {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "config": asdict(model.config),
                    "step": step,
                    "seconds": spent,
                }
                torch.save(state, out / "last.tmp")
                (out / "last.tmp").replace(last)


def load_checkpoint(path: Path) -> Enlarger:
    state = torch.load(path, weights_only=False, map_location="cpu")
    model = Enlarger(EnlargerConfig(**state["config"]))
    model.load_state_dict(state["model"])
    return model.eval()


# --- export -----------------------------------------------------------------------------------------


def export_onnx(model: Enlarger, scale: int, path: Path, fp16_weights: bool = True) -> Path:
    """ONNX of one scale, dynamic height and width; weights stored as fp16 and cast back in the graph."""
    from training.export import export_image_graph

    example = (torch.rand(1, 3, 40, 56),)
    module = OneScale(model.eval(), scale)
    return export_image_graph(module, example, path, ("image",), ("enlarged",), fp16_weights=fp16_weights)


def fp16_rounded(model: Enlarger) -> Enlarger:
    """The model with its weights rounded to fp16, as the shipped ONNX holds them."""
    rounded = Enlarger(model.config).eval()
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return rounded


def parity(
    model: Enlarger, scale: int, onnx_path: Path, sizes: tuple[tuple[int, int], ...] = ((40, 56), (33, 70))
) -> float:
    """Largest |torch - ORT| over random photos at two sizes (torch weights fp16-rounded, as shipped)."""
    import onnxruntime as ort

    rounded = fp16_rounded(model)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for h, w in sizes:
        image = rng.random((1, 3, h, w), dtype=np.float32)
        with torch.no_grad():
            ref = rounded(torch.from_numpy(image), scale).numpy()
        got = session.run(["enlarged"], {"image": image})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("train")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--minutes", type=float, default=100.0)
    run.add_argument("--batch", type=int, default=16)
    run.add_argument("--lr", type=float, default=5e-4)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threads", type=int, default=2)
    export = sub.add_parser("export")
    export.add_argument("--checkpoint", type=Path, required=True)
    export.add_argument(
        "--out", type=Path, required=True, help="folder for enlarge_x2.onnx and enlarge_x4.onnx"
    )
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args.out, args.minutes, args.batch, args.lr, args.seed, args.threads)
        return
    from training.export import sha256_of

    model = load_checkpoint(args.checkpoint)
    for scale in SCALES:
        path = export_onnx(model, scale, args.out / f"enlarge_x{scale}.onnx")
        print(f"{path}  sha256 {sha256_of(path)}  max |torch - ORT| {parity(model, scale, path):.2e}")


if __name__ == "__main__":
    main()
