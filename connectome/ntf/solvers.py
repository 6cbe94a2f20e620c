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

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy.linalg.blas import get_blas_funcs

from .kernels import hals_rows

__all__ = ["run_cp"]

# Rows of the tensor per block of the fused pass.  OpenBLAS (>= 0.3.16) runs a GEMM with
# M·N·K <= 1e6 through its unpacked "small matrix" kernels, which skip the packing copy of
# the operands.  Both products of a block (rows × J·K by J·K × R, and R × rows by
# rows × J·K) have M·N·K = rows·J·K·R, so blocks of at most 1e6 / (J·K·R) rows ran the
# fused pass 1.5–1.7x faster than 4 MB blocks (bench_ntf, both sizes, SkylakeX); such a
# block (~0.5 MB) also stays in the L2 cache between its two products.  Where that rule
# gives fewer than _MIN_SMALL_ROWS rows, blocks fall back to the cache size _BLOCK_BYTES
# (they should stay in the per-core share of the L3 cache between the two products).
_SMALL_GEMM_MNK = 1_000_000
# chunks of rows the worker threads take from a queue (load balance on a shared machine)
_N_CHUNKS = 8
_MIN_SMALL_ROWS = 4
_BLOCK_BYTES = 1 << 22

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


def _block_rows(n_cols: int, rank: int, itemsize: int) -> int:
    """Rows per block of the fused pass (see ``_SMALL_GEMM_MNK``)."""
    rows = _SMALL_GEMM_MNK // max(1, n_cols * rank)
    if rows >= _MIN_SMALL_ROWS:
        return rows
    return max(1, _BLOCK_BYTES // max(1, n_cols * itemsize))


class _FusedPass:
    """Mode-0 MTTKRP, HALS update of A and ``Z = AᵀX₍₀₎`` in one pass over the tensor.

    The rows are cut into ``_N_CHUNKS`` contiguous chunks of small row blocks
    (:func:`_block_rows`); ``n_workers`` threads take the chunks from a queue (the GEMMs
    and the compiled row update release the GIL), so a thread slowed down by other
    processes on a shared machine leaves its remaining chunks to the others instead of
    holding up the iteration.  BLAS itself runs single-threaded meanwhile, so threads
    never oversubscribe the cores.  Each chunk accumulates its own ``Z`` in place (GEMM
    with β = 1: no R × J·K temporary per block) and the chunks are summed in a fixed
    order: the result does not depend on the number of threads or on which thread ran
    which chunk (bit-identical).
    """

    def __init__(self, x2: np.ndarray, rank: int, n_inner: int, n_workers: int) -> None:
        self.x2 = x2
        self.n_inner = n_inner
        n = x2.shape[0]
        self.block = _block_rows(x2.shape[1], rank, x2.itemsize)
        # chunks are whole numbers of blocks, so every chunking walks the same blocks
        n_blocks = -(-n // self.block)
        n_chunks = max(1, min(_N_CHUNKS, n_blocks))
        edges = np.linspace(0, n_blocks, n_chunks + 1).round().astype(int) * self.block
        edges = np.minimum(edges, n)
        self.chunks = [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        n_workers = max(1, min(n_workers, n_chunks))
        self.pool = ThreadPoolExecutor(n_workers) if n_workers > 1 else None
        # BLAS gemm of the tensor's precision (scipy's wrapper: C = αAB + βC in place)
        (self.gemm,) = get_blas_funcs(("gemm",), (x2,))

    def _part(self, lo: int, hi: int, a: np.ndarray, krt: np.ndarray, gram: np.ndarray):
        x2, nb, gemm = self.x2, self.block, self.gemm
        z = np.zeros((a.shape[1], x2.shape[1]), dtype=x2.dtype)
        # Fortran-order views of the C-order arrays: zt = zᵀ (J·K, R), xb.T (J·K, rows),
        # a[s:e].T (R, rows); zᵀ += xbᵀ a_blk is then one BLAS call writing into zt (the
        # returned array is used, so a copy by the wrapper could cost time, never results)
        zt = z.T
        for s in range(lo, hi, nb):
            e = min(s + nb, hi)
            xb = x2[s:e]
            # M₀ rows as (krᵀ xbᵀ)ᵀ: this operand order ran ~10 % faster than xb @ kr at
            # full size (OpenBLAS small-matrix kernels); the kernel reads the view as is
            m = (krt @ xb.T).T
            hals_rows(a[s:e], m, gram, self.n_inner)
            zt = gemm(1.0, xb.T, a[s:e].T, 1.0, zt, trans_b=1, overwrite_c=1)
        return zt.T

    def __call__(self, a: np.ndarray, kr: np.ndarray, gram: np.ndarray):
        a = np.array(a, copy=True)  # rows updated in place by the workers
        krt = np.ascontiguousarray(kr.T)
        if self.pool is None:
            parts = [self._part(lo, hi, a, krt, gram) for lo, hi in self.chunks]
        else:
            futures = [self.pool.submit(self._part, lo, hi, a, krt, gram)
                       for lo, hi in self.chunks]
            parts = [f.result() for f in futures]
        z = parts[0]
        for zp in parts[1:]:  # fixed order: the same sum for any thread count
            z += zp
        return a, z

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _hals_update_rows(xp: Any, factor: Any, mttkrp: Any, gram: Any, n_inner: int) -> Any:
    """:func:`_hals_update` by the compiled row kernel (same sweeps, one call).

    Each row's column updates only involve that row, so sweeping row by row performs the
    same operations as sweeping column by column; the small B and C updates then cost
    one call instead of ``n_inner × R`` numpy calls (a few % of a small problem's time).
    """
    out = np.array(factor, copy=True)
    hals_rows(out, np.ascontiguousarray(mttkrp), gram, n_inner)
    return out


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
    n_workers: int | None = None,
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
    n_workers : int or None
        Threads of the fused pass (numpy backend, HALS, no mask, numba installed); None
        runs the two-pass iteration with the library's own BLAS threading.

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
    fused = None
    if (n_workers is not None and observed is None and method == "hals"
            and hals_rows is not None and isinstance(x2, np.ndarray)):
        fused = _FusedPass(x2, a.shape[1], n_inner, n_workers)
        update = _hals_update_rows
    try:
        gb, gc = b.T @ b, c.T @ c
        for it in range(1, n_iter_max + 1):
            if fused is not None:
                # one read of the tensor: M₀, the new A and Z = AᵀX₍₀₎ per row block
                a, z = fused(a, _khatri_rao(b, c), gb * gc)
                ga = a.T @ a
                z = z.reshape(a.shape[1], n1, n2)
                m1 = xp.einsum("rjk,kr->jr", z, c)
                b = update(xp, b, m1, ga * gc, n_inner)
                gb = b.T @ b
                m2 = xp.einsum("rjk,jr->kr", z, b)
                c = update(xp, c, m2, ga * gb, n_inner)
                del z
                gc = c.T @ c
                inner = xp.scalar((m2 * c).sum())
                model_sq = xp.scalar((ga * gb * gc).sum())
                errors.append(float(np.sqrt(max(norm_sq - 2.0 * inner + model_sq, 0.0))) / norm)
            else:
                a, b, c, gb, gc = _two_pass(
                    xp, x2, observed, a, b, c, gb, gc, update, n_inner, norm, norm_sq, errors
                )
            if callback is not None:
                callback(it)
            if tol > 0 and len(errors) >= 2 and abs(errors[-2] - errors[-1]) < tol:
                converged = True
                break
    finally:
        if fused is not None:
            fused.close()
    if observed is not None:
        # the history lags one sweep behind with a mask; close it with the final model
        recon = a @ _khatri_rao(b, c).T
        resid = xp.where(observed, x2 - recon, 0.0)
        errors.append(float(np.sqrt(max(xp.sqnorm(resid), 0.0))) / norm)
        errors = errors[1:]  # drop the initial model's error: one entry per iteration
    return [a, b, c], errors, it, converged


def _two_pass(xp, x2, observed, a, b, c, gb, gc, update, n_inner, norm, norm_sq, errors):
    """One iteration as two passes over the tensor (any backend, mask, MU or HALS)."""
    n1, n2 = b.shape[0], c.shape[0]
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
    gc = c.T @ c
    if observed is None:
        inner = xp.scalar((m2 * c).sum())
        model_sq = xp.scalar((ga * gb * gc).sum())
        errors.append(float(np.sqrt(max(norm_sq - 2.0 * inner + model_sq, 0.0))) / norm)
    return a, b, c, gb, gc
