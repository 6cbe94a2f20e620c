"""NWB, NIfTI (.nii and .nii.gz), suite2p and .npy arrays stay in the source until sliced.

Synthetic files of ~32 MB each; the peak of Python/NumPy allocations (tracemalloc)
while loading must stay far below the data size, and a window read must return the
source's values.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import neurodata as nd

N_TIMES, N_COLS = 40_000, 200  # 32 MB of float32
LIMIT = 4 * 2**20  # a lazy load allocates far less than the 32 MB of data


def _peak(fn):
    fn()  # first call: imports and caches, which are not the data
    tracemalloc.start()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


def _data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((N_TIMES, N_COLS)).astype(np.float32)


def _check_window(ts: nd.TimeSeries, expected: np.ndarray) -> None:
    assert ts.is_lazy
    (win, peak) = _peak(lambda: ts.slice_samples(20_000, 20_100))
    np.testing.assert_array_equal(win, expected[20_000:20_100])
    assert peak < LIMIT


def test_suite2p_is_memory_mapped(tmp_path):
    data = _data()
    plane = tmp_path / "plane0"
    plane.mkdir()
    np.save(plane / "F.npy", np.ascontiguousarray(data.T))
    np.save(plane / "iscell.npy", np.ones((N_COLS, 2)))
    np.save(plane / "ops.npy", np.array({"fs": 30.0}), allow_pickle=True)
    rec, peak = _peak(lambda: nd.load(plane))
    assert peak < LIMIT, f"suite2p load allocated {peak / 2**20:.1f} MiB"
    _check_window(rec.timeseries["calcium"], data)


def test_nwb_series_are_read_on_demand(tmp_path):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    data = _data()
    nwb = NWBFile(session_description="lazy", identifier="lazy-1",
                  session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_acquisition(TimeSeries(name="lfp", data=data, unit="V", rate=1000.0))
    path = tmp_path / "big.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    rec, peak = _peak(lambda: nd.load(path))
    assert peak < LIMIT, f"NWB load allocated {peak / 2**20:.1f} MiB"
    _check_window(rec.timeseries["lfp"], data)


def test_uncompressed_nifti_is_read_volume_block_by_block(tmp_path):
    import nibabel as nib

    # 20 x 10 x 2 voxels x 20000 volumes (NIfTI-1 dims are int16): 32 MB
    vol = np.random.default_rng(1).standard_normal((20, 10, 2, 20_000)).astype(np.float32)
    img = nib.Nifti1Image(vol, np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, tmp_path / "bold.nii")
    rec, peak = _peak(lambda: nd.load(tmp_path / "bold.nii", tr=0.5))
    assert peak < LIMIT, f"NIfTI load allocated {peak / 2**20:.1f} MiB"
    ts = rec.timeseries["bold"]
    assert ts.is_lazy
    win, peak = _peak(lambda: ts.slice_samples(10_000, 10_050))
    np.testing.assert_array_equal(win, vol[..., 10_000:10_050].reshape(-1, 50).T)
    assert peak < LIMIT


def test_gzipped_nifti_is_decompressed_only_up_to_the_slice(tmp_path):
    """Synthetic 16 MB run as .nii.gz: loading allocates far less than the data, a window
    read allocates about the window (gzip is decompressed in pieces up to it), and reads
    in increasing order continue on the open stream with the source's values."""
    import nibabel as nib

    vol = np.random.default_rng(2).standard_normal((20, 10, 2, 10_000)).astype(np.float32)
    img = nib.Nifti1Image(vol, np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 0.5
    nib.save(img, tmp_path / "bold.nii.gz")
    rec, peak = _peak(lambda: nd.load(tmp_path / "bold.nii.gz"))
    assert peak < LIMIT, f"NIfTI .nii.gz load allocated {peak / 2**20:.1f} MiB"
    ts = rec.timeseries["bold"]
    assert ts.is_lazy and ts.shape == (10_000, 400) and ts.rate == 2.0
    win, peak = _peak(lambda: ts.slice_samples(5_000, 5_050))
    np.testing.assert_array_equal(win, vol[..., 5_000:5_050].reshape(-1, 50).T)
    assert peak < LIMIT, f"a 50-volume read of the .nii.gz allocated {peak / 2**20:.1f} MiB"
    for lo in (6_000, 8_000, 9_990):  # forward reads on the kept-open stream
        np.testing.assert_array_equal(ts.slice_samples(lo, lo + 10),
                                      vol[..., lo:lo + 10].reshape(-1, 10).T)
    np.testing.assert_array_equal(ts.slice_samples(0, 5), vol[..., :5].reshape(-1, 5).T)


def test_gzipped_nifti_of_several_members_loads_and_a_cut_one_fails(tmp_path):
    """Synthetic: the gzip trailer's length does not match a two-member file (complete:
    the streaming check accepts it) nor a cut one (refused at load, naming the file)."""
    import gzip

    import nibabel as nib

    from neurodata.errors import FormatError

    vol = np.random.default_rng(3).standard_normal((4, 4, 2, 30)).astype(np.float32)
    img = nib.Nifti1Image(vol, np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, tmp_path / "one.nii")
    raw = (tmp_path / "one.nii").read_bytes()
    (tmp_path / "two.nii.gz").write_bytes(gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]))
    ts = nd.load(tmp_path / "two.nii.gz", tr=1.0).timeseries["bold"]
    np.testing.assert_array_equal(ts.slice_samples(0, 30), vol.reshape(-1, 30).T)
    whole = gzip.compress(raw)
    (tmp_path / "cut.nii.gz").write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(FormatError, match=r"cut\.nii\.gz: could not decompress"):
        nd.load(tmp_path / "cut.nii.gz", tr=1.0)


def test_npy_array_is_memory_mapped(tmp_path):
    data = _data()
    np.save(tmp_path / "act.npy", data)
    rec, peak = _peak(lambda: nd.load(tmp_path / "act.npy", format="array", rate=100.0))
    assert peak < LIMIT
    _check_window(rec.timeseries["misc"], data)


@pytest.mark.parametrize("suffix", [".npy"])
def test_lazy_recording_saves_equal_to_source(tmp_path, suffix):
    data = _data()[:5000]
    np.save(tmp_path / f"a{suffix}", data)
    out = nd.load(tmp_path / f"a{suffix}", format="array", rate=100.0).save(tmp_path / "a.h5")
    with nd.open(out) as rec:
        np.testing.assert_array_equal(rec.timeseries["misc"].slice_samples(0, 5000), data)
    assert Path(out).exists()
