"""Cross-subject decoders: per-subject linear adapters into one shared latent, one head.

Two models live here.  :class:`SharedLatentDecoder` (linear, closed form; the one that
beats per-subject ridge for a new subject with few trials, docs/brain_decoding.md) and
:class:`CrossSubjectDecoder` (the residual-MLP head trained by gradient, kept for
comparison).

**SharedLatentDecoder.**  The shared latent space is the space of the known subjects'
*encoding models*: for each known subject ``s`` a ridge regression from the stimulus
embedding to its standardised voxels (:class:`~.ridge.MultiTargetRidgeCV`, alpha by
leave-one-out) gives weights ``W_s`` (dim x n_voxels_s); the left singular vectors of
``M = [W_1 ... W_S]``, scaled by their singular values, map an embedding ``e`` to its
latent code ``z(e) = (e - mean) U S`` — up to a rotation, the responses all known
subjects' encoding models predict for that stimulus, so Euclidean geometry in the
latent is the geometry of the predicted brain responses (``M M^T``).  That is the
common model space of hyperalignment (Haxby et al. 2011, Neuron 72:404) with encoding
models (Naselaris et al. 2011, NeuroImage 56:400) in place of time-series alignment,
and identification by predicted responses as in Kay et al. 2008 (Nature 452:352).
Every subject's adapter is a ridge regression from its voxels to the latent codes of
its trials' stimuli (alpha by leave-one-out); because ``z(e)`` is computed from the
embedding, a new subject's trials need not repeat stimuli the known subjects saw.
Retrieval happens in the latent: :meth:`~SharedLatentDecoder.predict_latent` for
brain data, :meth:`~SharedLatentDecoder.transform_stimuli` for candidates; the shared
linear head (least squares latent → embedding) gives embedding-space predictions
(:meth:`~SharedLatentDecoder.predict`).

**CrossSubjectDecoder.**

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

__all__ = ["CrossSubjectDecoder", "SharedLatentDecoder", "ENCODING_ALPHAS"]

#: Penalties of the encoding ridge (embedding → voxels): sentence embeddings are unit
#: vectors whose coordinates vary by ~0.05, so the useful penalties are small.
ENCODING_ALPHAS = tuple(float(a) for a in np.logspace(-5, 3, 17))


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



def _known_subject(model: Any, subject: Any, fitted: str) -> str:
    """``subject`` as a string once ``model`` is fitted and has an adapter for it."""
    check_is_fitted(model, fitted)
    subject = str(subject)
    if subject not in model.adapters_:
        raise BrainDecodingError(
            f"subject {subject!r} has no adapter; the model knows {model.subjects_}. "
            "Fit one with add_subject(subject, X, Y) on a few of its trials")
    return subject


class _SubjectScaling:
    """Per-subject voxel standardisation (``scalers_[subject] = (mean, std)``) shared by
    both cross-subject models."""

    scalers_: dict[str, tuple[np.ndarray, np.ndarray]]

    def _scale(self, s: str, x: np.ndarray) -> np.ndarray:
        m, sc = self.scalers_[s]
        return ((x - m) / sc).astype(np.float32)


class CrossSubjectDecoder(_SubjectScaling, BaseEstimator):
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

        subject = _known_subject(self, subject, "head_")
        x = np.asarray(X, dtype=np.float32)
        ad = self.adapters_[subject]
        if x.ndim != 2 or x.shape[1] != ad.in_features:
            raise BrainDecodingError(f"subject {subject!r}: X has shape {x.shape}; its adapter "
                                     f"expects (n_trials, {ad.in_features})")
        dev = next(self.head_.parameters()).device
        with torch.no_grad():
            out = self.head_(ad(torch.from_numpy(self._scale(subject, x)).to(dev)))
        return out.cpu().numpy()


class SharedLatentDecoder(_SubjectScaling, BaseEstimator):
    """Linear cross-subject decoder: a latent space of the known subjects' encoding models.

    See the module docstring for the method.  Closed form, no training loop; a new
    subject costs one ridge fit (:meth:`add_subject`).

    Parameters
    ----------
    latent_dim : int or None, default=None
        Number of singular directions kept; ``None`` keeps every non-null one (at most
        the number of distinct training stimuli minus one).  Truncating loses
        retrieval accuracy in the semi-synthetic benchmark (docs/brain_decoding.md).
    encoding_alphas : sequence of float, default=ENCODING_ALPHAS
        Candidate penalties of the encoding ridge (one alpha per subject, by LOO).
    adapter_alphas : sequence of float or None, default=None
        Candidate penalties of the adapters (voxels → latent, by leave-one-out);
        ``None``: :data:`~.ridge.DEFAULT_ALPHAS`.
    adapter_alpha_per_target : bool, default=False
        One alpha per latent dimension instead of one per adapter; with tens of trials
        the per-dimension leave-one-out choice is noisy.

    Attributes
    ----------
    subjects_ : list of str
        Subjects with an adapter.
    basis_ : ndarray of shape (dim, latent_dim)
        ``U S``: embedding → latent.
    embedding_mean_ : ndarray of shape (dim,)
    singular_values_ : ndarray
        All singular values of the stacked encoding weights.
    head_ : ndarray of shape (latent_dim, dim)
        Least-squares map latent → centred embedding.
    adapters_ : dict of str to (coef (n_voxels, latent_dim), intercept (latent_dim,))
    scalers_ : dict of str to (mean, scale)
    encoding_alpha_ : dict of str to float
    adapter_alpha_ : dict of str to ndarray

    Examples
    --------
    >>> rng = np.random.default_rng(0); E = rng.standard_normal((60, 8))
    >>> X = {"s1": E @ rng.standard_normal((8, 20)), "s2": E @ rng.standard_normal((8, 30))}
    >>> dec = SharedLatentDecoder().fit(X, {"s1": E, "s2": E})
    >>> dec.predict(X["s2"], subject="s2").shape, dec.transform_stimuli(E).shape[0]
    ((60, 8), 60)
    """

    def __init__(self, latent_dim: int | None = None, *,
                 encoding_alphas: Any = ENCODING_ALPHAS, adapter_alphas: Any = None,
                 adapter_alpha_per_target: bool = False):
        self.latent_dim = latent_dim
        self.encoding_alphas = encoding_alphas
        self.adapter_alphas = adapter_alphas
        self.adapter_alpha_per_target = adapter_alpha_per_target

    def _ridge(self, alphas, per_target):
        from .ridge import DEFAULT_ALPHAS, MultiTargetRidgeCV

        return MultiTargetRidgeCV(DEFAULT_ALPHAS if alphas is None else alphas,
                                  alpha_per_target=per_target)

    def fit(self, X: Mapping[str, Any], Y: Mapping[str, Any]) -> SharedLatentDecoder:
        """Build the latent from every subject's encoding model, then fit the adapters.

        Parameters
        ----------
        X : mapping of subject to array (n_trials_s, n_voxels_s)
            Voxel counts may differ between subjects.
        Y : mapping of subject to array (n_trials_s, dim)
            Embeddings of each subject's trial stimuli.
        """
        data = _check_pairs(X, Y)
        if self.latent_dim is not None and int(self.latent_dim) < 1:
            raise ValueError(f"latent_dim must be >= 1 or None; got {self.latent_dim!r}")
        subjects = sorted(data)
        self.dim_ = next(iter(data.values()))[1].shape[1]
        self.scalers_ = {s: (x.mean(0), x.std(0) + 1e-6) for s, (x, _) in data.items()}
        self.embedding_mean_ = np.concatenate([y for _, y in data.values()]).mean(0)
        weights, self.encoding_alpha_ = [], {}
        for s in subjects:
            x, y = data[s]
            enc = self._ridge(self.encoding_alphas, False).fit(y - self.embedding_mean_,
                                                                 self._scale(s, x))
            weights.append(np.asarray(enc.coef_, np.float64).T)  # (dim, n_voxels_s)
            self.encoding_alpha_[s] = float(np.atleast_1d(enc.alpha_)[0])
        U, S, _ = np.linalg.svd(np.concatenate(weights, axis=1), full_matrices=False)
        self.singular_values_ = S
        rank = int(np.sum(S > S[0] * 1e-6)) if S.size and S[0] > 0 else 0
        if rank == 0:
            raise BrainDecodingError("the encoding models of the known subjects are all "
                                     "zero; the embeddings or the voxels carry no variance")
        k = rank if self.latent_dim is None else min(int(self.latent_dim), rank)
        self.basis_ = (U[:, :k] * S[:k]).astype(np.float32)
        Z = [self.transform_stimuli(y) for _, y in data.values()]
        Yc = np.concatenate([y for _, y in data.values()]) - self.embedding_mean_
        self.head_ = np.linalg.lstsq(np.concatenate(Z).astype(np.float64), Yc,
                                     rcond=None)[0].astype(np.float32)
        self.adapters_, self.adapter_alpha_, self.subjects_ = {}, {}, []
        for s in subjects:
            self._fit_adapter(s, *data[s])
        logger.debug("SharedLatentDecoder: latent %d of rank %d, encoding alphas %s", k,
                     rank, self.encoding_alpha_)
        return self

    def _fit_adapter(self, s: str, x: np.ndarray, y: np.ndarray) -> None:
        # Adapters see raw voxels (ridge centres them): per-voxel scales estimated from a
        # few tens of trials are noisy, and rescaling by them lost accuracy (25 trials,
        # semi-synthetic seed 0: top-1 0.057 scaled vs 0.083 raw).
        ad = self._ridge(self.adapter_alphas, self.adapter_alpha_per_target).fit(
            x, self.transform_stimuli(y))
        self.adapters_[s] = (np.asarray(ad.coef_, np.float32).T,
                             np.asarray(ad.intercept_, np.float32))
        self.adapter_alpha_[s] = np.atleast_1d(ad.alpha_)
        if s not in self.subjects_:
            self.subjects_.append(s)

    def add_subject(self, subject: str, X: Any, Y: Any) -> SharedLatentDecoder:
        """Fit only the adapter of a new subject (latent space and head unchanged).

        Parameters
        ----------
        subject : str
        X : array of shape (n_trials, n_voxels)
            Any number of voxels; at least 2 trials.
        Y : array of shape (n_trials, dim)
            Embeddings of the trials' stimuli (seen by the known subjects or not).
        """
        check_is_fitted(self, "basis_")
        subject = str(subject)
        (x, y), = _check_pairs({subject: X}, {subject: Y}).values()
        if y.shape[1] != self.dim_:
            raise BrainDecodingError(f"subject {subject!r}: embeddings have {y.shape[1]} "
                                     f"dimensions; the latent was built from {self.dim_}")
        if x.shape[0] < 2:
            raise BrainDecodingError(f"subject {subject!r}: {x.shape[0]} trial(s); an "
                                     "adapter needs at least 2")
        self._fit_adapter(subject, x, y)
        return self

    def transform_stimuli(self, E: Any) -> np.ndarray:
        """Latent codes of stimulus embeddings, shape (n, latent_dim)."""
        check_is_fitted(self, "basis_")
        E = check_embeddings(E, "stimulus embeddings")
        if E.shape[1] != self.dim_:
            raise BrainDecodingError(f"stimulus embeddings have {E.shape[1]} dimensions; "
                                     f"the latent was built from {self.dim_}")
        return ((np.asarray(E, np.float32) - self.embedding_mean_) @ self.basis_
                ).astype(np.float32)

    def predict_latent(self, X: Any, *, subject: str) -> np.ndarray:
        """Latent codes of ``subject``'s trials, shape (n_trials, latent_dim).

        Raises
        ------
        BrainDecodingError
            No adapter for ``subject`` (fit one with :meth:`add_subject`), or a voxel
            count other than the adapter's.
        """
        subject = _known_subject(self, subject, "basis_")
        coef, intercept = self.adapters_[subject]
        x = np.asarray(X, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != coef.shape[0]:
            raise BrainDecodingError(f"subject {subject!r}: X has shape {x.shape}; its adapter "
                                     f"expects (n_trials, {coef.shape[0]})")
        return x @ coef + intercept

    def predict(self, X: Any, *, subject: str) -> np.ndarray:
        """Predicted embeddings (shared linear head), shape (n_trials, dim)."""
        return self.predict_latent(X, subject=subject) @ self.head_ + self.embedding_mean_
