"""Blocked forward–backward and Viterbi equal a naive log-space reference and hmmlearn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hmmlearn import _hmmc
from scipy.special import logsumexp

from connectome.hmm import HMMInputError, forward_backward, viterbi


def _random_hmm(rng, n_bins, k, scale=3.0):
    ll = rng.normal(size=(n_bins, k)) * scale
    P = rng.dirichlet(np.ones(k), size=k) * 0.2 + 0.8 * np.eye(k)
    P /= P.sum(1, keepdims=True)
    start = rng.dirichlet(np.ones(k))
    return ll, np.log(start), np.log(P)


def _naive_forward_backward(ll, log_start, log_trans):
    """Textbook log-space recursion (Rabiner 1989), one time step at a time."""
    n_bins, k = ll.shape
    la = np.empty((n_bins, k))
    lb = np.zeros((n_bins, k))
    la[0] = log_start + ll[0]
    for t in range(1, n_bins):
        la[t] = logsumexp(la[t - 1][:, None] + log_trans, axis=0) + ll[t]
    for t in range(n_bins - 2, -1, -1):
        lb[t] = logsumexp(log_trans + ll[t + 1] + lb[t + 1], axis=1)
    logz = logsumexp(la[-1])
    gamma = np.exp(la + lb - logz)
    xi = np.zeros((k, k))
    for t in range(1, n_bins):
        xi += np.exp(la[t - 1][:, None] + log_trans + ll[t] + lb[t] - logz)
    return gamma, logz, xi


def _naive_viterbi(ll, log_start, log_trans):
    n_bins, k = ll.shape
    delta = log_start + ll[0]
    back = np.zeros((n_bins, k), dtype=int)
    for t in range(1, n_bins):
        cand = delta[:, None] + log_trans
        back[t] = cand.argmax(0)
        delta = cand.max(0) + ll[t]
    path = np.empty(n_bins, dtype=int)
    path[-1] = delta.argmax()
    for t in range(n_bins - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return delta.max(), path


@pytest.mark.parametrize("block", [None, 1, 7, 300])
def test_forward_backward_equals_naive_reference(block):
    rng = np.random.default_rng(0)
    ll, ls, lt = _random_hmm(rng, 300, 3)
    gamma, logz, xi = _naive_forward_backward(ll, ls, lt)
    res = forward_backward(ll, ls, lt, block=block)
    np.testing.assert_allclose(res.posteriors, gamma, atol=1e-10)
    assert abs(res.log_likelihood - logz) <= 1e-10 * abs(logz)
    np.testing.assert_allclose(res.transition_counts, xi, rtol=1e-8, atol=1e-10)


def test_forward_backward_equals_hmmlearn_compiled():
    rng = np.random.default_rng(1)
    ll, ls, lt = _random_hmm(rng, 20_000, 5)
    start, P = np.exp(ls), np.exp(lt)
    logz, fwd = _hmmc.forward_log(start, P, ll)
    bwd = _hmmc.backward_log(start, P, ll)
    gamma = fwd + bwd
    gamma = np.exp(gamma - logsumexp(gamma, axis=1, keepdims=True))
    xi = np.exp(_hmmc.compute_log_xi_sum(fwd, P, bwd, ll))
    res = forward_backward(ll, ls, lt)
    assert abs(res.log_likelihood - logz) <= 1e-6 * abs(logz)
    assert np.abs(res.posteriors - gamma).max() < 1e-6
    np.testing.assert_allclose(res.transition_counts, xi, rtol=1e-6)


def test_forward_backward_extreme_likelihoods():
    # per-bin log-likelihood differences of hundreds of nats (very confident emissions)
    rng = np.random.default_rng(2)
    ll, ls, lt = _random_hmm(rng, 500, 4, scale=150.0)
    gamma, logz, _ = _naive_forward_backward(ll, ls, lt)
    res = forward_backward(ll, ls, lt)
    np.testing.assert_allclose(res.posteriors, gamma, atol=1e-8)
    assert abs(res.log_likelihood - logz) <= 1e-10 * abs(logz)


def test_forward_backward_batched_trials_with_lengths():
    rng = np.random.default_rng(3)
    lengths = [400, 123, 57]
    ll, ls, lt = _random_hmm(rng, sum(lengths), 3)
    batch = np.zeros((3, 400, 3))
    pieces = np.split(ll, np.cumsum(lengths)[:-1])
    for i, piece in enumerate(pieces):
        batch[i, : len(piece)] = piece
    res = forward_backward(batch, ls, lt, lengths=lengths)
    xi_total = np.zeros((3, 3))
    for i, piece in enumerate(pieces):
        gamma, logz, xi = _naive_forward_backward(piece, ls, lt)
        np.testing.assert_allclose(res.posteriors[i, : len(piece)], gamma, atol=1e-10)
        assert np.all(res.posteriors[i, len(piece) :] == 0)
        assert res.log_likelihood[i] == pytest.approx(logz, rel=1e-10)
        xi_total += xi
    np.testing.assert_allclose(res.transition_counts, xi_total, rtol=1e-8)


def test_forward_backward_torch_in_torch_out():
    rng = np.random.default_rng(4)
    ll, ls, lt = _random_hmm(rng, 50, 2)
    res = forward_backward(torch.tensor(ll), torch.tensor(ls), torch.tensor(lt))
    assert isinstance(res.posteriors, torch.Tensor)
    np.testing.assert_allclose(res.posteriors.numpy(), forward_backward(ll, ls, lt).posteriors)


def test_single_bin_and_single_state():
    with np.errstate(divide="ignore"):  # log(0): forbidden transitions are allowed
        log_eye = np.log(np.eye(2))
    res = forward_backward(np.array([[0.0, -1.0]]), np.log([0.5, 0.5]), log_eye)
    np.testing.assert_allclose(res.posteriors, [[np.e / (np.e + 1), 1 / (np.e + 1)]])
    res = forward_backward(np.full((10, 1), -2.0), np.zeros(1), np.zeros((1, 1)))
    assert res.log_likelihood == pytest.approx(-20.0)


@pytest.mark.parametrize("block", [None, 1, 13])
def test_viterbi_equals_reference_and_hmmlearn(block):
    rng = np.random.default_rng(5)
    ll, ls, lt = _random_hmm(rng, 2_000, 4)
    ref_logp, ref_path = _naive_viterbi(ll, ls, lt)
    logp, path = viterbi(ll, ls, lt, block=block)
    np.testing.assert_array_equal(path, ref_path)
    assert logp == pytest.approx(ref_logp, rel=1e-10)
    hl_logp, hl_path = _hmmc.viterbi(np.exp(ls), np.exp(lt), ll)
    np.testing.assert_array_equal(path, hl_path)
    assert logp == pytest.approx(hl_logp, rel=1e-9)


def test_bad_inputs_raise_clear_errors():
    ll = np.zeros((10, 3))
    ls, lt = np.log(np.ones(3) / 3), np.log(np.full((3, 3), 1 / 3))
    bad = ll.copy()
    bad[4, 1] = np.nan
    with pytest.raises(HMMInputError, match="NaN"):
        forward_backward(bad, ls, lt)
    with pytest.raises(HMMInputError, match=r"log_transmat must have shape \(3, 3\)"):
        forward_backward(ll, ls, lt[:2])
    with pytest.raises(HMMInputError, match="log_startprob"):
        forward_backward(ll, ls[:2], lt)
    with pytest.raises(HMMInputError, match="shape"):
        forward_backward(np.zeros(10), ls, lt)
    with pytest.raises(HMMInputError, match="lengths"):
        forward_backward(ll[None], ls, lt, lengths=[11])
    assert issubclass(HMMInputError, ValueError)
