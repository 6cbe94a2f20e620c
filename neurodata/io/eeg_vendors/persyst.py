"""Persyst ``.lay`` + ``.dat`` through MNE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from ...recording import Recording
from .._base import register
from ..mne_formats import MNEReader
from ._companion import companion as _companion

__all__ = ["read_persyst", "PersystReader"]


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


class PersystReader(MNEReader):
    """Persyst ``.lay`` INI header + ``.dat`` int16 samples through MNE."""

    name = "Persyst"
    extensions = (".lay",)
    modality = "EEG / iEEG"
    library = "mne.io.read_raw_persyst"
    keeps = "signals in V (.lay + .dat), comments → events"
    loader = "neurodata.io.read_persyst"

    def read_header(self, path: Path) -> dict[str, Any]:
        file_info = _lay_section(path, "FileInfo")
        if file_info is None:
            raise FormatError("Persyst .lay has no [FileInfo] section", path=path)
        dat = file_info.get("file") or path.with_suffix(".dat").name
        return {"sources": [path, _companion(path, Path(dat.replace("\\", "/")).name,
                                             "data (.dat)")]}

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne

        return mne.io.read_raw_persyst(path, verbose="error")


_READER = register(PersystReader())


@verbose
def read_persyst(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
                 subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
                 preload: bool = False, verbose: bool | str | None = None) -> Recording:
    """Read a Persyst recording (``.lay`` INI header + ``.dat`` int16 samples).

    Examples
    --------
    >>> rec = read_persyst("rec.lay")  # doctest: +SKIP
    """
    return _READER(path, channel_types=channel_types, subject=subject, session=session,
                   preload=preload)
