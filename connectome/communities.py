"""Communities of the neuron × neuron graphs that NTF components define.

Each component r of a CP fit of a pairs × windows × animals affinity tensor has a pair
factor ``a_r`` (length n_pairs).  Folding ``w_r · a_r`` back into a symmetric neuron ×
neuron matrix gives a weighted graph of the pairs that co-vary in that component
(Dyballa et al. 2024).  Its communities are found with

* Leiden (Traag, Waltman & van Eck 2019; ``leidenalg``) maximising weighted modularity
  with a resolution parameter (Reichardt–Bornholdt configuration null) or the Constant
  Potts Model (CPM);
* our weighted degree-corrected stochastic block model (:mod:`connectome.sbm`), number of
  blocks chosen by ICL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodata.log import progress_enabled, verbose

from .affinity import fold_pairs
from .ntf.result import CPResult
from .sbm import _check_graph, fit_dcsbm, select_dcsbm

__all__ = [
    "CommunityResult",
    "leiden_communities",
    "sbm_communities",
    "component_graphs",
    "component_communities",
    "block_matrix",
    "DynamicConnectome",
    "dynamic_connectome",
    "EnrichmentResult",
    "structural_enrichment",
]


@dataclass
class CommunityResult:
    """A partition of the nodes of a weighted graph.

    Attributes
    ----------
    membership : ndarray of int, shape (n_nodes,)
        Community of each node, labelled 0..K-1 by decreasing size.
    block_matrix : ndarray of shape (K, K)
        Mean edge weight between (and, on the diagonal, within) communities, over node
        pairs ``i ≠ j`` (same unit as the weights).
    method : str
        "leiden-modularity", "leiden-cpm" or "dcsbm".
    quality : float
        Modularity / CPM quality for Leiden, ICL for the SBM.
    node_names : list of str or None
    scores : dict
        For the SBM, the ICL of every number of blocks tried.
    """

    membership: np.ndarray
    block_matrix: np.ndarray
    method: str
    quality: float
    node_names: list[str] | None = None
    scores: dict[int, float] = field(default_factory=dict)

    @property
    def n_communities(self) -> int:
        return int(self.block_matrix.shape[0])

    def communities(self) -> list[list[Any]]:
        """Members of each community (names when known, else indices)."""
        labels = self.node_names or list(range(self.membership.size))
        return [
            [labels[i] for i in np.flatnonzero(self.membership == c)]
            for c in range(self.n_communities)
        ]

    def order(self) -> np.ndarray:
        """Node order that groups communities (for sorted matrix plots)."""
        return np.argsort(self.membership, kind="stable")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "membership": self.membership.tolist(),
            "block_matrix": self.block_matrix.tolist(),
            "method": self.method,
            "quality": float(self.quality),
            "node_names": self.node_names,
            "scores": {str(k): float(v) for k, v in self.scores.items()},
        }

    def plot_matrix(self, weights: np.ndarray, *, ax: Any = None, cmap: str = "viridis") -> Any:
        """Show ``weights`` with nodes sorted by community and community borders drawn.

        Parameters
        ----------
        weights : ndarray of shape (n_nodes, n_nodes)
        ax : matplotlib Axes, optional
        cmap : str, default="viridis"

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4))
        order = self.order()
        im = ax.imshow(
            np.asarray(weights)[np.ix_(order, order)], cmap=cmap, interpolation="nearest"
        )
        edges = np.cumsum(np.bincount(self.membership))[:-1] - 0.5
        for e in edges:
            ax.axhline(e, color="w", lw=0.8)
            ax.axvline(e, color="w", lw=0.8)
        if self.node_names is not None and len(order) <= 60:
            ax.set_xticks(
                range(len(order)), [self.node_names[i] for i in order], rotation=90, fontsize=6
            )
            ax.set_yticks(range(len(order)), [self.node_names[i] for i in order], fontsize=6)
        ax.set_title(f"{self.method}: {self.n_communities} communities")
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
        return ax.figure


