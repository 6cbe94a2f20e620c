"""Result folders: one place for run folders, config hashes, provenance, figures and metrics.

Every command, benchmark and analysis that writes results uses this module, so every
result folder is written the same way:

* the folder is **staged** beside its target and renamed into place only when complete
  (:func:`run_folder`), so an interrupted run leaves no partial output and an earlier
  result survives until the new one is whole;
* the configuration is hashed from **stable JSON** (sorted keys, strict JSON values;
  :func:`stable_json`, :func:`config_hash`), so the same settings give the same hash on
  every machine;
* ``result.json`` / ``manifest.json`` carry **provenance**: the configuration, the software
  versions and every input file's size and sha256 (:func:`input_record`,
  :func:`result_header`), plus the recordings' own provenance (:func:`input_provenance`);
* figures are written and closed by :func:`save_figure`; metrics tables and JSON by
  :func:`write_csv` / :func:`write_json`, each file atomically (:mod:`neurodata.atomic`).

It sits in ``neurodata`` (the lowest layer) so that ``connectome``, ``decoders`` and
``pipelines`` can all use it.

Examples
--------
>>> import tempfile, pathlib
>>> from neurodata.results import config_hash, run_folder, write_json
>>> cfg = {"bin_s": 0.05, "states": 3}
>>> config_hash(cfg, length=12)
'6b47927ce5df'
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> with run_folder(out) as tmp:
...     _ = write_json(tmp / "result.json", {"config": cfg, "config_hash": config_hash(cfg)})
>>> sorted(p.name for p in out.iterdir())
['result.json']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .atomic import atomic_path, replace_dir, staged_dir
from .errors import MissingFileError, ValidationError
from .provenance import sha256_file, software_versions, to_json

__all__ = [
    "RESULT_VERSION",
    "ANALYSIS_SOFTWARE",
    "stable_json",
    "config_hash",
    "input_record",
    "input_provenance",
    "result_header",
    "software_versions",
    "check_output_folder",
    "run_folder",
    "replace_dir",
    "staged_dir",
    "save_figure",
    "write_json",
    "write_csv",
    "write_text",
    "file_hashes",
    "load_yaml_mapping",
    "to_json",
]

#: Version of the result-folder layout written by the analysis commands; bump when a file
#: in a result folder changes meaning.
RESULT_VERSION = "1.0"

#: Libraries whose versions every analysis result records (callers add their own).
ANALYSIS_SOFTWARE = ("numpy", "scipy", "h5py", "pandas", "matplotlib", "scikit-learn")


def stable_json(obj: Any) -> str:
    """Canonical JSON of ``obj``: strict values (:func:`neurodata.provenance.to_json`),
    sorted keys, so equal settings give equal text (and equal hashes)."""
    return json.dumps(to_json(obj), sort_keys=True)


def config_hash(obj: Any, *, length: int | None = None) -> str:
    """SHA-256 hex digest of :func:`stable_json` of ``obj``.

    Parameters
    ----------
    obj : JSON-like
        Configuration (and, where it names the run, the inputs' sha256).
    length : int or None
        Keep the first ``length`` hex characters (e.g. 12 for a folder name); None keeps
        all 64.

    Returns
    -------
    str
    """
    digest = hashlib.sha256(stable_json(obj).encode()).hexdigest()
    return digest if length is None else digest[:length]


def input_record(path: str | os.PathLike, *, role: str | None = None) -> dict[str, Any]:
    """Provenance record of one input file of a result: absolute path, size, sha256 and,
    when given, its ``role`` (``"recording"``, ``"structural"``...)."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError("input file not found", path=p)
    rec: dict[str, Any] = {"path": str(p.absolute()), "size": p.stat().st_size,
                           "sha256": sha256_file(p)}
    if role is not None:
        rec["role"] = role
    return rec


def input_provenance(path: str | os.PathLike) -> Any:
    """The recording's own provenance (sources, loader, parents, steps) when ``path`` is a
    converted recording (.h5); None for a source file."""
    from . import open as nd_open

    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        return None
    with nd_open(path) as rec:
        prov = dict(rec.provenance)
    return {k: prov.get(k) for k in ("loader", "sources", "parents", "steps")}


def result_header(
    *,
    format: str,
    command: str,
    config: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    packages: Iterable[str] = ANALYSIS_SOFTWARE,
    input_provenance: Any = None,
    result_version: str = RESULT_VERSION,
) -> dict[str, Any]:
    """The provenance part of a ``result.json``.

    The config hash covers the configuration and the inputs' sha256 (so the same settings
    on changed data give a new hash).

    Parameters
    ----------
    format : str
        Name of the result kind, e.g. ``"neuroloom.glmhmm_result"``.
    command : str
        What produced it, e.g. ``"neuroloom glmhmm"``.
    config : mapping
        The resolved settings.
    inputs : list of dict
        :func:`input_record` of every input file.
    packages : iterable of str
        Libraries whose installed versions are recorded (neuroloom is always recorded).
    input_provenance : object
        The inputs' own provenance (:func:`input_provenance`), stored as given.
    result_version : str
        Layout version of this result kind.

    Returns
    -------
    dict
        ``format``, ``result_version``, ``command``, ``config``, ``config_hash``,
        ``inputs``, ``input_provenance`` and ``software``, in that order.
    """
    chash = config_hash({"config": config, "inputs": [i["sha256"] for i in inputs]})
    return {"format": format, "result_version": result_version, "command": command,
            "config": dict(config), "config_hash": chash, "inputs": inputs,
            "input_provenance": input_provenance, "software": software_versions(*packages)}


def check_output_folder(out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse an existing result folder unless ``overwrite``; call it before long work.

    Raises
    ------
    ValidationError
        ``out`` exists and ``overwrite`` is False.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise ValidationError(
            "output folder exists; pass --overwrite to replace it or choose another -o",
            path=out)
    return out


@contextlib.contextmanager
def run_folder(out: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a staging folder that atomically becomes ``out`` when the block succeeds.

    The parent folder is created.  On any error the staging folder is removed and an
    earlier ``out`` is left as it was.

    Parameters
    ----------
    out : path
        The result folder.
    overwrite : bool, default=True
        With False, an existing ``out`` raises :class:`~neurodata.errors.ValidationError`
        before anything is written.
    """
    out = check_output_folder(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    with staged_dir(out) as tmp:
        yield tmp


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 110,
                tight: bool = True) -> Path:
    """Write a matplotlib figure (PNG from the suffix) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path
        Target file; its folder is created.
    dpi : int, default=110
    tight : bool, default=True
        Crop to the drawn content (``bbox_inches="tight"``).

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if tight:
            fig.savefig(path, dpi=dpi, bbox_inches="tight")
        else:
            fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` atomically (temporary file, fsync, rename); replaces ``path``."""
    path = Path(path)
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(text)
    return path


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 1,
               newline: bool = False) -> Path:
    """Write ``obj`` as strict JSON (NaN → null, arrays → lists) atomically."""
    return write_text(path, json.dumps(to_json(obj), indent=indent) + ("\n" if newline else ""))


def write_csv(path: str | os.PathLike, table: Any, **to_csv: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically (``index=False`` unless given)."""
    path = Path(path)
    to_csv.setdefault("index", False)
    with atomic_path(path, overwrite=True) as tmp:
        table.to_csv(tmp, **to_csv)
    return path


def file_hashes(folder: str | os.PathLike, names: Iterable[str]) -> dict[str, str]:
    """sha256 of each file ``names`` (relative to ``folder``), for a result's ``files``."""
    folder = Path(folder)
    return {name: sha256_file(folder / name) for name in names}


def load_yaml_mapping(path: str | os.PathLike, *, what: str = "config") -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (``yaml.safe_load``: nothing runs).

    Raises
    ------
    MissingFileError
        The file does not exist.
    ValidationError
        Not valid YAML, or the top level is not a mapping.
    """
    import yaml

    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{what} not found", path=path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValidationError(f"not valid YAML ({exc})", path=path) from None
    if not isinstance(raw, dict):
        raise ValidationError(f"expected a YAML mapping at the top; got "
                              f"{type(raw).__name__}", path=path)
    return raw
