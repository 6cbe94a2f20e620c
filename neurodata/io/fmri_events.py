"""fMRI events of a NIfTI run: BIDS ``*_events.tsv`` tables and per-volume label files.

Used by :func:`neurodata.io.read_nifti` (``events=``) and on their own; the run's
number of volumes and TR bound the onsets, so an events file of another run is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormatError, MissingFileError, ValidationError
from ..events import Events

__all__ = ["read_fmri_events", "events_from_volume_labels", "read_tsv_table"]

#: Onsets this much past the end of the run (s) count as rounding, not as an error.
_ONSET_TOL = 1e-6


def read_tsv_table(path: Path) -> pd.DataFrame:
    """A tab-separated table (``n/a`` = missing); errors name the file."""
    try:
        return pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FormatError(f"could not be read as a tab-separated table ({exc})",
                          path=path) from exc


def _looks_like_events_tsv(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    return "onset" in [c.strip().lower() for c in first.rstrip("\n").split("\t")]


def events_from_volume_labels(
    labels: Sequence[str],
    tr: float,
    *,
    chunks: Sequence[Any] | None = None,
) -> Events:
    """Turn one label per volume into block events.

    Consecutive volumes with the same label (and the same chunk) form one event with
    ``onset = first volume index × tr`` and ``duration = run length × tr``.

    Parameters
    ----------
    labels : sequence of str, length n_volumes
        The condition of each volume (``"rest"``, ``"face"``, or numeric codes).
    tr : float
        Repetition time in seconds.
    chunks : sequence, length n_volumes, or None
        The run (chunk) of each volume; a change of chunk also ends an event, and the
        chunk is kept in the ``chunk`` column.

    Returns
    -------
    Events
        ``value`` is the integer label when every label is an integer, else a code per
        distinct label (sorted, from 1).

    Examples
    --------
    >>> ev = events_from_volume_labels(["rest", "rest", "face", "face", "face"], 2.5)
    >>> ev.to_dataframe()[["onset", "duration", "label"]].values.tolist()
    [[0.0, 5.0, 'rest'], [5.0, 7.5, 'face']]
    """
    labels = [str(x) for x in labels]
    n = len(labels)
    key = list(zip(labels, chunks, strict=True)) if chunks is not None else labels
    starts = [i for i in range(n) if i == 0 or key[i] != key[i - 1]]
    stops = starts[1:] + [n]
    lab = [labels[i] for i in starts]
    extra: dict[str, Any] = {}
    if chunks is not None:
        extra["chunk"] = [chunks[i] for i in starts]
    numeric = all(s.lstrip("-").isdigit() for s in lab)
    return Events(onset=[i * tr for i in starts],
                  duration=[(j - i) * tr for i, j in zip(starts, stops, strict=True)],
                  label=lab, value=[int(s) for s in lab] if numeric and lab else None,
                  n_volumes=[j - i for i, j in zip(starts, stops, strict=True)], **extra)


def _label_file_events(path: Path, n_volumes: int, tr: float) -> Events:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(line.split())
    if len(rows) != n_volumes:
        raise ValidationError(
            f"has {len(rows)} label lines; expected one per volume of the BOLD run "
            f"({n_volumes}) - is it the label file of another run?", path=path)
    widths = {len(r) for r in rows}
    if not widths <= {1, 2}:
        raise FormatError(f"has lines with {sorted(widths)} fields; expected 'label' or "
                          "'label chunk' per line (PyMVPA attributes.txt)", path=path)
    labels = [r[0] for r in rows]
    chunks = None
    if widths == {2}:
        raw = [r[1] for r in rows]
        chunks = [int(c) if c.lstrip("-").isdigit() else c for c in raw]
    return events_from_volume_labels(labels, tr, chunks=chunks)


def _tsv_events(path: Path, run_duration: float) -> Events:
    table = read_tsv_table(path)
    if "onset" not in table.columns:
        raise FormatError(f"has columns {list(table.columns)}; expected at least 'onset' "
                          "(BIDS events.tsv: onset, duration, trial_type)", path=path)
    table = table.copy()
    if "duration" not in table.columns:
        table["duration"] = 0.0
    if "label" not in table.columns:
        # BIDS writes "n/a" for a missing trial_type; keep it as that text, not "nan".
        table["label"] = (table["trial_type"].fillna("n/a").astype(str)
                          if "trial_type" in table.columns else "event")
    onset = pd.to_numeric(table["onset"], errors="coerce")
    if onset.isna().any():
        bad = table.loc[onset.isna(), "onset"].iloc[0]
        raise FormatError(f"has a non-numeric onset {bad!r}; onsets must be seconds",
                          path=path)
    late = onset > run_duration + _ONSET_TOL
    if late.any() or (onset < 0).any():
        worst = float(onset[late].max()) if late.any() else float(onset.min())
        raise ValidationError(
            f"has onsets outside the run: {int(late.sum() + (onset < 0).sum())} event(s), e.g. "
            f"onset {worst} s, while the run lasts {run_duration} s (n_volumes × TR); is it the "
            "events file of another run, or is the TR wrong?", path=path)
    if "value" in table.columns:
        val = pd.to_numeric(table["value"], errors="coerce")
        if val.isna().any() or not np.all(np.mod(val, 1) == 0):
            table = table.rename(columns={"value": "value_orig"})
    if "value" not in table.columns:
        codes = {lab: i + 1 for i, lab in enumerate(sorted(set(table["label"].astype(str))))}
        table["value"] = [codes[str(x)] for x in table["label"]]
    table["duration"] = pd.to_numeric(table["duration"], errors="coerce").fillna(0.0)
    return Events.from_dataframe(table, path=path)


def read_fmri_events(
    path: str | os.PathLike,
    *,
    n_volumes: int,
    tr: float,
) -> Events:
    """Read fMRI events: a BIDS events TSV or a per-volume label file.

    Parameters
    ----------
    path : path-like
        Either a tab-separated table with an ``onset`` column (BIDS ``*_events.tsv``:
        onset and duration in seconds, ``trial_type`` becomes the label, other columns are
        kept), or a label file with one line per volume, ``label`` or ``label chunk``
        (PyMVPA's ``attributes.txt`` / ``attributes_literal.txt``), see
        :func:`events_from_volume_labels`.
    n_volumes : int
        Number of volumes of the run the events belong to.
    tr : float
        Repetition time in seconds.

    Returns
    -------
    Events

    Raises
    ------
    ValidationError
        An onset outside ``[0, n_volumes × tr]``, or a label file whose line count is not
        ``n_volumes``.
    FormatError
        A table without ``onset`` or with malformed lines.

    Examples
    --------
    >>> ev = read_fmri_events("attributes_literal.txt", n_volumes=1452, tr=2.5)  # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError("no such events file; check the path", path=p)
    if _looks_like_events_tsv(p):
        return _tsv_events(p, n_volumes * tr)
    return _label_file_events(p, n_volumes, tr)
