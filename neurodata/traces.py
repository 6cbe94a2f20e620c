"""From recordings to aligned trace arrays: one block per animal, on one rate and one
neuron vocabulary.

The recording-to-array step of the dynamic-connectome analysis
(:mod:`connectome.connectome_analysis`, ``neuroloom connectome``): :func:`load_traces`
reads one timeseries block of each recording, homogenizes rate and neuron names when
needed (:func:`neurodata.homogenize`) and returns an :class:`AnimalTraces`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .homogenize import homogenize
from .opening import open_any
from .recording import Recording

__all__ = ["AnimalTraces", "load_traces"]


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


def _pick_block(rec: Any, block: str | None, path: Path):
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
        raise errors.ValidationError(
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
    >>> t = nd.load_traces([nd.sample_path("celegans_atanas2023")], rate=1.6)
    >>> t.traces[0].shape, t.rate
    ((1540, 98), 1.6)
    """
    import pandas as pd

    if vocabulary not in ("auto", "celegans", "none"):
        raise errors.ValidationError(
            f"vocabulary must be 'auto', 'celegans' or 'none'; got {vocabulary!r}")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise errors.ValidationError(f"--rate must be a positive number of Hz; got {rate!r}")
    paths = [Path(p) for p in paths]
    if not paths:
        raise errors.ValidationError("give at least one recording")
    with contextlib.ExitStack() as stack:
        recs = [stack.enter_context(open_any(p)) for p in paths]
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
            homog = homogenize(inputs, block=name, rate=rate, channels=channels)
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
    loaded = ts.load()
    return Recording([loaded], events=rec.events, subject=rec.subject,
                        session=rec.session, provenance=rec.provenance)
