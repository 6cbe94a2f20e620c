"""The registry of source-format readers and :func:`load`, which picks one by extension."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FormatError, MissingFileError

__all__ = ["ReaderSpec", "register_reader", "supported_formats", "find_reader", "load"]


@dataclass(frozen=True)
class ReaderSpec:
    """One source format: how to recognise it and which function reads it.

    Parameters
    ----------
    name : str
        Format name (``format=`` in :func:`load`).
    extensions : tuple of str
        Lower-case name endings (``".edf"``, ``".nii.gz"``); for folder formats, the
        names the folder may have ("" matches any folder).
    modality, library, keeps : str
        Documentation: what the format holds, which library parses it, what we keep.
    reader : callable
        ``reader(path, **options) -> Recording``.
    folder : bool
        The format is a folder (suite2p plane, BIDS root, ...) rather than a file.
    sniff : callable or None
        ``sniff(path) -> bool`` looks at the content.  When several formats share an
        extension (``.mat``, ``.eeg``, files inside a BIDS tree), the ones whose sniff
        accepts the file win, in registration order (newest first); formats without
        ``sniff`` are the fallback.
    """

    name: str
    extensions: tuple[str, ...]
    modality: str
    reader: Callable[..., Any]
    library: str
    keeps: str
    folder: bool = False
    sniff: Callable[[Path], bool] | None = None


_READERS: list[ReaderSpec] = []


def register_reader(spec: ReaderSpec) -> ReaderSpec:
    """Add a reader; later registrations win for the same extension.

    ``spec.reader`` may be a :class:`~neurodata.io.Reader` instance or a plain function
    ``reader(path, **options) -> Recording``; a function is wrapped in the reader base,
    so :func:`load` gives it the same path checks, error wrapping and provenance keys.
    """
    from ._base import FunctionReader, Reader

    if not isinstance(spec.reader, Reader):
        spec = ReaderSpec(spec.name, spec.extensions, spec.modality, FunctionReader(spec),
                          spec.library, spec.keeps, folder=spec.folder, sniff=spec.sniff)
    _READERS[:] = [s for s in _READERS if s.name != spec.name]
    _READERS.insert(0, spec)
    return spec


def supported_formats() -> pd.DataFrame:
    """Table of supported formats: name, extensions, modality, library, what is kept."""
    rows = [{"format": s.name, "extensions": " ".join(s.extensions), "modality": s.modality,
             "reader": s.library, "keeps": s.keeps} for s in reversed(_READERS)]
    return pd.DataFrame(rows)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for spec in _READERS:
        for ext in spec.extensions:
            if ext and name.endswith(ext):
                return ext
    return path.suffix.lower()


def find_reader(path: str | os.PathLike, format: str | None = None) -> ReaderSpec:
    """The reader for ``path`` (by ``format`` name or file extension)."""
    p = Path(path)
    if format is not None:
        for spec in _READERS:
            if spec.name.lower() == format.lower():
                return spec
        raise FormatError(f"unknown format {format!r}; supported: "
                          f"{sorted({s.name for s in _READERS})}", path=p)
    name = p.name.lower()
    candidates = [s for s in _READERS if s.folder == p.is_dir()
                  and any(name.endswith(ext) for ext in s.extensions)]
    for spec in candidates:
        if spec.sniff is not None:
            try:
                if spec.sniff(p):
                    return spec
            except Exception:  # a sniff that cannot parse the content: not its format
                continue
    fallback = [s for s in candidates if s.sniff is None]
    if fallback:
        return fallback[0]
    if candidates:
        raise FormatError(
            f"the content matches none of the formats using this extension "
            f"({', '.join(s.name for s in candidates)})", path=p)
    listing = ", ".join(f"{s.name} ({' '.join(s.extensions) if not s.folder else 'folder'})"
                        for s in reversed(_READERS))
    raise FormatError(
        f"unsupported file type {_suffix(p) or '(no extension)'!r}; supported formats: {listing}",
        path=p,
    )


def load(path: str | os.PathLike, *, format: str | None = None, **kwargs: Any):
    """Read any supported source file into a :class:`~neurodata.Recording`.

    The reader is chosen from the file extension (or ``format``); extra keyword
    arguments go to it.  Data stays in the source file until sliced or saved.

    Parameters
    ----------
    path : path-like
        The source file (EDF, BDF, FIF, ... see :func:`supported_formats`).
    format : str or None
        Force a reader by name (e.g. ``"EDF"``).
    **kwargs
        Reader options (e.g. ``channel_types={"LA1": "seeg"}``, ``verbose=False``).

    Returns
    -------
    Recording

    Raises
    ------
    MissingFileError
        The file does not exist.
    FormatError
        Unknown extension (the message lists the supported formats) or a file the
        reader cannot parse.

    Examples
    --------
    >>> import neurodata as nd
    >>> rec = nd.load(nd.sample_path("eegmmidb_s001r04"))
    >>> rec.timeseries["eeg"].rate
    160.0
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError("no such file or folder; check the path", path=p)
    if not p.is_dir() and not p.is_file():  # a FIFO or device would block or never end
        raise FormatError("is a FIFO, device or socket, not a regular file; expected a "
                          "recording file or folder", path=p)
    spec = find_reader(p, format)
    return spec.reader(p, **kwargs)
