"""Compiled forward–backward kernel (numba) for :func:`connectome.hmm.forward_backward`.

The scaled forward–backward recursion of Rabiner (1989, §V.A) run as one sequential loop
over time in machine code: each α_t is normalised to sum 1 (the normalisers give
``log p(x)``), β_t uses the same normalisers, and the expected transition counts ξ are
accumulated in the backward sweep, so every bin is touched three times (exp of the
emission, forward, backward) with no temporaries the size of the data.  Emission
likelihoods are shifted by their per-bin maximum before ``exp``, so ``b_t`` lies in
(0, 1] and neither recursion underflows for any realistic emission scale; the shift is
added back to ``log p(x)``.  hmmlearn's ``_hmmc`` scaling kernels (C++) follow the same
recursion; this is our own implementation of the textbook algorithm.

numba is optional (it ships with the ``connectome`` extra): :data:`HAVE_NUMBA` says
whether the kernel is available, and :mod:`connectome.hmm` falls back to its numpy
blocked scan without it.  Compiled code is cached on disk (``cache=True``), so the
compilation (~1 s) is paid once per installation.

References
----------
.. [1] L. R. Rabiner, "A tutorial on hidden Markov models and selected applications in
   speech recognition", Proc. IEEE 77(2), 257–286, 1989.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HAVE_NUMBA", "forward_backward_scaled"]

try:  # pragma: no cover - exercised through HAVE_NUMBA in the tests
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False


def _fb_scaled_py(ll, start, trans, lens, gamma, logz, xi):  # pragma: no cover - compiled
    """Scaled forward–backward over every sequence (see the module docstring).

    ll (S, T, K) log-likelihoods; start (K,), trans (K, K) probabilities; lens (S,).
    Writes gamma (S, T, K) (zero past each length), logz (S,), xi (K, K) (summed).
    Returns False when a normaliser is not positive and finite (impossible observations
    under the model), so that the caller can fall back to a log-space computation.
    """
    n_seq, n_bins, k = ll.shape
    frame = np.empty((n_bins, k))
    scale = np.empty(n_bins)
    shift = np.empty(n_bins)
    tmp = np.empty(k)
    for s in range(n_seq):
        n = lens[s]
        for t in range(n):
            m = ll[s, t, 0]
            for j in range(1, k):
                if ll[s, t, j] > m:
                    m = ll[s, t, j]
            if not np.isfinite(m):
                return False
            shift[t] = m
            for j in range(k):
                frame[t, j] = np.exp(ll[s, t, j] - m)
        alpha = gamma[s]  # α̂_t is stored in gamma, then multiplied by β̂_t in place
        # forward: α̂_t = (α̂_{t-1} P) ⊙ b_t / c_t
        c = 0.0
        for j in range(k):
            v = start[j] * frame[0, j]
            alpha[0, j] = v
            c += v
        if not (c > 0.0 and np.isfinite(c)):
            return False
        scale[0] = c
        inv = 1.0 / c
        for j in range(k):
            alpha[0, j] *= inv
        for t in range(1, n):
            c = 0.0
            for j in range(k):
                acc = 0.0
                for i in range(k):
                    acc += alpha[t - 1, i] * trans[i, j]
                v = acc * frame[t, j]
                alpha[t, j] = v
                c += v
            if not (c > 0.0 and np.isfinite(c)):
                return False
            scale[t] = c
            inv = 1.0 / c
            for j in range(k):
                alpha[t, j] *= inv
        total = 0.0
        for t in range(n):
            total += np.log(scale[t]) + shift[t]
        logz[s] = total
        # backward: β̂_{t-1} = P (b_t ⊙ β̂_t) / c_t; ξ += α̂_{t-1} ⊗ (b_t ⊙ β̂_t) ∗ P / c_t
        # (α̂_{t-1}(i) P(i,j) b_t(j) β̂_t(j) / c_t = p(z_{t-1}=i, z_t=j | x)).
        beta = np.ones(k)
        for t in range(n - 1, 0, -1):
            # γ_t = α̂_t ⊙ β̂_t (sums to 1 up to rounding; renormalised as hmmlearn does)
            g = 0.0
            for j in range(k):
                alpha[t, j] *= beta[j]
                g += alpha[t, j]
            g = 1.0 / g
            for j in range(k):
                alpha[t, j] *= g
            inv = 1.0 / scale[t]
            for j in range(k):
                tmp[j] = frame[t, j] * beta[j] * inv
            for i in range(k):
                a = alpha[t - 1, i]
                acc = 0.0
                for j in range(k):
                    pij = trans[i, j] * tmp[j]
                    xi[i, j] += a * pij
                    acc += pij
                beta[i] = acc
        g = 0.0
        for j in range(k):
            alpha[0, j] *= beta[j]
            g += alpha[0, j]
        for j in range(k):
            alpha[0, j] /= g
        for t in range(n, n_bins):
            for j in range(k):
                alpha[t, j] = 0.0
    return True


if HAVE_NUMBA:
    _fb_scaled = numba.njit(cache=True, nogil=True, fastmath=False)(_fb_scaled_py)
else:  # pragma: no cover
    _fb_scaled = None


def forward_backward_scaled(
    ll: np.ndarray, start: np.ndarray, trans: np.ndarray, lens: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Posteriors, ``log p(x)`` and summed ξ by the compiled scaled recursion.

    Parameters
    ----------
    ll : ndarray of shape (n_seq, n_bins, n_states)
        Emission log-likelihoods (float64).
    start : ndarray of shape (n_states,)
        Initial state probabilities (not logs).
    trans : ndarray of shape (n_states, n_states)
        Transition matrix (not logs), rows = from-state.
    lens : ndarray of int of shape (n_seq,)
        Valid bins per sequence (1 ≤ lens ≤ n_bins).

    Returns
    -------
    (gamma, logz, xi) or None
        None when numba is missing or a bin is impossible under the model (a forward
        normaliser of 0); the caller then uses its log-space path.

    Examples
    --------
    >>> import numpy as np
    >>> ll = np.log(np.array([[[0.9, 0.1], [0.2, 0.8]]]))
    >>> out = forward_backward_scaled(ll, np.array([0.5, 0.5]),
    ...                               np.array([[0.9, 0.1], [0.1, 0.9]]), np.array([2]))
    >>> out is None or bool(np.allclose(out[0].sum(-1), 1.0))
    True
    """
    if _fb_scaled is None:
        return None
    ll = np.ascontiguousarray(ll, dtype=np.float64)
    n_seq, n_bins, k = ll.shape
    gamma = np.empty((n_seq, n_bins, k))
    logz = np.empty(n_seq)
    xi = np.zeros((k, k))
    ok = _fb_scaled(
        ll,
        np.ascontiguousarray(start, dtype=np.float64),
        np.ascontiguousarray(trans, dtype=np.float64),
        np.ascontiguousarray(lens, dtype=np.int64),
        gamma,
        logz,
        xi,
    )
    if not ok:
        return None
    return gamma, logz, xi
