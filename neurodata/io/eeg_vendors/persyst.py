"""Persyst ``.lay`` + ``.dat`` through MNE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from .._registry import ReaderSpec, register_reader
from ..mne_formats import read_with_mne
from ._companion import companion as _companion

__all__ = ["read_persyst"]


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


register_reader(ReaderSpec(
    "Persyst", (".lay",), "EEG / iEEG", read_persyst, "mne.io.read_raw_persyst",
    "signals in V (.lay + .dat), comments → events"))
