"""Ridge regression to many targets with a per-target alpha chosen by cross-validation.

The decoder of choice for brain → embedding mapping (a voxel pattern to a 384- or
768-dimensional stimulus embedding): thousands of features, hundreds of targets, a
handful of candidate penalties.  Everything the alphas and the targets share is computed
once:

- **one eigendecomposition** of the centred Gram matrix ``Xc Xc^T`` (when there are at
  most as many samples as features; otherwise of the covariance ``Xc^T Xc``) serves every
  alpha and every target;
- **exact leave-one-out** errors from that decomposition (the closed form of
  Golub, Heath & Wahba 1979, "Generalized cross-validation as a method for choosing a
  good ridge parameter", Technometrics 21:215; the same criterion as scikit-learn's
  ``RidgeCV`` with ``cv=None``): residual ``(y_i - yhat_i) / (1 - h_ii)``.  In the Gram
  case the residual is ``alpha`` times the dual coefficients ``(K + alpha I)^-1 y``, so
  one ``n x n x t`` product per alpha gives both the error and the coefficients, which
  are kept for each target's best alpha;
- **only the errors that can decide** a target's alpha are computed: the eigenbasis is
  orthogonal, so every error has cheap bounds (from the norm of the dual coefficients,
  then against the targets and each computed alpha), and an alpha provably worse than
  the target's best is skipped — the choice is the one of the full computation
  (``store_cv_results=True`` computes them all);
- **grouped K-fold** (by run or session) reuses one Gram matrix of all samples: each
  fold's centred train and test Gram blocks come from it by algebra, so a fold costs one
  ``n_train × n_train`` eigendecomposition and no pass over the features;
- the primal coefficients are formed **once**, ``X^T C`` after the per-target alphas are
  known (a ``RidgeCV`` with ``alpha_per_target=True`` forms ``X^T c`` for every alpha);
- the data are **not copied to centre them** in the Gram case: ``X X^T`` (one ``syrk``)
  is centred by rank-one corrections and ``Xc^T C = X^T (C - mean(C))``, unless the
  offset would cost precision (then ``X`` is centred first).

On 2000 samples x 10000 features -> 512 targets and 10 alphas (``benchmarks/
bench_ridge.py --repeat 3``, one BLAS thread) the float64 fit is 3.2-3.5x faster than
``RidgeCV(alpha_per_target=True)`` with predictions equal to 1e-14 (2.6x with
``store_cv_results=True``); 2.4 s of its 3.0 s are the Gram matrix and its
eigendecomposition, which RidgeCV computes too.

Heavy products run in ``dtype`` (float32 by default, as the rest of ``decoders``); a
float32 eigendecomposition is used only when every alpha is large next to float32's
error on the eigenvalues (``_eigh``), else it is done in float64, because small
eigenvalues decide the leave-one-out weights.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["MultiTargetRidgeCV", "DEFAULT_ALPHAS"]

#: Penalties tried by default: 10 values, 10^-1 ... 10^6 (features are not rescaled, so
#: the useful range scales with the number of features and their variance).
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-1, 6, 10))


def _loo_errors(U, lam, A, Yc, alphas, intercept: bool, dtype) -> np.ndarray:
    """Leave-one-out mean squared error, shape (n_alphas, n_targets).

    ``U`` (n, r) spans the centred design with eigenvalues ``lam`` (r,); ``A = U^T Yc``.
    The hat matrix is ``U diag(lam / (lam + alpha)) U^T`` plus ``11^T / n`` for the
    (unpenalised) intercept.
    """
    n = U.shape[0]
    U2 = U * U
    out = np.empty((len(alphas), Yc.shape[1]), dtype=np.float64)
    for i, alpha in enumerate(alphas):
        f = (lam / (lam + alpha)).astype(dtype)
        h = U2 @ f + (1.0 / n if intercept else 0.0)
        resid = Yc - U @ (f[:, None] * A)
        resid /= (1.0 - h)[:, None]
        out[i] = np.einsum("ij,ij->j", resid, resid, dtype=np.float64) / n
    return out


#: Largest tolerated ``max_i ||x_i||^2 / max_i ||x_i - mean||^2`` for centring the
#: Gram matrix instead of the data.  Centring ``X X^T`` algebraically loses about that
#: factor of relative precision (the uncentred entries carry the offset), so the float64
#: Gram is centred when the loss is under 2 decimal digits and float32 when it is under
#: 2 bits; otherwise the data are centred first (one copy of ``X``).
_MAX_GRAM_CANCELLATION = {np.dtype(np.float64): 100.0, np.dtype(np.float32): 4.0}


def _centred_gram(X: np.ndarray, intercept: bool):
    """``(K, Xc, x_mean)``: the Gram of the centred data and, if it was needed, ``Xc``.

    ``K = (X - 1 m^T)(X - 1 m^T)^T = X X^T - r 1^T - 1 r^T + (m.m) 11^T`` with
    ``r = X m``: one ``syrk`` on ``X`` itself and ``O(n^2)`` corrections, so no
    centred copy of ``X`` (n x p) is made.  ``Xc`` is ``None`` then; it is returned
    (and ``K`` is its Gram) when the offset is too large for that algebra to keep the
    precision (see ``_MAX_GRAM_CANCELLATION``) or without an intercept (``Xc = X``).
    """
    if not intercept:
        return X @ X.T, X, np.zeros(X.shape[1], X.dtype)
    x_mean = X.mean(axis=0)
    K = X @ X.T  # numpy dispatches a @ a.T to syrk: one triangle, half the flops of gemm
    r = X @ x_mean
    s = x_mean @ x_mean
    top = float(np.max(np.diagonal(K)))
    centred_top = float(np.max(np.diagonal(K) - 2.0 * r + s))
    if not centred_top > 0.0 or top > _MAX_GRAM_CANCELLATION[X.dtype] * centred_top:
        Xc = X - x_mean
        return Xc @ Xc.T, Xc, x_mean
    K -= r[:, None]
    K -= r[None, :]
    K += s
    return K, None, x_mean


#: Relative slack on the screening bounds, in units of ``n * eps(dtype)`` (the classical
#: worst-case rounding bound of an ``n``-term product): an alpha is dropped only when its
#: error is provably worse by more than the rounding of the computed errors.
_SCREEN_SLACK = 64.0


def _one_minus_hat(U, lam, alphas, intercept: bool, block: int = 256) -> np.ndarray:
    """``1 - h_ii`` for every sample and alpha, shape (n, n_alphas).

    ``h = (U∘U) F`` with ``F = lam / (lam + alpha)`` (plus ``1/n`` for the intercept):
    one pass over ``U`` for all alphas, by blocks of rows so that ``U∘U`` is never held
    whole (a fresh ``n x n`` temporary costs more in page faults than the product).
    """
    n = U.shape[0]
    F = (lam[:, None] / (lam[:, None] + alphas[None, :])).astype(U.dtype)
    out = np.empty((n, len(alphas)), dtype=np.float64)
    for start in range(0, n, block):
        out[start:start + block] = np.square(U[start:start + block]) @ F
    return 1.0 - out - (1.0 / n if intercept else 0.0)


class _LooBounds:
    """Bounds on leave-one-out errors that cost no ``n x n`` product.

    The residual of target ``j`` at penalty ``a`` is ``r = W[:, a] * C[:, j]`` with
    ``C = U D_a A`` (``D_a = diag(1 / (lam + alpha_a))``) and ``U`` orthogonal.  So

    - ``||C[:, j]|| = ||D_a A[:, j]||`` is known without the product, and ``||r||^2``
      lies between ``min_i W_ia^2`` and ``max_i W_ia^2`` times its square (``norm``);
    - once the residual ``r_b`` of another penalty is computed, the triangle inequality
      gives ``| ||r_a|| - ||r_b|| | <= max_i |W_ia| ||(D_a - D_b) A_j||
      + max_i |W_ia - W_ib| ||D_b A_j||`` (``near``): tight for neighbouring penalties
      far below the spectrum, whose errors the first bound cannot tell apart;
    - against a reference ``R = U q`` whose entries are known (the centred targets,
      ``q = A``, or a computed ``C_b``, ``q = D_b A``), write ``C = s R + e`` with
      ``e = U (D_a A - s q)``, so ``||e||`` is known, and ``W_a^2 = m + delta``:
      ``||r||^2 = m ||C||^2 + s^2 sum(delta R^2) + 2 s sum(delta R e) + sum(delta e^2)``,
      where only the last two terms are unknown, and small (``reference``): tight
      wherever ``C`` is nearly proportional to ``R`` (large alphas against the targets,
      close alphas against each other) or the weights are nearly even.

    Errors are ``||r||^2 / n``; every bound is widened by the rounding slack.
    """

    def __init__(self, lam, A, W, alphas):
        n = A.shape[0]
        self.n = n
        self.slack = _SCREEN_SLACK * n * float(np.finfo(A.dtype).eps)
        self.D = 1.0 / (lam[:, None] + alphas[None, :])  # (n, n_alphas)
        # Targets as rows: a round picks some targets, and copying rows is cheap.
        self.AT = np.ascontiguousarray(A.T, dtype=np.float64)  # (t, n)
        self.A2T = self.AT ** 2
        self.dnorm = np.sqrt(np.maximum(self.A2T @ self.D ** 2, 0.0)).T  # ||D_a A_j||
        W = W.astype(np.float64)
        self.wmax = np.abs(W).max(axis=0)
        self.wmin = np.abs(W).min(axis=0)
        # max_i |W_ia - W_ib| for every pair (n x k x k floats, alpha by alpha).
        self.dw = np.stack([np.abs(W - W[:, [b]]).max(axis=0) for b in range(W.shape[1])],
                           axis=1)
        W2 = W * W
        self.m = 0.5 * (W2.max(axis=0) + W2.min(axis=0))  # W_a^2 = m_a + delta_a
        self.delta = W2 - self.m
        self.dmin, self.dmax = self.delta.min(axis=0), self.delta.max(axis=0)
        self.eps = float(np.finfo(A.dtype).eps)

    def norm(self):
        """``(lo, hi)``, shape (n_alphas, n_targets), from the residual norms alone."""
        lo = (self.wmin[:, None] * self.dnorm) ** 2 / self.n
        hi = (self.wmax[:, None] * self.dnorm) ** 2 / self.n
        return lo * (1.0 - self.slack), hi * (1.0 + self.slack)

    def near(self, b: int, rows: np.ndarray, err_b: np.ndarray):
        """``(lo, hi)``, shape (n_alphas, len(rows)), of every alpha on targets ``rows``
        from the exact errors ``err_b`` of alpha ``b`` on them."""
        rb = np.sqrt(self.n * err_b)[None, :]  # ||r_b||
        # ||(D_a - D_b) A_j|| for every alpha a, on these targets only.
        ddnorm = np.sqrt(np.maximum(self.A2T[rows] @ (self.D - self.D[:, [b]]) ** 2,
                                    0.0)).T
        gap = (self.wmax[:, None] * ddnorm
               + self.dw[:, b][:, None] * self.dnorm[b, rows][None, :])
        gap = gap + self.slack * rb
        lo = np.maximum(rb - gap, 0.0) ** 2 / self.n
        hi = (rb + gap) ** 2 / self.n
        return lo * (1.0 - self.slack), hi * (1.0 + self.slack)

    def reference(self, rows: np.ndarray, RT: np.ndarray, QT: np.ndarray):
        """``(lo, hi)``, shape (n_alphas, len(rows)), of every alpha on targets ``rows``
        against references ``R = U q``: ``RT`` (len(rows), n) in sample space and
        ``QT`` in the eigenbasis."""
        RT = RT.astype(np.float64, copy=False)
        QT = QT.astype(np.float64, copy=False)
        R2 = RT * RT
        known = R2 @ self.delta  # sum_i delta_ia R_i^2, (rows, k)
        dr = np.sqrt(np.maximum(R2 @ self.delta ** 2, 0.0))  # ||delta_a * R||
        qq = np.einsum("ij,ij->i", QT, QT)[:, None]
        ip = (self.AT[rows] * QT) @ self.D  # <D_a A_j, q_j>
        s = np.divide(ip, qq, out=np.zeros_like(ip), where=qq > 0)
        c2 = self.dnorm[:, rows].T ** 2  # ||C||^2 = ||D_a A_j||^2
        # ||e||^2 = ||C||^2 - <D_a A, q>^2 / ||q||^2 cancels where it is small: add an
        # upper bound of that cancellation (16 n eps ||C||^2) so it stays an upper bound.
        e2 = np.maximum(c2 - s * ip, 0.0) + 16.0 * self.n * self.eps * c2
        centre = self.m * c2 + s * s * known
        cross = 2.0 * np.abs(s) * dr * np.sqrt(e2)
        lo = centre - cross + np.minimum(self.dmin, 0.0) * e2
        hi = centre + cross + np.maximum(self.dmax, 0.0) * e2
        pad = self.slack * (self.wmax ** 2) * c2
        return (np.maximum(lo - pad, 0.0) / self.n).T, ((hi + pad) / self.n).T


def _loo_gram(U, lam, A, alphas, intercept: bool, per_target: bool, every: bool = False,
              Yc=None):
    """Leave-one-out errors and the dual coefficients at the chosen alphas.

    ``U`` (n, n) is the full eigenbasis of the centred Gram ``K`` (eigenvalues ``lam``)
    and ``A = U^T Yc``.  For a penalty ``alpha`` the dual coefficients are
    ``C = (K + alpha I)^-1 Yc = U diag(1 / (lam + alpha)) A`` and the residuals
    ``Yc - K C = alpha C``; with the hat diagonal ``h`` (the intercept adds ``1/n``)
    the leave-one-out residual is ``alpha C_i / (1 - h_i)``.  So one ``n x n`` product
    per alpha and target gives both the error and the coefficients.

    Unless ``every``, that product is skipped where it cannot change the choice: bounds
    (``_LooBounds``) drop the alphas that are provably worse than an upper bound of the
    target's best error, then, round after round, the candidate with the lowest bound
    is computed exactly and the bounds are tightened from it, until no candidate is
    left.  Skipped errors are ``inf``; the chosen alpha (first minimum, as
    ``np.argmin`` and scikit-learn's ``RidgeCV`` choose) and its coefficients are those
    of the full computation.  On 2000 x 10000 -> 512 targets, 10 alphas, this computes
    12% of the (alpha, target) errors, mostly the chosen ones
    (``benchmarks/bench_ridge.py``).

    Returns
    -------
    errors : ndarray of shape (n_alphas, n_targets), float64 (``inf`` where skipped)
    CT : ndarray of shape (n_targets, n), the dual coefficients of the chosen alphas
    computed : ndarray of bool, shape (n_alphas, n_targets), the errors computed

    ``Yc`` (n, n_targets), the centred targets ``U A``, sharpens the first bounds.
    """
    n, t = A.shape
    k = len(alphas)
    one_minus_h = _one_minus_hat(U, lam, alphas, intercept)
    errors = np.full((k, t), np.inf)
    computed = np.zeros((k, t), bool)
    best = np.full(t, np.inf)
    best_i = np.full(t, k)
    # Targets as rows (C^T = (D A)^T U^T): picking the screened targets, and keeping
    # the best coefficients, copies contiguous rows instead of strided columns.
    AT = np.ascontiguousarray(A.T)
    CT_best = np.zeros_like(AT)

    def compute(i: int, rows: np.ndarray):
        """Exact errors of alpha ``i`` on targets ``rows``; keep the best coefficients.
        Returns the dual coefficients and ``D_i A``, both of shape (len(rows), n)."""
        DAT = (AT[rows] if rows.size < t else AT) * (1.0 / (lam + alphas[i])).astype(A.dtype)
        CT = DAT @ U.T
        resid = CT * W[:, i].astype(A.dtype)  # the LOO residuals
        err = np.einsum("ij,ij->i", resid, resid, dtype=np.float64) / n
        errors[i, rows] = err
        computed[i, rows] = True
        if per_target:
            # Alphas are not computed in order: an equal error wins if its alpha is first.
            improved = (err < best[rows]) | ((err == best[rows]) & (i < best_i[rows]))
        else:
            improved = np.full(rows.size, err.mean() < best.mean())
        CT_best[rows[improved]] = CT[improved]
        best[rows[improved]] = err[improved]
        best_i[rows[improved]] = i
        return CT, DAT

    with np.errstate(divide="ignore", invalid="ignore"):
        W = alphas[None, :] / one_minus_h  # LOO residual = W * C
    # A leverage of 1 (to rounding) makes that sample's residual weight infinite; the
    # bounds cannot handle it, so every error is computed and chosen as before.
    every = every or not np.all(np.isfinite(W))
    if every:
        todo = np.ones((k, t), bool)
    else:
        bounds = _LooBounds(lam, A, W, alphas)
        lo, hi = bounds.norm()
        if not per_target:  # one alpha for all: bound the mean error over targets
            todo = np.repeat((lo.mean(axis=1) <= hi.mean(axis=1).min())[:, None], t, axis=1)
    if every or not per_target:
        for i in range(k):
            rows = np.flatnonzero(todo[i])
            if rows.size:
                compute(i, rows)
        return errors, CT_best, computed

    if Yc is not None:
        ref_lo, ref_hi = bounds.reference(np.arange(t), Yc.T, AT)
        lo, hi = np.maximum(lo, ref_lo), np.minimum(hi, ref_hi)
    todo = lo <= hi.min(axis=0)[None, :]
    while todo.any():
        pick = np.argmin(np.where(todo, lo, np.inf), axis=0)
        has = todo.any(axis=0)
        for i in np.unique(pick[has]):
            rows = np.flatnonzero(has & (pick == i))
            CT, DAT = compute(int(i), rows)
            todo[i, rows] = False
            near_lo, near_hi = bounds.near(int(i), rows, errors[i, rows])
            ref_lo, ref_hi = bounds.reference(rows, CT, DAT)
            lo[:, rows] = np.maximum(lo[:, rows], np.maximum(near_lo, ref_lo))
            hi[:, rows] = np.minimum(hi[:, rows], np.minimum(near_hi, ref_hi))
        upper = np.minimum(hi.min(axis=0), best)
        todo &= lo <= upper[None, :]
    return errors, CT_best, computed


def _centre_gram(G_tr_tr, G_te_tr=None):
    """Gram blocks of data centred by the training mean, from an uncentred Gram."""
    r = G_tr_tr.mean(axis=1)
    s = r.mean()
    K = G_tr_tr - r[:, None] - r[None, :] + s
    if G_te_tr is None:
        return K, None
    q = G_te_tr.mean(axis=1)
    return K, G_te_tr - q[:, None] - r[None, :] + s


def _top_eigenvalue(M: np.ndarray, n_iter: int = 20) -> float:
    """Largest eigenvalue of a symmetric PSD matrix by power iteration (fixed start)."""
    v = np.linspace(1.0, 2.0, M.shape[0], dtype=M.dtype)
    lam = 0.0
    for _ in range(n_iter):
        w = M @ v
        lam = float(np.linalg.norm(w))
        if lam == 0.0:
            return 0.0
        v = w / lam
    return lam


def _eigh(M, min_alpha: float):
    """Eigendecomposition in ``M``'s precision when that is safe, else in float64.

    float32 eigenvalues are off by about ``1e-7 * lam_max`` (the float32 Gram itself is
    no more accurate); that leaves the ridge filter ``lam / (lam + alpha)`` unchanged to
    float32 precision while every penalty is much larger, so float32 input is decomposed
    in float32 (LAPACK ``ssyevd``, 2-3x faster than ``dsyevd``) unless
    ``min_alpha < 1e-5 * lam_max`` (``lam_max`` by power iteration).

    ``numpy.linalg.eigh`` (LAPACK ``?syevd``), not scipy's: scipy links its own OpenBLAS,
    whose thread pool next to numpy's made the Haxby decoding (many small fits, default
    threads) 10x slower in CPU time (46.7 s vs 4.8 s for 2 permutations), although on one
    thread, in place on the Fortran view, it was ~0.1 s faster at 2000 x 2000.
    """
    if M.dtype == np.float32 and min_alpha >= 1e-5 * _top_eigenvalue(M):
        lam, U = np.linalg.eigh(M)
    else:
        lam, U = np.linalg.eigh(M.astype(np.float64, copy=False))
    return np.clip(lam.astype(np.float64), 0.0, None), U


def _eig(K, intercept: bool, min_alpha: float = 0.0):
    """Eigendecomposition of a centred Gram; the intercept direction gets lam=0."""
    lam, U = _eigh(K, min_alpha)
    if intercept:
        # Centring puts 1/sqrt(n) in the null space; zero that eigenvalue exactly (as
        # scikit-learn's _RidgeGCV does) so rounding cannot penalise the intercept.
        lam[np.argmax(np.abs(U.sum(axis=0)))] = 0.0
    return lam, U


def _select(errors: np.ndarray, per_target: bool) -> np.ndarray:
    """Index of the best alpha per target, shape (n_targets,)."""
    if per_target:
        return np.argmin(errors, axis=0)
    return np.full(errors.shape[1], int(np.argmin(errors.mean(axis=1))))


class MultiTargetRidgeCV(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge regression to many targets with a cross-validated alpha per target.

    Minimises ``||y_t - X w_t - b_t||^2 + alpha_t ||w_t||^2`` for every target ``t``,
    with ``alpha_t`` chosen among ``alphas`` by exact leave-one-out (``cv=None``) or by
    (grouped) K-fold cross-validation.  One eigendecomposition is shared by all alphas
    and targets (see the module docstring); predictions equal those of
    ``sklearn.linear_model.RidgeCV(alphas, alpha_per_target=True)`` with ``cv=None``.

    Parameters
    ----------
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Candidate penalties (> 0).
    cv : None, int or splitter, default=None
        ``None``: exact leave-one-out.  An int ``k``: ``GroupKFold(k)`` when ``groups``
        are passed to :meth:`fit` (e.g. the run of each sample), else ``KFold(k)``.  Or
        any object with ``split(X, y, groups)`` (e.g. ``LeaveOneGroupOut()``).
    alpha_per_target : bool, default=True
        One alpha per target; ``False`` picks one alpha for all targets (lowest mean
        error).
    fit_intercept : bool, default=True
        Fit an unpenalised intercept per target (the data are centred).
    dtype : {"float32", "float64"}, default="float32"
        Precision of the Gram matrix, its eigendecomposition (float64 when an alpha is
        below 1e-5 of its largest eigenvalue) and the per-alpha products.
    store_cv_results : bool, default=False
        Keep the cross-validated error of every alpha and target in ``cv_mse_`` (as
        scikit-learn's ``RidgeCV(store_cv_results=True)``).  Without it, leave-one-out
        computes only the errors that can decide a target's alpha (``_LooBounds``); the
        chosen alphas and the fit are the same.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features) or (n_features,)
    intercept_ : ndarray of shape (n_targets,) or float
    alpha_ : ndarray of shape (n_targets,) or float
        The chosen penalties.
    cv_mse_ : ndarray of shape (n_alphas, n_targets)
        Cross-validated mean squared error of every alpha and target; only with
        ``store_cv_results=True``.
    best_score_ : ndarray of shape (n_targets,)
        Minus the cross-validated mean squared error at the chosen alpha (scikit-learn's
        sign convention).
    cv_computed_ : ndarray of bool, shape (n_alphas, n_targets)
        Which errors were computed: all with ``store_cv_results=True`` or K-fold; with
        leave-one-out, only those that could decide the target's alpha.
    solver_ : str
        ``"gram"`` (n_samples <= n_features) or ``"covariance"``.
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 200)); W = rng.standard_normal((200, 3))
    >>> model = MultiTargetRidgeCV(alphas=[1.0, 10.0, 100.0]).fit(X, X @ W)
    >>> model.coef_.shape, model.alpha_.shape
    ((3, 200), (3,))
    """

    def __init__(
        self,
        alphas: Sequence[float] = DEFAULT_ALPHAS,
        *,
        cv: Any = None,
        alpha_per_target: bool = True,
        fit_intercept: bool = True,
        dtype: str = "float32",
        store_cv_results: bool = False,
    ):
        self.alphas = alphas
        self.cv = cv
        self.alpha_per_target = alpha_per_target
        self.fit_intercept = fit_intercept
        self.dtype = dtype
        self.store_cv_results = store_cv_results

    def _check_params(self) -> tuple[np.ndarray, np.dtype]:
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64)).ravel()
        if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
            raise ValueError(f"alphas must be positive finite numbers; got {self.alphas!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}")
        if not (self.cv is None or isinstance(self.cv, numbers.Integral)
                or hasattr(self.cv, "split")):
            raise ValueError(f"cv must be None, an int or a splitter; got {self.cv!r}")
        if isinstance(self.cv, numbers.Integral) and self.cv < 2:
            raise ValueError(f"cv={self.cv} folds; need at least 2 (or None for leave-one-out)")
        return alphas, np.dtype(self.dtype)

    def fit(self, X, y, groups=None):
        """Choose the alphas by cross-validation, then fit on all samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        groups : array-like of shape (n_samples,) or None
            Group of each sample (run, session) for grouped K-fold; ignored by
            leave-one-out.

        Returns
        -------
        self
        """
        alphas, dt = self._check_params()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=True, ensure_min_samples=2)
        X = np.asarray(X, dtype=dt)
        Y = np.asarray(y, dtype=dt)
        one_d = Y.ndim == 1
        if one_d:
            Y = Y[:, None]
        n, p = X.shape
        y_mean = Y.mean(axis=0) if self.fit_intercept else np.zeros(Y.shape[1], dt)
        Yc = Y - y_mean
        gram = n <= p
        self.solver_ = "gram" if gram else "covariance"
        if gram:
            # Centred by the full mean (folds re-centre); Xc is None when the Gram was
            # centred instead of the data.
            G, Xc, x_mean = _centred_gram(X, self.fit_intercept)
        else:
            x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(p, dt)
            Xc = X - x_mean

        # One decomposition of all samples: the leave-one-out errors and the final fit
        # share it (K-fold adds one per fold).
        if gram:
            lam, U = _eig(G, self.fit_intercept, alphas.min())
            U = U.astype(dt, copy=False)
            A = U.T @ Yc
        else:
            lam, V = _eigh(Xc.T @ Xc, alphas.min())
            V = V.astype(dt, copy=False)
        if self.cv is None and gram:
            errors, CT, computed = _loo_gram(U, lam, A, alphas, self.fit_intercept,
                                             self.alpha_per_target,
                                             every=self.store_cv_results, Yc=Yc)
        elif self.cv is None:
            errors = self._loo(Xc, Yc, V, lam, alphas, dt)
        else:
            errors = self._kfold(X, Xc, Yc, G if gram else None, alphas, groups, dt)
        if self.cv is not None or not gram:
            computed = np.ones(errors.shape, bool)
        best = _select(errors, self.alpha_per_target)

        # Final fit on all samples with the chosen alpha of each target.
        alpha_t = alphas[best]
        if gram:
            if self.cv is not None:
                CT = (U @ ((1.0 / (lam[:, None] + alpha_t[None, :])).astype(dt) * A)).T
            # coef_ = C^T Xc, (n_targets, n_features) in C order: the layout coef_ and
            # predict use, and a faster product than Xc^T C (0.40 s vs 0.45 s at 2000 x
            # 10000 -> 512).
            if Xc is None:
                # C^T Xc = (C - 1 (1^T C) / n)^T X, because X^T 1 = n * mean: centring the
                # n x t coefficients stands in for centring the n x p data.
                coef = (CT - CT.mean(axis=1, keepdims=True)) @ X
            else:
                coef = CT @ Xc
        else:
            D = (1.0 / (lam[:, None] + alpha_t[None, :])).astype(dt)
            coef = (V @ (D * (V.T @ (Xc.T @ Yc)))).T
        intercept = y_mean - coef @ x_mean
        if self.store_cv_results:
            self.cv_mse_ = errors
        elif hasattr(self, "cv_mse_"):
            del self.cv_mse_  # a refit without it must not keep the previous fit's
        self.best_score_ = -errors[best, np.arange(errors.shape[1])]
        self.cv_computed_ = computed
        if one_d:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
            self.alpha_ = float(alpha_t[0])
        else:
            self.coef_, self.intercept_, self.alpha_ = coef, intercept, alpha_t
        return self

    def _loo(self, Xc, Yc, V, lam, alphas, dt):
        # Covariance path: left singular vectors of the non-null directions.
        keep = lam > lam.max() * 1e-12 if lam.max() > 0 else lam > 0
        lam = lam[keep]
        U = (Xc @ V[:, keep]) / np.sqrt(lam).astype(dt)
        return _loo_errors(U, lam, U.T @ Yc, Yc, alphas, self.fit_intercept, dt)

    def _kfold(self, X, Xc, Yc, G, alphas, groups, dt):
        # X: what the splitter sees; Xc: the centred data (covariance path only).
        n = X.shape[0]
        if isinstance(self.cv, numbers.Integral):
            splitter = GroupKFold(int(self.cv)) if groups is not None else KFold(int(self.cv))
        else:
            splitter = self.cv
        sse = np.zeros((len(alphas), Yc.shape[1]), dtype=np.float64)
        seen = np.zeros(n, dtype=np.int64)
        for train, test in splitter.split(X, Yc, groups):
            seen[test] += 1
            Ytr = Yc[train]
            ym = Ytr.mean(axis=0) if self.fit_intercept else 0.0
            if G is not None:
                if self.fit_intercept:
                    K, Kte = _centre_gram(G[np.ix_(train, train)], G[np.ix_(test, train)])
                else:
                    K, Kte = G[np.ix_(train, train)], G[np.ix_(test, train)]
                lam, U = _eig(K, self.fit_intercept, alphas.min())
                Ud = U.astype(dt)
                A = Ud.T @ (Ytr - ym)
                for i, alpha in enumerate(alphas):
                    C = Ud @ ((1.0 / (lam + alpha)).astype(dt)[:, None] * A)
                    r = Yc[test] - (Kte @ C + ym)
                    sse[i] += np.einsum("ij,ij->j", r, r, dtype=np.float64)
            else:
                xm = Xc[train].mean(axis=0) if self.fit_intercept else 0.0
                Xtr, Xte = Xc[train] - xm, Xc[test] - xm
                lam, V = _eigh(Xtr.T @ Xtr, alphas.min())
                Vd = V.astype(dt)
                B = Vd.T @ (Xtr.T @ (Ytr - ym))
                P = Xte @ Vd
                for i, alpha in enumerate(alphas):
                    r = Yc[test] - (P @ ((1.0 / (lam + alpha)).astype(dt)[:, None] * B) + ym)
                    sse[i] += np.einsum("ij,ij->j", r, r, dtype=np.float64)
        if not np.any(seen):
            raise ValueError("the cross-validation splitter produced no test fold")
        return sse / max(int(seen.sum()), 1)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape (n_samples, n_targets) (or (n_samples,) for 1-D y)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        if self.coef_.dtype == np.float64:
            return np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        # float32 products differ in the last bit with where a row falls in the BLAS
        # kernel's blocking, so a sample's prediction would depend on the other rows
        # (scikit-learn's check_methods_sample_order_invariance failed on some
        # permutations); accumulated in float64 and rounded once, it does not.
        out = np.asarray(X, dtype=np.float64) @ self.coef_.T.astype(np.float64)
        return (out + self.intercept_).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
