"""EEG/iEEG vendor formats read through MNE: BrainVision, EEGLAB, Nihon Kohden, Persyst,
FieldTrip.

Each reader checks the companion files a format needs before MNE opens it, so a
missing ``.eeg`` / ``.fdt`` / ``.dat`` gives one clear error naming the file that is
missing, and records every file it read in provenance.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import FormatError, MissingFileError
from ..log import verbose
from ._isolate import safe_loadmat
from ._registry import ReaderSpec, register_reader
from .mne_formats import read_with_mne

__all__ = ["read_brainvision", "read_eeglab", "read_nihon", "read_persyst", "read_fieldtrip"]


def _companion(path: Path, name: str, what: str) -> Path:
    """Resolve a file a header refers to; error if it is missing."""
    target = path.parent / name
    if not target.exists():
        # vendors differ in case on case-insensitive systems; accept a case match
        matches = [p for p in path.parent.iterdir() if p.name.lower() == name.lower()]
        if matches:
            return matches[0]
        raise MissingFileError(
            f"the header points at the {what} file {name!r}, which does not exist in "
            f"{str(path.parent)!r}; copy it next to the header (or fix the header)",
            path=path,
        )
    return target


# ----------------------------------------------------------------------------- BrainVision
def _vhdr_field(text: str, key: str) -> str | None:
    m = re.search(rf"^\s*{key}\s*=\s*(.+?)\s*$", text, flags=re.MULTILINE)
    return m.group(1) if m else None


@verbose
def read_brainvision(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
                     subject: dict[str, Any] | None = None,
                     session: dict[str, Any] | None = None, preload: bool = False,
                     verbose: bool | str | None = None):
    """Read a BrainVision recording (``.vhdr`` header + ``.vmrk`` markers + ``.eeg`` data).

    Markers become events labelled as MNE names them (``"Stimulus/S253"``); units are
    SI (electrode channels in V, conductance in S, temperature in degC).  Passing the
    ``.eeg`` data file works too when its ``.vhdr`` sits beside it.
    """
    import mne

    path = Path(path)
    if path.suffix.lower() == ".eeg":
        path = path.with_suffix(".vhdr")
    text = path.read_text(encoding="latin-1")
    if "Brain Vision Data Exchange Header File" not in text and "[Common Infos]" not in text:
        raise FormatError("not a BrainVision header (no 'Brain Vision Data Exchange Header "
                          "File' line or [Common Infos] section)", path=path)
    data_name = _vhdr_field(text, "DataFile")
    if not data_name:
        raise FormatError("BrainVision header has no DataFile= entry", path=path)
    sources = [path, _companion(path, data_name, "data")]
    marker = _vhdr_field(text, "MarkerFile")
    if marker:
        sources.append(_companion(path, marker, "marker"))
    return read_with_mne(path, "BrainVision",
                         lambda p: mne.io.read_raw_brainvision(p, verbose="error"),
                         loader="neurodata.io.read_brainvision", sources=sources,
                         channel_types=channel_types, subject=subject, session=session,
                         preload=preload)


def _sniff_brainvision_data(path: Path) -> bool:
    return path.with_suffix(".vhdr").exists()


# ----------------------------------------------------------------------------- EEGLAB
def _eeglab_data_file(path: Path) -> str | None:
    """Name of the external ``.fdt`` a ``.set`` refers to, or None if data is embedded."""
    import h5py

    if h5py.is_hdf5(path):  # MATLAB v7.3
        with h5py.File(path, "r") as f:
            grp = f["EEG"] if "EEG" in f else f
            if "data" in grp and grp["data"].dtype.kind in "u" and grp["data"].ndim == 2:
                return "".join(chr(c) for c in grp["data"][()].ravel())
        return None
    try:
        mat = safe_loadmat(path, squeeze_me=True, struct_as_record=False,
                           variable_names=["EEG", "data"])
    except Exception as exc:  # scipy raises ValueError/TypeError on non-MAT files
        raise FormatError(f"not a MATLAB file readable as EEGLAB .set ({exc})", path=path) \
            from exc
    data = getattr(mat["EEG"], "data", None) if "EEG" in mat else mat.get("data")
    if data is None:
        raise FormatError("no EEG.data field; not an EEGLAB dataset", path=path)
    return data if isinstance(data, str) else None


@verbose
def read_eeglab(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
                subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
                preload: bool = False, verbose: bool | str | None = None):
    """Read an EEGLAB dataset (``.set``, with its ``.fdt`` when the data is external).

    EEGLAB events become events (labels from ``type``); channel positions from
    ``chanlocs`` when present.
    """
    import mne

    path = Path(path)
    sources = [path]
    fdt = _eeglab_data_file(path)
    if fdt:
        sources.append(_companion(path, Path(fdt).name, "data (.fdt)"))
    return read_with_mne(path, "EEGLAB", lambda p: mne.io.read_raw_eeglab(p, verbose="error"),
                         loader="neurodata.io.read_eeglab", sources=sources,
                         channel_types=channel_types, subject=subject, session=session,
                         preload=preload)


# ----------------------------------------------------------------------------- Nihon Kohden
def _sniff_nihon(path: Path) -> bool:
    from mne.io.nihon.nihon import _valid_headers

    with open(path, "rb") as fh:
        head = fh.read(16).decode("latin-1", errors="replace")
    return head in _valid_headers


@verbose
def read_nihon(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
               subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
               preload: bool = False, verbose: bool | str | None = None):
    """Read a Nihon Kohden ``.EEG`` recording (with its ``.PNT``, ``.LOG``, ``.21E`` files).

    Not yet tested on a real Nihon Kohden file (none in our test data): MNE's reader
    does the parsing; we only check the header signature and convert.
    """
    import mne

    path = Path(path)
    if not _sniff_nihon(path):
        raise FormatError("not a Nihon Kohden EEG file (unknown device header)", path=path)
    sources = [path] + [p for p in (path.with_suffix(s) for s in (".PNT", ".LOG", ".21E"))
                        if p.exists()]
    return read_with_mne(path, "Nihon Kohden",
                         lambda p: mne.io.read_raw_nihon(p, verbose="error"),
                         loader="neurodata.io.read_nihon", sources=sources,
                         channel_types=channel_types, subject=subject, session=session,
                         preload=preload)


# ----------------------------------------------------------------------------- Persyst
def _lay_section(path: Path, name: str) -> dict[str, str] | None:
    """``key=value`` lines of one ``[section]`` of a .lay file (its [Comments] section
    holds CSV rows, so a strict INI parser rejects the file)."""
    out: dict[str, str] | None = None
    for line in path.read_text(encoding="latin-1").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            if out is not None:
                break
            if line[1:-1].strip().lower() == name.lower():
                out = {}
        elif out is not None and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip().lower()] = value.strip()
    return out


@verbose
def read_persyst(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
                 subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
                 preload: bool = False, verbose: bool | str | None = None):
    """Read a Persyst recording (``.lay`` INI header + ``.dat`` int16 samples)."""
    import mne

    path = Path(path)
    file_info = _lay_section(path, "FileInfo")
    if file_info is None:
        raise FormatError("Persyst .lay has no [FileInfo] section", path=path)
    dat = file_info.get("file") or path.with_suffix(".dat").name
    sources = [path, _companion(path, Path(dat.replace("\\", "/")).name, "data (.dat)")]
    return read_with_mne(path, "Persyst", lambda p: mne.io.read_raw_persyst(p, verbose="error"),
                         loader="neurodata.io.read_persyst", sources=sources,
                         channel_types=channel_types, subject=subject, session=session,
                         preload=preload)


# ----------------------------------------------------------------------------- FieldTrip
def _is_raw_struct(fields: set[str]) -> bool:
    return {"trial", "label"} <= fields and bool({"fsample", "time"} & fields)


def _fieldtrip_fields(path: Path, data_name: str = "data") -> tuple[str | None, set[str]]:
    """Fields of the FieldTrip raw struct: the variable ``data_name``, else the one struct
    variable that has the raw-data fields (a ``cfg`` beside ``data`` is common)."""
    import h5py

    structs: dict[str, set[str]] = {}
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            for key in f:
                if isinstance(f[key], h5py.Group):
                    structs[key] = set(f[key].keys())
    else:
        try:
            mat = safe_loadmat(path, squeeze_me=True, struct_as_record=False)
        except Exception:  # scipy's MatReadError/ValueError: not a MATLAB file we can read
            return None, set()
        structs = {k: set(v._fieldnames) for k, v in mat.items()
                   if not k.startswith("__") and hasattr(v, "_fieldnames")}
    if data_name in structs:
        return data_name, structs[data_name]
    raw = [k for k, f in structs.items() if _is_raw_struct(f)]
    return (raw[0], structs[raw[0]]) if len(raw) == 1 else (None, set())


def _sniff_fieldtrip(path: Path) -> bool:
    return _is_raw_struct(_fieldtrip_fields(path)[1])


@verbose
def read_fieldtrip(path: str | os.PathLike, *, data_name: str = "data",
                   channel_types: dict[str, str] | None = None,
                   subject: dict[str, Any] | None = None,
                   session: dict[str, Any] | None = None, verbose: bool | str | None = None):
    """Read continuous FieldTrip data saved from MATLAB (a ``.mat`` with a raw-data struct).

    The struct needs ``label``, ``trial`` (one trial: continuous data) and ``fsample``
    or ``time``.  Epoched FieldTrip data (several trials) is refused: it is not a
    continuous recording.
    """
    import mne

    path = Path(path)
    variable, fields = _fieldtrip_fields(path, data_name)
    if not _is_raw_struct(fields):
        raise FormatError(f"not FieldTrip raw data: expected a struct variable {data_name!r} "
                          "(or one struct) with 'label', 'trial' and 'fsample' or 'time' "
                          "fields", path=path)
    def open_raw(p: Path):
        with mne.utils.use_log_level("error"):  # this reader has no verbose argument
            return mne.io.read_raw_fieldtrip(p, info=None, data_name=variable)

    return read_with_mne(
        path, "FieldTrip", open_raw,
        loader="neurodata.io.read_fieldtrip", sources=[path], channel_types=channel_types,
        subject=subject, session=session, preload=False, parameters={"data_name": variable})


register_reader(ReaderSpec(
    "BrainVision", (".vhdr",), "EEG", read_brainvision, "mne.io.read_raw_brainvision",
    "signals in SI (V; S, degC for auxiliary channels), markers → events, positions when "
    "given"))
register_reader(ReaderSpec(
    "BrainVision data", (".eeg",), "EEG", read_brainvision, "mne.io.read_raw_brainvision",
    "the .eeg of a BrainVision set: read through the .vhdr beside it",
    sniff=_sniff_brainvision_data))
register_reader(ReaderSpec(
    "EEGLAB", (".set",), "EEG", read_eeglab, "mne.io.read_raw_eeglab",
    "signals in V (.set + .fdt), events, chanlocs positions"))
register_reader(ReaderSpec(
    "Nihon Kohden", (".eeg",), "EEG / iEEG", read_nihon, "mne.io.read_raw_nihon",
    "signals in V, annotations from .LOG → events (not tested on a real file yet)",
    sniff=_sniff_nihon))
register_reader(ReaderSpec(
    "Persyst", (".lay",), "EEG / iEEG", read_persyst, "mne.io.read_raw_persyst",
    "signals in V (.lay + .dat), comments → events"))
register_reader(ReaderSpec(
    "FieldTrip", (".mat",), "EEG / MEG / iEEG", read_fieldtrip, "mne.io.read_raw_fieldtrip",
    "continuous raw struct: signals, labels, rate", sniff=_sniff_fieldtrip))
