"""Readers for formats that MNE-Python parses: EDF/EDF+, BDF and FIF, and their base.

MNE parses the vendor bytes and scales to SI units; we keep its values exactly
(float32 on disk), split channels into blocks by type, and record the source files'
sha256 in provenance.  EDF files whose signals have different sampling rates are not
upsampled (MNE would upsample silently): each rate becomes its own block.

:class:`MNEReader` is the base of every MNE-parsed format (here and in
``eeg_vendors/``, ``bids.py``): a format supplies :meth:`MNEReader.read_header`
(its own checks, the companion files it needs, extra provenance parameters) and
:meth:`MNEReader.open_raw` (the ``mne.io.read_raw_*`` call); the base runs the parser
in the crash-isolated pre-parse, wraps its errors, reads the first and last samples,
checks ``channel_types``, converts through :func:`neurodata.from_mne` and records
provenance with what MNE holds that the conversion drops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..log import verbose
from ..mne_bridge import from_mne
from ..recording import Recording
from ._base import Reader, register
from ._isolate import preflight

__all__ = ["read_edf", "read_bdf", "read_fif", "MNEReader", "mne_skipped"]


def _edf_rate_groups(raw: Any) -> dict[float, list[str]]:
    """Channel names per native sampling rate, from the EDF header MNE parsed."""
    extras = raw._raw_extras[0]
    n_samps = extras["n_samps"]
    record_length = float(extras["record_length"][0])
    sel = extras.get("sel", range(len(n_samps)))
    groups: dict[float, list[str]] = {}
    for name, idx in zip(raw.ch_names, sel, strict=False):
        groups.setdefault(float(n_samps[idx]) / record_length, []).append(name)
    return groups


def _edf_physical_dims(path: Path) -> dict[str, str]:
    """Signal label → physical dimension, straight from the EDF/BDF header."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        n_signals = int(head[252:256].decode("ascii").strip())
        fields = fh.read(256 * n_signals)
    labels = [fields[i * 16:(i + 1) * 16].decode("latin-1").strip() for i in range(n_signals)]
    base = 96 * n_signals  # after labels (16 bytes) and transducer types (80 bytes)
    dims = [fields[base + i * 8:base + (i + 1) * 8].decode("latin-1").strip()
            for i in range(n_signals)]
    return dict(zip(labels, dims, strict=True))


def _non_voltage_channels(raw: Any, path: Path) -> dict[str, str]:
    """Channels MNE could not scale to volts ('n/a' unit) → their header unit.

    MNE types every EDF signal as EEG; a temperature or position signal is not one,
    so such channels become ``misc`` with the unit the header gives.
    """
    orig = getattr(raw, "_orig_units", None) or {}
    odd = [n for n in raw.ch_names if orig.get(n) == "n/a"]
    if not odd:
        return {}
    dims = _edf_physical_dims(path)
    return {n: (dims.get(n) or "a.u.") for n in odd}


def _check_size(path: Path, kind: str) -> None:
    """EDF/BDF headers state the number of records; a shorter file is truncated."""
    with open(path, "rb") as fh:
        head = fh.read(256)
    if len(head) < 256:
        raise FormatError(f"{len(head)} bytes; a {kind} header alone has 256", path=path)
    try:
        header_bytes = int(head[184:192].decode("ascii").strip())
        n_records = int(head[236:244].decode("ascii").strip())
        n_signals = int(head[252:256].decode("ascii").strip())
    except ValueError as exc:
        raise FormatError(f"header fields are not numbers; not a valid {kind} file", path) from exc
    if n_records < 0:
        return  # -1: unknown number of records (allowed while recording)
    with open(path, "rb") as fh:
        fh.seek(256 + 216 * n_signals)
        samples = fh.read(8 * n_signals)
    try:
        per_record = sum(int(samples[i * 8:(i + 1) * 8].decode("ascii").strip())
                         for i in range(n_signals))
    except ValueError as exc:
        raise FormatError(f"samples-per-record fields are not numbers; not a valid {kind} file",
                          path) from exc
    _check_plausible(path, kind, head, n_signals, samples)
    width = 3 if kind == "BDF" else 2
    expected = header_bytes + n_records * per_record * width
    actual = os.path.getsize(path)
    if actual < expected:
        raise FormatError(
            f"truncated {kind}: the header announces {n_records} records ({expected} bytes) "
            f"but the file has {actual} bytes; re-export or re-download the file",
            path=path,
        )


