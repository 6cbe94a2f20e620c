"""*C. elegans* whole-brain calcium traces and structural connectomes.

Every neuron name is mapped onto the 302 canonical hermaphrodite names of
:mod:`neurodata.celegans_names`, so that traces and connectomes from different labs
line up.

Readers
-------
- :func:`read_celegans_traces`: whole-brain GCaMP traces stored as JSON,
  ``[[time_s, [v_1, ..., v_N]], ...]`` with the column names in a sibling
  ``neurons.json`` (the layout of the WormWideWeb-derived subset of Atanas, Kim et al.
  2023).  Unidentified neurons are kept, named ``unk_000``, ... with label
  ``"unidentified"``.
- :func:`load_connectome` / :func:`read_connectome`: structural connectomes from
  NemaNode-style JSON edge lists (``{pre, post, syn, typ}``), the WormAtlas
  ``NeuronConnect`` table (Varshney et al. 2011) or the Cook et al. (2019) SI 5
  adjacency-matrix workbook, as :class:`~neurodata.Connectivity` named ``chemical``
  (directed, pre → post) and ``electrical`` (gap junctions, symmetric).
- :func:`attach_connectome`: a copy of a recording with connectomes added.

References
----------
Atanas AA, Kim J, et al. (2023) Brain-wide representations of behavior spanning
multiple timescales and states in *C. elegans*. Cell 186:4134-4151.
Varshney LR, Chen BL, Paniagua E, Hall DH, Chklovskii DB (2011) Structural properties
of the *Caenorhabditis elegans* neuronal network. PLoS Comput Biol 7:e1001066.
Cook SJ, Jarrell TA, et al. (2019) Whole-animal connectomes of both *Caenorhabditis
elegans* sexes. Nature 571:63-71.
Witvliet D, et al. (2021) Connectomes across development reveal principles of brain
maturation. Nature 596:257-261 (NemaNode edge-list format).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..celegans_names import NEURONS_302, normalize_neuron_name
from ..channels import make_channels
from ..connectivity import Connectivity
from ..errors import FormatError, MissingFileError
from ..log import logger, verbose, warn
from ..provenance import make_provenance
from ..recording import Recording
from ..timeseries import TimeSeries
from ._registry import ReaderSpec, register_reader

__all__ = [
    "read_celegans_traces", "load_connectome", "read_connectome", "attach_connectome",
    "connectome_from_edges",
]

SPECIES = "Caenorhabditis elegans"
# Relative deviation from a uniform grid (in samples) below which timestamps are
# treated as regular: floating-point noise from JSON round trips is far smaller.
_REGULAR_TOL = 1e-6


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise MissingFileError("no such file; check the path", path=path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"is not valid JSON ({exc}); expected a JSON document",
                          path=path) from exc


def _neuron_channels(source_names: Sequence[str], unit: str):
    """Channel table: canonical names; unidentified/duplicate cells as ``unk_###``."""
    names, labels, seen = [], [], set()
    n_unk = 0
    for raw in source_names:
        canon = normalize_neuron_name(raw)
        if canon is None or canon in seen:
            names.append(f"unk_{n_unk:03d}")
            labels.append("unidentified" if canon is None else f"ambiguous:{canon}")
            n_unk += 1
        else:
            names.append(canon)
            labels.append(canon)
            seen.add(canon)
    return make_channels(names, types="neuron", units=unit, labels=labels,
                         source_name=[str(s) for s in source_names]), n_unk


