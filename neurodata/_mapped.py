"""Zero-copy reads of uncompressed HDF5 datasets through a memory map.

h5py carries a fixed cost of ~150 µs per read (selection objects, type conversion,
the HDF5 chunk cache), which caps random 2-s window reads at a few thousand per
second.  For an *uncompressed* dataset the bytes of each chunk (or of a contiguous
dataset) sit at a known offset in the file, so we memory-map the file once and
index the chunks as numpy views.  A window read then costs a bounds check, one or
two view slices and a copy: tens of microseconds (see ``benchmarks/bench_io.py``).

Datasets with filters (compression, shuffle), unallocated chunks, chunks that do
not span all columns, or files not opened with the default driver fall back to
plain h5py reads, which are always correct.
"""

from __future__ import annotations

import bisect
import mmap
from typing import Any

import h5py
import numpy as np

__all__ = ["MappedRows", "map_rows"]

_ALL = slice(None)  # "every column"; the default of read(), compared by identity first
_bisect_right = bisect.bisect_right  # a global, not a module attribute lookup, per read


class MappedRows:
    """Row-block reader over an uncompressed 2-D dataset ``(n_rows, n_cols)``.

    Parameters
    ----------
    blocks : list of numpy.ndarray
        Views of consecutive row blocks, in order (a block may have more rows than it
        serves: the last chunk of a dataset is stored whole).
    starts : list of int
        First row of each block; ``starts[0] == 0``.
    shape : tuple of int
        Shape of the dataset.
    owner : object
        The mmap the views point into (kept alive with the reader).
    """

    def __init__(self, blocks: list[np.ndarray], starts: list[int], shape: tuple[int, int],
                 owner: Any):
        self._blocks = blocks
        self._starts = [int(s) for s in starts]
        # first row after each block (the next block's start; n_rows for the last)
        self._ends = self._starts[1:] + [int(shape[0])]
        # one view over the whole dataset (contiguous layout, or chunks back to back):
        # a read is then a single slice and a copy
        self._whole = blocks[0] if len(blocks) == 1 else None
        self.shape = shape
        self.dtype = blocks[0].dtype if blocks else np.dtype("float32")
        self._owner = owner

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Copy rows ``[start, stop)`` of every column (already bounds-checked, non-empty).

        The window-read hot path: no column selection, no per-call allocation beyond the
        output, and a single slice when the window sits inside one block.
        """
        whole = self._whole
        if whole is not None:
            return whole[start:stop].copy()
        k = bisect.bisect_right(self._starts, start) - 1
        off = self._starts[k]
        if stop <= self._ends[k]:
            return self._blocks[k][start - off : stop - off].copy()
        out = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        pos = 0
        while pos < stop - start:
            off, end = self._starts[k], self._ends[k]
            lo = start + pos - off
            n = min(end - off - lo, stop - start - pos)
            out[pos : pos + n] = self._blocks[k][lo : lo + n]
            pos += n
            k += 1
        return out

    def read(self, start: int, stop: int, cols: Any = _ALL) -> np.ndarray:
        """Copy rows ``[start, stop)`` (already bounds-checked) and columns ``cols``."""
        if cols is _ALL and stop > start:
            # the window-read hot path (TimeSeries.slice of all channels): one view and a
            # copy when the window lies in one block (all but ~0.5 % of 2-s windows in a
            # 1-h file of 11 blocks), without a further call
            whole = self._whole
            if whole is not None:
                return whole[start:stop].copy()
            k = _bisect_right(self._starts, start) - 1
            if stop <= self._ends[k]:
                off = self._starts[k]
                return self._blocks[k][start - off : stop - off].copy()
            return self.read_rows(start, stop)
        if stop <= start:
            return np.empty((0, self.shape[1]), dtype=self.dtype)[:, cols]
        if isinstance(cols, slice) and cols == _ALL:
            return self.read_rows(start, stop)
        k = bisect.bisect_right(self._starts, start) - 1
        parts = []
        while k < len(self._blocks) and self._starts[k] < stop:
            off, end = self._starts[k], self._ends[k]
            parts.append(self._blocks[k][max(start, off) - off : min(stop, end) - off, cols])
            k += 1
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts, axis=0)

    def close(self) -> None:
        self._blocks = []
        self._whole = None
        owner, self._owner = self._owner, None
        if owner is not None:
            try:
                owner.close()
            except BufferError:  # a caller still holds a view; the GC closes it later
                pass


def map_rows(dset: h5py.Dataset) -> MappedRows | None:
    """Build a :class:`MappedRows` for ``dset``, or ``None`` if it cannot be mapped."""
    if dset.ndim != 2 or dset.size == 0:
        return None
    fid = dset.file
    if fid.driver != "sec2" or fid.mode != "r":
        return None
    plist = dset.id.get_create_plist()
    if plist.get_nfilters() != 0:
        return None
    dtype = dset.dtype
    if dtype.kind not in "fiu":
        return None
    n_rows, n_cols = dset.shape
    layout = plist.get_layout()
    try:
        fh = open(fid.filename, "rb")
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        finally:
            fh.close()
    except (OSError, ValueError):
        return None
    buf = np.frombuffer(mm, dtype=np.uint8)
    row_bytes = n_cols * dtype.itemsize
    if layout == h5py.h5d.CONTIGUOUS:
        offset = dset.id.get_offset()
        if offset is None or offset + n_rows * row_bytes > buf.size:
            del buf
            mm.close()
            return None
        view = buf[offset : offset + n_rows * row_bytes].view(dtype).reshape(n_rows, n_cols)
        return MappedRows([view], [0], (n_rows, n_cols), mm)
    if layout != h5py.h5d.CHUNKED:
        del buf
        mm.close()
        return None
    chunk_rows, chunk_cols = dset.chunks
    n_blocks = -(-n_rows // chunk_rows)
    if chunk_cols != n_cols or dset.id.get_num_chunks() != n_blocks:
        del buf
        mm.close()
        return None
    chunk_bytes = chunk_rows * row_bytes
    offsets = np.full(n_blocks, -1, dtype=np.int64)
    sizes_ok = True

    def visit(info) -> None:  # chunk_iter is O(n); get_chunk_info(i) is O(n) per call
        nonlocal sizes_ok
        offsets[info.chunk_offset[0] // chunk_rows] = info.byte_offset
        sizes_ok &= info.size == chunk_bytes and info.filter_mask == 0

    dset.id.chunk_iter(visit)
    if not sizes_ok or offsets.min() < 0 or offsets.max() + chunk_bytes > buf.size:
        del buf
        mm.close()
        return None
    # Chunks written in order mostly lie back to back, with an index node between some
    # of them: map each run of back-to-back chunks as one view, so that only windows
    # that straddle a gap need more than one slice.
    breaks = np.flatnonzero(np.diff(offsets) != chunk_bytes) + 1
    run_starts = [0, *breaks.tolist()]
    run_ends = [*breaks.tolist(), n_blocks]
    blocks = [
        buf[offsets[a] : offsets[a] + (b - a) * chunk_bytes].view(dtype)
        .reshape((b - a) * chunk_rows, n_cols)
        for a, b in zip(run_starts, run_ends, strict=True)
    ]
    return MappedRows(blocks, [a * chunk_rows for a in run_starts], (n_rows, n_cols), mm)
