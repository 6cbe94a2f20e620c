"""Cut class-labelled epochs out of converted recordings: :func:`make_epochs`.

Decoding starts from the common format: a recording's ``/events`` table says when each
trial started and what it was; :func:`make_epochs` maps event labels to classes, band-pass
filters the continuous signal, optionally resamples it, cuts windows around each event,
subtracts a baseline, rejects epochs by peak-to-peak amplitude and returns the arrays with
one metadata row per epoch (subject, session, run, onset, label).  The result,
:class:`Epochs`, is what every pipeline in :mod:`decoders.pipelines_classical` consumes and
what the benchmark runner caches on disk.

Filtering runs on the continuous signal of each recording before cutting (as
``mne.io.Raw.filter`` followed by ``mne.Epochs`` does), so epochs never carry filter edge
artefacts from their own borders.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurodata.errors import MissingFileError, SliceError, ValidationError, WriteError
from neurodata.log import logger, verbose

__all__ = ["Epochs", "make_epochs", "eegmmidb_classes", "DATA_CHANNEL_TYPES"]

#: Channel types that carry brain signal; the default pick of :func:`make_epochs`.
DATA_CHANNEL_TYPES: tuple[str, ...] = ("eeg", "meg", "grad", "mag", "seeg", "ecog")

_BLOCK_PREFERENCE = ("eeg", "meg", "seeg", "ecog")

# PhysioNet EEG Motor Movement/Imagery (Schalk et al. 2004): what T1/T2 mean per run.
_EEGMMIDB_RUNS = {
    **{r: {"left_fist": "T1", "right_fist": "T2"} for r in (3, 4, 7, 8, 11, 12)},
    **{r: {"both_fists": "T1", "both_feet": "T2"} for r in (5, 6, 9, 10, 13, 14)},
}


def eegmmidb_classes(run: int) -> dict[str, str]:
    """Class mapping of an EEG Motor Movement/Imagery run (PhysioNet EEGMMIDB).

    Runs 3, 7, 11 (execution) and 4, 8, 12 (imagery) cue the left or right fist; runs
    5, 9, 13 and 6, 10, 14 cue both fists or both feet.  ``T0`` is rest in every run.

    Parameters
    ----------
    run : int
        Run number, 3-14 (runs 1 and 2 are eyes-open/closed baselines without cues).

    Returns
    -------
    dict
        ``{class_name: event_label}``.

    Examples
    --------
    >>> eegmmidb_classes(4)
    {'left_fist': 'T1', 'right_fist': 'T2'}
    """
    try:
        return dict(_EEGMMIDB_RUNS[int(run)])
    except KeyError:
        raise ValueError(
            f"run must be one of the cued EEGMMIDB runs 3-14; got {run!r} "
            "(runs 1 and 2 are baselines without T1/T2 cues)"
        ) from None


@dataclass
class Epochs:
    """Class-labelled epochs with one metadata row each.

    Attributes
    ----------
    X : ndarray of float64, shape (n_epochs, n_channels, n_times)
        Signal in the recording's SI units (V for EEG, T or T/m for MEG).
    y : ndarray of int64, shape (n_epochs,)
        Class index into :attr:`classes`.
    classes : tuple of str
        Class names, in index order.
    sfreq : float
        Sampling rate of ``X`` in Hz (after any resampling).
    tmin : float
        Time of the first sample relative to the event, in seconds.
    ch_names : list of str
        Channel names, ``n_channels`` of them.
    metadata : pandas.DataFrame
        One row per epoch: ``subject``, ``session``, ``run``, ``recording`` (source path or
        id), ``onset`` (s), ``label`` (event label) and ``class``.
    params : dict
        The epoching parameters, for provenance and the epoch cache key.
    n_rejected : int
        Epochs dropped by amplitude rejection.

    Examples
    --------
    >>> ep = Epochs(np.zeros((2, 1, 3)), np.array([0, 1]), ("a", "b"), 100.0, 0.0, ["C3"],
    ...             pd.DataFrame({"subject": ["s1"] * 2}))
    >>> ep.X.shape, len(ep)
    ((2, 1, 3), 2)
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    sfreq: float
    tmin: float
    ch_names: list[str]
    metadata: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    n_rejected: int = 0

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def times(self) -> np.ndarray:
        """Sample times relative to the event, seconds, shape (n_times,)."""
        return self.tmin + np.arange(self.X.shape[2]) / self.sfreq

    def counts(self) -> dict[str, int]:
        """Number of epochs per class name."""
        return {c: int(np.sum(self.y == i)) for i, c in enumerate(self.classes)}

    def save(self, folder: str | os.PathLike) -> Path:
        """Write to ``folder`` (``X.npy``, ``y.npy``, ``metadata.csv``, ``info.json``).

        The files are written into a temporary folder beside ``folder``, fsynced, and the
        folder is renamed into place without replacing (:mod:`neurodata.atomic`): a crash
        or an error never leaves a half-written cache, and when another worker finished
        the same cache first, theirs is kept and returned.  ``X.npy`` can be
        memory-mapped by :meth:`load`.
        """
        import shutil
        import tempfile

        from neurodata.atomic import clean_stale, rename_noreplace

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(folder)  # leftovers of killed writers of this cache
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-{os.getpid()}-",
                                    dir=folder.parent))
        try:
            np.save(tmp / "X.npy", np.ascontiguousarray(self.X))
            np.save(tmp / "y.npy", self.y)
            self.metadata.to_csv(tmp / "metadata.csv", index=False)
            info = {"classes": list(self.classes), "sfreq": self.sfreq, "tmin": self.tmin,
                    "ch_names": list(self.ch_names), "params": self.params,
                    "n_rejected": self.n_rejected}
            (tmp / "info.json").write_text(json.dumps(info, indent=1, default=str))
            for f in tmp.iterdir():  # the data reach the disk before the name does
                with open(f, "rb+") as fh:
                    os.fsync(fh.fileno())
            try:
                rename_noreplace(tmp, folder)
            except OSError as exc:
                if not (folder / "info.json").exists():
                    raise WriteError(f"exists and is not an epochs cache (no info.json; "
                                     f"{exc.strerror or exc}); remove it or choose another "
                                     "cache folder", path=folder) from exc
                # another worker finished the same cache first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, *, mmap: bool = True) -> Epochs:
        """Read epochs written by :meth:`save` (``X`` memory-mapped when ``mmap``)."""
        folder = Path(folder)
        if not (folder / "info.json").exists():
            raise MissingFileError("no cached epochs here (info.json missing); "
                                   "recompute them with make_epochs", path=folder)
        info = json.loads((folder / "info.json").read_text())
        text_cols = ("subject", "session", "run", "recording", "label", "class")
        meta = pd.read_csv(folder / "metadata.csv", dtype=dict.fromkeys(text_cols, str),
                           keep_default_na=False)
        return cls(X=np.load(folder / "X.npy", mmap_mode="r" if mmap else None,
                             allow_pickle=False),
                   y=np.load(folder / "y.npy", allow_pickle=False), classes=tuple(info["classes"]),
                   sfreq=float(info["sfreq"]), tmin=float(info["tmin"]),
                   ch_names=list(info["ch_names"]), metadata=meta, params=info["params"],
                   n_rejected=int(info["n_rejected"]))


