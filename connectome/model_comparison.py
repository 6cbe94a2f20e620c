"""Held-out comparison of switching and single-state coupling GLMs on binned counts.

:func:`split_blocks` cuts the bins into contiguous training and held-out blocks (a time
split, never shuffled); :func:`compare_models` fits :class:`connectome.HMMGLM`, a
single-state :class:`connectome.CouplingGLM` and a homogeneous Poisson model on the
training blocks and scores all three on the same held-out bins (Li et al., ICLR 2024).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodata import errors
from neurodata.log import progress_enabled, verbose

__all__ = ["split_blocks", "compare_models", "ModelComparison"]

_LN2 = math.log(2.0)


def split_blocks(n_bins: int, test_fraction: float = 0.2, n_blocks: int = 1,
                 ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Contiguous training and held-out bin ranges (a time split, never shuffled).

    The bins are cut into ``n_blocks`` equal chunks; the last ``test_fraction`` of each
    chunk is held out.  ``n_blocks=1`` holds out the end of the recording; more blocks
    spread the held-out data over the session (useful when behaviour changes over it).

    Parameters
    ----------
    n_bins : int
        Number of bins.
    test_fraction : float, default=0.2
        Fraction held out, in (0, 1).
    n_blocks : int, default=1
        Number of chunks.

    Returns
    -------
    train, test : list of (start, stop)
        Half-open bin index ranges, in time order.

    Examples
    --------
    >>> split_blocks(100, 0.2, 2)
    ([(0, 40), (50, 90)], [(40, 50), (90, 100)])
    """
    if not (0 < test_fraction < 1):
        raise errors.ValidationError(f"--test-fraction must lie in (0, 1); got {test_fraction!r}")
    if int(n_blocks) != n_blocks or n_blocks < 1:
        raise errors.ValidationError(f"--test-blocks must be a positive integer; got "
                                     f"{n_blocks!r}")
    cuts = np.round(np.linspace(0, n_bins, int(n_blocks) + 1)).astype(int)
    train, test = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        m = int(round(test_fraction * (b - a)))
        train.append((int(a), int(b - m)))
        test.append((int(b - m), int(b)))
    return train, test


@dataclass
class ModelComparison:
    """Fitted models and their held-out scores (:func:`compare_models`).

    Attributes
    ----------
    hmm : connectome.HMMGLM
        The fitted HMM-GLM.
    glm : connectome.CouplingGLM
        The fitted single-state coupling GLM.
    mean_rate : ndarray of shape (n_units,)
        Homogeneous Poisson rate per unit (mean training count per bin).
    table : pandas.DataFrame
        One row per model: ``model``, ``ll_per_bin`` (held-out nats per bin, summed over
        units), ``bits_per_spike`` (gain over the homogeneous model), ``n_params``.
    n_test_bins, n_test_spikes : int
    """

    hmm: Any
    glm: Any
    mean_rate: np.ndarray
    table: Any
    n_test_bins: int
    n_test_spikes: int


def _poisson_ll(y: np.ndarray, mean: np.ndarray) -> float:
    from scipy.special import gammaln

    mean = np.clip(mean, 1e-12, None)
    return float((y * np.log(mean) - mean - gammaln(y + 1.0)).sum())


@verbose
def compare_models(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    *,
    n_states: int = 2,
    prior: str | None = "onehot",
    window: int = 5,
    structural_prior: np.ndarray | None = None,
    structural_prior_mode: str = "init",
    n_init: int = 1,
    max_iter: int = 100,
    glm_alpha: float = 1e-3,
    random_state: int | None = 0,
    verbose: bool | str | None = None,
) -> ModelComparison:
    """Fit HMM-GLM, single coupling GLM and homogeneous Poisson; score them held out.

    All three models are scored on the same held-out bins (every bin of every test
    block; the first bins of a block see an empty history, for all models alike).
    Bits per spike are ``(LL_model − LL_homogeneous) / (n_spikes · ln 2)``, the
    homogeneous model firing at each unit's mean training rate.

    Parameters
    ----------
    train, test : sequence of ndarray of shape (n_bins_i, n_units)
        Training and held-out count blocks (e.g. from :func:`split_blocks`).
    n_states : int, default=2
        Hidden states of the HMM-GLM.
    prior : {None, "gaussian", "onehot"}, default="onehot"
        HMM-GLM weight prior.
    window : int, default=5
        Coupling filter length in bins (both GLMs).
    structural_prior : ndarray of shape (n_units, n_units), optional
        Known connectome (post × pre) used as the prior; needs ``prior``.
    structural_prior_mode : {"init", "fixed"}, default="init"
    n_init : int, default=1
        HMM-GLM restarts.
    max_iter : int, default=100
        EM iterations per restart.
    glm_alpha : float, default=1e-3
        L2 penalty of the single GLM.
    random_state : int or None, default=0
    verbose : bool or str or None
        Log level for this call (:func:`neurodata.log.verbose`); ``True`` (INFO) shows the
        HMM-GLM's progress bar.

    Returns
    -------
    ModelComparison

    References
    ----------
    .. [1] C. Li, S. H. Kim, C. Rodgers, H. Choi and A. Wu, "One-hot generalized linear
       model for switching brain state discovery", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).poisson(0.5, (600, 3))
    >>> cmp = compare_models([x[:500]], [x[500:]], prior=None, max_iter=3)
    >>> list(cmp.table["model"])
    ['homogeneous Poisson', 'coupling GLM', 'HMM-GLM (2 states, prior none)']
    """
    import pandas as pd

    from .glm import CouplingGLM
    from .hmmglm import HMMGLM

    train, test = list(train), list(test)
    # bad counts raise GLMInputError, a neurodata ValidationError (one error hierarchy)
    hmm = HMMGLM(n_states, prior=prior, window=window, structural_prior=structural_prior,
                 structural_prior_mode=structural_prior_mode, n_init=n_init,
                 max_iter=max_iter, random_state=random_state, verbose=progress_enabled())
    hmm.fit(train)
    glm = CouplingGLM(window=window, alpha=glm_alpha).fit(train)
    y = np.concatenate(test)
    ll = {"hmm": hmm.log_likelihood(test), "glm": glm.log_likelihood(test)}
    mean_rate = np.concatenate(train).mean(axis=0)
    ll["homog"] = _poisson_ll(y, np.broadcast_to(mean_rate, y.shape))
    n_bins, n_spikes = y.shape[0], int(y.sum())
    n, k = y.shape[1], n_states
    n_basis = hmm.coef_.shape[-1]
    rows = [("homogeneous Poisson", ll["homog"], n),
            ("coupling GLM", ll["glm"], n + n * n * n_basis),
            (f"HMM-GLM ({k} states, prior {prior or 'none'})", ll["hmm"],
             k * (n + n * n * n_basis) + k * (k - 1) + (k - 1))]
    table = pd.DataFrame(
        [{"model": name, "ll_per_bin": v / n_bins,
          "bits_per_spike": (v - ll["homog"]) / (n_spikes * _LN2) if n_spikes else math.nan,
          "n_params": p} for name, v, p in rows])
    return ModelComparison(hmm=hmm, glm=glm, mean_rate=mean_rate, table=table,
                           n_test_bins=n_bins, n_test_spikes=n_spikes)
