"""MindEye-style contrastive decoder: a residual MLP from voxels to a stimulus embedding.

Scotti et al. 2023 ("Reconstructing the mind's eye: fMRI-to-image with contrastive
learning and diffusion priors", NeurIPS; github.com/MedARC-AI/fMRI-reconstruction-NSD)
map flattened voxels with a linear layer into a wide hidden space, refine it with
residual MLP blocks and project to the CLIP space, trained with a contrastive loss
(plus a prior loss).  Ours keeps that shape at small scale:

``x -> Linear(n_voxels, hidden) -> [LayerNorm -> GELU -> Dropout -> Linear] x n_blocks
(residual) -> LayerNorm -> Linear(hidden, dim)``

trained with ``mse_weight * MSE(pred, target) + InfoNCE(pred, target)``, the symmetric
InfoNCE of CLIP (Radford et al. 2021) with a learnable temperature (log-parametrised,
clamped at 100 like CLIP's ``logit_scale``).  MSE keeps predictions in the target space
(so they can be compared with ridge's); InfoNCE makes them discriminative among the
batch — what retrieval measures.

CPU by default; ``device="auto"`` uses a GPU when torch sees one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from neurodata.log import logger

from .retrieval import check_embeddings

__all__ = ["ContrastiveMLPDecoder", "resolve_device"]


def resolve_device(device: str) -> str:
    """``"auto"`` → ``"cuda"`` when available, else ``"cpu"``; other values unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _build_head(in_dim: int, hidden: int, out_dim: int, n_blocks: int, dropout: float):
    from .networks import ResidualMLP

    return ResidualMLP(in_dim, hidden, out_dim, n_blocks, dropout)


def contrastive_loss(pred, target, logit_scale, mse_weight: float):
    """``mse_weight * MSE + symmetric InfoNCE`` with temperature ``exp(logit_scale)``."""
    import torch
    import torch.nn.functional as F

    p = F.normalize(pred, dim=1)
    t = F.normalize(target, dim=1)
    scale = logit_scale.clamp(max=math.log(100.0)).exp()
    logits = scale * p @ t.T
    labels = torch.arange(p.shape[0], device=p.device)
    nce = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    return mse_weight * F.mse_loss(pred, target) * target.shape[1] + nce


def train_torch(params, forward, X, Y, *, epochs: int, batch_size: int, lr: float,
                weight_decay: float, mse_weight: float, logit_scale, seed: int,
                device: str) -> list[float]:
    """Minimise the contrastive loss of ``forward(X[b])`` vs ``Y[b]`` with AdamW.

    Cosine learning-rate decay (MindEye's OneCycle, simplified).  Returns the mean
    training loss of every epoch.
    """
    import torch

    xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    yt = torch.as_tensor(Y, dtype=torch.float32, device=device)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    n = xt.shape[0]
    steps = max(1, epochs * math.ceil(n / batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).to(device)
        total = 0.0
        for i in range(0, n, batch_size):
            b = order[i:i + batch_size]
            if len(b) < 2:  # InfoNCE needs a negative
                continue
            opt.zero_grad()
            loss = contrastive_loss(forward(xt[b]), yt[b], logit_scale, mse_weight)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        history.append(total / n)
    return history


class ContrastiveMLPDecoder(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Residual MLP from brain features to an embedding, trained with InfoNCE + MSE.

    Parameters
    ----------
    hidden : int, default=512
        Width of the residual blocks.
    n_blocks : int, default=2
    dropout : float, default=0.3
    epochs : int, default=60
    batch_size : int, default=64
        Also the number of negatives of the InfoNCE term.
    lr : float, default=1e-3
    weight_decay : float, default=1e-2
        AdamW decoupled weight decay.
    mse_weight : float, default=1.0
        Weight of the (per-dimension-summed) MSE term beside InfoNCE.
    device : str, default="cpu"
        ``"auto"`` picks a GPU when available.
    random_state : int, RandomState or None

    Attributes
    ----------
    module_ : torch.nn.Module
    mean_, scale_ : ndarray of shape (n_features,)
        Feature standardisation learned on the training set.
    history_ : list of float
        Training loss per epoch.
    temperature_ : float
        Learned InfoNCE temperature ``1 / exp(logit_scale)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.standard_normal((64, 8)); X = Y @ rng.standard_normal((8, 30))
    >>> dec = ContrastiveMLPDecoder(hidden=32, epochs=5, random_state=0).fit(X, Y)
    >>> dec.predict(X).shape
    (64, 8)
    """

    def __init__(self, hidden: int = 512, *, n_blocks: int = 2, dropout: float = 0.3,
                 epochs: int = 60, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-2, mse_weight: float = 1.0, device: str = "cpu",
                 random_state: Any = None):
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.mse_weight = mse_weight
        self.device = device
        self.random_state = random_state

    def fit(self, X, y):
        """Train on features ``X`` (n_samples, n_features) and embeddings ``y``."""
        import torch

        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64], multi_output=True,
                             y_numeric=True, ensure_min_samples=2)
        Y = np.asarray(y, dtype=np.float32)
        self._one_d = Y.ndim == 1
        if self._one_d:
            Y = Y[:, None]
        check_embeddings(Y, "target embeddings")
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"epochs must be >= 1 and batch_size >= 2; got {self.epochs}, "
                             f"{self.batch_size}")
        X = np.asarray(X, dtype=np.float32)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-6
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        dev = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _build_head(X.shape[1], self.hidden, Y.shape[1], self.n_blocks,
                              self.dropout).to(dev)
            net.train()
            self.history_ = train_torch(
                list(net.parameters()), net, (X - self.mean_) / self.scale_, Y,
                epochs=self.epochs, batch_size=min(self.batch_size, X.shape[0]), lr=self.lr,
                weight_decay=self.weight_decay, mse_weight=self.mse_weight,
                logit_scale=net.logit_scale, seed=seed, device=dev)
        net.eval()
        self.module_ = net
        scale = min(float(net.logit_scale.detach()), math.log(100.0))
        self.temperature_ = float(1.0 / np.exp(scale))
        logger.debug("ContrastiveMLPDecoder: final loss %.4f, temperature %.4f",
                     self.history_[-1] if self.history_ else float("nan"), self.temperature_)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted embeddings, shape (n_samples, dim)."""
        import torch

        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        Xs = ((np.asarray(X, np.float32) - self.mean_) / self.scale_).astype(np.float32)
        dev = next(self.module_.parameters()).device
        with torch.no_grad():
            out = self.module_(torch.from_numpy(Xs).to(dev)).cpu().numpy()
        return out[:, 0] if self._one_d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags
