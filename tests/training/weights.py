"""Random weights for tests of trained-looking networks."""

from __future__ import annotations

import torch
from torch import nn


def perturb(module: nn.Module, scale: float = 0.05) -> nn.Module:
    """Add Gaussian noise (torch's global generator) to every parameter of `module`, in place.

    Fresh networks start with identity blocks or a zero last layer; perturbed, every part of the graph
    reaches the output, so a parity or growth test covers all of it.
    """
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn_like(p))
    return module
