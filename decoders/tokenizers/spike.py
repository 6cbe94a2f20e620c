"""Spike tokens in the Neuroformer scheme: (neuron-ID, time-offset) pairs per window.

Each spike inside a short *current* window becomes two tokens that share one position:
the identity of the neuron that fired and the offset of the spike from the window start,
counted in bins of ``dt`` seconds.  The spikes of the preceding *past-state* window are
tokenized the same way (offsets from the past window's start) and serve as context.
This is the tokenization of Neuroformer (Joshi et al. 2023, "Neuroformer: Multimodal
and Multitask Generative Pretraining for Brain Data", ICLR 2024); the code is our own.

Every spike time is first mapped to an integer tick ``k = floor((t - origin) / dt)``
on one global grid, so windows line up exactly with ticks and decoding returns the bin
centre ``origin + (k + 0.5) * dt``: ``encode(decode(tokens))`` reproduces the tokens
exactly and ``decode(encode(spikes))`` moves each spike by at most ``dt / 2``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from neurodata.atomic import atomic_path
from neurodata.errors import FormatError, MissingFileError, ValidationError
from neurodata.log import deprecated_fit_verbose, logger, verbose, verbose_method
from neurodata.spikes import SpikeTrains

__all__ = [
    "PAD",
    "SOS",
    "EOS",
    "UNK",
    "SPECIAL_TOKENS",
    "SpikeTokenizer",
    "SpikeTokens",
    "collate_spike_tokens",
    "calcium_events",
]

#: Token ids shared by the neuron-ID and the time-offset vocabularies.
PAD, SOS, EOS, UNK = 0, 1, 2, 3
SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<sos>", "<eos>", "<unk>")
_N_SPECIAL = len(SPECIAL_TOKENS)
_FILE_FORMAT = "neuroloom.spike_tokenizer"
_FILE_VERSION = 1
# Slack, in ticks, for float noise when a time sits exactly on a bin edge (t = k*dt
# computed in floating point may land a hair below k).
_TICK_EPS = 1e-6


def _ticks(times: np.ndarray, origin: float, dt: float) -> np.ndarray:
    return np.floor((times - origin) / dt + _TICK_EPS).astype(np.int64)


def _check_multiple(name: str, value: float, dt: float) -> int:
    n = value / dt
    if not math.isfinite(n) or n < 1 - 1e-9 or abs(n - round(n)) > 1e-6:
        raise ValidationError(
            f"{name}={value!r} s must be a positive whole multiple of dt={dt!r} s "
            f"(found {n:.6g} bins); choose {name} = k * dt"
        )
    return int(round(n))


@dataclass
class SpikeTokens:
    """Token sequences of consecutive windows, as made by :meth:`SpikeTokenizer.encode`.

    Attributes
    ----------
    ids, dts : list of int64 arrays, one per window
        Neuron-ID and time-offset tokens of the current window, framed by ``SOS`` and
        ``EOS`` (so each holds ``n_spikes + 2`` tokens).
    past_ids, past_dts : list of int64 arrays
        Tokens of the past-state window before each current window (no framing
        tokens; offsets count from the past window's start).
    window_tick : int64 array, shape (n_windows,)
        Start of each current window in ticks of ``dt`` from ``origin``.
    origin, dt : float
        Grid origin (s) and time resolution (s); ``window_start = origin + tick * dt``.
    t_start, t_stop : float
        Interval of the source spike trains (s), restored by decoding.
    name : str
        Name of the source spike block.
    """

    ids: list[np.ndarray]
    dts: list[np.ndarray]
    past_ids: list[np.ndarray]
    past_dts: list[np.ndarray]
    window_tick: np.ndarray
    origin: float
    dt: float
    t_start: float
    t_stop: float
    name: str = "units"
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def window_start(self) -> np.ndarray:
        """Start of each current window in seconds, shape (n_windows,)."""
        return self.origin + self.window_tick * self.dt

    def __getitem__(self, i: int) -> dict[str, Any]:
        """One window as a dict of int64 arrays, the input of :func:`collate_spike_tokens`."""
        return {"id": self.ids[i], "dt": self.dts[i], "past_id": self.past_ids[i],
                "past_dt": self.past_dts[i], "window_start": float(self.window_start[i])}


class SpikeTokenizer(BaseEstimator):
    """Tokenize spike trains into Neuroformer (neuron-ID, time-offset) sequences.

    Parameters
    ----------
    window : float, default=0.05
        Length of the current window in seconds (a whole multiple of ``dt``).
    past_window : float, default=0.15
        Length of the past-state window before each current window in seconds
        (a whole multiple of ``dt``; 0 disables it).
    dt : float, default=0.01
        Time resolution in seconds: offsets are counted in bins of ``dt``.
    step : float or None, default=None
        Distance between consecutive current windows in seconds; ``None`` means
        ``window`` (non-overlapping windows that tile the recording, needed for an
        exact :meth:`decode`).
    handle_unknown : {"error", "unk"}, default="error"
        What :meth:`encode` does with spikes of units absent from the vocabulary:
        raise, or map them to the ``<unk>`` token (decoding then drops them).
    verbose : bool or str or int or None, default=None
        Log level of :meth:`fit` (``True`` shows INFO messages) and the default of
        :meth:`encode`'s per-call ``verbose`` (:mod:`neurodata.log`).

    Attributes
    ----------
    units_ : pandas.DataFrame
        The vocabulary: one row per unit (columns ``name``, ``label``); unit ``i`` has
        token id ``i + 4`` (ids 0-3 are ``<pad> <sos> <eos> <unk>``).
    id_vocab_size_ : int
        Number of neuron-ID tokens, specials included.
    dt_vocab_size_ : int
        Number of time-offset tokens, specials included (offset ``b`` is token ``b + 4``).

    Examples
    --------
    >>> import neurodata as nd
    >>> st = nd.SpikeTrains.from_unit_times({"a": [0.012, 0.031], "b": [0.045]},
    ...                                        t_start=0.0, t_stop=0.1)
    >>> tok = SpikeTokenizer(window=0.05, past_window=0.05, dt=0.01).fit(st)
    >>> seq = tok.encode(st)
    >>> seq.ids[0].tolist(), seq.dts[0].tolist()
    ([1, 4, 4, 5, 2], [1, 5, 7, 8, 2])
    >>> tok.decode(seq).times.round(3).tolist()
    [0.015, 0.035, 0.045]
    """

    def __init__(self, window: float = 0.05, *, past_window: float = 0.15, dt: float = 0.01,
                 step: float | None = None, handle_unknown: str = "error",
                 verbose: bool | str | int | None = None):
        self.window = window
        self.past_window = past_window
        self.dt = dt
        self.step = step
        self.handle_unknown = handle_unknown
        self.verbose = verbose

    # -- parameters ------------------------------------------------------------------
    def _grid(self) -> tuple[int, int, int]:
        if not (isinstance(self.dt, (int, float)) and self.dt > 0 and math.isfinite(self.dt)):
            raise ValidationError(f"dt must be a positive number of seconds; got {self.dt!r}")
        n_win = _check_multiple("window", self.window, self.dt)
        n_past = 0 if not self.past_window else _check_multiple(
            "past_window", self.past_window, self.dt)
        n_step = n_win if self.step is None else _check_multiple("step", self.step, self.dt)
        if self.handle_unknown not in ("error", "unk"):
            raise ValidationError(
                f"handle_unknown must be 'error' or 'unk'; got {self.handle_unknown!r}")
        return n_win, n_past, n_step

    def _check_fitted(self) -> None:
        if not hasattr(self, "units_"):
            raise ValidationError("this SpikeTokenizer is not fitted yet; call fit(spikes) "
                                  "or SpikeTokenizer.load(path) first")

    # -- fit ---------------------------------------------------------------------------
    @deprecated_fit_verbose
    def fit(self, spikes: SpikeTrains | Sequence[SpikeTrains], y: Any = None, *,
            verbose: bool | str | None = None) -> SpikeTokenizer:
        """Build the neuron vocabulary from the units of one or more spike blocks.

        Parameters
        ----------
        spikes : SpikeTrains or sequence of SpikeTrains
            Units are taken in order of first appearance; names must be unique per block.
        verbose : bool or str or None
            Deprecated: pass ``verbose`` to the constructor.  When given it still applies
            to this call, with a ``FutureWarning``.

        Returns
        -------
        self : SpikeTokenizer
        """
        n_win, n_past, _ = self._grid()
        blocks = [spikes] if isinstance(spikes, SpikeTrains) else list(spikes)
        if not blocks or not all(isinstance(b, SpikeTrains) for b in blocks):
            raise ValidationError(
                "fit expects a neurodata.SpikeTrains or a non-empty list of them; got "
                f"{type(spikes).__name__}; build one with nd.SpikeTrains.from_unit_times")
        names: dict[str, str] = {}
        for b in blocks:
            for n, lab in zip(b.units["name"], b.units["label"], strict=True):
                names.setdefault(str(n), str(lab))
        self.units_ = pd.DataFrame({"name": list(names), "label": list(names.values())})
        self.id_vocab_size_ = _N_SPECIAL + len(names)
        self.dt_vocab_size_ = _N_SPECIAL + max(n_win, n_past)
        self._index = {n: i for i, n in enumerate(names)}
        logger.info("SpikeTokenizer: %d units, %d offset bins", len(names), max(n_win, n_past))
        return self

    # -- encode ------------------------------------------------------------------------
    @verbose_method
    def encode(self, spikes: SpikeTrains, *, origin: float | None = None,
               verbose: bool | str | None = None) -> SpikeTokens:
        """Turn spike trains into per-window token sequences.

        Parameters
        ----------
        spikes : SpikeTrains
            Spike times in seconds.
        origin : float or None
            Start of the tick grid and of the first window in seconds; default
            ``spikes.t_start``.
        verbose : bool or str or None
            Log level for this call (``True`` shows INFO messages); ``None`` uses the
            constructor's ``verbose``.

        Returns
        -------
        tokens : SpikeTokens
            Windows ``[origin + i*step, origin + i*step + window)`` covering
            ``[origin, t_stop]``.
        """
        self._check_fitted()
        n_win, n_past, n_step = self._grid()
        if not isinstance(spikes, SpikeTrains):
            raise ValidationError(f"encode expects a neurodata.SpikeTrains; got "
                                  f"{type(spikes).__name__}")
        origin = float(spikes.t_start if origin is None else origin)
        if spikes.n_spikes and spikes.times[0] < origin:
            raise ValidationError(
                f"origin={origin:g} s lies after the first spike at {spikes.times[0]:g} s; "
                "pass an origin at or before the first spike")
        # unit row of the block -> token id of the vocabulary
        lut = np.empty(spikes.n_units, dtype=np.int64)
        unknown = []
        for row, name in enumerate(spikes.units["name"]):
            i = self._index.get(str(name))
            if i is None:
                unknown.append(str(name))
                lut[row] = UNK
            else:
                lut[row] = i + _N_SPECIAL
        if unknown and self.handle_unknown == "error":
            raise ValidationError(
                f"{len(unknown)} unit(s) are not in the tokenizer vocabulary, e.g. "
                f"{unknown[:5]}; fit the tokenizer on these units or pass handle_unknown='unk'")
        ticks = _ticks(spikes.times, origin, self.dt)
        ids = lut[spikes.unit_index] if spikes.n_spikes else np.zeros(0, np.int64)
        # order inside a tick: by neuron token, so the sequence is canonical
        order = np.lexsort((ids, ticks))
        ticks, ids = ticks[order], ids[order]
        last = _ticks(np.array([spikes.t_stop]), origin, self.dt)[0]
        n_windows = int(last // n_step) + 1
        starts = np.arange(n_windows, dtype=np.int64) * n_step
        lo = np.searchsorted(ticks, starts, side="left")
        hi = np.searchsorted(ticks, starts + n_win, side="left")
        plo = np.searchsorted(ticks, starts - n_past, side="left")
        sos, eos = np.array([SOS]), np.array([EOS])
        out = SpikeTokens([], [], [], [], starts, origin, float(self.dt),
                          float(spikes.t_start), float(spikes.t_stop), spikes.name)
        for w in range(n_windows):
            a, b, p = lo[w], hi[w], plo[w]
            out.ids.append(np.concatenate([sos, ids[a:b], eos]))
            out.dts.append(np.concatenate([sos, ticks[a:b] - starts[w] + _N_SPECIAL, eos]))
            out.past_ids.append(ids[p:a].copy())
            out.past_dts.append(ticks[p:a] - (starts[w] - n_past) + _N_SPECIAL)
        return out

    # -- decode ------------------------------------------------------------------------
    def decode(self, tokens: SpikeTokens) -> SpikeTrains:
        """Spike trains back from token sequences (bin centres, current windows only).

        Parameters
        ----------
        tokens : SpikeTokens
            Output of :meth:`encode` (or generated sequences in the same layout).
            Overlapping windows (``step < window``) are decoded once per tick: a spike
            seen by two windows is kept from the earlier one.

        Returns
        -------
        spikes : SpikeTrains
            Times ``origin + (tick + 0.5) * dt`` in seconds; units are the vocabulary
            in order (``<unk>`` spikes are dropped).
        """
        self._check_fitted()
        n_win, _, _ = self._grid()
        all_ticks, all_units = [], []
        covered_until = np.iinfo(np.int64).min
        for w, (ids, dts) in enumerate(zip(tokens.ids, tokens.dts, strict=True)):
            ids, dts = np.asarray(ids), np.asarray(dts)
            keep = (ids >= _N_SPECIAL) & (dts >= _N_SPECIAL)
            tk = dts[keep] - _N_SPECIAL + tokens.window_tick[w]
            u = ids[keep] - _N_SPECIAL
            sel = tk >= covered_until
            all_ticks.append(tk[sel])
            all_units.append(u[sel])
            covered_until = tokens.window_tick[w] + n_win
        tk = np.concatenate(all_ticks) if all_ticks else np.zeros(0, np.int64)
        un = np.concatenate(all_units) if all_units else np.zeros(0, np.int64)
        if un.size and un.max() >= len(self.units_):
            raise ValidationError(
                f"neuron token {un.max() + _N_SPECIAL} is outside this tokenizer's vocabulary "
                f"of {self.id_vocab_size_}; decode with the tokenizer that made the tokens")
        times = tokens.origin + (tk + 0.5) * tokens.dt
        t_stop = max(tokens.t_stop, float(times.max())) if times.size else tokens.t_stop
        t_start = min(tokens.t_start, float(times.min())) if times.size else tokens.t_start
        return SpikeTrains(times, un.astype(np.int32), self.units_.copy(), t_start=t_start,
                           t_stop=t_stop, name=tokens.name)

    # -- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write parameters and vocabulary as JSON (atomic replace).

        Parameters
        ----------
        path : path-like
            Output file, conventionally ``*.json``.
        """
        self._check_fitted()
        path = Path(path)
        params = self.get_params()
        params.pop("verbose")  # how chatty a run is, not part of the tokenizer
        doc = {"format": _FILE_FORMAT, "version": _FILE_VERSION, "params": params,
               "special_tokens": list(SPECIAL_TOKENS),
               "units": {"name": self.units_["name"].tolist(),
                         "label": self.units_["label"].tolist()}}
        with atomic_path(path, overwrite=True) as tmp:  # temp name, fsync, rename
            tmp.write_text(json.dumps(doc, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> SpikeTokenizer:
        """Read a tokenizer written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise MissingFileError("no such spike tokenizer file; write one with "
                                   "SpikeTokenizer.save or `neuroloom tokenize train`", path=path)
        try:
            doc = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise FormatError(f"expected a JSON spike tokenizer, could not parse it ({err})",
                              path=path) from None
        if not isinstance(doc, dict) or doc.get("format") != _FILE_FORMAT:
            raise FormatError(f"expected format {_FILE_FORMAT!r}, found "
                              f"{doc.get('format') if isinstance(doc, dict) else type(doc)}",
                              path=path)
        params = dict(doc["params"])
        params.pop("verbose", None)
        tok = cls(**params)
        names = [str(n) for n in doc["units"]["name"]]
        tok.units_ = pd.DataFrame({"name": names, "label": doc["units"]["label"]})
        n_win, n_past, _ = tok._grid()
        tok.id_vocab_size_ = _N_SPECIAL + len(names)
        tok.dt_vocab_size_ = _N_SPECIAL + max(n_win, n_past)
        tok._index = {n: i for i, n in enumerate(names)}
        return tok


def _pad(seqs: Sequence[np.ndarray], pad: int):
    import torch

    n = max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), max(n, 1)), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), max(n, 1)), dtype=torch.bool)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(np.asarray(s, dtype=np.int64))
        mask[i, : len(s)] = True
    return out, mask


def collate_spike_tokens(batch: Sequence[dict[str, Any]], *, pad_id: int = PAD) -> dict[str, Any]:
    """Pad a list of windows (``SpikeTokens[i]``) into torch tensors.

    Parameters
    ----------
    batch : sequence of dict
        Items of :class:`SpikeTokens` (keys ``id``, ``dt``, ``past_id``, ``past_dt``,
        ``window_start``).
    pad_id : int, default=0
        Token written into padded positions.

    Returns
    -------
    dict
        ``id``, ``dt`` : LongTensor (B, L); ``mask`` : BoolTensor (B, L), True on real
        tokens; ``past_id``, ``past_dt`` : LongTensor (B, Lp); ``past_mask`` (B, Lp);
        ``window_start`` : float64 tensor (B,) in seconds.  Empty past windows become
        one padded position with ``past_mask`` False.

    Examples
    --------
    >>> import numpy as np
    >>> b = collate_spike_tokens([{"id": np.array([1, 5, 2]), "dt": np.array([1, 4, 2]),
    ...     "past_id": np.array([], int), "past_dt": np.array([], int), "window_start": 0.0}])
    >>> tuple(b["id"].shape), b["mask"].tolist()
    ((1, 3), [[True, True, True]])
    """
    import torch

    if not batch:
        raise ValidationError("collate_spike_tokens got an empty batch; pass at least one item")
    ids, mask = _pad([b["id"] for b in batch], pad_id)
    dts, _ = _pad([b["dt"] for b in batch], pad_id)
    pids, pmask = _pad([b["past_id"] for b in batch], pad_id)
    pdts, _ = _pad([b["past_dt"] for b in batch], pad_id)
    starts = torch.tensor([float(b.get("window_start", 0.0)) for b in batch],
                          dtype=torch.float64)
    return {"id": ids, "dt": dts, "mask": mask, "past_id": pids, "past_dt": pdts,
            "past_mask": pmask, "window_start": starts}


@verbose
def calcium_events(ts: Any, *, threshold: float = 3.0, deconvolved: bool = True,
                   tau: float = 1.0, name: str = "calcium_events",
                   verbose: bool | str | None = None) -> SpikeTrains:
    """Calcium activity → event trains (one event per supra-threshold sample).

    Deconvolved activity (e.g. suite2p ``spks``) is thresholded per neuron at
    ``median + threshold * 1.4826 * MAD``; each sample above it becomes an event at
    that sample's time.  With ``deconvolved=False`` the traces are first deconvolved
    by inverting a first-order (AR(1)) calcium kernel with decay ``tau`` and keeping
    the positive part — a crude stand-in for a proper deconvolution (OASIS, suite2p).

    Parameters
    ----------
    ts : neurodata.TimeSeries
        Shape (n_times, n_neurons); each channel is one neuron / ROI.
    threshold : float, default=3.0
        Threshold in robust standard deviations above the median.
    deconvolved : bool, default=True
        Whether ``ts`` already holds deconvolved activity.
    tau : float, default=1.0
        Decay time constant in seconds (used when ``deconvolved=False``).
    name : str
        Name of the returned spike block.
    verbose : bool or str or None
        Log level for this call (``True`` shows INFO messages).

    Returns
    -------
    events : SpikeTrains
        One unit per channel (name and label from the channel table), times in seconds.

    Examples
    --------
    >>> import numpy as np, neurodata as nd
    >>> x = np.zeros((10, 1)); x[4, 0] = 5.0
    >>> ts = nd.TimeSeries(x, rate=2.0, channels=nd.make_channels(["n1"], types="neuron"),
    ...                    modality="calcium")
    >>> calcium_events(ts).times.tolist()
    [2.0]
    """
    x = np.asarray(ts[:], dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValidationError(f"calcium_events expects a (n_times >= 2, n_neurons) TimeSeries; "
                              f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValidationError("calcium traces contain NaN or inf; drop or interpolate those "
                              "frames before extracting events")
    times = np.asarray(ts.times, dtype=np.float64)
    if not deconvolved:
        rate = 1.0 / float(np.median(np.diff(times)))
        g = math.exp(-1.0 / (tau * rate))
        x = np.concatenate([x[:1], x[1:] - g * x[:-1]], axis=0).clip(min=0)
    med = np.median(x, axis=0)
    mad = 1.4826 * np.median(np.abs(x - med), axis=0)
    # a neuron silent most of the time has MAD 0; fall back to the std of its activity
    sd = np.where(mad > 0, mad, x.std(axis=0))
    level = med + threshold * np.where(sd > 0, sd, np.inf)
    rows, cols = np.nonzero(x > level)
    order = np.lexsort((cols, rows))
    names = [str(n) for n in ts.channels["name"]]
    labels = ts.channels["label"].astype(str).tolist() if "label" in ts.channels else [""] * len(
        names)
    units = pd.DataFrame({"name": names, "label": labels})
    logger.info("calcium_events: %d events from %d neurons", rows.size, len(names))
    return SpikeTrains(times[rows[order]], cols[order], units, t_start=float(times[0]),
                       t_stop=float(times[-1]), name=name)
