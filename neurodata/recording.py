"""One recording session: :class:`Recording`, and :func:`open` for saved files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .connectivity import Connectivity
from .errors import ValidationError
from .events import Events
from .log import logger, verbose
from .spikes import SpikeTrains
from .timeseries import TimeSeries

__all__ = ["Recording", "open_recording"]


def _as_dict(items: Any, kind: str) -> dict[str, Any]:
    if items is None:
        return {}
    if isinstance(items, Mapping):
        out = dict(items)
        for key, obj in out.items():
            if getattr(obj, "name", key) != key:
                raise ValidationError(f"{kind} stored under {key!r} is named {obj.name!r}")
        return out
    out: dict[str, Any] = {}
    for obj in items:
        if obj.name in out:
            raise ValidationError(f"two {kind} blocks are named {obj.name!r}; names must be unique")
        out[obj.name] = obj
    return out


class Recording:
    """A recording session: signals, spikes, events, metadata and provenance.

    Build one from source files with :func:`neurodata.load`, from MNE with
    :meth:`from_mne`, or directly from objects; save it with :meth:`save` and open
    it lazily with :func:`neurodata.open`.

    Parameters
    ----------
    timeseries : iterable of TimeSeries or mapping of name to TimeSeries
        Regularly sampled blocks ("eeg", "meg", "calcium", ...); names must be unique.
    spikes : iterable of SpikeTrains or mapping, optional
    events : Events or pandas.DataFrame, optional
        Times in seconds from the session start.
    subject : dict, optional
        ``id`` and ``species`` (required on disk; default "unknown"), optional ``sex``,
        ``age``, ``genotype`` and any other JSON-able scalars.
    session : dict, optional
        ``id`` (default "unknown"), optional ``start_time`` (ISO 8601), ``task``,
        ``description``.
    connectivity : iterable of Connectivity or mapping, optional
    stimuli : mapping of name to array, optional
        Arrays referenced by events (images ``(N, H, W, 3)`` uint8, embeddings
        ``(N, D)``, captions as strings).
    provenance : dict, optional
        See :mod:`neurodata.provenance`.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodata import Recording, TimeSeries, Events
    >>> ts = TimeSeries(np.zeros((500, 3), np.float32), rate=250.0, modality="eeg",
    ...                 channels=["Cz", "Pz", "Oz"])
    >>> rec = Recording([ts], events=Events(onset=[0.5], label=["go"]))
    >>> rec.timeseries["eeg"].duration
    2.0
    """

    def __init__(
        self,
        timeseries: Iterable[TimeSeries] | Mapping[str, TimeSeries] | None = None,
        *,
        spikes: Iterable[SpikeTrains] | Mapping[str, SpikeTrains] | None = None,
        events: Events | Any = None,
        subject: Mapping[str, Any] | None = None,
        session: Mapping[str, Any] | None = None,
        connectivity: Iterable[Connectivity] | Mapping[str, Connectivity] | None = None,
        stimuli: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ):
        from .blocks import Blocks  # rec.timeseries["meg"] names the blocks there are

        self.timeseries: dict[str, TimeSeries] = Blocks(_as_dict(timeseries, "timeseries"),
                                                        kind="timeseries")
        self.spikes: dict[str, SpikeTrains] = Blocks(_as_dict(spikes, "spikes"), kind="spikes")
        self.connectivity: dict[str, Connectivity] = Blocks(
            _as_dict(connectivity, "connectivity"), kind="connectivity")
        if events is None:
            events = Events()
        elif not isinstance(events, Events):
            events = Events.from_dataframe(events)
        self.events: Events = events
        self.subject: dict[str, Any] = {"id": "unknown", "species": "unknown", **(subject or {})}
        self.session: dict[str, Any] = {"id": "unknown", **(session or {})}
        self.stimuli: dict[str, Any] = dict(stimuli or {})
        self.provenance: dict[str, Any] = {
            "sources": [], "loader": None, "parameters": {}, "parents": [], "steps": [],
            **dict(provenance or {}),
        }
        self._file = None
        self.path: str | None = None
        self.created: str | None = None
        self.software: str | None = None
        self.format_version: str | None = None

    # ---------------------------------------------------------------- file handling
    def _attach(self, f: Any, path: str, *, created: str, software: str,
                format_version: str) -> None:
        self._file = f
        self.path = path
        self.created = created
        self.software = software
        self.format_version = format_version

    def close(self) -> None:
        """Release the file behind a lazy recording (data must be loaded before)."""
        for ts in self.timeseries.values():
            if ts._mapped is not None:
                ts._mapped.close()
                ts._mapped = None
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    @property
    def is_lazy(self) -> bool:
        """True when some data is still read from a file on demand."""
        return any(ts.is_lazy for ts in self.timeseries.values())

    def load(self) -> Recording:
        """Return an in-memory copy (reads every signal)."""
        return Recording(
            [ts.load() for ts in self.timeseries.values()],
            spikes=self.spikes, events=self.events, subject=self.subject,
            session=self.session, connectivity=self.connectivity,
            stimuli={k: np.asarray(v[()]) if hasattr(v, "id") else v
                     for k, v in self.stimuli.items()},
            provenance=self.provenance,
        )

    @verbose
    def save(self, path: str | os.PathLike, *, overwrite: bool = False,
             compression: str | None = None, verbose: bool | str | None = None) -> Path:
        """Write to ``path`` (HDF5) atomically: temporary file, fsync, rename.

        Parameters
        ----------
        path : path-like
            Output file, conventionally ``*.h5``.
        overwrite : bool, default=False
            Replace an existing file (only once the new one is completely written).
        compression : {None, "gzip", "lzf"}
            Compress signal data.  ``None`` (default) keeps it uncompressed, which is
            what enables memory-mapped window reads (about 10× faster).
        verbose : bool or str or None
            Log level for this call.

        Returns
        -------
        pathlib.Path
            The absolute path written.
        """
        from ._h5format import write_recording

        out = write_recording(self, path, overwrite=overwrite, compression=compression)
        logger.info("wrote %s", out)
        return out

    # ---------------------------------------------------------------- MNE bridge
    @classmethod
    def from_mne(cls, raw: Any, **kwargs: Any) -> Recording:
        """Build from an ``mne.io.Raw`` (see :func:`neurodata.mne_bridge.from_mne`)."""
        from .mne_bridge import from_mne

        return from_mne(raw, **kwargs)

    def to_mne(self, names: Iterable[str] | None = None, *, verbose: bool | str | None = None):
        """Merge time-series blocks (same rate and start) into one ``mne.io.RawArray``."""
        from .mne_bridge import recording_to_mne

        return recording_to_mne(self, names=names, verbose=verbose)

    # ---------------------------------------------------------------- summaries
    @property
    def modalities(self) -> list[str]:
        return sorted({ts.modality for ts in self.timeseries.values()})

    @property
    def duration(self) -> float:
        """Seconds from the earliest start to the latest end of all blocks."""
        starts = [ts.t0 for ts in self.timeseries.values()] + [
            s.t_start for s in self.spikes.values()]
        ends = [ts.t_end for ts in self.timeseries.values()] + [
            s.t_stop for s in self.spikes.values()]
        return float(max(ends) - min(starts)) if starts else 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-able description (what ``neuroloom info`` prints)."""
        prov = self.provenance
        return {
            "path": self.path,
            "format_version": self.format_version,
            "created": self.created,
            "software": self.software,
            "subject": dict(self.subject),
            "session": dict(self.session),
            "duration_s": round(self.duration, 6),
            "timeseries": [
                {
                    "name": ts.name, "modality": ts.modality, "n_channels": ts.n_channels,
                    "n_times": ts.n_times,
                    "rate_hz": ts.rate if ts.is_regular else None,
                    "t0_s": ts.t0, "duration_s": round(ts.duration, 6),
                    "channel_types": {str(k): int(v) for k, v in
                                      ts.channels["type"].value_counts().items()},
                    "units": sorted(set(ts.channels["unit"])),
                    "bad_channels": list(ts.channels.loc[ts.channels["bad"], "name"]),
                }
                for ts in self.timeseries.values()
            ],
            "spikes": [{"name": s.name, "n_units": s.n_units, "n_spikes": s.n_spikes}
                       for s in self.spikes.values()],
            "events": {"n_events": len(self.events), "counts": self.events.counts()},
            "connectivity": [repr(c) for c in self.connectivity.values()],
            "stimuli": {k: list(np.shape(v)) for k, v in self.stimuli.items()},
            "provenance": {
                "loader": prov.get("loader"),
                "sources": [{"name": s.get("name"), "sha256": s.get("sha256")}
                            for s in prov.get("sources", [])],
                "parents": prov.get("parents", []),
                "steps": [s.get("name") for s in prov.get("steps", [])],
            },
        }

    def __repr__(self) -> str:
        parts = [f"{ts.name}: {ts.n_channels} ch @ "
                 f"{f'{ts.rate:g} Hz' if ts.is_regular else 'irregular'}"
                 for ts in self.timeseries.values()]
        parts += [f"spikes/{s.name}: {s.n_units} units" for s in self.spikes.values()]
        where = f", lazy from {Path(self.path).name}" if self._file is not None else ""
        return (f"<Recording subject={self.subject.get('id')!r} session="
                f"{self.session.get('id')!r} | {'; '.join(parts) or 'no signals'} | "
                f"{self.duration:g} s, {len(self.events)} events{where}>")


def open_recording(path: str | os.PathLike) -> Recording:
    """Open a saved recording lazily.

    Signal data stays on disk until sliced; use as a context manager (or call
    ``close()``) to release the file.

    Parameters
    ----------
    path : path-like
        A ``.h5`` file written by :meth:`Recording.save` or ``neuroloom convert``.

    Raises
    ------
    MissingFileError, FormatError, VersionError, ValidationError

    Examples
    --------
    >>> import neurodata as nd  # doctest: +SKIP
    >>> with nd.open("s001r04.h5") as rec:  # doctest: +SKIP
    ...     x = rec.timeseries["eeg"].slice(10.0, 12.0)
    """
    from ._h5format import read_recording

    return read_recording(path)
