"""Helpers shared by the analysis commands that write a result folder.

A command stages its outputs in a temporary folder beside the target and renames it
into place at the end (:func:`staged_dir` / :func:`replace_dir`, which live in
:mod:`neurodata.atomic` so that library code can use them too), so an interrupted run
leaves no partial output and an earlier result survives until the new one is complete.
``result.json`` records the inputs' own provenance (:func:`input_provenance`) and is
strict JSON (:func:`neurodata.provenance.to_json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neurodata.atomic import replace_dir, staged_dir
from neurodata.provenance import to_json

__all__ = ["to_json", "input_provenance", "replace_dir", "staged_dir", "write_result"]


def input_provenance(path: Path) -> Any:
    """The recording's own provenance (sources, loader, steps), when it is a .h5 file."""
    import neurodata as nd

    if path.suffix.lower() not in (".h5", ".hdf5"):
        return None
    with nd.open(path) as rec:
        prov = dict(rec.provenance)
    return {k: prov.get(k) for k in ("loader", "sources", "parents", "steps")}


def write_result(path: Path, result: dict) -> None:
    """Write ``result`` as indented strict JSON."""
    path.write_text(json.dumps(to_json(result), indent=1))
