"""Animal position from Trodes ``.videoPositionTracking`` files, and the nelpy linear track.

A ``.videoPositionTracking`` file (SpikeGadgets Trodes camera module) is a text header
followed by packed binary records::

    <Start settings>
    clockrate: 30000
    Fields: <time uint32><xloc uint16><yloc uint16><xloc2 uint16><yloc2 uint16>
    ...
    <End settings>
    <records, little-endian, no padding>

The record layout is read from the ``Fields`` line (not assumed), times are ticks of
the acquisition clock (``clockrate`` Hz) and positions are camera pixels.
:func:`read_linear_track` combines a folder's ``spikes.mat`` (see
:mod:`neurodata.io.spike_arrays`) with its position file, as in the nelpy example data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..channels import make_channels
from ..errors import FormatError, MissingFileError, ValidationError
from ..log import logger, verbose, warn
from ..recording import Recording
from ..timeseries import TimeSeries
from ._base import Reader, register
from .spike_arrays import read_spike_mat

__all__ = ["read_position_tracking", "read_linear_track", "parse_position_header",
           "TrodesPositionReader", "LinearTrackReader"]

_END = b"<End settings>"
_TYPES = {
    "uint8": "u1", "uint16": "u2", "uint32": "u4", "uint64": "u8", "int8": "i1", "int16": "i2",
    "int32": "i4", "int64": "i8", "float32": "f4", "single": "f4", "float64": "f8",
    "double": "f8", "float": "f4",
}
# Trodes field names → our channel names (first LED x/y, second LED x2/y2)
_RENAME = {"xloc": "x", "yloc": "y", "xloc2": "x2", "yloc2": "y2"}
_MAX_HEADER = 1 << 16


def parse_position_header(raw: bytes, path: Path | None = None) -> tuple[dict[str, str],
                                                                          np.dtype, int]:
    """Settings, record dtype and data offset of a ``.videoPositionTracking`` file.

    Parameters
    ----------
    raw : bytes
        The start of the file (at least the whole header).
    path : Path or None
        For error messages.

    Returns
    -------
    settings : dict of str to str
        ``key: value`` lines of the header.
    dtype : numpy.dtype
        Packed little-endian record type from the ``Fields`` line.
    offset : int
        Byte offset of the first record (after ``<End settings>`` and its newline).

    Examples
    --------
    >>> head = b"<Start settings>\\nclockrate: 30000\\nFields: <time uint32><xloc uint16>\\n"
    >>> settings, dt, off = parse_position_header(head + b"<End settings>\\n")
    >>> settings["clockrate"], dt.itemsize, off
    ('30000', 6, 84)
    """
    end = raw.find(_END, 0, _MAX_HEADER)
    if end < 0:
        raise FormatError("has no '<End settings>' line within its first 64 KiB; expected a "
                          "Trodes .videoPositionTracking file (text header ending in "
                          "'<End settings>', then binary records)", path=path)
    offset = end + len(_END)
    if raw[offset:offset + 2] == b"\r\n":
        offset += 2
    elif raw[offset:offset + 1] == b"\n":
        offset += 1
    text = raw[:end].decode("latin-1")
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            settings[key.strip().lower()] = value.strip()
    fields = re.findall(r"<\s*(\w+)\s+(\w+)\s*>", settings.get("fields", ""))
    if not fields:
        raise FormatError("header has no 'Fields: <name type>...' line; cannot tell the record "
                          "layout", path=path)
    unknown = [t for _, t in fields if t.lower() not in _TYPES]
    if unknown:
        raise FormatError(f"header lists field types {unknown}; supported: {sorted(_TYPES)}",
                          path=path)
    dtype = np.dtype([(name, "<" + _TYPES[t.lower()]) for name, t in fields])
    return settings, dtype, offset


def _check_duplicates(duplicates: str) -> None:
    if duplicates not in ("drop", "error"):
        raise ValidationError(f"duplicates must be 'drop' or 'error'; got {duplicates!r}")


class TrodesPositionReader(Reader):
    """Trodes ``.videoPositionTracking`` files (see :func:`read_position_tracking`)."""

    name = "Trodes position"
    extensions = (".videopositiontracking",)
    modality = "behaviour (position)"
    library = "numpy.frombuffer"
    keeps = ("x, y in camera pixels (second LED when present), irregular timestamps from the "
             "acquisition clock")
    loader = "neurodata.io.read_position_tracking"

    def read_header(self, path: Path, **options: Any) -> tuple[dict[str, str], np.dtype, int]:
        """Settings, record dtype and data offset (only the text header is read)."""
        with open(path, "rb") as fh:
            head = fh.read(_MAX_HEADER + len(_END) + 2)
        return parse_position_header(head, path)

    def read(self, path: Path, *, clock_rate: float | None = None,
             duplicates: str = "drop") -> Recording:
        _check_duplicates(duplicates)
        return self.read_data(path, self.read_header(path), clock_rate=clock_rate,
                              duplicates=duplicates)

    def read_data(self, path: Path, header: Any, *, clock_rate: float | None = None,
                  duplicates: str = "drop") -> Recording:
        settings, dtype, offset = header
        n_bytes = path.stat().st_size - offset
        if n_bytes % dtype.itemsize:
            raise FormatError(f"holds {n_bytes} bytes of records, not a multiple of the "
                              f"{dtype.itemsize}-byte record in the Fields line; the file is "
                              "truncated or the header is wrong", path=path)
        rec = np.frombuffer(path.read_bytes(), dtype=dtype, offset=offset)
        time_field = next((n for n in dtype.names if n.lower() in ("time", "timestamp")), None)
        if time_field is None:
            raise FormatError(f"Fields {list(dtype.names)} include no 'time' field", path=path)
        if clock_rate is None:
            try:
                clock_rate = float(settings.get("clockrate", "nan"))
            except ValueError:
                clock_rate = float("nan")
        if not (np.isfinite(clock_rate) and clock_rate > 0):
            raise FormatError(f"header clockrate is {settings.get('clockrate')!r}; expected ticks "
                              "per second - pass clock_rate=", path=path)
        ticks = rec[time_field].astype(np.int64)
        step = np.diff(ticks)
        if np.any(step < 0):
            k = int(np.flatnonzero(step < 0)[0])
            raise FormatError(f"time goes backwards at record {k + 1} ({ticks[k]} → {ticks[k + 1]} "
                              "ticks); expected non-decreasing times", path=path)
        keep = np.ones(rec.size, bool)
        keep[1:] = step > 0
        n_dup = int((~keep).sum())
        if n_dup:
            same = all(rec[k] == rec[k - 1] for k in np.flatnonzero(~keep))
            msg = (f"{path}: {n_dup} record(s) repeat the previous record's time"
                   f"{' (identical records)' if same else ' with different positions'}")
            if duplicates == "error":
                raise FormatError(msg.split(": ", 1)[1] + "; pass duplicates='drop' to keep the "
                                  "first of each", path=path)
            if same:  # a byte-identical repeat carries no information: dropping it loses nothing
                logger.info("%s; kept the first of each", msg)
            else:
                warn(msg + "; kept the first of each")
        rec = rec[keep]
        names, columns = [], []
        for field in dtype.names:
            if field == time_field:
                continue
            cname = _RENAME.get(field.lower(), field)
            col = rec[field].astype(np.float32)
            if cname in ("x2", "y2") and not np.any(col):
                logger.info("%s: field %s is all zero (no second LED); not kept", path.name, field)
                continue
            names.append(cname)
            columns.append(col)
        data = np.stack(columns, axis=1) if columns else np.zeros((rec.size, 0), np.float32)
        scale = settings.get("pixel scale", "")
        attrs: dict[str, Any] = {
            "source": "Trodes videoPositionTracking", "clock_rate": clock_rate,
            "n_duplicate_times_dropped": n_dup,
            "camera_resolution": settings.get("camera resolution"),
            # Trodes writes "0 pix/cm" when the camera was not calibrated
            "pixel_scale": scale if scale and not scale.startswith("0 ") else None,
        }
        ts = TimeSeries(data, timestamps=rec[time_field].astype(np.float64) / clock_rate,
                        channels=make_channels(names, types="behavior", units="px",
                                               coord_frame="camera"),
                        modality="behavior", name="position", attrs=attrs)
        logger.info("%s: %d samples, %.3f-%.3f s", path.name, ts.shape[0], ts.t0,
                    float(ts.timestamps[-1]) if ts.shape[0] else ts.t0)
        return self.recording([ts], path=path, session={"id": path.stem},
                              parameters={"clock_rate": clock_rate, "duplicates": duplicates})


_POSITION = register(TrodesPositionReader())


@verbose
def read_position_tracking(
    path: str | os.PathLike,
    *,
    clock_rate: float | None = None,
    duplicates: str = "drop",
    verbose: bool | str | None = None,
) -> Recording:
    """Read a Trodes ``.videoPositionTracking`` file into a behaviour time series.

    Parameters
    ----------
    path : path-like
        The position file.
    clock_rate : float or None
        Ticks per second of the ``time`` field; default the header's ``clockrate``.
    duplicates : {"drop", "error"}, default="drop"
        Records whose time equals the previous record's (camera frames logged twice):
        ``"drop"`` keeps the first (logged at INFO when the records are identical,
        a warning when their positions differ; the count goes into the block's attrs
        ``n_duplicate_times_dropped``); ``"error"`` raises.
        Times that go backwards always raise.
    verbose : bool or str or None

    Returns
    -------
    Recording
        One block ``position`` (modality ``behavior``), irregular timestamps
        ``time / clock_rate`` in seconds (the acquisition clock, shared with the spike
        times of the same session), channels ``x``, ``y`` (unit ``px``, type
        ``behavior``) and ``x2``, ``y2`` (second LED) unless they are all zero (no second
        LED).  Values are the stored pixel coordinates, unchanged.

    Raises
    ------
    FormatError
        No ``<End settings>`` terminator, no ``Fields`` line, a truncated last record,
        no clock rate, or time going backwards.

    Examples
    --------
    >>> rec = read_position_tracking("trajectory.videoPositionTracking")  # doctest: +SKIP
    >>> rec.timeseries["position"].channels["name"].tolist()  # doctest: +SKIP
    ['x', 'y']
    """
    return _POSITION(path, clock_rate=clock_rate, duplicates=duplicates)


def _linear_track_files(folder: Path) -> tuple[Path, Path]:
    spikes = folder / "spikes.mat"
    tracks = sorted(folder.glob("*.videoPositionTracking"))
    if not spikes.exists():
        raise MissingFileError("folder lacks spikes.mat; expected spikes.mat and one "
                               "*.videoPositionTracking file", path=folder)
    if len(tracks) != 1:
        raise FormatError(f"folder holds {len(tracks)} *.videoPositionTracking files; expected "
                          "exactly one", path=folder)
    return spikes, tracks[0]


class LinearTrackReader(Reader):
    """nelpy-style session folders (see :func:`read_linear_track`)."""

    name = "nelpy linear track"
    extensions = ("",)
    modality = "spikes + behaviour"
    library = "scipy.io.loadmat + numpy.frombuffer"
    keeps = ("a folder with spikes.mat and a .videoPositionTracking: spike trains per tetrode "
             "unit and position (px)")
    loader = "neurodata.io.read_linear_track"
    folder = True
    packages = ("scipy",)

    def sniff(self, path: Path) -> bool:
        return _sniff_linear_track(path)

    def read_header(self, path: Path, **options: Any) -> tuple[Path, Path]:
        """The folder's spikes.mat and its one position file."""
        return _linear_track_files(path)

    def read(self, folder: Path, *, duplicates: str = "drop",
             subject: dict[str, Any] | None = None,
             session: dict[str, Any] | None = None) -> Recording:
        _check_duplicates(duplicates)
        return self.read_data(folder, self.read_header(folder), duplicates=duplicates,
                              subject=subject, session=session)

    def read_data(self, folder: Path, header: Any, *, duplicates: str = "drop",
                  subject: dict[str, Any] | None = None,
                  session: dict[str, Any] | None = None) -> Recording:
        spikes_path, track_path = header
        spikes = read_spike_mat(spikes_path)
        position = _POSITION(track_path, duplicates=duplicates)
        # each file's reader has warned about what it skipped; list it here, by file
        skipped = [f"{p.name}: {item}" for p, part in ((spikes_path, spikes),
                                                       (track_path, position))
                   for item in part.provenance.get("skipped", [])]
        # the task is not in either file: only what the caller states is recorded
        return self.recording(position.timeseries, path=folder,
                              sources=[spikes_path, track_path], spikes=spikes.spikes,
                              subject=subject, session={"id": folder.name, **(session or {})},
                              parameters={"duplicates": duplicates}, skipped=skipped,
                              warn_skipped=False)


