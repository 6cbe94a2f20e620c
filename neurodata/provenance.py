"""Provenance: what produced a recording (sources with sha256, loader, parameters, parents).

The ``provenance`` root attribute of every file is JSON with these keys::

    sources     list of {"path", "name", "size", "sha256"} for every input file
    loader      dotted name of the function that read the sources
    parameters  the loader's arguments (JSON-serialisable)
    parents     list of {"path", "sha256"} of recordings this one was derived from
    steps       list of {"name", "parameters"} processing steps applied, in order
    software    versions of neuroloom and the libraries that did the reading
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import stat
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "sha256_file", "file_record", "make_provenance", "software_versions", "NEUROLOOM_VERSION",
    "to_json",
]

try:
    NEUROLOOM_VERSION = metadata.version("neuroloom")
except metadata.PackageNotFoundError:  # running from a source tree without install
    NEUROLOOM_VERSION = "0.1.0+unknown"

_HASH_BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a regular file, read in 1 MiB blocks.

    Raises
    ------
    FormatError
        ``path`` is not a regular file (a FIFO would block, ``/dev/zero`` never ends).
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        from .errors import FormatError

        raise FormatError("not a regular file (FIFO, device or socket); only regular "
                          "files are hashed for provenance", path=path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_HASH_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def file_record(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance record of one input file: absolute path, name, size and sha256."""
    p = Path(path).resolve()
    return {"path": str(p), "name": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)}


@functools.lru_cache(maxsize=64)
def _version(name: str) -> str:
    # importlib.metadata scans site-packages (~5 ms a call); versions do not change
    # within a process.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def software_versions(*packages: str) -> dict[str, str]:
    """Installed versions of neuroloom and the named packages."""
    return {"neuroloom": NEUROLOOM_VERSION, **{name: _version(name) for name in packages}}


def to_json(value: Any) -> Any:
    """Nested dicts / lists / arrays / numpy scalars / paths → strict JSON values.

    Non-finite floats become ``null`` (strict JSON has no NaN); objects JSON cannot hold
    become their ``repr``.
    """
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if hasattr(value, "tolist"):
        return to_json(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    return repr(value)


def make_provenance(
    *,
    sources: list[str | os.PathLike] | None = None,
    loader: str | None = None,
    parameters: dict[str, Any] | None = None,
    parents: list[dict[str, Any]] | None = None,
    steps: list[dict[str, Any]] | None = None,
    packages: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Build a provenance dictionary (hashing every source file)."""
    return {
        "sources": [file_record(s) for s in (sources or [])],
        "loader": loader,
        "parameters": to_json(parameters or {}),
        "parents": to_json(parents or []),
        "steps": to_json(steps or []),
        "software": software_versions("numpy", "h5py", *packages),
    }


def dumps(prov: dict[str, Any]) -> str:
    """Serialise provenance to the JSON string stored in the file."""
    return json.dumps(to_json(prov), sort_keys=True)