def _open_source(src: Any) -> tuple[Any, str]:
    """Return (Recording, name) for a path or an in-memory Recording; the caller closes
    recordings it opened from a path (lazy ``.h5`` views hold the file open)."""
    import neurodata as nd

    if isinstance(src, nd.Recording):
        return src, str(src.session.get("id", "recording"))
    path = Path(src)
    if not path.exists():
        raise MissingFileError("recording not found; check the path in the dataset "
                               "definition", path=path)
    rec = nd.open(path) if path.suffix == ".h5" else nd.load(path)
    return rec, str(path)


def _class_map(classes: Mapping[str, Any] | Sequence[str]) -> dict[str, list[str]]:
    """Normalize to ``{class_name: [event labels]}``."""
    if isinstance(classes, str):
        raise ValueError(f"classes must list at least two classes; got the string {classes!r}")
    if isinstance(classes, Mapping):
        out = {str(k): ([str(v)] if isinstance(v, (str, int)) else [str(x) for x in v])
               for k, v in classes.items()}
    else:
        out = {str(c): [str(c)] for c in classes}
    if len(out) < 2:
        raise ValidationError(
            f"decoding needs at least two classes; got {list(out)}. Give classes as "
            "{name: event_label, ...} with two or more entries"
        )
    return out


def _pick_block(rec: Any, block: str | None, name: str) -> Any:
    if block is not None:
        if block not in rec.timeseries:
            raise ValidationError(
                f"no timeseries block {block!r}; this recording has {list(rec.timeseries)}",
                path=name)
        return rec.timeseries[block]
    for want in _BLOCK_PREFERENCE:
        for key, ts in rec.timeseries.items():
            if ts.modality == want or key == want:
                return ts
    raise ValidationError(
        f"no EEG/MEG/sEEG/ECoG block; found {list(rec.timeseries)}. Pass block=<name>",
        path=name)


