"""Ground truth for state-switching GLMs: networks whose coupling switches with a hidden state.

:func:`simulate_switching_glm` draws a sparse signed "anatomical" connectome, derives
state-specific coupling weights that share its support and signs (each state uses most
of the anatomical connections, with its own strengths and biases), and simulates spike
counts from the HMM-GLM of :class:`connectome.hmmglm.HMMGLM` with sticky transitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from .glm import _draw
from .glm_basis import exponential_basis

__all__ = ["SwitchingSimulation", "simulate_switching_glm"]


@dataclass
class SwitchingSimulation:
    """Simulated switching network and the truth behind it.

    Attributes
    ----------
    counts : list of ndarray of shape (n_bins, n_neurons)
        Spike counts per bin, one array per trial.
    states : list of ndarray of int of shape (n_bins,)
        Hidden state of every bin.
    weights : ndarray of shape (n_states, n_neurons, n_neurons)
        Coupling weights ``w[k, post, pre]`` (net gain of the exponential filter).
    biases : ndarray of shape (n_states, n_neurons)
        Per-state intercepts.
    connectome : ndarray of int of shape (n_neurons, n_neurons)
        Anatomical connectome: -1 inhibitory, 0 none, +1 excitatory (post × pre).
    transmat : ndarray of shape (n_states, n_states)
        Transition matrix.
    startprob : ndarray of shape (n_states,)
        Initial state distribution.
    basis : ndarray of shape (window, 1)
        The temporal basis of the filters.
    """

    counts: list
    states: list
    weights: np.ndarray
    biases: np.ndarray
    connectome: np.ndarray
    transmat: np.ndarray
    startprob: np.ndarray
    basis: np.ndarray


def simulate_switching_glm(
    n_neurons: int = 20,
    n_states: int = 3,
    n_bins: int = 10_000,
    *,
    n_trials: int = 1,
    density: float = 0.2,
    state_density: float = 0.8,
    weight_range: tuple[float, float] = (0.5, 1.5),
    baseline_rate: float = 0.5,
    bias_spread: float = 0.6,
    self_transition: float = 0.98,
    window: int = 5,
    link: str = "softplus",
    max_gain: float = 0.8,
    random_state=None,
) -> SwitchingSimulation:
    """Simulate a Poisson HMM-GLM whose state weights share a sparse signed support.

    The anatomical connectome ``A`` has each off-diagonal entry nonzero with probability
    ``density``, excitatory or inhibitory with equal odds.  State ``k`` keeps each
    anatomical connection with probability ``state_density`` and gives it a strength
    drawn uniformly from ``weight_range`` with ``A``'s sign, so states differ but never
    contradict the anatomy; a state whose excitatory part has spectral radius above
    ``max_gain`` is scaled down to it (keeps the network from exploding).  Biases are
    ``softplus⁻¹(baseline_rate)`` plus a per-state, per-neuron offset
    ``N(0, bias_spread²)``.  States follow a Markov chain with self-transition
    ``self_transition`` (other transitions uniform).

    Parameters
    ----------
    n_neurons, n_states, n_bins : int
        Network size, number of hidden states and bins per trial.
    n_trials : int, default=1
        Number of independent trials.
    density : float, default=0.2
        Fraction of anatomical connections.
    state_density : float, default=0.8
        Fraction of anatomical connections used by each state.
    weight_range : (float, float), default=(0.5, 1.5)
        Range of absolute connection strengths.
    baseline_rate : float, default=0.5
        Typical rate in spikes per bin.
    bias_spread : float, default=0.6
        Standard deviation of the per-state bias offsets.
    self_transition : float, default=0.98
        Probability of staying in a state from one bin to the next.
    window : int, default=5
        Length of the exponential coupling filter in bins.
    link : {"softplus", "exp"}, default="softplus"
        Inverse link of the Poisson rate.
    max_gain : float, default=0.8
        Largest spectral radius allowed for each state's excitatory weights.
    random_state : int, Generator, RandomState or None
        Seed.

    Returns
    -------
    SwitchingSimulation

    Examples
    --------
    >>> sim = simulate_switching_glm(5, 2, 200, random_state=0)
    >>> sim.counts[0].shape, sim.weights.shape
    ((200, 5), (2, 5, 5))
    """
    for name, val in (("n_neurons", n_neurons), ("n_states", n_states), ("n_bins", n_bins),
                      ("n_trials", n_trials)):
        if int(val) != val or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if not 0 <= density <= 1 or not 0 <= state_density <= 1:
        raise ValueError(f"density and state_density must lie in [0, 1], got {density}, "
                         f"{state_density}")
    if not 0 < self_transition < 1:
        raise ValueError(f"self_transition must lie in (0, 1), got {self_transition!r}")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    n, k = n_neurons, n_states
    support = (rng.random((n, n)) < density) & ~np.eye(n, dtype=bool)
    signs = np.where(rng.random((n, n)) < 0.5, -1, 1)
    connectome = (support * signs).astype(np.int64)
    lo, hi = weight_range
    used = rng.random((k, n, n)) < state_density
    weights = connectome[None] * used * rng.uniform(lo, hi, (k, n, n))
    # excitatory loops with gain > 1 make the network explode (softplus grows linearly):
    # scale each state so that the spectral radius of its excitatory part is <= max_gain
    for j in range(k):
        rho = np.abs(np.linalg.eigvals(np.clip(weights[j], 0, None))).max()
        if rho > max_gain:
            weights[j] *= max_gain / rho
    base = np.log(np.expm1(baseline_rate)) if link == "softplus" else np.log(baseline_rate)
    biases = base + bias_spread * rng.standard_normal((k, n))
    if k > 1:
        transmat = np.full((k, k), (1 - self_transition) / (k - 1))
        np.fill_diagonal(transmat, self_transition)
    else:
        transmat = np.ones((1, 1))
    startprob = np.full(k, 1.0 / k)
    basis = exponential_basis(window)
    filters = weights[..., None] * basis[:, 0]  # (K, N, N, W)
    counts, states = [], []
    for _ in range(n_trials):
        z = np.empty(n_bins, dtype=np.int64)
        z[0] = rng.choice(k, p=startprob)
        u = rng.random(n_bins)
        cum = np.cumsum(transmat, axis=1)
        for t in range(1, n_bins):
            z[t] = min(int(np.searchsorted(cum[z[t - 1]], u[t])), k - 1)
        x = np.zeros((n_bins + window, n))
        for t in range(n_bins):
            past = x[t : t + window][::-1]  # row l-1 = lag l
            eta = biases[z[t]] + np.einsum("abl,lb->a", filters[z[t]], past)
            x[t + window] = _draw(eta, "poisson", link, None, rng)
        counts.append(x[window:])
        states.append(z)
    return SwitchingSimulation(counts, states, weights, biases, connectome, transmat,
                               startprob, basis)
