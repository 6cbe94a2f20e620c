"""FieldTrip continuous raw data saved from MATLAB (a ``.mat`` holding the struct)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from .._hdf5_links import refuse_external
from .._isolate import safe_loadmat
from .._registry import ReaderSpec, register_reader
from ..mne_formats import read_with_mne

__all__ = ["read_fieldtrip"]


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
                # only objects in this file: resolving an external link would open another
                if isinstance(f.get(key, getlink=True), h5py.HardLink) \
                        and isinstance(f[key], h5py.Group):
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
                   session: dict[str, Any] | None = None, allow_external: bool = False,
                   verbose: bool | str | None = None):
    """Read continuous FieldTrip data saved from MATLAB (a ``.mat`` with a raw-data struct).

    The struct needs ``label``, ``trial`` (one trial: continuous data) and ``fsample``
    or ``time``.  Epoched FieldTrip data (several trials) is refused: it is not a
    continuous recording.
    """
    import mne

    path = Path(path)
    refuse_external(path, "FieldTrip", allow_external)
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
    "FieldTrip", (".mat",), "EEG / MEG / iEEG", read_fieldtrip, "mne.io.read_raw_fieldtrip",
    "continuous raw struct: signals, labels, rate", sniff=_sniff_fieldtrip))