def _normalize_source(src: Any) -> dict[str, Any]:
    if isinstance(src, Mapping):
        d = dict(src)
        if "path" not in d and "recording" not in d:
            raise ValidationError(f"a recording entry needs 'path'; got keys {sorted(d)}")
        d.setdefault("recording", d.get("path"))
        return d
    return {"recording": src}


@verbose
def make_epochs(
    sources: Any,
    classes: Mapping[str, Any] | Sequence[str],
    *,
    tmin: float,
    tmax: float,
    block: str | None = None,
    picks: Sequence[str] | None = None,
    exclude_bad: bool = True,
    l_freq: float | None = None,
    h_freq: float | None = None,
    resample: float | None = None,
    baseline: tuple[float, float] | None = None,
    reject: float | None = None,
    verbose: bool | str | None = None,
) -> Epochs:
    """Cut class-labelled epochs from one or more recordings.

    For each recording: pick the signal block and its data channels, band-pass filter the
    continuous signal (zero-phase FIR, ``mne.filter.filter_data`` with MNE's defaults, as
    ``Raw.filter`` uses), resample if asked, cut ``[tmin, tmax]`` around each event whose
    label maps to a class (both ends included, ``round((tmax - tmin) * sfreq) + 1``
    samples, as ``mne.Epochs``), subtract the baseline mean and drop epochs whose
    peak-to-peak amplitude exceeds ``reject``.  Epochs whose window runs past the
    recording are dropped and logged.

    Parameters
    ----------
    sources : path, Recording, dict, or a list of them
        Recordings (any format :func:`neurodata.load` reads, or ``.h5``).  A dict gives
        ``path`` plus optional ``subject``, ``session``, ``run`` (override the
        recording's own ids) and ``classes`` (a per-recording class mapping, e.g. for
        EEGMMIDB run types; see :func:`eegmmidb_classes`).
    classes : dict or list of str
        ``{class_name: event_label or [labels]}``, or a list of event labels used as class
        names.  At least two classes.
    tmin, tmax : float
        Window relative to each event onset, seconds (``tmax > tmin``).
    block : str or None
        Timeseries block; default the first EEG, MEG, sEEG or ECoG block.
    picks : list of str or None
        Channel types to keep; default the data types (eeg, meg, grad, mag, seeg, ecog).
    exclude_bad : bool, default=True
        Drop channels marked bad in the channel table.
    l_freq, h_freq : float or None
        Band-pass edges in Hz (either may be None for high-/low-pass only).
    resample : float or None
        New sampling rate in Hz, applied after filtering (polyphase, ``mne.filter.resample``).
    baseline : (float, float) or None
        Window relative to the event, seconds, whose per-channel mean is subtracted.
    reject : float or None
        Peak-to-peak threshold in the signal's units (e.g. ``150e-6`` V); an epoch with any
        channel above it is dropped.
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    Epochs
        ``X`` (n_epochs, n_channels, n_times) float64, ``y``, ``classes``, ``metadata``.

    Raises
    ------
    ValidationError
        No events of the requested classes, only one class present, channel sets differ
        between recordings, or bad parameters.
    SliceError
        The epoch window is longer than a recording, or no epoch fits inside it.
    MissingFileError
        A recording path does not exist.

    Examples
    --------
    >>> import neurodata as nd  # doctest: +SKIP
    >>> ep = make_epochs(nd.sample_path("eegmmidb_s001r04"),  # doctest: +SKIP
    ...                  {"left": "T1", "right": "T2"}, tmin=1.0, tmax=2.0,
    ...                  l_freq=7.0, h_freq=30.0)
    >>> ep.X.shape  # doctest: +SKIP
    (15, 64, 161)
    """
    import mne

    if not np.isfinite(tmin) or not np.isfinite(tmax) or tmax <= tmin:
        raise ValueError(f"need tmin < tmax (seconds); got tmin={tmin!r}, tmax={tmax!r}")
    if baseline is not None and (len(baseline) != 2 or baseline[1] <= baseline[0]):
        raise ValueError(f"baseline must be (start, stop) seconds with start < stop; got "
                         f"{baseline!r}")
    if isinstance(sources, (str, os.PathLike, Mapping)) or not isinstance(sources, Sequence):
        sources = [sources]
    default_map = _class_map(classes)
    class_names = tuple(default_map)
    picks = tuple(picks) if picks is not None else DATA_CHANNEL_TYPES

    xs, ys, metas = [], [], []
    ch_names: list[str] | None = None
    out_sfreq: float | None = None
    n_rejected = 0
    for raw_src in sources:
        spec = _normalize_source(raw_src)
        rec, name = _open_source(spec["recording"])
        cmap = _class_map(spec["classes"]) if spec.get("classes") else default_map
        if set(cmap) != set(class_names):
            raise ValidationError(f"per-recording classes {sorted(cmap)} differ from the "
                                  f"dataset's {sorted(class_names)}", path=name)
        label_to_class = {lab: class_names.index(c) for c, labs in cmap.items() for lab in labs}
        ts = _pick_block(rec, spec.get("block", block), name)
        if not ts.is_regular:
            raise ValidationError("epoching needs a regularly sampled block; this one has "
                                  "timestamps", path=name)
        chans = ts.channels
        keep = chans["type"].isin(picks).to_numpy().copy()
        if exclude_bad:
            keep &= ~chans["bad"].to_numpy(dtype=bool)
        if not keep.any():
            raise ValidationError(
                f"no channels of types {list(picks)} (bad ones excluded) in block; found "
                f"types {sorted(set(chans['type']))}", path=name)
        names = chans["name"][keep].tolist()
        if ch_names is None:
            ch_names = names
        elif names != ch_names:
            raise ValidationError(
                f"channels differ from the first recording's ({len(names)} vs "
                f"{len(ch_names)}); epochs of one dataset must share a montage", path=name)
        sfreq = float(ts.rate)
        duration = ts.n_times / sfreq
        if tmax - tmin > duration:
            raise SliceError(
                f"epochs of {tmax - tmin:g} s (tmin={tmin:g}, tmax={tmax:g}) are longer than "
                f"the recording ({duration:g} s); shorten the window", path=name)

        events = rec.events.to_dataframe()
        wanted = events[events["label"].astype(str).isin(label_to_class)]
        if wanted.empty:
            found = sorted(set(events["label"].astype(str))) if len(events) else []
            raise ValidationError(
                f"no events of the requested classes {dict(cmap)}; the recording's event "
                f"labels are {found or 'none (no events at all)'}. Map existing labels to "
                "classes, or add events to the recording", path=name)

        data = ts.slice_samples(0, ts.n_times)[:, keep].T.astype(np.float64)  # (C, T)
        if l_freq is not None or h_freq is not None:
            data = mne.filter.filter_data(data, sfreq, l_freq, h_freq, fir_design="firwin",
                                          verbose=False)
        if resample is not None and float(resample) != sfreq:
            data = mne.filter.resample(data, up=float(resample), down=sfreq, npad="auto",
                                       verbose=False)
            sfreq = float(resample)
        out_sfreq = sfreq if out_sfreq is None else out_sfreq
        if sfreq != out_sfreq:
            raise ValidationError(f"sampling rate {sfreq} Hz differs from the first "
                                  f"recording's {out_sfreq} Hz; pass resample=", path=name)

        t0 = float(ts.t0)
        i_min, n_times = int(round(tmin * sfreq)), int(round((tmax - tmin) * sfreq)) + 1
        n_total = data.shape[1]
        x_rec, y_rec, rows = [], [], []
        n_outside = 0
        for onset, label in zip(wanted["onset"].to_numpy(), wanted["label"].astype(str),
                                strict=True):
            ev = int(round((onset - t0) * sfreq))
            start = ev + i_min
            if start < 0 or start + n_times > n_total:
                n_outside += 1
                continue
            x = data[:, start:start + n_times]
            if baseline is not None:
                b0, b1 = ev + int(round(baseline[0] * sfreq)), ev + int(round(baseline[1] * sfreq))
                if b0 < 0 or b1 > n_total:
                    n_outside += 1
                    continue
                x = x - data[:, b0:b1 + 1].mean(axis=1, keepdims=True)
            if reject is not None and np.ptp(x, axis=1).max() > reject:
                n_rejected += 1
                continue
            x_rec.append(x)
            y_rec.append(label_to_class[label])
            rows.append({"subject": str(spec.get("subject", rec.subject.get("id", "unknown"))),
                         "session": str(spec.get("session", rec.session.get("id", "0"))),
                         "run": str(spec.get("run", rec.session.get("id", "0"))),
                         "recording": name, "onset": float(onset), "label": label,
                         "class": class_names[label_to_class[label]]})
        if n_outside:
            logger.info("%s: %d epoch(s) run past the recording's edges and were dropped",
                        name, n_outside)
        if not x_rec and n_outside == len(wanted):
            raise SliceError(
                f"none of the {len(wanted)} epochs [{tmin:g}, {tmax:g}] s around the events "
                f"fits inside the recording ({duration:g} s)", path=name)
        xs.extend(x_rec)
        ys.extend(y_rec)
        metas.extend(rows)
        if rec is not spec["recording"]:  # opened here from a path: release the file
            rec.close()

    if not xs:
        raise ValidationError(f"every epoch was rejected (reject={reject!r}); raise the "
                              "threshold or check the units (volts for EEG)")
    y = np.asarray(ys, dtype=np.int64)
    present = sorted({class_names[i] for i in set(y.tolist())})
    if len(present) < 2:
        raise ValidationError(
            f"only one class present ({present}) among the {len(y)} epochs; decoding needs "
            f"events of at least two of {list(class_names)}")
    params = {"classes": {k: v for k, v in default_map.items()}, "tmin": tmin, "tmax": tmax,
              "block": block, "picks": list(picks), "exclude_bad": exclude_bad,
              "l_freq": l_freq, "h_freq": h_freq, "resample": resample,
              "baseline": list(baseline) if baseline is not None else None, "reject": reject}
    ep = Epochs(X=np.stack(xs), y=y, classes=class_names, sfreq=float(out_sfreq),
                tmin=float(int(round(tmin * out_sfreq)) / out_sfreq), ch_names=list(ch_names),
                metadata=pd.DataFrame(metas), params=params, n_rejected=n_rejected)
    logger.info("epochs: %d x %d ch x %d samples at %g Hz; per class %s; %d rejected",
                *ep.X.shape, ep.sfreq, ep.counts(), n_rejected)
    return ep
