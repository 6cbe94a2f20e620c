"""MultiTargetRidgeCV: equal to scikit-learn's RidgeCV, grouped K-fold equal to brute force,
and the scikit-learn estimator checks.  Synthetic data with a planted linear map."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut
from sklearn.utils.estimator_checks import parametrize_with_checks

from decoders.braindecoding.ridge import MultiTargetRidgeCV

ALPHAS = np.logspace(-2, 4, 8)


def _data(n, p, t=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 3.0  # an offset: the intercept must be handled
    W = rng.standard_normal((p, t)) * (rng.random(t) < 0.6)
    Y = X @ W / np.sqrt(p) + rng.standard_normal((n, t)) + 1.0
    return X, Y


@pytest.mark.parametrize("n,p", [(60, 200), (200, 30)])
def test_loo_matches_sklearn_ridgecv(n, p):
    """Synthetic: same per-target alphas, LOO scores and predictions as RidgeCV in float64
    (gram path for n <= p, covariance path for n > p); float32 within 1e-3."""
    X, Y = _data(n, p)
    sk = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X, Y)
    ours = MultiTargetRidgeCV(ALPHAS, dtype="float64").fit(X, Y)
    assert ours.solver_ == ("gram" if n <= p else "covariance")
    np.testing.assert_array_equal(ours.alpha_, sk.alpha_)
    np.testing.assert_allclose(ours.best_score_, sk.best_score_, rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), atol=1e-9)
    o32 = MultiTargetRidgeCV(ALPHAS).fit(X, Y)
    assert o32.coef_.dtype == np.float32
    # float32 may pick a neighbouring alpha on a flat LOO curve; predictions stay close.
    assert np.abs(o32.predict(X) - sk.predict(X)).max() < 0.05


def _cancellation(X):
    """max ||x_i||^2 / max ||x_i - mean||^2: the precision factor lost by centring X X^T
    algebraically instead of centring X."""
    return (X * X).sum(axis=1).max() / ((X - X.mean(axis=0)) ** 2).sum(axis=1).max()


@pytest.mark.parametrize("offset,kappa_range,rtol", [
    (0.0, (1, 1.5), 1e-10), (3.0, (8, 12), 1e-10), (30.0, (700, 1100), 1e-10),
    (1e4, (1e7, 1e9), 1e-12)])
def test_gram_centring_and_its_fallback_match_sklearn(offset, kappa_range, rtol):
    """Synthetic, n <= p: the Gram matrix is centred algebraically (no centred copy of X)
    while that loses under 2 digits in float64 / 2 bits in float32, else the data are
    centred; the offsets cover Gram-centring in both dtypes (0), in float64 only (3) and
    in neither (30, 1e4, an fMRI-like raw intensity).  Every case gives RidgeCV's alphas,
    scores and predictions in float64, float32 close.  At offset 1e4 Gram-centring would
    still be within 3e-11 of RidgeCV (measured); the 1e-12 bound fails unless the data
    were centred first."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((70, 240)) + offset
    W = rng.standard_normal((240, 6)) * (rng.random(6) < 0.7)
    Y = X @ W / np.sqrt(240) + rng.standard_normal((70, 6))
    assert kappa_range[0] < _cancellation(X) < kappa_range[1]
    sk = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X, Y)
    ours = MultiTargetRidgeCV(ALPHAS, dtype="float64").fit(X, Y)
    scale = np.abs(sk.predict(X)).max()
    np.testing.assert_array_equal(ours.alpha_, sk.alpha_)
    np.testing.assert_allclose(ours.best_score_, sk.best_score_, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=0, atol=rtol * scale)
    o32 = MultiTargetRidgeCV(ALPHAS).fit(X, Y)
    assert np.abs(o32.predict(X) - sk.predict(X)).max() < 0.02 * scale


