"""Temporal bases for coupling filters, and the spike-history features they produce.

A coupling filter from neuron ``n'`` to neuron ``n`` over the last ``window`` bins is
written on a small basis, ``h(l) = Σ_d w_d φ_d(l)`` for lags ``l = 1 … window``; the GLM
then needs only the filtered histories ``F[t, n', d] = Σ_l x[t − l, n'] φ_d(l)``.

* :func:`exponential_basis` — decaying exponentials (the one-hot GLM paper uses one
  exponential over a 5-bin window).
* :func:`raised_cosine_basis` — raised cosines on a log-stretched time axis (Pillow et
  al. 2008), the usual basis for longer filters.
* :func:`history_features` — the filtered histories of one trial.
"""

from __future__ import annotations

import numpy as np

__all__ = ["exponential_basis", "raised_cosine_basis", "history_features", "make_basis"]


def _check_window(window, n_basis):
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an integer number of bins >= 1, got {window!r}")
    if isinstance(n_basis, bool) or not isinstance(n_basis, (int, np.integer)) or n_basis < 1:
        raise ValueError(f"n_basis must be an integer >= 1, got {n_basis!r}")
    if n_basis > window:
        raise ValueError(f"n_basis={n_basis} cannot exceed window={window} (lags available)")


def exponential_basis(window: int = 5, n_basis: int = 1) -> np.ndarray:
    """Decaying-exponential basis over ``window`` lags.

    Basis ``d`` is ``φ_d(l) = exp(−(l − 1) / τ_d)`` for lags ``l = 1 … window`` bins,
    normalised to unit sum, with time constants ``τ_d`` spaced geometrically from one bin
    to ``window`` bins (a single basis uses ``τ = window / 2``).

    Parameters
    ----------
    window : int, default=5
        Filter length in bins.
    n_basis : int, default=1
        Number of exponentials.

    Returns
    -------
    ndarray of shape (window, n_basis)
        Row ``l − 1`` holds the basis values at lag ``l``.

    Examples
    --------
    >>> exponential_basis(5).shape
    (5, 1)
    """
    _check_window(window, n_basis)
    lags = np.arange(window, dtype=float)
    if n_basis == 1:
        taus = np.array([window / 2.0])
    else:
        taus = np.geomspace(1.0, float(window), n_basis)
    phi = np.exp(-lags[:, None] / taus[None, :])
    return phi / phi.sum(0, keepdims=True)


def raised_cosine_basis(window: int = 20, n_basis: int = 4, *, stretch: float = 1.0) -> np.ndarray:
    """Raised-cosine basis on a log-stretched time axis (Pillow et al. 2008).

    ``φ_d(l) = ½ (1 + cos(clip(π (u(l) − c_d) / Δ, −π, π)))`` with
    ``u(l) = log(l − 1 + stretch)``, centres ``c_d`` evenly spaced in ``u`` from the first
    to the last lag and width ``Δ`` = twice the spacing, so neighbours overlap by half.

    Parameters
    ----------
    window : int, default=20
        Filter length in bins.
    n_basis : int, default=4
        Number of bumps.
    stretch : float, default=1.0
        Offset of the log axis, > 0; larger values make the bumps more uniform in time.

    Returns
    -------
    ndarray of shape (window, n_basis)
        Row ``l − 1`` holds the basis values at lag ``l``, each column scaled to unit sum.

    References
    ----------
    .. [1] J. W. Pillow et al., "Spatio-temporal correlations and visual signalling in
       a complete neuronal population", Nature 454, 995–999, 2008.

    Examples
    --------
    >>> raised_cosine_basis(20, 4).shape
    (20, 4)
    """
    _check_window(window, n_basis)
    if not stretch > 0:
        raise ValueError(f"stretch must be > 0, got {stretch!r}")
    u = np.log(np.arange(window, dtype=float) + stretch)
    if n_basis == 1:
        centres = np.array([u.mean()])
        width = 2.0 * (u[-1] - u[0] + 1.0)
    else:
        centres = np.linspace(u[0], u[-1], n_basis)
        width = 2.0 * (centres[1] - centres[0])
    arg = np.clip(np.pi * (u[:, None] - centres[None, :]) / width, -np.pi, np.pi)
    phi = 0.5 * (1.0 + np.cos(arg))
    return phi / phi.sum(0, keepdims=True)


def make_basis(basis: str, window: int, n_basis: int) -> np.ndarray:
    """Basis matrix named by ``basis`` (``"exponential"`` or ``"raised_cosine"``).

    Parameters
    ----------
    basis : {"exponential", "raised_cosine"}
        Basis family.
    window : int
        Filter length in bins.
    n_basis : int
        Number of basis functions.

    Returns
    -------
    ndarray of shape (window, n_basis)

    Examples
    --------
    >>> make_basis("exponential", 5, 1).shape
    (5, 1)
    """
    if basis == "exponential":
        return exponential_basis(window, n_basis)
    if basis == "raised_cosine":
        return raised_cosine_basis(window, n_basis)
    raise ValueError(f"basis must be 'exponential' or 'raised_cosine', got {basis!r}")


def history_features(counts: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Spike histories of one trial filtered by each basis function.

    ``F[t, n, d] = Σ_{l=1}^{W} x[t − l, n] φ_d(l)``; bins before the trial's start count
    as zero (no history crosses trial boundaries).

    Parameters
    ----------
    counts : ndarray of shape (n_bins, n_neurons)
        Spike counts (or any activity) of one trial, time-major.
    basis : ndarray of shape (window, n_basis)
        Basis values per lag, row ``l − 1`` = lag ``l``.

    Returns
    -------
    ndarray of shape (n_bins, n_neurons, n_basis)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((6, 1)); x[0, 0] = 1
    >>> history_features(x, np.ones((2, 1)))[:, 0, 0].tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    x = np.asarray(counts, dtype=float)
    phi = np.asarray(basis, dtype=float)
    n_bins, n_neurons = x.shape
    window, n_basis = phi.shape
    out = np.zeros((n_bins, n_neurons, n_basis))
    # the window is short (a few to a few tens of bins), so a loop over lags is cheap
    for lag in range(1, min(window, n_bins - 1) + 1):
        out[lag:] += x[:-lag, :, None] * phi[lag - 1]
    return out
