"""Batch conversion of many sources into one output folder, with an index.

``convert_many(inputs, out_dir)`` accepts files, folders (searched recursively for
anything a reader accepts) and BIDS roots; converts in parallel processes; skips
outputs that are up to date (every source file recorded in the output's provenance
still has the same sha256 and the reader options are the same); and writes
``index.csv`` in ``out_dir`` listing every source with its status.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import pandas as pd

from .atomic import atomic_path
from .errors import MissingFileError, NeurodataError, WriteError
from .io import find_reader
from .io.bids import bids_recordings, find_bids_root
from .log import logger, progress_enabled, verbose
from .provenance import sha256_file

__all__ = ["ConversionTask", "plan_conversion", "convert_many", "INDEX_NAME", "INDEX_COLUMNS"]

INDEX_NAME = "index.csv"
INDEX_COLUMNS = ["source", "output", "status", "error", "format", "sha256", "subject",
                 "session", "task", "modalities", "n_channels", "duration_s", "n_events",
                 "converted_at"]
# Companion files that belong to another file's recording (not converted on their own).
_COMPANION_FORMATS = {"BrainVision data"}
# MNE's derived FIF files (events, epochs, evoked, solutions ...) are not recordings.
_DERIVED_FIF = ("-eve.fif", "_eve.fif", "-epo.fif", "_epo.fif", "-ave.fif", "_ave.fif",
                "-cov.fif", "-fwd.fif", "-inv.fif", "-trans.fif", "-sol.fif", "-annot.fif")


@dataclass(frozen=True)
class ConversionTask:
    """One source to convert and where its output goes."""

    source: Path
    output: Path
    format: str
    options: dict[str, Any] = field(default_factory=dict)


def _reader_name(path: Path) -> str | None:
    try:
        return find_reader(path).name
    except NeurodataError:
        return None


def _output_for(source: Path, base: Path, out_dir: Path) -> Path:
    rel = source.relative_to(base) if source != base else Path(source.name)
    name = rel.name
    for ext in (".nii.gz", ".fif.gz"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    else:
        name = Path(name).stem
    return out_dir / rel.parent / f"{name}.h5"


def _walk(folder: Path) -> list[tuple[Path, str]]:
    """Convertible sources under ``folder`` (folder formats are not descended into)."""
    found = []
    fmt = _reader_name(folder)
    if fmt is not None and fmt != "BIDS dataset":
        return [(folder, fmt)]
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):  # hidden, and our own temporary files
            continue
        if entry.is_dir():
            found += _walk(entry)
        elif not entry.is_file():  # FIFOs, devices, sockets: opening one could block
            continue
        else:
            fmt = _reader_name(entry)
            if entry.name.lower().endswith(_DERIVED_FIF):
                continue
            if fmt is not None and fmt not in _COMPANION_FORMATS:
                found.append((entry, fmt))
    return found


def plan_conversion(inputs: list[str | os.PathLike], out_dir: str | os.PathLike,
                    options: dict[str, Any] | None = None) -> list[ConversionTask]:
    """Expand files, folders and BIDS roots into conversion tasks (outputs mirror the
    input layout under ``out_dir``)."""
    out = Path(out_dir)
    tasks: list[ConversionTask] = []
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise MissingFileError("no such file or folder; check the path", path=p)
        if p.is_dir() and (p / "dataset_description.json").is_file():
            for f in bids_recordings(p):
                tasks.append(ConversionTask(f, _output_for(f, p, out), "BIDS",
                                            dict(options or {})))
        elif p.is_dir():
            for f, fmt in _walk(p):
                tasks.append(ConversionTask(f, _output_for(f, p, out), fmt, dict(options or {})))
        else:
            fmt = find_reader(p).name
            root = find_bids_root(p.parent) if fmt == "BIDS" else None
            target = _output_for(p, root, out) if root else out / _output_for(p, p, Path()).name
            tasks.append(ConversionTask(p, target, fmt, dict(options or {})))
    outputs = [t.output for t in tasks]
    dup = {o for o in outputs if outputs.count(o) > 1}
    if dup:
        raise NeurodataError(f"several sources would write the same output(s) {sorted(dup)[:3]}"
                             "; convert them into separate folders")
    return tasks


def _source_root(source: Path) -> Path:
    """Folder that every source file of one conversion must lie in: the BIDS root for
    a file inside a BIDS dataset (sidecars are inherited from above), else the folder of
    the source (a folder source is its own root)."""
    src = source.resolve()
    base = src if src.is_dir() else src.parent
    root = find_bids_root(base)
    return Path(root).resolve() if root else base


def is_up_to_date(task: ConversionTask) -> bool:
    """True when the output exists and was made from identical sources and options.

    The provenance read here comes from the output file, which may have been planted or
    damaged: source entries outside the source's root, non-regular files (a FIFO or
    ``/dev/zero`` would block or hash forever) and malformed entries make the output
    out of date (it is reconverted) instead of being opened.
    """
    if not task.output.is_file():
        return False
    try:
        with h5py.File(task.output, "r") as f:
            prov = json.loads(f.attrs["provenance"])
        sources = prov.get("sources") or []
        if not sources or Path(sources[0]["path"]) != task.source.resolve():
            return False
        root = _source_root(task.source)
        for src in sources:
            p = Path(str(src["path"])).resolve()
            if p != root and root not in p.parents:
                logger.warning("%s: provenance source %s lies outside %s; reconverting",
                               task.output, p, root)
                return False
            st = p.stat()
            if not stat.S_ISREG(st.st_mode) or st.st_size != int(src["size"]):
                return False
            if sha256_file(p) != src["sha256"]:
                return False
        stored = prov.get("parameters", {})
        return all(stored.get(k) == v for k, v in task.options.items())
    except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError,
            NeurodataError):
        return False


def _summary_row(task: ConversionTask, status: str, error: str = "") -> dict[str, Any]:
    row = {c: "" for c in INDEX_COLUMNS}
    row.update(source=str(task.source), output=str(task.output), status=status, error=error,
               format=task.format)
    if status in ("converted", "skipped"):
        from .recording import open_recording

        with open_recording(task.output) as rec:
            s = rec.summary()
        row.update(
            sha256=rec.provenance["sources"][0]["sha256"] if rec.provenance["sources"] else "",
            subject=s["subject"].get("id", ""), session=s["session"].get("id", ""),
            task=s["session"].get("task", "") or "",
            modalities=" ".join(sorted({t["modality"] for t in s["timeseries"]})),
            n_channels=sum(t["n_channels"] for t in s["timeseries"]),
            duration_s=s["duration_s"], n_events=s["events"]["n_events"],
            converted_at=s["created"])
    return row


def _run_task(task: ConversionTask, force: bool) -> dict[str, Any]:
    """Convert one source (in a worker process); never raises for bad input."""
    from .io import load
    from .validate import validate

    try:
        if not force and is_up_to_date(task):
            return _summary_row(task, "skipped")
        task.output.parent.mkdir(parents=True, exist_ok=True)
        rec = load(task.source, format=task.format, **task.options)
        from .naming import apply_metadata  # subject/run from BIDS and EEGMMIDB file names

        apply_metadata(rec, from_name=task.source)
        rec.save(task.output, overwrite=True)
        validate(task.output).raise_if_invalid()
        return _summary_row(task, "converted")
    except NeurodataError as exc:
        return _summary_row(task, "failed", " ".join(str(exc).split()))
    except Exception as exc:  # a reader bug must not stop the batch; it is reported
        return _summary_row(task, "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}")


@verbose
def convert_many(inputs: list[str | os.PathLike], out_dir: str | os.PathLike, *,
                 jobs: int = 1, force: bool = False, options: dict[str, Any] | None = None,
                 progress: bool | None = None,
                 verbose: bool | str | None = None) -> pd.DataFrame:
    """Convert files, folders and BIDS roots into ``out_dir``; return the index table.

    Parameters
    ----------
    inputs : list of path-like
        Source files, folders (searched recursively) and BIDS dataset roots.
    out_dir : path-like
        Output folder (created); outputs mirror the input layout, ``*.h5``.
    jobs : int, default=1
        Worker processes.
    force : bool, default=False
        Convert even outputs that are up to date.
    options : dict or None
        Reader options for every source (e.g. ``{"preload": True}``).
    progress : bool or None
        Show a progress bar (default: when the log level is INFO or lower).
    verbose : bool or str or None
        Log level for this call.

    Returns
    -------
    pandas.DataFrame
        One row per source of this call (columns :data:`INDEX_COLUMNS`); ``status`` is
        "converted", "skipped" or "failed".  ``out_dir/index.csv`` is updated: rows of
        earlier calls for other sources are kept while their outputs exist.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise WriteError("the output folder is an existing file (an input?); give a new or "
                         "existing folder, or OUT.h5 for one input file", path=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create the output folder ({exc.strerror or exc})",
                         path=out) from exc
    tasks = plan_conversion(inputs, out, options)
    rows: list[dict[str, Any]] = []
    show = progress_enabled() if progress is None else progress
    bar = tqdm(total=len(tasks), desc="convert", unit="file", disable=not show)
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            rows.append(_run_task(task, force))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_run_task, t, force) for t in tasks]
            for fut in as_completed(futures):
                rows.append(fut.result())
                bar.update()
    bar.close()
    order = {str(t.source): i for i, t in enumerate(tasks)}
    table = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    table = table.sort_values("source", key=lambda s: s.map(order)).reset_index(drop=True)
    index = table
    if (out / INDEX_NAME).exists():
        old = pd.read_csv(out / INDEX_NAME, dtype=str, keep_default_na=False)
        old = old[~old["source"].isin(table["source"]) & old["output"].map(
            lambda p: Path(p).exists())]
        index = pd.concat([old, table.astype(str)], ignore_index=True)
    with atomic_path(out / INDEX_NAME, overwrite=True) as tmp:
        index.to_csv(tmp, index=False)
    counts = table["status"].value_counts().to_dict()
    logger.info("converted %s at %s", counts,
                _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    return table
