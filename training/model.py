"""InstructIR-style restoration network: a NAFNet U-Net steered by a sentence embedding (training only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from engine.instructions.head import get_task_head

__all__ = [
    "InstructionConditionBlock",
    "LayerNorm2d",
    "NAFBlock",
    "RestoreNet",
    "RestoreNetConfig",
    "Expert",
    "SimpleGate",
    "TaskPrior",
    "grow",
]


@dataclass(frozen=True)
class RestoreNetConfig:
    """Shape of the network; stored in every checkpoint so a checkpoint rebuilds its own model."""

    width: int = 16
    enc_blocks: tuple[int, ...] = (1, 1, 2, 2)
    middle_blocks: int = 2
    dec_blocks: tuple[int, ...] = (1, 1, 1, 1)
    embed_dim: int = 384  # all-MiniLM-L6-v2 sentence embedding
    instruction_dim: int = 128  # width of the learned projection shared by all condition blocks
    ffn_expand: int = 2
    dw_expand: int = 2
    # Also condition on the task head's task probabilities (a frozen copy inside the network); see TaskPrior.
    task_prior: bool = False
    # Tasks with their own refiner (see Expert), gated by the task prior's probability of that task.
    experts: tuple[str, ...] = ()
    expert_width: int = 32
    extra: dict[str, str] = field(default_factory=dict)  # free-form notes carried into the checkpoint

    @property
    def levels(self) -> int:
        return len(self.enc_blocks)

    @property
    def multiple_of(self) -> int:
        """Height and width must be multiples of this (the engine pads to it)."""
        return max(2**self.levels, Expert.MULTIPLE_OF if self.experts else 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["enc_blocks"] = list(self.enc_blocks)
        d["dec_blocks"] = list(self.dec_blocks)
        d["experts"] = list(self.experts)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RestoreNetConfig:
        d = dict(d)
        d["enc_blocks"] = tuple(d["enc_blocks"])
        d["dec_blocks"] = tuple(d["dec_blocks"])
        d["experts"] = tuple(d.get("experts", ()))
        return cls(**d)


class LayerNorm2d(nn.Module):
    """Per-pixel LayerNorm over channels, written with plain reductions so it exports to any opset."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(dim=1, keepdim=True)
        centred = x - mu
        var = (centred * centred).mean(dim=1, keepdim=True)
        return centred * torch.rsqrt(var + self.eps) * self.weight + self.bias


