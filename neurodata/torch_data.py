"""PyTorch datasets of fixed windows cut from many recordings, read lazily.

:class:`WindowDataset` yields signal windows from a ``/timeseries/<block>``;
:class:`SpikeWindowDataset` yields binned spike counts from ``/spikes/<block>``.  Both
build their index of ``(recording, window start, label)`` from metadata only (rates,
lengths, events), never from signal data, and open files lazily in the process that
reads them: a ``torch.utils.data.DataLoader`` worker opens its own HDF5 handles on its
first ``__getitem__`` (h5py handles are never pickled or shared across a fork).

This is the only module of :mod:`neurodata` that imports torch (see DESIGN.md).

The design follows the windowers of braindecode (fixed-length and event-locked
windows over a concatenation of recordings; Schirrmeister et al. 2017, Hum. Brain Mapp.
38:5391) and the lazy, per-worker file opening of temporaldata/torch_brain.  The code
is our own.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dependencies import import_optional
from .errors import ValidationError
from .log import logger, verbose
from .recording import Recording, open_recording
from .timeseries import _columns_index

# torch is the 'dl' extra, not a core dependency: without it, say what to install
torch = import_optional("torch", extra="dl", feature="neurodata's torch Datasets")
Dataset = torch.utils.data.Dataset

__all__ = ["WindowDataset", "SpikeWindowDataset"]

_EPS = 1e-9
#: Windows processed at once when matching windows to events (bounds memory).
_LABEL_CHUNK = 4096


def _check_option(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}")


def _positive(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds > 0; got {value!r}") from None
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a number of seconds > 0; got {value!r}")
    return out


def _as_sources(recordings: Any) -> list[str | Recording]:
    """Paths stay paths; a Recording opened from a file becomes its path (reopened lazily
    in each worker); an in-memory Recording is kept as is."""
    if isinstance(recordings, str | os.PathLike | Recording):
        recordings = [recordings]
    out: list[str | Recording] = []
    for item in recordings:
        if isinstance(item, Recording):
            out.append(str(item.path) if item._file is not None and item.path else item)
        elif isinstance(item, str | os.PathLike):
            out.append(str(Path(item)))
        else:
            raise TypeError(f"recordings must be paths or neurodata.Recording objects; got "
                            f"{type(item).__name__}")
    if not out:
        raise ValueError("recordings is empty; give at least one .h5 path or Recording")
    return out


def _source_name(src: str | Recording, i: int) -> str:
    return src if isinstance(src, str) else f"<in-memory recording {i}>"


def _class_map(event_labels: Any, all_labels: Iterable[str]) -> dict[str, int]:
    if event_labels is None:
        return {lab: i for i, lab in enumerate(sorted(set(all_labels)))}
    if isinstance(event_labels, Mapping):
        out = {str(k): int(v) for k, v in event_labels.items()}
        if any(v < 0 for v in out.values()):
            raise ValueError(f"event_labels classes must be >= 0; got {event_labels!r}")
        return out
    if isinstance(event_labels, str):
        event_labels = [event_labels]
    return {str(lab): i for i, lab in enumerate(event_labels)}


def _label_windows(starts: np.ndarray, length: float, events: pd.DataFrame,
                   classes: Mapping[str, int], label_window: Any) -> np.ndarray:
    """Class of each window ``[s, s + length)`` from ``events`` (-1: no labelled event)."""
    y = np.full(starts.size, -1, dtype=np.int64)
    ev = events[events["label"].isin(list(classes))]
    if not len(ev) or not starts.size:
        return y
    on = ev["onset"].to_numpy(np.float64)
    dur = ev["duration"].to_numpy(np.float64)
    cls = np.array([classes[lab] for lab in ev["label"]], dtype=np.int64)
    for c0 in range(0, starts.size, _LABEL_CHUNK):
        ws = starts[c0:c0 + _LABEL_CHUNK, None]
        we = ws + length
        if isinstance(label_window, str):  # "overlap"
            overlap = np.minimum(we, on + dur) - np.maximum(ws, on)
            inside = (on >= ws - _EPS) & (on < we - _EPS)
            # an instantaneous event inside the window scores 0, which beats "no event"
            # (-inf) but loses to any event covering part of the window
            score = np.where(overlap > _EPS, overlap, np.where(inside, 0.0, -np.inf))
        else:
            tmin, tmax = label_window
            hit = (on >= ws + tmin - _EPS) & (on < ws + tmax - _EPS)
            score = np.where(hit, -on, -np.inf)  # the earliest onset wins
        best = np.argmax(score, axis=1)  # ties: the first (earliest) event
        ok = np.isfinite(score[np.arange(ws.shape[0]), best])
        y[c0:c0 + ws.shape[0]] = np.where(ok, cls[best], -1)
    return y


class _BaseWindows(Dataset):
    """Shared indexing, labelling and per-process lazy opening."""

    _kind = "windows"

    def _setup(self, recordings: Any, *, window: float, step: float, targets: Any,
               event_labels: Any, label_window: Any, align: str, offset: float,
               drop_unlabeled: bool, transform: Callable | None,
               target_transform: Callable | None, max_open: int) -> None:
        self.window = _positive("window", window)
        self.step = _positive("step", step)
        _check_option("align", align, ("sliding", "events"))
        if not (targets is None or targets == "events" or callable(targets)):
            raise ValueError(f"targets must be None, 'events' or a callable "
                             f"(recording, t_start, t_stop) -> int; got {targets!r}")
        if isinstance(label_window, str):
            _check_option("label_window", label_window, ("overlap",))
        else:
            try:
                tmin, tmax = (float(v) for v in label_window)
            except (TypeError, ValueError):
                raise ValueError("label_window must be 'overlap' or a (tmin, tmax) pair of "
                                 f"seconds from the window start; got {label_window!r}"
                                 ) from None
            if not tmax > tmin:
                raise ValueError(f"label_window needs tmin < tmax; got {label_window!r}")
            label_window = (tmin, tmax)
        self.targets = targets
        self.event_labels = event_labels
        self.label_window = label_window
        self.align = align
        self.offset = float(offset)
        self.drop_unlabeled = bool(drop_unlabeled)
        self.transform = transform
        self.target_transform = target_transform
        self.max_open = int(max_open)
        self._sources = _as_sources(recordings)
        self._open: OrderedDict[int, Recording] = OrderedDict()
        self._pid: int | None = None

        metas = []
        for i, src in enumerate(self._sources):
            if isinstance(src, str):
                with open_recording(src) as rec:
                    metas.append(self._metadata(rec, src))
            else:
                metas.append(self._metadata(src, _source_name(src, i)))
        self._finish_metadata(metas)
        all_labels = [lab for m in metas for lab in m["events"]["label"]]
        uses_events = targets == "events" or align == "events"
        if uses_events and event_labels is None and targets is None:
            self._classes: dict[str, int] | None = None  # every event, no labels needed
        else:
            self._classes = _class_map(event_labels, all_labels) if uses_events else None
        self._build_index(metas)

    # -- subclass hooks --------------------------------------------------------------
    def _metadata(self, rec: Recording, name: str) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _finish_metadata(self, metas: list[dict[str, Any]]) -> None:
        pass

    def _starts(self, meta: dict[str, Any], times: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        """Window starts (native units, int samples or float seconds) and their times."""
        raise NotImplementedError

    def _read(self, rec: Recording, meta: dict[str, Any], start: Any) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    # -- index -----------------------------------------------------------------------
    def _build_index(self, metas: list[dict[str, Any]]) -> None:
        rec_idx, starts, times, ys, ev_idx = [], [], [], [], []
        dropped_out = 0
        for i, meta in enumerate(metas):
            events = meta["events"]
            if self.align == "events":
                sel = events if self._classes is None else events[
                    events["label"].isin(list(self._classes))]
                on = sel["onset"].to_numpy(np.float64) + self.offset
                native, t = self._starts(meta, on)
                keep = native["valid"]
                dropped_out += int((~keep).sum())
                native, t = native["start"][keep], t[keep]
                evi = sel.index.to_numpy()[keep]
                if self.targets == "events":
                    y = np.array([self._classes[lab] for lab in sel["label"].to_numpy()[keep]],
                                 dtype=np.int64)
                else:
                    y = np.full(t.size, -1, dtype=np.int64)
            else:
                native, t = self._starts(meta, None)
                native = native["start"]
                evi = np.full(t.size, -1, dtype=np.int64)
                if self.targets == "events":
                    y = _label_windows(t, self.window, events, self._classes,
                                       self.label_window)
                else:
                    y = np.full(t.size, -1, dtype=np.int64)
            if callable(self.targets):
                rec = self._recording(i)
                y = np.array([int(self.targets(rec, float(s), float(s) + self.window))
                              for s in t], dtype=np.int64)
            if self.targets is not None and self.drop_unlabeled:
                keep = y >= 0
                native, t, y, evi = native[keep], t[keep], y[keep], evi[keep]
            rec_idx.append(np.full(t.size, i, dtype=np.int64))
            starts.append(np.asarray(native))
            times.append(t)
            ys.append(y)
            ev_idx.append(evi)
        if dropped_out:
            logger.info("%d event-locked window(s) fall outside their recording and are "
                        "left out", dropped_out)
        self._metas = metas
        self._rec = np.concatenate(rec_idx)
        self._start = np.concatenate(starts)
        self._t = np.concatenate(times)
        self._y = np.concatenate(ys)
        self._event = np.concatenate(ev_idx)

    # -- public ----------------------------------------------------------------------
    @property
    def classes(self) -> list[str] | None:
        """Event labels by class index (None when targets are not events)."""
        if self._classes is None or self.targets != "events":
            return None
        by_class: dict[int, str] = {}
        for lab, c in sorted(self._classes.items(), key=lambda kv: kv[1]):
            by_class.setdefault(c, lab)
        return [by_class.get(c, "") for c in range(max(by_class, default=-1) + 1)]

    @property
    def windows(self) -> pd.DataFrame:
        """One row per window: recording (index), source, start and stop (s), y, event."""
        return pd.DataFrame({
            "recording": self._rec,
            "source": [self._metas[r]["name"] for r in self._rec],
            "start": self._t,
            "stop": self._t + self.window,
            "y": self._y,
            "event": self._event,
        })

    @property
    def y(self) -> np.ndarray:
        """Labels of every window, int64 ``(n_windows,)`` (-1: unlabelled / no targets)."""
        return self._y.copy()

    def __len__(self) -> int:
        return int(self._rec.size)

    def _recording(self, i: int) -> Recording:
        pid = os.getpid()
        if self._pid != pid:  # new process (DataLoader worker): never reuse a parent's handle
            self._open = OrderedDict()
            self._pid = pid
        src = self._sources[i]
        if not isinstance(src, str):
            return src
        rec = self._open.get(i)
        if rec is None:
            rec = open_recording(src)
            self._open[i] = rec
            while len(self._open) > max(self.max_open, 1):
                _, old = self._open.popitem(last=False)
                old.close()
        else:
            self._open.move_to_end(i)
        return rec

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        index = int(index)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"window {index} out of range for {n} windows")
        r = int(self._rec[index])
        x = torch.from_numpy(np.ascontiguousarray(
            self._read(self._recording(r), self._metas[r], self._start[index])))
        if self.transform is not None:
            x = self.transform(x)
        if self.targets is None:
            return x
        y = torch.tensor(int(self._y[index]), dtype=torch.int64)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def close(self) -> None:
        """Close the files this process opened (they reopen on the next read)."""
        while self._open:
            _, rec = self._open.popitem()
            rec.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()  # h5py handles are not picklable: reopen on use
        state["_pid"] = None
        return state

    def __repr__(self) -> str:
        labels = "" if self.targets is None else (
            f", {len(np.unique(self._y[self._y >= 0]))} classes")
        return (f"<{type(self).__name__} | {len(self)} {self._kind} of {self.window:g} s "
                f"({self.align}) from {len(self._sources)} recording(s){labels}>")


class WindowDataset(_BaseWindows):
    """Fixed-length signal windows from many recordings, for ``torch.utils.data``.

    Windows are cut from one time-series block (e.g. ``"eeg"``) of each recording,
    either sliding (``align="sliding"``: starts at ``t0, t0 + step, ...`` while the
    window fits) or locked to events (``align="events"``: one window per event,
    starting at ``onset + offset``; windows that do not fit are left out).  The index
    is computed from metadata only; signal data is read per item.  Files are opened
    on first use in each process, so the dataset works with ``DataLoader(num_workers=N)``.

    Parameters
    ----------
    recordings : path-like, Recording, or sequence of them
        ``.h5`` files (opened lazily) or Recordings (one opened from a file is reopened
        from its path; an in-memory one is used as is).
    window : float, default=2.0
        Window length in seconds; ``round(window * rate)`` samples.
    step : float, default=1.0
        Seconds between sliding-window starts (start ``k`` is sample
        ``round(k * step * rate)``).  Ignored when ``align="events"``.
    block : str, default="eeg"
        Name of the time-series block in ``/timeseries``.
    channels : str, sequence of str or int, or None
        Channels to keep, by name, index or type (e.g. ``"eeg"``); ``None`` keeps all.
        The same selection must give the same channel names in every recording.
    targets : None, "events" or callable
        ``None``: items are ``x`` only.  ``"events"``: items are ``(x, y)`` with ``y``
        the class of the window's event (see ``label_window``).  A callable
        ``f(recording, t_start, t_stop) -> int`` labels each window (called once per
        window while indexing; a negative value means unlabelled).
    event_labels : list of str, dict of str to int, or None
        Event labels to use and their classes: a list maps ``labels[i] -> i``; a dict
        gives the classes (several labels may share one).  ``None``: every label in
        the recordings, sorted, numbered from 0.
    label_window : "overlap" or (tmin, tmax), default="overlap"
        How a sliding window gets its label.  ``"overlap"``: the labelled event that
        covers the largest part of ``[start, start + window)`` (event extent
        ``[onset, onset + duration)``); an instantaneous event counts if its onset lies
        in the window but loses to any event of positive overlap; ties go to the
        earliest event.  ``(tmin, tmax)``: the earliest labelled event with onset in
        ``[start + tmin, start + tmax)``.  Event-locked windows take their own event's
        label.
    align : {"sliding", "events"}, default="sliding"
    offset : float, default=0.0
        Event-locked windows start at ``onset + offset`` seconds.
    drop_unlabeled : bool, default=True
        With targets, leave out windows that get no label; if False they keep ``y=-1``.
    layout : {"CT", "TC"}, default="CT"
        ``x`` is float32 ``(n_channels, n_times)`` ("CT", as braindecode and most
        EEG networks expect) or ``(n_times, n_channels)`` ("TC", the file's layout).
    transform : callable or None
        Applied to ``x`` (a torch tensor) before it is returned.
    target_transform : callable or None
        Applied to ``y`` (an int64 scalar tensor).
    max_open : int, default=64
        Files kept open per process (least recently used are closed).
    verbose : bool or str or None
        Log level while indexing.

    Attributes
    ----------
    windows : pandas.DataFrame
        recording, source, start (s), stop (s), y, event (row in the recording's events).
    y : numpy.ndarray of int64, shape (n_windows,)
    classes : list of str or None
    rate : float
    channel_names : list of str
    n_times : int
        Samples per window.

    Examples
    --------
    >>> import numpy as np, neurodata as nd
    >>> from neurodata.torch_data import WindowDataset
    >>> ts = nd.TimeSeries(np.zeros((1000, 2), np.float32), rate=100.0, channels=["a", "b"],
    ...                    modality="eeg", name="eeg")
    >>> rec = nd.Recording([ts], events=nd.Events(onset=[1.0, 5.0], label=["L", "R"]))
    >>> ds = WindowDataset(rec, window=1.0, step=0.5)
    >>> len(ds), tuple(ds[0].shape)
    (19, (2, 100))
    >>> ds = WindowDataset(rec, window=1.0, align="events", targets="events")
    >>> [int(y) for _, y in ds]
    [0, 1]
    """

    _kind = "windows"

    @verbose
    def __init__(
        self,
        recordings: Any,
        *,
        window: float = 2.0,
        step: float = 1.0,
        block: str = "eeg",
        channels: Any = None,
        targets: None | str | Callable[[Recording, float, float], int] = None,
        event_labels: Sequence[str] | Mapping[str, int] | None = None,
        label_window: str | tuple[float, float] = "overlap",
        align: str = "sliding",
        offset: float = 0.0,
        drop_unlabeled: bool = True,
        layout: str = "CT",
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        max_open: int = 64,
        verbose: bool | str | None = None,
    ):
        _check_option("layout", layout, ("CT", "TC"))
        self.block = block
        self.channels = channels
        self.layout = layout
        self._setup(recordings, window=window, step=step, targets=targets,
                    event_labels=event_labels, label_window=label_window, align=align,
                    offset=offset, drop_unlabeled=drop_unlabeled, transform=transform,
                    target_transform=target_transform, max_open=max_open)

    def _metadata(self, rec: Recording, name: str) -> dict[str, Any]:
        if self.block not in rec.timeseries:
            raise ValidationError(
                f"no time-series block {self.block!r}; this recording has "
                f"{sorted(rec.timeseries)} - pass block= one of them", path=name)
        ts = rec.timeseries[self.block]
        if not ts.is_regular:
            raise ValidationError(
                f"block {self.block!r} is irregularly sampled; fixed windows need a rate - "
                "resample it first (a recorded preprocessing step)", path=name)
        cols = _columns_index(ts.channels, self.channels)
        names = list(ts.channels["name"].iloc[cols]) if not isinstance(cols, slice) else list(
            ts.channels["name"])
        return {"name": name, "rate": float(ts.rate), "t0": float(ts.t0),
                "n_times": int(ts.n_times), "cols": cols, "channel_names": names,
                "events": rec.events.to_dataframe()}

    def _finish_metadata(self, metas: list[dict[str, Any]]) -> None:
        first = metas[0]
        for m in metas[1:]:
            if not math.isclose(m["rate"], first["rate"], rel_tol=1e-9):
                raise ValidationError(
                    f"block {self.block!r} is sampled at {m['rate']:g} Hz here but at "
                    f"{first['rate']:g} Hz in {first['name']}; windows must share one rate - "
                    "resample to a common rate first (nothing is resampled silently)",
                    path=m["name"])
            if m["channel_names"] != first["channel_names"]:
                diff = sorted(set(m["channel_names"]) ^ set(first["channel_names"]))[:8]
                raise ValidationError(
                    f"channels differ from {first['name']} (e.g. {diff}, or their order); "
                    "pass channels=[...] naming the channels to use in every recording",
                    path=m["name"])
        self.rate = first["rate"]
        self.channel_names = first["channel_names"]
        self.n_times = int(round(self.window * self.rate))
        if self.n_times < 1:
            raise ValueError(f"window={self.window} s is shorter than one sample at "
                             f"{self.rate:g} Hz")

    def _starts(self, meta: dict[str, Any], times: np.ndarray | None
                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        rate, n_win, n = meta["rate"], self.n_times, meta["n_times"]
        if times is None:
            step = self.step * rate
            count = int(math.floor((n - n_win) / step + _EPS)) + 1 if n >= n_win else 0
            start = np.round(np.arange(count) * step).astype(np.int64)
            valid = np.ones(count, dtype=bool)
        else:
            start = np.round((times - meta["t0"]) * rate).astype(np.int64)
            valid = (start >= 0) & (start + n_win <= n)
        return {"start": start, "valid": valid}, meta["t0"] + start / rate

    def _read(self, rec: Recording, meta: dict[str, Any], start: Any) -> np.ndarray:
        s = int(start)
        x = rec.timeseries[self.block].slice_samples(s, s + self.n_times,
                                                     channels=self.channels)
        return x.T if self.layout == "CT" else x


class SpikeWindowDataset(_BaseWindows):
    """Windows of binned spike counts from ``/spikes/<block>`` of many recordings.

    Each item ``x`` is float32 ``(n_bins, n_units)`` (``layout="TU"``, time × units)
    with ``n_bins = window / bin_size``: the spikes of each unit in
    ``[start + k * bin_size, start + (k + 1) * bin_size)``.  Windows slide over
    ``[t_start, t_stop]`` of the spike block or lock to events, exactly as in
    :class:`WindowDataset` (same ``targets``, ``event_labels``, ``label_window``,
    ``align``, ``offset`` options).

    Parameters
    ----------
    recordings : path-like, Recording, or sequence of them
    window : float, default=1.0
        Seconds; must be a whole number of bins.
    step : float, default=0.5
        Seconds between sliding-window starts.
    bin_size : float, default=0.01
        Bin width in seconds.
    block : str or None
        Name in ``/spikes``; ``None`` takes the only block (error if there are several).
    units : sequence of str or None
        Units (by name) and their column order; every recording must have them.
        ``None``: the units of the first recording, which all others must share.
    layout : {"TU", "UT"}, default="TU"
        ``(n_bins, n_units)`` or ``(n_units, n_bins)``.
    targets, event_labels, label_window, align, offset, drop_unlabeled, transform,
    target_transform, max_open, verbose
        As in :class:`WindowDataset`.

    Examples
    --------
    >>> import neurodata as nd
    >>> from neurodata.torch_data import SpikeWindowDataset
    >>> st = nd.SpikeTrains.from_unit_times({"u1": [0.05, 0.5], "u2": [0.15]}, t_start=0.0,
    ...                                     t_stop=2.0)
    >>> ds = SpikeWindowDataset(nd.Recording(spikes=[st]), window=1.0, step=1.0, bin_size=0.1)
    >>> x = ds[0]; tuple(x.shape), x.sum(0).tolist()
    ((10, 2), [2.0, 1.0])
    """

    _kind = "spike windows"

    @verbose
    def __init__(
        self,
        recordings: Any,
        *,
        window: float = 1.0,
        step: float = 0.5,
        bin_size: float = 0.01,
        block: str | None = None,
        units: Sequence[str] | None = None,
        targets: None | str | Callable[[Recording, float, float], int] = None,
        event_labels: Sequence[str] | Mapping[str, int] | None = None,
        label_window: str | tuple[float, float] = "overlap",
        align: str = "sliding",
        offset: float = 0.0,
        drop_unlabeled: bool = True,
        layout: str = "TU",
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        max_open: int = 64,
        verbose: bool | str | None = None,
    ):
        _check_option("layout", layout, ("TU", "UT"))
        self.bin_size = _positive("bin_size", bin_size)
        n_bins = _positive("window", window) / self.bin_size
        if abs(n_bins - round(n_bins)) > 1e-6 * max(n_bins, 1):
            raise ValueError(f"window={window} s is not a whole number of bins of "
                             f"{bin_size} s; choose window = k * bin_size")
        self.n_bins = int(round(n_bins))
        self.block = block
        self.units = None if units is None else [str(u) for u in units]
        self.layout = layout
        self._setup(recordings, window=window, step=step, targets=targets,
                    event_labels=event_labels, label_window=label_window, align=align,
                    offset=offset, drop_unlabeled=drop_unlabeled, transform=transform,
                    target_transform=target_transform, max_open=max_open)

    def _block_of(self, rec: Recording, name: str) -> str:
        if self.block is not None:
            if self.block not in rec.spikes:
                raise ValidationError(f"no spike block {self.block!r}; this recording has "
                                      f"{sorted(rec.spikes)} - pass block= one of them",
                                      path=name)
            return self.block
        if len(rec.spikes) != 1:
            raise ValidationError(
                f"block=None needs exactly one spike block; this recording has "
                f"{sorted(rec.spikes) or 'none'}" + (" - pass block=" if rec.spikes else ""),
                path=name)
        return next(iter(rec.spikes))

    def _metadata(self, rec: Recording, name: str) -> dict[str, Any]:
        block = self._block_of(rec, name)
        st = rec.spikes[block]
        return {"name": name, "block": block, "t_start": st.t_start, "t_stop": st.t_stop,
                "unit_names": st.unit_names, "events": rec.events.to_dataframe()}

    def _finish_metadata(self, metas: list[dict[str, Any]]) -> None:
        wanted = self.units if self.units is not None else metas[0]["unit_names"]
        for m in metas:
            lookup = {u: i for i, u in enumerate(m["unit_names"])}
            missing = [u for u in wanted if u not in lookup]
            if missing or (self.units is None and len(lookup) != len(wanted)):
                raise ValidationError(
                    f"units differ from those requested/of the first recording (missing "
                    f"{missing[:8]}, {len(lookup)} units here vs {len(wanted)}); pass units=[...] "
                    "naming units every recording has", path=m["name"])
            colmap = np.full(len(lookup), -1, dtype=np.int64)
            for j, u in enumerate(wanted):
                colmap[lookup[u]] = j
            m["colmap"] = colmap
        self.unit_names = list(wanted)

    def _starts(self, meta: dict[str, Any], times: np.ndarray | None
                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        t0, t1 = meta["t_start"], meta["t_stop"]
        if times is None:
            span = t1 - t0 - self.window
            count = int(math.floor(span / self.step + _EPS)) + 1 if span >= -_EPS else 0
            start = t0 + np.arange(count) * self.step
            valid = np.ones(count, dtype=bool)
        else:
            start = np.asarray(times, dtype=np.float64)
            valid = (start >= t0 - _EPS) & (start + self.window <= t1 + _EPS)
        return {"start": start, "valid": valid}, start

    def _read(self, rec: Recording, meta: dict[str, Any], start: Any) -> np.ndarray:
        st = rec.spikes[meta["block"]]
        t0 = float(start)
        t1 = t0 + self.n_bins * self.bin_size
        i0, i1 = np.searchsorted(st.times, [t0, t1], side="left")
        b = np.floor((st.times[i0:i1] - t0) / self.bin_size + 1e-12).astype(np.int64)
        cols = meta["colmap"][st.unit_index[i0:i1]]
        ok = cols >= 0
        counts = np.zeros((self.n_bins, len(self.unit_names)), dtype=np.float32)
        np.add.at(counts, (np.clip(b[ok], 0, self.n_bins - 1), cols[ok]), 1.0)
        return counts.T if self.layout == "UT" else counts
