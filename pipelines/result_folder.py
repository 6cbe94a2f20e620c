"""Old import path of the result-folder helpers; they live in :mod:`neurodata.results`.

Kept so that code written against ``pipelines.result_folder`` keeps working; new code
imports :mod:`neurodata.results` (one implementation for every command, the benchmark
runner and the decoders).
"""

from __future__ import annotations

from pathlib import Path

from neurodata.results import input_provenance, replace_dir, staged_dir, to_json, write_json

__all__ = ["to_json", "input_provenance", "replace_dir", "staged_dir", "write_result"]


def write_result(path: Path, result: dict) -> None:
    """Write ``result`` as indented strict JSON (atomically)."""
    write_json(path, result)
