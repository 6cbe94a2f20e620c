"""Token pipeline: RVQ code histograms of each epoch → standardization → logistic regression.

Each epoch is tokenized by a residual-vector-quantized patch tokenizer
(:class:`decoders.tokenizers.RVQTokenizer`, NeuroRVQ / LaBraM style) and summarized as a
bag of tokens (code histograms), the way discrete-token EEG models are probed with a
linear classifier (Jiang et al. 2024, *LaBraM*, ICLR; NeuroRVQ).  The tokenizer is
either trained on the training epochs inside ``fit`` (a tiny one, a few seconds on CPU)
or given pre-trained (``tokenizer=`` or ``tokenizer_path=``).

What the tokens can and cannot carry: the tokenizer normalizes every channel of every
epoch by its own median and robust standard deviation before cutting patches, so the
histograms describe the *shape* of the signal (its relative spectral content: e.g. a
rhythm standing out of the background), not its absolute amplitude.  Classes that differ
only in broadband power are invisible to this pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from neurodata.errors import ValidationError
from neurodata.log import deprecated_fit_verbose, logger

__all__ = ["RVQTokenHistogram", "make_rvq_tokens_lr"]

_POOLING = ("channel", "codebook")


def _check_epochs(X: Any, where: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValidationError(f"{where}: expected epochs of shape (n_epochs, n_channels, "
                              f"n_times); got an array of shape {X.shape}")
    if X.shape[0] == 0:
        raise ValidationError(f"{where}: expected at least one epoch; got none")
    return X


class RVQTokenHistogram(TransformerMixin, BaseEstimator):
    """Bag-of-RVQ-tokens features of epochs (scikit-learn transformer).

    ``fit`` trains a small :class:`~decoders.tokenizers.RVQTokenizer` on the training
    epochs (unsupervised; ``y`` is ignored) or takes a pre-trained one; ``transform``
    encodes every epoch (each channel of each epoch normalized by its median and robust
    SD, resampled to the tokenizer's rate and cut into patches) and counts the codes.

    Parameters
    ----------
    sfreq : float, default=160.0
        Sampling rate of the epochs in Hz.
    tokenizer : RVQTokenizer or None
        A fitted tokenizer is used as is and never modified (``sklearn.clone`` keeps the
        same object, so cross-validation reuses it); an unfitted one is a template that
        is cloned and trained on the training epochs.  ``None`` trains the small default
        tokenizer described by the parameters below.
    tokenizer_path : path-like or None
        A tokenizer saved with :meth:`RVQTokenizer.save`; loaded in ``fit``.  Exclusive
        with ``tokenizer``.
    pooling : {"channel", "codebook"}, default="channel"
        ``"channel"``: one histogram per channel and codebook, features of shape
        (n_epochs, n_channels * n_codebooks * codebook_size) — keeps where a pattern
        occurs.  ``"codebook"``: one histogram per codebook over all channels and patches,
        (n_epochs, n_codebooks * codebook_size) — montage-independent.  Every
        (channel,) codebook block sums to 1 (L1-normalized counts).
    ch_names, ch_types : sequence of str or None
        Channel names and types of the epochs (default ``ch0..``, ``"eeg"``); names let
        a pre-trained tokenizer use its channel embeddings.
    n_codebooks : int, default=2
        Residual codebooks of the default tokenizer.
    codebook_size : int, default=16
        Entries per codebook of the default tokenizer.
    patch_seconds : float, default=0.5
        Patch length of the default tokenizer (a 1-s epoch gives 2 patches per channel;
        at 200 Hz a patch must be at least 0.25 s).
    n_steps : int, default=150
        Training steps of the default tokenizer.
    batch_size : int, default=128
        Patches per training step.
    random_state : int, RandomState or None, default=None
        Seeds the tokenizer's weights, batches and codebook restarts (``None`` → 0, so
        the default is deterministic).
    verbose : bool or str or int or None, default=None
        Logging and the tokenizer-training progress bar during ``fit``: ``None`` follows
        the package level, ``True`` = INFO (bar shown), ``False`` = WARNING, or a level
        name (the project's one ``verbose`` convention, :mod:`neurodata.log`).

    Attributes
    ----------
    tokenizer_ : RVQTokenizer
        The fitted tokenizer used by ``transform``.
    n_channels_ : int
        Channels seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((6, 3, 160))
    >>> f = RVQTokenHistogram(sfreq=160.0, n_steps=2, random_state=0).fit(X)
    >>> f.transform(X).shape
    (6, 96)
    """

    def __init__(self, sfreq: float = 160.0, *, tokenizer: Any = None,
                 tokenizer_path: str | Path | None = None, pooling: str = "channel",
                 ch_names: Any = None, ch_types: Any = None, n_codebooks: int = 2,
                 codebook_size: int = 16, patch_seconds: float = 0.5, n_steps: int = 150,
                 batch_size: int = 128, random_state: Any = None,
                 verbose: bool | str | int | None = None):
        self.sfreq = sfreq
        self.tokenizer = tokenizer
        self.tokenizer_path = tokenizer_path
        self.pooling = pooling
        self.ch_names = ch_names
        self.ch_types = ch_types
        self.n_codebooks = n_codebooks
        self.codebook_size = codebook_size
        self.patch_seconds = patch_seconds
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_clone__(self) -> RVQTokenHistogram:
        # the default clone would rebuild a fitted `tokenizer` from its parameters and so
        # drop its weights; a pre-trained tokenizer is read-only here, so share it
        params = {k: (v if k == "tokenizer" else clone(v, safe=False))
                  for k, v in self.get_params(deep=False).items()}
        return type(self)(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # epochs (n_epochs, n_channels, n_times)
        return tags

    def _seed(self) -> int:
        if self.random_state is None:
            return 0
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _new_tokenizer(self) -> Any:
        from .tokenizers import RVQTokenizer

        if self.tokenizer is not None:
            return clone(self.tokenizer).set_params(random_state=self._seed())
        # a tiny network: ~36 epochs x 64 channels train in a few seconds on one CPU core
        return RVQTokenizer(patch_seconds=self.patch_seconds, n_codebooks=self.n_codebooks,
                            codebook_size=self.codebook_size, dim=16, hidden=4, width=32,
                            n_steps=self.n_steps, batch_size=self.batch_size, lr=3e-3,
                            train_stride=self.patch_seconds / 2, random_state=self._seed(),
                            # measured with random codebook starts (planted-band-power
                            # test 0.988, 0.975 with the gain-head decoder); k-means
                            # starts gave 0.85 for this tiny network
                            codebook_init="random")

    def _signals(self, X: np.ndarray) -> list[np.ndarray]:
        return [np.ascontiguousarray(x.T) for x in X]  # tokenizer wants (n_times, n_channels)

    @deprecated_fit_verbose
    def fit(self, X: Any, y: Any = None, *, verbose: bool | str | None = None
            ) -> RVQTokenHistogram:
        """Train (or load) the tokenizer.

        Parameters
        ----------
        X : array of shape (n_epochs, n_channels, n_times)
            Training epochs at ``sfreq`` Hz, in any unit.
        y : ignored
            The tokenizer is unsupervised.
        verbose : bool or str or None
            Deprecated: pass ``verbose`` to the constructor (scikit-learn keeps fit
            arguments for data).  When given it still applies to this call, with a
            ``FutureWarning``.

        Returns
        -------
        self : RVQTokenHistogram
        """
        return self._fit(X)

    def _fit(self, X: Any) -> RVQTokenHistogram:
        from .tokenizers import RVQTokenizer

        X = _check_epochs(X, "RVQTokenHistogram.fit")
        if self.pooling not in _POOLING:
            raise ValidationError(f"RVQTokenHistogram: pooling={self.pooling!r}; expected "
                                  f"one of {list(_POOLING)}")
        if self.tokenizer is not None and self.tokenizer_path is not None:
            raise ValidationError("RVQTokenHistogram: pass tokenizer= or tokenizer_path=, "
                                  "not both")
        if self.tokenizer_path is not None:
            self.tokenizer_ = RVQTokenizer.load(self.tokenizer_path)
        elif self.tokenizer is not None and hasattr(self.tokenizer, "module_"):
            self.tokenizer_ = self.tokenizer
        else:
            tok = self._new_tokenizer()
            logger.info("training an RVQ tokenizer on %d epochs x %d channels (%d steps)",
                        X.shape[0], X.shape[1], tok.n_steps)
            self.tokenizer_ = tok.fit(self._signals(X), rate=float(self.sfreq),
                                      ch_names=self.ch_names, ch_types=self.ch_types)
        self.n_channels_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Code histograms of each epoch.

        Parameters
        ----------
        X : array of shape (n_epochs, n_channels, n_times)
            Epochs at ``sfreq`` Hz, at least one patch long.

        Returns
        -------
        features : float64 array
            (n_epochs, n_channels * n_codebooks * codebook_size) for
            ``pooling="channel"``, (n_epochs, n_codebooks * codebook_size) for
            ``"codebook"``; each histogram block sums to 1.
        """
        from .tokenizers.metrics import code_histograms

        check_is_fitted(self, "tokenizer_")
        X = _check_epochs(X, "RVQTokenHistogram.transform")
        if X.shape[1] != self.n_channels_:
            raise ValidationError(f"RVQTokenHistogram.transform: fitted on {self.n_channels_} "
                                  f"channels; got epochs with {X.shape[1]}; pass the same "
                                  "montage")
        tok = self.tokenizer_
        size = int(tok.codebook_size)
        feats = []
        for x in self._signals(X):
            codes = tok.encode(x, rate=float(self.sfreq), ch_names=self.ch_names,
                               ch_types=self.ch_types).codes  # (C, P, Q)
            if self.pooling == "codebook":
                feats.append(code_histograms(codes, size))
            else:
                feats.append(np.concatenate([code_histograms(c, size) for c in codes]))
        return np.stack(feats)


def make_rvq_tokens_lr(*, sfreq: float = 160.0, random_state: Any = None) -> Pipeline:
    """RVQ code histograms per channel → StandardScaler → L2 logistic regression.

    The tokenizer (2 codebooks x 16 codes, 0.5-s patches, 150 steps) is trained on each
    training fold's epochs; override with ``params={"tokens__tokenizer_path": ...}``.

    Examples
    --------
    >>> [name for name, _ in make_rvq_tokens_lr().steps]
    ['tokens', 'scale', 'lr']
    """
    return Pipeline([
        ("tokens", RVQTokenHistogram(sfreq=sfreq, random_state=random_state)),
        ("scale", StandardScaler()),
        # many sparse features for few epochs: strong L2 keeps the weights spread
        ("lr", LogisticRegression(C=0.1, max_iter=1000, random_state=random_state)),
    ])
