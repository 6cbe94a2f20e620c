"""Hidden-Markov-model kernels: blocked forward–backward and Viterbi over time.

A Python loop over time steps cannot reach compiled speed (PERFORMANCE.md: a numpy
log-space loop over T = 100 000 bins takes 1.5–2.5 s, hmmlearn's compiled one ~140 ms).
These kernels never loop over time steps.  They use the associativity of the forward
recursion, written as a product of matrices

    α_t = π · M_0 M_1 ⋯ M_t,   M_0 = diag(b_0),   M_t = P · diag(b_t) (t ≥ 1),

with ``b_t = p(x_t | z_t)`` and ``P`` the transition matrix (Rabiner 1989), and evaluate
it as a two-level blocked scan in the spirit of the parallel scans of Särkkä &
García-Fernández (2021): time is cut into ``B`` blocks of ``L`` bins;

1. the prefix products inside every block (and, in the same batched matrix product, the
   suffix products needed by the backward pass) are built with ``L`` steps that each work
   on all blocks and all sequences at once;
2. the messages entering each block are chained with ``B`` cheap vector–matrix steps;
3. every α_t and β_t is one batched contraction of an entering message with a prefix
   (suffix) product.

The Python-level loop count is ``L + 2 B`` ≈ 3 √T instead of 2 T.  Each matrix is kept
in linear space with its own log scale (the products are renormalised at every step and
``b_t`` is divided by its maximum), so the result equals the log-space recursion to
floating-point rounding.  Viterbi uses the same blocked scan in the (max, +) semiring,
followed by a back-pointer walk.

When numba is installed (``connectome`` extra), :func:`forward_backward` instead runs the
compiled scaled recursion of :mod:`connectome.hmm_kernels` (one machine-code loop over
time, faster than the blocked scan and than hmmlearn's compiled scaling kernel); the
blocked scan is the fallback without numba and stays selectable with ``block=...``.

References
----------
.. [1] L. R. Rabiner, "A tutorial on hidden Markov models and selected applications in
   speech recognition", Proc. IEEE 77(2), 257–286, 1989.
.. [2] S. Särkkä and Á. F. García-Fernández, "Temporal parallelization of Bayesian
   smoothers", IEEE Trans. Automatic Control 66(1), 299–306, 2021.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ConnectomeInputError
from .hmm_kernels import forward_backward_scaled

__all__ = [
    "ForwardBackwardResult",
    "HMMInputError",
    "forward_backward",
    "viterbi",
]


class HMMInputError(ConnectomeInputError):
    """Bad input to an HMM kernel (shape, finiteness or normalisation)."""


@dataclass
class ForwardBackwardResult:
    """Output of :func:`forward_backward`.

    Attributes
    ----------
    posteriors : ndarray or Tensor of shape (n_bins, n_states) or (n_seq, n_bins, n_states)
        Posterior state probabilities ``p(z_t = k | x)``; rows sum to 1.  Bins past a
        sequence's length (padding) are zero.
    log_likelihood : ndarray or Tensor of shape () or (n_seq,)
        ``log p(x)`` of each sequence, in nats.
    transition_counts : ndarray or Tensor of shape (n_states, n_states)
        Expected transition counts ``Σ_t p(z_{t-1}=i, z_t=j | x)`` summed over sequences.
    """

    posteriors: np.ndarray | torch.Tensor
    log_likelihood: np.ndarray | torch.Tensor
    transition_counts: np.ndarray | torch.Tensor


def _as_tensor(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if not torch.is_floating_point(t):
        t = t.to(torch.float64)
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        # numpy's reduction on the shared buffer: torch's isnan().any() wakes its thread
        # pool, which costs as much CPU time as the whole compiled E-step
        has_nan = bool(np.isnan(t.detach().numpy()).any())
    else:
        has_nan = bool(torch.isnan(t).any())
    if has_nan:
        raise HMMInputError(f"{name} contains NaN; remove or impute those bins first")
    return t


def _check_inputs(log_lik, log_startprob, log_transmat, lengths):
    was_numpy = not isinstance(log_lik, torch.Tensor)
    ll = _as_tensor(log_lik, "log_lik")
    if ll.ndim == 2:
        squeeze = True
        ll = ll.unsqueeze(0)
    elif ll.ndim == 3:
        squeeze = False
    else:
        raise HMMInputError(
            "log_lik must have shape (n_bins, n_states) or (n_seq, n_bins, n_states), "
            f"got shape {tuple(ll.shape)}"
        )
    n_seq, n_bins, k = ll.shape
    if n_bins < 1 or k < 1:
        raise HMMInputError(
            f"log_lik must have at least one bin and one state, got {tuple(ll.shape)}"
        )
    ls = _as_tensor(log_startprob, "log_startprob").to(ll)
    lt = _as_tensor(log_transmat, "log_transmat").to(ll)
    if ls.shape != (k,):
        raise HMMInputError(f"log_startprob must have shape ({k},), got {tuple(ls.shape)}")
    if lt.shape != (k, k):
        raise HMMInputError(f"log_transmat must have shape ({k}, {k}), got {tuple(lt.shape)}")
    if lengths is None:
        lens = torch.full((n_seq,), n_bins, dtype=torch.long)
    else:
        lens = torch.as_tensor(np.asarray(lengths, dtype=np.int64))
        if lens.shape != (n_seq,) or bool((lens < 1).any()) or bool((lens > n_bins).any()):
            raise HMMInputError(
                f"lengths must be {n_seq} integers in [1, {n_bins}], got {np.asarray(lengths)}"
            )
    return ll, ls, lt, lens, squeeze, was_numpy


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _block_length(n_bins: int, block: int | None) -> int:
    if block is not None:
        return max(1, min(int(block), n_bins))
    # Python-level steps: 3 L (block products, α and β inside blocks) + 2 log2(B); the
    # work per step grows with B = T / L.  L ≈ √T / 2 balanced the two (measured).
    return max(1, min(n_bins, int(round(0.5 * math.sqrt(n_bins)))))


def _pad_time(ll: np.ndarray, total: int) -> np.ndarray:
    extra = total - ll.shape[1]
    if extra == 0:
        return ll
    # log p(x_t|z) = 0 past the end: those steps multiply by P only, which leaves
    # β (P·1 = 1) and the total mass Σα unchanged.
    return np.concatenate([ll, np.zeros((ll.shape[0], extra, ll.shape[2]))], axis=1)


def _doubling_scan(mats: np.ndarray, logs: np.ndarray, *, reverse: bool):
    """Inclusive prefix (or suffix) products of a chain of matrices along axis 1.

    ``mats`` (S, B, K, K) with log scales ``logs`` (S, B); returns the products, each
    renormalised to max 1, and their log scales.  ⌈log2 B⌉ batched matmuls.
    """
    out = mats.copy()
    out_log = logs.copy()
    n = mats.shape[1]
    d = 1
    while d < n:
        if reverse:  # out_b ← out_b · out_{b+d}
            prod = np.matmul(out[:, :-d], out[:, d:])
            new_log = out_log[:, :-d] + out_log[:, d:]
        else:  # out_b ← out_{b-d} · out_b
            prod = np.matmul(out[:, :-d], out[:, d:])
            new_log = out_log[:, :-d] + out_log[:, d:]
        c = prod.max(axis=(-2, -1))
        prod /= c[..., None, None]
        new_log += np.log(c)
        if reverse:
            out[:, :-d] = prod
            out_log[:, :-d] = new_log
        else:
            out[:, d:] = prod
            out_log[:, d:] = new_log
        d *= 2
    return out, out_log


def forward_backward(
    log_lik,
    log_startprob,
    log_transmat,
    *,
    lengths=None,
    block: int | None = None,
) -> ForwardBackwardResult:
    """Posterior state probabilities of an HMM by a blocked forward–backward scan.

    Exact (to rounding) equivalent of the log-space forward–backward recursion of
    Rabiner (1989) [1]_, evaluated as a two-level blocked associative scan over time
    (Särkkä & García-Fernández 2021 [2]_) so that no Python loop runs over time steps.

    Parameters
    ----------
    log_lik : array-like or Tensor of shape (n_bins, n_states) or (n_seq, n_bins, n_states)
        Emission log-likelihoods ``log p(x_t | z_t = k)`` in nats.  Several sequences are
        processed together; shorter ones are padded at the end and named by ``lengths``.
    log_startprob : array-like of shape (n_states,)
        Log initial state probabilities.
    log_transmat : array-like of shape (n_states, n_states)
        Log transition matrix, rows = from-state (each row's exp sums to 1).
    lengths : array-like of int of shape (n_seq,), optional
        Valid number of bins of each sequence (default: all ``n_bins``).
    block : int, optional
        Block length ``L`` of the numpy blocked scan; giving it selects that scan.  By
        default the compiled scaled recursion of :mod:`connectome.hmm_kernels` runs when
        numba is installed (same result to rounding, ~10× faster), otherwise the blocked
        scan with ``L`` ≈ √n_bins / 2.

    Returns
    -------
    ForwardBackwardResult
        Posteriors, per-sequence log-likelihood and summed expected transition counts,
        as numpy arrays if ``log_lik`` was not a Tensor, else as Tensors.

    References
    ----------
    .. [1] L. R. Rabiner, Proc. IEEE 77(2), 257–286, 1989.
    .. [2] S. Särkkä and Á. F. García-Fernández, IEEE Trans. Autom. Control 66(1), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ll = rng.normal(size=(1000, 3))
    >>> P = np.full((3, 3), 0.05) + 0.85 * np.eye(3)
    >>> res = forward_backward(ll, np.log(np.ones(3) / 3), np.log(P))
    >>> res.posteriors.shape, bool(np.allclose(res.posteriors.sum(1), 1))
    ((1000, 3), True)
    """
    ll, ls, lt, lens, squeeze, was_numpy = _check_inputs(
        log_lik, log_startprob, log_transmat, lengths
    )
    gamma, logz, xi = _forward_backward(
        _to_numpy(ll), _to_numpy(ls), _to_numpy(lt), lens.numpy(), block
    )
    if squeeze:
        gamma, logz = gamma[0], logz[0]
    if was_numpy:
        return ForwardBackwardResult(gamma, np.asarray(logz), xi)
    out = [torch.as_tensor(a, device=ll.device) for a in (gamma, logz, xi)]
    return ForwardBackwardResult(*out)


def _forward_backward(ll, log_start, log_trans, lens, block):
    if block is None:
        # the compiled scaled recursion (numba, when installed) is the fastest exact path;
        # it declines (None) without numba or for bins impossible under the model
        out = forward_backward_scaled(ll, np.exp(log_start), np.exp(log_trans), lens)
        if out is not None:
            return out
    return _forward_backward_blocked(ll, log_start, log_trans, lens, block)


def _forward_backward_blocked(ll, log_start, log_trans, lens, block):
    # numpy, and M_t = P diag(b_t) never materialised: every product with P is one
    # (rows × K) @ (K × K) GEMM over all blocks, then a column scaling by b_t.  All
    # work happens in a step-major layout (L, S, B, K) (one contiguous slab per scan
    # step); only the posteriors are transposed back to (S, T, K) at the end.
    n_seq, n_bins, k = ll.shape
    L = _block_length(n_bins, block)
    B = -(-n_bins // L)
    tp = B * L
    ll = _pad_time(ll, tp)
    lT = ll.reshape(n_seq, B, L, k).transpose(2, 0, 1, 3)  # view (L, S, B, K)
    m = lT.max(-1)  # (L, S, B) per-bin offset, so that b_t / max b_t lies in (0, 1]
    m[~np.isfinite(m)] = 0.0
    eT = lT - m[..., None]  # contiguous copy in the step-major layout
    np.exp(eT, out=eT)
    P = np.exp(log_trans)
    PT = np.ascontiguousarray(P.T)
    start = np.exp(log_start)
    mc = np.cumsum(m, axis=0)  # Σ_{l' ≤ l} m inside each block
    mtot = mc[-1]  # (S, B)
    nb = n_seq * B

    # 1. the product M_{b,0}⋯M_{b,L-1} of every block, all blocks at once.
    full = np.broadcast_to(P, (n_seq, B, k, k)) * eT[0][..., None, :]
    full[:, 0] = np.eye(k)[None] * eT[0, :, 0][:, None, :]  # M_0 = diag(b_0)
    full_log = mtot.copy()  # (S, B) log scale of `full`
    flat = full.reshape(nb * k, k)
    tmp = np.empty_like(flat)
    for i in range(1, L):
        np.matmul(flat, P, out=tmp)
        flat, tmp = tmp, flat
        full = flat.reshape(n_seq, B, k, k)
        full *= eT[i][..., None, :]
        c = full.max(axis=(-2, -1))
        full /= c[..., None, None]
        full_log += np.log(c)

    # 2. messages entering each block (forward) and leaving it (backward), from prefix
    #    and suffix products of the block matrices by a doubling (Hillis–Steele) scan:
    #    log2(B) batched steps instead of a loop over blocks.
    G, gl = _doubling_scan(full, full_log, reverse=False)  # G_b = full_0 ⋯ full_b
    H, hl = _doubling_scan(full, full_log, reverse=True)  # H_b = full_b ⋯ full_{B-1}
    a_in = np.empty((n_seq, B, k))
    la_in = np.zeros((n_seq, B))
    a_in[:, 0] = start
    if B > 1:
        a = np.matmul(start[None, None, None, :], G[:, :-1])[..., 0, :]  # (S, B-1, K)
        s = a.sum(-1)
        a_in[:, 1:] = a / s[..., None]
        la_in[:, 1:] = gl[:, :-1] + np.log(s)
    b_end = np.ones((n_seq, B, k))
    lb_end = np.zeros((n_seq, B))
    if B > 1:
        v = H[:, 1:].sum(-1)  # H_{b+1} · 1
        s = v.sum(-1)
        b_end[:, :-1] = v / s[..., None]
        lb_end[:, :-1] = hl[:, 1:] + np.log(s)

    # 3. α_t and β_t inside every block: L vector steps, all blocks at once; each
    #    step's normaliser goes to `sa`/`sb`, summed into log scales afterwards.
    alpha = np.empty((L, n_seq, B, k))
    beta = np.empty((L, n_seq, B, k))
    sa = np.empty((L, n_seq, B))
    sb = np.zeros((L, n_seq, B))
    prev = a_in
    for i in range(L):
        cur = alpha[i]
        np.matmul(prev.reshape(nb, k), P, out=cur.reshape(nb, k))
        if i == 0:
            cur[:, 0] = start  # α_0 = π ⊙ b_0: no transition into the first bin
        cur *= eT[i]
        s = cur.sum(-1, out=sa[i])
        cur /= s[..., None]
        prev = cur
    beta[L - 1] = b_end
    scratch = np.empty((nb, k))
    for i in range(L - 1, 0, -1):
        np.multiply(eT[i], beta[i], out=scratch.reshape(n_seq, B, k))
        cur = beta[i - 1]
        np.matmul(scratch, PT, out=cur.reshape(nb, k))  # β_{t-1} = P (b_t ⊙ β_t)
        s = cur.sum(-1, out=sb[i - 1])
        cur /= s[..., None]
    np.log(sa, out=sa)
    np.log(sb[:-1], out=sb[:-1])
    la = np.cumsum(sa, axis=0)
    la += la_in
    la += mc  # log scale of α̂_t: α_t = α̂_t exp(la_t)
    lb = np.cumsum(sb[::-1], axis=0)[::-1]
    lb += lb_end
    lb += mtot - mc  # log scale of β̂_t

    tidx = (np.arange(B)[None, :] * L + np.arange(L)[:, None])[:, None, :]  # (L, 1, B)
    valid = tidx < lens[None, :, None]  # (L, S, B)
    last = lens - 1
    rows = np.arange(n_seq)
    l_last, b_last = last % L, last // L
    logz = np.log(alpha[l_last, rows, b_last].sum(-1)) + la[l_last, rows, b_last]

    gamma = alpha * beta
    gamma /= gamma.sum(-1, keepdims=True)
    gamma[~valid] = 0.0
    gamma = gamma.transpose(1, 2, 0, 3).reshape(n_seq, tp, k)[:, :n_bins]

    # ξ_t(i, j) = α_{t-1}(i) P(i, j) b_t(j) β_t(j) / p(x), summed over valid t ≥ 1:
    # pairs inside a block (l-1, l), and pairs across blocks (b-1: L-1, b: 0).
    right = eT * beta  # (L, S, B, K)
    lz = logz[None, :, None]
    w = la[:-1] + lb[1:] + m[1:] - lz
    w = np.where(valid[1:], np.exp(np.minimum(w, 700.0)), 0.0)
    left = alpha[:-1] * w[..., None]
    xi = left.reshape(-1, k).T @ right[1:].reshape(-1, k)
    if B > 1:
        w = la[-1, :, :-1] + lb[0, :, 1:] + m[0, :, 1:] - lz[0]
        w = np.where(valid[0, :, 1:], np.exp(np.minimum(w, 700.0)), 0.0)
        left = alpha[-1, :, :-1] * w[..., None]
        xi += left.reshape(-1, k).T @ right[0, :, 1:].reshape(-1, k)
    xi *= P
    return gamma, logz, xi


def viterbi(log_lik, log_startprob, log_transmat, *, block: int | None = None):
    """Most probable state sequence of an HMM (Viterbi) by a blocked (max, +) scan.

    The max-product recursion ``δ_t(j) = max_i δ_{t-1}(i) + log P(i, j) + log b_t(j)``
    (Rabiner 1989) is evaluated with the same blocked scan as :func:`forward_backward`
    in the (max, +) semiring; back-pointers are then computed for all bins at once and
    only the final walk along them is sequential.

    Parameters
    ----------
    log_lik : array-like of shape (n_bins, n_states)
        Emission log-likelihoods in nats.
    log_startprob : array-like of shape (n_states,)
        Log initial state probabilities.
    log_transmat : array-like of shape (n_states, n_states)
        Log transition matrix (rows = from-state).
    block : int, optional
        Block length of the scan (default ≈ √(2 n_bins)).

    Returns
    -------
    log_prob : float
        Log joint probability of the best path and the data, in nats.
    states : ndarray of int of shape (n_bins,)
        The best state sequence.

    Examples
    --------
    >>> import numpy as np
    >>> ll = np.log([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]])
    >>> P = np.log([[0.9, 0.1], [0.1, 0.9]])
    >>> viterbi(ll, np.log([0.5, 0.5]), P)[1].tolist()
    [0, 0, 1]
    """
    ll, ls, lt, _, _, _ = _check_inputs(log_lik, log_startprob, log_transmat, None)
    if ll.shape[0] != 1:
        raise HMMInputError("viterbi takes one sequence of shape (n_bins, n_states)")
    logp, states = _viterbi(_to_numpy(ll[0]), _to_numpy(ls), _to_numpy(lt), block)
    return logp, states


def _viterbi(ll, log_start, log_trans, block):
    n_bins, k = ll.shape
    L = _block_length(n_bins, block)
    B = -(-n_bins // L)
    tp = B * L
    llp = _pad_time(ll[None], tp)[0]
    M = log_trans + llp[:, None, :]  # (Tp, K, K)
    M[0] = -np.inf
    M[0, np.arange(k), np.arange(k)] = llp[0]
    M = np.ascontiguousarray(M.reshape(B, L, k, k).transpose(1, 0, 2, 3))  # (L, B, K, K)
    Q = np.empty_like(M)
    Q[0] = M[0]
    for i in range(1, L):
        # (max, +) product of the prefix with the next step, all blocks at once
        Q[i] = (Q[i - 1][..., :, :, None] + M[i][..., None, :, :]).max(-2)
    d_in = np.empty((B, k))
    d = log_start.copy()
    for b in range(B):
        d_in[b] = d
        d = (d[:, None] + Q[L - 1, b]).max(0)
    delta = (d_in[None, :, :, None] + Q).max(-2)  # (L, B, K)
    delta = delta.transpose(1, 0, 2).reshape(tp, k)[:n_bins]
    # back-pointers ψ_t(j) = argmax_i δ_{t-1}(i) + log P(i, j), all t at once
    psi = (delta[:-1, :, None] + log_trans).argmax(-2)
    last = int(delta[-1].argmax())
    logp = float(delta[-1, last])
    states = np.empty(n_bins, dtype=np.int64)
    states[-1] = last
    ptr = psi.tolist()
    z = last
    for t in range(n_bins - 2, -1, -1):
        z = ptr[t][z]
        states[t] = z
    return logp, states
