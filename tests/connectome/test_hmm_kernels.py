"""The compiled (numba) forward–backward equals hmmlearn and the numpy blocked scan.

Synthetic data only (random emission log-likelihoods and transition matrices): the
reference posteriors come from hmmlearn's compiled log-space and scaling kernels and
from our numpy blocked scan, which has its own tests against a textbook recursion.
"""

from __future__ import annotations

import numpy as np
import pytest
from hmmlearn import _hmmc
from scipy.special import logsumexp

import connectome.hmm_kernels as hk
from connectome.hmm import forward_backward

pytestmark = pytest.mark.skipif(not hk.HAVE_NUMBA, reason="numba not installed")


def _hmm(seed, n_bins, k, scale=3.0):
    rng = np.random.default_rng(seed)
    ll = rng.normal(size=(n_bins, k)) * scale
    P = rng.dirichlet(np.ones(k), size=k) * 0.1 + 0.9 * np.eye(k)
    P /= P.sum(1, keepdims=True)
    start = rng.dirichlet(np.ones(k))
    return ll, start, P


def _hmmlearn_log(start, P, ll):
    logz, fwd = _hmmc.forward_log(start, P, ll)
    bwd = _hmmc.backward_log(start, P, ll)
    g = fwd + bwd
    gamma = np.exp(g - logsumexp(g, axis=1, keepdims=True))
    return logz, gamma, np.exp(_hmmc.compute_log_xi_sum(fwd, P, bwd, ll))


@pytest.mark.parametrize("scale", [0.5, 3.0, 300.0])
def test_compiled_matches_hmmlearn_to_1e8(scale):
    """Posteriors within 1e-8 of hmmlearn's log-space kernel, also for extreme emissions."""
    ll, start, P = _hmm(0, 3000, 5, scale)
    res = forward_backward(ll, np.log(start), np.log(P))
    logz, gamma, xi = _hmmlearn_log(start, P, ll)
    assert np.abs(res.posteriors - gamma).max() < 1e-8
    assert abs(float(res.log_likelihood) - logz) < 1e-9 * abs(logz)
    np.testing.assert_allclose(res.transition_counts, xi, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.posteriors.sum(1), 1.0, atol=1e-12)


def test_compiled_matches_blocked_scan():
    """Same posteriors, log p(x) and ξ as the numpy fallback (block=... selects it)."""
    ll, start, P = _hmm(1, 5000, 4)
    fast = forward_backward(ll, np.log(start), np.log(P))
    slow = forward_backward(ll, np.log(start), np.log(P), block=35)
    np.testing.assert_allclose(fast.posteriors, slow.posteriors, atol=1e-12)
    assert abs(float(fast.log_likelihood) - float(slow.log_likelihood)) < 1e-8
    np.testing.assert_allclose(fast.transition_counts, slow.transition_counts, rtol=1e-9)


def test_sequences_with_lengths_ignore_padding():
    """Each padded sequence gives its own unpadded result, whatever the padding holds."""
    ll, start, P = _hmm(2, 400, 3)
    batch = np.random.default_rng(3).normal(size=(3, 400, 3)) * 50.0  # garbage padding
    lengths = [400, 150, 1]
    for i, n in enumerate(lengths):
        batch[i, :n] = ll[:n]
    res = forward_backward(batch, np.log(start), np.log(P), lengths=lengths)
    xi = np.zeros((3, 3))
    for i, n in enumerate(lengths):
        one = forward_backward(ll[:n], np.log(start), np.log(P))
        np.testing.assert_allclose(res.posteriors[i, :n], one.posteriors, atol=1e-12)
        assert np.all(res.posteriors[i, n:] == 0.0)
        assert abs(float(res.log_likelihood[i]) - float(one.log_likelihood)) < 1e-9
        xi += one.transition_counts
    np.testing.assert_allclose(res.transition_counts, xi, rtol=1e-10)


def test_impossible_bins_fall_back_to_the_blocked_scan():
    """A bin impossible in every state makes the kernel decline (None), not return NaN."""
    ll, start, P = _hmm(4, 50, 3)
    ll[10] = -np.inf
    assert hk.forward_backward_scaled(ll[None], start, P, np.array([50])) is None


def test_without_numba_the_numpy_scan_gives_the_same_answer(monkeypatch):
    """The numpy fallback (numba missing) returns the same posteriors."""
    ll, start, P = _hmm(5, 2000, 5)
    fast = forward_backward(ll, np.log(start), np.log(P))
    monkeypatch.setattr(hk, "_fb_scaled", None)
    assert hk.forward_backward_scaled(ll[None], start, P, np.array([2000])) is None
    slow = forward_backward(ll, np.log(start), np.log(P))
    np.testing.assert_allclose(fast.posteriors, slow.posteriors, atol=1e-12)
    np.testing.assert_allclose(fast.transition_counts, slow.transition_counts, rtol=1e-9)
