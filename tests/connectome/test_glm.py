"""CouplingGLM, its bases and its input validation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
)

from connectome.glm import CouplingGLM, GLMInputError, check_trials
from connectome.glm_basis import (
    exponential_basis,
    history_features,
    make_basis,
    raised_cosine_basis,
)


def _simulate_glm(rng, n_neurons=10, n_bins=15_000):
    weights = rng.normal(0, 0.6, (n_neurons, n_neurons)) * (rng.random((n_neurons,) * 2) < 0.3)
    bias = np.full(n_neurons, -0.5)
    basis = exponential_basis(5)
    x = np.zeros((n_bins + 5, n_neurons))
    for t in range(5, n_bins + 5):
        drive = bias + weights @ (basis[:, 0] @ x[t - 5 : t][::-1])
        x[t] = rng.poisson(np.logaddexp(0.0, drive))
    return x[5:], weights


@pytest.fixture(scope="module")
def glm_data():
    return _simulate_glm(np.random.default_rng(0))


def test_bases_shapes_and_normalisation():
    for phi in (exponential_basis(5), exponential_basis(10, 3), raised_cosine_basis(20, 4)):
        np.testing.assert_allclose(phi.sum(0), 1.0)
        assert np.all(phi >= 0)
    assert exponential_basis(5).shape == (5, 1)
    assert raised_cosine_basis(30, 5).shape == (30, 5)
    assert make_basis("raised_cosine", 12, 3).shape == (12, 3)
    # the single exponential decays with lag
    assert np.all(np.diff(exponential_basis(5)[:, 0]) < 0)
    with pytest.raises(ValueError, match="n_basis=6 cannot exceed window=5"):
        exponential_basis(5, 6)
    with pytest.raises(ValueError, match="window must be an integer"):
        raised_cosine_basis(0, 1)
    with pytest.raises(ValueError, match="basis must be"):
        make_basis("gamma", 5, 1)


def test_history_features_equal_direct_sum():
    rng = np.random.default_rng(1)
    x = rng.poisson(1.0, (40, 3)).astype(float)
    phi = raised_cosine_basis(6, 2)
    feats = history_features(x, phi)
    for t in (0, 3, 20, 39):
        expect = np.zeros((3, 2))
        for lag in range(1, 7):
            if t - lag >= 0:
                expect += x[t - lag][:, None] * phi[lag - 1][None, :]
        np.testing.assert_allclose(feats[t], expect)


def test_coupling_glm_recovers_weights(glm_data):
    x, weights = glm_data
    glm = CouplingGLM(alpha=1e-4).fit(x)
    assert glm.coef_.shape == (10, 10, 1)
    assert glm.coupling_filters_.shape == (10, 10, 5)
    r = np.corrcoef(glm.coef_[..., 0].ravel(), weights.ravel())[0, 1]
    assert r > 0.95
    assert glm.converged_
    assert glm.bits_per_spike(x) > 0.02
    # held-out data from the same network is predicted too
    x_test, _ = _simulate_glm(np.random.default_rng(0), n_bins=3000)
    assert glm.bits_per_spike(x_test) > 0.0
    rate = glm.predict_rate(x)
    assert rate.shape == x.shape and np.all(rate > 0)
    assert glm.score(x) == pytest.approx(glm.log_likelihood(x) / len(x))


def test_coupling_glm_exp_link_and_l1_sparsity(glm_data):
    x, weights = glm_data
    dense = CouplingGLM(link="exp", alpha=1e-4).fit(x)
    sparse = CouplingGLM(link="exp", alpha=0.02, l1_ratio=1.0).fit(x)
    n_zero = int((np.abs(sparse.coef_) < 1e-8).sum())
    assert n_zero > 40  # most of the 70 % true zeros are exactly zero
    assert int((np.abs(dense.coef_) < 1e-8).sum()) < 5
    assert np.corrcoef(dense.coef_.ravel(), weights.ravel())[0, 1] > 0.9


def test_coupling_glm_trials_and_other_observations(glm_data):
    x, _ = glm_data
    trials = [x[:4000], x[4000:9000]]
    glm = CouplingGLM(basis="raised_cosine", window=8, n_basis=3).fit(trials)
    rates = glm.predict_rate(trials)
    assert [r.shape for r in rates] == [(4000, 10), (5000, 10)]
    binary = (x > 0).astype(float)
    bern = CouplingGLM("bernoulli").fit(binary)
    assert 0 < bern.predict_rate(binary).max() < 1
    assert bern.bits_per_spike(binary) > 0
    gauss = CouplingGLM("gaussian").fit(x + 0.1)
    assert gauss.noise_scale_.shape == (10,) and np.all(gauss.noise_scale_ > 0)
    with pytest.raises(GLMInputError, match="gaussian"):
        gauss.bits_per_spike(x)


def test_coupling_glm_sample_shapes():
    rng = np.random.default_rng(3)
    glm = CouplingGLM(window=3).fit(rng.poisson(0.5, (500, 4)))
    s1 = glm.sample(200, random_state=7)
    s2 = glm.sample(200, random_state=7)
    assert s1.shape == (200, 4)
    np.testing.assert_array_equal(s1, s2)
    assert np.all(s1 >= 0) and np.all(s1 == np.round(s1))


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (-np.ones((50, 3)), {}, "negative values"),
        (np.full((50, 3), 0.5), {}, "non-integer values"),
        (np.ones((4, 3)), {"window": 5}, "at least 6 are needed"),
        (np.ones(50), {}, r"shape \(n_bins, n_neurons\)"),
        (np.full((50, 3), 2.0), {"observation": "bernoulli"}, "only 0 and 1"),
    ],
)
def test_bad_counts_raise(data, kwargs, match):
    with pytest.raises(GLMInputError, match=match):
        CouplingGLM(**kwargs).fit(data)


def test_nan_and_neuron_mismatch_raise():
    x = np.ones((50, 3))
    x[7, 2] = np.nan
    with pytest.raises(GLMInputError, match=r"NaN or infinite values \(first at bin 7, neuron 2\)"):
        CouplingGLM().fit(x)
    glm = CouplingGLM(window=2).fit(np.random.default_rng(0).poisson(1.0, (60, 3)))
    with pytest.raises(GLMInputError, match="X has 4 features, but CouplingGLM is expecting 3"):
        glm.predict_rate(np.ones((60, 4)))
    with pytest.raises(GLMInputError, match=r"X\[1\]"):
        check_trials([np.ones((10, 2)), np.ones((3, 2))], min_bins=6)
    with pytest.raises(GLMInputError, match="empty list"):
        check_trials([])


def test_bad_parameters_raise_value_error():
    x = np.ones((50, 3))
    with pytest.raises(ValueError, match="'observation' parameter"):
        CouplingGLM("binomial").fit(x)
    with pytest.raises(ValueError, match="'l1_ratio' parameter"):
        CouplingGLM(l1_ratio=2.0).fit(x)
    with pytest.raises(ValueError, match="'window' parameter"):
        CouplingGLM(window=0).fit(x)


def test_sklearn_contract():
    glm = CouplingGLM("gaussian", alpha=0.5, window=3)
    assert clone(glm).get_params() == glm.get_params()
    check_no_attributes_set_in_init("CouplingGLM", glm)
    check_get_params_invariance("CouplingGLM", glm)
    fitted = glm.fit(np.random.default_rng(0).normal(size=(100, 3)))
    assert all(not k.endswith("_") for k in clone(fitted).__dict__)
    assert hasattr(fitted, "coef_") and fitted.n_features_in_ == 3


# scikit-learn's estimator checks: tests/test_estimators_sklearn.py (every estimator)
