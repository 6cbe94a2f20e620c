"""FieldTrip continuous raw data saved from MATLAB (a ``.mat`` holding the struct)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from ...recording import Recording
from .._base import register
from .._hdf5_links import refuse_external
from .._isolate import safe_loadmat
from ..mne_formats import MNEReader

__all__ = ["read_fieldtrip", "FieldTripReader"]


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


class FieldTripReader(MNEReader):
    """FieldTrip continuous raw data (a ``.mat`` raw-data struct) through MNE."""

    name = "FieldTrip"
    extensions = (".mat",)
    modality = "EEG / MEG / iEEG"
    library = "mne.io.read_raw_fieldtrip"
    keeps = "continuous raw struct: signals, labels, rate"
    loader = "neurodata.io.read_fieldtrip"

    def sniff(self, path: Path) -> bool:
        return _sniff_fieldtrip(path)

    def read_header(self, path: Path, *, data_name: str = "data",
                    allow_external: bool = False) -> dict[str, Any]:
        refuse_external(path, "FieldTrip", allow_external)
        variable, fields = _fieldtrip_fields(path, data_name)
        if not _is_raw_struct(fields):
            raise FormatError(f"not FieldTrip raw data: expected a struct variable "
                              f"{data_name!r} (or one struct) with 'label', 'trial' and "
                              "'fsample' or 'time' fields", path=path)
        return {"sources": [path], "variable": variable,
                "parameters": {"data_name": variable}}

    def read(self, path: Path, *, data_name: str = "data",
             channel_types: dict[str, str] | None = None,
             subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
             allow_external: bool = False) -> Recording:
        # FieldTrip data is in memory once MNE has it: no preload option
        return self.convert(path, self.read_header(path, data_name=data_name,
                                                   allow_external=allow_external),
                            channel_types=channel_types, subject=subject, session=session)

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne

        with mne.utils.use_log_level("error"):  # this reader has no verbose argument
            return mne.io.read_raw_fieldtrip(path, info=None, data_name=header["variable"])


_READER = register(FieldTripReader())


@verbose
def read_fieldtrip(path: str | os.PathLike, *, data_name: str = "data",
                   channel_types: dict[str, str] | None = None,
                   subject: dict[str, Any] | None = None,
                   session: dict[str, Any] | None = None, allow_external: bool = False,
                   verbose: bool | str | None = None) -> Recording:
    """Read continuous FieldTrip data saved from MATLAB (a ``.mat`` with a raw-data struct).

    The struct needs ``label``, ``trial`` (one trial: continuous data) and ``fsample``
    or ``time``.  Epoched FieldTrip data (several trials) is refused: it is not a
    continuous recording.

    Examples
    --------
    >>> rec = read_fieldtrip("ft_raw.mat")  # doctest: +SKIP
    """
    return _READER(path, data_name=data_name, channel_types=channel_types, subject=subject,
                   session=session, allow_external=allow_external)
