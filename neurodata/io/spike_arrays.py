"""Spike times with unit ids from NPZ, MAT and CSV files → :class:`~neurodata.SpikeTrains`.

Layouts read (names of arrays/columns are matched case-insensitively):

- **flat**: one array of spike times and one of unit ids of the same length.  Times
  are called ``times``, ``spike_times``, ``spike_time``, ``t``, ``timestamps`` or ``time``;
  unit ids ``unit_ids``, ``unit_id``, ``units``, ``unit``, ``unit_index``, ``clusters``,
  ``spike_clusters``, ``cluster``, ``cluster_id``, ``neuron`` or ``neurons``.  Optional
  ``unit_names`` (NPZ/MAT) names integer ids ``0..n-1``.
- **one array per unit** (NPZ only): every array is 1-D numeric, its key is the unit.
- **nested struct** (MAT, the nelpy ``spikes.mat`` layout): a variable (default
  ``spikes``) holding a cell array of tetrodes, each a cell array of unit structs with
  a field ``time`` (seconds) and optionally ``timerange`` ([start, stop] s).  Units are
  named ``tt01_u02`` (tetrode 1, unit 2 - MATLAB's 1-based positions), label ``tt01``.

MAT files up to v7 are read with :func:`scipy.io.loadmat`; v7.3 files (HDF5) with
h5py, flat layout only.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormatError, ValidationError
from ..log import logger, verbose, warn
from ..recording import Recording
from ..spikes import SpikeTrains
from ._base import Reader, register
from ._isolate import safe_loadmat

__all__ = ["read_spike_npz", "read_spike_csv", "read_spike_mat", "spiketrains_from_arrays",
           "SpikeNPZReader", "SpikeCSVReader", "SpikeMATReader"]

TIME_KEYS = ("times", "spike_times", "spike_time", "t", "timestamps", "time")
UNIT_KEYS = ("unit_ids", "unit_id", "units", "unit", "unit_index", "clusters", "spike_clusters",
             "cluster", "cluster_id", "neuron", "neurons")
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _scale(time_unit: str, rate: float | None, path: Path) -> float:
    if time_unit == "samples":
        if rate is None or not rate > 0:
            raise ValidationError(f"time_unit='samples' needs rate= (Hz); got rate={rate!r}")
        return 1.0 / float(rate)
    if time_unit not in _TIME_UNITS:
        raise ValidationError(f"time_unit must be one of {[*_TIME_UNITS, 'samples']}; "
                              f"got {time_unit!r}")
    return _TIME_UNITS[time_unit]


def _find(keys: Sequence[str], wanted: Sequence[str]) -> str | None:
    lower = {k.lower(): k for k in keys}
    for w in wanted:
        if w in lower:
            return lower[w]
    return None


def spiketrains_from_arrays(
    times: Any,
    unit_ids: Any,
    *,
    unit_names: Sequence[str] | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    path: str | os.PathLike | None = None,
    name: str = "units",
) -> SpikeTrains:
    """Spike trains from flat ``times`` and ``unit_ids`` arrays of equal length.

    Parameters
    ----------
    times : array of float, shape (n_spikes,)
        Spike times in seconds (sorted here if needed).
    unit_ids : array, shape (n_spikes,)
        Unit of each spike: integers or strings.  Units are ordered by sorted id.
    unit_names : sequence of str or None
        Names for integer ids ``0..n-1`` (``unit_names[id]``); default: ``str(id)``.
    t_start, t_stop : float or None
        Recording interval in seconds (default: first and last spike).
    path : path-like or None
        Source file, named in error messages.
    name : str, default="units"

    Returns
    -------
    SpikeTrains
        Units table with the extra column ``unit_id`` (the id as in the file).

    Examples
    --------
    >>> st = spiketrains_from_arrays([0.1, 0.2, 0.3], [2, 1, 2])
    >>> st.unit_names, st.n_spikes
    (['1', '2'], 3)
    """
    t = np.asarray(times)
    ids = np.asarray(unit_ids)
    if t.ndim > 1 and 1 in t.shape:
        t = t.ravel()
    if ids.ndim > 1 and 1 in ids.shape:
        ids = ids.ravel()
    if t.ndim != 1 or ids.ndim != 1 or t.shape != ids.shape:
        raise FormatError(f"spike times have shape {t.shape} but unit ids {ids.shape}; expected "
                          "two 1-D arrays of equal length (one unit id per spike)", path=path)
    try:
        t = t.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"spike times are not numeric ({exc})", path=path) from exc
    if not np.all(np.isfinite(t)):
        raise FormatError(f"{int(np.sum(~np.isfinite(t)))} spike times are NaN or inf; expected "
                          "finite seconds", path=path)
    _plausible_times(t, path)
    if ids.dtype.kind == "f" and ids.size and np.all(np.mod(ids, 1) == 0):
        ids = ids.astype(np.int64)
    if ids.dtype.kind == "O":
        ids = ids.astype(str)
    uniq, index = np.unique(ids, return_inverse=True)
    if unit_names is not None:
        unit_names = [str(n) for n in np.ravel(unit_names)]
        if uniq.dtype.kind not in "iu" or (uniq.size and (uniq.min() < 0
                                                           or uniq.max() >= len(unit_names))):
            raise FormatError(f"unit_names has {len(unit_names)} entries but unit ids are "
                              f"{uniq[:5].tolist()}...; expected integer ids "
                              f"0..{len(unit_names) - 1}", path=path)
        names = [unit_names[int(u)] for u in uniq]
    else:
        names = [str(u) for u in uniq]
    units = pd.DataFrame({"name": names, "unit_id": [u.item() if hasattr(u, "item") else u
                                                     for u in uniq]})
    return SpikeTrains(t, index.astype(np.int32), units, t_start=t_start, t_stop=t_stop,
                       name=name, _path=None if path is None else str(path))


#: Largest uncompressed .npz member read by default (bytes): a small archive may declare
#: a member that expands to gigabytes (a "zip bomb"); pass a larger limit explicitly.
NPZ_MEMBER_LIMIT = 2 << 30


def check_npz_members(path: Path, limit: int = NPZ_MEMBER_LIMIT) -> None:
    """Refuse an .npz whose members declare more than ``limit`` uncompressed bytes.

    The declared size is what ``zipfile`` will inflate up to; the ``.npy`` header
    inside must also fit in it, so checking it bounds the allocation before reading.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FormatError(f"is not a readable .npz (zip) archive ({type(exc).__name__}: "
                          f"{exc})", path=path) from exc
    for info in infos:
        if info.file_size > limit:
            raise FormatError(
                f"member {info.filename!r} expands to {info.file_size / 2**20:.0f} MiB "
                f"({info.compress_size} bytes compressed), above the {limit / 2**20:.0f} MiB "
                "limit; refused before allocating it", path=path)


