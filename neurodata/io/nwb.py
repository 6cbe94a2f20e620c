"""Reader for Neurodata Without Borders (NWB 2.x, HDF5) files, through pynwb.

What we keep (Rübel et al. 2022, eLife 11:e78362; schema at https://nwb-schema.readthedocs.io):

- ``RoiResponseSeries`` inside ``Fluorescence`` and ``DfOverF`` containers (any processing
  module, usually ``ophys``) → calcium blocks, one channel per ROI of the plane
  segmentation the series points at;
- every ``TimeSeries`` / ``SpatialSeries`` in the ``behavior`` processing module (inside
  ``Position``, ``BehavioralTimeSeries``, ``CompassDirection``, ``PupilTracking``, ...) →
  behaviour blocks;
- the ``units`` table → :class:`~neurodata.SpikeTrains`;
- ``trials``, ``epochs`` and every other ``TimeIntervals`` table → events;
- subject (id, species, sex, age, genotype) and session (id, start time, description).

- plain ``TimeSeries`` (and subclasses such as ``ElectricalSeries``) in ``acquisition``
  or in any other processing module → blocks; 1-D series that share their timing in one
  container (e.g. one series per neuron) are gathered into one block, a channel each;
  modality ``calcium`` when the name, unit or description says fluorescence/calcium/ΔF/F;

Values are ``data × conversion + offset`` (NWB's rule for reaching the series' ``unit``),
in float32.  A series sampled at a constant rate keeps ``rate`` and ``starting_time``;
one with ``timestamps`` becomes an irregular block.  Signal data stay in the file until
sliced or saved (the file is kept open by the blocks).  What the file holds but the
reader does not convert (images, stimulus templates, analysis objects, ...) is listed in
``provenance["skipped"]`` and warned about.  External links, virtual datasets and
external raw storage (which would read other files) are refused unless
``allow_external=True``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..channels import make_channels
from ..errors import FormatError, ValidationError
from ..events import Events
from ..log import logger, verbose, warn
from ..recording import Recording
from ..spikes import SpikeTrains
from ..timeseries import TimeSeries
from ._base import Reader, register
from ._hdf5_links import external_references
from ._lazy import LazyRows

__all__ = ["read_nwb", "NWBReader"]

#: Words in a plain series' name, unit or description that mark calcium activity.
_CALCIUM_WORDS = ("fluoresc", "calcium", "dff", "df/f", "dfof", "gcamp", "deltaf", "ca2+")

#: Plane-segmentation columns that name an ROI, in order of preference.
_ROI_LABEL_COLUMNS = ("label", "roi_name", "neuron_name", "name", "cell_type", "location")
#: Interval-table columns that name a trial's condition, in order of preference.
_EVENT_LABEL_COLUMNS = ("trial_type", "condition", "label", "stimulus", "stim_name", "type")
_AXES = ("x", "y", "z")


# ---------------------------------------------------------------------------- checks
def _check_hdf5_nwb(path: Path, allow_external: bool = False) -> None:
    """Raise FormatError unless ``path`` is an NWB 2 HDF5 file with well-timed series."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"is not an HDF5 file ({exc}); expected an NWB 2 file (HDF5 "
                          "backend) - NWB 1 and Zarr-backed NWB are not supported",
                          path=path) from exc
    with f:
        if "nwb_version" not in f.attrs:
            raise FormatError(
                "is an HDF5 file but not NWB: the root has no 'nwb_version' attribute "
                f"(root groups: {sorted(f.keys())[:10]}); a neuroloom recording (.h5) opens "
                "with nd.open, other HDF5 layouts need their own reader", path=path)
        broken: list[str] = []

        def visit(name: str, obj: Any) -> None:
            # A TimeSeries group has a 'data' dataset carrying a 'unit' attribute; the schema
            # requires it to be timed by 'timestamps' or 'starting_time' (with its rate).
            if isinstance(obj, h5py.Group) and "data" in obj \
                    and isinstance(obj["data"], h5py.Dataset) and "unit" in obj["data"].attrs \
                    and "timestamps" not in obj and "starting_time" not in obj:
                broken.append("/" + name)

        f.visititems(visit)
        outside = [] if allow_external else external_references(f)
    if outside:
        raise FormatError(
            f"would read outside the file: {'; '.join(outside[:3])}"
            f"{f' and {len(outside) - 3} more' if len(outside) > 3 else ''}; pass "
            "allow_external=True if you trust the files it points at", path=path)
    if broken:
        raise FormatError(
            f"series {', '.join(broken[:5])} has neither timestamps nor starting_time/rate; "
            "NWB requires one of them, so its sample times are unknown - rewrite the series "
            "with rate= or timestamps=", path=path)