class SimpleGate(nn.Module):
    """NAFNet's activation: split channels in half and multiply the halves."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    """NAFNet block: LN, 1x1, depthwise 3x3, SimpleGate, channel attention, 1x1; then a gated FFN."""

    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = c * dw_expand
        self.norm1 = LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.gate = SimpleGate()
        # Simplified channel attention: global average pool + 1x1 (a per-image, per-channel scale).
        self.sca = nn.Conv2d(dw // 2, dw // 2, 1)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.norm2 = LayerNorm2d(c)
        ffn = c * ffn_expand
        self.conv4 = nn.Conv2d(c, ffn, 1)
        self.conv5 = nn.Conv2d(ffn // 2, c, 1)
        # Zero-initialised residual scales: every block starts as the identity, which keeps a deep
        # network trainable from scratch and makes "return the input" the starting point.
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gate(self.conv2(self.conv1(self.norm1(x))))
        y = y * self.sca(y.mean(dim=(2, 3), keepdim=True))
        x = x + self.conv3(y) * self.beta
        y = self.conv5(self.gate(self.conv4(self.norm2(x))))
        return x + y * self.gamma


class InstructionConditionBlock(nn.Module):
    """InstructIR's ICB: modulate features, gate channels by a sigmoid mask from the instruction, refine."""

    def __init__(self, c: int, instruction_dim: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        self.fc = nn.Linear(instruction_dim, c)
        self.scale = nn.Parameter(torch.ones(1, c, 1, 1))
        self.shift = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.block = NAFBlock(c, dw_expand, ffn_expand)

    def forward(self, x: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
        mask = torch.sigmoid(self.fc(instruction))[:, :, None, None]
        return x + self.block((x * self.scale + self.shift) * mask)


class TaskPrior(nn.Module):
    """The task head of issue "instructions", frozen inside the network, feeding the condition blocks.

    MiniLM embeds "sharpen it", "remove the blocks" and "denoise" close together, and a learned projection
    pulls them apart only slowly. The task head was trained to tell them apart, so its task probabilities
    (6 sigmoids, ensemble-averaged) go through a linear layer and are added to the projected instruction.
    The linear layer starts at zero, so adding the prior to a trained network changes nothing until
    training uses it. The head's weights are buffers, filled from the engine's verified head at
    construction (a checkpoint's own copy replaces them on load): they travel in checkpoints and the ONNX
    file and are never trained.
    """

    def __init__(self, embed_dim: int, instruction_dim: int) -> None:
        super().__init__()
        head = get_task_head()  # the engine's sha256-checked head (numpy only)
        # The restoration tasks only: enlarging (last in the head's list) is not the network's.
        self.tasks: tuple[str, ...] = tuple(t for t in head.tasks if t != "upscale")
        n = len(self.tasks)
        # mean_m(relu(x W1_m + b1_m) W2_m + b2_m)
        #   = relu(x [W1_1..W1_M] + [b1]) [W2_1; ..; W2_M] / M + mean b2:
        # the ensemble of M one-hidden-layer MLPs becomes one wider MLP (task columns only).
        # The network sees the mean embedding only: the head's attention poolings are taken as the mean.
        w1 = head.mean_only_w1()
        members = w1.shape[0]
        if w1.shape[1] != embed_dim:
            raise ValueError(f"the task head reads {w1.shape[1]}-d embeddings, not {embed_dim}")
        self.register_buffer("w1", torch.from_numpy(np.concatenate(list(w1), axis=1)))
        self.register_buffer("b1", torch.from_numpy(head.b1.reshape(-1).copy()))
        self.register_buffer(
            "w2", torch.from_numpy(np.concatenate(list(head.w2[:, :, :n]), axis=0) / members)
        )
        self.register_buffer("b2", torch.from_numpy(head.b2[:, 0, :n].mean(axis=0)))
        self.fc = nn.Linear(n, instruction_dim)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def probabilities(self, embedding: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.relu(embedding @ self.w1 + self.b1) @ self.w2 + self.b2)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.fc(self.probabilities(embedding))


def _build_unet(
    module: nn.Module,
    width: int,
    enc_blocks: tuple[int, ...],
    middle_blocks: int,
    dec_blocks: tuple[int, ...],
    blk: dict[str, int],
) -> list[int]:
    """Give `module` a NAFNet U-Net body (encoders, downs, middle, ups, decoders); returns level widths."""
    module.encoders = nn.ModuleList()
    module.downs = nn.ModuleList()
    widths, c = [], width
    for n in enc_blocks:
        module.encoders.append(nn.Sequential(*[NAFBlock(c, **blk) for _ in range(n)]))
        module.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2))
        widths.append(c)
        c *= 2
    module.middle = nn.Sequential(*[NAFBlock(c, **blk) for _ in range(middle_blocks)])
    module.ups = nn.ModuleList()
    module.decoders = nn.ModuleList()
    for n in reversed(dec_blocks):
        # 1x1 to 2c then pixel shuffle: halves channels, doubles resolution, no checkerboard.
        module.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
        c //= 2
        module.decoders.append(nn.Sequential(*[NAFBlock(c, **blk) for _ in range(n)]))
    return widths


def _run_unet(module: nn.Module, x: torch.Tensor, enc_post: list, dec_post: list) -> torch.Tensor:
    """Forward through a body made by _build_unet; `*_post[i]` maps each level's features (or identity)."""
    skips = []
    for encoder, post, down in zip(module.encoders, enc_post, module.downs, strict=True):
        x = post(encoder(x))
        skips.append(x)
        x = down(x)
    x = module.middle(x)
    for up, decoder, post, skip in zip(module.ups, module.decoders, dec_post, reversed(skips), strict=True):
        x = post(decoder(up(x) + skip))
    return x


