"""EEGNet: a compact convolutional network for EEG (Lawhern et al., 2018).

Lawhern, V. J., Solon, A. J., Waytowich, N. R., Gordon, S. M., Hung, C. P. & Lance, B. J.
(2018). EEGNet: a compact convolutional neural network for EEG-based brain-computer
interfaces. *Journal of Neural Engineering*, 15(5), 056013.
https://doi.org/10.1088/1741-2552/aace8c

Our own implementation of the EEGNet-F1,D architecture of the paper's Table 2: a temporal
convolution (F1 filters, half a second long), a depthwise spatial convolution (D filters
per temporal filter, max-norm 1), a separable convolution (F2 filters), average pooling by
4 then 8, and a dense classifier (max-norm 0.25).  Kernel lengths are given in seconds so
the network adapts to the sampling rate (the paper's 64 samples at 128 Hz = 0.5 s).
"""

from __future__ import annotations

import torch
from torch import nn

from ._config import ConfigMixin, same_length

__all__ = ["EEGNet"]


class EEGNet(ConfigMixin, nn.Module):
    """EEGNet-F1,D (Lawhern et al., 2018).

    Parameters
    ----------
    n_chans : int
        Input channels.
    n_outputs : int
        Classes (logits out).
    n_times : int
        Samples per input window.
    sfreq : float
        Sampling rate in Hz; sets the kernel lengths.
    f1 : int, default=8
        Temporal filters.
    d : int, default=2
        Spatial filters per temporal filter.
    f2 : int or None, default=None
        Separable-convolution filters; ``None`` means ``f1 * d``.
    kernel_s : float, default=0.5
        Temporal kernel length in seconds.
    separable_s : float, default=0.125
        Separable kernel length in seconds (16 samples at 128 Hz).
    dropout : float, default=0.25
        Dropout rate (the paper uses 0.25 cross-subject, 0.5 within-subject).

    Examples
    --------
    >>> net = EEGNet(n_chans=4, n_outputs=2, n_times=128, sfreq=128.0)
    >>> net(torch.zeros(3, 4, 128)).shape
    torch.Size([3, 2])
    """

    def __init__(self, n_chans: int, n_outputs: int, n_times: int, sfreq: float, *,
                 f1: int = 8, d: int = 2, f2: int | None = None, kernel_s: float = 0.5,
                 separable_s: float = 0.125, dropout: float = 0.25):
        super().__init__()
        self.n_chans, self.n_outputs, self.n_times, self.sfreq = n_chans, n_outputs, n_times, sfreq
        self.f1, self.d, self.f2 = f1, d, f2
        self.kernel_s, self.separable_s, self.dropout = kernel_s, separable_s, dropout
        nf2 = f2 if f2 is not None else f1 * d
        k1 = max(2, int(round(kernel_s * sfreq)))
        k2 = max(2, int(round(separable_s * sfreq)))
        self.temporal = nn.Sequential(
            nn.ZeroPad2d((*same_length(k1), 0, 0)),
            nn.Conv2d(1, f1, (1, k1), bias=False),
            nn.BatchNorm2d(f1),
        )
        self.spatial = nn.Conv2d(f1, f1 * d, (n_chans, 1), groups=f1, bias=False)
        self.block1 = nn.Sequential(nn.BatchNorm2d(f1 * d), nn.ELU(), nn.AvgPool2d((1, 4)),
                                    nn.Dropout(dropout))
        self.block2 = nn.Sequential(
            nn.ZeroPad2d((*same_length(k2), 0, 0)),
            nn.Conv2d(f1 * d, f1 * d, (1, k2), groups=f1 * d, bias=False),
            nn.Conv2d(f1 * d, nf2, 1, bias=False),
            nn.BatchNorm2d(nf2), nn.ELU(), nn.AvgPool2d((1, 8)), nn.Dropout(dropout),
        )
        n_feat = nf2 * ((n_times // 4) // 8)
        if n_feat == 0:
            raise ValueError(f"EEGNet needs n_times >= 32 samples (two poolings by 4 and 8); "
                             f"got n_times={n_times}")
        self.classifier = nn.Linear(n_feat, n_outputs)

    def _max_norm(self) -> None:
        # The paper constrains the spatial and dense weights' norms (1 and 0.25).
        with torch.no_grad():
            for w, limit in ((self.spatial.weight, 1.0), (self.classifier.weight, 0.25)):
                w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=limit))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, n_outputs) for ``x`` of shape (batch, n_chans, n_times)."""
        if self.training:
            self._max_norm()
        x = self.temporal(x.unsqueeze(1))
        x = self.block1(self.spatial(x))
        x = self.block2(x)
        return self.classifier(x.flatten(1))
