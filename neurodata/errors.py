"""Exceptions raised by neuroloom.

Every error names the file (when there is one), what was expected and what was
found, and ends with what to do.  The CLI prints ``str(error)`` as one line and exits
with a non-zero status.

Hierarchy::

    NeurodataError
    ├── MissingFileError    (also FileNotFoundError)
    ├── FormatError         (also ValueError): not the expected file format
    │   └── VersionError    file written by a newer neuroloom
    ├── ValidationError     (also ValueError): content breaks the format contract
    ├── SliceError          (also IndexError): a time or sample range outside the data
    ├── MissingDependencyError (also ImportError): an optional package is not installed
    └── WriteError          (also OSError): an output could not be written
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

__all__ = [
    "NeurodataError",
    "MissingFileError",
    "FormatError",
    "VersionError",
    "ValidationError",
    "SliceError",
    "MissingDependencyError",
    "WriteError",
]


def _fmt(path: str | PathLike | None) -> str:
    return f"{str(path)!s}: " if path is not None else ""


class NeurodataError(Exception):
    """Base class of every error neuroloom raises on bad input.

    Parameters
    ----------
    message : str
        What was expected, what was found and what to do.
    path : path-like or None
        The file the error is about; it is prefixed to the message.
    """

    def __init__(self, message: str, path: str | PathLike | None = None):
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(_fmt(path) + message)


class MissingFileError(NeurodataError, FileNotFoundError):
    """An input file or folder does not exist."""

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno/filename
        return _fmt(self.path) + self.message


class FormatError(NeurodataError, ValueError):
    """A file is not in the format that was expected (wrong type, missing markers)."""


class VersionError(FormatError):
    """A file was written with a newer version of the format than this library reads."""


class ValidationError(NeurodataError, ValueError):
    """Content breaks the format contract.

    Parameters
    ----------
    message : str
        Summary of the problem.
    path : path-like or None
        The file concerned.
    violations : sequence of str
        Every violation found, one per entry (``validate`` collects all of them).
    """

    def __init__(
        self,
        message: str,
        path: str | PathLike | None = None,
        violations: Sequence[str] = (),
    ):
        self.violations = list(violations)
        super().__init__(message, path)


class SliceError(NeurodataError, IndexError):
    """A requested time or sample range lies outside the recording."""


class WriteError(NeurodataError, OSError):
    """An output could not be written; any earlier file at that path is untouched."""

    def __str__(self) -> str:
        return _fmt(self.path) + self.message


class MissingDependencyError(NeurodataError, ImportError):
    """An optional package is not installed (also an ``ImportError``, which the CLI prints
    as one line); the message says what to install."""