def _plausible_times(t: np.ndarray, path: Any) -> None:
    """Warn about spike times a recording rarely has (they are kept, sorted)."""
    if t.size and np.any(np.diff(t) < 0):
        warn(f"{path}: spike times are not sorted ({int(np.sum(np.diff(t) < 0))} decreasing "
             "steps); sorted on reading")
    if t.size and t.min() < 0:
        warn(f"{path}: {int(np.sum(t < 0))} spike times are negative (first {t.min():g} s); "
             "kept - check the time origin")


class _SpikeReader(Reader):
    """What the three spike-time readers share: one spike block, session id = file stem."""

    modality = "spikes"

    def spike_recording(self, st: SpikeTrains, path: Path, params: dict[str, Any],
                        skipped: Sequence[str] = (),
                        packages: tuple[str, ...] | None = None) -> Recording:
        logger.info("%s: %r", path.name, st)
        return self.recording(spikes=[st], path=path, session={"id": path.stem},
                              parameters=params, skipped=sorted(skipped), packages=packages)


class SpikeNPZReader(_SpikeReader):
    """Spike times in a numpy ``.npz`` archive (see :func:`read_spike_npz`)."""

    name = "spike times (NPZ)"
    extensions = (".npz",)
    library = "numpy.load"
    keeps = "spike times (s) + unit ids, or one array per unit"
    loader = "neurodata.io.read_spike_npz"

    def sniff(self, path: Path) -> bool:
        return _sniff_npz(path)

    def read(self, path: Path, *, time_unit: str = "s", rate: float | None = None,
             t_start: float | None = None, t_stop: float | None = None) -> Recording:
        scale = _scale(time_unit, rate, path)
        check_npz_members(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise FormatError(f"could not be read as a numpy .npz archive ({exc})",
                              path=path) from exc
        tkey, ukey = _find(list(arrays), TIME_KEYS), _find(list(arrays), UNIT_KEYS)
        if tkey is not None and ukey is not None:
            nkey = _find(list(arrays), ("unit_names",))
            st = spiketrains_from_arrays(arrays[tkey] * scale if arrays[tkey].dtype.kind in "iuf"
                                         else arrays[tkey], arrays[ukey],
                                         unit_names=None if nkey is None else arrays[nkey],
                                         t_start=t_start, t_stop=t_stop, path=path)
            skipped = [k for k in arrays if k not in (tkey, ukey, nkey)]
        else:
            skipped = []
            per_unit = {k: v for k, v in arrays.items() if v.dtype.kind in "iuf" and v.ndim <= 1}
            if not per_unit or len(per_unit) != len(arrays):
                raise FormatError(
                    f"holds arrays {sorted(arrays)}; expected spike times + unit ids (e.g. 'times' "
                    f"and 'unit_ids') or one 1-D numeric array of spike times per unit", path=path)
            st = SpikeTrains.from_unit_times({k: np.ravel(v) * scale for k, v in per_unit.items()},
                                             t_start=t_start, t_stop=t_stop)
        return self.spike_recording(st, path, {"time_unit": time_unit, "rate": rate,
                                               "t_start": t_start, "t_stop": t_stop},
                                    skipped=skipped)


_NPZ = SpikeNPZReader()


@verbose
def read_spike_npz(
    path: str | os.PathLike,
    *,
    time_unit: str = "s",
    rate: float | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    verbose: bool | str | None = None,
) -> Recording:
    """Read spike times from a numpy ``.npz`` archive.

    Parameters
    ----------
    path : path-like
        ``.npz`` with flat arrays (``times`` + ``unit_ids``, optional ``unit_names``)
        or one 1-D array of spike times per unit (key = unit name).
    time_unit : {"s", "ms", "us", "samples"}, default="s"
        Unit of the stored times; converted to seconds.
    rate : float or None
        Sampling rate in Hz when ``time_unit="samples"``.
    t_start, t_stop : float or None
        Recording interval in seconds (after conversion); default first/last spike.
    verbose : bool or str or None

    Returns
    -------
    Recording
        One spike block ``units``.

    Raises
    ------
    FormatError
        Times and unit ids of different lengths, non-numeric times, no usable array.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "s.npz")
    >>> np.savez(f, times=[0.5, 0.1], unit_ids=[1, 0])
    >>> read_spike_npz(f).spikes["units"].times.tolist()
    [0.1, 0.5]
    """
    return _NPZ(path, time_unit=time_unit, rate=rate, t_start=t_start, t_stop=t_stop)


class SpikeCSVReader(_SpikeReader):
    """Spike times in a CSV/TSV table, one row per spike (see :func:`read_spike_csv`)."""

    name = "spike times (CSV)"
    extensions = (".csv", ".tsv")
    library = "pandas.read_csv"
    keeps = "one row per spike: time (s), unit"
    loader = "neurodata.io.read_spike_csv"

    def sniff(self, path: Path) -> bool:
        return _sniff_csv(path)

    def read(self, path: Path, *, time_column: str | None = None,
             unit_column: str | None = None, time_unit: str = "s", rate: float | None = None,
             t_start: float | None = None, t_stop: float | None = None) -> Recording:
        scale = _scale(time_unit, rate, path)
        try:
            table = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise FormatError(f"could not be read as a CSV table ({exc})", path=path) from exc
        cols = [str(c).strip() for c in table.columns]
        table.columns = cols
        tcol = time_column or _find(cols, TIME_KEYS)
        ucol = unit_column or _find(cols, UNIT_KEYS)
        if tcol not in cols or ucol not in cols:
            raise FormatError(f"has columns {cols}; expected a spike-time column (one of "
                              f"{list(TIME_KEYS)}) and a unit column (one of "
                              f"{list(UNIT_KEYS)}), or pass time_column= and unit_column=",
                              path=path)
        raw = table[tcol].str.strip()
        t = pd.to_numeric(raw, errors="coerce")
        if t.isna().any():
            k = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise FormatError(f"line {k + 2}: time {raw.iloc[k]!r} in column {tcol!r} is not a "
                              "number; expected spike times in seconds", path=path)
        ids = table[ucol].str.strip()
        as_int = pd.to_numeric(ids, errors="coerce")
        if not as_int.isna().any() and np.all(np.mod(as_int, 1) == 0):
            ids = as_int.astype(np.int64)
        st = spiketrains_from_arrays(t.to_numpy(np.float64) * scale, ids.to_numpy(),
                                     t_start=t_start, t_stop=t_stop, path=path)
        return self.spike_recording(st, path, {"time_column": tcol, "unit_column": ucol,
                                               "time_unit": time_unit, "rate": rate,
                                               "t_start": t_start, "t_stop": t_stop})


_CSV = SpikeCSVReader()


@verbose
def read_spike_csv(
    path: str | os.PathLike,
    *,
    time_column: str | None = None,
    unit_column: str | None = None,
    time_unit: str = "s",
    rate: float | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    verbose: bool | str | None = None,
) -> Recording:
    """Read spike times from a CSV/TSV table with one row per spike.

    Parameters
    ----------
    path : path-like
        Table with a header; the separator is detected (comma, tab, semicolon).
    time_column, unit_column : str or None
        Column names; by default the first of :data:`TIME_KEYS` / :data:`UNIT_KEYS`
        present (case-insensitive).
    time_unit, rate, t_start, t_stop, verbose
        As in :func:`read_spike_npz`.

    Returns
    -------
    Recording

    Raises
    ------
    FormatError
        Missing columns, or a non-numeric time (the message gives the line number).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(f, "w").write("time,unit\\n0.1,a\\n0.2,b\\n")
    >>> read_spike_csv(f).spikes["units"].unit_names
    ['a', 'b']
    """
    return _CSV(path, time_column=time_column, unit_column=unit_column, time_unit=time_unit,
                rate=rate, t_start=t_start, t_stop=t_stop)


# ------------------------------------------------------------------------------- MAT files
def _is_struct(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.names is not None


def _is_cell(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == object


def _is_empty(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.size == 0


def _is_unit_cell(x: Any) -> bool:
    """A cell array whose entries are unit structs (with ``time``) or empty."""
    return _is_cell(x) and x.size > 0 and all(
        _is_empty(e) or (_is_struct(e) and "time" in e.dtype.names) for e in x.flat)


def _is_group_cell(x: Any) -> bool:
    """A cell array of unit cells (tetrodes) or empties, with at least one unit cell."""
    return _is_cell(x) and x.size > 0 and any(_is_unit_cell(e) for e in x.flat) and all(
        _is_empty(e) or _is_unit_cell(e) for e in x.flat)


def _nested_units(var: Any, path: Path, varname: str
                  ) -> tuple[dict[str, np.ndarray], dict[str, str], list[tuple[float, float]],
                             list[str]]:
    """Unit times, labels, time ranges and the names of units without spikes."""
    node = var
    # MATLAB wraps cells in 1x1 cells; unwrap until the tetrode level.
    while _is_cell(node) and node.size == 1 and not _is_group_cell(node) \
            and not _is_unit_cell(node):
        node = node.flat[0]
    if _is_struct(node) and "time" in node.dtype.names:
        flat = node.reshape(-1)  # a struct array of units: spikes(i).time
        group = np.empty(flat.size, dtype=object)
        for i in range(flat.size):
            group[i] = flat[i:i + 1]
        groups, prefix = [group], "u"
    elif _is_unit_cell(node):
        groups, prefix = [node], "u"
    elif _is_group_cell(node):
        groups, prefix = list(node.flat), "tt"
    else:
        raise FormatError(
            f"variable {varname!r} is not a spike-time layout: expected a cell array of "
            "tetrodes, each a cell array of structs with a field 'time' (nelpy spikes.mat), "
            "or flat 'times' and 'unit_ids' variables", path=path)
    times: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}
    ranges: list[tuple[float, float]] = []
    empty: list[str] = []
    for g, group in enumerate(groups, start=1):
        if _is_empty(group):
            continue
        for u, unit in enumerate(group.flat, start=1):
            if _is_empty(unit):
                continue
            t = np.asarray(unit["time"].flat[0], dtype=np.float64).ravel() \
                if unit["time"].size else np.zeros(0)
            uname = f"tt{g:02d}_u{u:02d}" if prefix == "tt" else f"u{u:02d}"
            if t.size == 0:
                empty.append(uname)
                continue
            times[uname] = t
            labels[uname] = f"tt{g:02d}" if prefix == "tt" else ""
            if "timerange" in unit.dtype.names and unit["timerange"].size:
                tr = np.asarray(unit["timerange"].flat[0], dtype=np.float64).ravel()
                if tr.size == 2 and np.all(np.isfinite(tr)):
                    ranges.append((float(tr[0]), float(tr[1])))
    if not times:
        raise FormatError(f"variable {varname!r} holds no unit with spike times", path=path)
    return times, labels, ranges, empty


def _read_mat_v73(path: Path, allow_external: bool = False) -> dict[str, np.ndarray]:
    import h5py

    from ._hdf5_links import refuse_external

    refuse_external(path, "MAT v7.3", allow_external)
    out = {}
    with h5py.File(path, "r") as f:
        for key, obj in f.items():
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf":
                out[key] = obj[()]
    return out


class SpikeMATReader(_SpikeReader):
    """Spike times in a MATLAB file, flat or nested (see :func:`read_spike_mat`)."""

    name = "spike times (MAT)"
    extensions = (".mat",)
    library = "scipy.io.loadmat / h5py"
    keeps = ("flat times + unit ids, or nested tetrode → unit structs (nelpy spikes.mat): "
             "unit names tt01_u02, tetrode labels, time range")
    loader = "neurodata.io.read_spike_mat"

    def sniff(self, path: Path) -> bool:
        return _sniff_mat(path)

    def read(self, path: Path, *, variable: str | None = None, time_unit: str = "s",
             rate: float | None = None, t_start: float | None = None,
             t_stop: float | None = None, allow_external: bool = False) -> Recording:
        from scipy.io.matlab import MatReadError

        scale = _scale(time_unit, rate, path)
        params = {"variable": variable, "time_unit": time_unit, "rate": rate, "t_start": t_start,
                  "t_stop": t_stop}
        try:
            mat = {k: v for k, v in safe_loadmat(path).items() if not k.startswith("__")}
            packages: tuple[str, ...] = ("scipy",)
        except NotImplementedError:  # v7.3 = HDF5
            mat, packages = _read_mat_v73(path, allow_external), ("h5py",)
        except (ValueError, OSError, TypeError, MatReadError) as exc:
            raise FormatError(f"could not be read as a MATLAB file ({type(exc).__name__}: {exc})",
                              path=path) from exc
        tkey, ukey = _find(list(mat), TIME_KEYS), _find(list(mat), UNIT_KEYS)
        if variable is None and tkey is not None and ukey is not None \
                and mat[tkey].dtype.kind in "iuf":
            nkey = _find(list(mat), ("unit_names",))
            names = None
            if nkey is not None:
                names = [str(np.ravel(n)[0]) if isinstance(n, np.ndarray) and n.size else str(n)
                         for n in np.ravel(mat[nkey])]
            st = spiketrains_from_arrays(np.ravel(mat[tkey]) * scale, np.ravel(mat[ukey]),
                                         unit_names=names, t_start=t_start, t_stop=t_stop,
                                         path=path)
            return self.spike_recording(st, path, params, packages=packages,
                                        skipped=[k for k in mat if k not in (tkey, ukey, nkey)])

        if variable is None:
            variable = "spikes" if "spikes" in mat else (next(iter(mat)) if len(mat) == 1 else None)
        if variable is None or variable not in mat:
            raise FormatError(
                f"holds variables {sorted(mat)}; expected flat spike times + unit ids (e.g. "
                "'times' and 'unit_ids') or a nested struct variable such as 'spikes' (pass "
                "variable=)",
                path=path)
        times, labels, ranges, empty = _nested_units(mat[variable], path, variable)
        if t_start is None and ranges:
            t_start = min(r[0] for r in ranges) * scale
        if t_stop is None and ranges:
            t_stop = max(r[1] for r in ranges) * scale
        all_t = np.concatenate(list(times.values())) * scale
        # a timerange narrower than the spikes would be inconsistent; widen rather than fail
        if t_start is not None and all_t.min() < t_start:
            t_start = float(all_t.min())
        if t_stop is not None and all_t.max() > t_stop:
            t_stop = float(all_t.max())
        st = SpikeTrains.from_unit_times({k: v * scale for k, v in times.items()}, labels=labels,
                                         t_start=t_start, t_stop=t_stop)
        if any(labels.values()):
            st.units["tetrode"] = [int(lbl[2:]) for lbl in st.units["label"]]
        return self.spike_recording(st, path, params, packages=packages,
                                    skipped=[k for k in mat if k != variable]
                                    + [f"{variable}:{u} (no spikes)" for u in empty])


_MAT = SpikeMATReader()


@verbose
def read_spike_mat(
    path: str | os.PathLike,
    *,
    variable: str | None = None,
    time_unit: str = "s",
    rate: float | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    allow_external: bool = False,
    verbose: bool | str | None = None,
) -> Recording:
    """Read spike times from a MATLAB ``.mat`` file.

    Parameters
    ----------
    path : path-like
        A MAT file with flat ``times`` + ``unit_ids`` variables, or a nested
        tetrode → unit struct array (the nelpy ``spikes.mat`` layout, see the module
        docstring).
    variable : str or None
        Name of the nested variable (default ``spikes``, else the only variable).
    time_unit, rate : see :func:`read_spike_npz`
    t_start, t_stop : float or None
        Recording interval in seconds; default the union of the units' ``timerange``
        fields when present, else the first and last spike.
    allow_external : bool, default=False
        For v7.3 (HDF5) files: follow external links, virtual datasets and external
        raw storage, which read other files (refused by default).
    verbose : bool or str or None

    Returns
    -------
    Recording
        One spike block ``units``; for the nested layout only units with at least one
        spike are kept, named ``tt01_u02`` with label ``tt01`` (extra column
        ``tetrode``).

    Raises
    ------
    FormatError
        Neither layout found (the message lists the file's variables).

    Examples
    --------
    >>> rec = read_spike_mat("spikes.mat")  # doctest: +SKIP
    >>> rec.spikes["units"]  # doctest: +SKIP
    <SpikeTrains 'units' | 31 units, 28829 spikes, 4397–6365.27 s>
    """
    return _MAT(path, variable=variable, time_unit=time_unit, rate=rate, t_start=t_start,
                t_stop=t_stop, allow_external=allow_external)


# ---------------------------------------------------------------------------- registration
def _sniff_npz(path: Path) -> bool:
    try:
        check_npz_members(path)
    except FormatError as exc:
        return "expands to" in exc.message  # the reader then refuses it, saying why
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError):
        return False
    if not hasattr(z, "files"):  # a plain .npy saved under .npz
        return False
    with z:
        keys = list(z.files)
        if _find(keys, TIME_KEYS) and _find(keys, UNIT_KEYS):
            return True
        return bool(keys) and all(z[k].dtype.kind in "iuf" and z[k].ndim <= 1 for k in keys)


def _sniff_csv(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    cols = [c.strip().strip('"') for c in header.replace("\t", ",").replace(";", ",").split(",")]
    return _find(cols, TIME_KEYS) is not None and _find(cols, UNIT_KEYS) is not None


def _sniff_mat(path: Path) -> bool:
    from scipy.io import whosmat
    from scipy.io.matlab import MatReadError

    try:
        names = [w[0] for w in whosmat(path)]
    except (TypeError, KeyError, MatReadError):  # not a MAT file
        return False
    except NotImplementedError:
        import h5py

        with h5py.File(path, "r") as f:
            names = list(f.keys())
    return "spikes" in names or (_find(names, TIME_KEYS) is not None
                                 and _find(names, UNIT_KEYS) is not None)


register(_NPZ)
register(_CSV)
register(_MAT)