def test_no_intercept_matches_sklearn():
    """Synthetic, gram and covariance paths: fit_intercept=False equals RidgeCV's."""
    for n, p in [(60, 200), (200, 30)]:
        X, Y = _data(n, p, seed=2)
        sk = RidgeCV(alphas=ALPHAS, alpha_per_target=True, fit_intercept=False).fit(X, Y)
        ours = MultiTargetRidgeCV(ALPHAS, fit_intercept=False, dtype="float64").fit(X, Y)
        np.testing.assert_array_equal(ours.alpha_, sk.alpha_)
        np.testing.assert_allclose(ours.best_score_, sk.best_score_, rtol=1e-9)
        np.testing.assert_allclose(ours.predict(X), sk.predict(X), atol=1e-9)
        assert np.all(ours.intercept_ == 0.0)


def test_float32_prediction_does_not_depend_on_the_other_rows():
    """Synthetic: a float32 model predicts every sample bit for bit the same alone, in
    the batch and in a shuffled batch (a float32 BLAS product differed in the last bit
    with the row's place in the kernel's blocking; scikit-learn's
    check_methods_sample_order_invariance caught it on some permutations)."""
    rng = np.random.default_rng(0)
    X1 = 3 * rng.random((40, 3))  # covariance path, 1-D target (as in the sklearn check)
    X2 = rng.standard_normal((40, 300))  # gram path, 4 targets
    cases = [(X1, X1[:, 0] + rng.standard_normal(40)),
             (X2, X2[:, :4] + rng.standard_normal((40, 4)))]
    for X, Y in cases:
        model = MultiTargetRidgeCV().fit(X, Y)
        full = model.predict(X)
        assert full.dtype == np.float32
        for seed in range(5):
            perm = np.random.default_rng(seed).permutation(len(X))
            np.testing.assert_array_equal(model.predict(X[perm]), full[perm])
        alone = np.array([model.predict(X[i:i + 1])[0] for i in range(len(X))])
        np.testing.assert_array_equal(alone, full)


def test_single_alpha_for_all_targets_and_1d_target():
    """Synthetic: alpha_per_target=False equals RidgeCV's shared alpha; 1-D y gives 1-D
    predictions."""
    X, Y = _data(50, 80)
    sk = RidgeCV(alphas=ALPHAS).fit(X, Y)
    ours = MultiTargetRidgeCV(ALPHAS, alpha_per_target=False, dtype="float64").fit(X, Y)
    assert np.all(ours.alpha_ == sk.alpha_)
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), atol=1e-9)
    one = MultiTargetRidgeCV(ALPHAS, dtype="float64").fit(X, Y[:, 0])
    assert one.predict(X).shape == (50,) and np.isscalar(one.alpha_)


@pytest.mark.parametrize("n,p", [(60, 150), (90, 20)])
def test_grouped_kfold_equals_brute_force(n, p):
    """Synthetic: the per-fold errors from one shared Gram equal refitting sklearn's Ridge
    on each run-held-out fold for every alpha."""
    X, Y = _data(n, p, seed=1)
    groups = np.repeat(np.arange(5), n // 5)
    ours = MultiTargetRidgeCV(ALPHAS, cv=LeaveOneGroupOut(), dtype="float64",
                              store_cv_results=True).fit(
        X, Y, groups=groups)
    want = []
    for a in ALPHAS:
        P = np.zeros_like(Y)
        for tr, te in GroupKFold(5).split(X, Y, groups):
            P[te] = Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te])
        want.append(((Y - P) ** 2).mean(axis=0))
    np.testing.assert_allclose(ours.cv_mse_, np.array(want), rtol=1e-9)
    np.testing.assert_array_equal(ours.alpha_, ALPHAS[np.argmin(want, axis=0)])
    k = MultiTargetRidgeCV(ALPHAS, cv=5, dtype="float64", store_cv_results=True).fit(
        X, Y, groups=groups)
    np.testing.assert_allclose(k.cv_mse_, ours.cv_mse_, rtol=1e-9)


