"""Nihon Kohden ``.EEG`` (with ``.PNT``, ``.LOG``, ``.21E``) through MNE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from ...recording import Recording
from .._base import register
from ..mne_formats import MNEReader

__all__ = ["read_nihon", "NihonReader"]


def _sniff_nihon(path: Path) -> bool:
    from mne.io.nihon.nihon import _valid_headers

    with open(path, "rb") as fh:
        head = fh.read(16).decode("latin-1", errors="replace")
    return head in _valid_headers


class NihonReader(MNEReader):
    """Nihon Kohden ``.EEG`` (with ``.PNT``, ``.LOG``, ``.21E``) through MNE."""

    name = "Nihon Kohden"
    extensions = (".eeg",)
    modality = "EEG / iEEG"
    library = "mne.io.read_raw_nihon"
    keeps = "signals in V, annotations from .LOG → events (not tested on a real file yet)"
    loader = "neurodata.io.read_nihon"

    def sniff(self, path: Path) -> bool:
        return _sniff_nihon(path)

    def read_header(self, path: Path) -> dict[str, Any]:
        if not _sniff_nihon(path):
            raise FormatError("not a Nihon Kohden EEG file (unknown device header)", path=path)
        return {"sources": [path] + [p for p in (path.with_suffix(s)
                                                 for s in (".PNT", ".LOG", ".21E"))
                                     if p.exists()]}

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne

        return mne.io.read_raw_nihon(path, verbose="error")


_READER = register(NihonReader())


@verbose
def read_nihon(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
               subject: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
               preload: bool = False, verbose: bool | str | None = None) -> Recording:
    """Read a Nihon Kohden ``.EEG`` recording (with its ``.PNT``, ``.LOG``, ``.21E`` files).

    Not yet tested on a real Nihon Kohden file (none in our test data): MNE's reader
    does the parsing; we only check the header signature and convert.

    Examples
    --------
    >>> rec = read_nihon("FA0001.EEG")  # doctest: +SKIP
    """
    return _READER(path, channel_types=channel_types, subject=subject, session=session,
                   preload=preload)
