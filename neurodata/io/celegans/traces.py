"""Whole-brain *C. elegans* calcium traces stored as JSON (Atanas, Kim et al. 2023 layout)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...celegans_names import normalize_neuron_name
from ...channels import make_channels
from ...errors import FormatError
from ...log import logger, verbose, warn
from ...recording import Recording
from ...timeseries import TimeSeries
from .._base import Reader, register
from ._common import SPECIES, head, read_json

__all__ = ["read_celegans_traces", "CelegansTracesReader"]

# Relative deviation from a uniform grid (in samples) below which timestamps are
# treated as regular: floating-point noise from JSON round trips is far smaller.
_REGULAR_TOL = 1e-6


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


class CelegansTracesReader(Reader):
    """Whole-brain *C. elegans* traces as JSON (see :func:`read_celegans_traces`)."""

    name = "C. elegans traces (JSON)"
    extensions = (".json",)
    modality = "calcium imaging (C. elegans)"
    library = "json"
    keeps = ("traces as stored, time stamps (rate if uniform), neuron names mapped onto the 302 "
             "canonical names (unidentified kept as unk_###)")
    loader = "neurodata.io.read_celegans_traces"

    def sniff(self, path: Path) -> bool:
        return _sniff_traces(path)

    def read(self, path: Path, *,
             neuron_names: str | os.PathLike | Sequence[str] | None = None) -> Recording:
        doc = read_json(path)
        expected = "a JSON list of [time_s, [value, ...]] pairs"
        if not isinstance(doc, list) or not doc:
            raise FormatError(f"expected {expected}; found {type(doc).__name__} "
                              f"{'(empty)' if isinstance(doc, list) else ''}", path=path)
        times, rows = [], []
        for i, item in enumerate(doc):
            if (not isinstance(item, list | tuple) or len(item) != 2
                    or not isinstance(item[1], list | tuple)):
                raise FormatError(f"entry {i} is {str(item)[:60]!r}; expected {expected}",
                                  path=path)
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
                listed = read_json(npath)
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
        return self.recording([ts], path=path, sources=sources,
                              subject={"id": "unknown", "species": SPECIES},
                              session={"id": path.stem},
                              parameters={"neuron_names": None if neuron_names is None
                                          else str(neuron_names) if npath else names})


_READER = CelegansTracesReader()


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
    return _READER(path, neuron_names=neuron_names)


def _sniff_traces(path: Path) -> bool:
    text = head(path, 256).lstrip()
    return text.startswith("[") and text[1:].lstrip().startswith("[")


register(_READER)
