"""Cross-subject decoder: per-subject linear adapters into one shared latent, one head.

MindBridge (Wang et al. 2024, "MindBridge: a cross-subject brain decoding framework",
CVPR; github.com/littlepure2333/MindBridge) handles brains of different sizes with a
subject-specific embedder into a shared space, a shared "builder" after it, and adds a
new subject by training its own part with the shared part frozen ("reset-tuning").
Ours is the linear form of that idea:

``x_s (n_voxels_s) -> Linear_s (adapter) -> shared latent (latent_dim) -> shared residual
MLP head -> embedding``

:meth:`CrossSubjectDecoder.fit` trains every adapter and the head jointly (InfoNCE with
a learnable temperature + MSE, :func:`.contrastive.contrastive_loss`), batches mixing
subjects; :meth:`~CrossSubjectDecoder.add_subject` fits only a new subject's adapter on
its (few) trials with the head frozen, in one of two ways:

- ``method="align"`` (default): functional alignment in the shared latent space.  After
  training, the latent code of every training stimulus is averaged over the known
  subjects (a stimulus is identified by its embedding row); the new adapter is the
  ridge regression (:class:`~.ridge.MultiTargetRidgeCV`, per-dimension alpha by
  leave-one-out) from the new subject's voxels to those codes — the shared-response
  idea of hyperalignment (Haxby et al. 2011, Neuron 72:404) with the trained model's
  latent space as the common space.  Trials whose stimulus no known subject saw are
  skipped (at least 3 must match, else the gradient method is used);
- ``method="gradient"``: the adapter is trained through the frozen head with the same
  loss (MindBridge's reset-tuning).

Predicting for a subject that has no adapter raises :class:`BrainDecodingError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, check_random_state

from neurodata.log import logger

from .contrastive import _build_head, resolve_device, train_torch
from .errors import BrainDecodingError
from .retrieval import check_embeddings

__all__ = ["CrossSubjectDecoder"]


def _check_pairs(X: Mapping[str, Any], Y: Mapping[str, Any]) -> dict[str, tuple]:
    if not isinstance(X, Mapping) or not isinstance(Y, Mapping):
        raise BrainDecodingError("X and Y must be mappings {subject: array}")
    if set(X) != set(Y):
        raise BrainDecodingError(f"subjects differ between X {sorted(X)} and Y {sorted(Y)}")
    out = {}
    dims = set()
    for s in X:
        x = np.asarray(X[s], dtype=np.float32)
        if x.ndim != 2:
            raise BrainDecodingError(f"subject {s!r}: X must be (n_trials, n_voxels); got "
                                     f"{x.shape}")
        y = check_embeddings(Y[s], f"subject {s!r} embeddings", n_rows=x.shape[0])
        if not np.isfinite(x).all():
            raise BrainDecodingError(f"subject {s!r}: brain data contain NaN/inf")
        dims.add(y.shape[1])
        out[str(s)] = (x, y.astype(np.float32))
    if len(dims) > 1:
        raise BrainDecodingError(f"embedding sizes differ across subjects: {sorted(dims)}")
    return out


def _keys(Y: np.ndarray) -> list[bytes]:
    """One key per row: the stimulus identity is its embedding."""
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    return [row.tobytes() for row in Y]


class CrossSubjectDecoder(BaseEstimator):
    """Subject adapters into a shared latent space and one shared decoding head.

    Parameters
    ----------
    latent_dim : int, default=256
        Size of the shared space the adapters map into.
    hidden : int, default=512
        Width of the shared residual MLP head.
    n_blocks : int, default=2
    dropout : float, default=0.3
    epochs : int, default=60
        Joint training epochs (one epoch = one pass over every subject's trials).
    adapter_epochs : int, default=200
        Epochs of :meth:`add_subject` (the head frozen).
    batch_size : int, default=64
    lr : float, default=1e-3
    weight_decay : float, default=1e-2
    adapter_weight_decay : float, default=1e-1
        Stronger decay for a new subject's adapter, fitted on few trials.
    mse_weight : float, default=1.0
    device : str, default="cpu"
    random_state : int, RandomState or None

    Attributes
    ----------
    subjects_ : list of str
        Subjects with an adapter.
    adapters_ : dict of str to torch.nn.Linear
    head_ : torch.nn.Module
        Shared head (input ``latent_dim``).
    scalers_ : dict of str to (mean, scale)
        Per-subject feature standardisation.
    prototypes_ : dict of bytes to ndarray
        Mean latent code of each training stimulus (key: its embedding row).

    Examples
    --------
    >>> rng = np.random.default_rng(0); E = rng.standard_normal((40, 8))
    >>> X = {"s1": E @ rng.standard_normal((8, 20)), "s2": E @ rng.standard_normal((8, 30))}
    >>> dec = CrossSubjectDecoder(latent_dim=16, hidden=32, epochs=3, random_state=0)
    >>> dec.fit(X, {"s1": E, "s2": E}).predict(X["s2"], subject="s2").shape
    (40, 8)
    """

    def __init__(self, latent_dim: int = 256, *, hidden: int = 512, n_blocks: int = 2,
                 dropout: float = 0.3, epochs: int = 60, adapter_epochs: int = 200,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-2,
                 adapter_weight_decay: float = 1e-1, mse_weight: float = 1.0,
                 device: str = "cpu", random_state: Any = None):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.epochs = epochs
        self.adapter_epochs = adapter_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.adapter_weight_decay = adapter_weight_decay
        self.mse_weight = mse_weight
        self.device = device
        self.random_state = random_state

    def _scale(self, s: str, x: np.ndarray) -> np.ndarray:
        m, sc = self.scalers_[s]
        return ((x - m) / sc).astype(np.float32)

    def fit(self, X: Mapping[str, Any], Y: Mapping[str, Any]) -> CrossSubjectDecoder:
        """Train all adapters and the shared head jointly.

        Parameters
        ----------
        X : mapping of subject to array (n_trials_s, n_voxels_s)
            Voxel counts may differ between subjects.
        Y : mapping of subject to array (n_trials_s, dim)
            Target embeddings of each subject's trials.
        """
        import torch
        from torch import nn

        data = _check_pairs(X, Y)
        dim = next(iter(data.values()))[1].shape[1]
        self.dim_ = dim
        self.scalers_ = {s: (x.mean(0), x.std(0) + 1e-6) for s, (x, _) in data.items()}
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        dev = resolve_device(self.device)
        subjects = sorted(data)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            head = _build_head(self.latent_dim, self.hidden, dim, self.n_blocks,
                               self.dropout).to(dev)
            adapters = {s: nn.Linear(data[s][0].shape[1], self.latent_dim).to(dev)
                        for s in subjects}
            # One training set of all subjects: a subject code column routes each row to
            # its adapter; a batch is split by subject (features differ in size).
            n_max = max(data[s][0].shape[1] for s in subjects)
            rows, targets, codes = [], [], []
            for i, s in enumerate(subjects):
                x = self._scale(s, data[s][0])
                rows.append(np.pad(x, ((0, 0), (0, n_max - x.shape[1]))))
                targets.append(data[s][1])
                codes.append(np.full(x.shape[0], i))
            Xall = np.concatenate([np.concatenate(rows), np.concatenate(codes)[:, None]], 1)
            widths = [data[s][0].shape[1] for s in subjects]
            ad_list = [adapters[s] for s in subjects]

            def forward(xb):
                code = xb[:, -1].long()
                lat = torch.empty(xb.shape[0], self.latent_dim, device=xb.device)
                for i, ad in enumerate(ad_list):
                    sel = code == i
                    if sel.any():
                        lat[sel] = ad(xb[sel, :widths[i]])
                return head(lat)

            params = list(head.parameters()) + [p for a in ad_list for p in a.parameters()]
            head.train()
            self.history_ = train_torch(
                params, forward, Xall, np.concatenate(targets), epochs=self.epochs,
                batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                mse_weight=self.mse_weight, logit_scale=head.logit_scale, seed=seed,
                device=dev)
        head.eval()
        self.head_ = head
        self.adapters_ = adapters
        self.subjects_ = subjects
        self._seed = seed
        # Latent code of each training stimulus, averaged over subjects and repeats.
        sums: dict[bytes, np.ndarray] = {}
        counts: dict[bytes, int] = {}
        with torch.no_grad():
            for s in subjects:
                lat = adapters[s](torch.from_numpy(self._scale(s, data[s][0])).to(dev))
                for key, z in zip(_keys(data[s][1]), lat.cpu().numpy(), strict=True):
                    sums[key] = sums.get(key, 0.0) + z
                    counts[key] = counts.get(key, 0) + 1
        self.prototypes_ = {k: (v / counts[k]).astype(np.float32) for k, v in sums.items()}
        return self

    def add_subject(self, subject: str, X: Any, Y: Any, *,
                    method: str = "align") -> CrossSubjectDecoder:
        """Fit only the adapter of a new subject (the shared head stays frozen).

        Parameters
        ----------
        subject : str
        X : array of shape (n_trials, n_voxels)
            Any number of voxels.
        Y : array of shape (n_trials, dim)
            Embeddings in the space the head was trained on.
        method : {"align", "gradient"}, default="align"
            See the module docstring.
        """
        import torch
        from torch import nn

        check_is_fitted(self, "head_")
        subject = str(subject)
        (x, y), = _check_pairs({subject: X}, {subject: Y}).values()
        if y.shape[1] != self.dim_:
            raise BrainDecodingError(f"subject {subject!r}: embeddings have {y.shape[1]} "
                                     f"dimensions; the head predicts {self.dim_}")
        if method not in ("align", "gradient"):
            raise ValueError(f"method must be 'align' or 'gradient'; got {method!r}")
        self.scalers_[subject] = (x.mean(0), x.std(0) + 1e-6)
        dev = next(self.head_.parameters()).device
        if method == "align":
            keys = _keys(y)
            match = np.array([k in self.prototypes_ for k in keys])
            if match.sum() >= 3:
                from .ridge import MultiTargetRidgeCV

                Z = np.stack([self.prototypes_[k] for k, m in zip(keys, match, strict=True)
                              if m])
                ridge = MultiTargetRidgeCV().fit(self._scale(subject, x)[match], Z)
                ad = nn.Linear(x.shape[1], self.latent_dim).to(dev)
                with torch.no_grad():
                    ad.weight.copy_(torch.from_numpy(np.asarray(ridge.coef_, np.float32)))
                    ad.bias.copy_(torch.from_numpy(np.asarray(ridge.intercept_, np.float32)))
                self.adapters_[subject] = ad
                if subject not in self.subjects_:
                    self.subjects_.append(subject)
                logger.debug("adapter for %s aligned on %d of %d trials", subject,
                             int(match.sum()), len(keys))
                return self
            logger.info("%s: only %d trials of stimuli the known subjects saw; training the "
                        "adapter by gradient instead", subject, int(match.sum()))
        seed = self._seed + 1 + len(self.subjects_)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            ad = nn.Linear(x.shape[1], self.latent_dim).to(dev)
            for p in self.head_.parameters():
                p.requires_grad_(False)
            self.head_.eval()  # frozen: no dropout noise, LayerNorm statistics fixed
            try:
                hist = train_torch(
                    list(ad.parameters()), lambda xb: self.head_(ad(xb)), self._scale(subject, x),
                    y, epochs=self.adapter_epochs, batch_size=min(self.batch_size, x.shape[0]),
                    lr=self.lr, weight_decay=self.adapter_weight_decay,
                    mse_weight=self.mse_weight, logit_scale=self.head_.logit_scale.detach(),
                    seed=seed, device=str(dev))
            finally:
                for p in self.head_.parameters():
                    p.requires_grad_(True)
        self.adapters_[subject] = ad
        if subject not in self.subjects_:
            self.subjects_.append(subject)
        logger.debug("adapter for %s: final loss %.4f", subject,
                     hist[-1] if hist else math.nan)
        return self

    def predict(self, X: Any, *, subject: str) -> np.ndarray:
        """Predicted embeddings of ``subject``'s trials, shape (n_trials, dim).

        Raises
        ------
        BrainDecodingError
            No adapter for ``subject`` (fit it with :meth:`add_subject`), or a voxel
            count other than the adapter's.
        """
        import torch

        check_is_fitted(self, "head_")
        subject = str(subject)
        if subject not in self.adapters_:
            raise BrainDecodingError(
                f"subject {subject!r} has no adapter; the model knows {self.subjects_}. "
                "Fit one with add_subject(subject, X, Y) on a few of its trials")
        x = np.asarray(X, dtype=np.float32)
        ad = self.adapters_[subject]
        if x.ndim != 2 or x.shape[1] != ad.in_features:
            raise BrainDecodingError(f"subject {subject!r}: X has shape {x.shape}; its adapter "
                                     f"expects (n_trials, {ad.in_features})")
        dev = next(self.head_.parameters()).device
        with torch.no_grad():
            out = self.head_(ad(torch.from_numpy(self._scale(subject, x)).to(dev)))
        return out.cpu().numpy()
