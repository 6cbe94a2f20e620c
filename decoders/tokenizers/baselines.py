"""Single-codebook baselines for the RVQ tokenizer, at equal bits per patch.

* :class:`KMeansPatchVQ` — k-means on the normalized patches themselves (no network):
  one codebook of ``2**bits`` patch prototypes.
* :func:`make_vqvae` — the RVQ tokenizer's own encoder/decoder with one codebook of
  ``2**bits`` entries (a VQ-VAE, van den Oord et al. 2017), so the comparison isolates
  the residual quantizer.

Both share the RVQ tokenizer's preprocessing (resampling, per-channel robust scaling,
patching), so their codes, reconstructions and metrics line up with it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from neurodata.errors import ValidationError
from neurodata.log import deprecated_fit_verbose, verbose_method, warn

from .patches import normalized_patches, resample
from .rvq import RVQCodes, RVQTokenizer, prepare_signals

__all__ = ["KMeansPatchVQ", "make_vqvae"]


def make_vqvae(codebook_size: int, **params: Any) -> RVQTokenizer:
    """A single-codebook VQ-VAE: :class:`RVQTokenizer` with ``n_codebooks=1``.

    Parameters
    ----------
    codebook_size : int
        Entries of the one codebook (``log2(codebook_size)`` bits per patch).
    **params
        Any other :class:`RVQTokenizer` parameter.

    Examples
    --------
    >>> make_vqvae(256).bits_per_patch
    8.0
    """
    if "n_codebooks" in params:
        raise ValidationError("make_vqvae fixes n_codebooks=1; leave it out")
    return RVQTokenizer(n_codebooks=1, codebook_size=codebook_size, **params)


class KMeansPatchVQ(BaseEstimator):
    """k-means vector quantization of raw (normalized) patches, one codebook.

    Parameters
    ----------
    n_codes : int, default=256
        Codebook size (``log2(n_codes)`` bits per patch).
    sfreq : float, default=200.0
        Common rate in Hz.
    patch_seconds : float, default=1.0
        Patch length in seconds.
    train_stride : float or None, default=0.5
        Stride between training patches in seconds.
    max_iter : int, default=100
        Maximum k-means iterations (mini-batch k-means, scikit-learn).
    random_state : int, default=0
    verbose : bool or str or int or None, default=None
        Log level of :meth:`fit` and the default of :meth:`encode`'s per-call
        ``verbose`` (:mod:`neurodata.log`).

    Attributes
    ----------
    codebook_ : float32 array, shape (n_codes_used_, patch_len)
        Patch prototypes in normalized units.
    n_codes_used_ : int
        ``n_codes``, or the number of training patches when that is smaller (then each
        training patch is its own prototype: a single codebook cannot use more).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((4000, 2))
    >>> vq = KMeansPatchVQ(n_codes=4).fit(x, rate=200.0)
    >>> vq.encode(x, rate=200.0).shape
    (2, 20, 1)
    """

    def __init__(self, n_codes: int = 256, *, sfreq: float = 200.0, patch_seconds: float = 1.0,
                 train_stride: float | None = 0.5, max_iter: int = 100, random_state: int = 0,
                 verbose: bool | str | int | None = None):
        self.n_codes = n_codes
        self.sfreq = sfreq
        self.patch_seconds = patch_seconds
        self.train_stride = train_stride
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    @property
    def patch_len(self) -> int:
        return int(round(self.sfreq * self.patch_seconds))

    @property
    def bits_per_patch(self) -> float:
        return math.log2(self.n_codes)

    def _patches(self, sig, stride=None):
        return normalized_patches(sig.x, sig.rate, self.sfreq, self.patch_len, stride=stride)

    @deprecated_fit_verbose
    def fit(self, data: Any, y: Any = None, *, rate: float | None = None, ch_names: Any = None,
            ch_types: Any = None, verbose: bool | str | None = None) -> KMeansPatchVQ:
        """Cluster training patches (same inputs as :meth:`RVQTokenizer.fit`).

        ``fit(verbose=...)`` is deprecated (``FutureWarning``): pass ``verbose`` to the
        constructor.
        """
        from sklearn.cluster import MiniBatchKMeans

        stride = None if self.train_stride is None else max(
            1, int(round(self.train_stride * self.sfreq)))
        sigs = prepare_signals(data, rate=rate, ch_names=ch_names, ch_types=ch_types)
        X = np.concatenate([self._patches(s, stride)[0].reshape(-1, self.patch_len)
                            for s in sigs])
        n_clusters = self.n_codes
        if X.shape[0] <= self.n_codes:
            # more codes than patches: the best a single codebook can do on the training
            # data is one code per patch (zero training error); the rest stay unused
            warn(f"KMeansPatchVQ: {X.shape[0]} training patches for {self.n_codes} codes; "
                 "using one code per patch (codes beyond that cannot be placed)")
            self.codebook_ = X.astype(np.float32).copy()
            self.n_codes_used_ = X.shape[0]
            return self
        km = MiniBatchKMeans(n_clusters=n_clusters, batch_size=4096, max_iter=self.max_iter,
                             n_init=1, random_state=self.random_state)
        km.fit(X)
        self.codebook_ = km.cluster_centers_.astype(np.float32)
        self.n_codes_used_ = n_clusters
        return self

    @verbose_method
    def encode(self, data: Any, *, rate: float | None = None, ch_names: Any = None,
               ch_types: Any = None, verbose: bool | str | None = None) -> RVQCodes:
        """Nearest prototype per patch; codes of shape (n_channels, n_patches, 1).

        ``verbose`` sets this call's log level; ``None`` uses the constructor's.
        """
        if not hasattr(self, "codebook_"):
            raise ValidationError("this KMeansPatchVQ is not fitted yet; call fit first")
        (sig,) = prepare_signals(data, rate=rate, ch_names=ch_names, ch_types=ch_types)
        p, center, scale = self._patches(sig)
        C, P, L = p.shape
        flat = p.reshape(-1, L)
        cb = self.codebook_
        norms = (cb * cb).sum(1)[None, :]
        codes = np.empty(flat.shape[0], np.int64)
        for a in range(0, flat.shape[0], 1024):  # bounded memory for large codebooks
            codes[a:a + 1024] = (norms - 2.0 * flat[a:a + 1024] @ cb.T).argmin(1)
        codes = codes.reshape(C, P, 1)
        return RVQCodes(codes, center, scale, float(self.sfreq), list(sig.ch_names),
                        list(sig.ch_types))

    def decode(self, codes: RVQCodes | np.ndarray) -> np.ndarray:
        """Prototypes back in signal units (for RVQCodes) → (n_patches * patch_len, n_channels)."""
        arr = codes.codes if isinstance(codes, RVQCodes) else np.asarray(codes)
        C, P, _ = arr.shape
        x = self.codebook_[arr[..., 0]].reshape(C, P * self.patch_len).T.astype(np.float64)
        if isinstance(codes, RVQCodes):
            x = x * codes.scale + codes.center
        return x

    def reconstruct(self, data: Any, *, rate: float | None = None, **kw: Any):
        """(target, reconstruction), both (T, C) at ``sfreq``; see RVQTokenizer.reconstruct."""
        codes = self.encode(data, rate=rate, **kw)
        (sig,) = prepare_signals(data, rate=rate, **kw)
        recon = self.decode(codes)
        return resample(sig.x, sig.rate, self.sfreq)[: recon.shape[0]], recon
