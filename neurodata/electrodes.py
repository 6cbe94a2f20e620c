"""Electrode sidecar tables: contact positions (and the channel types they imply).

Intracranial recordings often come as a signal file plus a table of contact
coordinates (BIDS ``*_electrodes.tsv``: ``name x y z`` with positions in the unit of the
coordinate system, usually mm).  :func:`read_electrodes` reads such a table and
:func:`apply_electrodes` copies the positions into a recording's channel table, in
metres (the format's unit), with the given coordinate frame.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import FormatError, MissingFileError, ValidationError

__all__ = ["read_electrodes", "apply_electrodes", "UNIT_TO_M"]

#: Factor from a table's position unit to metres.
UNIT_TO_M = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}


def read_electrodes(path: str | os.PathLike) -> pd.DataFrame:
    """Read an electrodes table (TSV or CSV with columns ``name``, ``x``, ``y``, ``z``).

    ``n/a`` positions (BIDS) become NaN.

    Parameters
    ----------
    path : path-like
        The table; ``.csv`` is comma-separated, anything else tab-separated.

    Returns
    -------
    pandas.DataFrame
        Columns ``name`` (str), ``x``, ``y``, ``z`` (float, the table's unit).

    Raises
    ------
    MissingFileError
        The file does not exist.
    FormatError
        A required column is missing.

    Examples
    --------
    >>> import neurodata as nd
    >>> from neurodata.electrodes import read_electrodes
    >>> read_electrodes(nd.sample_path("seeg_epilepsy_electrodes")).shape
    (88, 4)
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError("no such electrodes table", path=p)
    sep = "," if p.suffix.lower() == ".csv" else "\t"
    table = pd.read_csv(p, sep=sep, na_values=["n/a"], dtype={"name": str})
    missing = [c for c in ("name", "x", "y", "z") if c not in table.columns]
    if missing:
        raise FormatError(f"an electrodes table needs columns name, x, y, z; missing "
                          f"{missing}, found {list(table.columns)}", path=p)
    out = table[["name", "x", "y", "z"]].copy()
    out[["x", "y", "z"]] = out[["x", "y", "z"]].astype(np.float64)
    return out


def apply_electrodes(rec, table: pd.DataFrame, *, unit: str = "mm",
                     coord_frame: str = "unknown") -> int:
    """Copy contact positions into every block whose channels the table names.

    Parameters
    ----------
    rec : Recording
        Changed in place: ``x``, ``y``, ``z`` (metres) and ``coord_frame`` of the
        matching channels; one provenance step ``electrode_positions`` is added.
    table : pandas.DataFrame
        From :func:`read_electrodes`.
    unit : {"mm", "cm", "m"}, default="mm"
        Unit of the table's positions.
    coord_frame : str, default="unknown"
        Frame of the positions (e.g. ``"mni_tal"``, ``"mri"``, ``"head"``).

    Returns
    -------
    int
        Number of channels that received a position.

    Raises
    ------
    ValidationError
        No channel of the recording is named in the table (the message lists a few of
        each), or an unknown ``unit``.
    """
    if unit not in UNIT_TO_M:
        raise ValidationError(f"electrode unit must be one of {list(UNIT_TO_M)}; got {unit!r}")
    pos = table.drop_duplicates("name").set_index("name")[["x", "y", "z"]] * UNIT_TO_M[unit]
    n = 0
    for ts in rec.timeseries.values():
        ch = ts.channels
        hit = ch["name"].isin(pos.index).to_numpy()
        if not hit.any():
            continue
        ch.loc[hit, ["x", "y", "z"]] = pos.loc[ch.loc[hit, "name"]].to_numpy(np.float64)
        ch.loc[hit, "coord_frame"] = coord_frame
        n += int(hit.sum())
    if n == 0:
        names = [c for ts in rec.timeseries.values() for c in ts.channels["name"]]
        raise ValidationError(f"no channel of the recording is in the electrodes table "
                              f"(table: {list(pos.index[:5])}...; recording: {names[:5]}...)")
    rec.provenance.setdefault("steps", []).append(
        {"name": "electrode_positions",
         "parameters": {"n_channels": n, "unit": unit, "coord_frame": coord_frame}})
    return n