@verbose
def read_celegans_traces(
    path: str | os.PathLike,
    *,
    neuron_names: str | os.PathLike | Sequence[str] | None = None,
    verbose: bool | str | None = None,
) -> Recording:
    """Read whole-brain *C. elegans* calcium traces stored as a JSON time list.

    Parameters
    ----------
    path : path-like
        JSON file holding a list of ``[time_s, [value per neuron]]`` pairs, one per
        volume, times in seconds, increasing.
    neuron_names : path-like or sequence of str or None
        Names of the columns, in order: a list, or a JSON file holding a list (which
        may be longer than the number of columns; the first ones are used).  ``None``
        reads ``neurons.json`` beside ``path``; without it every neuron is
        unidentified (with a warning).
    verbose : bool or str or None
        Logging level for this call.

    Returns
    -------
    Recording
        One ``calcium`` block, shape ``(n_volumes, n_neurons)``, type ``neuron``, unit
        ``a.u.`` (values exactly as in the file, e.g. z-scored GCaMP).  Regular
        sampling (``rate``) when every time lies within 1e-6 sample of a uniform grid,
        otherwise the file's timestamps (whole-brain volumes are often irregular).
        Channel names are canonical neuron names (``AVAL``, ``DA01``); names that are
        not one of the 302 hermaphrodite neurons become ``unk_000``, ... with label
        ``"unidentified"`` (a repeated identity gets label ``"ambiguous:<name>"``);
        the column ``source_name`` keeps the file's spelling.

    Raises
    ------
    FormatError
        Not the expected layout, rows of unequal length, fewer names than columns.

    Examples
    --------
    >>> rec = read_celegans_traces("time_trace.json")  # doctest: +SKIP
    >>> rec.timeseries["calcium"].channels["name"][:3].tolist()  # doctest: +SKIP
    ['SAADR', 'IL1R', 'AWAR']
    """
    path = Path(path)
    doc = _read_json(path)
    expected = "a JSON list of [time_s, [value, ...]] pairs"
    if not isinstance(doc, list) or not doc:
        raise FormatError(f"expected {expected}; found {type(doc).__name__} "
                          f"{'(empty)' if isinstance(doc, list) else ''}", path=path)
    times, rows = [], []
    for i, item in enumerate(doc):
        if (not isinstance(item, list | tuple) or len(item) != 2
                or not isinstance(item[1], list | tuple)):
            raise FormatError(f"entry {i} is {str(item)[:60]!r}; expected {expected}", path=path)
        times.append(item[0])
        rows.append(item[1])
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise FormatError(f"rows have different numbers of values {sorted(widths)[:5]}; "
                          "expected one value per neuron in every row", path=path)
    try:
        t = np.asarray(times, dtype=np.float64)
        data = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"non-numeric time or value ({exc}); expected {expected}",
                          path=path) from exc
    n_neurons = data.shape[1]

    sources = [path]
    if neuron_names is None:
        candidate = path.with_name("neurons.json")
        if candidate.exists():
            neuron_names = candidate
    if neuron_names is None:
        warn(f"{path}: no neuron names given and no neurons.json beside it; all "
             f"{n_neurons} neurons are labelled unidentified")
        names: list[str] = [""] * n_neurons
    else:
        if isinstance(neuron_names, str | os.PathLike):
            npath = Path(neuron_names)
            listed = _read_json(npath)
            sources.append(npath)
        else:
            npath, listed = None, list(neuron_names)
        if not isinstance(listed, list) or len(listed) < n_neurons:
            raise FormatError(
                f"names {len(listed) if isinstance(listed, list) else type(listed).__name__} "
                f"neurons; the traces have {n_neurons} columns - expected a list of at least "
                f"{n_neurons} names", path=npath or path)
        names = [str(n) for n in listed[:n_neurons]]
    channels, n_unk = _neuron_channels(names, "a.u.")
    logger.info("%s: %d volumes x %d neurons, %d unidentified", path, len(t), n_neurons, n_unk)

    kwargs: dict[str, Any]
    if len(t) > 1:
        dt = (t[-1] - t[0]) / (len(t) - 1)
        grid = t[0] + dt * np.arange(len(t))
        regular = dt > 0 and np.max(np.abs(t - grid)) <= _REGULAR_TOL * dt
    else:
        regular, dt = False, 0.0
    kwargs = {"rate": 1.0 / dt, "t0": float(t[0])} if regular else {"timestamps": t}
    ts = TimeSeries(data, channels=channels, modality="calcium", name="calcium",
                    attrs={"source": "whole-brain traces (JSON)",
                           "n_unidentified": n_unk}, **kwargs)
    prov = make_provenance(sources=sources, loader="neurodata.io.read_celegans_traces",
                           parameters={"neuron_names": None if neuron_names is None
                                       else str(neuron_names) if npath else names})
    return Recording([ts], subject={"id": "unknown", "species": SPECIES},
                     session={"id": path.stem}, provenance=prov)


