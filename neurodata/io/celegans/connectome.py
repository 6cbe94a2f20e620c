"""Structural connectomes of *C. elegans* as Connectivity objects: build, load, attach."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...celegans_names import NEURONS_302, normalize_neuron_name
from ...connectivity import Connectivity
from ...errors import FormatError, MissingFileError
from ...log import logger, verbose
from ...recording import Recording
from .._base import Reader, register
from ._common import SPECIES

__all__ = ["connectome_from_edges", "load_connectome", "read_connectome", "attach_connectome",
           "ConnectomeReader", "connectome_reader", "register_connectome"]

#: The reader of each connectome file type, filled by the format modules
#: (``nemanode``, ``varshney``, ``cook2019``) when they register.
_BY_FORMAT: dict[str, ConnectomeReader] = {}


def _cell_name(cell: Any) -> str:
    """Canonical name for a neuron, the stripped source spelling for any other cell."""
    return normalize_neuron_name(cell) or str(cell).strip()


def _node_list(edge_lists: Iterable[list[tuple[str, str, float]]],
               neurons_only: bool) -> list[str]:
    nodes = list(NEURONS_302)
    if not neurons_only:
        known = set(nodes)
        for edges in edge_lists:
            for pre, post, _ in edges:
                for cell in (pre, post):
                    name = _cell_name(cell)
                    if name not in known:
                        known.add(name)
                        nodes.append(name)
    return nodes


def connectome_from_edges(
    edges: Iterable[tuple[str, str, float]],
    *,
    kind: str,
    neurons_only: bool = True,
    name: str | None = None,
    nodes: Sequence[str] | None = None,
) -> Connectivity:
    """Build a :class:`~neurodata.Connectivity` from ``(pre, post, weight)`` triples.

    Parameters
    ----------
    edges : iterable of (str, str, float)
        Cell names as in the source; weights of repeated pairs are added.
    kind : {"chemical", "electrical"}
        ``"chemical"``: directed, ``weights[pre, post]``.  ``"electrical"``: gap
        junctions, made symmetric with ``max(w, w.T)`` (sources list each junction in
        both directions with equal counts, or in one direction only).
    neurons_only : bool, default=True
        ``True``: nodes are exactly :data:`~neurodata.celegans_names.NEURONS_302` in
        that order (absent neurons get zero rows), and non-neuronal cells (muscles,
        glia, end organs) are dropped - so connectomes from different sources align.
        ``False``: the 302 neurons first, then every other cell in order of first
        appearance, under its source spelling (stripped of spaces).
    name : str or None
        Defaults to ``kind``.
    nodes : sequence of str or None
        Node names to use instead (canonical neuron names and source spellings of other
        cells); edges touching other cells are dropped.  :func:`load_connectome` passes
        one list for both matrices of a file so that they align.

    Returns
    -------
    Connectivity

    Examples
    --------
    >>> c = connectome_from_edges([("AVAL", "DA1", 3.0)], kind="chemical")
    >>> int(c.weights[c.nodes.index("AVAL"), c.nodes.index("DA01")])
    3
    """
    edges = list(edges)
    if nodes is None:
        nodes = _node_list([edges], neurons_only)
    nodes = list(nodes)
    index = {n: i for i, n in enumerate(nodes)}
    triples = []
    for pre, post, w in edges:
        i, j = index.get(_cell_name(pre)), index.get(_cell_name(post))
        if i is not None and j is not None:
            triples.append((i, j, float(w)))
    weights = np.zeros((len(nodes), len(nodes)))
    if triples:
        i, j, w = (np.asarray(v) for v in zip(*triples, strict=True))
        np.add.at(weights, (i.astype(int), j.astype(int)), w)
    directed = kind != "electrical"
    if not directed:
        weights = np.maximum(weights, weights.T)
    return Connectivity(weights, nodes, kind=kind, directed=directed, name=name or kind)


def _connectome_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".xlsx"):
        return "cook_xlsx"
    if name.endswith(".csv"):
        return "varshney_csv"
    if name.endswith(".json"):
        return "nemanode_json"
    raise FormatError("unknown connectome file type; expected a NemaNode edge list (.json), a "
                      "WormAtlas NeuronConnect table (.csv) or the Cook 2019 SI 5 workbook "
                      "(.xlsx)", path=path)


class ConnectomeReader(Reader):
    """Base of the structural-connectome readers: a file of edges → a Recording with
    ``connectivity`` ``chemical`` and ``electrical`` (no signals).

    A format supplies :meth:`edges` (``{"chemical": [(pre, post, w), ...],
    "electrical": [...]}`` in the source's cell names); the node list, the
    :class:`~neurodata.Connectivity` objects and the recording are built here.
    """

    modality = "structural connectome (C. elegans)"
    loader = "neurodata.io.read_connectome"
    #: the file-type code of :func:`_connectome_format`
    file_type: str = ""

    def edges(self, path: Path, sex: str) -> dict[str, list[tuple[str, str, float]]]:
        """The file's chemical and electrical edges."""
        raise NotImplementedError

    def connectivity(self, path: Path, *, neurons_only: bool = True,
                     sex: str = "hermaphrodite") -> dict[str, Connectivity]:
        """``{"chemical": ..., "electrical": ...}`` on one node list (see
        :func:`load_connectome`)."""
        edges = self.edges(path, sex)
        nodes = _node_list(edges.values(), neurons_only)
        return {kind: connectome_from_edges(e, kind=kind, nodes=nodes)
                for kind, e in edges.items()}

    def read(self, path: Path, *, neurons_only: bool = True,
             sex: str = "hermaphrodite") -> Recording:
        conns = self.connectivity(path, neurons_only=neurons_only, sex=sex)
        for c in conns.values():
            logger.info("%s: %r", path.name, c)
        return self.recording(path=path, connectivity=conns,
                              subject={"id": "connectome", "species": SPECIES, "sex": sex},
                              session={"id": path.stem, "description": "structural connectome"},
                              parameters={"neurons_only": neurons_only, "sex": sex})


def register_connectome(reader: ConnectomeReader) -> ConnectomeReader:
    """Register a connectome reader for ``nd.load`` and for its file type here."""
    _BY_FORMAT[reader.file_type] = register(reader)
    return reader


def connectome_reader(path: str | os.PathLike) -> ConnectomeReader:
    """The reader for a connectome file, by its extension (``.json``, ``.csv``, ``.xlsx``)."""
    from . import cook2019, nemanode, varshney  # noqa: F401  (they fill _BY_FORMAT)

    return _BY_FORMAT[_connectome_format(Path(path))]


def load_connectome(
    path: str | os.PathLike,
    *,
    neurons_only: bool = True,
    sex: str = "hermaphrodite",
) -> dict[str, Connectivity]:
    """Read a structural connectome into ``{"chemical": ..., "electrical": ...}``.

    Parameters
    ----------
    path : path-like
        One of:

        - NemaNode-style JSON edge list (``cook_jarrell_2019_h.json``,
          ``white_1986_whole.json``): ``[{pre, post, syn: [...], typ}, ...]``, ``typ``
          0 = chemical synapse, 2 = gap junction; weight = ``sum(syn)`` (one count per
          synapse, or per-dataset synapse counts).
        - WormAtlas ``NeuronConnect.csv`` (Varshney et al. 2011), columns ``Neuron 1,
          Neuron 2, Type, Nbr``: chemical weight pre → post = the sum of ``Nbr`` over
          its ``S`` and ``Sp`` rows (monadic and polyadic sends); ``R``/``Rp`` rows are
          the same synapses seen from the receiver and are not added again; ``EJ``
          gives gap junctions (listed in both directions); ``NMJ`` rows (to the
          placeholder "NMJ") are skipped.
        - Cook et al. (2019) SI 5 workbook (``.xlsx``): sheets ``"<sex> chemical"``
          (rows pre-synaptic, columns post-synaptic) and ``"<sex> gap jn symmetric"``;
          weights are numbers of EM serial sections.
    neurons_only : bool, default=True
        See :func:`connectome_from_edges`.
    sex : {"hermaphrodite", "male"}
        Which sheets of the Cook workbook to read.

    Returns
    -------
    dict of str to Connectivity
        ``chemical`` (directed) and ``electrical`` (undirected, symmetric).

    Examples
    --------
    >>> conn = load_connectome("cook_jarrell_2019_h.json")  # doctest: +SKIP
    >>> conn["chemical"]  # doctest: +SKIP
    <Connectivity 'chemical' | chemical, 302 nodes, 3709 edges, directed>
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("no such file; check the path", path=path)
    return connectome_reader(path).connectivity(path, neurons_only=neurons_only, sex=sex)


@verbose
def read_connectome(
    path: str | os.PathLike,
    *,
    neurons_only: bool = True,
    sex: str = "hermaphrodite",
    verbose: bool | str | None = None,
) -> Recording:
    """Read a structural connectome file into a :class:`~neurodata.Recording`.

    The recording has no signals, only ``/connectivity/chemical`` and
    ``/connectivity/electrical``; combine it with a calcium recording through
    :func:`attach_connectome`.  Parameters as in :func:`load_connectome`.

    Examples
    --------
    >>> rec = read_connectome("white_1986_whole.json")  # doctest: +SKIP
    >>> sorted(rec.connectivity)  # doctest: +SKIP
    ['chemical', 'electrical']
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("no such file; check the path", path=path)
    return connectome_reader(path)(path, neurons_only=neurons_only, sex=sex)


def attach_connectome(
    recording: Recording,
    connectome: Recording | Mapping[str, Connectivity] | str | os.PathLike,
    *,
    nodes: str = "all",
    block: str = "calcium",
    prefix: str = "",
) -> Recording:
    """A new recording: ``recording``'s content plus connectome matrices.

    ``recording`` itself is not changed (its blocks are shared, not copied).

    Parameters
    ----------
    recording : Recording
        E.g. from :func:`read_celegans_traces`.
    connectome : Recording or mapping of str to Connectivity or path-like
        From :func:`read_connectome` / :func:`load_connectome`, or a file for them.
    nodes : {"all", "recorded"}
        ``"all"``: keep the connectome's nodes.  ``"recorded"``: restrict each matrix
        to the neurons of block ``block`` in its channel order (``unk_*`` channels and
        neurons absent from the connectome get zero rows and columns), so that
        ``weights[i, j]`` pairs channel ``i`` with channel ``j``.
    block : str, default="calcium"
        The timeseries block whose channel names define ``"recorded"`` nodes.
    prefix : str, default=""
        Prepended to each connectivity name (e.g. ``"cook_"``).

    Returns
    -------
    Recording

    Examples
    --------
    >>> rec = attach_connectome(read_celegans_traces("time_trace.json"),
    ...                         "cook_jarrell_2019_h.json", nodes="recorded")  # doctest: +SKIP
    >>> rec.connectivity["chemical"].weights.shape  # doctest: +SKIP
    (98, 98)
    """
    if nodes not in ("all", "recorded"):
        raise ValueError(f"nodes must be 'all' or 'recorded'; got {nodes!r}")
    parents: list[dict[str, Any]] = []
    if isinstance(connectome, Recording):
        conns = dict(connectome.connectivity)
        parents = list(connectome.provenance.get("sources", []))
    elif isinstance(connectome, Mapping):
        conns = dict(connectome)
    else:
        conns = load_connectome(connectome)
        parents = [{"path": str(Path(connectome).resolve())}]
    out = {}
    for key, c in conns.items():
        if nodes == "recorded":
            if block not in recording.timeseries:
                raise ValueError(f"the recording has no timeseries block {block!r}; blocks: "
                                 f"{sorted(recording.timeseries)}")
            names = list(recording.timeseries[block].channels["name"])
            where = {n: i for i, n in enumerate(c.nodes)}
            idx = np.array([where.get(n, -1) for n in names])
            w = np.zeros((len(names), len(names)))
            ok = idx >= 0
            w[np.ix_(ok, ok)] = c.weights[np.ix_(idx[ok], idx[ok])]
            c = Connectivity(w, names, kind=c.kind, directed=c.directed, name=prefix + key)
        else:
            c = Connectivity(c.weights, c.nodes, kind=c.kind, directed=c.directed,
                             name=prefix + key)
        out[c.name] = c
    merged = {**recording.connectivity, **out}
    prov = dict(recording.provenance)
    prov["steps"] = [*prov.get("steps", []), {"name": "attach_connectome", "parameters": {
        "connectivity": sorted(out), "nodes": nodes, "block": block, "sources": parents}}]
    return Recording(recording.timeseries, spikes=recording.spikes, events=recording.events,
                     subject=recording.subject, session=recording.session,
                     connectivity=merged, stimuli=recording.stimuli, provenance=prov)
