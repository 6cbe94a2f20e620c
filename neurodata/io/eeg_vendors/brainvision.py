"""BrainVision (``.vhdr`` header, ``.vmrk`` markers, ``.eeg`` data) through MNE."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...log import verbose
from ...recording import Recording
from .._base import register
from ..mne_formats import MNEReader
from ._companion import companion as _companion

__all__ = ["read_brainvision", "BrainVisionReader"]


def _vhdr_field(text: str, key: str) -> str | None:
    m = re.search(rf"^\s*{key}\s*=\s*(.+?)\s*$", text, flags=re.MULTILINE)
    return m.group(1) if m else None


class BrainVisionReader(MNEReader):
    """BrainVision ``.vhdr`` header (+ ``.vmrk`` markers, ``.eeg`` data) through MNE."""

    name = "BrainVision"
    extensions = (".vhdr",)
    modality = "EEG"
    library = "mne.io.read_raw_brainvision"
    keeps = ("signals in SI (V; S, degC for auxiliary channels), markers → events, "
             "positions when given")
    loader = "neurodata.io.read_brainvision"

    def read_header(self, path: Path) -> dict[str, Any]:
        if path.suffix.lower() == ".eeg":
            path = path.with_suffix(".vhdr")
        text = path.read_text(encoding="latin-1")
        if "Brain Vision Data Exchange Header File" not in text and "[Common Infos]" not in text:
            raise FormatError("not a BrainVision header (no 'Brain Vision Data Exchange "
                              "Header File' line or [Common Infos] section)", path=path)
        data_name = _vhdr_field(text, "DataFile")
        if not data_name:
            raise FormatError("BrainVision header has no DataFile= entry", path=path)
        sources = [path, _companion(path, data_name, "data")]
        marker = _vhdr_field(text, "MarkerFile")
        if marker:
            sources.append(_companion(path, marker, "marker"))
        return {"path": path, "sources": sources}

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne

        return mne.io.read_raw_brainvision(path, verbose="error")


class BrainVisionDataReader(BrainVisionReader):
    """The ``.eeg`` data file of a BrainVision set, read through the ``.vhdr`` beside it."""

    name = "BrainVision data"
    extensions = (".eeg",)
    keeps = "the .eeg of a BrainVision set: read through the .vhdr beside it"

    def sniff(self, path: Path) -> bool:
        return path.with_suffix(".vhdr").exists()


_READER = register(BrainVisionReader())
register(BrainVisionDataReader())


@verbose
def read_brainvision(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
                     subject: dict[str, Any] | None = None,
                     session: dict[str, Any] | None = None, preload: bool = False,
                     verbose: bool | str | None = None) -> Recording:
    """Read a BrainVision recording (``.vhdr`` header + ``.vmrk`` markers + ``.eeg`` data).

    Markers become events labelled as MNE names them (``"Stimulus/S253"``); units are
    SI (electrode channels in V, conductance in S, temperature in degC).  Passing the
    ``.eeg`` data file works too when its ``.vhdr`` sits beside it.

    Examples
    --------
    >>> rec = read_brainvision("sub-01_task-rest_eeg.vhdr")  # doctest: +SKIP
    """
    return _READER(path, channel_types=channel_types, subject=subject, session=session,
                   preload=preload)
