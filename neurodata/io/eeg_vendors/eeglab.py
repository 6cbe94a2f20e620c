"""EEGLAB ``.set`` (+ ``.fdt``) through MNE; the data-file name is read from the ``.set``."""

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
from ._companion import companion as _companion

__all__ = ["read_eeglab", "EEGLABReader"]


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


class EEGLABReader(MNEReader):
    """EEGLAB ``.set`` (+ ``.fdt``) through MNE."""

    name = "EEGLAB"
    extensions = (".set",)
    modality = "EEG"
    library = "mne.io.read_raw_eeglab"
    keeps = "signals in V (.set + .fdt), events, chanlocs positions"
    loader = "neurodata.io.read_eeglab"

    def read_header(self, path: Path, *, allow_external: bool = False) -> dict[str, Any]:
        sources = [path]
        refuse_external(path, "EEGLAB .set", allow_external)
        fdt = _eeglab_data_file(path)
        if fdt:
            sources.append(_companion(path, Path(fdt).name, "data (.fdt)"))
        return {"sources": sources}

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne

        return mne.io.read_raw_eeglab(path, verbose="error")


_READER = register(EEGLABReader())


@verbose
def read_eeglab(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
                subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
                preload: bool = False, allow_external: bool = False,
                verbose: bool | str | None = None) -> Recording:
    """Read an EEGLAB dataset (``.set``, with its ``.fdt`` when the data is external).

    A MATLAB v7.3 (HDF5) ``.set`` with external links, virtual datasets or external
    storage is refused unless ``allow_external=True``.

    EEGLAB events become events (labels from ``type``); channel positions from
    ``chanlocs`` when present.

    Examples
    --------
    >>> rec = read_eeglab("sub-01_task-rest_eeg.set")  # doctest: +SKIP
    """
    return _READER(path, channel_types=channel_types, subject=subject, session=session,
                   preload=preload, allow_external=allow_external)