#: Highest sampling rate (Hz) an EDF/BDF header may imply; above it the record duration
#: or the samples per record are corrupt (1e-9 s records would give 1.6e11 Hz).
MAX_RATE_HZ = 1e6


def _check_plausible(path: Path, kind: str, head: bytes, n_signals: int,
                     samples: bytes) -> None:
    """Record duration and physical/digital ranges a parser would accept silently."""
    try:
        duration = float(head[244:252].decode("ascii").strip())
    except ValueError as exc:
        raise FormatError(f"the record duration {head[244:252]!r} is not a number; not a "
                          f"valid {kind} file", path=path) from exc
    with open(path, "rb") as fh:
        fh.seek(256 + 104 * n_signals)
        ranges = fh.read(32 * n_signals)

    def field(block: int, i: int) -> float:
        raw = ranges[(block * n_signals + i) * 8:(block * n_signals + i + 1) * 8]
        try:
            return float(raw.decode("ascii").strip())
        except ValueError:
            return float("nan")

    per_signal = [int(samples[i * 8:(i + 1) * 8].decode("ascii").strip())
                  for i in range(n_signals)]
    if per_signal and max(per_signal) > 0:
        if not (np.isfinite(duration) and duration > 0):
            raise FormatError(f"the record duration is {duration!r} s; expected a positive "
                              "number of seconds", path=path)
        rate = max(per_signal) / duration
        if rate > MAX_RATE_HZ:
            raise FormatError(f"the header implies {rate:.3g} Hz ({max(per_signal)} samples "
                              f"per {duration:g}-s record); above {MAX_RATE_HZ:g} Hz the record "
                              "duration or samples per record are corrupt", path=path)
    for i in range(n_signals):
        pmin, pmax, dmin, dmax = (field(b, i) for b in range(4))
        if not all(np.isfinite([pmin, pmax, dmin, dmax])):
            raise FormatError(f"signal {i + 1}: physical/digital range ({pmin}, {pmax}, {dmin}, "
                              f"{dmax}) holds a non-number; expected finite limits", path=path)
        if pmin == pmax or dmin >= dmax:
            raise FormatError(f"signal {i + 1}: physical range [{pmin}, {pmax}] / digital range "
                              f"[{dmin}, {dmax}] is empty; the scaling is undefined", path=path)


def mne_skipped(raw: Any) -> list[str]:
    """What an MNE ``Raw`` holds that the conversion does not keep."""
    info = raw.info
    out = []
    if info.get("projs"):
        out.append(f"{len(info['projs'])} SSP projector(s) (info['projs'], not applied)")
    if info.get("comps"):
        out.append(f"{len(info['comps'])} CTF compensation matrix(ces) (info['comps'])")
    dig = [d for d in (info.get("dig") or []) if int(d["kind"]) != 3]  # 3: EEG electrodes
    if dig:
        out.append(f"{len(dig)} head digitization point(s) (fiducials, HPI, head shape)")
    if info.get("hpi_results"):
        out.append("HPI fit results (info['hpi_results'])")
    if info.get("proc_history"):
        out.append("MaxFilter processing history (info['proc_history'])")
    return out


def _touch(raw: Any) -> None:
    """Read the first and last samples (where a corrupt data section shows)."""
    n = raw.n_times
    if n:
        raw.get_data(start=0, stop=min(n, 16))
        raw.get_data(start=max(0, n - 16), stop=n)


def _check_channel_types(raw: Any, channel_types: dict[str, str] | None, path: Path) -> None:
    unknown = sorted(set(channel_types or {}) - set(raw.ch_names))
    if unknown:
        raise FormatError(f"channel_types names channels not in the file: {unknown[:10]}; "
                          f"channels are e.g. {raw.ch_names[:8]}", path=path)


