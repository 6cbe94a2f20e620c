"""Companion files a vendor header names (``DataFile=``, ``.fdt``, ``.dat``)."""

from __future__ import annotations

from pathlib import Path

from ...errors import MissingFileError

__all__ = ["companion"]


def companion(path: Path, name: str, what: str) -> Path:
    """Resolve a file a header refers to; error if it is missing."""
    target = path.parent / name
    if not target.exists():
        # vendors differ in case on case-insensitive systems; accept a case match
        matches = [p for p in path.parent.iterdir() if p.name.lower() == name.lower()]
        if matches:
            return matches[0]
        raise MissingFileError(
            f"the header points at the {what} file {name!r}, which does not exist in "
            f"{str(path.parent)!r}; copy it next to the header (or fix the header)",
            path=path,
        )
    return target