def _screening_cases():
    """Synthetic designs that stress the leave-one-out screening: the benchmark's shape
    scaled down (half the targets pure noise), an fMRI-like offset, uneven leverage
    (a few samples with 10x the scale), exact ties (a constant target, duplicated
    targets, a repeated alpha) and a flat LOO curve (alphas far below the spectrum)."""
    rng = np.random.default_rng(11)
    out = []
    X = rng.standard_normal((150, 600))
    W = rng.standard_normal((600, 40)) * (rng.random(40) < 0.5)
    out.append(("planted", X, X @ W / np.sqrt(600) + rng.standard_normal((150, 40)),
                np.logspace(-1, 6, 10)))
    out.append(("offset", X + 50.0, out[0][2] + 3.0, np.logspace(-1, 6, 10)))
    Xl = X.copy()
    Xl[:5] *= 10.0
    out.append(("leverage", Xl, Xl @ W / np.sqrt(600) + rng.standard_normal((150, 40)),
                np.logspace(-2, 5, 12)))
    Y = out[0][2].copy()
    Y[:, 0] = 2.0  # constant: every alpha has error 0, the first must win
    Y[:, 1] = Y[:, 2]
    out.append(("ties", X, Y, np.array([1.0, 10.0, 10.0, 100.0, 1e3, 1e4])))
    out.append(("flat", X, out[0][2], np.array([1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2])))
    return out


@pytest.mark.parametrize("case", _screening_cases(), ids=lambda c: c[0])
def test_loo_screening_chooses_as_the_full_computation(case):
    """Synthetic: computing only the leave-one-out errors that can decide a target's
    alpha gives the same alphas (first minimum on ties), scores and coefficients as
    computing every error (store_cv_results=True), and the skipped errors are provably
    above the chosen one; float64 matches RidgeCV."""
    _, X, Y, alphas = case
    fast = MultiTargetRidgeCV(alphas, dtype="float64").fit(X, Y)
    full = MultiTargetRidgeCV(alphas, dtype="float64", store_cv_results=True).fit(X, Y)
    assert not hasattr(fast, "cv_mse_") and full.cv_computed_.all()
    np.testing.assert_array_equal(fast.alpha_, full.alpha_)
    np.testing.assert_array_equal(fast.alpha_, alphas[np.argmin(full.cv_mse_, axis=0)])
    np.testing.assert_allclose(fast.best_score_, full.best_score_, rtol=1e-12)
    np.testing.assert_allclose(fast.coef_, full.coef_, rtol=0,
                               atol=1e-12 * np.abs(full.coef_).max())
    skipped = ~fast.cv_computed_
    chosen = -fast.best_score_
    assert np.all(full.cv_mse_[skipped] > np.broadcast_to(chosen, skipped.shape)[skipped])
    sk = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, Y)
    np.testing.assert_array_equal(fast.alpha_, sk.alpha_)
    scale = np.abs(sk.predict(X)).max()
    np.testing.assert_allclose(fast.predict(X), sk.predict(X), rtol=0, atol=1e-9 * scale)
    shared = MultiTargetRidgeCV(alphas, dtype="float64", alpha_per_target=False).fit(X, Y)
    np.testing.assert_array_equal(
        shared.alpha_, MultiTargetRidgeCV(alphas, dtype="float64", alpha_per_target=False,
                                          store_cv_results=True).fit(X, Y).alpha_)
    # float32: the screening widens its bounds by float32's rounding; it chose as the
    # float32 full computation on every target here (on near-ties either may move).
    f32 = MultiTargetRidgeCV(alphas).fit(X, Y)
    f32_full = MultiTargetRidgeCV(alphas, store_cv_results=True).fit(X, Y)
    assert np.mean(f32.alpha_ == f32_full.alpha_) >= 0.95
    if case[0] == "ties":
        assert fast.alpha_[0] == alphas[0] and fast.alpha_[1] == fast.alpha_[2]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_screening_bound_contains_the_exact_error(dtype):
    """Synthetic, 40 random designs (shapes, scales, offsets, uneven leverage, alphas over
    11 decades, with and without intercept): the norm bound, the bound against the
    targets, and the neighbour and reference bounds from every computed alpha all
    contain the exactly computed leave-one-out error of every (alpha, target)."""
    from decoders.braindecoding.ridge import (
        _centred_gram,
        _eig,
        _loo_gram,
        _LooBounds,
        _one_minus_hat,
    )

    checked = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(5, 120))
        p = int(rng.integers(n, 400))
        t = int(rng.integers(1, 16))
        X = rng.standard_normal((n, p)) * rng.choice([1e-3, 1.0, 1e3]) + rng.choice([0, 5, 100])
        if rng.random() < 0.4:
            X[:3] *= rng.uniform(2, 30)
        W = rng.standard_normal((p, t)) * (rng.random(t) < 0.5)
        Y = X @ W / np.sqrt(p) * rng.uniform(0, 5) + rng.standard_normal((n, t))
        alphas = np.sort(10 ** rng.uniform(-4, 7, int(rng.integers(2, 12))))
        intercept = bool(rng.random() < 0.8)
        X, Y = X.astype(dtype), Y.astype(dtype)
        K, _, _ = _centred_gram(X, intercept)
        lam, U = _eig(K, intercept, alphas.min())
        U = U.astype(dtype, copy=False)
        Yc = Y - Y.mean(axis=0) if intercept else Y
        A = U.T @ Yc
        one_minus_h = _one_minus_hat(U, lam, alphas, intercept)
        if not np.all(one_minus_h > 0):
            continue  # screening is off then (every error is computed)
        exact, _, _ = _loo_gram(U, lam, A, alphas, intercept, True, every=True)
        bounds = _LooBounds(lam, A, alphas[None, :] / one_minus_h, alphas)
        rows = np.arange(t)
        found = [bounds.norm(), bounds.reference(rows, Yc.T, np.ascontiguousarray(A.T))]
        for b in range(len(alphas)):
            DT = A.T * (1.0 / (lam + alphas[b])).astype(dtype)
            found += [bounds.near(b, rows, exact[b]), bounds.reference(rows, DT @ U.T, DT)]
        for lo, hi in found:
            assert np.all(lo <= exact) and np.all(exact <= hi)
            checked += exact.size
    assert checked > 10_000


