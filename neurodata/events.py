"""Timed annotations of a recording (trials, stimuli, behavioural marks): :class:`Events`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import ValidationError

__all__ = ["Events", "EVENT_COLUMNS"]

EVENT_COLUMNS: tuple[str, ...] = ("onset", "duration", "label", "value")


def event_problems(table: pd.DataFrame) -> list[str]:
    """List every way ``table`` breaks the events contract (empty if none)."""
    missing = [c for c in EVENT_COLUMNS if c not in table.columns]
    if missing:
        return [f"events table lacks column(s) {missing}; expected {list(EVENT_COLUMNS)}"]
    problems = []
    onset = pd.to_numeric(table["onset"], errors="coerce").to_numpy(dtype=np.float64)
    duration = pd.to_numeric(table["duration"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(onset)):
        problems.append("event onsets must be finite seconds; found NaN/inf or non-numbers")
    if np.any(~np.isfinite(duration)) or np.any(duration < 0):
        problems.append("event durations must be finite and >= 0 seconds")
    if onset.size > 1 and np.any(np.diff(onset) < 0):
        problems.append("event onsets must be sorted (non-decreasing)")
    value = pd.to_numeric(table["value"], errors="coerce")
    if value.isna().any() or not np.all(np.mod(value.to_numpy(np.float64), 1) == 0):
        problems.append("event values must be integers")
    return problems


class Events:
    """Events with ``onset`` (s), ``duration`` (s), ``label`` (str) and ``value`` (int).

    Extra columns (e.g. ``trial``, ``stimulus_index``) are kept and saved.  Rows are
    kept sorted by onset.

    Parameters
    ----------
    onset : array of float, shape (n_events,)
        Seconds from the session start.
    duration : array of float or float, default=0.0
        Seconds; 0 for instantaneous events.
    label : sequence of str or None
        Event names (e.g. "T1", "face").  ``None`` uses ``str(value)``.
    value : array of int or None
        Integer codes.  ``None`` numbers the sorted unique labels from 1, as
        ``mne.events_from_annotations`` does.
    **extra
        Extra columns, one value per event.

    Examples
    --------
    >>> from neurodata import Events
    >>> ev = Events(onset=[0.0, 4.2], duration=4.1, label=["T0", "T1"])
    >>> ev.value.tolist()
    [1, 2]
    """

    def __init__(
        self,
        onset: Iterable[float] = (),
        duration: float | Iterable[float] = 0.0,
        label: Sequence[str] | None = None,
        value: Iterable[int] | None = None,
        **extra: Iterable[Any],
    ):
        onset = np.asarray(list(onset) if not isinstance(onset, np.ndarray) else onset,
                           dtype=np.float64).ravel()
        n = onset.size
        dur = np.broadcast_to(np.asarray(duration, dtype=np.float64), (n,)).copy()
        if label is None and value is None:
            label = [""] * n
        if label is None:
            value_arr = np.asarray(list(value), dtype=np.int64)
            labels = [str(v) for v in value_arr]
        else:
            labels = [str(x) for x in label]
            if value is None:
                codes = {lab: i + 1 for i, lab in enumerate(sorted(set(labels)))}
                value_arr = np.array([codes[lab] for lab in labels], dtype=np.int64)
            else:
                value_arr = np.asarray(list(value), dtype=np.float64)
                if value_arr.size and not np.all(np.mod(value_arr, 1) == 0):
                    raise ValidationError(f"event values must be integers; got {value_arr[:5]}")
                value_arr = value_arr.astype(np.int64)
        if not (len(labels) == n == value_arr.size):
            raise ValidationError(
                f"events need one onset, label and value each; got {n} onsets, "
                f"{len(labels)} labels, {value_arr.size} values"
            )
        table = pd.DataFrame({"onset": onset, "duration": dur, "label": labels,
                              "value": value_arr})
        for key, vals in extra.items():
            vals = list(vals)
            if len(vals) != n:
                raise ValidationError(
                    f"event column {key!r} has {len(vals)} entries for {n} events"
                )
            table[key] = vals
        self._table = self._check(table)

    @staticmethod
    def _check(table: pd.DataFrame, path: Any = None) -> pd.DataFrame:
        table = table.copy()
        if "onset" in table:
            table["onset"] = pd.to_numeric(table["onset"], errors="coerce")
            table = table.sort_values("onset", kind="stable").reset_index(drop=True)
        problems = event_problems(table)
        if problems:
            raise ValidationError("; ".join(problems), path=path, violations=problems)
        table["onset"] = table["onset"].astype(np.float64)
        table["duration"] = table["duration"].astype(np.float64)
        table["label"] = table["label"].astype(str).astype(object)
        table["value"] = table["value"].astype(np.int64)
        order = list(EVENT_COLUMNS) + [c for c in table.columns if c not in EVENT_COLUMNS]
        return table[order]

    @classmethod
    def from_dataframe(cls, table: pd.DataFrame, *, path: Any = None) -> Events:
        """Build from a DataFrame with at least onset, duration, label, value columns."""
        obj = cls.__new__(cls)
        obj._table = cls._check(table, path)
        return obj

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the events as a DataFrame."""
        return self._table.copy()

    @property
    def onset(self) -> np.ndarray:
        return self._table["onset"].to_numpy()

    @property
    def duration(self) -> np.ndarray:
        return self._table["duration"].to_numpy()

    @property
    def label(self) -> np.ndarray:
        return self._table["label"].to_numpy()

    @property
    def value(self) -> np.ndarray:
        return self._table["value"].to_numpy()

    @property
    def columns(self) -> list[str]:
        return list(self._table.columns)

    def __getitem__(self, column: str) -> pd.Series:
        return self._table[column]

    def __len__(self) -> int:
        return len(self._table)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Events):
            return NotImplemented
        return self._table.equals(other._table)

    def counts(self) -> dict[str, int]:
        """Number of events per label."""
        return {str(k): int(v) for k, v in self._table["label"].value_counts().sort_index().items()}

    def select(self, labels: str | Iterable[str]) -> Events:
        """Only the events whose label is in ``labels``."""
        labels = [labels] if isinstance(labels, str) else list(labels)
        return Events.from_dataframe(self._table[self._table["label"].isin(labels)])

    def restrict(self, t0: float, t1: float) -> Events:
        """Only the events with onset in ``[t0, t1)`` seconds."""
        on = self._table["onset"]
        return Events.from_dataframe(self._table[(on >= t0) & (on < t1)])

    def shift(self, dt: float) -> Events:
        """Copy with every onset moved by ``dt`` seconds."""
        table = self._table.copy()
        table["onset"] = table["onset"] + dt
        return Events.from_dataframe(table)

    def __repr__(self) -> str:
        counts = self.counts()
        shown = ", ".join(f"{k}: {v}" for k, v in list(counts.items())[:8])
        more = ", ..." if len(counts) > 8 else ""
        span = f", {self.onset[0]:g}–{self.onset[-1]:g} s" if len(self) else ""
        return f"<Events | {len(self)} events{span} ({shown}{more})>"