# ---------------------------------------------------------------------------- series
def _values(series: Any, where: Path, owner: Any = None) -> LazyRows:
    """``data × conversion + offset`` as a lazy float32 view of shape (T, C)."""
    data = series.data
    shape = tuple(int(n) for n in getattr(data, "shape", np.shape(data)))
    if len(shape) == 0:
        raise FormatError(f"series {series.name!r} holds a scalar; expected (time, ...) data",
                          path=where)
    conv = float(getattr(series, "conversion", 1.0) or 1.0)
    offset = float(getattr(series, "offset", 0.0) or 0.0)
    if not (np.isfinite(conv) and np.isfinite(offset)):
        raise FormatError(f"series {series.name!r} has conversion={conv}, offset={offset}; "
                          "expected finite numbers", path=where)
    n_cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    if len(shape) == 2:
        return LazyRows(data, scale=conv, offset=offset, owner=owner, path=str(where))

    def read(start: int, stop: int) -> np.ndarray:
        return np.asarray(data[start:stop]).reshape(stop - start, n_cols)

    return LazyRows(data, scale=conv, offset=offset, read=read, shape=(shape[0], n_cols),
                    owner=owner, path=str(where))


def _timing(series: Any, n_times: int, where: Path) -> dict[str, Any]:
    """``rate``/``t0`` or ``timestamps`` for :class:`TimeSeries`."""
    stamps = series.timestamps
    if stamps is not None:
        if hasattr(stamps, "timestamps"):  # timestamps linked from another series
            stamps = stamps.timestamps
        ts = np.asarray(stamps[()], dtype=np.float64)
        if ts.shape != (n_times,):
            raise FormatError(f"series {series.name!r} has {ts.size} timestamps for {n_times} "
                              "samples; expected one per sample", path=where)
        return {"timestamps": ts}
    if series.rate is None:
        raise FormatError(f"series {series.name!r} has neither timestamps nor rate; NWB "
                          "requires one", path=where)
    return {"rate": float(series.rate), "t0": float(series.starting_time or 0.0)}


def _roi_table(series: Any, n_cols: int, where: Path) -> pd.DataFrame:
    """Channel table of a RoiResponseSeries from its plane segmentation."""
    region = series.rois
    table = region.table
    rows = np.asarray(region.data[()], dtype=np.int64).ravel()
    if rows.size != n_cols:
        raise FormatError(
            f"series {series.name!r} has {n_cols} columns but references {rows.size} ROIs; "
            "expected data of shape (time, n_rois)", path=where)
    ids = np.asarray(table.id[()])[rows]
    colnames = list(table.colnames)
    label_col = next((c for c in _ROI_LABEL_COLUMNS if c in colnames), None)
    labels = [str(table[label_col][int(r)]) for r in rows] if label_col else ""
    pos = np.full((rows.size, 3), np.nan)
    if "image_mask" in colnames:
        for k, r in enumerate(rows):
            mask = np.asarray(table["image_mask"][int(r)], dtype=np.float64)
            total = mask.sum()
            if mask.ndim >= 2 and total > 0:
                grid = np.indices(mask.shape)
                # x = column, y = row, z = plane (3-D masks): the suite2p reader's convention.
                cent = [(g * mask).sum() / total for g in grid]
                pos[k, 0], pos[k, 1] = cent[1], cent[0]
                if mask.ndim == 3:
                    pos[k, 2] = cent[2]
    elif "pixel_mask" in colnames:
        for k, r in enumerate(rows):
            pm = table["pixel_mask"][int(r)]
            arr = np.asarray([tuple(p) for p in pm], dtype=np.float64)
            if arr.size and arr[:, 2].sum() > 0:
                w = arr[:, 2]
                pos[k, 0] = (arr[:, 0] * w).sum() / w.sum()
                pos[k, 1] = (arr[:, 1] * w).sum() / w.sum()
    names = [f"roi_{int(i)}" for i in ids]
    return make_channels(names, types="neuron", units=str(series.unit), positions=pos,
                         coord_frame="image", labels=labels, roi_id=[int(i) for i in ids])


