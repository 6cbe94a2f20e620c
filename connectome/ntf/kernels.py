"""Compiled pieces of the fused NTF pass (numba; optional).

The HALS update of the mode-0 factor is separable over rows: row ``i`` of ``A`` only
needs row ``i`` of the MTTKRP ``M₀ = X₍₀₎ (B ⊙ C)`` and the R×R Gram ``G = BᵀB ∗ CᵀC``.
So a row block of the tensor can be read once from memory and, while it is still in
cache, give its rows of ``M₀``, the updated rows of ``A`` and its contribution
``A_blkᵀ X_blk`` to ``Z = AᵀX₍₀₎`` (from which the other two MTTKRPs follow).  The row
update is the same column-wise exact minimiser as :func:`connectome.ntf.solvers._hals_update`
(Cichocki & Phan 2009), applied row by row; numpy would need one call per column and
row block, so it is compiled here.

:data:`HAVE_NUMBA` tells whether the kernel exists; without numba the solver keeps its
two-pass numpy iteration (identical results up to rounding).
"""

from __future__ import annotations

import numpy as np

__all__ = ["HAVE_NUMBA", "hals_rows"]

try:  # pragma: no cover - both branches are exercised via HAVE_NUMBA in the tests
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False

# columns whose Gram diagonal falls below this are dead (all zero); same as solvers._DEAD
_DEAD = 1e-300


# rows updated together: their sweeps are independent, so interleaving them turns the
# latency-bound chain of one row's dot product into vectorisable work across rows
# (3.6x faster on 1225 × 10 factors than row by row, bit-identical results)
_GROUP = 16


def _hals_rows_py(a, m, g, n_inner):  # pragma: no cover - compiled
    """In place: ``n_inner`` HALS sweeps over the columns of every row of ``a``.

    a (n, R) factor rows, m (n, R) their MTTKRP rows, g (R, R) symmetric Gram.  Rows
    are taken ``_GROUP`` at a time into a transposed local copy; each row sees exactly
    the operations (and rounding order) of a row-by-row sweep.
    """
    n, rank = a.shape
    at = np.empty((rank, _GROUP), dtype=a.dtype)
    acc = np.empty(_GROUP, dtype=a.dtype)
    for i0 in range(0, n, _GROUP):
        gn = min(_GROUP, n - i0)
        for q in range(rank):
            for k in range(gn):
                at[q, k] = a[i0 + k, q]
        for _ in range(n_inner):
            for r in range(rank):
                d = g[r, r]
                if d <= _DEAD:
                    continue
                for k in range(gn):
                    acc[k] = m[i0 + k, r]
                for q in range(rank):
                    gqr = g[q, r]
                    for k in range(gn):
                        acc[k] -= at[q, k] * gqr
                for k in range(gn):
                    v = at[r, k] + acc[k] / d
                    at[r, k] = v if v > 0.0 else 0.0
        for q in range(rank):
            for k in range(gn):
                a[i0 + k, q] = at[q, k]


if HAVE_NUMBA:
    hals_rows = numba.njit(cache=True, nogil=True)(_hals_rows_py)
else:  # pragma: no cover
    hals_rows = None
