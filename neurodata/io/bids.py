"""BIDS datasets (EEG, MEG, iEEG) through mne-bids.

A data file inside a BIDS tree (``sub-01/eeg/sub-01_task-rest_eeg.edf``) is read with
``mne_bids.read_raw_bids``, which applies the sidecars: ``channels.tsv`` (types,
status → bad channels), ``electrodes.tsv`` + ``coordsystem.json`` (positions), and
``events.tsv``.  The coordinate system named in ``*_coordsystem.json`` becomes the
channels' ``coord_frame``; participants.tsv gives age, sex and species (BIDS: human
unless a ``species`` column says otherwise).

A BIDS *root* holds many recordings: :func:`bids_recordings` lists them and
``neuroloom convert ROOT -o OUTDIR`` converts them all.

Reference: Pernet et al. (2019) EEG-BIDS, Sci. Data 6:103; Holdgraf et al. (2019)
iEEG-BIDS, Sci. Data 6:102; Appelhoff et al. (2019) MNE-BIDS, JOSS 4:1896.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..log import verbose
from ..recording import Recording
from ._base import Reader, register
from .mne_formats import MNEReader

__all__ = ["read_bids", "find_bids_root", "bids_recordings", "BIDSReader"]

BIDS_DATATYPES = ("eeg", "meg", "ieeg")
BIDS_EXTENSIONS = (".edf", ".bdf", ".vhdr", ".set", ".fif", ".con", ".sqd", ".ds")


def find_bids_root(path: str | os.PathLike) -> Path | None:
    """The closest folder above ``path`` holding ``dataset_description.json``."""
    p = Path(path).absolute()
    for parent in [p] + list(p.parents):
        if (parent / "dataset_description.json").is_file():
            return parent
    return None


def _sniff_bids_file(path: Path) -> bool:
    return (path.name.startswith("sub-") and path.parent.name in BIDS_DATATYPES
            and find_bids_root(path.parent) is not None)


def _sniff_bids_root(path: Path) -> bool:
    return (path / "dataset_description.json").is_file()


def bids_recordings(root: str | os.PathLike) -> list[Path]:
    """Every EEG/MEG/iEEG data file of a BIDS dataset, sorted."""
    import mne_bids

    paths = mne_bids.find_matching_paths(Path(root), datatypes=list(BIDS_DATATYPES),
                                         extensions=list(BIDS_EXTENSIONS))
    return sorted({Path(bp.fpath) for bp in paths})


def _participant(root: Path, subject: str) -> dict[str, Any]:
    import pandas as pd

    table = root / "participants.tsv"
    out: dict[str, Any] = {"id": f"sub-{subject}", "species": "Homo sapiens"}
    if not table.exists():
        return out
    df = pd.read_csv(table, sep="\t", dtype=str, keep_default_na=False)
    row = df[df["participant_id"] == f"sub-{subject}"]
    if row.empty:
        return out
    for key in ("species", "sex", "age", "handedness", "hand", "strain", "genotype"):
        if key in row and row.iloc[0][key] not in ("", "n/a"):
            out[key] = row.iloc[0][key]
    return out


def _coordinate_system(data_file: Path) -> str | None:
    """The coordinate system named by the coordsystem.json that applies to the file."""
    return _coordsystem(data_file)[0]


def _coordsystem(data_file: Path) -> tuple[str | None, str | None]:
    """(system, units) of the coordsystem.json that applies to the file."""
    for cand in sorted(data_file.parent.glob("*_coordsystem.json")):
        meta = json.loads(cand.read_text())
        for prefix in ("iEEG", "EEG", "MEG"):
            if meta.get(f"{prefix}CoordinateSystem"):
                return (str(meta[f"{prefix}CoordinateSystem"]),
                        meta.get(f"{prefix}CoordinateUnits"))
    return None, None


_UNIT_TO_M = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}


def _electrodes_file(data_file: Path, subject: str, system: str | None) -> Path | None:
    """The electrodes.tsv for the file; with several, the one in the coordsystem's space.

    mne-bids skips positions when it finds more than one electrodes.tsv (without a
    word for EEG); the BIDS ``space-`` entity says which one goes with the
    coordsystem.json, so the positions need not be lost.
    """
    cands = sorted(data_file.parent.glob(f"sub-{subject}*_electrodes.tsv"))
    if len(cands) <= 1:
        return cands[0] if cands else None
    if system:
        spaced = [c for c in cands if f"_space-{system}_" in c.name]
        if len(spaced) == 1:
            return spaced[0]
    plain = [c for c in cands if "_space-" not in c.name]
    return plain[0] if len(plain) == 1 else None


def _apply_electrodes(rec: Any, data_file: Path, subject: str) -> str | None:
    """Fill channel positions from electrodes.tsv when MNE left them all unknown."""
    import numpy as np
    import pandas as pd

    blocks = list(rec.timeseries.values())
    if any(ts.channels[["x", "y", "z"]].notna().all(axis=1).any() for ts in blocks):
        return None  # mne-bids applied positions itself
    system, units = _coordsystem(data_file)
    efile = _electrodes_file(data_file, subject, system)
    if efile is None:
        return None
    table = pd.read_csv(efile, sep="\t", na_values=["n/a"], encoding="utf-8-sig")
    if not {"name", "x", "y", "z"} <= set(table.columns):
        raise FormatError("expected columns name, x, y, z", path=efile)
    scale = _UNIT_TO_M.get(str(units), 1.0)
    pos = {str(r.name): (float(r.x) * scale, float(r.y) * scale, float(r.z) * scale)
           for r in table.itertuples() if np.isfinite([r.x, r.y, r.z]).all()}
    for ts in blocks:
        for i, name in enumerate(ts.ch_names):
            if name in pos:
                ts.channels.loc[i, ["x", "y", "z"]] = pos[name]
    return efile.name


def _apply_event_values(rec: Any, data_file: Path) -> None:
    """Event codes from events.tsv (``value`` per ``trial_type``) instead of MNE's numbering."""
    import pandas as pd

    base = data_file.name[: data_file.name.rfind("_")]
    tsv = data_file.with_name(base + "_events.tsv")
    if not tsv.is_file() or len(rec.events) == 0:
        return
    table = pd.read_csv(tsv, sep="\t", na_values=["n/a"], encoding="utf-8-sig")
    if not {"trial_type", "value"} <= set(table.columns):
        return
    pairs = table[["trial_type", "value"]].dropna().drop_duplicates()
    if pairs["trial_type"].duplicated().any() or (pairs["value"] % 1 != 0).any():
        return  # not one integer code per label: keep MNE's numbering
    codes = dict(zip(pairs["trial_type"].astype(str), pairs["value"].astype(int), strict=True))
    df = rec.events.to_dataframe()
    known = df["label"].isin(codes)
    if known.any():
        df.loc[known, "value"] = df.loc[known, "label"].map(codes)
        rec.events = type(rec.events).from_dataframe(df, path=tsv)