def _behavior_channels(series: Any, n_cols: int) -> pd.DataFrame:
    name = series.name
    if n_cols == 1:
        names = [name]
    elif type(series).__name__ == "SpatialSeries" and n_cols <= 3:
        names = [f"{name}_{a}" for a in _AXES[:n_cols]]
    else:
        names = [f"{name}_{i}" for i in range(n_cols)]
    return make_channels(names, types="behavior", units=str(series.unit), labels=name)


def _plain_kind(series: Any) -> str:
    text = " ".join(str(getattr(series, k, "") or "") for k in ("name", "unit", "description"))
    return "calcium" if any(w in text.lower() for w in _CALCIUM_WORDS) else "misc"


def _collect_series(nwbfile: Any) -> tuple[list[tuple[str, str, Any, str]], list[str]]:
    """``(container, series name, series, kind)`` for everything we read, and the
    ``where (type)`` of every object we do not convert."""
    from pynwb import TimeSeries as NWBTimeSeries
    from pynwb.image import ImageSeries
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation

    found: list[tuple[str, str, Any, str]] = []
    skipped: list[str] = []

    def plain(where: str, name: str, obj: Any) -> None:
        if isinstance(obj, NWBTimeSeries) and not isinstance(obj, ImageSeries):
            found.append((where, name, obj, _plain_kind(obj)))
        else:
            skipped.append(f"{where}/{name} ({type(obj).__name__})")

    for name, obj in nwbfile.acquisition.items():
        plain("acquisition", name, obj)
    for mod_name, module in nwbfile.processing.items():
        behavior = mod_name.lower().startswith("behav")
        for iface_name, iface in module.data_interfaces.items():
            inner = getattr(iface, "spatial_series", None) or getattr(iface, "time_series",
                                                                      None)
            if isinstance(iface, Fluorescence | DfOverF):
                for s_name, s in iface.roi_response_series.items():
                    found.append((iface_name, s_name, s, "calcium"))
            elif isinstance(iface, ImageSegmentation):
                continue  # read through the RoiResponseSeries that reference it
            elif inner is not None and hasattr(inner, "items"):
                for s_name, s in inner.items():
                    found.append((iface_name, s_name, s, "behavior" if behavior
                                  else _plain_kind(s)))
            elif isinstance(iface, NWBTimeSeries):
                if behavior and not isinstance(iface, ImageSeries):
                    found.append((mod_name, iface_name, iface, "behavior"))
                else:
                    plain(f"processing/{mod_name}", iface_name, iface)
            else:
                skipped.append(f"processing/{mod_name}/{iface_name} ({type(iface).__name__})")
    for group in ("stimulus", "stimulus_template", "analysis", "scratch"):
        for name, obj in (getattr(nwbfile, group, None) or {}).items():
            skipped.append(f"{group}/{name} ({type(obj).__name__})")
    return found, skipped


def _timing_key(series: Any) -> tuple:
    if series.timestamps is not None:
        stamps = series.timestamps
        stamps = getattr(stamps, "timestamps", stamps)
        return ("timestamps", id(stamps) if not hasattr(stamps, "shape") else
                (int(stamps.shape[0]), float(stamps[0]) if stamps.shape[0] else 0.0,
                 float(stamps[-1]) if stamps.shape[0] else 0.0))
    return ("rate", float(series.rate or 0.0), float(series.starting_time or 0.0))


