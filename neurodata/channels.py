"""Channel tables: one row per channel of a :class:`~neurodata.TimeSeries`.

Columns (the format contract)::

    name         str    unique, non-empty
    type         str    one of CHANNEL_TYPES
    unit         str    SI unit ("V", "T", "T/m") or a named unit ("a.u.", "dF/F")
    x, y, z      float  position in metres (NaN if unknown)
    coord_frame  str    frame of x/y/z ("head", "mni_tal", "mri", "unknown", ...)
    bad          bool   bad channels are kept and flagged, never dropped
    label        str    brain region, neuron identity or ROI name ("" if none)

Extra columns are allowed and are saved with the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import ValidationError

__all__ = ["CHANNEL_TYPES", "CHANNEL_COLUMNS", "DEFAULT_UNITS", "make_channels", "check_channels"]

CHANNEL_TYPES: tuple[str, ...] = (
    "eeg", "meg", "grad", "mag", "seeg", "ecog", "eog", "ecg", "emg", "stim", "misc",
    "bold_roi", "voxel", "neuron", "behavior",
)

CHANNEL_COLUMNS: tuple[str, ...] = (
    "name", "type", "unit", "x", "y", "z", "coord_frame", "bad", "label",
)

#: Unit used when a loader does not give one.  Electrical potentials in volts,
#: magnetometers in tesla, gradiometers in tesla per metre.
DEFAULT_UNITS: dict[str, str] = {
    "eeg": "V", "seeg": "V", "ecog": "V", "eog": "V", "ecg": "V", "emg": "V",
    "meg": "T", "mag": "T", "grad": "T/m", "stim": "a.u.", "misc": "a.u.",
    "bold_roi": "a.u.", "voxel": "a.u.", "neuron": "a.u.", "behavior": "a.u.",
}

_DTYPES = {
    "name": object, "type": object, "unit": object, "x": np.float64, "y": np.float64,
    "z": np.float64, "coord_frame": object, "bad": bool, "label": object,
}


def _broadcast(value: Any, n: int, column: str) -> list:
    if value is None or isinstance(value, str | bool | float | int | np.number | np.bool_):
        return [value] * n
    seq = list(value)
    if len(seq) != n:
        raise ValidationError(
            f"channel column {column!r} has {len(seq)} entries but there are {n} channels; "
            "give one value per channel or a single value for all"
        )
    return seq


def make_channels(
    names: Sequence[str],
    types: str | Iterable[str] = "misc",
    units: str | Iterable[str] | None = None,
    *,
    positions: np.ndarray | None = None,
    coord_frame: str | Iterable[str] = "unknown",
    bad: bool | Iterable[bool] = False,
    labels: str | Iterable[str] = "",
    **extra: Iterable[Any],
) -> pd.DataFrame:
    """Build a channel table with every contract column.

    Parameters
    ----------
    names : sequence of str
        Unique channel names.
    types : str or iterable of str, default="misc"
        One of :data:`CHANNEL_TYPES`, for all channels or one per channel.
    units : str or iterable of str or None
        Unit per channel; ``None`` uses :data:`DEFAULT_UNITS` for each type.
    positions : array of shape (n_channels, 3) or None
        x, y, z in metres; NaN (or ``None``) where unknown.
    coord_frame : str or iterable of str, default="unknown"
        Coordinate frame of the positions.
    bad : bool or iterable of bool, default=False
        Bad-channel flags.
    labels : str or iterable of str, default=""
        Brain region / neuron identity / ROI name.
    **extra
        Additional columns, one value per channel.

    Returns
    -------
    pandas.DataFrame
        The table, validated with :func:`check_channels`.

    Examples
    --------
    >>> from neurodata.channels import make_channels
    >>> make_channels(["Cz", "EOG"], types=["eeg", "eog"]).loc[:, ["name", "type", "unit"]]
      name type unit
    0   Cz  eeg    V
    1  EOG  eog    V
    """
    names = [str(n) for n in names]
    n = len(names)
    types_l = _broadcast(types, n, "type")
    if units is None:
        units_l = [DEFAULT_UNITS.get(str(t), "a.u.") for t in types_l]
    else:
        units_l = _broadcast(units, n, "unit")
    if positions is None:
        pos = np.full((n, 3), np.nan)
    else:
        pos = np.asarray(positions, dtype=np.float64).reshape(n, 3) if n else np.zeros((0, 3))
    table = pd.DataFrame(
        {
            "name": names,
            "type": [str(t) for t in types_l],
            "unit": [str(u) for u in units_l],
            "x": pos[:, 0],
            "y": pos[:, 1],
            "z": pos[:, 2],
            "coord_frame": [str(c) for c in _broadcast(coord_frame, n, "coord_frame")],
            "bad": np.asarray(_broadcast(bad, n, "bad"), dtype=bool),
            "label": ["" if v is None else str(v) for v in _broadcast(labels, n, "label")],
        }
    )
    for key, values in extra.items():
        table[key] = _broadcast(values, n, key)
    return check_channels(table)


def channel_problems(table: pd.DataFrame, n_channels: int | None = None) -> list[str]:
    """List every way ``table`` breaks the channel-table contract (empty if none)."""
    problems: list[str] = []
    missing = [c for c in CHANNEL_COLUMNS if c not in table.columns]
    if missing:
        problems.append(
            f"channel table lacks column(s) {missing}; expected {list(CHANNEL_COLUMNS)}"
        )
        return problems
    if n_channels is not None and len(table) != n_channels:
        problems.append(
            f"channel table has {len(table)} rows but the data has {n_channels} channels"
        )
    names = table["name"].astype(str)
    dup = sorted(set(names[names.duplicated()]))
    if dup:
        problems.append(f"duplicate channel names {dup[:10]}; channel names must be unique")
    if (names.str.len() == 0).any():
        problems.append("empty channel name(s); every channel needs a name")
    bad_types = sorted(set(table["type"].astype(str)) - set(CHANNEL_TYPES))
    if bad_types:
        problems.append(f"unknown channel type(s) {bad_types}; allowed: {list(CHANNEL_TYPES)}")
    units = table["unit"].astype(str)
    if (units.str.len() == 0).any():
        problems.append("empty unit(s); every channel needs an explicit unit (e.g. 'V', 'a.u.')")
    return problems


def check_channels(
    table: pd.DataFrame, n_channels: int | None = None, *, path=None
) -> pd.DataFrame:
    """Validate a channel table and return it with contract dtypes.

    Raises
    ------
    ValidationError
        Listing every problem found.
    """
    problems = channel_problems(table, n_channels)
    if problems:
        raise ValidationError("; ".join(problems), path=path, violations=problems)
    table = table.reset_index(drop=True).copy()
    for col, dtype in _DTYPES.items():
        if dtype is object:
            table[col] = table[col].astype(str).astype(object)
        else:
            table[col] = table[col].astype(dtype)
    ordered = list(CHANNEL_COLUMNS) + [c for c in table.columns if c not in CHANNEL_COLUMNS]
    return table[ordered]