# ----------------------------------------------------------------------------- connectomes
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


def _nemanode_edges(path: Path) -> dict[str, list[tuple[str, str, float]]]:
    doc = _read_json(path)
    expected = "a JSON list of {pre, post, syn, typ} edges (NemaNode format)"
    if not isinstance(doc, list):
        raise FormatError(f"expected {expected}; found {type(doc).__name__}", path=path)
    out: dict[str, list] = {"chemical": [], "electrical": []}
    for k, e in enumerate(doc):
        if not isinstance(e, dict) or not {"pre", "post", "syn", "typ"} <= set(e):
            raise FormatError(f"edge {k} is {str(e)[:80]!r}; expected {expected}", path=path)
        typ = {0: "chemical", 2: "electrical"}.get(e["typ"])
        if typ is None:
            raise FormatError(f"edge {k} has typ={e['typ']!r}; expected 0 (chemical) or 2 "
                              "(electrical)", path=path)
        syn = e["syn"] if isinstance(e["syn"], list) else [e["syn"]]
        out[typ].append((e["pre"], e["post"], float(np.sum(syn))))
    return out


def _varshney_edges(path: Path) -> dict[str, list[tuple[str, str, float]]]:
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f"could not be read as CSV ({exc})", path=path) from exc
    need = ["Neuron 1", "Neuron 2", "Type", "Nbr"]
    if not set(need) <= set(table.columns):
        raise FormatError(f"has columns {list(table.columns)}; expected {need} (WormAtlas "
                          "NeuronConnect table)", path=path)
    nbr = pd.to_numeric(table["Nbr"], errors="coerce")
    if nbr.isna().any():
        row = int(np.flatnonzero(nbr.isna())[0]) + 2
        raise FormatError(f"non-numeric Nbr on line {row}; expected synapse counts", path=path)
    typ = table["Type"].astype(str).str.strip()
    unknown = sorted(set(typ) - {"S", "Sp", "R", "Rp", "EJ", "NMJ"})
    if unknown:
        raise FormatError(f"unknown connection type(s) {unknown}; expected S, Sp, R, Rp, EJ, NMJ",
                          path=path)
    # S/Sp rows are the synapses a neuron sends; R/Rp rows list the same synapses from
    # the receiving side, so counting them too would double every synapse.
    sends = typ.isin(["S", "Sp"]).to_numpy()
    gaps = (typ == "EJ").to_numpy()
    a, b = table["Neuron 1"].astype(str), table["Neuron 2"].astype(str)
    return {"chemical": list(zip(a[sends], b[sends], nbr[sends], strict=True)),
            "electrical": list(zip(a[gaps], b[gaps], nbr[gaps], strict=True))}


def _matrix_edges(rows: list[tuple], path: Path, sheet: str) -> list[tuple[str, str, float]]:
    """Edges from a sheet whose row/column labels are embedded near its top-left corner."""
    head = rows[:10]
    width = max((len(r) for r in rows), default=0)

    def is_label(v: Any) -> bool:
        return isinstance(v, str) and v.strip() != ""

    label_row = max(range(len(head)), key=lambda r: sum(is_label(v) for v in rows[r]))
    label_col = max(range(min(10, width)),
                    key=lambda c: sum(is_label(r[c]) for r in rows if c < len(r)))
    cols = {c: str(v).strip() for c, v in enumerate(rows[label_row])
            if c > label_col and is_label(v)}
    edges = []
    for r in rows[label_row + 1:]:
        if label_col >= len(r) or not is_label(r[label_col]):
            continue
        pre = str(r[label_col]).strip()
        for c, post in cols.items():
            v = r[c] if c < len(r) else None
            if v is None or v == "":
                continue
            if not isinstance(v, int | float):
                raise FormatError(f"sheet {sheet!r}: cell ({pre}, {post}) holds {v!r}; expected "
                                  "a number", path=path)
            if v:
                edges.append((pre, post, float(v)))
    if not cols or not edges:
        raise FormatError(f"sheet {sheet!r}: found no labelled adjacency matrix", path=path)
    return edges