def _gather_plain(found: list[tuple[str, str, Any, str]]) -> list[tuple[str, str, list, str]]:
    """Gather 1-D plain series of one container with equal timing, length and unit."""
    out: list[tuple[str, str, list, str]] = []
    groups: dict[tuple, list] = {}
    for c_name, s_name, s, kind in found:
        shape = getattr(s.data, "shape", None)
        one_d = shape is not None and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1))
        if type(s).__name__ == "TimeSeries" and one_d and c_name in ("acquisition",) or (
                type(s).__name__ == "TimeSeries" and one_d and c_name.startswith("processing/")):
            key = (c_name, kind, str(s.unit), int(shape[0]), _timing_key(s))
            if key not in groups:
                groups[key] = []
                out.append((c_name, s_name, groups[key], kind))
            groups[key].append((s_name, s))
        else:
            out.append((c_name, s_name, [(s_name, s)], kind))
    return out


def _block_names(found: list[tuple[str, str, Any, str]]) -> list[str]:
    """Series name when unique in the file, else ``<container>_<series>``."""
    counts: dict[str, int] = {}
    for _, s_name, _, _ in found:
        counts[s_name] = counts.get(s_name, 0) + 1
    return [s_name if counts[s_name] == 1 else f"{c_name}_{s_name}"
            for c_name, s_name, _, _ in found]


# ---------------------------------------------------------------------------- units
def _unit_labels(units: Any, n: int) -> list[str]:
    cols = list(units.colnames)
    if "location" in cols:
        return [str(units["location"][i]) for i in range(n)]
    if "electrodes" in cols:
        out = []
        for i in range(n):
            el = units["electrodes"][i]
            loc = ""
            if isinstance(el, pd.DataFrame) and len(el) and "location" in el.columns:
                loc = str(el["location"].iloc[0])
            out.append(loc)
        return out
    if "electrode_group" in cols:
        return [str(getattr(units["electrode_group"][i], "location", "") or "") for i in range(n)]
    return [""] * n


def _read_units(units: Any, where: Path) -> SpikeTrains | None:
    n = len(units.id)
    if "spike_times" not in units.colnames:
        logger.info("%s: units table without spike_times; skipped", where)
        return None
    vec = units["spike_times"]
    flat = np.asarray(vec.target.data[()], dtype=np.float64)
    ends = np.asarray(vec.data[()], dtype=np.int64)
    counts = np.diff(np.concatenate([[0], ends]))
    idx = np.repeat(np.arange(n, dtype=np.int32), counts)
    ids = np.asarray(units.id[()])
    table = pd.DataFrame({"name": [f"unit{int(i)}" for i in ids],
                          "label": _unit_labels(units, n),
                          "unit_id": ids.astype(np.int64)})
    if "quality" in units.colnames:
        table["quality"] = [str(units["quality"][i]) for i in range(n)]
    t_start = t_stop = None
    if "obs_intervals" in units.colnames:
        iv = [np.asarray(units["obs_intervals"][i], dtype=np.float64).reshape(-1, 2)
              for i in range(n)]
        iv = [a for a in iv if a.size]
        if iv:
            allv = np.concatenate(iv)
            t_start, t_stop = float(allv[:, 0].min()), float(allv[:, 1].max())
    if flat.size:
        t_start = min(t_start, float(flat.min())) if t_start is not None else None
        t_stop = max(t_stop, float(flat.max())) if t_stop is not None else None
    try:
        return SpikeTrains(flat, idx, table, t_start=t_start, t_stop=t_stop, name="units")
    except ValidationError as exc:
        raise ValidationError(f"units table: {exc.message}", path=where) from exc


# ---------------------------------------------------------------------------- intervals
def _scalar_column(values: pd.Series) -> bool:
    return all(isinstance(v, str | int | float | bool | np.generic) or v is None
               for v in values)


