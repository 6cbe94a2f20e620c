"""ShallowConvNet (Schirrmeister et al., 2017): a learned filter-bank-CSP analogue.

Schirrmeister, R. T., Springenberg, J. T., Fiederer, L. D. J., Glasstetter, M.,
Eggensperger, K., Tangermann, M., Hutter, F., Burgard, W. & Ball, T. (2017). Deep learning
with convolutional neural networks for EEG decoding and visualization. *Human Brain
Mapping*, 38(11), 5391-5420. https://doi.org/10.1002/hbm.23730

Our own implementation: temporal convolution, spatial convolution across all channels,
batch norm, squaring, mean pooling, log, dropout and a dense classifier — the log-variance
of spatially and spectrally filtered signals that FBCSP computes, learned end to end.  The
paper's kernel sizes (25 samples conv, 75 pool with stride 15, at 250 Hz) are given in
seconds so they scale with the sampling rate.
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import ConfigMixin

__all__ = ["ShallowConvNet"]


class ShallowConvNet(ConfigMixin, nn.Module):
    """ShallowConvNet (Schirrmeister et al., 2017).

    Parameters
    ----------
    n_chans, n_outputs, n_times : int
        Input channels, classes, samples per window.
    sfreq : float
        Sampling rate in Hz.
    n_filters : int, default=40
        Temporal and spatial filters.
    kernel_s : float, default=0.1
        Temporal kernel, seconds (25 samples at 250 Hz).
    pool_s, stride_s : float, default=0.3, 0.06
        Mean-pooling window and stride, seconds (75 and 15 samples at 250 Hz).
    dropout : float, default=0.5

    Examples
    --------
    >>> net = ShallowConvNet(n_chans=4, n_outputs=3, n_times=160, sfreq=160.0)
    >>> net(torch.zeros(2, 4, 160)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_chans: int, n_outputs: int, n_times: int, sfreq: float, *,
                 n_filters: int = 40, kernel_s: float = 0.1, pool_s: float = 0.3,
                 stride_s: float = 0.06, dropout: float = 0.5):
        super().__init__()
        self.n_chans, self.n_outputs, self.n_times, self.sfreq = n_chans, n_outputs, n_times, sfreq
        self.n_filters, self.kernel_s, self.pool_s = n_filters, kernel_s, pool_s
        self.stride_s, self.dropout = stride_s, dropout
        k = max(2, int(round(kernel_s * sfreq)))
        pool = max(2, int(round(pool_s * sfreq)))
        stride = max(1, int(round(stride_s * sfreq)))
        n_conv = n_times - k + 1
        if n_conv < pool:
            raise ValueError(f"ShallowConvNet needs n_times >= {k + pool - 1} samples at "
                             f"{sfreq:g} Hz; got n_times={n_times}")
        self.temporal = nn.Conv2d(1, n_filters, (1, k))
        self.spatial = nn.Conv2d(n_filters, n_filters, (n_chans, 1), bias=False)
        self.bn = nn.BatchNorm2d(n_filters)
        self.pool = nn.AvgPool2d((1, pool), stride=(1, stride))
        self.drop = nn.Dropout(dropout)
        n_out_t = (n_conv - pool) // stride + 1
        self.classifier = nn.Linear(n_filters * n_out_t, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_outputs) for ``x`` of shape (batch, n_chans, n_times)."""
        x = self.bn(self.spatial(self.temporal(x.unsqueeze(1))))
        x = self.pool(x * x)
        x = torch.log(torch.clamp(x, min=1e-6))  # clamp: log of a zero power is -inf
        return self.classifier(self.drop(x).flatten(1))
