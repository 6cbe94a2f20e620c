"""Row-sliceable views that leave signal data in the source file until read.

:class:`~neurodata.TimeSeries` accepts any object with ``shape`` and row slicing;
:class:`LazyRows` adapts the sources readers meet (``numpy.memmap``, ``h5py.Dataset``,
nibabel array proxies) to that contract: a view of shape ``(n_times, n_columns)``,
optionally transposed (suite2p stores ``(n_rois, n_frames)``), restricted to some
columns, and scaled (NWB ``conversion`` / ``offset``).  Only the requested rows are
read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["LazyRows"]


class LazyRows:
    """A lazy ``(n_times, n_columns)`` float32 view over a 2-D source.

    Parameters
    ----------
    source : array-like
        ``numpy.memmap``, ``h5py.Dataset`` or anything with ``shape`` and numpy
        indexing.
    time_axis : {0, 1}, default=0
        The source axis that is time (1 for ``(n_channels, n_times)`` sources).
    columns : sequence of int or None
        Keep only these source columns (sorted, unique), in this order.
    scale, offset : float
        ``value = raw * scale + offset``.
    read : callable or None
        ``read(start, stop) -> (stop - start, n_source_columns)`` replacing the default
        indexing (e.g. a NIfTI proxy read of volumes ``[start, stop)``).
    shape : tuple of 2 int or None
        The source's 2-D shape when ``source.shape`` is not (with ``read``).
    owner : object or None
        Kept alive with the view (the open file the source lives in).
    path : str or None
        The source file: a read that fails later (a corrupt chunk, a file changed
        under us) is a :class:`~neurodata.errors.FormatError` naming it.

    Examples
    --------
    >>> import numpy as np
    >>> src = np.arange(12, dtype=np.float32).reshape(3, 4)  # (channels, times)
    >>> LazyRows(src, time_axis=1, columns=[0, 2])[1:3]
    array([[ 1.,  9.],
           [ 2., 10.]], dtype=float32)
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, source: Any, *, time_axis: int = 0, columns: Sequence[int] | None = None,
                 scale: float = 1.0, offset: float = 0.0,
                 read: Callable[[int, int], np.ndarray] | None = None,
                 shape: tuple[int, int] | None = None, owner: Any = None,
                 path: str | None = None):
        self._source = source
        self._owner = owner
        self._path = path
        self._time_axis = int(time_axis)
        src_shape = tuple(int(s) for s in (shape or source.shape))
        if len(src_shape) != 2:
            raise ValueError(f"LazyRows needs a 2-D source; got shape {src_shape}")
        n_times = src_shape[self._time_axis]
        n_cols = src_shape[1 - self._time_axis]
        self._columns = None if columns is None else np.asarray(columns, dtype=np.intp)
        if self._columns is not None and self._columns.size and (
                self._columns.min() < 0 or self._columns.max() >= n_cols
                or np.any(np.diff(self._columns) <= 0)):
            raise ValueError("columns must be sorted unique indices into the source")
        self.shape = (n_times, n_cols if self._columns is None else int(self._columns.size))
        self._scale = float(scale)
        self._offset = float(offset)
        self._read = read

    def __len__(self) -> int:
        return self.shape[0]

    def _rows(self, start: int, stop: int) -> np.ndarray:
        try:
            return self._read_rows(start, stop)
        except MemoryError:
            raise
        except Exception as exc:
            from ..errors import FormatError, NeurodataError

            if isinstance(exc, NeurodataError):
                raise
            raise FormatError(f"could not read samples [{start}, {stop}) from the source "
                              f"({type(exc).__name__}: {exc}); the file is corrupt, truncated "
                              "or was changed after it was opened", path=self._path) from exc

    def _read_rows(self, start: int, stop: int) -> np.ndarray:
        cols = self._columns
        if self._read is not None:
            block = np.asarray(self._read(start, stop))
            if cols is not None:
                block = block[:, cols]
        elif self._time_axis == 0:
            block = np.asarray(self._source[start:stop])
            if cols is not None:
                block = block[:, cols]
        else:
            if cols is None:
                block = np.asarray(self._source[:, start:stop])
            elif cols.size and cols[-1] - cols[0] + 1 == cols.size:  # a contiguous run
                block = np.asarray(self._source[int(cols[0]):int(cols[-1]) + 1, start:stop])
            else:
                block = np.asarray(self._source[cols, start:stop])
            block = block.T
        out = block.astype(np.float32, copy=True)
        if self._scale != 1.0:
            out *= np.float32(self._scale)
        if self._offset != 0.0:
            out += np.float32(self._offset)
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        cols: Any = slice(None)
        if isinstance(key, tuple):
            key, cols = key
        if isinstance(key, int | np.integer):
            k = int(key) + (self.shape[0] if key < 0 else 0)
            return self._rows(k, k + 1)[0, cols]
        if not isinstance(key, slice):
            raise TypeError("LazyRows supports row slices (data[a:b]) only")
        start, stop, step = key.indices(self.shape[0])
        out = self._rows(start, max(start, stop))
        out = out[::step] if step != 1 else out
        return out if cols == slice(None) else out[:, cols]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"<LazyRows {self.shape} over {type(self._source).__name__}>"
