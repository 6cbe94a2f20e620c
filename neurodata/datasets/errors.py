"""Errors raised while fetching remote datasets (all subclasses of NeurodataError)."""

from __future__ import annotations

from ..errors import NeurodataError, _fmt

__all__ = ["DownloadError", "UnknownDatasetError", "UnverifiedDownloadError"]


class DownloadError(NeurodataError, OSError):
    """A download failed (HTTP error, no connection) or its checksum did not match.

    Nothing from a failed download is left in the data folder.
    """

    def __str__(self) -> str:  # OSError would otherwise format errno/filename
        return _fmt(self.path) + self.message


class UnknownDatasetError(NeurodataError, ValueError):
    """The dataset name is not in the registry; the message lists the known names."""


class UnverifiedDownloadError(NeurodataError, ValueError):
    """The registry has no checksum for a file, and the caller did not accept that.

    Pass ``known_hash=`` (a hash you obtained from the data provider) or
    ``allow_unverified=True`` to download anyway.
    """