_LINEAR_TRACK = LinearTrackReader()


@verbose
def read_linear_track(
    folder: str | os.PathLike,
    *,
    duplicates: str = "drop",
    subject: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    verbose: bool | str | None = None,
) -> Recording:
    """Read a nelpy-style session folder: ``spikes.mat`` + ``*.videoPositionTracking``.

    Parameters
    ----------
    folder : path-like
        Folder holding ``spikes.mat`` (tetrode → unit structs, times in seconds) and one
        Trodes position file, both on the acquisition clock.
    duplicates : {"drop", "error"}
        See :func:`read_position_tracking`.
    subject : dict or None
        Subject metadata (``id``, ``species``, ...); the files do not carry it.
    session : dict or None
        Session metadata (``task``, ``description``, ...); the files do not carry it,
        so nothing is assumed (the session id is the folder name).
    verbose : bool or str or None

    Returns
    -------
    Recording
        Spike block ``units`` (from :func:`~neurodata.io.spike_arrays.read_spike_mat`)
        and behaviour block ``position`` (x, y in px, irregular timestamps).

    Examples
    --------
    >>> rec = read_linear_track("nelpy_linear-track")  # doctest: +SKIP
    >>> rec.spikes["units"].n_units, rec.timeseries["position"].shape  # doctest: +SKIP
    (31, (118964, 2))
    """
    return _LINEAR_TRACK(folder, duplicates=duplicates, subject=subject, session=session)


def _sniff_linear_track(path: Path) -> bool:
    return (path / "spikes.mat").exists() and any(path.glob("*.videoPositionTracking"))


register(_LINEAR_TRACK)
