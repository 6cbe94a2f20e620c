"""Deep4Net, the "deep ConvNet" of Schirrmeister et al. (2017).

Schirrmeister, R. T. et al. (2017). Deep learning with convolutional neural networks for
EEG decoding and visualization. *Human Brain Mapping*, 38(11), 5391-5420.
https://doi.org/10.1002/hbm.23730

Our own implementation: a split temporal/spatial first convolution (25 filters) and four
conv-max-pool blocks (25, 50, 100, 200 filters, kernel 10, pool 3, ELU, batch norm).  The
paper's network was built for 4-s windows at 250 Hz; the convolutions of blocks 2-4 here
pad to keep the length ("same"), so short windows (1 s at 160 Hz) still fit through the
four poolings.
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import ConfigMixin, same_length

__all__ = ["Deep4Net"]


class Deep4Net(ConfigMixin, nn.Module):
    """Deep4Net (Schirrmeister et al., 2017).

    Parameters
    ----------
    n_chans, n_outputs, n_times : int
        Input channels, classes, samples per window (at least 81: four poolings by 3).
    sfreq : float
        Sampling rate in Hz (recorded in the config; kernels are in samples as in the paper).
    n_filters : tuple of int, default=(25, 50, 100, 200)
        Filters of the four blocks.
    kernel : int, default=10
        Temporal kernel length in samples.
    pool : int, default=3
        Max-pool size and stride.
    dropout : float, default=0.5

    Examples
    --------
    >>> net = Deep4Net(n_chans=4, n_outputs=2, n_times=161, sfreq=160.0)
    >>> net(torch.zeros(2, 4, 161)).shape
    torch.Size([2, 2])
    """

    def __init__(self, n_chans: int, n_outputs: int, n_times: int, sfreq: float, *,
                 n_filters: tuple[int, ...] | list[int] = (25, 50, 100, 200), kernel: int = 10,
                 pool: int = 3, dropout: float = 0.5):
        super().__init__()
        self.n_chans, self.n_outputs, self.n_times, self.sfreq = n_chans, n_outputs, n_times, sfreq
        self.n_filters, self.kernel = list(n_filters), kernel
        self.pool, self.dropout = pool, dropout
        f = list(n_filters)
        n_t = n_times
        for _ in range(len(f)):
            n_t //= pool
        if n_t < 1:
            raise ValueError(f"Deep4Net needs n_times >= {pool ** len(f)} samples "
                             f"({len(f)} poolings by {pool}); got n_times={n_times}")
        pad = (*same_length(kernel), 0, 0)
        layers: list[nn.Module] = [
            nn.ZeroPad2d(pad), nn.Conv2d(1, f[0], (1, kernel)),
            nn.Conv2d(f[0], f[0], (n_chans, 1), bias=False),
            nn.BatchNorm2d(f[0]), nn.ELU(), nn.MaxPool2d((1, pool)),
        ]
        for c_in, c_out in zip(f[:-1], f[1:], strict=True):
            layers += [nn.Dropout(dropout), nn.ZeroPad2d(pad),
                       nn.Conv2d(c_in, c_out, (1, kernel), bias=False),
                       nn.BatchNorm2d(c_out), nn.ELU(), nn.MaxPool2d((1, pool))]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(f[-1] * n_t, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_outputs) for ``x`` of shape (batch, n_chans, n_times)."""
        return self.classifier(self.features(x.unsqueeze(1)).flatten(1))
