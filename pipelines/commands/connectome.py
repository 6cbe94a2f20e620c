"""``neuroloom connectome``: the dynamic functional connectome of converted recordings.

Reads one or more converted recordings (one per animal), puts them on one rate and one
neuron vocabulary when needed (:func:`neurodata.homogenize`), runs
:func:`connectome.dynamic_connectome` (sliding-window affinities → non-negative tensor
factorization → communities of every component; Dyballa et al., ICLR 2024) and writes
the result files, figures and ``result.json`` (configuration, input sha256s, software
versions) into one output folder.  With ``--structural`` it also tests whether community
co-membership is enriched for structural-connectome edges against degree-preserving
shuffles (:func:`connectome.structural_enrichment`).

The steps are importable: :func:`load_traces` (recordings → aligned trace arrays),
:func:`load_structural` (connectome file → adjacency), :func:`enrichment_table` and
:func:`run_connectome` (the whole command, used by the CLI).  See docs/connectome_cli.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurodata.provenance import sha256_file

from ..result_folder import input_provenance as _input_provenance
from ..result_folder import staged_dir, write_result
from ..result_folder import to_json as _jsonable

__all__ = [
    "register",
    "cmd_connectome",
    "run_connectome",
    "load_traces",
    "load_structural",
    "enrichment_table",
    "parse_ranks",
    "AnimalTraces",
]

# Output format of the folder this command writes; bump when a file changes meaning.
RESULT_VERSION = "1.0"
_SOFTWARE = ("numpy", "scipy", "h5py", "pandas", "matplotlib", "scikit-learn", "leidenalg",
             "igraph", "threadpoolctl")


@dataclass
class AnimalTraces:
    """Traces of several animals, ready for :func:`connectome.dynamic_connectome`.

    Attributes
    ----------
    traces : list of ndarray of shape (n_times, n_neurons)
        One time-major float64 array per animal (the recording's unit, e.g. dF/F).
    neuron_names : list of list of str
        Column names of each array (aligned across animals by name).
    animal_names : list of str
        One name per animal (session id, made unique).
    rate : float
        Common sampling rate in Hz.
    t0 : float
        Time of the first sample of the first animal, in seconds.
    paths : list of Path
        The input files.
    events : pandas.DataFrame
        onset, duration (s) and label of the events of every input (labels prefixed with
        the animal name when there are several animals).
    behavior : (times, values, label) or None
        A behavioural variable of the first recording that has one.
    excluded : list of dict
        Per animal, the neurons left out and why (bad, absent from the vocabulary,
        all-NaN or constant with ``drop_invalid``).
    steps : list of dict
        The homogenization applied (rate, vocabulary) per animal.
    """

    traces: list[np.ndarray]
    neuron_names: list[list[str]]
    animal_names: list[str]
    rate: float
    t0: float
    paths: list[Path]
    events: Any
    behavior: tuple[np.ndarray, np.ndarray, str] | None = None
    excluded: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)


def _errors():
    from neurodata import errors

    return errors


def _open(path: Path, stack: contextlib.ExitStack):
    import neurodata as nd

    if not path.exists():
        raise nd.MissingFileError("no such recording; convert one with `neuroloom convert`",
                                  path=path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        return stack.enter_context(nd.open(path))
    return nd.load(path)


def _pick_block(rec: Any, block: str | None, path: Path):
    errors = _errors()
    if block is not None:
        if block not in rec.timeseries:
            raise errors.ValidationError(
                f"no timeseries block {block!r}; found {sorted(rec.timeseries)}; pass "
                "--block with one of those", path=path)
        return rec.timeseries[block]
    if "calcium" in rec.timeseries:
        return rec.timeseries["calcium"]
    if len(rec.timeseries) == 1:
        return next(iter(rec.timeseries.values()))
    raise errors.ValidationError(
        f"expected a 'calcium' block or a single timeseries block; found "
        f"{sorted(rec.timeseries) or 'none'}; pass --block NAME", path=path)


def _behavior(rec: Any, skip: str, channel: str | None) -> tuple | None:
    """First behaviour channel (or ``channel``) of a recording: (times s, values, label)."""
    for ts in rec.timeseries.values():
        if ts.name == skip:
            continue
        types = set(ts.channels["type"])
        if ts.modality != "behavior" and types != {"behavior"}:
            continue
        names = list(ts.ch_names)
        if channel is not None and channel not in names:
            continue
        k = names.index(channel) if channel is not None else 0
        values = ts.slice_samples(0, ts.n_times)[:, k].astype(float)
        return np.asarray(ts.times, dtype=float), values, f"{ts.name}: {names[k]}"
    return None


def _check_columns(x: np.ndarray, names: list[str], path: Path, drop: bool) -> tuple:
    """All-NaN / constant neurons → error, or left out with ``drop``."""
    finite = np.isfinite(x)
    all_nan = ~finite.any(axis=0)
    # ±inf count as missing; nanmax of an all-NaN column would warn, so fill those first
    y = np.where(finite, x, np.nan)
    y[:, all_nan] = 0.0
    constant = ~all_nan & ~((np.nanmax(y, axis=0) - np.nanmin(y, axis=0)) > 0)
    bad = {"all_nan": [names[k] for k in np.flatnonzero(all_nan)],
           "constant": [names[k] for k in np.flatnonzero(constant)]}
    if not drop and (bad["all_nan"] or bad["constant"]):
        what = {"all_nan": "all-NaN", "constant": "constant"}
        parts = [f"{what[kind]} neurons {v[:8]}" for kind, v in bad.items() if v]
        raise _errors().ValidationError(
            f"found {' and '.join(parts)}: their affinity is undefined; expected every "
            "neuron to vary; mark them bad in the channel table or pass --drop-invalid",
            path=path)
    keep = ~(all_nan | constant)
    return keep, bad


def load_traces(
    paths: Sequence[str | os.PathLike],
    *,
    block: str | None = None,
    rate: float | None = None,
    vocabulary: str = "auto",
    drop_invalid: bool = False,
    behavior_channel: str | None = None,
) -> AnimalTraces:
    """Read the traces of one block of each recording, on one rate and neuron vocabulary.

    Parameters
    ----------
    paths : sequence of path-like
        Converted recordings (``.h5``) or any file :func:`neurodata.load` reads, one per
        animal.
    block : str, optional
        Timeseries block; default ``"calcium"`` or the only block.
    rate : float, optional
        Common rate in Hz.  Required when a block is irregularly sampled or the rates
        differ: regular blocks are resampled (polyphase), irregular ones interpolated
        linearly onto the grid (:func:`neurodata.homogenize`).
    vocabulary : {"auto", "celegans", "none"}, default="auto"
        ``"celegans"`` maps channel names onto the 302 canonical neuron names so that
        animals align by identity (channels outside it are left out); ``"auto"`` uses it
        when every recording's subject species is *C. elegans*; ``"none"`` keeps names.
    drop_invalid : bool, default=False
        Leave all-NaN and constant neurons out instead of raising.
    behavior_channel : str, optional
        Name of the behaviour channel to overlay (default: the first one found).

    Returns
    -------
    AnimalTraces

    Raises
    ------
    neurodata.errors.NeurodataError
        Missing files, no such block, irregular or mixed rates without ``rate``,
        all-NaN/constant neurons, no neurons left.

    Examples
    --------
    >>> import neurodata as nd
    >>> t = load_traces([nd.sample_path("celegans_atanas2023")], rate=1.6)
    >>> t.traces[0].shape, t.rate
    ((1540, 98), 1.6)
    """
    import pandas as pd

    import neurodata as nd

    errors = _errors()
    if vocabulary not in ("auto", "celegans", "none"):
        raise errors.ValidationError(
            f"vocabulary must be 'auto', 'celegans' or 'none'; got {vocabulary!r}")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise errors.ValidationError(f"--rate must be a positive number of Hz; got {rate!r}")
    paths = [Path(p) for p in paths]
    if not paths:
        raise errors.ValidationError("give at least one recording")
    with contextlib.ExitStack() as stack:
        recs = [_open(p, stack) for p in paths]
        blocks = [_pick_block(r, block, p) for r, p in zip(recs, paths, strict=True)]
        if rate is None:
            for ts, p in zip(blocks, paths, strict=True):
                if not ts.is_regular:
                    raise errors.ValidationError(
                        f"block {ts.name!r} is irregularly sampled (timestamps); expected a "
                        "regular rate; give --rate HZ to interpolate it onto a regular grid",
                        path=p)
            rates = sorted({float(ts.rate) for ts in blocks})
            if len(rates) > 1:
                raise errors.ValidationError(
                    f"the recordings have different rates {rates} Hz; give --rate HZ to "
                    "resample them to one")
        if vocabulary == "auto":
            species = {str(r.subject.get("species", "")).lower() for r in recs}
            vocabulary = "celegans" if species == {"caenorhabditis elegans"} else "none"
        channels = "celegans" if vocabulary == "celegans" else None
        if rate is not None or channels is not None:
            if len({ts.name for ts in blocks}) == 1:
                inputs, name = recs, blocks[0].name
            else:  # homogenize takes one block name: give it one-block recordings
                inputs = [_single_block(r, ts) for r, ts in zip(recs, blocks, strict=True)]
                name = None
            homog = nd.homogenize(inputs, block=name, rate=rate, channels=channels)
            hblocks = [h.timeseries[ts.name] for h, ts in zip(homog, blocks, strict=True)]
            steps = [h.provenance.get("steps", [])[-3:] for h in homog]
        else:
            hblocks, steps = blocks, [[] for _ in blocks]
        traces, names, excluded = [], [], []
        for ts, p in zip(hblocks, paths, strict=True):
            table = ts.channels
            x = np.asarray(ts.slice_samples(0, ts.n_times), dtype=np.float64)
            present = (table["present"].to_numpy(bool) if "present" in table
                       else np.ones(len(table), bool))
            bad = table["bad"].to_numpy(bool) if "bad" in table else np.zeros(len(table), bool)
            col_names = [str(n) for n in table["name"]]
            use = present & ~bad
            keep, invalid = _check_columns(x[:, use], [n for n, u in
                                                       zip(col_names, use, strict=True) if u],
                                           p, drop_invalid)
            idx = np.flatnonzero(use)[keep]
            if idx.size < 2:
                raise errors.ValidationError(
                    f"only {idx.size} usable neuron(s) in block {ts.name!r} "
                    f"(vocabulary {vocabulary!r}); expected at least 2", path=p)
            traces.append(x[:, idx])
            names.append([col_names[k] for k in idx])
            excluded.append({"bad": [n for n, b in zip(col_names, bad, strict=True) if b],
                             "n_vocabulary_not_recorded": int((~present).sum()), **invalid})
        animal_names: list[str] = []
        for r, p in zip(recs, paths, strict=True):
            base = str(r.session.get("id") or p.stem)
            name, k = base, 1
            while name in animal_names:
                k += 1
                name = f"{base}_{k}"
            animal_names.append(name)
        ev_rows = []
        for r, an in zip(recs, animal_names, strict=True):
            df = r.events.to_dataframe()
            if len(df):
                df = df[["onset", "duration", "label"]].copy()
                if len(recs) > 1:
                    df["label"] = [f"{an}: {lab}" for lab in df["label"]]
                ev_rows.append(df)
        events = (pd.concat(ev_rows, ignore_index=True) if ev_rows
                  else pd.DataFrame({"onset": [], "duration": [], "label": []}))
        behavior = None
        for r, ts in zip(recs, blocks, strict=True):
            behavior = _behavior(r, ts.name, behavior_channel)
            if behavior is not None:
                break
        if behavior_channel is not None and behavior is None:
            raise errors.ValidationError(
                f"no behaviour channel {behavior_channel!r} in any input; expected a block "
                "of modality 'behavior'", path=paths[0])
        return AnimalTraces(
            traces=traces, neuron_names=names, animal_names=animal_names,
            rate=float(hblocks[0].rate), t0=float(hblocks[0].t0), paths=paths, events=events,
            behavior=behavior, excluded=excluded,
            steps=[{"vocabulary": vocabulary, "rate": rate, "steps": s} for s in steps])


def _single_block(rec: Any, ts: Any) -> Any:
    """A recording holding only ``ts`` (homogenize needs one block name for all inputs)."""
    import neurodata as nd

    loaded = ts.load()
    return nd.Recording([loaded], events=rec.events, subject=rec.subject,
                        session=rec.session, provenance=rec.provenance)


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
    import neurodata as nd

    errors = _errors()
    path = Path(path)
    if not path.exists():
        raise nd.MissingFileError("no such structural connectome file", path=path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        with nd.open(path) as rec:
            conns = {}
            for c in rec.connectivity.values():
                kind = c.kind if c.kind in ("chemical", "electrical") else None
                if kind is not None and kind not in conns:
                    conns[kind] = c
    else:
        conns = nd.load_connectome(path)
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

    from connectome import structural_enrichment

    rng = np.random.default_rng(random_state)
    rows = []
    for r, comm in enumerate(dc.communities):
        for kind, adj in matrices.items():
            res = structural_enrichment(comm, adj, list(nodes), n_shuffles=n_shuffles,
                                        random_state=rng)
            rows.append({"component": r, "edges": kind, "n_communities": comm.n_communities,
                         **res.to_dict()})
    return pd.DataFrame(rows)


def parse_ranks(spec: str) -> list[int]:
    """``"2..8"`` → [2, …, 8]; ``"2,4,6"`` → [2, 4, 6].

    Examples
    --------
    >>> parse_ranks("2..4")
    [2, 3, 4]
    """
    errors = _errors()
    try:
        if ".." in spec:
            lo, hi = (int(s) for s in spec.split(".."))
            ranks = list(range(lo, hi + 1))
        else:
            ranks = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        ranks = []
    if not ranks or min(ranks) < 1:
        raise errors.ValidationError(
            f"--rank-selection expects LOW..HIGH or a comma list of ranks >= 1; got {spec!r}")
    return ranks


def _seconds_to_samples(seconds: float, rate: float, what: str) -> int:
    if not (math.isfinite(seconds) and seconds > 0):
        raise _errors().ValidationError(f"--{what} must be a positive number of seconds; "
                                        f"got {seconds!r}")
    return max(1, int(round(seconds * rate)))




def _check_sizes(data: AnimalTraces, window: int, step: int, rank: int,
                 ranks: list[int]) -> tuple[int, int]:
    """Window and rank limits, checked before any fitting."""
    errors = _errors()
    if window < 3:
        raise errors.ValidationError(
            f"--window is {window} sample(s) at {data.rate:g} Hz; expected at least 3 samples; "
            "use a longer window")
    for x, p in zip(data.traces, data.paths, strict=True):
        if window > x.shape[0]:
            raise errors.ValidationError(
                f"--window {window / data.rate:g} s ({window} samples) is longer than the "
                f"recording ({x.shape[0]} samples = {x.shape[0] / data.rate:g} s at "
                f"{data.rate:g} Hz); use a shorter window", path=p)
    n_windows = (max(x.shape[0] for x in data.traces) - window) // step + 1
    n_neurons = len({n for ns in data.neuron_names for n in ns})
    sizes = {"pairs": n_neurons * (n_neurons - 1) // 2, "windows": n_windows,
             "animals": len(data.traces)}
    limit = min(v for v in sizes.values() if v > 1) if any(v > 1 for v in sizes.values()) else 1
    for r, what in [(rank, "--rank"), *((r, "--rank-selection") for r in ranks)]:
        if r < 1 or r > limit:
            dims = ", ".join(f"{v} {k}" for k, v in sizes.items())
            raise errors.ValidationError(
                f"{what} {r} is larger than the smallest tensor dimension ({dims}); expected "
                f"1 <= rank <= {limit}; lower the rank or use a shorter --step / more animals")
    return n_windows, n_neurons


def _save_fig(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def _figures(dc: Any, data: AnimalTraces, sel: Any, table: Any, out: Path) -> list[str]:
    # no backend switch: savefig works with any backend, and matplotlib already falls back
    # to Agg without a display; every figure is closed after it is written
    import matplotlib.pyplot as plt

    fig_dir = out / "figures"
    fig_dir.mkdir()
    written = []
    beh = None
    if data.behavior is not None:
        beh = (data.behavior[0], data.behavior[1])
    fig = dc.plot_time_courses(events=data.events if len(data.events) else None,
                               behavior=beh,
                               behavior_label=data.behavior[2] if data.behavior else "behaviour")
    written.append(_save_fig(fig, fig_dir / "time_courses.png"))
    for r in range(dc.rank):
        written.append(_save_fig(dc.plot_affinity_matrix(r),
                                 fig_dir / f"affinity_component{r}.png"))
        written.append(_save_fig(dc.plot_graph(r), fig_dir / f"graph_component{r}.png"))
    if len(data.traces) > 1:
        written.append(_save_fig(dc.plot_animal_loadings(), fig_dir / "animal_loadings.png"))
    if sel is not None:
        written.append(_save_fig(sel.plot(), fig_dir / "rank_selection.png"))
    if table is not None:
        sub = table[table["edges"] == "chemical+electrical"]
        fig, ax = plt.subplots(figsize=(1.2 + 1.0 * len(sub), 3))
        ax.bar(sub["component"], sub["z"].clip(upper=50), color="C2")
        ax.axhline(1.645, color="0.4", ls="--", lw=0.8, label="z = 1.645 (p ≈ 0.05)")
        ax.set_xlabel("component")
        ax.set_ylabel("z vs degree-preserving shuffles")
        ax.set_xticks(list(sub["component"]))
        ax.set_title("structural edges within communities")
        ax.legend(fontsize=7)
        written.append(_save_fig(fig, fig_dir / "enrichment.png"))
    return [f"figures/{w}" for w in written]


def run_connectome(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole command for parsed arguments; returns the ``result.json`` content.

    Writes into a temporary folder beside ``args.output`` and renames it at the end, so an
    interrupted run leaves no partial output (and an earlier result stays untouched).
    """
    from threadpoolctl import threadpool_limits

    from connectome import AffinityInputError, NTFInputError, dynamic_connectome, rank_selection
    from neurodata.provenance import software_versions

    errors = _errors()
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise errors.ValidationError(
            "output folder exists; pass --overwrite to replace it or choose another -o",
            path=out)
    if args.rank < 1:
        raise errors.ValidationError(f"--rank must be >= 1; got {args.rank}")
    if args.restarts < 1 or args.shuffles < 1:
        raise errors.ValidationError("--restarts and --shuffles must be >= 1")
    ranks = parse_ranks(args.rank_selection) if args.rank_selection else []
    data = load_traces(args.input, block=args.block, rate=args.rate,
                       vocabulary=args.vocabulary, drop_invalid=args.drop_invalid,
                       behavior_channel=args.behavior)
    window = _seconds_to_samples(args.window, data.rate, "window")
    step = window if args.step is None else _seconds_to_samples(args.step, data.rate, "step")
    n_windows, n_neurons = _check_sizes(data, window, step, args.rank, ranks)
    structural = None
    if args.structural:
        structural = load_structural(args.structural)
        shared = set(structural[1]) & {n for ns in data.neuron_names for n in ns}
        if len(shared) < 3:
            raise errors.ValidationError(
                f"only {len(shared)} recorded neuron(s) are named in the structural "
                "connectome; expected at least 3 shared names (use --vocabulary celegans "
                "for C. elegans recordings)", path=args.structural)

    config = {
        "inputs": [str(p) for p in data.paths], "block": args.block, "rate_hz": data.rate,
        "requested_rate_hz": args.rate, "vocabulary": data.steps[0]["vocabulary"],
        "window_s": args.window, "step_s": args.step if args.step is not None else args.window,
        "window_samples": window, "step_samples": step, "affinity": args.affinity,
        "communities": args.communities, "rank": args.rank, "rank_selection": ranks,
        "restarts": args.restarts, "n_iter_max": args.n_iter, "tol": args.tol,
        "seed": args.seed, "backend": args.backend, "device": args.device,
        "threads": args.threads, "drop_invalid": args.drop_invalid,
        "structural": str(args.structural) if args.structural else None,
        "shuffles": args.shuffles if args.structural else None, "behavior": args.behavior,
    }
    inputs = [{"path": str(p.absolute()), "size": p.stat().st_size, "sha256": sha256_file(p)}
              for p in data.paths]
    if args.structural:
        sp = Path(args.structural)
        inputs.append({"path": str(sp.absolute()), "size": sp.stat().st_size,
                       "sha256": sha256_file(sp), "role": "structural"})
    config_hash = hashlib.sha256(json.dumps(
        {"config": _jsonable(config), "inputs": [i["sha256"] for i in inputs]},
        sort_keys=True).encode()).hexdigest()

    limits = threadpool_limits(args.threads) if args.threads else contextlib.nullcontext()
    try:
        with limits:
            dc = dynamic_connectome(
                data.traces, window=window, step=step, rank=args.rank, affinity=args.affinity,
                neuron_names=data.neuron_names, animal_names=data.animal_names,
                rate=data.rate, t0=data.t0, community_method=args.communities,
                n_restarts=args.restarts, n_iter_max=args.n_iter, tol=args.tol,
                backend=args.backend, device=args.device, random_state=args.seed)
            sel = None
            if ranks:
                sel = rank_selection(dc.affinity.values, ranks, mask=dc.affinity.mask,
                                     n_restarts=max(2, args.restarts), n_iter_max=args.n_iter,
                                     tol=args.tol, random_state=args.seed,
                                     backend=args.backend, device=args.device, verbose=False)
            table = None
            if structural is not None:
                table = enrichment_table(dc, structural[0], structural[1],
                                         n_shuffles=args.shuffles, random_state=args.seed)
    except (AffinityInputError, NTFInputError) as exc:
        raise errors.ValidationError(str(exc), path=data.paths[0]) from exc

    out.parent.mkdir(parents=True, exist_ok=True)
    with staged_dir(out) as tmp:
        dc.save(tmp)
        files = ["affinity.npz", "cp.npz", "communities.json", "summary.csv"]
        if sel is not None:
            (tmp / "rank_selection.json").write_text(json.dumps(_jsonable(sel.to_dict()),
                                                                indent=1))
            files.append("rank_selection.json")
        if table is not None:
            table.to_csv(tmp / "enrichment.csv", index=False)
            files.append("enrichment.csv")
        files += _figures(dc, data, sel, table, tmp)
        summary = dc.summary_table()
        result = {
            "format": "neuroloom.connectome_result", "result_version": RESULT_VERSION,
            "command": "neuroloom connectome", "config": config, "config_hash": config_hash,
            "inputs": inputs,
            "input_provenance": [_input_provenance(p) for p in data.paths],
            "software": software_versions(*_SOFTWARE),
            "homogenization": data.steps, "excluded_neurons": dict(zip(
                data.animal_names, data.excluded, strict=True)),
            "data": {"animals": data.animal_names, "n_neurons": n_neurons,
                     "neurons_per_animal": [len(n) for n in data.neuron_names],
                     "n_windows": n_windows, "n_pairs": int(dc.affinity.shape[0]),
                     "observed_fraction": float(dc.affinity.mask.mean()),
                     "n_events": int(len(data.events)),
                     "behavior": data.behavior[2] if data.behavior else None},
            "fit": {"relative_error": float(dc.cp.error), "n_iter": int(dc.cp.n_iter),
                    "converged": bool(dc.cp.converged),
                    "restart_errors": np.asarray(dc.cp.restart_errors).tolist()},
            "components": summary.to_dict(orient="records"),
            "enrichment": None if table is None else table.to_dict(orient="records"),
            "files": {f: sha256_file(tmp / f) for f in files},
        }
        write_result(tmp / "result.json", result)
    return result


def cmd_connectome(args: argparse.Namespace) -> int:
    """Run ``neuroloom connectome`` and print a short summary."""
    result = run_connectome(args)
    d = result["data"]
    print(f"wrote {Path(args.output)} ({len(d['animals'])} animal(s), {d['n_neurons']} neurons, "
          f"{d['n_windows']} windows; rank {args.rank}, relative error "
          f"{result['fit']['relative_error']:.4f})")
    for row in result["components"]:
        print(f"  component {row['component']}: weight {row['weight']:.3g}, peak "
              f"{row['peak_time']:.1f} s, {row['n_communities']} communities "
              f"{row['community_sizes']}")
    for row in result["enrichment"] or []:
        if row["edges"] == "chemical+electrical":
            z = "n/a" if row["z"] is None else f"{row['z']:.2f}"
            print(f"  enrichment component {row['component']}: {row['observed']} of "
                  f"{row['n_edges']} structural edges within communities (null "
                  f"{row['null_mean']:.1f}), z = {z}, p = {row['p_value']:.3g}")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``connectome`` subcommand."""
    p = subparsers.add_parser(
        "connectome", help="dynamic functional connectome: affinities → NTF → communities",
        description="Sliding-window pairwise affinities of every neuron pair, a non-negative "
                    "tensor factorization (pairs × windows × animals) and the communities "
                    "of every component (Dyballa et al., ICLR 2024).  One input per animal; "
                    "animals are aligned by neuron name.  Writes results, figures and "
                    "result.json into OUTDIR.")
    p.add_argument("input", nargs="+", help="converted recordings (.h5), one per animal")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--rank", type=int, required=True, help="number of NTF components")
    p.add_argument("--window", type=float, default=60.0,
                   help="window length in seconds (default 60)")
    p.add_argument("--step", type=float, default=None,
                   help="step between windows in seconds (default: the window, no overlap)")
    p.add_argument("--affinity", choices=("differential", "correlation", "kernel"),
                   default="differential", help="pairwise affinity (default differential)")
    p.add_argument("--communities", choices=("sbm", "leiden"), default="sbm",
                   help="community detection per component (default sbm)")
    p.add_argument("--block", help="timeseries block (default: 'calcium' or the only block)")
    p.add_argument("--rate", type=float, default=None,
                   help="resample every animal to this rate in Hz (needed for irregular "
                        "timestamps or mixed rates)")
    p.add_argument("--vocabulary", choices=("auto", "celegans", "none"), default="auto",
                   help="align neurons on the 302 C. elegans names (auto: when the subject "
                        "species is C. elegans)")
    p.add_argument("--drop-invalid", action="store_true",
                   help="leave all-NaN and constant neurons out instead of failing")
    p.add_argument("--behavior", metavar="CHANNEL",
                   help="behaviour channel to overlay (default: the first one found)")
    p.add_argument("--structural", metavar="FILE",
                   help="structural connectome (.json/.csv/.xlsx or .h5 with /connectivity): "
                        "test community co-membership for chemical + gap-junction edges")
    p.add_argument("--shuffles", type=int, default=1000,
                   help="degree-preserving shuffles per enrichment test (default 1000)")
    p.add_argument("--rank-selection", metavar="LOW..HIGH",
                   help="also fit these ranks and plot error and stability, e.g. 2..8")
    p.add_argument("--restarts", type=int, default=5, help="NTF random restarts (default 5)")
    p.add_argument("--n-iter", type=int, default=500, help="maximum NTF iterations")
    p.add_argument("--tol", type=float, default=1e-7, help="NTF relative-error tolerance")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: fastest for one worm's tensor and on "
                        "shared machines; 0 = library default)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTDIR")
    p.set_defaults(func=cmd_connectome)
