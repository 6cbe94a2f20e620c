"""Model-ready token windows from spikes or calcium events, on the ``SpikeTokenizer`` format.

One token format serves spikes and calcium: every spike (or calcium event) is a pair
(neuron-ID token, time-offset token) made by :class:`decoders.tokenizers.SpikeTokenizer`
inside a *current* window, with the spikes of the preceding *past* window as context
(Joshi et al. 2023, Neuroformer, ICLR 2024).  This module adds what a model needs on top:

* the windows of one time interval only (:func:`make_windows`): spikes outside the interval
  are removed **before** tokenizing, so a window's past context never reaches across the
  interval's edge — the basis of leakage-free time-blocked splits
  (:func:`time_blocked_split`);
* **chunking**: a current window with more tokens than the model's context
  (``block_size``) is cut into consecutive chunks of ``block_size`` input tokens (each
  chunk repeats the last token of the previous one as its first input, the usual
  language-model chunking); every chunk sees the same past window.  A past window with
  more than ``max_past`` tokens keeps its **latest** ``max_past`` tokens;
* per-window behaviour targets and stimulus inputs aligned to the same timeline, with a
  clear error when their timeline does not cover the interval;
* a behaviour time series as a model **input** (``behaviour_input``): bin means of its
  samples over the past window only (strictly before the current window starts, never
  before the interval starts), so a window's own behaviour never enters its input;
* calcium → event trains (:func:`calcium_event_trains`) with a documented rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodata.log import logger, verbose
from neurodata.spikes import SpikeTrains
from neurodata.timeseries import TimeSeries

from ..tokenizers.spike import (
    EOS,
    PAD,
    SOS,
    SpikeTokenizer,
    calcium_events,
    collate_spike_tokens,
)
from .errors import NeuroformerError

__all__ = [
    "TokenWindows",
    "make_windows",
    "collate_windows",
    "time_blocked_split",
    "calcium_event_trains",
    "vocabulary_tokenizer",
    "PAD",
    "SOS",
    "EOS",
]

N_SPECIAL = 4  # <pad> <sos> <eos> <unk>


@dataclass
class TokenWindows:
    """Token chunks of consecutive windows of one interval, ready for the model.

    Attributes
    ----------
    ids, dts : list of int64 arrays
        Tokens of each chunk: model inputs are ``ids[:-1]``, targets ``ids[1:]``.  The
        first chunk of a window starts with ``SOS``; the last ends with ``EOS``.
    past_ids, past_dts : list of int64 arrays
        Past-window tokens of each chunk (at most ``max_past``, the latest kept).
    window_start : float64 array, shape (n_chunks,)
        Start (s) of the current window a chunk belongs to.
    window_index : int64 array, shape (n_chunks,)
        Index of that window among the interval's windows (chunks share it).
    chunk : int64 array, shape (n_chunks,)
        Position of the chunk inside its window (0 for the first).
    behaviour : float32 array (n_chunks, n_behaviour) or None
        Behaviour averaged over each current window (the decoding target).
    stimulus : float32 array (n_chunks, n_steps, n_features) or (n_chunks, n_steps, H, W)
        Stimulus samples over past + current window (model input), or None.
    units : list of str
        The neuron vocabulary (token id ``i + 4`` is ``units[i]``).
    window, past_window, dt : float
        Tokenizer grid (s).
    interval : tuple of float
        ``(t0, t1)`` in seconds.
    extra : dict
        Free-form annotations.
    behaviour_input : float32 array (n_chunks, n_steps, n_channels) or None
        Behaviour over the **past** window in ``n_steps`` equal bins (model input; see
        :func:`make_windows`), or None.
    behaviour_input_mask : bool array (n_chunks, n_steps) or None
        False where a bin has no sample inside the interval (before its start).
    """

    ids: list[np.ndarray]
    dts: list[np.ndarray]
    past_ids: list[np.ndarray]
    past_dts: list[np.ndarray]
    window_start: np.ndarray
    window_index: np.ndarray
    chunk: np.ndarray
    behaviour: np.ndarray | None
    stimulus: np.ndarray | None
    units: list[str]
    window: float
    past_window: float
    dt: float
    interval: tuple[float, float]
    extra: dict[str, Any] = field(default_factory=dict)
    behaviour_input: np.ndarray | None = None
    behaviour_input_mask: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_windows(self) -> int:
        """Number of distinct current windows."""
        return int(np.unique(self.window_index).size)

    @property
    def n_tokens(self) -> int:
        """Number of predicted tokens (targets) over all chunks."""
        return int(sum(len(a) - 1 for a in self.ids))

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {"id": self.ids[i], "dt": self.dts[i], "past_id": self.past_ids[i],
                "past_dt": self.past_dts[i], "window_start": float(self.window_start[i])}
        if self.behaviour is not None:
            item["behaviour"] = self.behaviour[i]
        if self.stimulus is not None:
            item["stimulus"] = self.stimulus[i]
        if self.behaviour_input is not None:
            item["behaviour_input"] = self.behaviour_input[i]
            item["behaviour_input_mask"] = self.behaviour_input_mask[i]
        return item

    def subset(self, index: Sequence[int] | np.ndarray) -> TokenWindows:
        """The chunks at ``index`` (in that order) as a new :class:`TokenWindows`."""
        index = np.asarray(index, dtype=np.int64)

        def pick(a):
            return None if a is None else a[index]

        return TokenWindows(
            [self.ids[i] for i in index], [self.dts[i] for i in index],
            [self.past_ids[i] for i in index], [self.past_dts[i] for i in index],
            self.window_start[index], self.window_index[index], self.chunk[index],
            pick(self.behaviour), pick(self.stimulus), list(self.units), self.window,
            self.past_window, self.dt, self.interval, dict(self.extra),
            pick(self.behaviour_input), pick(self.behaviour_input_mask))

    def first_chunks(self) -> TokenWindows:
        """One chunk per window (the first), e.g. as prompts for generation."""
        return self.subset(np.flatnonzero(self.chunk == 0))


def vocabulary_tokenizer(names: Sequence[str], *, window: float = 0.05,
                         past_window: float = 0.15, dt: float = 0.01) -> SpikeTokenizer:
    """A :class:`SpikeTokenizer` whose vocabulary is a given list of neuron names.

    Use it for a homogenized vocabulary shared by several recordings, e.g. the 302
    C. elegans neurons (:data:`neurodata.celegans_names.NEURONS_302`).

    Examples
    --------
    >>> tok = vocabulary_tokenizer(["AVAL", "AVAR"], window=0.6, past_window=1.2, dt=0.6)
    >>> tok.id_vocab_size_
    6
    """
    names = [str(n) for n in names]
    if len(set(names)) != len(names) or not names:
        raise NeuroformerError(f"a vocabulary needs unique, non-empty names; got {len(names)} "
                               f"names with {len(names) - len(set(names))} duplicates")
    st = SpikeTrains(np.zeros(0), np.zeros(0, np.int32), names, t_start=0.0, t_stop=0.0)
    return SpikeTokenizer(window=window, past_window=past_window, dt=dt).fit(st)


@verbose
def calcium_event_trains(ts: TimeSeries, *, threshold: float = 2.5, deconvolved: bool = False,
                         tau: float = 1.0, verbose: bool | str | None = None) -> SpikeTrains:
    """Calcium traces → event trains, so calcium recordings train the same model.

    The rule (from :func:`decoders.tokenizers.calcium_events`): unless the traces are
    already deconvolved, each neuron's trace is deconvolved by inverting a first-order
    (AR(1)) calcium kernel, ``s_t = max(0, x_t - exp(-Δt/τ) x_{t-1})``; a sample becomes an
    event when ``s_t > median(s) + threshold · 1.4826 · MAD(s)`` (robust z-score above
    ``threshold``).  Events sit at the sample times, so use the frame period as ``dt``.

    Parameters
    ----------
    ts : neurodata.TimeSeries
        (n_times, n_neurons) calcium traces.
    threshold : float, default=2.5
        Robust z-score an event must exceed.
    deconvolved : bool, default=False
        Whether ``ts`` already holds deconvolved activity (e.g. suite2p ``spks``).
    tau : float, default=1.0
        Calcium decay time constant in seconds.
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    events : SpikeTrains
    """
    return calcium_events(ts, threshold=threshold, deconvolved=deconvolved, tau=tau,
                          name="calcium_events")


def time_blocked_split(t_start: float, t_stop: float, *,
                       fractions: Sequence[float] = (0.7, 0.15, 0.15),
                       gap: float = 0.0) -> list[tuple[float, float]]:
    """Split ``[t_start, t_stop)`` into consecutive, non-overlapping time blocks.

    Windows made per block with :func:`make_windows` never share a spike, and a window's
    past context never reaches into another block (spikes outside a block are removed
    before tokenizing), so train / validation / test cannot leak into each other.

    Parameters
    ----------
    t_start, t_stop : float
        Interval to split (s).
    fractions : sequence of float, default=(0.7, 0.15, 0.15)
        Relative lengths of the blocks, in time order (normalized to sum 1).
    gap : float, default=0.0
        Seconds left out between consecutive blocks (e.g. to decorrelate slow signals).

    Returns
    -------
    blocks : list of (t0, t1)

    Examples
    --------
    >>> time_blocked_split(0.0, 10.0, fractions=(0.8, 0.2))
    [(0.0, 8.0), (8.0, 10.0)]
    """
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size == 0 or np.any(fr <= 0) or not np.isfinite(fr).all():
        raise NeuroformerError(f"fractions must be positive numbers; got {list(fractions)}")
    if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop <= t_start:
        raise NeuroformerError(f"cannot split the interval [{t_start}, {t_stop}) s; it must "
                               "be finite with t_start < t_stop")
    usable = (t_stop - t_start) - gap * (fr.size - 1)
    if usable <= 0:
        raise NeuroformerError(f"gap={gap} s leaves no time in [{t_start}, {t_stop}) s")
    edges = np.concatenate([[0.0], np.cumsum(fr / fr.sum())]) * usable
    return [(float(t_start + edges[i] + i * gap), float(t_start + edges[i + 1] + i * gap))
            for i in range(fr.size)]


def _series(obj: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), values (T, ...)) of a TimeSeries or a (times, values) pair."""
    if isinstance(obj, TimeSeries):
        return np.asarray(obj.times, np.float64), np.asarray(obj[:], np.float32)
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        times = np.asarray(obj[0], np.float64)
        values = np.asarray(obj[1], np.float32)
        if times.ndim != 1:
            raise NeuroformerError(f"{what} times must be 1-D (n_samples,); got shape "
                                   f"{times.shape}")
        if values.shape[:1] != times.shape:
            raise NeuroformerError(
                f"{what} has {values.shape[0] if values.ndim else 0} samples but its timeline "
                f"has {times.size} times; values must have shape (n_samples, ...) matching "
                "the times")
        if values.ndim == 1:
            values = values[:, None]
        if times.size > 1 and np.any(np.diff(times) <= 0):
            raise NeuroformerError(f"{what} times must be strictly increasing")
        return times, values
    raise NeuroformerError(f"{what} must be a neurodata.TimeSeries or a (times, values) pair; "
                           f"got {type(obj).__name__}")


