"""Counting spikes and events in time bins, and averaging signals over the same bins.

Bins are half-open, ``[edges[k], edges[k + 1])``, laid from ``t_start`` in steps of
``bin_size`` seconds.  When ``t_stop - t_start`` is not a whole number of bins, the
``partial`` argument says what happens to the remainder:

- ``"drop"`` (default, as :meth:`SpikeTrains.bin`): ``n_bins = floor((t_stop -
  t_start) / bin_size)``; spikes after the last full bin are not counted.
- ``"keep"``: one more, shorter bin ends exactly at ``t_stop``.

In both cases the last bin is closed on the right when it ends at ``t_stop``
(a spike at exactly ``t_stop``, which :class:`~neurodata.SpikeTrains` allows, is
counted), so with ``partial="keep"`` the counts add up to every spike in
``[t_start, t_stop]``.  A tolerance of 1e-9 bin absorbs floating-point error when
deciding whether the span is a whole number of bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ValidationError
from .events import Events
from .spikes import SpikeTrains
from .timeseries import TimeSeries

__all__ = ["bin_edges", "bin_spikes", "bin_events", "bin_timeseries"]

_TOL = 1e-9


def bin_edges(t_start: float, t_stop: float, bin_size: float, *,
              partial: str = "drop") -> np.ndarray:
    """Edges of consecutive bins of ``bin_size`` seconds from ``t_start`` towards ``t_stop``.

    Parameters
    ----------
    t_start, t_stop : float
        Interval in seconds, ``t_stop >= t_start``.
    bin_size : float
        Bin width in seconds, > 0.
    partial : {"drop", "keep"}, default="drop"
        What to do with a remainder shorter than ``bin_size`` (module docstring).

    Returns
    -------
    numpy.ndarray of shape (n_bins + 1,)
        Seconds; ``edges[0] = t_start``.

    Examples
    --------
    >>> bin_edges(0.0, 1.0, 0.4).tolist()
    [0.0, 0.4, 0.8]
    >>> bin_edges(0.0, 1.0, 0.4, partial="keep").tolist()
    [0.0, 0.4, 0.8, 1.0]
    """
    if not (isinstance(bin_size, int | float | np.number) and np.isfinite(bin_size)
            and bin_size > 0):
        raise ValidationError(f"bin_size must be a positive number of seconds; got {bin_size!r}")
    if partial not in ("drop", "keep"):
        raise ValidationError(f"partial must be 'drop' or 'keep'; got {partial!r}")
    t_start, t_stop = float(t_start), float(t_stop)
    if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop < t_start:
        raise ValidationError(f"need finite t_start <= t_stop; got t_start={t_start!r}, "
                              f"t_stop={t_stop!r}")
    span = (t_stop - t_start) / bin_size
    n_full = int(np.floor(span + _TOL))
    edges = t_start + bin_size * np.arange(n_full + 1, dtype=np.float64)
    if partial == "keep" and span - n_full > _TOL:
        edges = np.append(edges, t_stop)
    return edges


def _count(times: np.ndarray, rows: np.ndarray, n_rows: int, edges: np.ndarray,
           closed_end: bool) -> np.ndarray:
    n_bins = edges.size - 1
    counts = np.zeros((max(n_bins, 0), n_rows), dtype=np.int64)
    if n_bins <= 0 or times.size == 0:
        return counts
    b = np.searchsorted(edges, times, side="right") - 1
    inside = (b >= 0) & (b < n_bins)
    if closed_end:  # the right edge itself belongs to the last bin
        at_end = times == edges[-1]
        b[at_end] = n_bins - 1
        inside |= at_end
    np.add.at(counts, (b[inside], rows[inside]), 1)
    return counts


def bin_spikes(
    spiketrains: SpikeTrains | Mapping[str, Any],
    bin_size: float,
    *,
    t_start: float | None = None,
    t_stop: float | None = None,
    partial: str = "drop",
) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts per time bin and unit.

    Parameters
    ----------
    spiketrains : SpikeTrains or mapping of str to array of float
        The spikes (a mapping ``{unit: times in s}`` is converted with
        :meth:`SpikeTrains.from_unit_times`).
    bin_size : float
        Bin width in seconds.
    t_start, t_stop : float or None
        Interval to bin; default the spike block's ``t_start`` / ``t_stop``.
    partial : {"drop", "keep"}, default="drop"
        See the module docstring.

    Returns
    -------
    counts : numpy.ndarray of int64, shape (n_bins, n_units)
        Units in the order of ``spiketrains.units``.
    edges : numpy.ndarray of float64, shape (n_bins + 1,)
        Bin edges in seconds.

    Examples
    --------
    >>> counts, edges = bin_spikes({"a": [0.05, 0.15, 0.95], "b": [0.5]}, 0.25,
    ...                            t_start=0.0, t_stop=1.0)
    >>> counts.T.tolist(), edges.tolist()
    ([[2, 0, 0, 1], [0, 0, 1, 0]], [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    if not isinstance(spiketrains, SpikeTrains):
        spiketrains = SpikeTrains.from_unit_times(dict(spiketrains), t_start=t_start,
                                                  t_stop=t_stop)
    t0 = spiketrains.t_start if t_start is None else float(t_start)
    t1 = spiketrains.t_stop if t_stop is None else float(t_stop)
    edges = bin_edges(t0, t1, bin_size, partial=partial)
    n_full = int(np.floor((t1 - t0) / bin_size + _TOL))
    # full bins: SpikeTrains.bin, so both give the same counts for the same spikes
    counts = spiketrains.bin(bin_size, t_start=t0, t_stop=t1)
    times, units = spiketrains.times, spiketrains.unit_index
    if edges.size - 1 > n_full:  # the shorter last bin [edges[-2], t_stop]
        sel = (times >= edges[-2]) & (times <= t1)
        extra = np.bincount(units[sel], minlength=spiketrains.n_units)[None, :]
        counts = np.concatenate([counts, extra.astype(np.int64)])
    elif counts.shape[0] and abs(edges[-1] - t1) <= _TOL * bin_size:
        # the bins end at t_stop: a spike exactly there belongs to the last bin
        sel = times == t1
        counts[-1] += np.bincount(units[sel], minlength=spiketrains.n_units)
    return counts, edges


def bin_events(
    events: Events | Sequence[float] | np.ndarray,
    bin_size: float,
    *,
    t_start: float,
    t_stop: float,
    partial: str = "drop",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Event onsets counted per time bin and label.

    Parameters
    ----------
    events : Events or array of float
        An :class:`~neurodata.Events` table (counted per ``label``) or plain onset
        times in seconds (one column, label ``""``), e.g. calcium transient times.
    bin_size : float
        Bin width in seconds.
    t_start, t_stop : float
        Interval to bin, seconds.
    partial : {"drop", "keep"}, default="drop"

    Returns
    -------
    counts : numpy.ndarray of int64, shape (n_bins, n_labels)
    edges : numpy.ndarray of float64, shape (n_bins + 1,)
    labels : list of str
        Column labels, sorted.

    Examples
    --------
    >>> from neurodata import Events
    >>> ev = Events(onset=[0.1, 0.2, 1.5], label=["go", "stop", "go"])
    >>> counts, edges, labels = bin_events(ev, 1.0, t_start=0.0, t_stop=2.0)
    >>> counts.tolist(), labels
    ([[1, 1], [1, 0]], ['go', 'stop'])
    """
    if isinstance(events, Events):
        onset = events.onset
        raw_labels = events.to_dataframe()["label"].astype(str).to_numpy()
    else:
        onset = np.asarray(events, dtype=np.float64).ravel()
        raw_labels = np.full(onset.size, "", dtype=object)
    labels, rows = np.unique(raw_labels, return_inverse=True) if onset.size else (
        np.array([""]), np.zeros(0, np.int64))
    edges = bin_edges(t_start, t_stop, bin_size, partial=partial)
    ends_at_stop = abs(edges[-1] - float(t_stop)) <= _TOL * bin_size
    counts = _count(onset, rows.astype(np.int64), len(labels), edges, closed_end=ends_at_stop)
    return counts, edges, [str(x) for x in labels]