def _interval_events(name: str, table: Any) -> pd.DataFrame:
    df = table.to_dataframe()
    out = pd.DataFrame({"onset": df["start_time"].to_numpy(np.float64),
                        "duration": (df["stop_time"] - df["start_time"]).to_numpy(np.float64)})
    label_col = next((c for c in _EVENT_LABEL_COLUMNS if c in df.columns), None)
    if label_col is not None:
        out["label"] = df[label_col].astype(str).to_numpy()
    elif "tags" in df.columns:
        out["label"] = [",".join(map(str, t)) if len(t) else name for t in df["tags"]]
    else:
        out["label"] = "trial" if name == "trials" else name
    out["interval_table"] = name
    out["interval_id"] = df.index.to_numpy(np.int64)
    for col in df.columns:
        if col in ("start_time", "stop_time", label_col):
            continue
        vals = df[col]
        if col == "tags":
            out["tags"] = [",".join(map(str, t)) for t in vals]
        elif _scalar_column(vals):
            key = col if col not in ("onset", "duration", "label", "value") else f"{col}_orig"
            out[key] = vals.to_numpy()
    return out


def _read_events(nwbfile: Any, where: Path) -> Events:
    tables: dict[str, Any] = {}
    for key in ("trials", "epochs"):
        t = getattr(nwbfile, key, None)
        if t is not None:
            tables[key] = t
    for key, t in (getattr(nwbfile, "intervals", None) or {}).items():
        tables.setdefault(key, t)
    frames = [_interval_events(k, t) for k, t in tables.items() if len(t.id)]
    if not frames:
        return Events()
    table = pd.concat(frames, ignore_index=True)
    for col in table.columns:
        # Tables differ in their columns; text columns get "" where a table lacks them.
        if not pd.api.types.is_numeric_dtype(table[col]):
            table[col] = table[col].fillna("").astype(str)
    codes = {lab: i + 1 for i, lab in enumerate(sorted(set(table["label"])))}
    table["value"] = [codes[v] for v in table["label"]]
    return Events.from_dataframe(table, path=where)


# ---------------------------------------------------------------------------- metadata
def _subject(nwbfile: Any) -> dict[str, Any]:
    subj = nwbfile.subject
    if subj is None:
        return {}
    out = {"id": subj.subject_id, "species": subj.species, "sex": subj.sex, "age": subj.age,
           "genotype": subj.genotype, "strain": getattr(subj, "strain", None),
           "description": subj.description}
    dob = getattr(subj, "date_of_birth", None)
    if dob is not None:
        out["date_of_birth"] = dob.isoformat()
    return {k: str(v) for k, v in out.items() if v is not None}


def _session(nwbfile: Any) -> dict[str, Any]:
    out = {"id": nwbfile.session_id or nwbfile.identifier,
           "start_time": nwbfile.session_start_time.isoformat()
           if nwbfile.session_start_time is not None else None,
           "description": nwbfile.session_description, "identifier": nwbfile.identifier,
           "lab": nwbfile.lab, "institution": nwbfile.institution}
    return {k: str(v) for k, v in out.items() if v is not None}


