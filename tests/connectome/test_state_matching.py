"""match_states (Hungarian) and the switching-network simulator."""

from __future__ import annotations

import numpy as np
import pytest

from connectome.simulate_switching import simulate_switching_glm
from connectome.state_matching import match_states


def test_match_states_finds_the_permutation():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, 1000)
    perm = np.array([2, 0, 3, 1])  # estimated label of each true state
    pred = perm[true]
    flip = rng.random(1000) < 0.1
    pred[flip] = rng.integers(0, 4, flip.sum())
    m = match_states(true, pred)
    np.testing.assert_array_equal(m.order, perm)
    np.testing.assert_array_equal(m.permutation[perm], np.arange(4))
    assert m.accuracy == pytest.approx((m.permutation[pred] == true).mean())
    assert 0.9 <= m.accuracy <= 0.95
    assert m.confusion.sum() == 1000


def test_match_states_lists_and_errors():
    m = match_states([np.array([0, 0, 1]), np.array([1])], [np.array([1, 1, 0]), np.array([0])])
    assert m.accuracy == 1.0
    with pytest.raises(ValueError, match="same length"):
        match_states([0, 1], [0])
    with pytest.raises(ValueError, match="negative"):
        match_states([0, -1], [0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        match_states([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="n_states=2"):
        match_states([0, 2], [0, 1], n_states=2)


def test_simulator_shares_signed_support_and_is_reproducible():
    a = simulate_switching_glm(12, 3, 2000, n_trials=2, random_state=3)
    b = simulate_switching_glm(12, 3, 2000, n_trials=2, random_state=3)
    np.testing.assert_array_equal(a.counts[1], b.counts[1])
    assert len(a.counts) == 2 and a.counts[0].shape == (2000, 12)
    # every state's nonzero weights lie on the anatomical support, with its signs
    nz = a.weights != 0
    assert np.all(np.sign(a.weights[nz]) == np.broadcast_to(a.connectome, a.weights.shape)[nz])
    assert np.all(np.diag(a.connectome) == 0)
    # states differ from each other
    assert not np.allclose(a.weights[0], a.weights[1])
    # stable network: rates stay moderate
    assert 0.1 < a.counts[0].mean() < 3.0
    # sticky chain: few switches
    switches = (np.diff(a.states[0]) != 0).mean()
    assert 0.005 < switches < 0.05
    np.testing.assert_allclose(a.transmat.sum(1), 1.0)


def test_simulator_bad_arguments():
    with pytest.raises(ValueError, match="n_neurons must be a positive integer"):
        simulate_switching_glm(0)
    with pytest.raises(ValueError, match="self_transition"):
        simulate_switching_glm(5, 2, 100, self_transition=1.0)
    with pytest.raises(ValueError, match="density"):
        simulate_switching_glm(5, 2, 100, density=2.0)
