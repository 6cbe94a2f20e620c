"""Nihon Kohden ``.EEG`` (with ``.PNT``, ``.LOG``, ``.21E``) through MNE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from .._registry import ReaderSpec, register_reader
from ..mne_formats import read_with_mne

__all__ = ["read_nihon"]


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


register_reader(ReaderSpec(
    "Nihon Kohden", (".eeg",), "EEG / iEEG", read_nihon, "mne.io.read_raw_nihon",
    "signals in V, annotations from .LOG → events (not tested on a real file yet)",
    sniff=_sniff_nihon))