class BIDSReader(MNEReader):
    """One EEG/MEG/iEEG data file of a BIDS tree, with its sidecars (mne-bids)."""

    name = "BIDS"
    extensions = BIDS_EXTENSIONS
    modality = "EEG / MEG / iEEG"
    library = "mne_bids.read_raw_bids"
    keeps = ("as the data format's reader, plus channels.tsv types and bad channels, "
             "electrodes.tsv positions in the coordsystem.json frame, events.tsv, "
             "participants.tsv")
    loader = "neurodata.io.read_bids"
    packages = ("mne",)

    def sniff(self, path: Path) -> bool:
        return _sniff_bids_file(path)

    def read_header(self, path: Path) -> dict[str, Any]:
        import mne_bids

        path = path.absolute()
        root = find_bids_root(path.parent)
        if root is None:
            raise FormatError("not inside a BIDS dataset (no dataset_description.json above "
                              "it)", path=path)
        try:
            bids_path = mne_bids.get_bids_path_from_fname(path)
        except Exception as exc:
            raise FormatError(f"file name is not a BIDS name ({exc})", path=path) from exc
        bids_path.update(root=root)
        base = path.name[: path.name.rfind("_")]
        sidecars = sorted(p for p in path.parent.glob(base + "_*")
                          if p != path and p.suffix in (".tsv", ".json"))
        sidecars += sorted(path.parent.glob(f"sub-{bids_path.subject}*_electrodes.tsv"))
        sidecars += sorted(path.parent.glob(f"sub-{bids_path.subject}*_coordsystem.json"))
        session = {"id": base, "task": bids_path.task, "bids_session": bids_path.session,
                   "run": bids_path.run, "datatype": bids_path.datatype}
        return {"path": path, "bids_path": bids_path,
                "sources": [path, *dict.fromkeys(sidecars)],
                "subject": _participant(root, bids_path.subject),
                "session": {k: v for k, v in session.items() if v is not None},
                "parameters": {"bids_root": str(root)}}

    def open_raw(self, path: Path, header: dict[str, Any]):
        import mne_bids

        return mne_bids.read_raw_bids(header["bids_path"], verbose="error")

    def read(self, path: Path, *, channel_types: dict[str, str] | None = None,
             preload: bool = False) -> Recording:
        return self.convert(path, self.read_header(path), channel_types=channel_types,
                            preload=preload)

    def finish(self, rec: Recording, path: Path, header: dict[str, Any]) -> Recording:
        positions_from = _apply_electrodes(rec, path, header["bids_path"].subject)
        if positions_from:
            rec.provenance["parameters"]["positions_from"] = positions_from
        _apply_event_values(rec, path)
        frame = _coordinate_system(path)
        if frame:
            for ts in rec.timeseries.values():
                known = ts.channels[["x", "y", "z"]].notna().all(axis=1)
                ts.channels.loc[known, "coord_frame"] = frame
        return rec


