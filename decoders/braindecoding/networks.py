"""The torch modules of the brain decoders (imported only when a network is built).

Module-level classes so that fitted decoders pickle (scikit-learn's contract).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ResidualMLP", "TemporalConv"]


class ResidualMLP(nn.Module):
    """``Linear -> [LayerNorm, GELU, Dropout, Linear] x n_blocks (residual) -> LayerNorm ->
    Linear``, with a learnable InfoNCE ``logit_scale`` (CLIP's initial 1/0.07).

    With ``linear_skip=True`` the output is ``skip(x) + mlp(x)``: a linear map from the
    input (to be initialised from a ridge solution) plus the MLP, whose last layer
    starts at zero so that training starts from the linear decoder.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, n_blocks: int,
                 dropout: float, linear_skip: bool = False):
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout),
                          nn.Linear(hidden, hidden)) for _ in range(n_blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, out_dim))
        self.skip = nn.Linear(in_dim, out_dim) if linear_skip else None
        if linear_skip:
            nn.init.zeros_(self.out[1].weight)
            nn.init.zeros_(self.out[1].bias)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, x):
        h = self.inp(x)
        for blk in self.blocks:
            h = h + blk(h)
        out = self.out(h)
        return out if self.skip is None else out + self.skip(x)


class TemporalConv(nn.Module):
    """1x1 spatial mixing, residual dilated temporal convolutions, mean over time, linear."""

    def __init__(self, n_chans: int, out_dim: int, hidden: int, n_blocks: int, kernel: int,
                 dropout: float):
        super().__init__()
        self.spatial = nn.Conv1d(n_chans, hidden, 1)
        self.blocks = nn.ModuleList()
        for i in range(n_blocks):
            d = 2 ** i
            self.blocks.append(nn.Sequential(
                nn.Conv1d(hidden, hidden, kernel, padding=d * (kernel - 1) // 2, dilation=d),
                nn.BatchNorm1d(hidden), nn.GELU(), nn.Dropout(dropout)))
        self.proj = nn.Linear(hidden, out_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, x):
        h = self.spatial(x)
        for blk in self.blocks:
            h = h + blk(h)
        return self.proj(h.mean(dim=2))