class Expert(nn.Module):
    """A task's own small refiner: reads the photo and the network's result, returns a correction.

    For the slow learners (deblur: learned deconvolution). In a shared network, the global corrections'
    large gradients drown theirs (session 4); an expert is trained with the rest of the network frozen
    (nothing else can be forgotten), and RestoreNet scales its output by the task prior's probability of
    its task. That gate is soft (deblur 0.14 for "dark and grainy"), so an expert must be trained on the
    whole task mix, not its task alone, to learn to leave other photos as they are. Works at half
    resolution (pixel unshuffle: 4x the channels, 2x the reach per layer); its last layer starts at zero,
    so adding an expert changes nothing until trained. Not in the released model (TRAINING_LOG session 5).
    """

    ENC_BLOCKS = (1, 1)
    MIDDLE_BLOCKS = 2
    DEC_BLOCKS = (1, 1)
    MULTIPLE_OF = 2 * 2 ** len(ENC_BLOCKS)  # pixel unshuffle, then one halving per level

    def __init__(self, width: int, blk: dict[str, int]) -> None:
        super().__init__()
        self.intro = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(6 * 4, width, 3, padding=1))
        widths = _build_unet(self, width, self.ENC_BLOCKS, self.MIDDLE_BLOCKS, self.DEC_BLOCKS, blk)
        self.levels = len(widths)
        self.ending = nn.Sequential(nn.Conv2d(width, 3 * 4, 3, padding=1), nn.PixelShuffle(2))
        nn.init.zeros_(self.ending[0].weight)
        nn.init.zeros_(self.ending[0].bias)

    def forward(self, image_and_result: torch.Tensor) -> torch.Tensor:
        same = [nn.Identity()] * self.levels
        return self.ending(_run_unet(self, self.intro(image_and_result), same, same))