class MNEReader(Reader):
    """Base of the formats MNE parses (see the module docstring).

    A format implements :meth:`open_raw` and, when it has checks, options or
    companion files of its own, :meth:`read_header`; a format whose options differ
    from the common ones (``channel_types``, ``subject``, ``session``, ``preload``,
    ``events_from_stim``) overrides :meth:`read` with its signature and calls
    :meth:`convert`.
    """

    packages = ("mne",)

    def read_header(self, path: Path, **options: Any) -> dict[str, Any]:
        """The format's own checks before MNE opens the file.

        Returns a dict with any of ``path`` (the file MNE opens, default ``path``),
        ``sources`` (every file read, default the files MNE opened), ``parameters``
        (extra provenance parameters), ``subject`` / ``session`` (defaults the caller's
        values override) and whatever :meth:`open_raw` needs.
        """
        return {}

    def open_raw(self, path: Path, header: dict[str, Any]) -> Any:
        """``mne.io.read_raw_*`` on ``path`` (lazily: ``preload=False``)."""
        raise NotImplementedError

    def finish(self, rec: Recording, path: Path, header: dict[str, Any]) -> Recording:
        """What the format adds after the conversion (sidecars, positions ...)."""
        return rec

    def read(self, path: Path, *, channel_types: dict[str, str] | None = None,
             subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
             preload: bool = False, events_from_stim: bool = True,
             **options: Any) -> Recording:
        return self.convert(path, self.read_header(path, **options),
                            channel_types=channel_types, subject=subject, session=session,
                            preload=preload, events_from_stim=events_from_stim)

    def convert(self, path: Path, header: dict[str, Any], *,
                channel_types: dict[str, str] | None = None,
                subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
                preload: bool = False, events_from_stim: bool = True) -> Recording:
        """Open the file with :meth:`open_raw` and convert it (the family's common part)."""
        path = header.get("path", path)
        preflight(path, self.name, lambda p: _touch(self.open_raw(p, header)))
        with self.parsing(path):
            raw = self.open_raw(path, header)
            _touch(raw)  # a short or corrupt data section fails here, not at the first slice
        _check_channel_types(raw, channel_types, path)
        sources = header.get("sources") or [Path(f) for f in raw.filenames
                                            if f is not None] or [path]
        if preload:
            raw.load_data(verbose=False)
        prov = self.provenance(path=path, sources=sources, skipped=mne_skipped(raw),
                               parameters={"preload": preload, "channel_types": channel_types,
                                           "events_from_stim": events_from_stim,
                                           **header.get("parameters", {})})
        session = {"id": path.name.split(".")[0], **header.get("session", {}),
                   **(session or {})}
        rec = from_mne(raw, channel_types=channel_types,
                       subject=header.get("subject") if subject is None else subject,
                       session=session, events_from_stim=events_from_stim, provenance=prov)
        return self.finish(rec, path, header)


class EDFReader(MNEReader):
    """EDF/EDF+ (``mne.io.read_raw_edf``): header size checks, one block per native rate."""

    name = "EDF"
    extensions = (".edf",)
    modality = "EEG / sEEG / ECoG / PSG"
    library = "mne.io.read_raw_edf"
    keeps = ("signals in V (per native rate), channel names/types, annotations → events, "
             "subject id, start time")
    loader = "neurodata.io.read_edf"

    def open_raw(self, path: Path, header: dict[str, Any] | None = None, **mne_kwargs: Any):
        """``mne.io.read_raw_edf`` / ``read_raw_bdf`` with ``mne_kwargs`` (not preloaded)."""
        import mne

        reader = mne.io.read_raw_bdf if self.name == "BDF" else mne.io.read_raw_edf
        return reader(path, preload=False, verbose="error", **mne_kwargs)

    def read(self, path: Path, *, channel_types: dict[str, str] | None = None,
             subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
             preload: bool = False, **mne_kwargs: Any) -> Recording:
        _check_size(path, self.name)
        with self.parsing(path):
            raw = self.open_raw(path, **mne_kwargs)
        odd_units = _non_voltage_channels(raw, path)
        _check_channel_types(raw, channel_types, path)
        channel_types = {**{n: "misc" for n in odd_units}, **(channel_types or {})}
        groups = _edf_rate_groups(raw)
        prov = self.provenance(path=path, sources=[path], skipped=mne_skipped(raw),
                               parameters={"preload": preload, "channel_types": channel_types,
                                           **mne_kwargs})
        if len(groups) > 1:
            # One Raw per native rate, so nothing is resampled.
            recs = []
            for rate, names in sorted(groups.items(), reverse=True):
                sub = self.open_raw(path, include=names, **mne_kwargs)
                if abs(sub.info["sfreq"] - rate) > 1e-6:
                    raise FormatError(f"signals at {rate:g} Hz could not be read at their "
                                      "native rate", path=path)
                types = {n: t for n, t in channel_types.items() if n in names}
                recs.append((rate, from_mne(sub.load_data() if preload else sub,
                                            channel_types=types, subject=subject,
                                            session=session, provenance=prov)))
            rec = recs[0][1]
            for rate, other in recs[1:]:
                for name, ts in other.timeseries.items():
                    ts.name = f"{name}_{rate:g}hz"
                    rec.timeseries[ts.name] = ts
        else:
            if preload:
                raw.load_data(verbose=False)
            rec = from_mne(raw, channel_types=channel_types, subject=subject,
                           session=session, provenance=prov)
        for ts in rec.timeseries.values():
            for i, name in enumerate(ts.ch_names):
                if name in odd_units:
                    ts.channels.loc[i, "unit"] = odd_units[name]
        return rec


