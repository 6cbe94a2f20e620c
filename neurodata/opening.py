"""One way to open an input: a converted recording (.h5) lazily, or a source file.

Analyses and commands accept either a converted recording or any file
:func:`neurodata.load` reads; :func:`read_any` is the one place that decides which, and
:func:`open_any` its context-manager form that closes the file afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import MissingFileError

__all__ = ["open_any", "read_any", "H5_SUFFIXES"]

#: Suffixes of converted recordings (read lazily with :func:`neurodata.open`).
H5_SUFFIXES = (".h5", ".hdf5")


def read_any(path: str | os.PathLike, **load_options: Any) -> Any:
    """A converted recording opened lazily, or a source file read; the one place that
    decides which.

    The caller owns the result: close a lazy ``.h5`` recording with ``close()`` (or use
    :func:`open_any`, which does).

    Parameters
    ----------
    path : path-like
        A ``.h5``/``.hdf5`` file written by ``neuroloom convert``, or any source file
        :func:`neurodata.load` reads.
    **load_options
        Passed to :func:`neurodata.load` for source files (e.g. ``format=``).

    Returns
    -------
    Recording

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    FormatError, ValidationError
        From the reader.
    """
    from .io import load
    from .recording import open_recording

    p = Path(path)
    if not p.exists():
        raise MissingFileError("no such recording; convert one with `neuroloom convert`",
                               path=p)
    if p.suffix.lower() in H5_SUFFIXES:
        return open_recording(p)
    return load(p, **load_options)


@contextlib.contextmanager
def open_any(path: str | os.PathLike, **load_options: Any) -> Iterator[Any]:
    """:func:`read_any` as a context manager: a lazy ``.h5`` recording is closed when the
    block ends (a source file read into a Recording is left to the garbage collector, as
    it holds no open file).

    Examples
    --------
    >>> import neurodata as nd
    >>> with nd.open_any(nd.sample_path("eegmmidb_s001r04")) as rec:
    ...     rec.timeseries["eeg"].shape
    (20000, 64)
    """
    rec = read_any(path, **load_options)
    if Path(path).suffix.lower() in H5_SUFFIXES:
        with rec:
            yield rec
    else:
        yield rec
