"""Sorted spike times of many units: :class:`SpikeTrains`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import SliceError, ValidationError

__all__ = ["SpikeTrains", "UNIT_COLUMNS"]

UNIT_COLUMNS: tuple[str, ...] = ("name", "label", "quality")


def spike_problems(times: np.ndarray, unit_index: np.ndarray, units: pd.DataFrame,
                   t_start: float, t_stop: float) -> list[str]:
    """List every way a spike block breaks the contract (empty if none)."""
    problems = []
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        problems.append(f"units table lacks column(s) {missing}; expected {list(UNIT_COLUMNS)}")
    elif units["name"].astype(str).duplicated().any():
        dup = sorted(set(units["name"][units["name"].astype(str).duplicated()]))
        problems.append(f"duplicate unit names {dup[:10]}")
    if times.shape != unit_index.shape or times.ndim != 1:
        problems.append(
            f"times {times.shape} and unit_index {unit_index.shape} must be 1-D of equal length"
        )
        return problems
    if not np.all(np.isfinite(times)):
        problems.append("spike times contain NaN or inf")
    elif times.size > 1 and np.any(np.diff(times) < 0):
        problems.append("spike times must be sorted (non-decreasing)")
    if unit_index.size and (unit_index.min() < 0 or unit_index.max() >= len(units)):
        problems.append(
            f"unit_index values must lie in [0, {len(units)}); found "
            f"[{unit_index.min()}, {unit_index.max()}]"
        )
    if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop < t_start:
        problems.append(
            f"t_start={t_start} and t_stop={t_stop} must be finite with t_start <= t_stop"
        )
    elif times.size and (times[0] < t_start or times[-1] > t_stop):
        problems.append(
            f"spike times [{times[0]:g}, {times[-1]:g}] s fall outside [t_start, t_stop] = "
            f"[{t_start:g}, {t_stop:g}] s"
        )
    return problems


class SpikeTrains:
    """Spike times of several units, stored as one sorted stream.

    Parameters
    ----------
    times : array of float, shape (n_spikes,)
        Spike times in seconds from the session start.  Sorted here if unsorted
        (with ``unit_index`` reordered along).
    unit_index : array of int, shape (n_spikes,)
        Row of ``units`` each spike belongs to.
    units : pandas.DataFrame or sequence of str
        Units table with columns ``name`` (unique), ``label`` (region / cell type)
        and ``quality`` (e.g. "good", "mua"), or just the names.
    t_start, t_stop : float or None
        Recording interval in seconds; default to the first and last spike.

    Examples
    --------
    >>> from neurodata import SpikeTrains
    >>> st = SpikeTrains.from_unit_times({"u1": [0.1, 0.5], "u2": [0.2]}, t_stop=1.0)
    >>> st.bin(0.25).shape
    (4, 2)
    """

    def __init__(
        self,
        times: Any,
        unit_index: Any,
        units: pd.DataFrame | Sequence[str],
        *,
        t_start: float | None = None,
        t_stop: float | None = None,
        name: str = "units",
        _path: str | None = None,
    ):
        times = np.asarray(times, dtype=np.float64)
        unit_index = np.asarray(unit_index)
        if unit_index.size and unit_index.dtype.kind == "f":
            if not np.all(np.mod(unit_index, 1) == 0):
                raise ValidationError("unit_index must hold integers", path=_path)
        unit_index = unit_index.astype(np.int32)
        if not isinstance(units, pd.DataFrame):
            units = pd.DataFrame({"name": [str(u) for u in units]})
        units = units.reset_index(drop=True).copy()
        for col, default in (("label", ""), ("quality", "")):
            if col not in units:
                units[col] = default
        units["name"] = units["name"].astype(str).astype(object)
        units["label"] = units["label"].astype(str).astype(object)
        units["quality"] = units["quality"].astype(str).astype(object)
        if times.size and times.ndim == 1 and times.shape == unit_index.shape and np.all(
            np.isfinite(times)
        ) and np.any(np.diff(times) < 0):
            order = np.argsort(times, kind="stable")
            times, unit_index = times[order], unit_index[order]
        if t_start is None:
            t_start = float(times.min()) if times.size else 0.0
        if t_stop is None:
            t_stop = float(times.max()) if times.size else float(t_start)
        problems = spike_problems(times, unit_index, units, float(t_start), float(t_stop))
        if problems:
            raise ValidationError("; ".join(problems), path=_path, violations=problems)
        self.times = times
        self.unit_index = unit_index
        self.units = units[list(UNIT_COLUMNS) + [c for c in units if c not in UNIT_COLUMNS]]
        self.t_start = float(t_start)
        self.t_stop = float(t_stop)
        self.name = name

    @classmethod
    def from_unit_times(
        cls,
        unit_times: dict[str, Any],
        *,
        t_start: float | None = None,
        t_stop: float | None = None,
        labels: dict[str, str] | None = None,
        name: str = "units",
    ) -> SpikeTrains:
        """Build from ``{unit name: spike times (s)}``."""
        names = list(unit_times)
        times = np.concatenate([np.asarray(unit_times[n], dtype=np.float64).ravel() for n in names]
                               ) if names else np.zeros(0)
        idx = np.concatenate([np.full(len(np.ravel(unit_times[n])), i, dtype=np.int32)
                              for i, n in enumerate(names)]) if names else np.zeros(0, np.int32)
        units = pd.DataFrame({"name": names,
                              "label": [(labels or {}).get(n, "") for n in names]})
        return cls(times, idx, units, t_start=t_start, t_stop=t_stop, name=name)

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_spikes(self) -> int:
        return int(self.times.size)

    @property
    def unit_names(self) -> list[str]:
        return list(self.units["name"])

    def unit_times(self, unit: str | int) -> np.ndarray:
        """Spike times (s) of one unit, by name or row index."""
        if isinstance(unit, str):
            names = self.unit_names
            if unit not in names:
                raise ValidationError(f"no unit named {unit!r}; units are {names[:10]}...")
            unit = names.index(unit)
        return self.times[self.unit_index == int(unit)]

    def restrict(self, t0: float, t1: float) -> SpikeTrains:
        """Spikes with times in ``[t0, t1)``; the interval becomes ``[t0, t1]``."""
        if t0 < self.t_start - 1e-9 or t1 > self.t_stop + 1e-9 or t1 < t0:
            raise SliceError(
                f"time range [{t0:g}, {t1:g}) s is outside the spike block {self.name!r}, which "
                f"covers [{self.t_start:g}, {self.t_stop:g}] s"
            )
        i0, i1 = np.searchsorted(self.times, [t0, t1], side="left")
        return SpikeTrains(self.times[i0:i1], self.unit_index[i0:i1], self.units,
                           t_start=t0, t_stop=t1, name=self.name)

    def bin(self, bin_size: float, *, t_start: float | None = None,
            t_stop: float | None = None) -> np.ndarray:
        """Spike counts per bin and unit, int64 array ``(n_bins, n_units)``.

        Bins are ``[t_start + k * bin_size, t_start + (k + 1) * bin_size)``;
        ``n_bins = floor((t_stop - t_start) / bin_size)`` (a partial last bin is dropped).
        """
        if not bin_size > 0:
            raise ValidationError(f"bin_size must be > 0 seconds; got {bin_size!r}")
        t_start = self.t_start if t_start is None else float(t_start)
        t_stop = self.t_stop if t_stop is None else float(t_stop)
        n_bins = int(np.floor((t_stop - t_start) / bin_size + 1e-9))
        sel = (self.times >= t_start) & (self.times < t_start + n_bins * bin_size)
        b = np.floor((self.times[sel] - t_start) / bin_size + 1e-12).astype(np.int64)
        b = np.clip(b, 0, max(n_bins - 1, 0))
        counts = np.zeros((n_bins, self.n_units), dtype=np.int64)
        np.add.at(counts, (b, self.unit_index[sel]), 1)
        return counts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpikeTrains):
            return NotImplemented
        return (np.array_equal(self.times, other.times)
                and np.array_equal(self.unit_index, other.unit_index)
                and self.units.equals(other.units)
                and self.t_start == other.t_start and self.t_stop == other.t_stop)

    def __repr__(self) -> str:
        return (f"<SpikeTrains {self.name!r} | {self.n_units} units, {self.n_spikes} spikes, "
                f"{self.t_start:g}–{self.t_stop:g} s>")
