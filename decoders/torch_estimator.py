"""scikit-learn wrapper for the torch networks: :class:`TorchClassifier`.

Deep models join the same pipelines, cross-validation and benchmark grid as CSP+LDA: the
wrapper builds the network inside ``fit`` from the data's shape, trains it with Adam and
early stopping on a stratified validation split, restores the best weights, and seeds
everything from ``random_state`` (inside a forked torch RNG, so the caller's global torch
seed is left untouched).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils.validation import check_is_fitted, check_random_state

from neurodata.log import logger, progress_for, use_log_level

__all__ = ["TorchClassifier"]


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """Train a network from :mod:`decoders.models` as a scikit-learn classifier.

    Parameters
    ----------
    model : {"eegnet", "shallow", "deep4"} or type, default="eegnet"
        Network name in :data:`decoders.models.MODELS`, or an ``nn.Module`` class whose
        constructor takes ``n_chans, n_outputs, n_times, sfreq`` and keyword options.
    model_params : dict or None
        Keyword options for the network (e.g. ``{"dropout": 0.5}``).
    sfreq : float, default=160.0
        Sampling rate of the input in Hz (sets the networks' kernel lengths).
    max_epochs : int, default=100
        Upper bound on training epochs.
    batch_size : int, default=32
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
    patience : int, default=10
        Stop after this many epochs without a lower validation loss.
    validation_fraction : float, default=0.2
        Share of the training trials held out (stratified) for early stopping; 0 trains
        for ``max_epochs`` without a validation set.
    standardize : bool, default=True
        Z-score each channel with the training set's mean and standard deviation (makes
        volts and teslas look alike to the network).
    device : str, default="cpu"
    random_state : int, RandomState or None
        Seeds the weights, the validation split and the batch order.
    verbose : bool or str or int or None, default=None
        Logging and the per-epoch progress bar during ``fit``: ``None`` follows the
        package level, ``True`` = INFO (bar shown), ``False`` = WARNING, or a level name
        (the project's one ``verbose`` convention, :mod:`neurodata.log`).

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (best validation epoch).
    classes_ : ndarray of shape (n_classes,)
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``, ``valid_accuracy``.
    best_epoch_ : int
    mean_, scale_ : ndarray of shape (n_channels, 1)
        Standardization statistics (zeros and ones when ``standardize=False``).
    n_features_in_ : int
        Channels seen in ``fit``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 4, 64)), np.repeat([0, 1], 10)
    >>> clf = TorchClassifier("eegnet", sfreq=64.0, max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (20, 2)
    """

    def __init__(self, model: Any = "eegnet", *, model_params: dict | None = None,
                 sfreq: float = 160.0, max_epochs: int = 100, batch_size: int = 32,
                 lr: float = 1e-3, weight_decay: float = 0.0, patience: int = 10,
                 validation_fraction: float = 0.2, standardize: bool = True,
                 device: str = "cpu", random_state: Any = None,
                 verbose: bool | str | int | None = None):
        self.model = model
        self.model_params = model_params
        self.sfreq = sfreq
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _model_class(self) -> Any:
        from .models import MODELS

        if isinstance(self.model, str):
            if self.model not in MODELS:
                raise ValueError(f"model must be one of {sorted(MODELS)} or an nn.Module "
                                 f"class; got {self.model!r}")
            return MODELS[self.model]
        return self.model

    @staticmethod
    def _check_X(X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3:
            raise ValueError(f"X must have shape (n_epochs, n_channels, n_times); got "
                             f"shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values")
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # epochs (n_epochs, n_channels, n_times)
        return tags

    def fit(self, X: Any, y: Any) -> TorchClassifier:
        """Train on ``X`` (n_epochs, n_channels, n_times) and labels ``y`` (n_epochs,)."""
        with use_log_level(self.verbose):
            return self._fit(X, y)

    def _fit(self, X: Any, y: Any) -> TorchClassifier:
        import torch

        X = self._check_X(X)
        y = np.asarray(y)
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError(f"max_epochs and batch_size must be >= 1; got {self.max_epochs}, "
                             f"{self.batch_size}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1); got "
                             f"{self.validation_fraction!r}")
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(f"need at least two classes in y; got {self.classes_.tolist()}")
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        if self.standardize:
            self.mean_ = X.mean(axis=(0, 2))[:, None]
            self.scale_ = X.std(axis=(0, 2))[:, None] + 1e-12 * (X.std() + 1e-30)
        else:
            self.mean_ = np.zeros((X.shape[1], 1), np.float32)
            self.scale_ = np.ones((X.shape[1], 1), np.float32)
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)

        train_idx, valid_idx = np.arange(len(y_idx)), np.array([], dtype=int)
        counts = np.bincount(y_idx)
        n_valid = int(round(self.validation_fraction * len(y_idx)))
        if n_valid >= self.classes_.size and counts.min() >= 2:
            split = StratifiedShuffleSplit(1, test_size=n_valid, random_state=rng)
            train_idx, valid_idx = next(split.split(Xs, y_idx))

        with torch.random.fork_rng(devices=[]):  # weights seeded without touching caller's RNG
            torch.manual_seed(seed)
            net = self._model_class()(n_chans=X.shape[1], n_outputs=self.classes_.size,
                                      n_times=X.shape[2], sfreq=float(self.sfreq),
                                      **(self.model_params or {}))
            net = net.to(self.device)
            gen = torch.Generator().manual_seed(seed)
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr,
                                    weight_decay=self.weight_decay)
            loss_fn = torch.nn.CrossEntropyLoss()
            xt = torch.from_numpy(Xs).to(self.device)
            yt = torch.from_numpy(y_idx.astype(np.int64)).to(self.device)
            tr = torch.from_numpy(train_idx)
            best, best_state, wait = np.inf, None, 0
            self.history_ = []
            from tqdm.auto import trange

            for epoch in trange(self.max_epochs, disable=not progress_for(self.verbose),
                                desc=f"{self.model if isinstance(self.model, str) else 'net'}"):
                net.train()
                order = tr[torch.randperm(len(tr), generator=gen)]
                total = 0.0
                for i in range(0, len(order), self.batch_size):
                    b = order[i:i + self.batch_size]
                    if len(b) < 2 and len(order) > 1:  # batch norm cannot train on one trial
                        continue
                    opt.zero_grad()
                    loss = loss_fn(net(xt[b]), yt[b])
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(b)
                row = {"epoch": epoch + 1, "train_loss": total / max(len(order), 1),
                       "valid_loss": np.nan, "valid_accuracy": np.nan}
                if len(valid_idx):
                    net.eval()
                    with torch.no_grad():
                        out = net(xt[valid_idx])
                        row["valid_loss"] = float(loss_fn(out, yt[valid_idx]))
                        row["valid_accuracy"] = float(
                            (out.argmax(1) == yt[valid_idx]).float().mean())
                self.history_.append(row)
                monitor = row["valid_loss"] if len(valid_idx) else row["train_loss"]
                if monitor < best - 1e-6:
                    best, wait = monitor, 0
                    best_state = copy.deepcopy(net.state_dict())
                    self.best_epoch_ = epoch + 1
                else:
                    wait += 1
                    if len(valid_idx) and wait >= self.patience:
                        logger.debug("early stop after epoch %d (best %d)", epoch + 1,
                                     self.best_epoch_)
                        break
            if best_state is not None:
                net.load_state_dict(best_state)
        net.eval()
        self.module_ = net
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_epochs, n_classes), columns in ``classes_`` order."""
        import torch

        check_is_fitted(self, "module_")
        X = self._check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} channels; the model was fitted on "
                             f"{self.n_features_in_}")
        Xs = torch.from_numpy(((X - self.mean_) / self.scale_).astype(np.float32))
        out = []
        with torch.no_grad():
            for i in range(0, len(Xs), 256):
                out.append(torch.softmax(self.module_(Xs[i:i + 256].to(self.device)), 1).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores for ROC-AUC: class-1 probability for two classes, else all probabilities."""
        p = self.predict_proba(X)
        return p[:, 1] if p.shape[1] == 2 else p

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label per epoch, shape (n_epochs,)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
