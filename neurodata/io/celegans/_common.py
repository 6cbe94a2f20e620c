"""Shared by the C. elegans readers: the species name and guarded JSON/head reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import FormatError, MissingFileError

__all__ = ["SPECIES", "read_json", "head"]

SPECIES = "Caenorhabditis elegans"


def read_json(path: Path) -> Any:
    """The parsed JSON document; errors name the file."""
    if not path.exists():
        raise MissingFileError("no such file; check the path", path=path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"is not valid JSON ({exc}); expected a JSON document",
                          path=path) from exc


def head(path: Path, n: int = 4096) -> str:
    """The first ``n`` bytes as text (for sniffing)."""
    with open(path, "rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")
