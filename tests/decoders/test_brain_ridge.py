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
    ours = MultiTargetRidgeCV(ALPHAS, cv=LeaveOneGroupOut(), dtype="float64").fit(
        X, Y, groups=groups)
    want = []
    for a in ALPHAS:
        P = np.zeros_like(Y)
        for tr, te in GroupKFold(5).split(X, Y, groups):
            P[te] = Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te])
        want.append(((Y - P) ** 2).mean(axis=0))
    np.testing.assert_allclose(ours.cv_mse_, np.array(want), rtol=1e-9)
    np.testing.assert_array_equal(ours.alpha_, ALPHAS[np.argmin(want, axis=0)])
    k = MultiTargetRidgeCV(ALPHAS, cv=5, dtype="float64").fit(X, Y, groups=groups)
    np.testing.assert_allclose(k.cv_mse_, ours.cv_mse_, rtol=1e-9)


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