class BDFReader(EDFReader):
    """BioSemi BDF/BDF+ (``mne.io.read_raw_bdf``); as :class:`EDFReader`."""

    name = "BDF"
    extensions = (".bdf",)
    modality = "EEG"
    library = "mne.io.read_raw_bdf"
    keeps = "as EDF; status channel → stim block and events"
    loader = "neurodata.io.read_bdf"


class FIFReader(MNEReader):
    """Neuromag/MNE FIF raw files (``mne.io.read_raw_fif``; split files followed)."""

    name = "FIF"
    extensions = (".fif", ".fif.gz")
    modality = "MEG / EEG"
    library = "mne.io.read_raw_fif"
    keeps = ("signals in SI (T, T/m, V), types, positions, bads, annotations and stim "
             "pulses → events")
    loader = "neurodata.io.read_fif"

    def read_header(self, path: Path, **mne_kwargs: Any) -> dict[str, Any]:
        return {"parameters": mne_kwargs}

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne

        return mne.io.read_raw_fif(path, verbose="error", **header["parameters"])


_EDF = register(EDFReader())
_BDF = register(BDFReader())
_FIF = register(FIFReader())


@verbose
def read_edf(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
             subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
             preload: bool = False, verbose: bool | str | None = None,
             **mne_kwargs: Any) -> Recording:
    """Read an EDF/EDF+ file (through ``mne.io.read_raw_edf``).

    Parameters
    ----------
    path : path-like
    channel_types : dict or None
        Channel name → type, for contacts the file labels wrongly (e.g. sEEG as EEG).
    subject, session : dict or None
        Metadata overriding the header.
    preload : bool, default=False
        Read all samples now instead of on demand.
    verbose : bool or str or None
    **mne_kwargs
        Passed to ``mne.io.read_raw_edf`` (e.g. ``exclude=``).

    Returns
    -------
    Recording
        Blocks by channel type; annotations as events; values in volts.

    Examples
    --------
    >>> import neurodata as nd
    >>> rec = read_edf(nd.sample_path("eegmmidb_s001r04"))  # doctest: +SKIP
    """
    return _EDF(path, channel_types=channel_types, subject=subject, session=session,
                preload=preload, **mne_kwargs)


@verbose
def read_bdf(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
             subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
             preload: bool = False, verbose: bool | str | None = None,
             **mne_kwargs: Any) -> Recording:
    """Read a BioSemi BDF/BDF+ file (through ``mne.io.read_raw_bdf``); see :func:`read_edf`."""
    return _BDF(path, channel_types=channel_types, subject=subject, session=session,
                preload=preload, **mne_kwargs)


@verbose
def read_fif(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
             subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
             events_from_stim: bool = True, preload: bool = False,
             verbose: bool | str | None = None, **mne_kwargs: Any) -> Recording:
    """Read a Neuromag/MNE FIF raw file (through ``mne.io.read_raw_fif``).

    MEG (grad + mag) becomes the ``meg`` block, EEG ``eeg``, EOG/ECG/EMG ``aux``,
    stim channels ``stim``; stim pulses become events when ``events_from_stim``.
    Split files are followed by MNE.  See :func:`read_edf` for the parameters.
    """
    return _FIF(path, channel_types=channel_types, subject=subject, session=session,
                events_from_stim=events_from_stim, preload=preload, **mne_kwargs)
