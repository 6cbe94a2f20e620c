"""Conversion between MNE-Python objects and neuroloom objects.

``from_mne(raw)`` splits an ``mne.io.Raw`` into one :class:`TimeSeries` per signal
family (``meg``: grad + mag, ``eeg``, ``seeg``, ``ecog``, ``aux``: EOG/ECG/EMG,
``stim``, ``misc``), keeps MNE's SI values, channel types, units, bad channels and
sensor positions, and turns annotations (and, optionally, stim-channel pulses) into
:class:`Events`.  Times are seconds from the first sample of the raw data.

``to_mne`` goes back: one block (or several blocks that share rate and start) to an
``mne.io.RawArray`` with annotations from the events.

Not kept yet: MEG coil orientations and types beyond the position (``loc[3:]``),
SSP projectors, head↔device transforms and digitisation points other than channel
positions.  MEG data therefore round-trips in value, names, types, units and
positions, but cannot be used for MEG source modelling after ``to_mne``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .channels import make_channels
from .errors import ValidationError
from .events import Events
from .log import logger, verbose
from .provenance import make_provenance
from .timeseries import TimeSeries

__all__ = ["from_mne", "timeseries_to_mne", "recording_to_mne", "MNE_TYPE_MAP"]

#: MNE channel type → (our channel type, block name).
MNE_TYPE_MAP: dict[str, tuple[str, str]] = {
    "eeg": ("eeg", "eeg"),
    "grad": ("grad", "meg"),
    "mag": ("mag", "meg"),
    "ref_meg": ("meg", "meg"),
    "seeg": ("seeg", "seeg"),
    "dbs": ("seeg", "seeg"),
    "ecog": ("ecog", "ecog"),
    "eog": ("eog", "aux"),
    "ecg": ("ecg", "aux"),
    "emg": ("emg", "aux"),
    "stim": ("stim", "stim"),
}
_BLOCK_MODALITY = {"eeg": "eeg", "meg": "meg", "seeg": "seeg", "ecog": "ecog", "aux": "aux",
                   "stim": "stim", "misc": "misc"}
_TO_MNE_TYPE = {"eeg": "eeg", "grad": "grad", "mag": "mag", "meg": "mag", "seeg": "seeg",
                "ecog": "ecog", "eog": "eog", "ecg": "ecg", "emg": "emg", "stim": "stim"}
_FIFF_UNITS = {107: "V", 112: "T", 201: "T/m", 202: "A*m", 114: "degC", 6: "mol",
               -1: "a.u.", 0: "a.u."}
_UNIT_TO_FIFF = {"V": 107, "T": 112, "T/m": 201}
# Units that vendor readers keep unscaled or scale to SI for non-electrode channels
# (MNE's ``raw._orig_units``): how they read after MNE's scaling.
_ORIG_UNITS_SI = {"µS": "S", "uS": "S", "S": "S", "C": "degC", "°C": "degC", "N": "N",
                  "n/a": "a.u.", "ARU": "a.u.", "": "a.u."}
_VOLTAGE_UNITS = {"V", "mV", "µV", "uV", "nV"}


def _unit_for(ch: dict, orig_unit: str | None) -> str:
    """Unit of a channel after MNE's reading, spelled as SI where there is one."""
    fiff = _FIFF_UNITS.get(int(ch["unit"]), "a.u.")
    if orig_unit is None or orig_unit in _VOLTAGE_UNITS or fiff in ("T", "T/m"):
        return fiff
    return _ORIG_UNITS_SI.get(orig_unit, orig_unit)
_FRAMES = {0: "unknown", 1: "meg", 2: "isotrak", 3: "hpi", 4: "head", 5: "mri",
           2001: "mri_voxel", 2002: "ras", 2003: "mni_tal", 2006: "fs_tal",
           1001: "ctf_meg", 1004: "ctf_head"}
_FRAME_CODES = {v: k for k, v in _FRAMES.items()}


class MNERawArray:
    """Lazy ``(n_times, n_channels)`` view of some channels of an ``mne.io.Raw``.

    Row slices call ``raw.get_data(picks, start, stop)``; nothing is read up front.
    """

    def __init__(self, raw: Any, picks: list[int]):
        self._raw = raw
        self._picks = list(picks)
        self.shape = (int(raw.n_times), len(self._picks))
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: Any) -> np.ndarray:
        rows = key[0] if isinstance(key, tuple) else key
        if not isinstance(rows, slice):
            raise TypeError("MNERawArray supports row slices only")
        start, stop, step = rows.indices(self.shape[0])
        data = self._raw.get_data(picks=self._picks, start=start, stop=stop, verbose=False)
        out = np.ascontiguousarray(data.T[::step], dtype=np.float32)
        if isinstance(key, tuple) and len(key) > 1:
            out = out[:, key[1]]
        return out


