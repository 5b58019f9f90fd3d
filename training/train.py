"""Train the restoration network: seeded, logged (JSONL), resumable, CPU or CUDA (bf16 autocast there).

    python -m training.train --run runs/cpu1 --minutes 120            # fresh run, cosine over 120 minutes
    python -m training.train --run runs/cpu1 --minutes 120 --resume   # continue runs/cpu1/full.pt
    python -m training.train --run runs/gpu1 --init training/checkpoints/last_fp16.pt --steps 20000 \
        --batch 32 --crop 192 --data .carry/train_data --val-dir .carry/train_data/val \
        --prompt-cache .carry/train_data/prompt_cache                 # fine-tune on a lent GPU

Every `--save-minutes`: `<run>/full.pt` (model + optimizer + sampler state, git-ignored) and
`training/checkpoints/last_fp16.pt` (fp16 weights + config only: small enough to commit). Every
`--val-minutes`: PSNR per task on fixed validation crops, appended to `<run>/log.jsonl`; the best mean
PSNR gain is kept as `<run>/best_fp16.pt`, the checkpoint export.py ships.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pickle
import random
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from training.conditioning import CACHE_DIR, HELDOUT_CORPUS, load_prompt_bank
from training.data import ImageBank, PairSampler, SamplerConfig, validation_set
from training.degradations.pipeline import TASKS
from training.model import RestoreNet, RestoreNetConfig, count_parameters, grow

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
COMMITTED_CKPT = REPO / "training" / "checkpoints" / "last_fp16.pt"


@dataclass
class TrainArgs:
    run: Path
    steps: int
    minutes: float
    batch: int
    crop: int
    lr: float
    min_lr: float
    weight_decay: float
    warmup: int
    seed: int
    save_minutes: float
    val_minutes: float
    data: Path | None
    val_dir: Path
    committed_ckpt: Path
    prompt_cache: Path
    resume: bool
    init: Path | None
    width: int
    threads: int
    workers: int
    loss: str
    task_weights: str
    intent_weight: float
    subset_fraction: float
    enc_blocks: str
    middle_blocks: int | None
    dec_blocks: str
    task_prior: bool
    experts: str
    freeze_trunk: bool


def parse_args(argv: list[str] | None = None) -> TrainArgs:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="output folder (log.jsonl, checkpoints)")
    p.add_argument(
        "--steps", type=int, default=0, help="step budget of the cosine schedule (0: use --minutes)"
    )
    p.add_argument("--minutes", type=float, default=0.0, help="wall-clock budget of the cosine schedule")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-minutes", type=float, default=5.0)
    p.add_argument("--val-minutes", type=float, default=15.0)
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder with bsd432/ and photos/ (default ../shared/data; .carry/train_data on a GPU box)",
    )
    p.add_argument("--val-dir", type=Path, default=DATA / "val")
    p.add_argument(
        "--committed-ckpt",
        type=Path,
        default=COMMITTED_CKPT,
        help="where the small fp16 checkpoint goes (default: the one committed to git); 'none' to skip",
    )
    p.add_argument("--prompt-cache", type=Path, default=CACHE_DIR, help="folder of the corpus embeddings")
    p.add_argument("--resume", action="store_true", help="continue <run>/full.pt (model, optimizer, sampler)")
    p.add_argument("--init", type=Path, default=None, help="start from these weights (e.g. last_fp16.pt)")
    p.add_argument("--width", type=int, default=RestoreNetConfig.width)
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads; on a shared CPU also export OMP_WAIT_POLICY=PASSIVE (see TRAINING_LOG.md)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes making batches (0: in the training process, exactly resumable; a GPU box: ~15)",
    )
    p.add_argument(
        "--loss",
        choices=("l1", "psnr"),
        default="l1",
        help="l1, or psnr: the mean over the batch of each sample's log MSE, so a 1 dB gain counts the same "
        "on a dark photo (10 dB input) as on a JPEG (25 dB input)",
    )
    p.add_argument(
        "--task-weights",
        default="",
        help="draw weights per task, e.g. 'deblur=2.5,jpeg=2' (others 1): more samples for slow learners; "
        "0 leaves out every task set with that task",
    )
    p.add_argument(
        "--intent-weight",
        type=float,
        default=0.0,
        help="weight of InstructIR's intent loss: a linear head on the projected instruction must name the "
        "prompt's tasks (training only, not exported), so the projection keeps the tasks apart",
    )
    p.add_argument(
        "--subset-fraction",
        type=float,
        default=0.0,
        help="of the pair/triple draws, the share where the photo gets only part of what the prompt names "
        "(target clean): the network learns to apply only what the photo needs",
    )
    p.add_argument(
        "--enc-blocks", default="", help="NAFBlocks per encoder level, e.g. 1,2,2,4 (default: --init's)"
    )
    p.add_argument(
        "--middle-blocks", type=int, default=None, help="NAFBlocks in the middle (default: --init's)"
    )
    p.add_argument(
        "--dec-blocks",
        default="",
        help="NAFBlocks per decoder level, top level first like --enc-blocks; more blocks than --init's "
        "grow its network (the new blocks start as the identity)",
    )
    p.add_argument(
        "--task-prior",
        action="store_true",
        help="also condition on the task head's probabilities (a frozen copy inside the network, added to "
        "--init's at zero), so prompts the sentence encoder embeds alike (sharpen / deblock / denoise) "
        "steer the network apart from the first step",
    )
    p.add_argument(
        "--experts",
        default="",
        help="tasks that get their own refiner (training.model.Expert), e.g. 'deblur'; needs the task prior "
        "(added with it); added to --init's at zero",
    )
    p.add_argument(
        "--freeze-trunk",
        action="store_true",
        help="train only the experts: everything else stays as --init has it. Draw every task (no zero "
        "--task-weights): the gate leaks (deblur 0.14 for 'dark and grainy'), so an expert must also "
        "learn to leave the other tasks alone (session 5: a deblur-only one cost dark + grainy up to 2.4 dB)",
    )
    a = p.parse_args(argv)
    if a.freeze_trunk and not a.experts:
        p.error("--freeze-trunk trains only the experts: name them with --experts")
    if a.freeze_trunk and a.intent_weight > 0:
        p.error("the intent loss trains the instruction path, which --freeze-trunk keeps fixed")
    if not a.steps and not a.minutes:
        p.error("give --steps or --minutes")
    return TrainArgs(**{k.replace("-", "_"): v for k, v in vars(a).items()})


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(F.mse_loss(a.clamp(0, 1), b))
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def lr_at(args: TrainArgs, step: int, elapsed_min: float) -> float:
    """Linear warm-up, then cosine from lr to min_lr over whichever budget (steps, minutes) ends first."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    fractions = []
    if args.steps:
        fractions.append(step / args.steps)
    if args.minutes:
        fractions.append(elapsed_min / args.minutes)
    f = min(1.0, max(fractions))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1.0 + math.cos(math.pi * f))


