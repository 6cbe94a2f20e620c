"""The fast NTF paths (fused one-pass HALS, threads, float32) give the two-pass results.

Synthetic ground truth only: planted non-negative rank-3 tensors with a little noise.
The reference is the two-pass numpy iteration (used without numba, with a mask or MU),
itself tested against the planted factors in ``test_ntf.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import connectome.ntf.decomposition as dec
import connectome.ntf.solvers as solvers
from connectome.ntf import NonnegCP, nonneg_cp
from connectome.ntf.backend import NumpyNamespace
from connectome.ntf.kernels import HAVE_NUMBA, hals_rows

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")


def _tensor(seed=0, shape=(60, 12, 5), rank=3):
    rng = np.random.default_rng(seed)
    a, b, c = (rng.random((n, rank)) for n in shape)
    x = np.einsum("ir,jr,kr->ijk", a, b, c)
    return x + 0.01 * rng.random(shape)


def _fit(x, **kw):
    rng = np.random.default_rng(1)
    init = [rng.random((n, 3)) for n in x.shape]
    return nonneg_cp(x, 3, init=init, n_restarts=1, tol=0, n_iter_max=30, **kw)


def test_hals_rows_equals_the_columnwise_numpy_update():
    """The compiled row update is the same exact column minimiser as the numpy one."""
    rng = np.random.default_rng(0)
    a, m = rng.random((40, 6)), rng.random((40, 6)) * 3
    h = rng.random((25, 6))
    g = h.T @ h
    ref = solvers._hals_update(NumpyNamespace(), a, m, g, 4)
    out = a.copy()
    hals_rows(out, m, g, 4)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)


def test_hals_rows_dead_column_and_float32():
    """A dead column (zero Gram diagonal) is left alone, as in the numpy update; rows in
    groups (37 = 2 × 16 + 5) and float32 give the same sweeps."""
    rng = np.random.default_rng(3)
    a, m = rng.random((37, 5)), rng.random((37, 5))
    h = rng.random((20, 5))
    h[:, 2] = 0.0
    g = h.T @ h
    ref = solvers._hals_update(NumpyNamespace(), a, m, g, 3)
    out = a.copy()
    hals_rows(out, m, g, 3)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(out[:, 2], a[:, 2])
    out32 = a.astype(np.float32)
    hals_rows(out32, m.astype(np.float32), g.astype(np.float32), 3)
    np.testing.assert_allclose(out32, ref, rtol=1e-4, atol=1e-5)


def test_block_rows_follow_the_small_gemm_rule():
    """Blocks of at most 1e6 / (J·K·R) rows; cache-sized blocks where that is < 4 rows."""
    assert solvers._block_rows(300 * 21, 10, 8) == 15  # full benchmark size
    assert solvers._block_rows(150 * 21, 10, 8) == 31  # --quick size
    assert solvers._block_rows(12 * 5, 3, 8) == 5555
    # 1e6 / (50 000 · 10) = 2 rows: too few, so 4 MB blocks (10 rows of 400 kB)
    assert solvers._block_rows(50_000, 10, 8) == (1 << 22) // (50_000 * 8)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_fused_pass_matches_two_pass(monkeypatch, n_threads):
    """Fused (any thread count, small row blocks) = two-pass iteration, to rounding."""
    x = _tensor()
    monkeypatch.setattr(solvers, "_SMALL_GEMM_MNK", 7 * 12 * 5 * 3)
    assert solvers._block_rows(12 * 5, 3, 8) == 7  # 60 rows: several blocks per part
    fused = _fit(x, n_threads=n_threads)
    monkeypatch.setattr(dec, "HAVE_NUMBA", False)
    ref = _fit(x, n_threads=1)
    for f, g in zip(fused.factors, ref.factors, strict=True):
        np.testing.assert_allclose(f, g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fused.errors, ref.errors, rtol=1e-9)
    assert fused.error < 0.05


def test_fused_pass_result_does_not_depend_on_threads(monkeypatch):
    """Chunks summed in a fixed order: 1, 2 or 3 threads give bit-identical fits."""
    x = _tensor(seed=4)
    monkeypatch.setattr(solvers, "_SMALL_GEMM_MNK", 7 * 12 * 5 * 3)  # 9 blocks, 8 chunks
    fits = [_fit(x, n_threads=n) for n in (1, 2, 3)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.errors, fits[0].errors)
        for f, g in zip(other.factors, fits[0].factors, strict=True):
            np.testing.assert_array_equal(f, g)


def test_fused_pass_keeps_blas_single_threaded(monkeypatch):
    """Inside the fused pass BLAS runs one thread: our threads and BLAS never compete."""
    from threadpoolctl import threadpool_info

    seen = []
    orig = solvers._FusedPass.__call__

    def spy(self, *args):
        seen.append(max((p["num_threads"] for p in threadpool_info()
                         if p["user_api"] == "blas"), default=1))
        return orig(self, *args)

    monkeypatch.setattr(solvers._FusedPass, "__call__", spy)
    _fit(_tensor(), n_threads=2)
    assert seen and max(seen) == 1


def test_float32_option_error_is_exact_and_close_to_float64():
    """dtype='float32': final error recomputed exactly, within 1e-4 of float64's."""
    x = _tensor(seed=2)
    r64 = _fit(x)
    r32 = _fit(x, dtype="float32")
    direct = np.linalg.norm(x - r32.reconstruct()) / np.linalg.norm(x)
    assert abs(r32.error - direct) < 1e-6 * direct
    assert abs(r32.error - r64.error) < 1e-4 * r64.error
    with pytest.raises(ValueError, match="dtype"):
        _fit(x, dtype="int8")


def test_estimator_forwards_dtype():
    """NonnegCP stores dtype untouched and fits with it."""
    model = NonnegCP(rank=3, dtype="float32", n_restarts=1, tol=0, n_iter_max=5,
                     random_state=0)
    assert model.get_params()["dtype"] == "float32"
    model.fit(_tensor())
    assert model.reconstruction_err_ < 0.5
