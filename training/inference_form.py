"""RestoreNet rewritten for ONNX Runtime's CPU kernels: the same function, a faster graph (issue 28).

Training keeps NAFNet's textbook form. Exported as is, ONNX Runtime spends more time around the
convolutions than in them: in an ORT profile of a 512² tile, the channel LayerNorm's ReduceMean over axis 1
(a strided reduction) takes a quarter of the run, and SimpleGate's Slice and every op without a blocked-
layout kernel add layout reorders. The inference form computes the same function with

- the channel LayerNorm's mean and variance as 1x1 convolutions with one output channel (centred first,
  then the mean of its squares, so no cancellation), its scale and shift folded into the 1x1
  convolutions that read it;
- SimpleGate's halves as two convolutions each (the 1x1 and the depthwise 3x3 split by output channel):
  no Slice, and the product of two same-shaped tensors;
- the residual scales β and γ folded into the 1x1 convolutions before them;
- the channel attention's spatial mean as GlobalAveragePool;
- each up-sampling 1x1 convolution + PixelShuffle as the ConvTranspose (kernel 2, stride 2) it equals.

Tried and dropped (bench figures in resources/models/restore.md): LayerNormalization over the last axis
between two Transposes is faster on one thread but slower on two (ORT's kernel does not scale on rows of
16 values); E[x²] − E[x]² for the variance is no faster than centring first.

The folded weights are computed once from the trained parameters and stored in fp16 like every other
weight, so they are rounded once more than the textbook graph's: the parity against it is about 1e-4 on
[0, 1] pixels (training/export.py prints it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.model import InstructionConditionBlock, LayerNorm2d, NAFBlock, RestoreNet

__all__ = ["inference_form"]


def _normalised(x: torch.Tensor, channels: int, eps: float) -> torch.Tensor:
    """The per-pixel LayerNorm over the `channels`, without its scale and shift (folded into what reads it).
    (`channels` is a Python int, not x.shape[1], so that the traced graph keeps H and W dynamic.)"""
    averaging = torch.full((1, channels, 1, 1), 1.0 / channels)
    centred = x - F.conv2d(x, averaging)
    return centred / torch.sqrt(F.conv2d(centred * centred, averaging) + eps)


def _part(
    conv: nn.Conv2d,
    rows: slice,
    *,
    norm: LayerNorm2d | None = None,
    scale: torch.Tensor | None = None,
) -> nn.Conv2d:
    """A new convolution computing `conv`'s output channels `rows`: reading `_normalised` features, with
    `norm`'s scale and shift folded in (1x1 only); times a per-channel `scale`, folded in."""
    with torch.no_grad():
        weight, bias = conv.weight[rows].clone(), conv.bias[rows].clone()
        if norm is not None:
            bias += weight[:, :, 0, 0] @ norm.bias.reshape(-1)
            weight *= norm.weight.reshape(1, -1, 1, 1)
        if scale is not None:
            weight *= scale.reshape(-1, 1, 1, 1)
            bias *= scale.reshape(-1)
    depthwise = conv.groups != 1
    part = nn.Conv2d(
        weight.shape[1] * (weight.shape[0] if depthwise else 1),
        weight.shape[0],
        conv.kernel_size,
        conv.stride,
        conv.padding,
        groups=weight.shape[0] if depthwise else 1,
    )
    part.weight.data.copy_(weight)
    part.bias.data.copy_(bias)
    return part


class FastNAFBlock(nn.Module):
    """NAFBlock's function with the inference form's graph (see the module docstring)."""

    def __init__(self, block: NAFBlock) -> None:
        super().__init__()
        half = block.conv1.out_channels // 2
        first, second = slice(0, half), slice(half, 2 * half)
        self.channels = block.conv1.in_channels
        self.eps1, self.eps2 = block.norm1.eps, block.norm2.eps
        self.conv1a = _part(block.conv1, first, norm=block.norm1)
        self.conv1b = _part(block.conv1, second, norm=block.norm1)
        self.conv2a = _part(block.conv2, first)
        self.conv2b = _part(block.conv2, second)
        self.sca = block.sca
        self.conv3 = _part(block.conv3, slice(None), scale=block.beta)
        half = block.conv4.out_channels // 2
        self.conv4a = _part(block.conv4, slice(0, half), norm=block.norm2)
        self.conv4b = _part(block.conv4, slice(half, 2 * half), norm=block.norm2)
        self.conv5 = _part(block.conv5, slice(None), scale=block.gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _normalised(x, self.channels, self.eps1)
        y = self.conv2a(self.conv1a(y)) * self.conv2b(self.conv1b(y))
        y = y * self.sca(F.adaptive_avg_pool2d(y, 1))
        x = x + self.conv3(y)
        y = _normalised(x, self.channels, self.eps2)
        return x + self.conv5(self.conv4a(y) * self.conv4b(y))


class FastConditionBlock(nn.Module):
    """InstructionConditionBlock with its NAFBlock in the inference form."""

    def __init__(self, icb: InstructionConditionBlock) -> None:
        super().__init__()
        self.fc, self.scale, self.shift = icb.fc, icb.scale, icb.shift
        self.block = FastNAFBlock(icb.block)

    def forward(self, x: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
        mask = torch.sigmoid(self.fc(instruction))[:, :, None, None]
        # (x * scale + shift) * mask as one per-channel multiply-add
        return x + self.block(x * (self.scale * mask) + self.shift * mask)


class ShuffleUp(nn.Module):
    """A 1x1 convolution (no bias) then PixelShuffle(2), as the ConvTranspose (kernel 2, stride 2) it is."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.conv.weight[:, :, 0, 0]  # row k * 4 + i * 2 + j becomes out[k, 2y + i, 2x + j]
        kernel = weight.reshape(weight.shape[0] // 4, 2, 2, -1).permute(3, 0, 1, 2)  # (in, out, i, j)
        return F.conv_transpose2d(x, kernel, stride=2)


def _fast_body(body: nn.Module) -> None:
    """A U-Net body's (training.model._build_unet) NAFBlocks and up-samplings in the inference form."""
    for sequence in (*body.encoders, body.middle, *body.decoders):
        for index, block in enumerate(sequence):
            if isinstance(block, NAFBlock):
                sequence[index] = FastNAFBlock(block)
    for index, up in enumerate(body.ups):
        if isinstance(up, nn.Sequential) and isinstance(up[1], nn.PixelShuffle) and up[0].bias is None:
            body.ups[index] = ShuffleUp(up[0])


def inference_form(model: RestoreNet) -> RestoreNet:
    """`model` with its blocks in the inference form, in place; returns it.

    Only for export: the result shares the trained parameters and computes the same function (up to float
    rounding), but its graph is the one ONNX Runtime runs fastest. Do not train or save it.
    """
    model.eval()
    _fast_body(model)
    for blocks in (model.enc_icbs, model.dec_icbs):
        for index, icb in enumerate(blocks):
            if isinstance(icb, InstructionConditionBlock):
                blocks[index] = FastConditionBlock(icb)
    for expert in model.experts.values():
        _fast_body(expert)
    return model