def fp16_state(model: RestoreNet, step: int, extra: dict) -> dict:
    return {
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().to("cpu", torch.float16) for k, v in model.state_dict().items()},
        "step": step,
        **extra,
    }


def atomic_save(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


class _BatchStream(torch.utils.data.IterableDataset):
    """Endless batches from one PairSampler per worker process, seeded by (seed, first step, worker)."""

    def __init__(self, sampler: PairSampler, batch: int, crop: int, seed: int, first_step: int):
        self.sampler, self.batch, self.crop = sampler, batch, crop
        self.seed, self.first_step = seed, first_step

    def __iter__(self):  # type: ignore[no-untyped-def]
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        cv2.setNumThreads(1)
        self.sampler.rng = np.random.default_rng([self.seed, self.first_step, wid])
        while True:
            yield self.sampler.batch(self.batch, self.crop)


def batches(  # type: ignore[no-untyped-def]
    args: TrainArgs, sampler: PairSampler, first_step: int, start_method: str | None = None
):
    """In-process batches (exactly resumable) or, with --workers, a DataLoader over worker processes.

    With workers, a resumed run re-seeds every worker from the step it resumes at: reproducible per
    (seed, resume points), not bit-identical to an uninterrupted run.
    """
    if args.workers <= 0:
        while True:
            yield sampler.batch(args.batch, args.crop)
    loader = torch.utils.data.DataLoader(
        _BatchStream(sampler, args.batch, args.crop, args.seed, first_step),
        batch_size=None,
        num_workers=args.workers,
        prefetch_factor=4,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=True,
        # Default: fork (workers share the decoded photos). Pass "spawn" from a process that already runs
        # other threads (a test session with ONNX Runtime and Qt loaded), where a fork can deadlock.
        multiprocessing_context=start_method,
    )
    yield from loader


def parse_task_weights(text: str) -> tuple[tuple[str, float], ...]:
    """'deblur=2.5,jpeg=2' -> (('deblur', 2.5), ('jpeg', 2.0)); unknown task names are an error."""
    out = []
    for part in filter(None, (s.strip() for s in text.split(","))):
        name, _, value = part.partition("=")
        weight = float(value) if value else -1.0
        if name not in TASKS or weight < 0:
            raise ValueError(f"bad task weight {part!r}; expected TASK=WEIGHT with TASK in {TASKS}")
        out.append((name, weight))
    return tuple(out)


def psnr_loss(out: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """-PSNR per sample, averaged; MSE floored at 1e-5 (50 dB) so identity samples do not take over."""
    mse = (out - gt).pow(2).mean(dim=(1, 2, 3))
    return (10.0 / math.log(10.0)) * torch.log(mse + 1e-5).mean()


def load_weights(path: Path) -> tuple[RestoreNetConfig, dict]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    state = {k: v.float() for k, v in ckpt["state_dict"].items()}
    return RestoreNetConfig.from_dict(ckpt["config"]), state


@torch.no_grad()
def validate(model: RestoreNet, items: list[dict], device: torch.device) -> dict[str, dict[str, float]]:
    model.eval()
    sums: dict[str, list[float]] = {}
    for it in items:
        lq = torch.from_numpy(it["lq"].transpose(2, 0, 1)[None].copy()).to(device)
        gt = torch.from_numpy(it["gt"].transpose(2, 0, 1)[None].copy()).to(device)
        emb = torch.from_numpy(it["embedding"][None].copy()).to(device)
        out = model(lq, emb).float()
        s = sums.setdefault(it["case"], [0.0, 0.0, 0.0])
        s[0] += psnr(lq, gt)
        s[1] += psnr(out, gt)
        s[2] += 1
    model.train()
    return {k: {"input": v[0] / v[2], "output": v[1] / v[2]} for k, v in sums.items()}


def mean_gain(res: dict[str, dict[str, float]]) -> float:
    """Mean PSNR gain over the validation cases; the clean photo (input = target) is left out."""
    return float(np.mean([v["output"] - v["input"] for k, v in res.items() if k != "clean_mismatch"]))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)  # degradations run between steps; extra OpenCV threads would fight torch's
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_bf16 = device.type == "cuda"
    torch.backends.cudnn.benchmark = use_bf16  # fixed crop size: let cuDNN pick its fastest kernels
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.run.mkdir(parents=True, exist_ok=True)
    log_path = args.run / "log.jsonl"

    def log(entry: dict) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **entry}
        with log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)

    data_root = args.data or DATA
    t0 = time.time()
    images = ImageBank.from_folders(data_root / "bsd432", data_root / "photos")
    prompts = load_prompt_bank(cache_dir=args.prompt_cache)
    heldout = load_prompt_bank(HELDOUT_CORPUS, cache_dir=args.prompt_cache)
    val_items = validation_set(args.val_dir, [heldout, prompts])
    sampler = PairSampler(
        images,
        prompts,
        seed=args.seed,
        config=SamplerConfig(
            task_weights=parse_task_weights(args.task_weights), subset_fraction=args.subset_fraction
        ),
    )

    config = RestoreNetConfig(width=args.width)
    if args.init:
        config, init_state = load_weights(args.init)

    def blocks(text: str, default: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(n) for n in text.split(",")) if text else default

    grown = dataclasses.replace(
        config,
        enc_blocks=blocks(args.enc_blocks, config.enc_blocks),
        middle_blocks=config.middle_blocks if args.middle_blocks is None else args.middle_blocks,
        dec_blocks=blocks(args.dec_blocks, config.dec_blocks),
        task_prior=config.task_prior or args.task_prior or bool(args.experts),
        experts=tuple(dict.fromkeys(config.experts + tuple(filter(None, args.experts.split(","))))),
    )
    model = grow(init_state, config, grown) if args.init else RestoreNet(grown)
    model.to(device)

    def freeze(net: RestoreNet) -> None:
        for name, param in net.named_parameters():
            param.requires_grad_(not args.freeze_trunk or name.startswith("experts."))

    freeze(model)
    # InstructIR's auxiliary intent classifier on the instruction vector; lives beside the model so the
    # exported network and its checkpoints keep their shape.
    intent_head = nn.Linear(model.config.instruction_dim, len(TASKS)).to(device)

    def parameters() -> list[nn.Parameter]:
        trained = [p for p in model.parameters() if p.requires_grad]  # all but a frozen trunk
        return trained + (list(intent_head.parameters()) if args.intent_weight > 0 else [])

    def optimizer() -> torch.optim.AdamW:
        return torch.optim.AdamW(parameters(), lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.9))

    opt = optimizer()
    step, elapsed_before, best = 0, 0.0, -math.inf
    full_path = args.run / "full.pt"
    if args.resume and full_path.exists():
        ckpt = torch.load(full_path, map_location="cpu", weights_only=False)
        model = RestoreNet(RestoreNetConfig.from_dict(ckpt["config"])).to(device)
        model.load_state_dict(ckpt["model"])
        freeze(model)
        if "intent_head" in ckpt:
            intent_head.load_state_dict(ckpt["intent_head"])
        opt = optimizer()
        opt.load_state_dict(ckpt["optimizer"])
        step, elapsed_before, best = ckpt["step"], ckpt["elapsed_min"], ckpt["best"]
        sampler.rng = pickle.loads(ckpt["sampler_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
    log(
        {
            "event": "start",
            "device": str(device),
            "threads": args.threads,
            "params": count_parameters(model),
            "config": model.config.to_dict(),
            "args": {k: str(v) for k, v in vars(args).items()},
            "images_mb": images.nbytes() / 2**20,
            "prompts": len(prompts.texts),
            "val_items": len(val_items),
            "setup_s": round(time.time() - t0, 1),
            "resumed_step": step,
        }
    )

    def save(tag: str) -> None:
        elapsed = elapsed_before + (time.time() - t_start) / 60
        atomic_save(
            {
                "config": model.config.to_dict(),
                "model": model.state_dict(),
                "intent_head": intent_head.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "elapsed_min": elapsed,
                "best": best,
                "sampler_rng": pickle.dumps(sampler.rng),
                "torch_rng": torch.get_rng_state(),
            },
            full_path,
        )
        if str(args.committed_ckpt) != "none":
            atomic_save(
                fp16_state(model, step, {"elapsed_min": elapsed, "run": str(args.run)}), args.committed_ckpt
            )
        log({"event": "save", "tag": tag, "step": step})

    stream = batches(args, sampler, step)
    t_start = last_save = time.time()
    last_val = 0.0  # validate before the first step: the baseline row of the log
    loss_acc, n_acc, t_acc = 0.0, 0, time.time()
    model.train()
    while True:
        elapsed_min = elapsed_before + (time.time() - t_start) / 60
        done = (args.steps and step >= args.steps) or (args.minutes and elapsed_min >= args.minutes)
        now = time.time()
        if done or now - last_val >= args.val_minutes * 60:
            res = validate(model, val_items, device)
            gain = mean_gain(res)
            log(
                {
                    "event": "val",
                    "step": step,
                    "elapsed_min": round(elapsed_min, 2),
                    "mean_gain_db": gain,
                    "psnr": {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in res.items()},
                }
            )
            if gain > best:
                best = gain
                atomic_save(
                    fp16_state(model, step, {"val": res, "mean_gain_db": gain}), args.run / "best_fp16.pt"
                )
            last_val = time.time()
        if done or now - last_save >= args.save_minutes * 60:
            save("final" if done else "periodic")
            last_save = time.time()
        if done:
            break
        lq, gt, emb, intent = (torch.as_tensor(x).to(device, non_blocking=True) for x in next(stream))
        lr = lr_at(args, step, elapsed_min)
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_bf16):
            out = model(lq, emb)
        loss = psnr_loss(out.float(), gt) if args.loss == "psnr" else F.l1_loss(out.float(), gt)
        if args.intent_weight > 0:
            logits = intent_head(model.instruction(emb))
            loss = loss + args.intent_weight * F.binary_cross_entropy_with_logits(logits.float(), intent)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters(), 0.5)
        opt.step()
        step += 1
        loss_acc += loss.detach().item()
        n_acc += 1
        if step % 50 == 0:
            log(
                {
                    "event": "train",
                    "step": step,
                    "loss": loss_acc / n_acc,
                    "lr": lr,
                    "s_per_step": (time.time() - t_acc) / n_acc,
                    "elapsed_min": round(elapsed_min, 2),
                }
            )
            loss_acc, n_acc, t_acc = 0.0, 0, time.time()


if __name__ == "__main__":
    main()
