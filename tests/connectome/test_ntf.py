"""Non-negative CP: recovery, masks, restarts, backends, errors and the estimator wrapper."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from connectome.ntf import (
    ConvergenceWarning,
    CPResult,
    NonnegCP,
    NTFInputError,
    factor_match_score,
    match_components,
    nonneg_cp,
)
from connectome.ntf import decomposition as decomposition_module


def _planted(shape=(60, 25, 8), rank=3, seed=7, noise=0.0):
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) ** 2 for n in shape]
    x = np.einsum("ir,jr,kr->ijk", *factors)
    if noise:
        x = x + noise * x.mean() * rng.random(x.shape)
    return x, factors


@pytest.mark.parametrize("method", ["hals", "mu"])
def test_recovers_planted_factors(method):
    x, factors = _planted()
    res = nonneg_cp(
        x,
        3,
        method=method,
        n_restarts=3,
        random_state=0,
        n_iter_max=3000 if method == "hals" else 1500,
        tol=1e-10 if method == "hals" else 0,
    )
    assert isinstance(res, CPResult)
    assert res.error < (1e-4 if method == "hals" else 2e-2)
    assert factor_match_score(factors, res) >= (0.999 if method == "hals" else 0.97)
    assert all(np.all(f >= 0) for f in res.factors)
    assert np.all(np.diff(res.weights) <= 0)  # sorted by weight
    np.testing.assert_allclose([np.linalg.norm(f, axis=0) for f in res.factors], 1.0)
    assert np.linalg.norm(res.reconstruct() - x) / np.linalg.norm(x) == pytest.approx(
        res.error, abs=1e-6
    )


@pytest.mark.parametrize("method", ["hals", "mu"])
def test_error_decreases_monotonically(method):
    x, _ = _planted(noise=0.1)
    res = nonneg_cp(x, 3, method=method, n_restarts=1, tol=0, n_iter_max=60, random_state=1)
    assert res.n_iter == 60 and len(res.errors) == 60 and not res.converged
    assert np.all(np.diff(res.errors) <= 1e-12)


def test_error_history_matches_reconstruction():
    x, _ = _planted(noise=0.2)
    res = nonneg_cp(x, 2, n_restarts=1, tol=0, n_iter_max=15, random_state=0)
    direct = np.linalg.norm(res.reconstruct() - x) / np.linalg.norm(x)
    assert res.errors[-1] == pytest.approx(direct, rel=1e-8)


def test_masked_entries_are_ignored():
    x, factors = _planted(seed=3)
    rng = np.random.default_rng(0)
    mask = rng.random(x.shape) > 0.3
    garbage = x.copy()
    garbage[~mask] = rng.normal(size=(~mask).sum()) * 1e6
    garbage[~mask][::7] = np.nan
    zeros = np.where(mask, x, 0.0)
    nans = np.where(mask, x, np.nan)
    kw = dict(mask=mask, n_restarts=2, random_state=5, n_iter_max=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r1 = nonneg_cp(garbage, 3, **kw)
        r2 = nonneg_cp(zeros, 3, **kw)
        r3 = nonneg_cp(nans, 3, **kw)
    for r in (r2, r3):
        np.testing.assert_array_equal(r1.errors, r.errors)
        for a, b in zip(r1.factors, r.factors, strict=True):
            np.testing.assert_array_equal(a, b)
    # the missing 30 % are predicted from the observed 70 %
    assert factor_match_score(factors, r1) > 0.99
    recon = r1.reconstruct()
    assert np.linalg.norm((recon - x)[~mask]) / np.linalg.norm(x[~mask]) < 0.05


def test_masked_error_decreases():
    x, _ = _planted(noise=0.2)
    mask = np.random.default_rng(1).random(x.shape) > 0.5
    res = nonneg_cp(x, 3, mask=mask, n_restarts=1, tol=0, n_iter_max=40, random_state=0)
    assert len(res.errors) == 40
    assert np.all(np.diff(res.errors) <= 1e-12)
    direct = np.linalg.norm((res.reconstruct() - x)[mask]) / np.linalg.norm(x[mask])
    assert res.errors[-1] == pytest.approx(direct, rel=1e-8)


def test_restarts_keep_the_best():
    x, _ = _planted(noise=0.5, seed=11)
    res = nonneg_cp(x, 3, n_restarts=4, n_iter_max=30, tol=0, random_state=2)
    assert res.restart_errors.shape == (4,)
    assert res.error == pytest.approx(res.restart_errors.min())
    assert res.best_restart == int(np.argmin(res.restart_errors))
    # each restart equals a single run drawn from the same random stream
    rng = np.random.default_rng(2)
    singles = [
        nonneg_cp(x, 3, n_restarts=1, n_iter_max=30, tol=0, random_state=rng).error
        for _ in range(4)
    ]
    np.testing.assert_allclose(singles, res.restart_errors, rtol=1e-12)


def test_random_state_reproducible():
    x, _ = _planted(noise=0.3)
    a = nonneg_cp(x, 2, n_restarts=2, n_iter_max=20, tol=0, random_state=4)
    b = nonneg_cp(x, 2, n_restarts=2, n_iter_max=20, tol=0, random_state=4)
    np.testing.assert_array_equal(a.factors[0], b.factors[0])


def test_tolerance_stops_and_warns():
    x, _ = _planted()
    res = nonneg_cp(x, 3, n_restarts=1, tol=1e-3, random_state=0)
    assert res.converged and res.n_iter < 500
    with pytest.warns(ConvergenceWarning, match="did not reach"):
        nonneg_cp(x, 3, n_restarts=1, tol=1e-12, n_iter_max=3, random_state=0)


def test_explicit_init_is_used():
    x, factors = _planted()
    res = nonneg_cp(x, 3, init=factors, n_restarts=1, n_iter_max=2, tol=0)
    assert res.error < 1e-6  # exact start; the norm-based error is accurate to ~1e-8
    res2 = nonneg_cp(x, 3, init=res, n_restarts=1, n_iter_max=1, tol=0)
    assert res2.error < 1e-6


def test_torch_backend_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    x, _ = _planted(noise=0.2)
    kw = dict(n_restarts=2, n_iter_max=25, tol=0, random_state=3)
    r_np = nonneg_cp(x, 3, **kw)
    r_t = nonneg_cp(x, 3, backend="torch", device="cpu", **kw)
    assert r_t.backend == "torch:cpu"
    np.testing.assert_allclose(r_np.errors, r_t.errors, rtol=1e-9)
    assert factor_match_score(r_np, r_t) > 1 - 1e-9
    mask = np.random.default_rng(0).random(x.shape) > 0.2
    m_np = nonneg_cp(x, 3, mask=mask, **kw)
    m_t = nonneg_cp(torch.from_numpy(x), 3, mask=mask, backend="torch", device="cpu", **kw)
    np.testing.assert_allclose(m_np.errors, m_t.errors, rtol=1e-9)


def test_float32_input_fits_in_float32():
    x, factors = _planted()
    res = nonneg_cp(x.astype(np.float32), 3, n_restarts=2, random_state=0, tol=1e-6)
    assert factor_match_score(factors, res) > 0.99


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_torch_cuda_agrees_with_numpy():  # pragma: no cover - GPU only
    x, _ = _planted(noise=0.2)
    kw = dict(n_restarts=1, n_iter_max=25, tol=0, random_state=3)
    r_np = nonneg_cp(x, 3, **kw)
    r_t = nonneg_cp(x, 3, backend="torch", device="cuda", **kw)
    assert r_t.backend.startswith("torch:cuda")
    np.testing.assert_allclose(r_np.errors, r_t.errors, rtol=1e-6)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(rank=9), r"rank=9 is larger than the smallest tensor dimension 8"),
        (dict(rank=0), r"rank must be an integer >= 1"),
        (dict(rank=2, method="als"), r"method must be one of"),
        (dict(rank=2, tol=-1.0), r"tol must be"),
        (dict(rank=2, n_restarts=0), r"n_restarts must be an integer >= 1"),
        (dict(rank=2, backend="jax"), r"backend must be 'numpy' or 'torch'"),
        (dict(rank=2, device="cuda"), r"needs backend='torch'"),
        (dict(rank=2, init="svd"), r"init must be 'random'"),
    ],
)
def test_bad_parameters(kwargs, match):
    x, _ = _planted()
    with pytest.raises(NTFInputError, match=match):
        nonneg_cp(x, **kwargs)


def test_negative_input_rejected():
    x, _ = _planted()
    x[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match="non-negative, found minimum -1"):
        nonneg_cp(x, 2)
    mask = np.ones(x.shape, bool)
    mask[0, 0, 0] = False  # a negative value that is masked is fine
    nonneg_cp(x, 2, mask=mask, n_restarts=1, n_iter_max=5, tol=0)


def test_nan_outside_mask_rejected():
    x, _ = _planted()
    x[1, 2, 3] = np.nan
    with pytest.raises(NTFInputError, match="NaN or infinite values; pass mask"):
        nonneg_cp(x, 2)
    mask = np.ones(x.shape, bool)
    with pytest.raises(NTFInputError, match="1 NaN/infinite values at observed entries"):
        nonneg_cp(x, 2, mask=mask)


def test_shape_errors():
    with pytest.raises(NTFInputError, match="3-way"):
        nonneg_cp(np.ones((4, 4)), 1)
    x, _ = _planted()
    with pytest.raises(NTFInputError, match="mask must have the tensor's shape"):
        nonneg_cp(x, 2, mask=np.ones((2, 2), bool))
    with pytest.raises(NTFInputError, match="every entry as missing"):
        nonneg_cp(x, 2, mask=np.zeros(x.shape, bool))
    with pytest.raises(NTFInputError, match="init factors must have shapes"):
        nonneg_cp(x, 2, init=[np.ones((3, 2))] * 3)


# ---------------------------------------------------------------- estimator
def test_estimator_forwards_every_argument(monkeypatch):
    """tensorly-style check: every constructor argument reaches the function unchanged."""
    params = [p for p in inspect.signature(NonnegCP.__init__).parameters if p != "self"]
    func_params = set(inspect.signature(nonneg_cp).parameters) - {"tensor", "mask"}
    assert set(params) == func_params
    seen = {}

    def fake(tensor, rank, **kwargs):
        seen.update(kwargs, rank=rank)
        return nonneg_cp(tensor, rank, n_restarts=1, n_iter_max=2, tol=0)

    monkeypatch.setattr(decomposition_module, "nonneg_cp", fake)
    sentinels = {
        "rank": 2,
        "method": "mu",
        "n_restarts": 3,
        "n_iter_max": 17,
        "tol": 0.125,
        "n_inner": 4,
        "init": "random",
        "random_state": 1234,
        "backend": "numpy",
        "device": None,
        "n_threads": 1,
        "verbose": False,
    }
    x, _ = _planted()
    NonnegCP(**sentinels).fit(x)
    for key, value in sentinels.items():
        assert seen[key] == value, key


def test_estimator_fit_and_clone():
    x, factors = _planted()
    est = NonnegCP(rank=3, random_state=0, n_restarts=2, tol=1e-9, n_iter_max=2000)
    params = est.get_params()
    cloned = clone(est)
    assert cloned.get_params() == params
    assert est.fit(x) is est
    assert factor_match_score(factors, est.factors_) > 0.999
    assert est.n_iter_ == est.result_.n_iter and est.converged_
    assert est.reconstruction_err_ == pytest.approx(est.errors_[-1])
    assert est.reconstruct().shape == x.shape
    assert not hasattr(clone(est), "factors_")
    z = NonnegCP(rank=2, n_restarts=1).fit_transform(x)
    assert z.shape == (x.shape[0], 2)


def test_result_save_load_roundtrip(tmp_path):
    x, _ = _planted()
    res = nonneg_cp(x, 2, n_restarts=2, n_iter_max=10, tol=0, random_state=0)
    path = res.save(tmp_path / "cp.npz")
    back = CPResult.load(path)
    np.testing.assert_array_equal(back.weights, res.weights)
    np.testing.assert_array_equal(back.factors[2], res.factors[2])
    assert back.n_iter == res.n_iter and back.method == res.method
    d = res.to_dict()
    assert d["n_iter"] == 10 and len(d["factors"]) == 3


def test_match_components_permutation():
    x, factors = _planted()
    perm_factors = [f[:, [2, 0, 1]] for f in factors]
    perm, scores = match_components(factors, perm_factors)
    np.testing.assert_array_equal(perm, [1, 2, 0])
    np.testing.assert_allclose(scores, 1.0)
    assert factor_match_score(factors, perm_factors, use_weights=True) == pytest.approx(1.0)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_n_threads_gives_same_result(backend):
    x, _ = _planted(noise=0.2)
    kw = dict(n_restarts=1, n_iter_max=10, tol=0, random_state=0, backend=backend)
    a = nonneg_cp(x, 2, **kw)
    b = nonneg_cp(x, 2, n_threads=1, **kw)
    np.testing.assert_allclose(a.errors, b.errors, rtol=1e-10)
    with pytest.raises(NTFInputError, match="n_threads must be an integer >= 1"):
        nonneg_cp(x, 2, n_threads=0)


def test_single_animal_mode_does_not_limit_rank():
    """One animal: CP reduces to NMF of pairs × windows, so rank may exceed 1."""
    rng = np.random.default_rng(0)
    w, h = rng.random((60, 4)), rng.random((4, 45))
    x = (w @ h)[:, :, None]
    res = nonneg_cp(x, 4, n_iter_max=2000, tol=1e-10, random_state=0)
    assert res.rank == 4 and res.errors[-1] < 1e-2
    with pytest.raises(NTFInputError, match="smallest tensor dimension 45"):
        nonneg_cp(x, 46)
