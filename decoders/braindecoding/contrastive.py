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


def _build_head(in_dim: int, hidden: int, out_dim: int, n_blocks: int, dropout: float,
                linear_skip: bool = False):
    from .networks import ResidualMLP

    return ResidualMLP(in_dim, hidden, out_dim, n_blocks, dropout, linear_skip)


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
                device: str, after_epoch=None) -> list[float]:
    """Minimise the contrastive loss of ``forward(X[b])`` vs ``Y[b]`` with AdamW.

    Cosine learning-rate decay (MindEye's OneCycle, simplified).  ``after_epoch(epoch)``
    is called after every epoch (validation, early stopping).  Returns the mean
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
        if after_epoch is not None:
            after_epoch(len(history))
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
    init : {"random", "ridge"}, default="random"
        ``"ridge"``: the network gets a linear skip path initialised from
        :class:`~.ridge.MultiTargetRidgeCV` (leave-one-out alphas) on the training part,
        and the MLP branch's last layer starts at zero — training starts from the ridge
        decoder and learns a nonlinear correction.
    validation_fraction : float, default=0.0
        Share of the trials (the last ones, i.e. the latest runs) held out for early
        stopping: after every epoch (and before the first) the held-out top-1 among the
        distinct held-out stimuli is measured and the best epoch's weights are kept.
    n_ensemble : int, default=1
        Networks trained from different seeds; predictions are averaged.
    device : str, default="cpu"
        ``"auto"`` picks a GPU when available.
    random_state : int, RandomState or None

    Attributes
    ----------
    module_ : torch.nn.Module
        The first network of the ensemble.
    modules_ : list of torch.nn.Module
    best_epoch_ : list of int
        Epoch kept for each network (0 = its initialisation; ``epochs`` without
        validation).
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
                 weight_decay: float = 1e-2, mse_weight: float = 1.0, init: str = "random",
                 validation_fraction: float = 0.0, n_ensemble: int = 1, device: str = "cpu",
                 random_state: Any = None):
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.mse_weight = mse_weight
        self.init = init
        self.validation_fraction = validation_fraction
        self.n_ensemble = n_ensemble
        self.device = device
        self.random_state = random_state

    def fit(self, X, y):
        """Train on features ``X`` (n_samples, n_features) and embeddings ``y``."""
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
        if self.init not in ("random", "ridge"):
            raise ValueError(f"init must be 'random' or 'ridge'; got {self.init!r}")
        if not 0.0 <= self.validation_fraction < 1.0 or int(self.n_ensemble) < 1:
            raise ValueError(f"validation_fraction must be in [0, 1) and n_ensemble >= 1; "
                             f"got {self.validation_fraction}, {self.n_ensemble}")
        X = np.asarray(X, dtype=np.float32)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-6
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)
        n_val = int(round(self.validation_fraction * X.shape[0]))
        if self.validation_fraction > 0 and not 2 <= n_val <= X.shape[0] - 2:
            raise ValueError(f"validation_fraction={self.validation_fraction} of "
                             f"{X.shape[0]} trials leaves {n_val} for validation; need "
                             "at least 2 on each side")
        tr = slice(0, X.shape[0] - n_val)
        val = slice(X.shape[0] - n_val, X.shape[0]) if n_val else None
        rng = check_random_state(self.random_state)
        seeds = [int(rng.randint(0, 2**31 - 1)) for _ in range(int(self.n_ensemble))]
        ridge = None
        if self.init == "ridge":
            from .ridge import MultiTargetRidgeCV

            ridge = MultiTargetRidgeCV().fit(Xs[tr], Y[tr])
        self.modules_, self.best_epoch_, self.history_ = [], [], []
        for seed in seeds:
            net, best, hist = self._fit_one(Xs, Y, tr, val, ridge, seed)
            self.modules_.append(net)
            self.best_epoch_.append(best)
            self.history_ = self.history_ or hist  # the first network's losses
        self.module_ = self.modules_[0]
        scale = min(float(self.module_.logit_scale.detach()), math.log(100.0))
        self.temperature_ = float(1.0 / np.exp(scale))
        logger.debug("ContrastiveMLPDecoder: final loss %.4f, temperature %.4f, best "
                     "epochs %s", self.history_[-1] if self.history_ else float("nan"),
                     self.temperature_, self.best_epoch_)
        return self

    def _fit_one(self, Xs, Y, tr, val, ridge, seed):
        import torch

        dev = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _build_head(Xs.shape[1], self.hidden, Y.shape[1], self.n_blocks,
                              self.dropout, linear_skip=ridge is not None).to(dev)
            if ridge is not None:
                with torch.no_grad():
                    net.skip.weight.copy_(torch.as_tensor(np.asarray(ridge.coef_, np.float32)))
                    net.skip.bias.copy_(torch.as_tensor(np.asarray(ridge.intercept_,
                                                                   np.float32)))
            best = {"score": -np.inf, "epoch": self.epochs, "state": None}
            if val is not None:
                # Candidates: the distinct held-out stimuli (a stimulus is its embedding).
                Yv, inv = np.unique(Y[val], axis=0, return_inverse=True)
                Yv = Yv / np.linalg.norm(Yv, axis=1, keepdims=True).clip(1e-12)
                xv = torch.as_tensor(Xs[val], device=dev)

                def after_epoch(epoch):
                    net.eval()
                    with torch.no_grad():
                        p = net(xv).cpu().numpy()
                    net.train()
                    sim = (p / np.linalg.norm(p, axis=1, keepdims=True).clip(1e-12)) @ Yv.T
                    score = float(np.mean(np.argmax(sim, axis=1) == inv.ravel()))
                    if score > best["score"]:  # ties keep the earlier (simpler) epoch
                        best.update(score=score, epoch=epoch, state={
                            k: v.detach().clone() for k, v in net.state_dict().items()})

                after_epoch(0)
            else:
                after_epoch = None
            net.train()
            hist = train_torch(
                list(net.parameters()), net, Xs[tr], Y[tr], epochs=self.epochs,
                batch_size=min(self.batch_size, Xs[tr].shape[0]), lr=self.lr,
                weight_decay=self.weight_decay, mse_weight=self.mse_weight,
                logit_scale=net.logit_scale, seed=seed, device=dev, after_epoch=after_epoch)
            if best["state"] is not None:
                net.load_state_dict(best["state"])
        net.eval()
        return net, int(best["epoch"]), hist

    def predict(self, X) -> np.ndarray:
        """Predicted embeddings, shape (n_samples, dim)."""
        import torch

        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        Xs = ((np.asarray(X, np.float32) - self.mean_) / self.scale_).astype(np.float32)
        dev = next(self.module_.parameters()).device
        with torch.no_grad():
            xt = torch.from_numpy(Xs).to(dev)
            out = np.mean([net(xt).cpu().numpy() for net in self.modules_], axis=0)
        return out[:, 0] if self._one_d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags
