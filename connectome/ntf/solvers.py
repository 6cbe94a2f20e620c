"""One run of non-negative CP-ALS for a 3-way tensor: HALS or multiplicative updates.

Cost model.  For ``X`` of shape (I, J, K) stored C-contiguous, ``X.reshape(I, J*K)`` is a
free view, so

* the mode-0 MTTKRP is one GEMM, ``X₍₀₎ @ (B ⊙ C)`` with the (J·K, R) Khatri-Rao product;
* after the mode-0 update, ``Z = Aᵀ X₍₀₎`` (R, J, K) is one more GEMM, and both remaining
  MTTKRPs come from the small ``Z``: ``M₁[j, r] = Σ_k Z[r, j, k] C[k, r]`` and
  ``M₂[k, r] = Σ_j Z[r, j, k] B[j, r]`` (``Z`` does not depend on B or C, so it stays valid
  after the mode-1 update).

Each iteration therefore reads the tensor exactly twice and never copies or unfolds it
(tensorly unfolds, i.e. copies, the tensor for every mode).  Gram matrices are Hadamard
products of R×R grams, and the error comes from norms and the last MTTKRP,
``‖X − X̂‖² = ‖X‖² − 2⟨M₂, C⟩ + Σ (AᵀA ∗ BᵀB ∗ CᵀC)``, without forming ``X̂``.

Missing entries (mask) are handled by expectation-maximisation: before each sweep the
missing entries are filled with the current model, which majorises the masked least-squares
objective, so the masked error cannot increase (Tomasi & Bro 2005; Kolda & Bader 2009 §3.2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["run_cp"]

# columns whose Gram diagonal falls below this are dead (all zero): they are skipped
# rather than divided by ~0
_DEAD = 1e-300
# floor of the multiplicative-update denominator, relative to nothing (units of X·factor²)
_MU_EPS = 1e-12


def _khatri_rao(b: Any, c: Any) -> Any:
    """(J·K, R) product with row j*K + k equal to b[j] * c[k] (matches C-order reshape)."""
    return (b[:, None, :] * c[None, :, :]).reshape(b.shape[0] * c.shape[0], b.shape[1])


def _hals_update(xp: Any, factor: Any, mttkrp: Any, gram: Any, n_inner: int) -> Any:
    """HALS sweeps on ``min_{F ≥ 0} ‖X₍ₙ₎ − F Hᵀ‖`` given ``M = X₍ₙ₎ H`` and ``G = HᵀH``.

    Column r is set to ``max(0, F[:, r] + (M[:, r] − F G[:, r]) / G[r, r])``, the exact
    minimiser over that column with the others fixed (Cichocki & Phan 2009).  Work on the
    transpose so that each column is a contiguous row.
    """
    ft = xp.copy(xp.contiguous(factor.T))
    mt = xp.contiguous(mttkrp.T)
    diag = xp.diag(gram)
    for _ in range(n_inner):
        for r in range(ft.shape[0]):
            g = float(diag[r])
            if g <= _DEAD:
                continue
            ft[r] = xp.clip0(ft[r] + (mt[r] - gram[r] @ ft) / g)
    return ft.T


def _mu_update(xp: Any, factor: Any, mttkrp: Any, gram: Any, n_inner: int) -> Any:
    """Lee–Seung multiplicative update ``F ← F ∗ M / (F G)`` (stays non-negative)."""
    for _ in range(n_inner):
        factor = factor * mttkrp / xp.clip_min(factor @ gram, _MU_EPS)
    return factor


def run_cp(
    xp: Any,
    tensor: Any,
    mask: Any | None,
    factors: list[Any],
    *,
    method: str,
    n_iter_max: int,
    tol: float,
    n_inner: int,
    callback: Any = None,
) -> tuple[list[Any], list[float], int, bool]:
    """Iterate from ``factors`` until the tolerance or ``n_iter_max``.

    Parameters
    ----------
    xp : namespace from :mod:`connectome.ntf.backend`
    tensor : array of shape (I, J, K), C-contiguous, zeros where ``mask`` is False
    mask : bool array of shape (I, J, K) or None
    factors : list of 3 arrays (I, R), (J, R), (K, R), non-negative
    method : "hals" or "mu"
    n_iter_max, tol, n_inner : see :func:`connectome.ntf.nonneg_cp`
    callback : callable(iteration) or None, called after each iteration (progress bars)

    Returns
    -------
    factors, errors (relative, one per iteration), n_iter, converged
    """
    update = _hals_update if method == "hals" else _mu_update
    a, b, c = factors
    n0, n1, n2 = tensor.shape
    x2 = tensor.reshape(n0, n1 * n2)
    observed = mask.reshape(n0, n1 * n2) if mask is not None else None
    norm_sq = xp.sqnorm(x2)
    norm = float(np.sqrt(norm_sq)) if norm_sq > 0 else 1.0
    errors: list[float] = []
    converged = False
    it = 0
    for it in range(1, n_iter_max + 1):
        gb, gc = b.T @ b, c.T @ c
        kr = _khatri_rao(b, c)
        if observed is None:
            data = x2
            m0 = x2 @ kr
        else:
            # E-step: observed entries from the data, missing ones from the model.
            # M0 = filled @ kr = A (GB∗GC) + resid @ kr avoids a second product with recon.
            recon = a @ kr.T
            resid = xp.where(observed, x2 - recon, 0.0)
            errors.append(float(np.sqrt(max(xp.sqnorm(resid), 0.0))) / norm)
            data = recon + resid
            del recon
            m0 = a @ (gb * gc) + resid @ kr
            del resid
        a = update(xp, a, m0, gb * gc, n_inner)
        ga = a.T @ a
        z = (a.T @ data).reshape(a.shape[1], n1, n2)
        m1 = xp.einsum("rjk,kr->jr", z, c)
        b = update(xp, b, m1, ga * gc, n_inner)
        gb = b.T @ b
        m2 = xp.einsum("rjk,jr->kr", z, b)
        c = update(xp, c, m2, ga * gb, n_inner)
        del data, z
        if observed is None:
            gc = c.T @ c
            inner = xp.scalar((m2 * c).sum())
            model_sq = xp.scalar((ga * gb * gc).sum())
            errors.append(float(np.sqrt(max(norm_sq - 2.0 * inner + model_sq, 0.0))) / norm)
        if callback is not None:
            callback(it)
        if tol > 0 and len(errors) >= 2 and abs(errors[-2] - errors[-1]) < tol:
            converged = True
            break
    if observed is not None:
        # the history lags one sweep behind with a mask; close it with the final model
        recon = a @ _khatri_rao(b, c).T
        resid = xp.where(observed, x2 - recon, 0.0)
        errors.append(float(np.sqrt(max(xp.sqnorm(resid), 0.0))) / norm)
        errors = errors[1:]  # drop the initial model's error: one entry per iteration
    return [a, b, c], errors, it, converged
