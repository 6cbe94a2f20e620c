"""Check a recording file against the whole format contract: :func:`validate`."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ._h5format import (
    ATTRS_CHECKSUM_ATTR,
    CHECKSUM_ATTR,
    MAX_CHUNK_ROWS,
    attrs_checksum,
    check_regular_file,
    dataset_checksum,
    declared_size_problem,
    header_problems,
    open_h5,
    read_all,
    read_table,
)
from .channels import channel_problems
from .connectivity import CONNECTIVITY_KINDS
from .errors import FormatError, ValidationError
from .events import event_problems
from .spikes import spike_problems
from .timeseries import MODALITIES

__all__ = ["validate", "ValidationReport"]

_KNOWN_GROUPS = {"subject", "session", "timeseries", "spikes", "events", "stimuli",
                 "connectivity"}


@dataclass
class ValidationReport:
    """Result of :func:`validate`: every violation (errors) and advisory notes."""

    path: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def __bool__(self) -> bool:
        return self.ok

    def raise_if_invalid(self) -> None:
        """Raise :class:`ValidationError` listing every violation, if any."""
        if self.errors:
            raise ValidationError(
                f"{len(self.errors)} violation(s) of the recording format: "
                + "; ".join(self.errors),
                path=self.path,
                violations=self.errors,
            )

    def __str__(self) -> str:
        head = f"{self.path}: " + ("valid" if self.ok else f"{len(self.errors)} violation(s)")
        lines = [head] + [f"  error: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _check_timeseries(name: str, g: h5py.Group, errors: list[str], warnings: list[str]) -> None:
    where = f"/timeseries/{name}"
    if "data" not in g:
        errors.append(f"{where}: no 'data' dataset")
        return
    d = g["data"]
    if d.ndim != 2:
        errors.append(f"{where}/data: must be 2-D (time, channel); has shape {d.shape}")
        return
    n_times, n_ch = d.shape
    why = declared_size_problem(d)
    if why:
        errors.append(why)
    if d.dtype != np.float32:
        errors.append(f"{where}/data: dtype must be float32; is {d.dtype}")
    if d.chunks is not None:
        if d.chunks[0] > MAX_CHUNK_ROWS:
            warnings.append(f"{where}/data: chunks of {d.chunks[0]} rows (> {MAX_CHUNK_ROWS})"
                            " make short window reads slow")
        if d.chunks[1] != n_ch:
            warnings.append(f"{where}/data: chunks {d.chunks} do not span all channels; "
                            "window reads cannot be memory-mapped")
    if d.compression is not None:
        warnings.append(f"{where}/data: compressed ({d.compression}); window reads use the "
                        "slower h5py path")
    modality = g.attrs.get("modality")
    if modality is None:
        errors.append(f"{where}: attribute 'modality' missing")
    elif str(modality) not in MODALITIES:
        warnings.append(f"{where}: modality {modality!r} is not one of {list(MODALITIES)}")
    if "timestamps" in g:
        ts = g["timestamps"]
        if ts.shape != (n_times,):
            errors.append(f"{where}/timestamps: shape {ts.shape} does not match {n_times} samples")
        else:
            t = read_all(ts)
            if ts.dtype != np.float64:
                errors.append(f"{where}/timestamps: dtype must be float64; is {ts.dtype}")
            if not np.all(np.isfinite(t)):
                errors.append(f"{where}/timestamps: contain NaN or inf")
            elif t.size > 1 and not np.all(np.diff(t) > 0):
                i = int(np.argmin(np.diff(t) > 0))
                errors.append(f"{where}/timestamps: not strictly increasing "
                              f"(t[{i}]={float(t[i])!r}, t[{i + 1}]={float(t[i + 1])!r})")
        if "rate" in g.attrs:
            warnings.append(f"{where}: has both timestamps and a rate; the timestamps are used")
    else:
        rate = g.attrs.get("rate")
        if rate is None or not np.isfinite(rate) or rate <= 0:
            errors.append(f"{where}: regular series needs a positive 'rate' attribute (Hz); "
                          f"found {rate!r}")
        t0 = g.attrs.get("t0")
        if t0 is None or not np.isfinite(t0):
            errors.append(f"{where}: attribute 't0' (seconds) missing or not finite")
    if "channels" not in g:
        errors.append(f"{where}: no 'channels' table")
    else:
        errors.extend(f"{where}/channels: {p}" for p in
                      channel_problems(read_table(g["channels"]), n_ch))
    if "affine" in g.attrs and np.shape(g.attrs["affine"]) != (4, 4):
        errors.append(f"{where}: 'affine' must be 4x4; is {np.shape(g.attrs['affine'])}")
    if "voxel_ijk" in g and g["voxel_ijk"].shape != (n_ch, 3):
        errors.append(f"{where}/voxel_ijk: shape {g['voxel_ijk'].shape}; expected ({n_ch}, 3)")


def _check_spikes(name: str, g: h5py.Group, errors: list[str]) -> None:
    where = f"/spikes/{name}"
    needed = [k for k in ("times", "unit_index", "units") if k not in g]
    needed += [f"attribute {k}" for k in ("t_start", "t_stop") if k not in g.attrs]
    if needed:
        errors.append(f"{where}: missing {needed}")
        return
    times, idx = g["times"], g["unit_index"]
    if times.dtype != np.float64:
        errors.append(f"{where}/times: dtype must be float64; is {times.dtype}")
    if idx.dtype != np.int32:
        errors.append(f"{where}/unit_index: dtype must be int32; is {idx.dtype}")
    errors.extend(f"{where}: {p}" for p in spike_problems(
        read_all(times), read_all(idx), read_table(g["units"]),
        float(g.attrs["t_start"]), float(g.attrs["t_stop"])))


def _check_integrity(f: h5py.File, report: ValidationReport) -> None:
    """Recompute every stored checksum (reads all data once, in 16 MiB blocks)."""
    datasets: list[tuple[str, h5py.Dataset]] = []
    f.visititems(lambda n, o: datasets.append((n, o)) if isinstance(o, h5py.Dataset) else None)
    has_root = ATTRS_CHECKSUM_ATTR in f.attrs
    stamped = [n for n, d in datasets if CHECKSUM_ATTR in d.attrs]
    if not has_root and not stamped:
        report.warnings.append("no checksums (written before neuroloom stored them): data "
                               "integrity cannot be checked; re-save to add them")
        return
    for name, ds in datasets:
        why = declared_size_problem(ds)
        if why:  # reading it would allocate or scan what the file does not hold
            if why not in report.errors:
                report.errors.append(why)
            continue
        stored = ds.attrs.get(CHECKSUM_ATTR)
        if stored is None:
            report.errors.append(f"/{name}: no checksum although the file has them (the "
                                 "dataset was added or altered after saving)")
            continue
        stored = stored.decode() if isinstance(stored, bytes) else str(stored)
        if not stored.startswith("crc32:"):
            report.warnings.append(f"/{name}: unknown checksum algorithm {stored!r}; skipped")
            continue
        try:
            found = dataset_checksum(ds)
        except (OSError, RuntimeError, ValueError, TypeError, MemoryError) as exc:
            report.errors.append(f"/{name}: data cannot be read ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:200]}); the file is damaged")
            continue
        if found != stored:
            report.errors.append(f"/{name}: data do not match the checksum written at save "
                                 f"time (stored {stored}, computed {found}); the file is "
                                 "corrupt - re-convert it from the source")
    if has_root:
        stored = f.attrs[ATTRS_CHECKSUM_ATTR]
        stored = stored.decode() if isinstance(stored, bytes) else str(stored)
        found = attrs_checksum(f)
        if found != stored:
            report.errors.append(f"attributes (metadata) do not match the checksum written at "
                                 f"save time (stored {stored}, computed {found}); the file "
                                 "is corrupt - re-convert it from the source")
    else:
        report.errors.append(f"root attribute {ATTRS_CHECKSUM_ATTR!r} is missing although "
                             "datasets carry checksums")


def _walk(f: h5py.File, report: ValidationReport, *, fast: bool) -> None:
    problems, _ = header_problems(f)
    report.errors.extend(problems)
    for key in f.keys():
        if key not in _KNOWN_GROUPS:
            report.warnings.append(f"/{key}: not part of the format (kept, but ignored)")
    if "timeseries" not in f and "spikes" not in f:
        report.warnings.append("no /timeseries or /spikes: the recording holds no signals")
    for name, g in f.get("timeseries", {}).items():
        _guarded(report, f"/timeseries/{name}", _check_timeseries, name, g, report.errors,
                 report.warnings)
    for name, g in f.get("spikes", {}).items():
        _guarded(report, f"/spikes/{name}", _check_spikes, name, g, report.errors)
    if "events" not in f:
        report.errors.append("/events: table missing (write an empty table if no events)")
    else:
        _guarded(report, "/events", lambda: report.errors.extend(
            f"/events: {p}" for p in event_problems(read_table(f["events"]))))
    for name, g in f.get("connectivity", {}).items():
        _guarded(report, f"/connectivity/{name}", _check_connectivity, name, g, report.errors)
    if not fast:
        _guarded(report, "checksums", _check_integrity, f, report)


def _guarded(report: ValidationReport, where: str, func, *args) -> None:
    # h5py raises KeyError/OSError/RuntimeError on damaged objects; each becomes one
    # violation so the rest of the file is still checked.
    try:
        func(*args)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError,
            AttributeError, MemoryError, zlib.error) as exc:
        report.errors.append(f"{where}: cannot be read ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]}); the file is damaged")


def _check_connectivity(name: str, g: h5py.Group, errors: list[str]) -> None:
    where = f"/connectivity/{name}"
    if "weights" not in g or "nodes" not in g:
        errors.append(f"{where}: needs 'weights' and 'nodes'")
        return
    n = g["nodes"].shape[0]
    if g["weights"].shape != (n, n):
        errors.append(f"{where}/weights: shape {g['weights'].shape}; expected "
                      f"({n}, {n}) for {n} nodes")
    nodes = list(read_all(g["nodes"]))
    if len(set(nodes)) != len(nodes):
        errors.append(f"{where}/nodes: names must be unique")
    if str(g.attrs.get("kind")) not in CONNECTIVITY_KINDS:
        errors.append(f"{where}: kind {g.attrs.get('kind')!r} not in "
                      f"{list(CONNECTIVITY_KINDS)}")
    if "directed" not in g.attrs:
        errors.append(f"{where}: attribute 'directed' missing")


def validate(path: str | os.PathLike, *, fast: bool = False) -> ValidationReport:
    """Check a recording file against the whole format contract, listing every violation.

    Unlike :func:`neurodata.open`, which stops at the first problem, this walks the
    whole file and, unless ``fast``, re-reads every array to compare it with the
    checksum written at save time (crc32, see docs/reliability.md), so a flipped byte
    is found.

    Parameters
    ----------
    path : path-like
        A ``.h5`` recording.
    fast : bool, default=False
        Skip the checksum pass (structure and values of small arrays are still
        checked; the signal data is not read).

    Returns
    -------
    ValidationReport
        ``report.ok`` is True when there are no errors; ``report.errors`` lists each
        violation with its HDF5 location; ``report.warnings`` lists advisory notes
        (e.g. a file written before checksums existed).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FormatError
        If it is not a regular file (FIFO, device, folder) or not an HDF5 file (nothing
        else can be checked then).

    Examples
    --------
    >>> import neurodata as nd  # doctest: +SKIP
    >>> report = nd.validate("s001r04.h5")  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
    """
    spath = str(Path(path))
    report = ValidationReport(spath)
    check_regular_file(path)  # a FIFO or device must fail before anything opens it
    try:
        f = open_h5(path)
    except FormatError as exc:
        if not _looks_hdf5(path):
            raise
        report.errors.append(exc.message)
        return report
    with f:
        try:
            _walk(f, report, fast=fast)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, MemoryError) as exc:
            report.errors.append(f"the file structure cannot be walked ({type(exc).__name__}:"
                                 f" {' '.join(str(exc).split())[:200]}); the file is damaged")
    return report


def _looks_hdf5(path: str | os.PathLike) -> bool:
    with open(path, "rb") as fh:
        if fh.read(8) == b"\x89HDF\r\n\x1a\n":
            return True
    try:
        return bool(h5py.is_hdf5(path))
    except OSError:
        return False