def _channel_position(ch: dict) -> tuple[np.ndarray, str]:
    loc = np.asarray(ch["loc"][:3], dtype=np.float64)
    if not np.all(np.isfinite(loc)) or not np.any(loc):
        return np.full(3, np.nan), "unknown"
    return loc, _FRAMES.get(int(ch["coord_frame"]), f"fiff_{int(ch['coord_frame'])}")


def _events_from_raw(raw: Any, events_from_stim: bool) -> Events:
    rows: list[dict[str, Any]] = []
    ann = raw.annotations
    if len(ann):
        # With orig_time set, onsets count from meas_date; the data start is first_time.
        offset = raw.first_time if ann.orig_time is not None else 0.0
        labels = [str(d) for d in ann.description]
        codes = {lab: i + 1 for i, lab in enumerate(sorted(set(labels)))}
        for onset, dur, lab in zip(ann.onset, ann.duration, labels, strict=True):
            rows.append({"onset": float(onset) - offset, "duration": float(dur), "label": lab,
                         "value": codes[lab], "source": "annotation"})
    if events_from_stim and "stim" in raw.get_channel_types():
        import mne

        found = mne.find_events(raw, shortest_event=1, verbose=False)
        for sample, _, code in found:
            rows.append({"onset": (int(sample) - raw.first_samp) / raw.info["sfreq"],
                         "duration": 0.0, "label": str(int(code)), "value": int(code),
                         "source": "stim"})
    if not rows:
        return Events()
    return Events.from_dataframe(pd.DataFrame(rows))


@verbose
def from_mne(
    raw: Any,
    *,
    subject: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    channel_types: dict[str, str] | None = None,
    events_from_stim: bool = True,
    provenance: dict[str, Any] | None = None,
    verbose: bool | str | None = None,
):
    """Convert an ``mne.io.Raw`` into a :class:`~neurodata.Recording` (lazily).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Loaded or not; data is pulled from it only when the recording is sliced or
        saved.
    subject, session : dict or None
        Metadata overriding what MNE's ``info`` provides.
    channel_types : dict of str to str or None
        Channel name → our channel type (e.g. ``{"LA1": "seeg"}``) for files that
        label contacts wrongly.  Applied before splitting into blocks.
    events_from_stim : bool, default=True
        Also turn pulses on stim channels into events (``mne.find_events``).
    provenance : dict or None
        Stored as the recording's provenance (loaders pass source hashes here).
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    Recording

    Examples
    --------
    >>> import mne, numpy as np
    >>> from neurodata.mne_bridge import from_mne
    >>> info = mne.create_info(["Cz", "EOG"], 100.0, ["eeg", "eog"])
    >>> rec = from_mne(mne.io.RawArray(np.zeros((2, 200)), info, verbose=False))
    >>> sorted(rec.timeseries)
    ['aux', 'eeg']
    """
    from .recording import Recording

    info = raw.info
    mne_types = raw.get_channel_types()
    overrides = dict(channel_types or {})
    unknown = sorted(set(overrides) - set(raw.ch_names))
    if unknown:
        raise ValidationError(f"channel_types names channels not in the data: {unknown[:10]}")
    blocks: dict[str, list[int]] = {}
    our_types: dict[int, str] = {}
    for i, (name, mtype) in enumerate(zip(raw.ch_names, mne_types, strict=True)):
        if name in overrides:
            ours = overrides[name]
            block = {"grad": "meg", "mag": "meg", "meg": "meg", "eog": "aux", "ecg": "aux",
                     "emg": "aux"}.get(ours, ours if ours in _BLOCK_MODALITY else "misc")
        else:
            ours, block = MNE_TYPE_MAP.get(mtype, ("misc", "misc"))
        our_types[i] = ours
        blocks.setdefault(block, []).append(i)
    bads = set(info["bads"])
    orig_units = getattr(raw, "_orig_units", None) or {}
    timeseries = []
    for block, picks in blocks.items():
        positions, frames, units = [], [], []
        for i in picks:
            ch = info["chs"][i]
            pos, frame = _channel_position(ch)
            positions.append(pos)
            frames.append(frame)
            units.append(_unit_for(ch, orig_units.get(raw.ch_names[i])))
        names = [raw.ch_names[i] for i in picks]
        table = make_channels(
            names,
            types=[our_types[i] for i in picks],
            units=units,
            positions=np.array(positions),
            coord_frame=frames,
            bad=[n in bads for n in names],
        )
        timeseries.append(TimeSeries(
            MNERawArray(raw, picks), rate=float(info["sfreq"]), t0=0.0, channels=table,
            modality=_BLOCK_MODALITY[block], name=block,
            attrs={"mne_first_samp": int(raw.first_samp),
                   "highpass_hz": float(info["highpass"]), "lowpass_hz": float(info["lowpass"])},
        ))
    subj: dict[str, Any] = {}
    si = info.get("subject_info") or {}
    his = si.get("his_id")
    if his and str(his).strip() not in ("X", ""):
        subj["id"] = str(his)
    if si.get("sex") in (1, 2):
        subj["sex"] = {1: "male", 2: "female"}[si["sex"]]
    subj.update(subject or {})
    sess: dict[str, Any] = {}
    if raw.filenames and raw.filenames[0] is not None:
        sess["id"] = Path(str(raw.filenames[0])).name.split(".")[0]
    if info["meas_date"] is not None:
        sess["start_time"] = info["meas_date"].isoformat()
    if info.get("description"):
        sess["description"] = str(info["description"])
    sess.update(session or {})
    events = _events_from_raw(raw, events_from_stim)
    logger.info("from_mne: %d blocks, %d events", len(timeseries), len(events))
    return Recording(timeseries, events=events, subject=subj, session=sess,
                     provenance=provenance or make_provenance(loader="neurodata.from_mne",
                                                              packages=("mne",)))