def test_loo_screening_skips_most_products():
    """Synthetic, the benchmark's design at 1/4 size: fewer than a quarter of the (alpha,
    target) leave-one-out errors are computed (12% measured at 2000 x 10000 -> 512)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 2500))
    W = rng.standard_normal((2500, 128)) * (rng.random(128) < 0.5)
    Y = X @ W / np.sqrt(2500) + rng.standard_normal((500, 128))
    model = MultiTargetRidgeCV(np.logspace(-1, 6, 10), dtype="float64").fit(X, Y)
    assert model.cv_computed_.mean() < 0.25
    assert model.cv_computed_.any(axis=0).all()  # every target has its chosen error


def test_recovers_planted_map():
    """Synthetic: with little noise the fitted map correlates > 0.95 with the planted one."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 100))
    W = rng.standard_normal((100, 4))
    ours = MultiTargetRidgeCV().fit(X, X @ W + 0.1 * rng.standard_normal((300, 4)))
    r = [np.corrcoef(ours.coef_[i], W[:, i])[0, 1] for i in range(4)]
    assert min(r) > 0.95


@pytest.mark.parametrize("bad", [dict(alphas=[]), dict(alphas=[-1.0]), dict(dtype="int8"),
                                 dict(cv=1)])
def test_bad_parameters(bad):
    X, Y = _data(20, 10)
    with pytest.raises(ValueError):
        MultiTargetRidgeCV(**bad).fit(X, Y)


def _expected_failures(estimator):
    # float32 is the decoders' default precision (DESIGN); the check wants float64 output.
    if estimator.dtype == "float32":
        return {"check_regressor_multioutput": "float32 predictions by design (dtype=)"}
    return {}


@parametrize_with_checks([MultiTargetRidgeCV(), MultiTargetRidgeCV(cv=3, dtype="float64")],
                         expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    """scikit-learn's estimator checks (synthetic data from sklearn)."""
    check(estimator)