def _table_series(series: Any, what: str, columns: str, t0: float, t1: float,
                  window: float) -> tuple[np.ndarray, np.ndarray]:
    """``(times, values)`` of a 2-D series that covers ``[t0, t1]``, or our error."""
    t, v = _series(series, what)
    if v.ndim != 2:
        raise NeuroformerError(f"{what} values must be (n_samples, {columns}); got shape "
                               f"{v.shape}")
    _check_covers(t, t0, t1, what, window)
    return t, v


def _check_covers(times: np.ndarray, t0: float, t1: float, what: str,
                  slack: float = 0.0) -> None:
    """The series must start and end within max(2 samples, ``slack``) of the interval."""
    step = float(np.median(np.diff(times))) if times.size > 1 else np.inf
    tol = max(2 * step, slack)
    if times.size == 0 or times[0] > t0 + tol or times[-1] < t1 - tol:
        span = f"[{times[0]:g}, {times[-1]:g}] s" if times.size else "no samples"
        raise NeuroformerError(
            f"{what} timeline ({span}) does not cover the interval [{t0:g}, {t1:g}) s of the "
            "spikes; pass a series recorded over the same interval or restrict the interval")


def _window_means(times: np.ndarray, values: np.ndarray, starts: np.ndarray,
                  length: float) -> np.ndarray:
    """Mean of the samples in each [start, start + length); linear interpolation at the
    window centre where a window holds no sample."""
    lo = np.searchsorted(times, starts, side="left")
    hi = np.searchsorted(times, starts + length, side="left")
    csum = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    n = (hi - lo).astype(np.float64)
    out = (csum[hi] - csum[lo]) / np.maximum(n, 1)[:, None]
    empty = n == 0
    if empty.any():
        centre = starts[empty] + length / 2
        out[empty] = np.stack([np.interp(centre, times, values[:, j])
                               for j in range(values.shape[1])], axis=1)
    return out.astype(np.float32)


