"""One way to open an input: a converted recording (.h5) lazily, or a source file.

Analyses and commands accept either a converted recording or any file
:func:`neurodata.load` reads; :func:`open_any` is the one place that decides which and
closes the file afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import MissingFileError

__all__ = ["open_any", "H5_SUFFIXES"]

#: Suffixes of converted recordings (read lazily with :func:`neurodata.open`).
H5_SUFFIXES = (".h5", ".hdf5")


@contextlib.contextmanager
def open_any(path: str | os.PathLike, **load_options: Any) -> Iterator[Any]:
    """Open a converted recording lazily, or read a source file, as a context manager.

    Parameters
    ----------
    path : path-like
        A ``.h5``/``.hdf5`` file written by ``neuroloom convert`` (opened lazily and
        closed when the block ends), or any source file :func:`neurodata.load` reads.
    **load_options
        Passed to :func:`neurodata.load` for source files (e.g. ``format=``).

    Yields
    ------
    Recording

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    FormatError, ValidationError
        From the reader.

    Examples
    --------
    >>> import neurodata as nd
    >>> with nd.open_any(nd.sample_path("eegmmidb_s001r04")) as rec:
    ...     rec.timeseries["eeg"].shape
    (20000, 64)
    """
    from .io import load
    from .recording import open_recording

    p = Path(path)
    if not p.exists():
        raise MissingFileError("no such recording; convert one with `neuroloom convert`",
                               path=p)
    if p.suffix.lower() in H5_SUFFIXES:
        with open_recording(p) as rec:
            yield rec
    else:
        yield load(p, **load_options)