def _info_for(channels: pd.DataFrame, rate: float):
    import mne

    types = [_TO_MNE_TYPE.get(t, "misc") for t in channels["type"]]
    info = mne.create_info(list(channels["name"]), sfreq=rate, ch_types=types)
    for ch, (_, row) in zip(info["chs"], channels.iterrows(), strict=True):
        xyz = np.array([row["x"], row["y"], row["z"]], dtype=np.float64)
        if np.all(np.isfinite(xyz)):
            ch["loc"][:3] = xyz
            ch["coord_frame"] = _FRAME_CODES.get(str(row["coord_frame"]), ch["coord_frame"])
        if row["unit"] in _UNIT_TO_FIFF and ch["unit"] != _UNIT_TO_FIFF[row["unit"]]:
            logger.info("channel %s: unit %s kept as MNE default", row["name"], row["unit"])
    with info._unlock():
        info["bads"] = [str(n) for n in channels.loc[channels["bad"], "name"]]
    return info


def _annotations_for(events: Events | None, t0: float, t_end: float):
    import mne

    if events is None or not len(events):
        return None
    ev = events.restrict(t0, t_end)
    return mne.Annotations(onset=ev.onset - t0, duration=ev.duration,
                           description=[str(x) for x in ev.label], orig_time=None)


def _build_raw(data: np.ndarray, channels: pd.DataFrame, rate: float, events: Events | None,
               t0: float, t_end: float, session_start: str | None):
    import mne

    info = _info_for(channels, rate)
    if session_start:
        try:
            import datetime as _dt

            with info._unlock():
                info["meas_date"] = _dt.datetime.fromisoformat(session_start)
        except (ValueError, TypeError):
            logger.info("session start_time %r is not ISO 8601; meas_date left unset",
                        session_start)
    raw = mne.io.RawArray(data.T.astype(np.float64), info, verbose=False)
    ann = _annotations_for(events, t0, t_end)
    if ann is not None:
        raw.set_annotations(ann)
    return raw


@verbose
def timeseries_to_mne(ts: TimeSeries, *, events: Events | None = None,
                      session_start: str | None = None, verbose: bool | str | None = None):
    """Convert one regular :class:`TimeSeries` to ``mne.io.RawArray``.

    Channel types map back to MNE's (``bold_roi``, ``voxel``, ``neuron`` and
    ``behavior`` become ``misc``); positions and bad channels are kept; events within
    the series become annotations with onsets relative to its first sample.
    """
    if not ts.is_regular:
        raise ValidationError(f"time series {ts.name!r} is irregularly sampled; MNE needs a "
                              "fixed rate (resample it first)")
    return _build_raw(ts._read(0, ts.n_times, slice(None)), ts.channels, ts.rate, events,
                      ts.t0, ts.t_end, session_start)


@verbose
def recording_to_mne(rec: Any, *, names: Any = None, verbose: bool | str | None = None):
    """Merge blocks of a recording that share rate, start and length into one Raw."""
    names = list(names) if names is not None else list(rec.timeseries)
    if not names:
        raise ValidationError("the recording has no time series to convert")
    missing = [n for n in names if n not in rec.timeseries]
    if missing:
        raise ValidationError(f"no time series named {missing}; have {list(rec.timeseries)}")
    blocks = [rec.timeseries[n] for n in names]
    first = blocks[0]
    for b in blocks[1:]:
        if not (b.is_regular and first.is_regular and b.rate == first.rate
                and b.n_times == first.n_times and abs(b.t0 - first.t0) < 1e-9):
            raise ValidationError(
                f"blocks {first.name!r} and {b.name!r} differ in rate, start or length and "
                "cannot share one MNE Raw; convert them separately with TimeSeries.to_mne()"
            )
    data = np.concatenate([b._read(0, b.n_times, slice(None)) for b in blocks], axis=1)
    channels = pd.concat([b.channels for b in blocks], ignore_index=True)
    return _build_raw(data, channels, first.rate, rec.events, first.t0, first.t_end,
                      rec.session.get("start_time"))
