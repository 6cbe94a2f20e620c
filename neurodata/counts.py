"""From a recording to binned counts: spikes (or calcium events) per time bin, and the
behaviour on the same bins.

The recording-to-array step of the spike analyses (the HMM-GLM of
:mod:`connectome.glmhmm_analysis`, ``neuroloom glmhmm``): :func:`load_counts` bins the
spikes of a converted recording (or onsets of thresholded deconvolved calcium activity)
into a :class:`BinnedActivity`; :func:`behavior_per_bin` puts a behaviour block (e.g.
position) on the same bins and adds the running speed; :func:`check_counts` checks any
count array.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import errors
from .binning import bin_spikes
from .opening import open_any
from .spikes import SpikeTrains

__all__ = ["BinnedActivity", "check_counts", "load_counts", "behavior_per_bin",
           "load_behavior_block"]


@dataclass
class BinnedActivity:
    """Spike (or event) counts per time bin, ready for :class:`connectome.HMMGLM`.

    Attributes
    ----------
    counts : ndarray of int64 of shape (n_bins, n_units)
        Counts per bin, time-major.
    edges : ndarray of float64 of shape (n_bins + 1,)
        Bin edges in seconds (session time).
    unit_names : list of str
        Column names of ``counts``.
    rates : ndarray of float64 of shape (n_units,)
        Mean rate of each kept unit over the binned interval, in Hz.
    source : str
        ``"spikes/<block>"`` or ``"timeseries/<block> (events > k SD)"``.
    path : Path
        The recording.
    excluded : dict
        Units left out and why (``"not_selected"``, ``"below_min_rate"``).
    event_threshold : float or None
        For calcium input, the threshold in standard deviations that made the events.
    """

    counts: np.ndarray
    edges: np.ndarray
    unit_names: list[str]
    rates: np.ndarray
    source: str
    path: Path
    excluded: dict[str, list[str]] = field(default_factory=dict)
    event_threshold: float | None = None

    @property
    def bin_size(self) -> float:
        """Bin width in seconds."""
        return float(self.edges[1] - self.edges[0])

    @property
    def centers(self) -> np.ndarray:
        """Bin centres in seconds, shape (n_bins,)."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])