# ---------------------------------------------------------------------------- reader
@verbose
def read_nwb(
    path: str | os.PathLike,
    *,
    series: str | Sequence[str] | None = None,
    units: bool = True,
    events: bool = True,
    allow_external: bool = False,
    verbose: bool | str | None = None,
) -> Recording:
    """Read an NWB 2 (HDF5) file into a :class:`~neurodata.Recording`.

    Parameters
    ----------
    path : path-like
        An ``.nwb`` file (HDF5 backend).
    series : str or sequence of str or None
        Keep only these series, by block name, series name or container name
        (``"DfOverF"``, ``"Position"``).  ``None`` keeps every calcium and behaviour series.
    units : bool, default=True
        Read the ``units`` table into ``rec.spikes["units"]``.
    events : bool, default=True
        Read ``trials``, ``epochs`` and other interval tables into ``rec.events``.
    allow_external : bool, default=False
        Follow external links, virtual datasets and external raw storage (they read
        other files); refused by default.
    verbose : bool or str or None
        Logging level for this call.

    Returns
    -------
    Recording
        Blocks (float32, ``data × conversion + offset``, unit from the series):

        - calcium: one per ``RoiResponseSeries`` in ``Fluorescence``/``DfOverF``, modality
          ``"calcium"``, channels ``roi_<id>`` (plane-segmentation ids), type ``neuron``,
          label from the segmentation's ``label``/``roi_name``/... column, x/y/z the mask
          centroid in pixels (coord_frame ``"image"``), extra column ``roi_id``; attrs
          ``nwb_container`` (``"Fluorescence"`` or ``"DfOverF"``);
        - behaviour: one per series in the ``behavior`` module, modality ``"behavior"``,
          channels ``<series>_x``/``_y``/``_z`` for spatial series, ``<series>`` (1 column)
          or ``<series>_<i>`` otherwise;
        - plain series in ``acquisition`` / other modules: one block per series, or one
          per container for 1-D series sharing their timing and unit (channels = series
          names), modality ``calcium`` (type ``neuron``) when fluorescence is named,
          else ``misc``.

        A block is named after its series, or ``<container>_<series>`` when several series
        share a name (``Fluorescence_RoiResponseSeries``, ``DfOverF_RoiResponseSeries``).
        Regular series keep ``rate`` and ``t0 = starting_time``; series with timestamps
        are irregular.  Spikes: units ``unit<id>``, label from ``location``, the first
        electrode's location or the electrode group's; quality when present.  Events:
        onset = start_time, duration = stop - start, label from ``trial_type`` (or
        ``condition``, ``stimulus``, ...; epochs: their tags), extra columns
        ``interval_table``, ``interval_id`` and the table's scalar columns.

    Raises
    ------
    FormatError
        Not HDF5, HDF5 but not NWB, a series with neither rate nor timestamps, data that
        do not match the ROIs, or a file pynwb cannot read.

    Examples
    --------
    >>> from neurodata.io.nwb import read_nwb
    >>> rec = read_nwb("session.nwb", series=["DfOverF"])  # doctest: +SKIP
    >>> rec.timeseries["DfOverF_RoiResponseSeries"].channels.name.head(2)  # doctest: +SKIP
    """
    p = Path(path)
    return _READER(p, series=series, units=units, events=events,
                   allow_external=allow_external)


