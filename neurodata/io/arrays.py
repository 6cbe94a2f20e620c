"""A generic reader for plain matrices: ``.npy``, ``.npz``, ``.mat`` and ``.csv``/``.tsv``.

Labs export activity as a bare matrix (neurons × frames, channels × samples) with
perhaps a name list and coordinates beside it.  Such a file says nothing about its
sampling rate or axis order, so this reader guesses nothing: the options say what the
file holds, and it is used only when asked for by name (a stray ``.npy`` in a folder
given to ``neuroloom convert`` is not a recording).  ``.npy`` matrices are
memory-mapped (lazy until sliced)::

    nd.load("traces.mat", format="array", variable="dff", time_axis=1, rate=30.0,
            channel_names="cell_ids", positions="xy", modality="calcium")

Variables of a ``.npz``/``.mat`` that are not used are listed in
``provenance["skipped"]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..channels import CHANNEL_TYPES, make_channels
from ..errors import FormatError
from ..log import verbose
from ..recording import Recording
from ..timeseries import TimeSeries
from ._base import Reader, register
from ._lazy import LazyRows

__all__ = ["read_array", "ArrayReader"]

_TYPE_FOR = {"calcium": "neuron", "eeg": "eeg", "meg": "meg", "seeg": "seeg", "ecog": "ecog",
             "bold": "bold_roi", "behavior": "behavior", "emg": "emg"}


def _variables(path: Path, allow_external: bool) -> dict[str, Any]:
    name = path.name.lower()
    if name.endswith(".npz"):
        from .spike_arrays import check_npz_members

        check_npz_members(path)
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if name.endswith(".mat"):
        from ._isolate import safe_loadmat

        try:
            return {k: v for k, v in safe_loadmat(path).items() if not k.startswith("__")}
        except NotImplementedError:  # v7.3 = HDF5: read lazily through h5py
            import h5py

            from ._hdf5_links import refuse_external

            refuse_external(path, "MAT v7.3", allow_external)
            f = h5py.File(path, "r")
            # MATLAB writes column-major: an (a, b) variable is stored as (b, a)
            return {k: _Transposed(v) for k, v in f.items()
                    if isinstance(v, h5py.Dataset) and v.dtype.kind in "iuf"}
    if name.endswith((".csv", ".tsv", ".txt")):
        import pandas as pd

        sep = "\t" if name.endswith(".tsv") else None
        table = pd.read_csv(path, sep=sep, engine="python")
        numeric = table.select_dtypes("number")
        return {"data": numeric.to_numpy(), "columns": np.array(numeric.columns, dtype=object)}
    return {"data": np.load(path, mmap_mode="r", allow_pickle=False)}


class _Transposed:
    """A v7.3 dataset seen in MATLAB's axis order (lazy)."""

    def __init__(self, ds: Any):
        self.ds = ds
        self.shape = tuple(reversed(ds.shape))
        self.ndim = len(self.shape)
        self.dtype = ds.dtype

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.ds[()]).T
        return arr if dtype is None else arr.astype(dtype)


def _named(variables: dict[str, Any], value: Any, what: str, path: Path) -> Any:
    """``value`` itself, or the file's variable of that name."""
    if isinstance(value, str):
        if value not in variables:
            raise FormatError(f"{what}={value!r} is not a variable of the file; it holds "
                              f"{sorted(variables)}", path=path)
        return np.asarray(variables[value])
    return value


