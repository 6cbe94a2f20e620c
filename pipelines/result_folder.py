"""Helpers shared by the analysis commands that write a result folder.

A command stages its outputs in a temporary folder beside the target and renames it
into place at the end (:func:`replace_dir`), so an interrupted run leaves no partial
output and an earlier result survives until the new one is complete.  ``result.json``
records the inputs' own provenance (:func:`input_provenance`) and is strict JSON
(:func:`to_json`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["to_json", "input_provenance", "replace_dir", "staged_dir", "write_result"]


def to_json(x: Any) -> Any:
    """Nested dicts/lists/arrays/numpy scalars/paths → strict JSON values (NaN/inf → null)."""
    if isinstance(x, dict):
        return {str(k): to_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [to_json(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_json(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return x


def input_provenance(path: Path) -> Any:
    """The recording's own provenance (sources, loader, steps), when it is a .h5 file."""
    import neurodata as nd

    if path.suffix.lower() not in (".h5", ".hdf5"):
        return None
    with nd.open(path) as rec:
        prov = dict(rec.provenance)
    return {k: prov.get(k) for k in ("loader", "sources", "parents", "steps")}


def replace_dir(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is removed only after that succeeds."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out``, on any
    error it is removed and ``out`` is left as it was."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_result(path: Path, result: dict) -> None:
    """Write ``result`` as indented strict JSON."""
    path.write_text(json.dumps(to_json(result), indent=1))
