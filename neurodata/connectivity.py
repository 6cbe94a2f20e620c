"""Node × node weight matrices stored with a recording (e.g. a structural connectome)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ValidationError

__all__ = ["Connectivity", "CONNECTIVITY_KINDS"]

CONNECTIVITY_KINDS = ("chemical", "electrical", "functional", "structural", "other")


class Connectivity:
    """A weighted graph over named nodes.

    Parameters
    ----------
    weights : array of shape (n_nodes, n_nodes)
        ``weights[i, j]`` is the weight of the edge i → j (synapse counts, contact
        areas, correlation ...).
    nodes : sequence of str
        Unique node names (channel or neuron names of the recording).
    kind : {"chemical", "electrical", "functional", "structural", "other"}
    directed : bool
        Whether ``weights`` is meant as directed (i → j ≠ j → i).
    name : str
    """

    def __init__(self, weights, nodes: Sequence[str], *, kind: str = "other",
                 directed: bool = True, name: str = "connectivity"):
        w = np.asarray(weights, dtype=np.float64)
        nodes = [str(n) for n in nodes]
        if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] != len(nodes):
            raise ValidationError(
                f"connectivity {name!r}: weights must be (n, n) with n = {len(nodes)} node names; "
                f"got shape {w.shape}"
            )
        if len(set(nodes)) != len(nodes):
            raise ValidationError(f"connectivity {name!r}: node names must be unique")
        if kind not in CONNECTIVITY_KINDS:
            raise ValidationError(
                f"connectivity {name!r}: kind must be one of {CONNECTIVITY_KINDS}; got {kind!r}"
            )
        self.weights = w
        self.nodes = nodes
        self.kind = kind
        self.directed = bool(directed)
        self.name = name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Connectivity):
            return NotImplemented
        return (np.array_equal(self.weights, other.weights) and self.nodes == other.nodes
                and self.kind == other.kind and self.directed == other.directed)

    def __repr__(self) -> str:
        n_edges = int(np.count_nonzero(self.weights))
        return (f"<Connectivity {self.name!r} | {self.kind}, {len(self.nodes)} nodes, "
                f"{n_edges} edges, {'directed' if self.directed else 'undirected'}>")