def check_counts(counts: np.ndarray, *, path: str | os.PathLike | None = None,
                 what: str = "binned counts") -> np.ndarray:
    """Check that binned counts are finite, non-negative integers; return them as int64.

    Parameters
    ----------
    counts : array-like of shape (n_bins, n_units)
        Counts per bin.
    path : path-like, optional
        The file the counts came from (named in the error).
    what : str, default="binned counts"
        What the array is, for the error message.

    Returns
    -------
    ndarray of int64 of shape (n_bins, n_units)

    Raises
    ------
    neurodata.errors.ValidationError
        On a wrong number of dimensions, NaN/inf, negative or non-integer values.

    Examples
    --------
    >>> check_counts([[0, 1], [2, 0]]).dtype
    dtype('int64')
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2:
        raise errors.ValidationError(
            f"{what} must have shape (n_bins, n_units); got shape {x.shape}", path=path)
    bad = ~np.isfinite(x)
    if bad.any():
        t, n = np.argwhere(bad)[0]
        raise errors.ValidationError(
            f"{what} contain NaN or infinite values (first at bin {t}, unit {n}); expected "
            "finite spike counts; drop or repair those samples before fitting", path=path)
    if (x < 0).any():
        t, n = np.argwhere(x < 0)[0]
        raise errors.ValidationError(
            f"{what} contain negative values (first {x[t, n]:g} at bin {t}, unit {n}); "
            "expected non-negative spike counts", path=path)
    if (x != np.round(x)).any():
        raise errors.ValidationError(
            f"{what} contain non-integer values; expected whole spike counts per bin",
            path=path)
    return x.astype(np.int64)


def _interval(t_lo: float, t_hi: float, t_start: float | None, t_stop: float | None,
              what: str, path: Path) -> tuple[float, float]:
    a = t_lo if t_start is None else float(t_start)
    b = t_hi if t_stop is None else float(t_stop)
    if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
        raise errors.ValidationError(
            f"--t-start/--t-stop must give t_start < t_stop; got [{a:g}, {b:g}) s", path=path)
    if a < t_lo - 1e-9 or b > t_hi + 1e-9:
        raise errors.SliceError(
            f"time range [{a:g}, {b:g}) s is outside the {what}, which covers "
            f"[{t_lo:g}, {t_hi:g}] s; choose --t-start/--t-stop inside it", path=path)
    return a, b


def _events_from_calcium(ts: Any, threshold: float, path: Path, t0: float | None,
                         t1: float | None):
    """Onsets of supra-threshold deconvolved activity as spike trains (one unit per ROI)."""
    a, b = _interval(float(ts.t0), float(ts.t_end), t0, t1, f"block {ts.name!r}", path)
    x = np.asarray(ts.slice(a, b), dtype=np.float64)
    times = np.asarray(ts.times, dtype=np.float64)
    times = times[(times >= a) & (times < b)][: x.shape[0]]
    bad = ~np.isfinite(x)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        raise errors.ValidationError(
            f"block {ts.name!r} has NaN or infinite values (first at t = {times[i]:.3f} s, "
            f"channel {ts.ch_names[c]!r}); expected finite deconvolved activity; restrict "
            "--t-start/--t-stop to a clean interval", path=path)
    sd = x.std(axis=0)
    above = x > threshold * np.where(sd > 0, sd, np.inf)
    # an event is the first frame of a supra-threshold run (rising edge), so a long
    # transient counts once, as a spike would
    onset = above & ~np.vstack([np.zeros((1, x.shape[1]), bool), above[:-1]])
    frame, roi = np.nonzero(onset)
    order = np.argsort(times[frame], kind="stable")
    return SpikeTrains(times[frame][order], roi[order].astype(np.int32),
                          [str(n) for n in ts.ch_names], t_start=a, t_stop=b,
                          name=ts.name), (a, b)


def _pick_activity(rec: Any, block: str | None, path: Path):
    """("spikes", SpikeTrains) or ("calcium", TimeSeries) of a recording."""
    if block is not None:
        if block in rec.spikes:
            return "spikes", rec.spikes[block]
        if block in rec.timeseries:
            return "calcium", rec.timeseries[block]
        raise errors.ValidationError(
            f"no spikes or timeseries block {block!r}; found spikes {sorted(rec.spikes)} and "
            f"timeseries {sorted(rec.timeseries)}; pass --block with one of those", path=path)
    if len(rec.spikes) == 1:
        return "spikes", next(iter(rec.spikes.values()))
    if len(rec.spikes) > 1:
        raise errors.ValidationError(
            f"found several spikes blocks {sorted(rec.spikes)}; expected one; pass --block NAME",
            path=path)
    if "deconvolved" in rec.timeseries:
        return "calcium", rec.timeseries["deconvolved"]
    raise errors.ValidationError(
        f"expected a /spikes block (or a 'deconvolved' calcium block); found no spikes and "
        f"timeseries {sorted(rec.timeseries) or 'none'}; convert a recording with spike "
        "times, or pass --block NAME to threshold a calcium block into events", path=path)


def load_counts(
    path: str | os.PathLike,
    bin_size: float,
    *,
    t_start: float | None = None,
    t_stop: float | None = None,
    units: Sequence[str] | None = None,
    min_rate: float | None = None,
    block: str | None = None,
    event_threshold: float = 2.0,
) -> BinnedActivity:
    """Bin the spikes (or calcium events) of a converted recording.

    Parameters
    ----------
    path : path-like
        A converted recording (``.h5``), or any file :func:`neurodata.load` reads.
    bin_size : float
        Bin width in seconds.  Bins are ``[t_start + k·bin_size, …)``; a remainder
        shorter than one bin at the end is dropped.
    t_start, t_stop : float, optional
        Interval to bin, in seconds of session time; default the whole block.
    units : sequence of str, optional
        Units (or ROIs) to keep, by name, in this order.
    min_rate : float, optional
        Keep only units firing at least this often over the interval, in Hz.
    block : str, optional
        The spikes block, or a timeseries block to threshold; default the only spikes
        block, else a calcium block named ``"deconvolved"``.
    event_threshold : float, default=2.0
        Calcium only: a frame is supra-threshold when the deconvolved value exceeds this
        many standard deviations of its ROI (over the interval); each run of
        supra-threshold frames counts as one event at its first frame.

    Returns
    -------
    BinnedActivity

    Raises
    ------
    neurodata.errors.NeurodataError
        Missing file, no spikes block, interval outside the data, bin larger than the
        interval, unknown unit names, fewer than 2 units left, NaN activity.

    Examples
    --------
    >>> import neurodata as nd
    >>> b = nd.load_counts(nd.sample_path("nelpy_linear_track"), 0.1, t_start=5000,
    ...                 t_stop=5100, min_rate=1.0)
    >>> b.counts.shape
    (1000, 3)
    """
    path = Path(path)
    if not (isinstance(bin_size, int | float) and math.isfinite(bin_size) and bin_size > 0):
        raise errors.ValidationError(f"--bin must be a positive number of seconds; got "
                                     f"{bin_size!r}")
    with open_any(path) as rec:
        kind, obj = _pick_activity(rec, block, path)
        threshold = None
        if kind == "spikes":
            a, b = _interval(float(obj.t_start), float(obj.t_stop), t_start, t_stop,
                             f"spikes block {obj.name!r}", path)
            spikes = obj
            source = f"spikes/{obj.name}"
        else:
            if not (math.isfinite(event_threshold) and event_threshold > 0):
                raise errors.ValidationError(
                    f"--event-threshold must be a positive number of SDs; got "
                    f"{event_threshold!r}")
            spikes, (a, b) = _events_from_calcium(obj, event_threshold, path, t_start, t_stop)
            threshold = float(event_threshold)
            source = f"timeseries/{obj.name} (event onsets > {event_threshold:g} SD)"
        if bin_size > b - a:
            raise errors.ValidationError(
                f"--bin {bin_size:g} s is longer than the interval [{a:g}, {b:g}) s "
                f"({b - a:g} s); expected at least one whole bin; use a shorter --bin or a "
                "longer interval", path=path)
        counts, edges = bin_spikes(spikes, bin_size, t_start=a, t_stop=b)
        names = [str(n) for n in spikes.unit_names]
    counts = check_counts(counts, path=path)
    span = edges[-1] - edges[0]
    rates = counts.sum(axis=0) / span
    keep = np.arange(len(names))
    excluded: dict[str, list[str]] = {}
    if units is not None:
        pos = {n: k for k, n in enumerate(names)}
        missing = [u for u in units if u not in pos]
        if missing:
            raise errors.ValidationError(
                f"--units names {missing[:5]} are not in {source}; found {names[:8]}"
                f"{' …' if len(names) > 8 else ''}", path=path)
        keep = np.array([pos[u] for u in units], dtype=int)
        excluded["not_selected"] = [n for n in names if n not in set(units)]
    if min_rate is not None:
        if not (math.isfinite(min_rate) and min_rate >= 0):
            raise errors.ValidationError(f"--min-rate must be >= 0 Hz; got {min_rate!r}")
        low = rates[keep] < min_rate
        excluded["below_min_rate"] = [names[k] for k in keep[low]]
        keep = keep[~low]
    if keep.size < 2:
        raise errors.ValidationError(
            f"{keep.size} unit(s) left in {source} after selection (--units/--min-rate); "
            f"expected at least 2 for coupling; lower --min-rate (rates range "
            f"{rates.min():.3g}–{rates.max():.3g} Hz) or name more units", path=path)
    return BinnedActivity(counts=counts[:, keep], edges=edges,
                          unit_names=[names[k] for k in keep], rates=rates[keep],
                          source=source, path=path, excluded=excluded,
                          event_threshold=threshold)


def _binned_median(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per-bin median of each column (NaN where a bin has no sample)."""
    import pandas as pd

    b = np.searchsorted(edges, times, side="right") - 1
    inside = (b >= 0) & (b < edges.size - 1)
    df = pd.DataFrame(values[inside]).groupby(b[inside]).median()
    out = np.full((edges.size - 1, values.shape[1]), np.nan)
    out[df.index.to_numpy()] = df.to_numpy()
    return out


