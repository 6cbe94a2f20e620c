"""The cached window-read fast path of ``TimeSeries.slice`` returns the checked path's data.

Synthetic data only (random float32 samples written to our format in a temporary folder).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata._h5format import chunk_rows_for
from neurodata.errors import NeurodataError, SliceError


def _saved(tmp_path, n_times, n_ch, rate, *, shuffled_chunks=False):
    data = np.random.default_rng(0).standard_normal((n_times, n_ch)).astype(np.float32)
    path = nd.Recording([nd.TimeSeries(data, rate=rate, t0=1.5, modality="eeg")]).save(
        tmp_path / "r.h5")
    if shuffled_chunks:  # chunks not back to back: one mapped block per chunk
        rows = chunk_rows_for(n_ch)
        with h5py.File(path, "r+") as f:
            g = f["timeseries/eeg"]
            del g["data"]
            d = g.create_dataset("data", shape=data.shape, dtype="f4", chunks=(rows, n_ch))
            for k in reversed(range(-(-n_times // rows))):
                d[k * rows:(k + 1) * rows] = data[k * rows:(k + 1) * rows]
    return path, data


@pytest.mark.parametrize("shuffled", [False, True])
def test_fast_slices_equal_the_data(tmp_path, shuffled):
    """Random windows (also straddling chunks, at both ends) equal the array slices."""
    rate = 160.0
    path, data = _saved(tmp_path, 20_000, 8, rate, shuffled_chunks=shuffled)
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        assert ts._mapped is not None
        if shuffled:
            assert len(ts._mapped._blocks) > 1
        starts = np.random.default_rng(1).integers(0, data.shape[0] - 320, 200)
        for s in [0, data.shape[0] - 320, *starts.tolist()]:
            t = 1.5 + s / rate
            out = ts.slice(t, t + 2.0)
            np.testing.assert_array_equal(out, data[s:s + 320])
            assert out.flags.owndata and out.dtype == np.float32
        np.testing.assert_array_equal(ts.slice(1.5, ts.t_end), data)
        assert ts.slice(2.0, 2.0).shape == (0, 8)
        np.testing.assert_array_equal(ts.slice(2.0, 3.0, channels=[1, 3]),
                                      data[80:240][:, [1, 3]])


def test_fast_path_still_checks_bounds(tmp_path):
    """Out-of-range, reversed and NaN times raise SliceError, as on the checked path."""
    path, _ = _saved(tmp_path, 2000, 4, 100.0)
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        ts.slice(2.0, 3.0)  # builds the cached index
        for t0, t1 in [(1.0, 2.0), (20.0, 22.0), (3.0, 2.0), (float("nan"), 2.0),
                       (2.0, float("inf"))]:
            with pytest.raises(SliceError):
                ts.slice(t0, t1)


def test_closed_recording_does_not_serve_stale_windows(tmp_path):
    """After close the cached reader is dropped: a read fails instead of using the map."""
    path, _ = _saved(tmp_path, 2000, 4, 100.0)
    rec = nd.open(path)
    ts = rec.timeseries["eeg"]
    ts.slice(2.0, 3.0)
    rec.close()
    with pytest.raises((NeurodataError, ValueError, RuntimeError, KeyError, OSError)):
        ts.slice(2.0, 3.0)


def test_is_mapped_reports_the_read_path(tmp_path):
    """Uncompressed files are memory-mapped, gzip files and in-memory series are not."""
    data = np.random.default_rng(2).standard_normal((3000, 4)).astype(np.float32)
    ts = nd.TimeSeries(data, rate=100.0, modality="eeg")
    assert not ts.is_mapped
    plain = nd.Recording([ts]).save(tmp_path / "plain.h5")
    gz = nd.Recording([ts]).save(tmp_path / "gz.h5", compression="gzip")
    with nd.open(plain) as a, nd.open(gz) as b:
        assert a.timeseries["eeg"].is_mapped
        assert not b.timeseries["eeg"].is_mapped
        # both read paths return the same window
        np.testing.assert_array_equal(a.timeseries["eeg"].slice(3.0, 5.0),
                                      b.timeseries["eeg"].slice(3.0, 5.0))


def test_cached_index_follows_the_reader(tmp_path):
    """Dropping the reader (h5py path) or restoring it is seen by the next slice."""
    path, data = _saved(tmp_path, 4000, 3, 100.0)
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        mapped = ts._mapped
        np.testing.assert_array_equal(ts.slice(2.0, 4.0), data[50:250])
        ts._mapped = None  # the checked h5py path, same samples
        np.testing.assert_array_equal(ts.slice(2.0, 4.0), data[50:250])
        assert not ts.is_mapped
        ts._mapped = mapped
        np.testing.assert_array_equal(ts.slice(2.005, 4.0), data[51:250])
        assert ts._window_index[0] is mapped
