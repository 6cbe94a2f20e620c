"""Ground truth for the connectome pipeline: planted co-active communities and LFR-style graphs.

* :func:`simulate_calcium_communities` — multi-animal calcium imaging where known neuron
  communities co-activate during known time intervals (shared spike events → calcium
  indicator kernel with exponential rise and decay → Gaussian noise).
* :func:`planted_weighted_graph` — weighted graphs with planted communities, power-law
  degrees and community sizes and a mixing parameter μ, in the spirit of the LFR benchmark
  (Lancichinetti, Fortunato & Radicchi 2008; weighted version, Lancichinetti & Fortunato
  2009) used by Dyballa et al. to validate community detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PlantedCalcium", "simulate_calcium_communities", "planted_weighted_graph"]


@dataclass
class PlantedCalcium:
    """Simulated recordings and the planted structure behind them.

    Attributes
    ----------
    traces : list of ndarray of shape (n_times, n_recorded)
        ΔF/F-like traces (dimensionless), one array per animal, time-major.
    neuron_names : list of list of str
        Names of the recorded columns of each animal (neurons may be missing).
    spikes : list of ndarray of int, shape (n_times, n_recorded)
        Spike counts per sample behind each trace.
    membership : ndarray of int, shape (n_neurons,)
        Community of every neuron of the full population (-1: background, in none).
    all_names : list of str
        Names of the full population, in ``membership`` order.
    active : ndarray of bool, shape (n_communities, n_times)
        When each community co-activates (shared by all animals).
    intervals : list of list of (float, float)
        The same as ``active``, as (start, stop) times in seconds.
    animal_gains : ndarray of shape (n_animals, n_communities)
        How strongly each animal expresses each community (0: not at all).
    rate : float
        Sampling rate in Hz.
    """

    traces: list[np.ndarray]
    neuron_names: list[list[str]]
    spikes: list[np.ndarray]
    membership: np.ndarray
    all_names: list[str]
    active: np.ndarray
    intervals: list[list[tuple[float, float]]]
    animal_gains: np.ndarray
    rate: float

    @property
    def n_communities(self) -> int:
        return int(self.active.shape[0])

    def planted_factors(
        self, neuron_names: list[str], window_starts: np.ndarray, window: int
    ) -> list[np.ndarray]:
        """Planted CP factors on an affinity tensor's axes.

        Parameters
        ----------
        neuron_names : list of str
            The tensor's neuron order (``AffinityTensor.neuron_names``).
        window_starts : ndarray of int, shape (n_windows,)
        window : int
            Window length in samples.

        Returns
        -------
        list of 3 ndarray
            Pair factor (n_pairs, C): 1 for pairs inside community c; time factor
            (n_windows, C): fraction of the window during which c is active; animal factor
            (n_animals, C): ``animal_gains``.
        """
        pos = {nm: k for k, nm in enumerate(self.all_names)}
        memb = np.array([self.membership[pos[nm]] for nm in neuron_names])
        i, j = np.triu_indices(len(neuron_names), k=1)
        pair = np.stack(
            [((memb[i] == c) & (memb[j] == c)).astype(float) for c in range(self.n_communities)],
            axis=1,
        )
        cum = np.concatenate([np.zeros((self.n_communities, 1)), np.cumsum(self.active, 1)], 1)
        stops = np.minimum(window_starts + window, self.active.shape[1])
        time = ((cum[:, stops] - cum[:, window_starts]) / window).T
        return [pair, time, self.animal_gains.copy()]


def _calcium_kernel(rate: float, tau_rise: float, tau_decay: float) -> np.ndarray:
    t = np.arange(int(np.ceil(8 * tau_decay * rate)) + 1) / rate
    h = np.exp(-t / tau_decay) - np.exp(-t / tau_rise)
    return h / h.max()


def simulate_calcium_communities(
    n_neurons: int = 40,
    n_communities: int = 3,
    *,
    community_size: int = 8,
    n_animals: int = 3,
    n_times: int = 1800,
    rate: float = 3.0,
    n_intervals: int = 3,
    interval_duration: float = 60.0,
    event_rate: float = 0.3,
    participation: float = 0.8,
    background_rate: float = 0.05,
    tau_rise: float = 0.2,
    tau_decay: float = 1.5,
    noise_std: float = 0.1,
    animal_gains: np.ndarray | None = None,
    missing_fraction: float = 0.0,
    random_state: int | np.random.Generator | None = None,
) -> PlantedCalcium:
    """Simulate calcium traces of several animals with planted co-active communities.

    Community c (``community_size`` neurons, disjoint; the remaining neurons are background)
    is active during ``n_intervals`` intervals of ``interval_duration`` seconds, at the
    same times in every animal.  While active, shared events arrive as a Poisson process
    (``event_rate`` Hz × the animal's gain) and each member fires with probability
    ``participation`` at each event, so members co-fluctuate.  Every neuron also fires
    independently at ``background_rate`` Hz.  Spike counts are convolved with the
    indicator kernel ``h(t) ∝ exp(−t/τ_decay) − exp(−t/τ_rise)`` (peak 1 ΔF/F per spike)
    and Gaussian noise of ``noise_std`` is added.

    Parameters
    ----------
    n_neurons : int, default=40
        Size of the full population (names "n000", "n001", ...).
    n_communities : int, default=3
    community_size : int, default=8
    n_animals : int, default=3
    n_times : int, default=1800
        Samples per recording.
    rate : float, default=3.0
        Sampling rate in Hz (whole-brain C. elegans imaging is ~3 Hz).
    n_intervals : int, default=3
        Active intervals per community.
    interval_duration : float, default=60.0
        Seconds per active interval.
    event_rate : float, default=0.3
        Shared events per second during activity.
    participation : float, default=0.8
        Probability that a member fires at a shared event.
    background_rate : float, default=0.05
        Independent spikes per second of every neuron.
    tau_rise, tau_decay : float, default=0.2, 1.5
        Indicator kernel time constants in seconds (GCaMP-like).
    noise_std : float, default=0.1
        Standard deviation of the additive noise (ΔF/F).
    animal_gains : ndarray of shape (n_animals, n_communities), optional
        Event-rate gains per animal and community; default uniform in [0.6, 1].
    missing_fraction : float, default=0.0
        Fraction of neurons left unrecorded in each animal (chosen at random), to exercise
        the alignment by name and masks.
    random_state : int, Generator or None

    Returns
    -------
    PlantedCalcium

    Examples
    --------
    >>> sim = simulate_calcium_communities(20, 2, community_size=5, n_times=600,
    ...                                    random_state=0)
    >>> sim.traces[0].shape, sim.active.shape
    ((600, 20), (2, 600))
    """
    if n_communities * community_size > n_neurons:
        raise ValueError(
            f"n_communities * community_size = {n_communities * community_size} exceeds "
            f"n_neurons={n_neurons}"
        )
    if not 0 <= missing_fraction < 1:
        raise ValueError(f"missing_fraction must be in [0, 1), got {missing_fraction!r}")
    rng = np.random.default_rng(random_state)
    names = [f"n{k:03d}" for k in range(n_neurons)]
    membership = -np.ones(n_neurons, dtype=int)
    perm = rng.permutation(n_neurons)
    for c in range(n_communities):
        membership[perm[c * community_size : (c + 1) * community_size]] = c
    dur = int(round(interval_duration * rate))
    if dur > n_times:
        raise ValueError(f"interval_duration={interval_duration} s exceeds the recording")
    active = np.zeros((n_communities, n_times), dtype=bool)
    intervals: list[list[tuple[float, float]]] = []
    for c in range(n_communities):
        ivs = []
        for _ in range(n_intervals):
            s = int(rng.integers(0, n_times - dur + 1))
            active[c, s : s + dur] = True
        # report the merged intervals actually planted
        edges = np.flatnonzero(np.diff(np.concatenate([[0], active[c].astype(int), [0]])))
        for s, e in zip(edges[::2], edges[1::2], strict=True):
            ivs.append((s / rate, e / rate))
        intervals.append(ivs)
    if animal_gains is None:
        gains = rng.uniform(0.6, 1.0, size=(n_animals, n_communities))
    else:
        gains = np.asarray(animal_gains, dtype=float)
        if gains.shape != (n_animals, n_communities):
            raise ValueError(
                f"animal_gains must have shape {(n_animals, n_communities)}, got {gains.shape}"
            )
    kernel = _calcium_kernel(rate, tau_rise, tau_decay)
    traces, spikes_all, recorded_names = [], [], []
    for a in range(n_animals):
        spikes = rng.poisson(background_rate / rate, size=(n_times, n_neurons))
        for c in range(n_communities):
            events = rng.random(n_times) < (event_rate * gains[a, c] / rate) * active[c]
            members = np.flatnonzero(membership == c)
            fire = rng.random((n_times, members.size)) < participation
            spikes[:, members] += (events[:, None] & fire).astype(spikes.dtype)
        calcium = np.apply_along_axis(lambda s: np.convolve(s, kernel)[:n_times], 0, spikes)
        traces_a = calcium + noise_std * rng.standard_normal((n_times, n_neurons))
        keep = np.sort(rng.permutation(n_neurons)[: n_neurons - int(missing_fraction * n_neurons)])
        traces.append(traces_a[:, keep])
        spikes_all.append(spikes[:, keep])
        recorded_names.append([names[k] for k in keep])
    return PlantedCalcium(
        traces=traces,
        neuron_names=recorded_names,
        spikes=spikes_all,
        membership=membership,
        all_names=names,
        active=active,
        intervals=intervals,
        animal_gains=gains,
        rate=float(rate),
    )


def _powerlaw_ints(
    rng: np.random.Generator, size: int, exponent: float, low: int, high: int
) -> np.ndarray:
    k = np.arange(low, high + 1, dtype=float)
    p = k**-exponent
    return rng.choice(k.astype(int), size=size, p=p / p.sum())


def planted_weighted_graph(
    n_nodes: int = 200,
    mu: float = 0.3,
    *,
    avg_degree: float = 15.0,
    max_degree: int = 40,
    degree_exponent: float = 2.0,
    community_exponent: float = 1.0,
    min_community: int = 15,
    max_community: int = 50,
    weight_mixing: float | None = None,
    weight_shape: float = 4.0,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted undirected graph with planted communities (LFR-style benchmark).

    Degrees follow a truncated power law (exponent ``degree_exponent``, mean ≈
    ``avg_degree``), community sizes another (``community_exponent``).  Each node puts a
    fraction ``1 − μ`` of its edge stubs inside its community and ``μ`` outside; stubs are
    matched at random (configuration model), self-loops and duplicate edges dropped.  Edge
    weights are Gamma(``weight_shape``) with mean 1 inside communities and mean ``w_out``
    outside, with ``w_out`` chosen so that the expected fraction of a node's strength on
    external edges is ``weight_mixing`` (default μ, i.e. ``w_out = 1``).  This simplifies
    the weighted LFR generator (which also ties strength to degree) but keeps its two
    knobs that matter for community detection: heterogeneous degrees and sizes, and the
    mixing of topology and weights.

    Parameters
    ----------
    n_nodes : int, default=200
    mu : float, default=0.3
        Topological mixing, in [0, 1).
    avg_degree : float, default=15.0
    max_degree : int, default=40
    degree_exponent, community_exponent : float, default=2.0, 1.0
    min_community, max_community : int, default=15, 50
    weight_mixing : float, optional
        Fraction of strength on external edges; default ``mu``.
    weight_shape : float, default=4.0
        Gamma shape of the weights (larger: less variable).
    random_state : int, Generator or None

    Returns
    -------
    weights : ndarray of shape (n_nodes, n_nodes)
        Symmetric, non-negative, zero diagonal.
    membership : ndarray of int, shape (n_nodes,)
        Planted community of each node.

    Examples
    --------
    >>> w, memb = planted_weighted_graph(100, 0.2, random_state=0)
    >>> w.shape, bool(np.allclose(w, w.T))
    ((100, 100), True)
    """
    if not 0 <= mu < 1:
        raise ValueError(f"mu must be in [0, 1), got {mu!r}")
    rng = np.random.default_rng(random_state)
    # smallest degree such that the truncated power law has the requested mean
    best_low, best_gap = 1, np.inf
    for low in range(1, max_degree):
        k = np.arange(low, max_degree + 1, dtype=float)
        p = k**-degree_exponent
        gap = abs((k * p).sum() / p.sum() - avg_degree)
        if gap < best_gap:
            best_low, best_gap = low, gap
    degrees = _powerlaw_ints(rng, n_nodes, degree_exponent, best_low, max_degree)
    sizes: list[int] = []
    while sum(sizes) < n_nodes:
        sizes.append(
            int(_powerlaw_ints(rng, 1, community_exponent, min_community, max_community)[0])
        )
    sizes[-1] -= sum(sizes) - n_nodes
    if sizes[-1] < min_community and len(sizes) > 1:
        extra = sizes.pop()
        for k in range(extra):
            sizes[k % len(sizes)] += 1
    internal = np.round((1 - mu) * degrees).astype(int)
    # the largest internal degrees go first into communities big enough to hold them
    membership = -np.ones(n_nodes, dtype=int)
    room = np.array(sizes)
    for node in np.argsort(-internal, kind="stable"):
        fits = np.flatnonzero((room > 0) & (np.array(sizes) > internal[node]))
        choices = fits if fits.size else np.flatnonzero(room > 0)
        c = int(rng.choice(choices))
        membership[node] = c
        room[c] -= 1
    for node in range(n_nodes):
        internal[node] = min(internal[node], sizes[membership[node]] - 1)
    external = degrees - internal
    adj = np.zeros((n_nodes, n_nodes), dtype=bool)

    def _match(stubs: np.ndarray, same_allowed: bool) -> None:
        stubs = rng.permutation(stubs)
        if stubs.size % 2:
            stubs = stubs[:-1]
        u, v = stubs[::2], stubs[1::2]
        ok = u != v
        if not same_allowed:
            ok &= membership[u] != membership[v]
        adj[u[ok], v[ok]] = True
        adj[v[ok], u[ok]] = True

    for c in range(len(sizes)):
        nodes = np.flatnonzero(membership == c)
        _match(np.repeat(nodes, internal[nodes]), True)
    _match(np.repeat(np.arange(n_nodes), external), False)
    wmix = mu if weight_mixing is None else float(weight_mixing)
    # expected external strength fraction μ·w_out / (μ·w_out + (1 − μ)) = wmix
    w_out = 1.0 if mu == 0 or wmix == mu else wmix * (1 - mu) / (mu * max(1 - wmix, 1e-12))
    same = membership[:, None] == membership[None, :]
    scale = np.where(same, 1.0, w_out) / weight_shape
    weights = rng.gamma(weight_shape, 1.0, size=adj.shape) * scale
    weights = np.triu(weights * adj, 1)
    return weights + weights.T, membership