class RestoreNet(nn.Module):
    """NAFNet U-Net with an Instruction Condition Block at every encoder and decoder level.

    forward(image (B,3,H,W) in [0,1], embedding (B,384)) -> image + residual. H and W must be multiples
    of `config.multiple_of`; nothing in forward depends on the input size, so ONNX export keeps H/W dynamic.
    """

    def __init__(self, config: RestoreNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or RestoreNetConfig()
        if len(cfg.dec_blocks) != len(cfg.enc_blocks):
            raise ValueError("enc_blocks and dec_blocks need one entry per level")
        blk = {"dw_expand": cfg.dw_expand, "ffn_expand": cfg.ffn_expand}
        # Frozen sentence encoder outside; this learned projection adapts its embedding to the image task.
        self.project = nn.Sequential(
            nn.Linear(cfg.embed_dim, cfg.instruction_dim * 2),
            nn.GELU(),
            nn.Linear(cfg.instruction_dim * 2, cfg.instruction_dim),
        )
        self.task_prior = TaskPrior(cfg.embed_dim, cfg.instruction_dim) if cfg.task_prior else None
        self.intro = nn.Conv2d(3, cfg.width, 3, padding=1)
        self.ending = nn.Conv2d(cfg.width, 3, 3, padding=1)
        widths = _build_unet(self, cfg.width, cfg.enc_blocks, cfg.middle_blocks, cfg.dec_blocks, blk)
        self.enc_icbs = nn.ModuleList(
            InstructionConditionBlock(c, cfg.instruction_dim, **blk) for c in widths
        )
        self.dec_icbs = nn.ModuleList(
            InstructionConditionBlock(c, cfg.instruction_dim, **blk) for c in reversed(widths)
        )
        # A zero last layer makes the untrained network the identity (out = image): with the few thousand
        # steps CPU training affords, starting from "change nothing" beats starting from random output.
        nn.init.zeros_(self.ending.weight)
        nn.init.zeros_(self.ending.bias)
        if cfg.experts and self.task_prior is None:
            raise ValueError("experts are gated by the task prior: set task_prior too")
        unknown = sorted(set(cfg.experts) - set(self.task_prior.tasks if self.task_prior else ()))
        if unknown:
            raise ValueError(f"no task named {unknown} for an expert")
        self.experts = nn.ModuleDict({t: Expert(cfg.expert_width, blk) for t in cfg.experts})
        # which task probability gates each expert, in self.experts' order
        self.expert_rows = [self.task_prior.tasks.index(t) for t in cfg.experts] if self.task_prior else []

    def instruction(self, embedding: torch.Tensor) -> torch.Tensor:
        """The vector every condition block reads: projected embedding (+ the task prior)."""
        out = self.project(embedding)
        return out if self.task_prior is None else out + self.task_prior(embedding)

    def forward(self, image: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        instruction = self.instruction(embedding)
        x = _run_unet(
            self,
            self.intro(image),
            [lambda f, icb=icb: icb(f, instruction) for icb in self.enc_icbs],
            [lambda f, icb=icb: icb(f, instruction) for icb in self.dec_icbs],
        )
        out = image + self.ending(x)
        if len(self.experts):
            assert self.task_prior is not None
            probs = self.task_prior.probabilities(embedding)
            both = torch.cat([image, out], dim=1)
            for row, expert in zip(self.expert_rows, self.experts.values(), strict=True):
                out = out + probs[:, row, None, None, None] * expert(both)
        return out


def grow(state: dict[str, torch.Tensor], old: RestoreNetConfig, new: RestoreNetConfig) -> RestoreNet:
    """A deeper `new` network that computes exactly what `old` with weights `state` computes.

    Every block `old` has keeps its weights; the extra NAFBlocks start with zero residual scales, i.e. as
    the identity, so training a bigger model starts from the trained smaller one instead of from scratch.
    Width, levels and the instruction path must match; only block counts may grow. A task prior may be
    added (`new.task_prior` without `old.task_prior`): it gets the engine's task head and starts at zero;
    so may experts (they start at zero too).
    """
    same = ("width", "embed_dim", "instruction_dim", "ffn_expand", "dw_expand", "levels")
    if any(getattr(old, k) != getattr(new, k) for k in same):
        raise ValueError(f"can only add blocks: {', '.join(same)} must match")
    before = {f"encoders.{i}": n for i, n in enumerate(old.enc_blocks)}
    before |= {f"decoders.{i}": n for i, n in enumerate(reversed(old.dec_blocks))}
    after = {f"encoders.{i}": n for i, n in enumerate(new.enc_blocks)}
    after |= {f"decoders.{i}": n for i, n in enumerate(reversed(new.dec_blocks))}
    before["middle"], after["middle"] = old.middle_blocks, new.middle_blocks
    if any(after[k] < n for k, n in before.items()):
        raise ValueError("can only add blocks, not remove them")
    if old.task_prior and not new.task_prior:
        raise ValueError("cannot drop the task prior")
    if set(old.experts) - set(new.experts) or (old.experts and old.expert_width != new.expert_width):
        raise ValueError("can only add experts, at the same width")
    model = RestoreNet(new)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"weights the grown network has no place for: {unexpected[:3]}")
    if model.task_prior is not None and not old.task_prior:  # it came with the engine's head
        missing = [n for n in missing if not n.startswith("task_prior.")]
    added = tuple(f"experts.{t}." for t in new.experts if t not in old.experts)
    missing = [n for n in missing if not n.startswith(added)] if added else missing
    for name in missing:  # only the added blocks may lack weights
        parts = name.split(".")
        module, index = (
            (parts[0], int(parts[1])) if parts[0] == "middle" else (".".join(parts[:2]), int(parts[2]))
        )
        if index < before[module]:
            raise ValueError(f"the old weights lack {name}")
    return model


def pad_to_multiple(image: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad (B,C,H,W) so H and W are multiples of `multiple`; returns the padded image and the pads."""
    h, w = image.shape[-2:]
    ph = (multiple - h % multiple) % multiple
    pw = (multiple - w % multiple) % multiple
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph), mode="reflect")
    return image, ph, pw


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
