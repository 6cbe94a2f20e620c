"""A set of converted recordings (subjects × sessions), opened lazily: :class:`Dataset`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import pandas as pd

from ._h5format import open_h5
from .batch import INDEX_NAME
from .errors import MissingFileError
from .recording import Recording, open_recording

__all__ = ["Dataset", "load_dataset"]


def _describe(path: Path) -> dict[str, Any]:
    """Metadata of one file from its attributes only (no signal data is read)."""
    with open_h5(path) as f:
        subject = dict(f["subject"].attrs) if "subject" in f else {}
        session = dict(f["session"].attrs) if "session" in f else {}
        blocks = f.get("timeseries", {})
        modalities = sorted({str(g.attrs.get("modality", "")) for g in blocks.values()})
        durations = []
        for g in blocks.values():
            n = g["data"].shape[0]
            if "timestamps" in g:
                durations.append(float(g["timestamps"][-1] - g["timestamps"][0]) if n else 0.0)
            else:
                durations.append(n / float(g.attrs["rate"]))
        n_events = _table_len(f["events"]) if "events" in f else 0
        prov = json.loads(f.attrs.get("provenance", "{}"))
        block_names = list(blocks.keys())
    return {
        "path": str(path), "subject": str(subject.get("id", "")),
        "session": str(session.get("id", "")), "task": str(session.get("task", "")),
        "species": str(subject.get("species", "")), "modalities": " ".join(modalities),
        "blocks": " ".join(block_names), "duration_s": max(durations, default=0.0),
        "n_events": n_events, "loader": prov.get("loader") or "",
    }


def _table_len(group: h5py.Group) -> int:
    cols = json.loads(group.attrs.get("columns", "[]"))
    return int(group[cols[0]].shape[0]) if cols else 0


class Dataset:
    """Converted recordings of a study, listed from their metadata and opened lazily.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per recording with at least a ``path`` column (see
        :func:`load_dataset`, which builds it).

    Examples
    --------
    >>> import neurodata as nd  # doctest: +SKIP
    >>> ds = nd.load_dataset("converted/")  # doctest: +SKIP
    >>> ds.subjects, len(ds.select(task="imagery"))  # doctest: +SKIP
    >>> with ds[0] as rec:  # doctest: +SKIP
    ...     x = rec.timeseries["eeg"].slice(0, 2)
    """

    def __init__(self, table: pd.DataFrame):
        self.table = table.reset_index(drop=True)

    @property
    def paths(self) -> list[Path]:
        return [Path(p) for p in self.table["path"]]

    @property
    def subjects(self) -> list[str]:
        return sorted(set(self.table["subject"]))

    @property
    def sessions(self) -> list[str]:
        return sorted(set(self.table["session"]))

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> Recording:
        """Open recording ``i`` lazily (close it, or use ``with``)."""
        return open_recording(self.table.loc[i, "path"])

    def __iter__(self) -> Iterator[Recording]:
        for i in range(len(self)):
            yield self[i]

    def select(self, **criteria: Any) -> Dataset:
        """Rows whose columns equal the given values (a list means any of them)."""
        mask = pd.Series(True, index=self.table.index)
        for key, value in criteria.items():
            if key not in self.table:
                raise KeyError(f"no column {key!r}; columns are {list(self.table.columns)}")
            values = value if isinstance(value, list | tuple | set) else [value]
            mask &= self.table[key].isin([str(v) for v in values])
        return Dataset(self.table[mask])

    def __repr__(self) -> str:
        mods = sorted({m for ms in self.table["modalities"] for m in str(ms).split()})
        return (f"<Dataset | {len(self)} recordings, {len(self.subjects)} subjects, "
                f"{len(self.sessions)} sessions, modalities {mods}>")


def load_dataset(folder: str | os.PathLike) -> Dataset:
    """List the converted recordings under ``folder`` (from ``index.csv`` when present,
    else every ``*.h5`` below it) without reading signal data.

    Raises
    ------
    MissingFileError
        If the folder does not exist or holds no recordings.
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingFileError("no such folder; give the output folder of `neuroloom "
                               "convert`", path=root)
    index = root / INDEX_NAME
    if index.exists():
        idx = pd.read_csv(index, dtype=str, keep_default_na=False)
        paths = [Path(p) for p, s in zip(idx["output"], idx["status"], strict=True)
                 if s in ("converted", "skipped") and Path(p).exists()]
    else:
        paths = sorted(root.rglob("*.h5"))
    if not paths:
        raise MissingFileError("holds no converted recordings (*.h5); run `neuroloom convert "
                               "SOURCES -o FOLDER` first", path=root)
    return Dataset(pd.DataFrame([_describe(p) for p in paths]))