class ArrayReader(Reader):
    """Plain matrices with explicit options (see :func:`read_array`)."""

    name = "array"
    extensions = ()  # only by name: format="array"
    modality = "any (options say what)"
    library = "numpy / scipy.io / pandas"
    keeps = ("format='array': one matrix of a .npy/.npz/.mat/.csv as a block, with the "
             "variable, axis order, rate, channel names and positions you give; .npy "
             "memory-mapped")
    loader = "neurodata.io.read_array"
    packages = ("scipy",)

    def read(self, path: Path, *, rate: float | None = None, variable: str | None = None,
             time_axis: int = 0, channel_names: Sequence[str] | str | None = None,
             positions: Any = None, modality: str = "misc", unit: str = "a.u.",
             t0: float = 0.0, name: str | None = None, allow_external: bool = False
             ) -> Recording:
        if rate is None:
            raise FormatError("a plain matrix does not say its sampling rate: pass rate= (Hz)",
                              path=path)
        if time_axis not in (0, 1):
            raise ValueError(f"time_axis must be 0 (rows are samples) or 1 (columns are "
                             f"samples); got {time_axis!r}")
        variables = _variables(path, allow_external)
        matrices = {k: v for k, v in variables.items()
                    if getattr(v, "ndim", np.ndim(v)) == 2
                    and np.dtype(getattr(v, "dtype", np.float64)).kind in "iuf"}
        if variable is None:
            if len(matrices) != 1:
                raise FormatError(f"holds {len(matrices)} numeric matrices "
                                  f"{sorted(matrices)}; pass variable= to choose one", path=path)
            variable = next(iter(matrices))
        if variable not in matrices:
            raise FormatError(f"variable {variable!r} is not a numeric 2-D matrix here; "
                              f"matrices: {sorted(matrices)}", path=path)
        source = matrices[variable]
        if isinstance(source, np.memmap):
            data: Any = LazyRows(source, time_axis=time_axis, path=str(path))
        else:
            arr = np.asarray(source)
            data = np.ascontiguousarray(arr if time_axis == 0 else arr.T, dtype=np.float32)
        n_channels = data.shape[1]
        used = {variable}
        if channel_names is None and "columns" in variables and path.suffix.lower() != ".npz":
            channel_names = [str(c) for c in variables["columns"]]
            used.add("columns")
        if isinstance(channel_names, str):
            used.add(channel_names)
            channel_names = [str(np.ravel(n)[0]) if isinstance(n, np.ndarray) and n.size
                             else str(n)
                             for n in np.ravel(_named(variables, channel_names,
                                                      "channel_names", path))]
        names = list(channel_names) if channel_names is not None else [
            f"ch{i:03d}" for i in range(n_channels)]
        if len(names) != n_channels:
            raise FormatError(f"{len(names)} channel names for {n_channels} channels "
                              f"(variable {variable!r}, time_axis={time_axis}); is the axis "
                              "order right?", path=path)
        pos = None
        if positions is not None:
            if isinstance(positions, str):
                used.add(positions)
            pos = np.asarray(_named(variables, positions, "positions", path), dtype=np.float64)
            if pos.ndim != 2 or n_channels not in pos.shape:
                raise FormatError(f"positions have shape {pos.shape}; expected "
                                  f"({n_channels}, 2 or 3)", path=path)
            pos = pos if pos.shape[0] == n_channels else pos.T
            pos = np.column_stack([pos, np.full((n_channels, 3 - pos.shape[1]), np.nan)]) \
                if pos.shape[1] < 3 else pos[:, :3]
        ch_type = _TYPE_FOR.get(modality, "misc")
        if ch_type not in CHANNEL_TYPES:
            ch_type = "misc"
        channels = make_channels(names, types=ch_type, units=unit, positions=pos)
        ts = TimeSeries(data, rate=rate, t0=t0, channels=channels, modality=modality,
                        name=name or modality,
                        attrs={"source_variable": variable, "time_axis": time_axis},
                        _path=str(path))
        skipped = sorted(k for k in variables if k not in used)
        return self.recording([ts], path=path, skipped=skipped, session={"id": path.stem},
                              parameters={"rate": rate, "variable": variable,
                                          "time_axis": time_axis, "modality": modality,
                                          "unit": unit, "t0": t0})


_READER = register(ArrayReader())


@verbose
def read_array(path: str | os.PathLike, *, rate: float, variable: str | None = None,
               time_axis: int = 0, channel_names: Sequence[str] | str | None = None,
               positions: Any = None, modality: str = "misc", unit: str = "a.u.",
               t0: float = 0.0, name: str | None = None, allow_external: bool = False,
               verbose: bool | str | None = None) -> Recording:
    """Read one plain matrix from ``.npy``/``.npz``/``.mat``/``.csv`` with explicit options.

    Parameters
    ----------
    path : path-like
    rate : float
        Sampling rate in Hz (the file does not say it).
    variable : str or None
        The matrix (``.npz``/``.mat`` variable); ``None`` when the file holds one matrix.
    time_axis : {0, 1}, default=0
        0: rows are samples (time × channels); 1: columns are (neurons × frames).
    channel_names : sequence of str or str or None
        Names, or the name of a variable holding them (CSV: the header by default).
    positions : array or str or None
        ``(n_channels, 2 or 3)`` coordinates (or a variable name), stored as x, y, z.
    modality : str, default="misc"
        Block modality (``"calcium"`` gives channel type ``neuron``).
    unit : str, default="a.u."
    t0 : float, default=0.0
    name : str or None
        Block name (default: the modality).
    allow_external : bool, default=False
        MAT v7.3: follow links/storage that read other files.
    verbose : bool or str or None

    Returns
    -------
    Recording
        One block; unused variables in ``provenance["skipped"]``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "act.npy")
    >>> np.save(f, np.zeros((3, 100)))  # 3 neurons x 100 frames
    >>> read_array(f, rate=10.0, time_axis=1, modality="calcium").timeseries["calcium"].shape
    (100, 3)
    """
    return _READER(path, rate=rate, variable=variable, time_axis=time_axis,
                   channel_names=channel_names, positions=positions, modality=modality,
                   unit=unit, t0=t0, name=name, allow_external=allow_external)
