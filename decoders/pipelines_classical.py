"""Classical EEG/MEG decoding pipelines: CSP, filter-bank CSP, Riemannian tangent space.

Every pipeline is a scikit-learn estimator on epochs of shape
(n_epochs, n_channels, n_times):

- ``csp_lda`` — common spatial patterns (``mne.decoding.CSP``, 4 components, log-power) +
  linear discriminant analysis, MNE's motor-imagery example protocol (Koles 1991;
  Ramoser, Müller-Gerking & Pfurtscheller 2000).
- ``fbcsp`` — filter-bank CSP: CSP in each of several narrow bands, log-power features
  concatenated, shrinkage LDA (Ang, Chin, Zhang & Guan 2008, "Filter Bank Common Spatial
  Pattern (FBCSP) in brain-computer interface", IJCNN).
- ``ts_lr`` / ``ts_svm`` — OAS covariance, Riemannian tangent space at the training mean,
  logistic regression or linear SVM (Barachant, Bonnet, Congedo & Jutten 2012,
  "Multiclass brain-computer interface classification by Riemannian geometry", IEEE TBME;
  ``pyriemann``).
- ``aug_cov`` — augmented (time-delay embedded) covariance, tangent space, linear SVM
  (Carrara & Papadopoulo 2024, "Classification of BCI-EEG based on the augmented
  covariance matrix", IEEE TBME; ``pyriemann.estimation.TimeDelayCovariances``).

The factories return fresh, unfitted estimators; :mod:`decoders.pipeline_registry` maps
the benchmark's pipeline names to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "FilterBankCSP", "make_csp_lda", "make_fbcsp", "make_ts_lr", "make_ts_svm",
    "make_aug_cov", "DEFAULT_BANDS",
]

#: Default filter bank of :class:`FilterBankCSP`, Hz: 4-Hz bands spanning mu and beta.
DEFAULT_BANDS: tuple[tuple[float, float], ...] = (
    (8.0, 12.0), (12.0, 16.0), (16.0, 20.0), (20.0, 24.0), (24.0, 28.0), (28.0, 32.0),
)


def _csp(n_components: int) -> Any:
    from mne.decoding import CSP

    # MNE's example settings: log of the average power of each component, no trace norm.
    return CSP(n_components=n_components, reg=None, log=True, norm_trace=False)


class FilterBankCSP(TransformerMixin, BaseEstimator):
    """CSP log-power features from several frequency bands (FBCSP, Ang et al. 2008).

    Each band is a zero-phase 4th-order Butterworth band-pass (``scipy.signal.sosfiltfilt``)
    applied to the epochs; one CSP per band; features concatenated.

    Parameters
    ----------
    sfreq : float, default=160.0
        Sampling rate of the epochs, Hz.
    bands : sequence of (float, float)
        Pass bands in Hz; each upper edge must lie below ``sfreq / 2``.
    n_components : int, default=4
        CSP components per band.

    Attributes
    ----------
    csps_ : list of mne.decoding.CSP
        One fitted CSP per band.
    filters_, patterns_ : list of ndarray, each of shape (n_channels, n_channels)
        Per band, the CSP spatial filters and patterns (rows are components).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 4, 160)), np.repeat([0, 1], 10)
    >>> FilterBankCSP(sfreq=160.0, bands=[(8, 12), (16, 24)], n_components=2
    ...               ).fit_transform(X, y).shape
    (20, 4)
    """

    def __init__(self, sfreq: float = 160.0, *,
                 bands: Sequence[tuple[float, float]] = DEFAULT_BANDS, n_components: int = 4):
        self.sfreq = sfreq
        self.bands = bands
        self.n_components = n_components

    def _filtered(self, X: np.ndarray) -> list[np.ndarray]:
        from scipy.signal import butter, sosfiltfilt

        out = []
        for lo, hi in self.bands:
            if not 0 < lo < hi < self.sfreq / 2:
                raise ValueError(f"band ({lo}, {hi}) Hz must satisfy 0 < low < high < "
                                 f"sfreq/2 = {self.sfreq / 2}")
            sos = butter(4, [lo, hi], btype="bandpass", fs=self.sfreq, output="sos")
            out.append(sosfiltfilt(sos, X, axis=-1))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # epochs (n_epochs, n_channels, n_times)
        tags.target_tags.required = True  # CSP needs the two classes
        return tags

    def fit(self, X: Any, y: Any) -> FilterBankCSP:
        """Fit one CSP per band on ``X`` (n_epochs, n_channels, n_times)."""
        X = np.asarray(X, dtype=np.float64)
        self.csps_ = [_csp(self.n_components).fit(xb, y) for xb in self._filtered(X)]
        self.filters_ = [c.filters_ for c in self.csps_]
        self.patterns_ = [c.patterns_ for c in self.csps_]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Features of shape (n_epochs, n_bands * n_components)."""
        check_is_fitted(self, "csps_")
        X = np.asarray(X, dtype=np.float64)
        bands = zip(self.csps_, self._filtered(X), strict=True)
        return np.concatenate([c.transform(xb) for c, xb in bands], axis=1)


def make_csp_lda(*, sfreq: float = 160.0, random_state: Any = None) -> Pipeline:
    """CSP (4 components, log-power) + LDA, as MNE's motor-imagery decoding example.

    Examples
    --------
    >>> make_csp_lda().steps[0][0]
    'csp'
    """
    return Pipeline([("csp", _csp(4)), ("lda", LinearDiscriminantAnalysis())])


def make_fbcsp(*, sfreq: float = 160.0, random_state: Any = None) -> Pipeline:
    """Filter-bank CSP (:data:`DEFAULT_BANDS`, 4 components each) + shrinkage LDA."""
    return Pipeline([("fbcsp", FilterBankCSP(sfreq=sfreq)),
                     ("lda", LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))])


def _tangent_space(cov: Any) -> list[tuple[str, Any]]:
    from pyriemann.tangentspace import TangentSpace

    return [("cov", cov), ("ts", TangentSpace(metric="riemann"))]


def make_ts_lr(*, sfreq: float = 160.0, random_state: Any = None) -> Pipeline:
    """OAS covariance → Riemannian tangent space → logistic regression."""
    from pyriemann.estimation import Covariances

    return Pipeline(_tangent_space(Covariances(estimator="oas"))
                    + [("lr", LogisticRegression(C=1.0, max_iter=1000,
                                                 random_state=random_state))])


def make_ts_svm(*, sfreq: float = 160.0, random_state: Any = None) -> Pipeline:
    """OAS covariance → Riemannian tangent space → linear SVM."""
    from pyriemann.estimation import Covariances

    return Pipeline(_tangent_space(Covariances(estimator="oas"))
                    + [("svm", SVC(kernel="linear", C=1.0, random_state=random_state))])


def make_aug_cov(*, sfreq: float = 160.0, random_state: Any = None) -> Pipeline:
    """Augmented covariance (2 delays of 1 sample, OAS) → tangent space → linear SVM."""
    from pyriemann.estimation import TimeDelayCovariances

    return Pipeline(_tangent_space(TimeDelayCovariances(delays=2, estimator="oas"))
                    + [("svm", SVC(kernel="linear", C=1.0, random_state=random_state))])