def _by_size(labels: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels)
    order = np.argsort(-counts, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    return remap[labels]


def block_matrix(weights: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Mean weight between communities over node pairs ``i ≠ j``, shape (K, K)."""
    w = np.asarray(weights, dtype=float).copy()
    np.fill_diagonal(w, 0.0)
    k = int(membership.max()) + 1
    onehot = np.zeros((membership.size, k))
    onehot[np.arange(membership.size), membership] = 1.0
    total = onehot.T @ w @ onehot
    sizes = onehot.sum(axis=0)
    pairs = np.outer(sizes, sizes) - np.diag(sizes)
    return total / np.maximum(pairs, 1.0)


def leiden_communities(
    weights: np.ndarray,
    *,
    objective: str = "modularity",
    resolution: float = 1.0,
    n_iterations: int = -1,
    node_names: Sequence[str] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> CommunityResult:
    """Leiden communities of a weighted undirected graph.

    Parameters
    ----------
    weights : ndarray of shape (n_nodes, n_nodes)
        Symmetric non-negative weights (diagonal ignored; zero means no edge).
    objective : {"modularity", "cpm"}, default="modularity"
        Weighted modularity with resolution γ,
        ``Q = 1/(2m) Σ_ij [W_ij − γ k_i k_j / (2m)] δ(c_i, c_j)``, or the Constant Potts
        Model ``Σ_ij [W_ij − γ] δ(c_i, c_j)`` (γ in weight units: communities have mean
        internal weight above γ).
    resolution : float, default=1.0
        γ; larger gives more, smaller communities.
    n_iterations : int, default=-1
        Leiden iterations; negative runs until the partition is stable.
    node_names : sequence of str, optional
    random_state : int, Generator or None

    Returns
    -------
    CommunityResult

    References
    ----------
    .. [1] V. A. Traag, L. Waltman and N. J. van Eck, "From Louvain to Leiden: guaranteeing
       well-connected communities", Scientific Reports 9, 5233 (2019).

    Examples
    --------
    >>> w = np.kron(np.eye(2), np.ones((4, 4)))
    >>> leiden_communities(w, random_state=0).membership
    array([0, 0, 0, 0, 1, 1, 1, 1])
    """
    import igraph as ig
    import leidenalg

    if objective not in ("modularity", "cpm"):
        raise ValueError(f"objective must be 'modularity' or 'cpm', got {objective!r}")
    if not np.isfinite(resolution) or resolution < 0:
        raise ValueError(f"resolution must be a number >= 0, got {resolution!r}")
    w = _check_graph(weights)
    n = w.shape[0]
    iu, ju = np.nonzero(np.triu(w, 1))
    graph = ig.Graph(n=n, edges=list(zip(iu.tolist(), ju.tolist(), strict=True)))
    graph.es["weight"] = w[iu, ju].tolist()
    rng = np.random.default_rng(random_state)
    seed = int(rng.integers(2**31 - 1))
    if objective == "modularity":
        part_cls = leidenalg.RBConfigurationVertexPartition
    else:
        part_cls = leidenalg.CPMVertexPartition
    partition = leidenalg.find_partition(
        graph,
        part_cls,
        weights="weight",
        resolution_parameter=float(resolution),
        n_iterations=n_iterations,
        seed=seed,
    )
    labels = _by_size(np.asarray(partition.membership, dtype=int))
    return CommunityResult(
        membership=labels,
        block_matrix=block_matrix(w, labels),
        method=f"leiden-{objective}",
        quality=float(partition.quality()),
        node_names=None if node_names is None else [str(x) for x in node_names],
    )


def sbm_communities(
    weights: np.ndarray,
    *,
    n_blocks: int | None = None,
    max_blocks: int = 10,
    n_init: int = 4,
    max_iter: int = 200,
    node_names: Sequence[str] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> CommunityResult:
    """Communities from our weighted degree-corrected SBM (variational EM).

    See :mod:`connectome.sbm` for the model.  With ``n_blocks=None`` the number of blocks
    is chosen among 1..``max_blocks`` by the integrated completed likelihood.

    Parameters
    ----------
    weights : ndarray of shape (n_nodes, n_nodes)
        Symmetric non-negative weights.
    n_blocks : int, optional
        Fixed number of blocks.
    max_blocks : int, default=10
    n_init : int, default=4
        Starts per K (spectral + random).
    max_iter : int, default=200
    node_names : sequence of str, optional
    random_state : int, Generator or None

    Returns
    -------
    CommunityResult
        ``quality`` is the ICL; ``scores`` the ICL per K tried.

    References
    ----------
    .. [1] B. Karrer and M. E. J. Newman, "Stochastic blockmodels and community structure
       in networks", Phys. Rev. E 83, 016107 (2011).
    .. [2] J.-J. Daudin, F. Picard and S. Robin, "A mixture model for random graphs",
       Statistics and Computing 18 (2008).

    Examples
    --------
    >>> w = np.kron(np.eye(2), np.ones((6, 6))) + 0.02
    >>> sbm_communities(w, random_state=0).membership
    array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    """
    w = _check_graph(weights)
    if n_blocks is None:
        fit = select_dcsbm(
            w, max_blocks=max_blocks, n_init=n_init, max_iter=max_iter, random_state=random_state
        )
    else:
        fit = fit_dcsbm(w, n_blocks, n_init=n_init, max_iter=max_iter, random_state=random_state)
        fit.scores = {n_blocks: fit.icl}
    labels = _by_size(fit.membership)
    return CommunityResult(
        membership=labels,
        block_matrix=block_matrix(w, labels),
        method="dcsbm",
        quality=fit.icl,
        node_names=None if node_names is None else [str(x) for x in node_names],
        scores=dict(fit.scores),
    )


def component_graphs(result: CPResult, n_neurons: int, *, pair_mode: int = 0) -> list[np.ndarray]:
    """Fold each component's pair factor into a weighted neuron × neuron graph.

    Parameters
    ----------
    result : CPResult
        Fit of a pairs × windows × animals tensor.
    n_neurons : int
        Neurons behind the pairs (``AffinityTensor.n_neurons``).
    pair_mode : int, default=0
        Which mode holds the pairs.

    Returns
    -------
    list of ndarray of shape (n_neurons, n_neurons)
        ``w_r · fold(a_r)`` for each component r (zero diagonal).
    """
    factor = result.factors[pair_mode]
    return [fold_pairs(factor[:, r] * result.weights[r], n_neurons) for r in range(result.rank)]


def component_communities(
    result: CPResult,
    neuron_names: Sequence[str],
    *,
    method: str = "sbm",
    pair_mode: int = 0,
    random_state: int | np.random.Generator | None = None,
    **kwargs: Any,
) -> list[CommunityResult]:
    """Communities of every NTF component's neuron graph.

    Parameters
    ----------
    result : CPResult
    neuron_names : sequence of str
        ``AffinityTensor.neuron_names``.
    method : {"sbm", "leiden"}, default="sbm"
    pair_mode : int, default=0
    random_state : int, Generator or None
    **kwargs
        Passed to :func:`sbm_communities` or :func:`leiden_communities`.

    Returns
    -------
    list of CommunityResult, one per component
    """
    if method not in ("sbm", "leiden"):
        raise ValueError(f"method must be 'sbm' or 'leiden', got {method!r}")
    rng = np.random.default_rng(random_state)
    graphs = component_graphs(result, len(neuron_names), pair_mode=pair_mode)
    find = sbm_communities if method == "sbm" else leiden_communities
    return [find(g, node_names=neuron_names, random_state=rng, **kwargs) for g in graphs]


@dataclass
class DynamicConnectome:
    """The full dynamic functional connectome analysis of Dyballa et al. (2024).

    Attributes
    ----------
    affinity : AffinityTensor
        The pairs × windows × animals affinity tensor (with mask and names).
    cp : CPResult
        Its non-negative CP decomposition: factors[0] pairs, factors[1] windows,
        factors[2] animals.
    communities : list of CommunityResult
        Communities of each component's folded neuron × neuron graph.
    """

    affinity: Any
    cp: CPResult
    communities: list[CommunityResult]

    @property
    def rank(self) -> int:
        return self.cp.rank

    def component_graph(self, component: int) -> np.ndarray:
        """Weighted neuron × neuron graph of one component, shape (n_neurons, n_neurons)."""
        return fold_pairs(
            self.cp.factors[0][:, component] * self.cp.weights[component],
            self.affinity.n_neurons,
        )

    def time_courses(self) -> np.ndarray:
        """Weight × time factor, shape (n_windows, rank), at ``affinity.window_times``."""
        return self.cp.factors[1] * self.cp.weights

    def summary_table(self) -> Any:
        """One row per component: weight, peak time, communities and their sizes.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        rows = []
        times = self.affinity.window_times
        for r in range(self.rank):
            comm = self.communities[r]
            sizes = np.bincount(comm.membership)
            animals = self.cp.factors[2][:, r]
            rows.append(
                {
                    "component": r,
                    "weight": float(self.cp.weights[r]),
                    "peak_time": float(times[int(np.argmax(self.cp.factors[1][:, r]))]),
                    "n_communities": comm.n_communities,
                    "community_sizes": sizes.tolist(),
                    "strongest_community": comm.communities()[
                        int(np.argmax(np.diag(comm.block_matrix)))
                    ],
                    "top_animal": self.affinity.animal_names[int(np.argmax(animals))],
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary: affinity metadata, CP fit, communities."""
        return {
            "affinity": self.affinity.to_dict(),
            "cp": self.cp.to_dict(),
            "communities": [c.to_dict() for c in self.communities],
        }

    def save(self, directory: Any) -> Any:
        """Write ``affinity.npz``, ``cp.npz``, ``communities.json``, ``summary.csv``.

        Returns the directory (created if needed).
        """
        import json
        from pathlib import Path

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.affinity.save(out / "affinity.npz")
        self.cp.save(out / "cp.npz")
        (out / "communities.json").write_text(
            json.dumps([c.to_dict() for c in self.communities], indent=1)
        )
        self.summary_table().to_csv(out / "summary.csv", index=False)
        return out

    def plot_time_courses(self, **kwargs: Any) -> Any:
        """See :func:`connectome.plotting_ntf.plot_time_courses`."""
        from .plotting_ntf import plot_time_courses

        return plot_time_courses(self, **kwargs)

    def plot_animal_loadings(self, **kwargs: Any) -> Any:
        """See :func:`connectome.plotting_ntf.plot_animal_loadings`."""
        from .plotting_ntf import plot_animal_loadings

        return plot_animal_loadings(self, **kwargs)

    def plot_affinity_matrix(self, component: int, **kwargs: Any) -> Any:
        """See :func:`connectome.plotting_ntf.plot_affinity_matrix`."""
        from .plotting_ntf import plot_affinity_matrix

        return plot_affinity_matrix(self, component, **kwargs)

    def plot_graph(self, component: int, **kwargs: Any) -> Any:
        """See :func:`connectome.plotting_ntf.plot_component_graph`."""
        from .plotting_ntf import plot_component_graph

        return plot_component_graph(self, component, **kwargs)


@verbose
def dynamic_connectome(
    traces: Any,
    *,
    window: int,
    rank: int,
    step: int | None = None,
    affinity: str = "differential",
    neuron_names: Any = None,
    animal_names: Sequence[str] | None = None,
    rate: float | None = None,
    t0: float = 0.0,
    community_method: str = "sbm",
    method: str = "hals",
    n_restarts: int = 5,
    n_iter_max: int = 500,
    tol: float = 1e-7,
    backend: str = "numpy",
    device: str | None = None,
    random_state: int | np.random.Generator | None = None,
    verbose: bool | str | None = None,
    **community_kwargs: Any,
) -> DynamicConnectome:
    """Traces → affinity tensor → non-negative CP → communities of every component.

    Parameters
    ----------
    traces : ndarray of shape (n_times, n_neurons) or a sequence of them (one per animal)
    window, step, neuron_names, animal_names, rate, t0
        See :func:`connectome.affinity.sliding_affinity` (``affinity`` is its ``method``).
    rank : int
        Number of NTF components.
    community_method : {"sbm", "leiden"}, default="sbm"
    method, n_restarts, n_iter_max, tol, backend, device
        See :func:`connectome.ntf.nonneg_cp`.
    random_state : int, Generator or None
    verbose : bool or str or None
        Log level for this call (:func:`neurodata.log.verbose`); True (INFO) shows the
        factorization's progress bar, None follows the package level (quiet by default).
    **community_kwargs
        Passed to :func:`sbm_communities` or :func:`leiden_communities`.

    Returns
    -------
    DynamicConnectome

    References
    ----------
    .. [1] L. Dyballa et al., "Learning dynamic representations of the functional
       connectome in neurobiological networks", ICLR 2024.

    Examples
    --------
    >>> from connectome.simulate_communities import simulate_calcium_communities
    >>> sim = simulate_calcium_communities(20, 2, community_size=6, n_animals=3,
    ...                                    n_times=900, random_state=0)
    >>> dc = dynamic_connectome(sim.traces, window=30, rank=2, rate=sim.rate,
    ...                         neuron_names=sim.neuron_names, random_state=0, tol=1e-5)
    >>> dc.summary_table().shape[0]
    2
    """
    from .affinity import sliding_affinity
    from .ntf.decomposition import nonneg_cp

    rng = np.random.default_rng(random_state)
    aff = sliding_affinity(
        traces,
        window=window,
        step=step,
        method=affinity,
        neuron_names=neuron_names,
        animal_names=animal_names,
        rate=rate,
        t0=t0,
    )
    cp = nonneg_cp(
        aff.values,
        rank,
        mask=aff.mask,
        method=method,
        n_restarts=n_restarts,
        n_iter_max=n_iter_max,
        tol=tol,
        random_state=rng,
        backend=backend,
        device=device,
        verbose=progress_enabled(),
    )
    comms = component_communities(
        cp, aff.neuron_names, method=community_method, random_state=rng, **community_kwargs
    )
    return DynamicConnectome(affinity=aff, cp=cp, communities=comms)


@dataclass
class EnrichmentResult:
    """Structural-edge enrichment of community co-membership against shuffled graphs.

    Attributes
    ----------
    observed : int
        Structural edges whose two neurons share a community.
    null : ndarray of int, shape (n_shuffles,)
        The same count in degree-preserving rewirings of the structural graph.
    z : float
        ``(observed − mean(null)) / std(null)``; NaN when the null has no spread and equals
        the observation (e.g. a single community), ±inf when it has no spread and differs.
    p_value : float
        One-sided, ``(1 + #{null ≥ observed}) / (1 + n_shuffles)``.
    n_neurons : int
        Neurons present in both the partition and the structural graph.
    n_edges : int
        Structural edges among them.
    """

    observed: int
    null: np.ndarray
    z: float
    p_value: float
    n_neurons: int
    n_edges: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "observed": int(self.observed),
            "null_mean": float(self.null.mean()),
            "null_std": float(self.null.std()),
            "z": float(self.z),
            "p_value": float(self.p_value),
            "n_neurons": int(self.n_neurons),
            "n_edges": int(self.n_edges),
        }


def structural_enrichment(
    communities: CommunityResult,
    adjacency: np.ndarray,
    adjacency_names: Sequence[str],
    *,
    n_shuffles: int = 1000,
    random_state: int | np.random.Generator | None = None,
) -> EnrichmentResult:
    """Are structural connections (e.g. chemical + gap junctions) enriched within communities?

    The structural graph is binarised and symmetrised (an edge where ``A_ij + A_ji > 0``)
    and restricted to the neurons named in both inputs.  The statistic is the number of its
    edges that join two neurons of the same community; the null distribution comes from
    degree-preserving rewirings (Maslov–Sneppen edge swaps, 10 swap attempts per edge, via
    igraph's ``Graph.rewire``), which keep every neuron's number of partners.

    Parameters
    ----------
    communities : CommunityResult
        A partition with ``node_names``.
    adjacency : ndarray of shape (n, n)
        Structural connectivity (weights or counts, directed or not).
    adjacency_names : sequence of str, length n
    n_shuffles : int, default=1000
    random_state : int, Generator or None
        Seeds the rewiring (igraph's generator is set for the call and restored after).

    Returns
    -------
    EnrichmentResult
    """
    import random

    import igraph as ig

    if communities.node_names is None:
        raise ValueError("communities has no node_names; build it with node_names=...")
    adj = np.asarray(adjacency, dtype=float)
    names = [str(x) for x in adjacency_names]
    if adj.ndim != 2 or adj.shape != (len(names), len(names)):
        raise ValueError(
            f"adjacency must be square with one name per row, got {adj.shape} and "
            f"{len(names)} names"
        )
    pos = {nm: k for k, nm in enumerate(names)}
    common = [i for i, nm in enumerate(communities.node_names) if nm in pos]
    if len(common) < 3:
        raise ValueError(
            f"only {len(common)} neurons are named in both the partition and the adjacency"
        )
    idx = np.array([pos[communities.node_names[i]] for i in common])
    sub = adj[np.ix_(idx, idx)]
    sub = (sub + sub.T) > 0
    np.fill_diagonal(sub, False)
    labels = communities.membership[np.array(common)]
    iu, ju = np.nonzero(np.triu(sub, 1))
    if iu.size == 0:
        raise ValueError("the structural graph has no edge among the shared neurons")
    observed = int(np.sum(labels[iu] == labels[ju]))
    graph = ig.Graph(n=len(common), edges=list(zip(iu.tolist(), ju.tolist(), strict=True)))
    rng = np.random.default_rng(random_state)
    ig.set_random_number_generator(random.Random(int(rng.integers(2**63 - 1))))
    null = np.empty(n_shuffles, dtype=int)
    try:
        for s in range(n_shuffles):
            g = graph.copy()
            g.rewire(n=10 * graph.ecount(), allowed_edge_types="simple")
            e = np.array(g.get_edgelist())
            null[s] = int(np.sum(labels[e[:, 0]] == labels[e[:, 1]]))
    finally:
        # give igraph back the global ``random`` module (its default generator)
        ig.set_random_number_generator(random)
    sd = float(null.std())
    diff = observed - float(null.mean())
    if sd > 0:
        z = diff / sd
    else:
        # a null without spread (e.g. one community: every edge is always inside) gives no
        # evidence either way when it equals the observation
        z = float("nan") if diff == 0 else float(np.copysign(np.inf, diff))
    p = (1 + int(np.sum(null >= observed))) / (1 + n_shuffles)
    return EnrichmentResult(
        observed=observed, null=null, z=z, p_value=p, n_neurons=len(common), n_edges=int(iu.size)
    )
