"""Known (structural) connectomes: loading them for the analyses, and testing whether
functional communities follow their edges.

:func:`load_structural_matrix` gives a ``(C, C)`` post × pre matrix for the units of a
spike analysis (the structural prior of :class:`connectome.HMMGLM`);
:func:`load_structural` gives the chemical and electrical adjacency of a connectome file
or recording; :func:`enrichment_table` tests every component's communities against
degree-preserving shuffles (:func:`connectome.structural_enrichment`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurodata import errors
from neurodata.io import load_connectome
from neurodata.recording import open_recording

__all__ = ["load_structural_matrix", "load_structural", "enrichment_table"]


def load_structural_matrix(path: str | os.PathLike, unit_names: Sequence[str]) -> np.ndarray:
    """A known ``(C, C)`` connectome (post × pre) for the selected units.

    Parameters
    ----------
    path : path-like
        ``.npy`` (a ``(C, C)`` array in the order of the selected units), ``.csv`` (a
        plain numeric matrix in that order, or a table whose header row and first column
        name the units), or a converted recording (``.h5``) whose ``/connectivity`` holds a
        matrix with node names (the first one is used; nodes are matched by name).
    unit_names : sequence of str
        The selected units, in column order.

    Returns
    -------
    ndarray of float64 of shape (C, C)

    Raises
    ------
    neurodata.errors.NeurodataError
        Missing file, unreadable file, wrong shape, units missing from the node names,
        NaN entries.

    Examples
    --------
    >>> w = load_structural_matrix("structural.npy", ["a", "b"])  # doctest: +SKIP
    """
    import pandas as pd

    path = Path(path)
    names = list(unit_names)
    c = len(names)
    if not path.exists():
        raise errors.MissingFileError("no such structural connectome file", path=path)
    suffix = path.suffix.lower()
    nodes = None
    try:
        if suffix == ".npy":
            w = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            try:
                w = np.loadtxt(path, delimiter=",", ndmin=2)
            except ValueError:  # a header row: a table named by unit
                df = pd.read_csv(path, index_col=0)
                w, nodes = df.to_numpy(dtype=float), [str(n) for n in df.index]
                if [str(n) for n in df.columns] != nodes:
                    raise errors.ValidationError(
                        "expected the header row to name the same units as the first column, "
                        "in the same order", path=path) from None
        elif suffix in (".h5", ".hdf5"):
            with open_recording(path) as rec:
                if not rec.connectivity:
                    raise errors.ValidationError(
                        "expected a /connectivity matrix; found none; give a recording with "
                        "one, or a .npy/.csv matrix", path=path)
                conn = next(iter(rec.connectivity.values()))
                w, nodes = np.asarray(conn.weights, dtype=float), [str(n) for n in conn.nodes]
        else:
            raise errors.FormatError(
                f"expected a .npy, .csv or .h5 structural connectome; got {suffix!r}",
                path=path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, errors.NeurodataError):
            raise
        raise errors.FormatError(f"could not read a numeric matrix ({exc}); expected a "
                                 "(C, C) matrix of numbers", path=path) from exc
    w = np.asarray(w, dtype=float)
    if nodes is not None:
        pos = {n: k for k, n in enumerate(nodes)}
        missing = [n for n in names if n not in pos]
        if missing:
            raise errors.ValidationError(
                f"units {missing[:5]} are not among the connectome's nodes {nodes[:8]}; "
                "expected every selected unit to be named (choose --units accordingly)",
                path=path)
        idx = np.array([pos[n] for n in names])
        w = w[np.ix_(idx, idx)]
    if w.shape != (c, c):
        raise errors.ValidationError(
            f"structural connectome has shape {w.shape}; expected ({c}, {c}), one row and "
            f"column per selected unit ({', '.join(names[:5])}{' …' if c > 5 else ''})",
            path=path)
    if not np.isfinite(w).all():
        raise errors.ValidationError("structural connectome contains NaN or infinite values; "
                                     "expected finite weights", path=path)
    return w


def load_structural(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str]]:
    """Chemical and gap-junction adjacency matrices from a connectome file or recording.

    Parameters
    ----------
    path : path-like
        A connectome file :func:`neurodata.load_connectome` reads (NemaNode ``.json``,
        WormAtlas ``.csv``, Cook 2019 ``.xlsx``), or a ``.h5`` recording whose
        ``/connectivity`` holds matrices of kind ``chemical`` and/or ``electrical``.

    Returns
    -------
    matrices : dict of str to ndarray of shape (n_nodes, n_nodes)
        ``"chemical"``, ``"electrical"`` (those present) and ``"chemical+electrical"``
        (their sum), all on one node list.
    nodes : list of str

    Examples
    --------
    >>> mats, nodes = load_structural("cook_jarrell_2019_h.json")  # doctest: +SKIP
    >>> sorted(mats)  # doctest: +SKIP
    ['chemical', 'chemical+electrical', 'electrical']
    """
    path = Path(path)
    if not path.exists():
        raise errors.MissingFileError("no such structural connectome file", path=path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        with open_recording(path) as rec:
            conns = {}
            for c in rec.connectivity.values():
                kind = c.kind if c.kind in ("chemical", "electrical") else None
                if kind is not None and kind not in conns:
                    conns[kind] = c
    else:
        conns = load_connectome(path)
    if not conns:
        raise errors.ValidationError(
            "expected connectivity of kind 'chemical' and/or 'electrical'; found none; give a "
            "connectome file (.json/.csv/.xlsx) or a recording with /connectivity", path=path)
    nodes: list[str] = []
    for c in conns.values():
        nodes.extend(n for n in c.nodes if n not in nodes)
    pos = {n: k for k, n in enumerate(nodes)}
    mats = {}
    for kind, c in conns.items():
        w = np.zeros((len(nodes), len(nodes)))
        idx = np.array([pos[n] for n in c.nodes])
        w[np.ix_(idx, idx)] = np.asarray(c.weights, dtype=float)
        mats[kind] = w
    mats["chemical+electrical"] = sum(mats.values())
    return mats, nodes


def enrichment_table(
    dc: Any,
    matrices: dict[str, np.ndarray],
    nodes: Sequence[str],
    *,
    n_shuffles: int = 1000,
    random_state: int | None = 0,
) -> Any:
    """Structural-edge enrichment of every component's communities, for every edge set.

    Parameters
    ----------
    dc : DynamicConnectome
    matrices : dict of str to ndarray of shape (n_nodes, n_nodes)
        E.g. from :func:`load_structural`.
    nodes : sequence of str
    n_shuffles : int, default=1000
        Degree-preserving rewirings per test.
    random_state : int or None

    Returns
    -------
    pandas.DataFrame
        One row per (component, edge set): observed within-community edges, null mean
        and std, z, one-sided p, neurons and edges tested, and the number of communities.

    Examples
    --------
    >>> table = enrichment_table(dc, *load_structural("c.json"), n_shuffles=100)  # doctest: +SKIP
    """
    import pandas as pd

    from .communities import structural_enrichment

    rng = np.random.default_rng(random_state)
    rows = []
    for r, comm in enumerate(dc.communities):
        for kind, adj in matrices.items():
            res = structural_enrichment(comm, adj, list(nodes), n_shuffles=n_shuffles,
                                        random_state=rng)
            rows.append({"component": r, "edges": kind, "n_communities": comm.n_communities,
                         **res.to_dict()})
    return pd.DataFrame(rows)
