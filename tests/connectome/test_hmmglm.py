"""HMMGLM on simulated switching networks: states, weights, connectome signs, API."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score

from connectome.glm import GLMInputError
from connectome.hmmglm import HMMGLM
from connectome.simulate_switching import simulate_switching_glm
from connectome.state_matching import match_states


@pytest.fixture(scope="module")
def sim():
    # 20 neurons, 3 states, 10 000 bins (acceptance criterion of issue 6)
    return simulate_switching_glm(20, 3, 10_000, baseline_rate=0.6, random_state=1)


@pytest.fixture(scope="module")
def onehot_model(sim):
    return HMMGLM(3, prior="onehot", verbose=False, random_state=0).fit(sim.counts)


def test_onehot_recovers_states_weights_and_signs(sim, onehot_model):
    model = onehot_model
    match = match_states(sim.states[0], model.predict_states(sim.counts[0]))
    assert match.accuracy >= 0.95  # measured 0.991
    weights = model.weights_[match.order]
    r = np.corrcoef(weights.ravel(), sim.weights.ravel())[0, 1]
    assert r >= 0.85  # measured 0.925
    bacc = balanced_accuracy_score(sim.connectome.ravel(), model.connectome_.ravel())
    assert bacc >= 0.65  # chance is 1/3; measured 0.70
    assert model.connectome_proba_.shape == (20, 20, 3)
    np.testing.assert_allclose(model.connectome_proba_.sum(-1), 1.0)
    assert set(np.unique(model.connectome_)) <= {-1, 0, 1}
    # learned transitions are sticky like the truth (0.98)
    assert np.all(np.diag(model.transmat_) > 0.95)


def test_fit_history_and_posteriors(sim, onehot_model):
    model = onehot_model
    assert model.converged_ and model.n_iter_ == len(model.loss_curve_)
    # generalized EM: the objective improves overall (Gumbel noise allows small wiggles)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    proba = model.predict_proba(sim.counts[0])
    assert proba.shape == (10_000, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # the Viterbi path mostly agrees with the posterior argmax
    assert (proba.argmax(1) == model.predict_states(sim.counts[0])).mean() > 0.97
    assert model.score(sim.counts) == pytest.approx(model.log_likelihood(sim.counts) / 10_000)
    rate = model.predict_rate(sim.counts[0])
    assert rate.shape == (10_000, 20) and np.all(rate > 0)
    x, z = model.sample(300, random_state=3)
    assert x.shape == (300, 20) and z.shape == (300,) and np.all(x >= 0)


def test_gaussian_prior_and_multiple_trials():
    sim = simulate_switching_glm(8, 2, 1500, n_trials=3, baseline_rate=0.8, random_state=2)
    model = HMMGLM(2, prior="gaussian", max_iter=30, verbose=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(sim.counts)
    states = model.predict_states(sim.counts)
    assert [s.shape for s in states] == [(1500,)] * 3
    assert match_states(sim.states, states).accuracy > 0.9
    assert model.prior_mean_.shape == (8, 8, 1)
    assert model.connectome_.shape == (8, 8)
    proba = model.predict_proba(sim.counts)
    assert isinstance(proba, list) and len(proba) == 3


def test_same_seed_same_fit_and_restarts():
    sim = simulate_switching_glm(6, 2, 1200, baseline_rate=0.8, random_state=4)
    kw = dict(max_iter=4, m_step_iter=5, verbose=False, random_state=5, n_init=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = HMMGLM(2, prior="onehot", **kw).fit(sim.counts[0])
        b = HMMGLM(2, prior="onehot", **kw).fit(sim.counts[0])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.loss_curve_ == b.loss_curve_


def test_structural_prior_fixed_and_init():
    sim = simulate_switching_glm(6, 2, 1000, baseline_rate=0.8, random_state=6)
    c = sim.connectome.astype(float)
    kw = dict(max_iter=3, m_step_iter=5, verbose=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fixed = HMMGLM(2, prior="gaussian", structural_prior=c,
                       structural_prior_mode="fixed", **kw).fit(sim.counts)
        onehot = HMMGLM(2, prior="onehot", structural_prior=c,
                        structural_prior_mode="fixed", **kw).fit(sim.counts)
        HMMGLM(2, prior="onehot", structural_prior=c, **kw).fit(sim.counts)
    np.testing.assert_array_equal(fixed.prior_mean_[..., 0], c)
    np.testing.assert_array_equal(onehot.connectome_, sim.connectome)


def test_lbfgs_and_exact_onehot_and_other_observations():
    sim = simulate_switching_glm(5, 2, 800, baseline_rate=0.8, random_state=7)
    x = sim.counts[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        HMMGLM(2, prior="onehot", onehot_relaxation="exact", optimizer="lbfgs",
               max_iter=3, m_step_iter=5, verbose=False, random_state=0).fit(x)
        bern = HMMGLM(2, observation="bernoulli", max_iter=3, verbose=False,
                      random_state=0).fit((x > 0).astype(float))
        gauss = HMMGLM(2, observation="gaussian", max_iter=3, verbose=False,
                       random_state=0, init="random").fit(x + 0.5)
    assert bern.predict_proba((x > 0).astype(float)).shape == (800, 2)
    assert gauss.noise_scale_.shape == (2, 5)


def test_nonconvergence_warns_and_verbose_false_is_silent(capsys):
    x = simulate_switching_glm(4, 2, 500, random_state=8).counts[0]
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=1"):
        HMMGLM(2, max_iter=1, verbose=False, random_state=0).fit(x)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize(
    ("kwargs", "data", "match"),
    [
        ({}, -np.ones((100, 3)), "negative values"),
        ({}, np.full((100, 3), 1.5), "non-integer values"),
        ({"window": 5}, np.ones((5, 3)), "at least 6 are needed"),
        ({"prior": "gaussian", "structural_prior": np.zeros((2, 2))}, np.ones((100, 3)),
         r"structural_prior must have shape \(n_neurons, n_neurons\) = \(3, 3\), got \(2, 2\)"),
        ({"structural_prior": np.zeros((3, 3))}, np.ones((100, 3)), "needs prior="),
        ({"prior": "onehot", "optimizer": "lbfgs"}, np.ones((100, 3)), "deterministic"),
    ],
)
def test_bad_input_raises(kwargs, data, match):
    with pytest.raises(GLMInputError, match=match):
        HMMGLM(2, verbose=False, **kwargs).fit(data)


def test_nan_and_bad_parameters():
    x = np.ones((100, 3))
    x[10, 0] = np.nan
    with pytest.raises(GLMInputError, match="NaN"):
        HMMGLM(2, verbose=False).fit(x)
    with pytest.raises(ValueError, match="'prior' parameter"):
        HMMGLM(2, prior="laplace").fit(np.ones((100, 3)))
    with pytest.raises(ValueError, match="'n_states' parameter"):
        HMMGLM(0).fit(np.ones((100, 3)))


def test_sklearn_clone_and_params(onehot_model):
    c = np.eye(3)
    model = HMMGLM(4, prior="gaussian", structural_prior=c, n_init=2, verbose=False)
    cloned = clone(model)
    assert cloned.get_params()["structural_prior"] is not None
    assert cloned.n_states == 4 and cloned.n_init == 2
    fitted_clone = clone(onehot_model)
    assert not any(k.endswith("_") for k in vars(fitted_clone))
    with pytest.raises(Exception, match="not fitted"):
        fitted_clone.predict_states(np.ones((100, 20)))


# scikit-learn's estimator checks: tests/test_estimators_sklearn.py (every estimator)