class NWBReader(Reader):
    """NWB 2 (HDF5) files through pynwb (see :func:`read_nwb`)."""

    name = "NWB"
    extensions = (".nwb",)
    modality = "calcium imaging, spikes, behaviour"
    library = "pynwb"
    keeps = ("RoiResponseSeries (Fluorescence, DfOverF) with ROI ids/labels, plain "
             "TimeSeries in acquisition/processing, units table (spike times, location, "
             "quality), behaviour series, trials/epochs/intervals as events, subject, session; "
             "lazy until sliced")
    loader = "neurodata.io.read_nwb"
    packages = ("pynwb", "hdmf")
    lazy = True

    def read(self, p: Path, *, series: str | Sequence[str] | None = None, units: bool = True,
             events: bool = True, allow_external: bool = False) -> Recording:
        from pynwb import NWBHDF5IO

        _check_hdf5_nwb(p, allow_external)
        wanted = None if series is None else ({series} if isinstance(series, str)
                                              else set(series))
        io = None
        try:
            io = NWBHDF5IO(str(p), "r", load_namespaces=True)
            nwbfile = io.read()
        except Exception as exc:  # pynwb/hdmf raise many types for invalid files
            if io is not None:
                io.close()
            raise FormatError(f"pynwb could not read it ({type(exc).__name__}: {exc}); "
                              "expected a valid NWB 2 file - check it with "
                              "`python -m pynwb.validate`", path=p) from exc
        try:
            rec = self._convert(p, io, nwbfile, wanted, units, events)
        except BaseException:
            io.close()
            raise
        if not any(ts.is_lazy for ts in rec.timeseries.values()):
            io.close()  # nothing left to read from the file
        return rec

    def _convert(self, p: Path, io: Any, nwbfile: Any, wanted: set | None, units: bool,
                 events: bool) -> Recording:
        found, skipped = _collect_series(nwbfile)
        gathered = _gather_plain(found)
        flat = [(c, s, members[0][1], k) for c, s, members, k in gathered]
        names = _block_names(flat)
        for i, (c, _, members, _) in enumerate(gathered):
            if len(members) > 1:
                names[i] = c.rsplit("/", 1)[-1]
        seen: dict[str, int] = {}
        for i, n in enumerate(names):  # two gathered groups in one container
            seen[n] = seen.get(n, 0) + 1
            if seen[n] > 1:
                names[i] = f"{n}_{seen[n]}"
        if wanted is not None:
            known = set(names) | {s for _, s, _, _ in flat} | {c for c, _, _, _ in flat}
            known |= {m for _, _, members, _ in gathered for m, _ in members}
            missing = sorted(wanted - known)
            if missing:
                raise ValueError(f"series {missing} not found in {p}; available: {names}")
        blocks = []
        for (c_name, s_name, members, kind), b_name in zip(gathered, names, strict=True):
            member_names = {m for m, _ in members}
            if wanted is not None and not wanted & ({b_name, s_name, c_name} | member_names):
                continue
            blocks.append(self._block(p, io, c_name, s_name, members, kind, b_name))
        spikes = []
        if units and nwbfile.units is not None and len(nwbfile.units.id):
            st = _read_units(nwbfile.units, p)
            if st is not None:
                spikes.append(st)
        ev = _read_events(nwbfile, p) if events else None
        if not blocks and not spikes:
            warn(f"{p}: no signal series or units found")
        return self.recording(
            blocks, path=p, spikes=spikes, events=ev, subject=_subject(nwbfile),
            session=_session(nwbfile), skipped=skipped,
            parameters={"series": None if wanted is None else sorted(wanted),
                        "units": units, "events": events})

    @staticmethod
    def _block(p: Path, io: Any, c_name: str, s_name: str, members: list, kind: str,
               b_name: str) -> TimeSeries:
        s = members[0][1]
        if len(members) == 1:
            data = _values(s, p, owner=io)
        else:
            views = [_values(m, p, owner=io) for _, m in members]

            def read(start: int, stop: int) -> np.ndarray:
                return np.concatenate([v[start:stop] for v in views], axis=1)

            data = LazyRows(None, read=read, shape=(views[0].shape[0], len(views)), owner=io,
                            path=str(p))
        timing = _timing(s, data.shape[0], p)
        if kind == "calcium" and hasattr(s, "rois"):
            channels = _roi_table(s, data.shape[1], p)
        elif len(members) > 1:
            channels = make_channels([m for m, _ in members],
                                     types="neuron" if kind == "calcium" else "misc",
                                     units=str(s.unit))
        elif kind == "behavior":
            channels = _behavior_channels(s, data.shape[1])
        else:
            ch = _behavior_channels(s, data.shape[1])
            ch["type"] = "neuron" if kind == "calcium" else "misc"
            channels = ch
        attrs = {"source": "nwb", "nwb_container": c_name, "nwb_series": s_name,
                 "nwb_type": type(s).__name__, "nwb_unit": str(s.unit),
                 "conversion": float(getattr(s, "conversion", 1.0) or 1.0),
                 "offset": float(getattr(s, "offset", 0.0) or 0.0)}
        if len(members) > 1:
            attrs["nwb_series"] = [m for m, _ in members]
        if getattr(s, "reference_frame", None):
            attrs["reference_frame"] = str(s.reference_frame)
        if getattr(s, "description", None):
            attrs["description"] = str(s.description)
        try:
            ts = TimeSeries(data, channels=channels, modality=kind, name=b_name, attrs=attrs,
                            _path=str(p), **timing)
        except ValidationError as exc:
            raise ValidationError(f"series {s_name!r} in {c_name!r}: {exc.message}",
                                  path=p) from exc
        logger.info("%s: %s %r %s from %s/%s", p, kind, b_name, data.shape, c_name, s_name)
        return ts


_READER = register(NWBReader())