_READER = register(BIDSReader())


@verbose
def read_bids(path: str | os.PathLike, *, channel_types: dict[str, str] | None = None,
              preload: bool = False, verbose: bool | str | None = None) -> Recording:
    """Read one EEG/MEG/iEEG data file of a BIDS dataset with its sidecars.

    Parameters
    ----------
    path : path-like
        The data file (``.edf``, ``.vhdr``, ``.fif``, ...) inside a BIDS tree.
    channel_types : dict or None
        Overrides applied after ``channels.tsv``.
    preload : bool, default=False
    verbose : bool or str or None

    Returns
    -------
    Recording
        Session id is the file's BIDS basename (``sub-01_ses-01_task-rest_run-01``);
        ``session`` also carries ``task``, ``bids_session``, ``run`` and ``datatype``.

    Examples
    --------
    >>> rec = read_bids("ds/sub-01/eeg/sub-01_task-rest_eeg.edf")  # doctest: +SKIP
    """
    return _READER(path, channel_types=channel_types, preload=preload)


class BIDSDatasetReader(Reader):
    """A BIDS root folder: refused with how to convert every recording in it."""

    name = "BIDS dataset"
    extensions = ("",)
    modality = "EEG / MEG / iEEG"
    library = "mne_bids"
    keeps = "a root folder: every recording, converted one file each (neuroloom convert)"
    folder = True

    def sniff(self, path: Path) -> bool:
        return _sniff_bids_root(path)

    def read(self, path: Path, **_: Any) -> Recording:
        n = len(bids_recordings(path))
        raise FormatError(
            f"is a BIDS dataset with {n} recording(s), not one recording; convert it with "
            "`neuroloom convert ROOT -o OUTDIR`, or read one file with nd.load(FILE)",
            path=path)


register(BIDSDatasetReader())