def _nan_gaussian(x: np.ndarray, sigma_bins: float) -> np.ndarray:
    """Gaussian smoothing that ignores NaN (normalised by the weight of finite samples)."""
    from scipy.ndimage import gaussian_filter1d

    if sigma_bins <= 0:
        return x
    finite = np.isfinite(x)
    num = gaussian_filter1d(np.where(finite, x, 0.0), sigma_bins, mode="nearest")
    den = gaussian_filter1d(finite.astype(float), sigma_bins, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den < 1e-3] = np.nan
    return out


def behavior_per_bin(ts: Any, edges: np.ndarray, *, smooth: float = 0.5) -> Any:
    """A behaviour block on the spike bins: per-bin median of every channel, plus speed.

    Positions are reduced to one value per bin by the median (robust to single-frame
    tracking glitches), not interpolated: a bin without samples is NaN.  When the block
    has channels named ``x`` (and ``y``), the speed is the change of the per-bin position
    between neighbouring bins (central differences) divided by the time, smoothed by a
    Gaussian of ``smooth`` seconds (NaN-aware).

    Parameters
    ----------
    ts : neurodata.TimeSeries
        Behaviour block, regular or irregular (e.g. tracked position in px).
    edges : ndarray of shape (n_bins + 1,)
        Bin edges in seconds (:attr:`BinnedActivity.edges`).
    smooth : float, default=0.5
        Standard deviation of the Gaussian applied to the speed, in seconds (0: none).

    Returns
    -------
    pandas.DataFrame
        ``n_bins`` rows; one column per channel, plus ``speed`` when there is an ``x``
        channel.  ``DataFrame.attrs["units"]`` maps columns to units (speed:
        ``"<unit>/s"``).

    Examples
    --------
    >>> import neurodata as nd
    >>> rec = nd.load_sample("nelpy_linear_track")
    >>> b = nd.load_counts(nd.sample_path("nelpy_linear_track"), 0.1, t_start=5000,
    ...                 t_stop=5100, min_rate=1.0)
    >>> list(nd.behavior_per_bin(rec.timeseries["position"], b.edges).columns)
    ['x', 'y', 'speed']
    """
    import pandas as pd

    names = [str(n) for n in ts.ch_names]
    units = [str(u) for u in ts.channels["unit"]]
    times = np.asarray(ts.times, dtype=np.float64)
    sel = (times >= edges[0]) & (times <= edges[-1])
    i0, i1 = (np.flatnonzero(sel)[[0, -1]] + [0, 1]) if sel.any() else (0, 0)
    values = np.asarray(ts.slice_samples(int(i0), int(i1)), dtype=np.float64)
    med = _binned_median(times[i0:i1], values, edges)
    df = pd.DataFrame(med, columns=names)
    unit_of = dict(zip(names, units, strict=True))
    lower = {n.lower(): n for n in names}
    if "x" in lower:
        dt = float(edges[1] - edges[0])
        cols = [lower[c] for c in ("x", "y", "z") if c in lower]
        grads = [np.gradient(df[c].to_numpy(), dt) if len(df) > 1 else np.zeros(len(df))
                 for c in cols]
        speed = np.sqrt(np.sum(np.square(grads), axis=0))
        df["speed"] = _nan_gaussian(speed, smooth / dt)
        unit_of["speed"] = f"{unit_of[cols[0]]}/s"
    df.attrs["units"] = unit_of
    return df


def load_behavior_block(path: str | os.PathLike, name: str | None = None) -> Any | None:
    """The behaviour block ``name`` of a recording (default: the first block of modality
    ``behavior``), loaded into memory; None when there is none.

    Raises
    ------
    ValidationError
        ``name`` is given and the recording has no such timeseries block.

    Examples
    --------
    >>> import neurodata as nd
    >>> nd.load_behavior_block(nd.sample_path("nelpy_linear_track")).name
    'position'
    """
    path = Path(path)
    with open_any(path) as rec:
        if name is not None:
            if name not in rec.timeseries:
                raise errors.ValidationError(
                    f"no timeseries block {name!r} for --behavior-block; found "
                    f"{sorted(rec.timeseries) or 'none'}", path=path)
            return rec.timeseries[name].load()
        for ts in rec.timeseries.values():
            if ts.modality == "behavior":
                return ts.load()
    return None
