"""Time-resolved brain → embedding decoding of MEG/EEG epochs.

Two designs from Benchetrit, Banville & King (2023), "Brain decoding: toward real-time
reconstruction of visual perception" (ICLR 2024; MEG → CLIP/DINOv2 embeddings):

- :func:`sliding_window_retrieval` — one ridge (:class:`~.ridge.MultiTargetRidgeCV`)
  per time window of the epoch, cross-validated by group (run/session), scored by
  retrieval: when does the signal carry the stimulus embedding?
- :class:`TemporalConvDecoder` — one network over the whole epoch: a 1x1 spatial
  mixing convolution, residual dilated temporal convolutions (GELU, batch norm), mean
  pooling over time and a linear projection to the embedding, trained with the
  contrastive loss of :mod:`.contrastive` (InfoNCE with a learnable temperature + MSE),
  as the paper's "brain module" is (its subject layer and spatial attention over sensor
  positions are left out: one subject, a fixed montage).

Input is ``(n_epochs, n_channels, n_times)``, e.g. ``decoders.epochs.Epochs.X``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, check_random_state

from .contrastive import resolve_device, train_torch
from .errors import BrainDecodingError
from .retrieval import check_embeddings

__all__ = ["sliding_window_retrieval", "TemporalConvDecoder"]


def _check_epochs(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(getattr(X, "X", X), dtype=np.float32)
    if X.ndim != 3:
        raise BrainDecodingError(f"epochs must be (n_epochs, n_channels, n_times); got "
                                 f"{X.shape}")
    Y = check_embeddings(Y, "epoch embeddings", n_rows=X.shape[0]).astype(np.float32)
    return X, Y


def sliding_window_retrieval(X: Any, Y: Any, *, groups: Any, sfreq: float,
                             tmin: float = 0.0, window_s: float = 0.1,
                             step_s: float = 0.05, alphas=(1.0, 10.0, 100.0, 1e3, 1e4),
                             n_candidates: int | None = None) -> pd.DataFrame:
    """Leave-one-group-out ridge decoding and retrieval in each time window.

    Parameters
    ----------
    X : array (n_epochs, n_channels, n_times) or Epochs
    Y : array (n_epochs, dim)
        Embedding of each epoch's stimulus.
    groups : array (n_epochs,)
        Run / session of each epoch (the folds).
    sfreq, tmin : float
        Sampling rate (Hz) and time of the first sample (s).
    window_s, step_s : float
        Window length and step, seconds.  Features are the channel means in the window.
    alphas : sequence of float
    n_candidates : int or None
        Retrieval candidates (default: all epochs).

    Returns
    -------
    DataFrame
        One row per window: ``t_start``, ``t_center``, ``top1``, ``two_way``.
    """
    from sklearn.model_selection import LeaveOneGroupOut

    from .retrieval import subset_topk, two_way_identification
    from .ridge import MultiTargetRidgeCV

    X, Y = _check_epochs(X, Y)
    groups = np.asarray(groups)
    if groups.shape[0] != X.shape[0]:
        raise BrainDecodingError(f"{groups.shape[0]} group labels for {X.shape[0]} epochs")
    w = max(1, int(round(window_s * sfreq)))
    step = max(1, int(round(step_s * sfreq)))
    rows = []
    for start in range(0, X.shape[2] - w + 1, step):
        F = X[:, :, start:start + w].mean(axis=2)
        P = np.zeros_like(Y)
        for train, test in LeaveOneGroupOut().split(F, groups=groups):
            P[test] = MultiTargetRidgeCV(alphas).fit(F[train], Y[train]).predict(F[test])
        rows.append({"t_start": tmin + start / sfreq,
                     "t_center": tmin + (start + w / 2) / sfreq,
                     "top1": subset_topk(P, Y, k=1, n_candidates=n_candidates)[1],
                     "two_way": two_way_identification(P, Y)})
    return pd.DataFrame(rows)


def _build_tconv(n_chans: int, out_dim: int, hidden: int, n_blocks: int, kernel: int,
                 dropout: float):
    from .networks import TemporalConv

    return TemporalConv(n_chans, out_dim, hidden, n_blocks, kernel, dropout)


class TemporalConvDecoder(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Temporal-convolution encoder over a whole epoch → stimulus embedding.

    Parameters
    ----------
    hidden : int, default=64
        Channels after the spatial mixing layer.
    n_blocks : int, default=3
        Residual dilated convolution blocks (dilations 1, 2, 4, ...).
    kernel : int, default=5
        Temporal kernel size (odd).
    dropout : float, default=0.2
    epochs : int, default=60
    batch_size : int, default=32
    lr : float, default=1e-3
    weight_decay : float, default=1e-2
    mse_weight : float, default=1.0
    device : str, default="cpu"
    random_state : int, RandomState or None

    Attributes
    ----------
    module_, mean_, scale_, history_

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((32, 4, 50)); Y = rng.standard_normal((32, 6))
    >>> TemporalConvDecoder(hidden=8, epochs=2, random_state=0).fit(X, Y).predict(X).shape
    (32, 6)
    """

    def __init__(self, hidden: int = 64, *, n_blocks: int = 3, kernel: int = 5,
                 dropout: float = 0.2, epochs: int = 60, batch_size: int = 32,
                 lr: float = 1e-3, weight_decay: float = 1e-2, mse_weight: float = 1.0,
                 device: str = "cpu", random_state: Any = None):
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.kernel = kernel
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.mse_weight = mse_weight
        self.device = device
        self.random_state = random_state

    def fit(self, X, y):
        """Train on epochs ``X`` (n_epochs, n_channels, n_times) and embeddings ``y``."""
        import torch

        X, Y = _check_epochs(X, y)
        if self.kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (same-length convolutions); got {self.kernel}")
        self.mean_ = X.mean(axis=(0, 2))[:, None]
        self.scale_ = X.std(axis=(0, 2))[:, None] + 1e-12 * (X.std() + 1e-30)
        self.n_features_in_ = X.shape[1]
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        dev = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _build_tconv(X.shape[1], Y.shape[1], self.hidden, self.n_blocks,
                               self.kernel, self.dropout).to(dev)
            net.train()
            self.history_ = train_torch(
                list(net.parameters()), net, (X - self.mean_) / self.scale_, Y,
                epochs=self.epochs, batch_size=min(self.batch_size, X.shape[0]), lr=self.lr,
                weight_decay=self.weight_decay, mse_weight=self.mse_weight,
                logit_scale=net.logit_scale, seed=seed, device=dev)
        net.eval()
        self.module_ = net
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted embeddings, shape (n_epochs, dim)."""
        import torch

        check_is_fitted(self, "module_")
        X = np.asarray(getattr(X, "X", X), dtype=np.float32)
        if X.ndim != 3 or X.shape[1] != self.n_features_in_:
            raise BrainDecodingError(f"epochs must be (n, {self.n_features_in_}, n_times); "
                                     f"got {X.shape}")
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)
        dev = next(self.module_.parameters()).device
        with torch.no_grad():
            return self.module_(torch.from_numpy(Xs).to(dev)).cpu().numpy()