def _cook_xlsx_edges(path: Path, sex: str) -> dict[str, list[tuple[str, str, float]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FormatError(f"could not be read as an Excel workbook ({exc})", path=path) from exc
    try:
        wanted = {"chemical": f"{sex} chemical", "electrical": f"{sex} gap jn symmetric"}
        missing = [s for s in wanted.values() if s not in wb.sheetnames]
        if missing:
            raise FormatError(f"lacks sheet(s) {missing}; found {wb.sheetnames} - expected the "
                              "Cook et al. 2019 SI 5 adjacency-matrix workbook", path=path)
        return {kind: _matrix_edges(list(wb[s].iter_rows(values_only=True)), path, s)
                for kind, s in wanted.items()}
    finally:
        wb.close()


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
    fmt = _connectome_format(path)
    if fmt == "cook_xlsx":
        edges = _cook_xlsx_edges(path, sex)
    elif fmt == "varshney_csv":
        edges = _varshney_edges(path)
    else:
        edges = _nemanode_edges(path)
    nodes = _node_list(edges.values(), neurons_only)
    return {kind: connectome_from_edges(e, kind=kind, nodes=nodes) for kind, e in edges.items()}


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
    conns = load_connectome(path, neurons_only=neurons_only, sex=sex)
    for c in conns.values():
        logger.info("%s: %r", path.name, c)
    prov = make_provenance(sources=[path], loader="neurodata.io.read_connectome",
                           parameters={"neurons_only": neurons_only, "sex": sex},
                           packages=("openpyxl",) if path.suffix.lower() == ".xlsx" else ())
    return Recording(connectivity=conns, subject={"id": "connectome", "species": SPECIES,
                                                  "sex": sex},
                     session={"id": path.stem, "description": "structural connectome"},
                     provenance=prov)


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


# ---------------------------------------------------------------------------- registration
def _head(path: Path, n: int = 4096) -> str:
    with open(path, "rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")


def _sniff_traces(path: Path) -> bool:
    text = _head(path, 256).lstrip()
    return text.startswith("[") and text[1:].lstrip().startswith("[")


def _sniff_nemanode(path: Path) -> bool:
    text = _head(path)
    return all(f'"{k}"' in text for k in ("pre", "post", "typ"))


def _sniff_varshney(path: Path) -> bool:
    first = _head(path, 512).splitlines()[0] if _head(path, 512) else ""
    return "Neuron 1" in first and "Neuron 2" in first and "Type" in first


def _sniff_cook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            book = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError):
        return False
    return "chemical" in book and "gap jn" in book


register_reader(ReaderSpec(
    "C. elegans traces (JSON)", (".json",), "calcium imaging (C. elegans)", read_celegans_traces,
    "json", "traces as stored, time stamps (rate if uniform), neuron names mapped onto the 302 "
    "canonical names (unidentified kept as unk_###)", sniff=_sniff_traces))
register_reader(ReaderSpec(
    "NemaNode connectome (JSON)", (".json",), "structural connectome (C. elegans)",
    read_connectome, "json", "chemical (directed) and gap-junction (symmetric) synapse counts "
    "over the 302 canonical neurons", sniff=_sniff_nemanode))
register_reader(ReaderSpec(
    "WormAtlas NeuronConnect (CSV)", (".csv",), "structural connectome (C. elegans)",
    read_connectome, "pandas.read_csv", "S+Sp chemical counts (directed), EJ gap junctions "
    "(symmetric); NMJ skipped", sniff=_sniff_varshney))
register_reader(ReaderSpec(
    "Cook 2019 SI5 (XLSX)", (".xlsx",), "structural connectome (C. elegans)", read_connectome,
    "openpyxl", "hermaphrodite (or male) chemical and symmetric gap-junction matrices "
    "(EM serial sections)", sniff=_sniff_cook))