def bin_timeseries(
    timeseries: TimeSeries,
    bin_size: float,
    *,
    t_start: float | None = None,
    t_stop: float | None = None,
    partial: str = "drop",
    statistic: str = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    """Average (or sum) a signal's samples within time bins, e.g. calcium onto spike bins.

    Each sample counts in the bin holding its timestamp; bins without samples are NaN
    (``"mean"``) or 0 (``"sum"``).  This is an explicit reduction, not resampling:
    nothing is interpolated.

    Parameters
    ----------
    timeseries : TimeSeries
        Regular or irregular; read in full.
    bin_size : float
        Bin width in seconds.
    t_start, t_stop : float or None
        Interval to bin; default the series' time domain ``[t0, t_end)``.
    partial : {"drop", "keep"}, default="drop"
    statistic : {"mean", "sum"}, default="mean"
        NaN samples are ignored by both.

    Returns
    -------
    values : numpy.ndarray of float64, shape (n_bins, n_channels)
    edges : numpy.ndarray of float64, shape (n_bins + 1,)

    Examples
    --------
    >>> import numpy as np
    >>> from neurodata import TimeSeries
    >>> ts = TimeSeries(np.arange(8, dtype=np.float32)[:, None], rate=4.0)
    >>> bin_timeseries(ts, 1.0)[0].ravel().tolist()
    [1.5, 5.5]
    """
    if statistic not in ("mean", "sum"):
        raise ValidationError(f"statistic must be 'mean' or 'sum'; got {statistic!r}")
    t0 = timeseries.t0 if t_start is None else float(t_start)
    t1 = timeseries.t_end if t_stop is None else float(t_stop)
    edges = bin_edges(t0, t1, bin_size, partial=partial)
    n_bins = edges.size - 1
    data = np.asarray(timeseries[:, :], dtype=np.float64)
    times = timeseries.times
    b = np.searchsorted(edges, times, side="right") - 1
    inside = (b >= 0) & (b < n_bins)
    b, x = b[inside], data[inside]
    finite = np.isfinite(x)
    sums = np.zeros((n_bins, data.shape[1]))
    counts = np.zeros((n_bins, data.shape[1]))
    np.add.at(sums, b, np.where(finite, x, 0.0))
    np.add.at(counts, b, finite)
    if statistic == "sum":
        return sums, edges
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), edges