def _held_samples(times: np.ndarray, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Zero-order hold: the last sample at or before each time point (first sample before
    the series starts)."""
    idx = np.clip(np.searchsorted(times, points, side="right") - 1, 0, times.size - 1)
    return values[idx]


def _past_bin_means(times: np.ndarray, values: np.ndarray, starts: np.ndarray,
                    past: float, n_steps: int, t0: float) -> tuple[np.ndarray, np.ndarray]:
    """Means of the samples in ``n_steps`` equal bins of ``[start - past, start)`` that lie
    at or after ``t0``: (values (n, n_steps, C), mask (n, n_steps)).

    Only samples strictly before ``start`` are used (the current window's own values never
    enter), and none before ``t0`` (the interval's edge, as for the past spikes).  A bin
    without a sample holds the last sample before its end (zero-order hold, still causal)
    when that sample is inside the interval; otherwise it is masked out.
    """
    width = past / n_steps
    lo_t = starts[:, None] - past + np.arange(n_steps)[None, :] * width  # (n, S)
    hi_t = lo_t + width
    lo_t = np.maximum(lo_t, t0)
    lo = np.searchsorted(times, lo_t.ravel(), side="left")
    hi = np.searchsorted(times, hi_t.ravel(), side="left")  # samples < bin end
    csum = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    n = (hi - lo).astype(np.float64)
    out = (csum[hi] - csum[lo]) / np.maximum(n, 1)[:, None]
    held = hi - 1  # the last sample before the bin end
    ok = n > 0
    fill = ~ok & (held >= 0)
    fill[fill] = times[held[fill]] >= t0
    out[fill] = values[held[fill]]
    ok |= fill
    out[~ok] = 0.0
    shape = starts.shape + (n_steps,)
    return out.reshape(shape + (values.shape[1],)).astype(np.float32), ok.reshape(shape)


@verbose
def make_windows(spikes: SpikeTrains, tokenizer: SpikeTokenizer, *,
                 interval: tuple[float, float] | None = None,
                 behaviour: Any = None, stimulus: Any = None, stimulus_steps: int = 4,
                 behaviour_input: Any = None, behaviour_steps: int = 4,
                 block_size: int = 64, max_past: int = 128,
                 verbose: bool | str | None = None) -> TokenWindows:
    """Token windows of one interval, with aligned behaviour targets and stimulus inputs.

    Parameters
    ----------
    spikes : neurodata.SpikeTrains
        Spikes or calcium events (:func:`calcium_event_trains`); every unit that fires in
        the interval must be in the tokenizer's vocabulary.
    tokenizer : SpikeTokenizer
        A fitted tokenizer (window, past window, dt and the vocabulary).
    interval : (float, float) or None
        ``[t0, t1)`` in seconds; default the whole spike block.  Spikes outside it are
        dropped before tokenizing, so past contexts stay inside the interval; only
        windows that end inside it are kept.
    behaviour : TimeSeries or (times, values) or None
        Behaviour over the interval; each window gets the mean of its samples (the
        decoding target), shape (n_behaviour,).
    stimulus : TimeSeries or (times, values) or None
        Stimulus features ``(T, D)`` or frames ``(T, H, W)`` with their times; each window
        gets ``stimulus_steps`` samples evenly spaced over its past + current span
        (zero-order hold).
    stimulus_steps : int, default=4
        Stimulus samples per window.
    behaviour_input : TimeSeries or (times, values) or None
        A behaviour time series the model reads as a cross-attention input: the means of
        its samples in ``behaviour_steps`` equal bins of the **past** window, shape
        (behaviour_steps, n_channels) per window.  Only samples strictly before the current
        window and inside the interval are used, so it never holds the current window's
        own values (the ``behaviour`` target); bins without a sample are masked.  It may be
        the same series as ``behaviour``: decoding then uses past behaviour + spikes.
    behaviour_steps : int, default=4
        Bins of the past window for ``behaviour_input``.
    block_size : int, default=64
        Model context: the most input tokens per chunk.
    max_past : int, default=128
        The most past tokens per chunk (the latest are kept).
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    windows : TokenWindows

    Raises
    ------
    NeuroformerError
        Units outside the vocabulary, no spike in the interval, or a behaviour/stimulus
        timeline that does not match the interval.

    Examples
    --------
    >>> import neurodata as nd
    >>> from decoders.tokenizers import SpikeTokenizer
    >>> st = nd.SpikeTrains.from_unit_times({"a": [0.012, 0.031], "b": [0.145]},
    ...                                        t_start=0.0, t_stop=0.2)
    >>> tok = SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(st)
    >>> w = make_windows(st, tok)
    >>> len(w), w.ids[0].tolist()
    (4, [1, 4, 4, 2])
    """
    if not isinstance(spikes, SpikeTrains):
        raise NeuroformerError(f"make_windows expects a neurodata.SpikeTrains; got "
                               f"{type(spikes).__name__}")
    if not hasattr(tokenizer, "units_"):
        raise NeuroformerError("the tokenizer is not fitted; call SpikeTokenizer.fit first")
    if behaviour_input is not None and (int(behaviour_steps) < 1 or
                                        not tokenizer.past_window):
        raise NeuroformerError(
            f"a behaviour input needs behaviour_steps >= 1 and a past window > 0; got "
            f"behaviour_steps={behaviour_steps}, past_window={tokenizer.past_window}")
    if int(block_size) < 2 or int(max_past) < 1:
        raise NeuroformerError(f"block_size must be >= 2 and max_past >= 1; got "
                               f"{block_size}, {max_past}")
    t0, t1 = (spikes.t_start, spikes.t_stop) if interval is None else map(float, interval)
    if not (t1 > t0):
        raise NeuroformerError(f"interval must have t0 < t1; got [{t0}, {t1})")
    lo, hi = max(t0, spikes.t_start), min(t1, spikes.t_stop)
    if hi <= lo:
        raise NeuroformerError(f"the interval [{t0:g}, {t1:g}) s lies outside the spike block "
                               f"{spikes.name!r} ([{spikes.t_start:g}, {spikes.t_stop:g}] s)")
    part = spikes.restrict(lo, hi)
    if part.n_spikes == 0:
        raise NeuroformerError(
            f"no spikes or events of block {spikes.name!r} in [{t0:g}, {t1:g}) s; choose an "
            "interval with activity (or lower the calcium event threshold)")
    vocab = set(map(str, tokenizer.units_["name"]))
    fired = np.unique(part.unit_index)
    unknown = [str(part.units["name"].iloc[i]) for i in fired
               if str(part.units["name"].iloc[i]) not in vocab]
    if unknown:
        raise NeuroformerError(
            f"{len(unknown)} neuron ID(s) are outside the trained vocabulary of "
            f"{len(vocab)} units, e.g. {unknown[:5]}; use the tokenizer/model trained on "
            "these units or build a shared vocabulary (vocabulary_tokenizer)")
    # silent units outside the vocabulary do no harm: drop them from the table
    keep_units = np.array([str(n) in vocab for n in part.units["name"]])
    if not keep_units.all():
        remap = np.cumsum(keep_units) - 1
        part = SpikeTrains(part.times, remap[part.unit_index].astype(np.int32),
                           part.units[keep_units], t_start=part.t_start, t_stop=part.t_stop,
                           name=part.name)
    part = SpikeTrains(part.times, part.unit_index, part.units, t_start=t0, t_stop=t1,
                       name=part.name) if (t0 <= part.t_start and part.t_stop <= t1) else part
    seq = tokenizer.encode(part, origin=t0)
    n_win_ticks = int(round(tokenizer.window / tokenizer.dt))
    win_end = seq.window_start + n_win_ticks * tokenizer.dt
    valid = np.flatnonzero(win_end <= t1 + 1e-9)
    ids, dts, pids, pdts, wstart, windex, chunk = [], [], [], [], [], [], []
    for w in valid:
        full_id, full_dt = seq.ids[w], seq.dts[w]
        p_id, p_dt = seq.past_ids[w][-max_past:], seq.past_dts[w][-max_past:]
        n = len(full_id)
        for c, s in enumerate(range(0, n - 1, block_size)):
            e = min(s + block_size + 1, n)
            ids.append(full_id[s:e])
            dts.append(full_dt[s:e])
            pids.append(p_id)
            pdts.append(p_dt)
            wstart.append(seq.window_start[w])
            windex.append(w)
            chunk.append(c)
    wstart = np.asarray(wstart, np.float64)
    beh = stim = None
    if behaviour is not None:
        bt, bv = _table_series(behaviour, "behaviour", "n_behaviour", t0, t1,
                               tokenizer.window)
        beh = _window_means(bt, bv, wstart, tokenizer.window)
    if stimulus is not None:
        st_t, st_v = _series(stimulus, "stimulus")
        _check_covers(st_t, t0, t1, "stimulus", tokenizer.window)
        span = tokenizer.window + (tokenizer.past_window or 0.0)
        offs = (np.arange(stimulus_steps) + 0.5) * span / stimulus_steps - (
            tokenizer.past_window or 0.0)
        points = wstart[:, None] + offs[None, :]
        stim = _held_samples(st_t, st_v, points.ravel()).reshape(
            points.shape + st_v.shape[1:]).astype(np.float32)
    beh_in = beh_in_mask = None
    if behaviour_input is not None:
        bt, bv = _table_series(behaviour_input, "behaviour input", "n_channels", t0, t1,
                               tokenizer.window)
        beh_in, beh_in_mask = _past_bin_means(bt, bv, wstart, float(tokenizer.past_window),
                                              int(behaviour_steps), t0)
    out = TokenWindows(ids, dts, pids, pdts, wstart, np.asarray(windex, np.int64),
                       np.asarray(chunk, np.int64), beh, stim,
                       [str(n) for n in tokenizer.units_["name"]], float(tokenizer.window),
                       float(tokenizer.past_window or 0.0), float(tokenizer.dt), (t0, t1),
                       behaviour_input=beh_in, behaviour_input_mask=beh_in_mask)
    logger.info("make_windows: %d windows, %d chunks, %d tokens in [%g, %g) s",
                len(valid), len(out), out.n_tokens, t0, t1)
    return out


def collate_windows(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pad chunks (``TokenWindows[i]``) into model inputs and targets.

    Returns
    -------
    dict
        ``x_id``, ``x_dt``, ``y_id``, ``y_dt`` : LongTensor (B, L) (inputs and next-token
        targets); ``mask`` (B, L) True on real targets; ``past_id``, ``past_dt``,
        ``past_mask`` (B, P); optional ``behaviour`` (B, n_behaviour), ``stimulus`` and
        ``behaviour_input`` (B, n_steps, n_channels) float tensors, with
        ``behaviour_input_mask`` (B, n_steps).
    """
    import torch

    b = collate_spike_tokens(batch)
    out = {"x_id": b["id"][:, :-1], "x_dt": b["dt"][:, :-1], "y_id": b["id"][:, 1:],
           "y_dt": b["dt"][:, 1:], "mask": b["mask"][:, 1:], "past_id": b["past_id"],
           "past_dt": b["past_dt"], "past_mask": b["past_mask"]}
    if out["x_id"].shape[1] == 0:
        raise NeuroformerError("every chunk needs at least two tokens (SOS and EOS)")
    for key in ("behaviour", "stimulus", "behaviour_input"):
        if key in batch[0]:
            out[key] = torch.as_tensor(np.stack([np.asarray(x[key]) for x in batch]),
                                       dtype=torch.float32)
    if "behaviour_input_mask" in batch[0]:
        out["behaviour_input_mask"] = torch.as_tensor(
            np.stack([np.asarray(x["behaviour_input_mask"]) for x in batch]), dtype=torch.bool)
    return out
