"""Regularly (or irregularly) sampled multichannel signals: :class:`TimeSeries`.

Time is axis 0 and is always in seconds.  A regular series stores ``rate`` (Hz) and
``t0`` (s, time of the first sample); sample ``i`` is at ``t0 + i / rate``.  An
irregular series stores its timestamps instead.  The data may live in memory, in an
HDF5 file (read lazily, only the rows asked for) or behind a source-file reader.

Selection by time is always a named method, :meth:`TimeSeries.slice`, over the
half-open interval ``[t0, t1)``; ``ts[i:j]`` is positional, as in numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._mapped import MappedRows
from .channels import check_channels, make_channels
from .errors import SliceError, ValidationError

__all__ = ["TimeSeries"]

# Tolerance, in samples, when converting seconds to sample indices: a time within
# 1e-6 sample of a sample instant selects that sample despite floating-point error.
_EPS_SAMPLES = 1e-6

MODALITIES: tuple[str, ...] = (
    "eeg", "meg", "seeg", "ecog", "ieeg", "bold", "calcium", "behavior", "emg", "aux",
    "stim", "lfp", "misc",
)


def _columns_index(channels: pd.DataFrame, picks: Any) -> Any:
    """Turn channel names / indices / a boolean mask / a type string into an index."""
    if picks is None:
        return slice(None)
    names = list(channels["name"])
    if isinstance(picks, str):
        if picks in names:
            return [names.index(picks)]
        sel = np.flatnonzero(channels["type"].to_numpy() == picks)
        if sel.size == 0:
            raise ValidationError(
                f"no channel named or of type {picks!r}; channels are e.g. {names[:5]}, "
                f"types {sorted(set(channels['type']))}"
            )
        return sel.tolist()
    arr = np.asarray(picks)
    if arr.dtype == bool:
        if arr.size != len(names):
            raise ValidationError(
                f"boolean channel mask has {arr.size} entries for {len(names)} channels"
            )
        return np.flatnonzero(arr).tolist()
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < -len(names) or arr.max() >= len(names)):
            raise ValidationError(f"channel index out of range for {len(names)} channels")
        return arr.tolist()
    out = []
    lookup = {n: i for i, n in enumerate(names)}
    for p in arr.tolist():
        if p not in lookup:
            raise ValidationError(f"no channel named {p!r}; available: {names[:10]}...")
        out.append(lookup[p])
    return out


class TimeSeries:
    """A block of signals sampled together, shape ``(n_times, n_channels)``.

    Parameters
    ----------
    data : array-like of shape (n_times, n_channels)
        The samples, in the units given by the channel table (SI where one exists).
        A numpy array, an ``h5py.Dataset`` (read lazily) or any object with
        ``shape`` and row slicing.  Stored as float32 on disk.
    rate : float or None
        Sampling rate in Hz (regular sampling).  Give either ``rate`` or
        ``timestamps``.
    t0 : float, default=0.0
        Time of the first sample in seconds from the session start (regular only).
    timestamps : array of shape (n_times,) or None
        Strictly increasing sample times in seconds, for irregular sampling.
    channels : pandas.DataFrame or sequence of str or None
        Channel table (see :mod:`neurodata.channels`) or just the names (type
        ``misc``, unit ``a.u.``).  ``None`` names channels ``ch000``, ``ch001``, ...
    modality : str, default="misc"
        What the block holds: "eeg", "meg", "seeg", "ecog", "bold", "calcium", ...
    name : str or None
        The block's name in the recording (defaults to ``modality``).
    attrs : dict or None
        Extra JSON-serialisable metadata saved with the block.
    affine : array of shape (4, 4) or None
        For voxel data: voxel index → scanner mm transform of the source volume.
    volume_shape : tuple of 3 int or None
        For voxel data: shape of the source volume.
    voxel_ijk : int array of shape (n_channels, 3) or None
        For voxel data: the voxel index of each channel.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodata import TimeSeries
    >>> ts = TimeSeries(np.zeros((1000, 2), np.float32), rate=100.0, channels=["a", "b"])
    >>> ts.slice(1.0, 1.5).shape
    (50, 2)
    """

    def __init__(
        self,
        data: Any,
        *,
        rate: float | None = None,
        t0: float = 0.0,
        timestamps: Any = None,
        channels: pd.DataFrame | Sequence[str] | None = None,
        modality: str = "misc",
        name: str | None = None,
        attrs: dict[str, Any] | None = None,
        affine: Any = None,
        volume_shape: Sequence[int] | None = None,
        voxel_ijk: Any = None,
        _mapped: MappedRows | None = None,
        _path: str | None = None,
    ):
        if not hasattr(data, "shape") or not hasattr(data, "__getitem__"):
            data = np.asarray(data, dtype=np.float32)
        if len(data.shape) != 2:
            raise ValidationError(
                f"TimeSeries data must be 2-D (n_times, n_channels); got shape {tuple(data.shape)}"
                " (transpose (n_channels, n_times) input with .T)",
                path=_path,
            )
        self._data = data
        self._mapped = _mapped
        self._path = _path
        n_times, n_channels = (int(s) for s in data.shape)
        if channels is None:
            channels = make_channels([f"ch{i:03d}" for i in range(n_channels)])
        elif not isinstance(channels, pd.DataFrame):
            channels = make_channels(list(channels))
        self.channels = check_channels(channels, n_channels, path=_path)
        if (rate is None) == (timestamps is None):
            raise ValidationError(
                "give exactly one of rate (regular sampling) or timestamps (irregular); "
                f"got rate={rate!r}, timestamps={'None' if timestamps is None else 'array'}",
                path=_path,
            )
        if rate is not None:
            rate = float(rate)
            if not (math.isfinite(rate) and rate > 0):
                raise ValidationError(
                    f"rate must be a positive number of Hz; got {rate!r}", path=_path
                )
            if not math.isfinite(float(t0)):
                raise ValidationError(f"t0 must be finite seconds; got {t0!r}", path=_path)
            self._timestamps = None
        else:
            ts = np.asarray(timestamps, dtype=np.float64)
            if ts.shape != (n_times,):
                raise ValidationError(
                    f"timestamps must have shape ({n_times},) to match the data; got {ts.shape}",
                    path=_path,
                )
            if not np.all(np.isfinite(ts)):
                raise ValidationError("timestamps contain NaN or inf", path=_path)
            steps = np.diff(ts)
            if steps.size and not np.all(steps > 0):
                i = int(np.argmin(steps > 0))
                raise ValidationError(
                    "timestamps must be strictly increasing; "
                    f"found t[{i}]={float(ts[i])!r} followed by t[{i + 1}]={float(ts[i + 1])!r}",
                    path=_path,
                )
            self._timestamps = ts
            t0 = float(ts[0]) if ts.size else 0.0
        self.rate = rate
        self.t0 = float(t0)
        self.modality = str(modality)
        self.name = str(name) if name is not None else self.modality
        self.attrs = dict(attrs or {})
        self.affine = None if affine is None else np.asarray(affine, dtype=np.float64)
        self.volume_shape = None if volume_shape is None else tuple(int(v) for v in volume_shape)
        self.voxel_ijk = None if voxel_ijk is None else np.asarray(voxel_ijk, dtype=np.int32)
        if self.affine is not None and self.affine.shape != (4, 4):
            raise ValidationError(f"affine must be 4x4; got {self.affine.shape}", path=_path)
        if self.voxel_ijk is not None and self.voxel_ijk.shape != (n_channels, 3):
            raise ValidationError(
                f"voxel_ijk must have shape ({n_channels}, 3); got {self.voxel_ijk.shape}",
                path=_path,
            )

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_times, n_channels)``."""
        return (int(self._data.shape[0]), int(self._data.shape[1]))

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return self.shape[0]

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.shape[1]

    @property
    def ch_names(self) -> list[str]:
        """Channel names, in column order."""
        return list(self.channels["name"])

    @property
    def is_regular(self) -> bool:
        """True when sampled at a fixed ``rate``."""
        return self._timestamps is None

    @property
    def timestamps(self) -> np.ndarray | None:
        """Sample times in seconds for irregular series, ``None`` for regular ones."""
        return self._timestamps

    @property
    def times(self) -> np.ndarray:
        """Time of every sample in seconds, shape ``(n_times,)``."""
        if self._timestamps is not None:
            return self._timestamps
        return self.t0 + np.arange(self.n_times, dtype=np.float64) / self.rate

    @property
    def t_end(self) -> float:
        """End of the series' time domain in seconds (exclusive).

        ``t0 + n_times / rate`` for regular series; for irregular ones the last
        timestamp plus the median sampling interval.
        """
        if self._timestamps is None:
            return self.t0 + self.n_times / self.rate
        ts = self._timestamps
        if ts.size == 0:
            return self.t0
        step = float(np.median(np.diff(ts))) if ts.size > 1 else 0.0
        return float(ts[-1] + step)

    @property
    def duration(self) -> float:
        """Length of the time domain in seconds."""
        return self.t_end - self.t0

    @property
    def is_lazy(self) -> bool:
        """True when the data is not held in memory as a numpy array."""
        return not isinstance(self._data, np.ndarray)

    @property
    def is_mapped(self) -> bool:
        """True when reads come from a memory map of the file (uncompressed HDF5 data).

        Window reads (:meth:`slice`) then cost a bounds check and one copy; compressed
        or filtered datasets are read through h5py instead (always correct, slower).
        """
        return self._mapped is not None

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    # ------------------------------------------------------------------ indexing
    def time_to_index(self, t: float) -> int:
        """Index of the first sample at or after ``t`` seconds (may equal ``n_times``)."""
        if self._timestamps is None:
            return int(math.ceil((t - self.t0) * self.rate - _EPS_SAMPLES))
        tol = _EPS_SAMPLES / self.rate if self.rate else 1e-9
        return int(np.searchsorted(self._timestamps, t - 1e-9 - tol, side="left"))

    def _read(self, start: int, stop: int, cols: Any) -> np.ndarray:
        if stop <= start:
            n_cols = self.n_channels if isinstance(cols, slice) else len(cols)
            return np.empty((0, n_cols), dtype=np.float32)
        if self._mapped is not None:
            out = self._mapped.read(start, stop, cols)
        elif isinstance(self._data, np.ndarray):
            out = np.array(self._data[start:stop, cols])
        else:
            block = self._data[start:stop]
            out = np.asarray(block)
            if not isinstance(cols, slice):
                out = out[:, cols]
        if out.dtype != np.float32:
            out = out.astype(np.float32)
        return out

    def slice_samples(self, start: int, stop: int, *, channels: Any = None) -> np.ndarray:
        """Samples ``[start, stop)`` as a numpy array ``(stop - start, n_channels)``.

        Reads only the rows needed.  Raises :class:`~neurodata.errors.SliceError`
        when the range is not inside ``[0, n_times]``.
        """
        start, stop = int(start), int(stop)
        if start < 0 or stop > self.n_times or stop < start:
            raise SliceError(
                f"sample range [{start}, {stop}) is outside the series {self.name!r}, "
                f"which has samples [0, {self.n_times}); request a range inside it",
                path=self._path,
            )
        return self._read(start, stop, _columns_index(self.channels, channels))

    def slice(self, t0: float, t1: float, *, channels: Any = None) -> np.ndarray:
        """Samples with times in ``[t0, t1)`` seconds, as float32 ``(n, n_channels)``.

        Only the needed rows are read from disk.  Times are seconds from the session
        start (the same clock as :attr:`t0` and the events).

        Parameters
        ----------
        t0, t1 : float
            Start (inclusive) and end (exclusive) in seconds.
        channels : str, sequence of str or int, boolean mask, or None
            Channel names, indices, a mask, or a channel type (e.g. ``"eeg"``).

        Raises
        ------
        SliceError
            If ``[t0, t1)`` is not inside the series' time domain ``[t0, t_end)``.
        """
        index = self._window_index
        if channels is None and index is not None and index[0] is self._mapped:
            # Hot path of random window reads (all channels, memory-mapped file): bounds,
            # clock and reader were cached by _build_window_index, so a read costs one
            # chained comparison, two ceil() and one copy, with no attribute lookups or
            # builtin calls beyond those.  NaN or out-of-range times fail the comparison
            # and take the checked path below, which raises.
            mapped, lo, hi, f0, rate, n = index
            if lo <= t0 <= t1 <= hi:
                start = math.ceil((t0 - f0) * rate - _EPS_SAMPLES)
                stop = math.ceil((t1 - f0) * rate - _EPS_SAMPLES)
                if start < 0:
                    start = 0
                if stop > n:
                    stop = n
                if stop > start:
                    return mapped.read(start, stop)
        elif channels is None and self._mapped is not None:
            # first read, or a new reader: cache the index, then retry once (the rebuilt
            # index holds this reader, so the retry takes the branch above)
            self._window_index = self._build_window_index()
            return self.slice(t0, t1)
        tol = (_EPS_SAMPLES / self.rate) if self.rate else 1e-9
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
            raise SliceError(f"invalid time range [{t0}, {t1}) s", path=self._path)
        if t0 < self.t0 - tol or t1 > self.t_end + tol:
            raise SliceError(
                f"time range [{t0:g}, {t1:g}) s is outside the series {self.name!r}, which "
                f"covers [{self.t0:g}, {self.t_end:g}) s; request a range inside it",
                path=self._path,
            )
        start = max(self.time_to_index(t0), 0)
        stop = min(self.time_to_index(t1), self.n_times)
        return self._read(start, stop, _columns_index(self.channels, channels))

    _window_index: tuple | None = None

    def _build_window_index(self) -> tuple:
        """(reader, lowest t0, highest t1, clock t0, rate, n_times) for :meth:`slice`.

        The range bounds are infinite-free sentinels that no time passes when the fast
        path does not apply (irregular timestamps, non-float32 storage), so those reads
        always take the checked path.
        """
        mapped = self._mapped
        if self._timestamps is not None or mapped is None or mapped.dtype != np.float32:
            return (mapped, 1.0, 0.0, 0.0, 0.0, 0)  # lo > hi: no time passes
        tol = _EPS_SAMPLES / self.rate
        return (mapped, self.t0 - tol, self.t_end + tol, self.t0, self.rate, self.n_times)

    def __getitem__(self, key: Any) -> np.ndarray:
        """Positional indexing, as numpy: ``ts[i]``, ``ts[i:j]``, ``ts[i:j, cols]``."""
        rows, cols = (key if isinstance(key, tuple) else (key, slice(None)))
        if isinstance(rows, int | np.integer):
            idx = int(rows) + (self.n_times if rows < 0 else 0)
            if not 0 <= idx < self.n_times:
                raise SliceError(f"row {rows} out of range for {self.n_times} samples", self._path)
            return self._read(idx, idx + 1, slice(None))[0][cols]
        if isinstance(rows, slice):
            start, stop, step = rows.indices(self.n_times)
            if step != 1:
                return self._read(min(start, stop), max(start, stop), slice(None))[::step][:, cols]
            out = self._read(start, stop, slice(None) if isinstance(cols, slice) else cols)
            return out[:, cols] if isinstance(cols, slice) else out
        return np.asarray(self.load()._data)[rows][:, cols]

    def __len__(self) -> int:
        return self.n_times

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self._read(0, self.n_times, slice(None))
        return out if dtype is None else out.astype(dtype)

    # ------------------------------------------------------------------ conversions
    def load(self) -> TimeSeries:
        """Return an in-memory copy (reads all the data)."""
        return self._replace(data=self._read(0, self.n_times, slice(None)))

    def restrict(self, t0: float, t1: float) -> TimeSeries:
        """New in-memory series holding only ``[t0, t1)`` (times keep their clock)."""
        start = max(self.time_to_index(t0), 0)
        data = self.slice(t0, t1)
        if self._timestamps is None:
            return self._replace(data=data, t0=self.t0 + start / self.rate)
        return self._replace(data=data, timestamps=self._timestamps[start : start + len(data)])

    def pick(self, channels: Any) -> TimeSeries:
        """New in-memory series with only the given channels (names, indices or type)."""
        cols = _columns_index(self.channels, channels)
        table = self.channels.iloc[cols].reset_index(drop=True)
        ijk = None if self.voxel_ijk is None else self.voxel_ijk[cols]
        return self._replace(data=self._read(0, self.n_times, cols), channels=table, voxel_ijk=ijk)

    def _replace(self, **changes: Any) -> TimeSeries:
        kwargs: dict[str, Any] = dict(
            data=self._data,
            rate=self.rate,
            t0=self.t0,
            timestamps=self._timestamps,
            channels=self.channels,
            modality=self.modality,
            name=self.name,
            attrs=self.attrs,
            affine=self.affine,
            volume_shape=self.volume_shape,
            voxel_ijk=self.voxel_ijk,
        )
        kwargs.update(changes)
        if kwargs["timestamps"] is not None:
            kwargs["rate"] = None
        return TimeSeries(**kwargs)

    def to_mne(self, *, events: Any = None, verbose: bool | str | None = None):
        """Convert to an ``mne.io.RawArray`` (see :func:`neurodata.mne_bridge.to_mne`)."""
        from .mne_bridge import timeseries_to_mne

        return timeseries_to_mne(self, events=events, verbose=verbose)

    def plot(self, *, tmin: float | None = None, tmax: float | None = None, channels: Any = None,
             n_channels: int = 8, events: Any = None, ax=None):
        """Stacked traces of up to ``n_channels`` channels; returns the figure."""
        from .plotting import plot_timeseries

        return plot_timeseries(self, tmin=tmin, tmax=tmax, channels=channels,
                               n_channels=n_channels, events=events, ax=ax)

    def __repr__(self) -> str:
        where = "lazy" if self.is_lazy else "in memory"
        if self.is_regular:
            timing = f"{self.rate:g} Hz"
        else:
            timing = "irregular"
        types = self.channels["type"].value_counts()
        kinds = ", ".join(f"{n} {t}" for t, n in types.items())
        return (
            f"<TimeSeries {self.name!r} | {self.modality}, {self.n_channels} ch ({kinds}) × "
            f"{self.n_times} samples, {timing}, {self.t0:g}–{self.t_end:g} s, {where}>"
        )
