"""suite2p plane folders: real data against ``numpy.load``; ΔF/F on planted traces;
missing files and inconsistent folders raise clear errors and write nothing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import FormatError, MissingFileError
from neurodata.io.suite2p import dff_from_suite2p, read_suite2p

PLANE = "calcium/suite2p/plane0"


@pytest.fixture
def plane_copy(shared, tmp_path):
    """A writable copy of the real plane folder (to remove or break files)."""
    dst = tmp_path / "suite2p" / "plane0"
    shutil.copytree(shared(PLANE), dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def test_real_plane_equals_numpy(shared, tmp_path):
    """Real data: 23 ROIs x 864 frames, 21 cells; values equal np.load; survives save/open."""
    plane = shared(PLANE)
    F, Fneu, spks = (np.load(plane / f"{n}.npy") for n in ("F", "Fneu", "spks"))
    iscell = np.load(plane / "iscell.npy")
    ops = np.load(plane / "ops.npy", allow_pickle=True).item()
    stat = np.load(plane / "stat.npy", allow_pickle=True)
    cells = np.flatnonzero(iscell[:, 0] > 0.5)
    assert F.shape == (23, 864) and cells.size == 21

    rec = nd.load(plane)  # folder reader found by content
    cal = rec.timeseries["calcium"]
    assert cal.shape == (864, 21) and cal.rate == float(ops["fs"]) == 1.0
    np.testing.assert_array_equal(cal[:, :], F[cells].T)
    np.testing.assert_array_equal(rec.timeseries["neuropil"][:, :], Fneu[cells].T)
    np.testing.assert_array_equal(rec.timeseries["deconvolved"][:, :], spks[cells].T)
    ch = cal.channels
    assert ch["name"].tolist() == [f"roi{i:03d}" for i in cells]
    assert set(ch["type"]) == {"neuron"} and set(ch["coord_frame"]) == {"image"}
    np.testing.assert_array_equal(ch["iscell_prob"], iscell[cells, 1])
    np.testing.assert_array_equal(ch["x"], [stat[i]["med"][1] for i in cells])
    np.testing.assert_array_equal(ch["y"], [stat[i]["med"][0] for i in cells])

    out = tmp_path / "s2p.h5"
    rec.save(out)
    assert nd.validate(out).ok
    with nd.open(out) as back:
        np.testing.assert_array_equal(back.timeseries["calcium"][:, :], F[cells].T)
        assert back.timeseries["calcium"].channels["iscell_prob"].tolist() == \
            ch["iscell_prob"].tolist()
        assert back.provenance["loader"] == "neurodata.io.read_suite2p"


def test_all_rois_and_dff(shared):
    """Real data: use_iscell=False keeps 23 ROIs; dff=True matches the documented formula."""
    plane = shared(PLANE)
    F, Fneu = np.load(plane / "F.npy"), np.load(plane / "Fneu.npy")
    rec = read_suite2p(plane, use_iscell=False)
    assert rec.timeseries["calcium"].shape == (864, 23)
    assert rec.timeseries["calcium"].channels["iscell"].sum() == 21

    rec = read_suite2p(plane, dff=True, use_iscell=False, neuropil_coefficient=0.7,
                       baseline="percentile", baseline_percentile=10.0)
    fc = F.astype(np.float64) - 0.7 * Fneu
    f0 = np.percentile(fc, 10.0, axis=1, keepdims=True)
    expected = ((fc - f0) / f0).T
    cal = rec.timeseries["calcium"]
    assert set(cal.channels["unit"]) == {"dF/F"}
    np.testing.assert_allclose(cal[:, :], expected, rtol=1e-5, atol=1e-6)
    assert cal.attrs["dff"]["c"] == 0.7
    assert rec.provenance["parameters"]["baseline"] == "percentile"


def test_dff_running_baseline_planted():
    """Synthetic (planted truth): constant baseline 100 with a slow drift and a 1-frame
    transient; the running 8th-percentile baseline follows the drift, so ΔF/F is 0 away
    from the transient and (200-100)/100 = 1 at it."""
    rate, n = 10.0, 3000
    t = np.arange(n) / rate
    base = 100.0 + 0.1 * t  # 30 a.u. drift over 300 s
    F = base.copy()
    F[1500] += base[1500]
    dff = dff_from_suite2p(F[None], np.zeros((1, n)), rate, baseline_window=20.0,
                           baseline_percentile=8.0)[0]
    assert abs(dff[1500] - 1.0) < 0.02
    quiet = np.r_[200:1400, 1600:2800]
    assert np.max(np.abs(dff[quiet])) < 0.01
    # F0 <= 0 gives NaN, never inf
    dff = dff_from_suite2p(np.ones((1, 5)), np.full((1, 5), 2.0), rate, baseline="percentile")
    assert np.isnan(dff).all()


def test_missing_iscell_is_an_error(plane_copy, tmp_path):
    """No iscell.npy: use_iscell=True (default) raises naming the file; nothing written;
    use_iscell=False keeps every ROI with a warning."""
    (plane_copy / "iscell.npy").unlink()
    out = tmp_path / "out.h5"
    with pytest.raises(MissingFileError, match="iscell.npy.*use_iscell=False"):
        nd.load(plane_copy).save(out)
    assert not out.exists()
    with pytest.warns(UserWarning, match="keeping all 23 ROIs"):
        rec = read_suite2p(plane_copy, use_iscell=False)
    cal = rec.timeseries["calcium"]
    assert cal.shape == (864, 23) and np.isnan(cal.channels["iscell_prob"]).all()


def test_parent_folder_and_bad_folders(plane_copy):
    """The suite2p/ folder with one plane is accepted; broken folders raise clear errors."""
    rec = read_suite2p(plane_copy.parent)
    assert rec.timeseries["calcium"].shape == (864, 21)

    np.save(plane_copy / "spks.npy", np.zeros((5, 864), np.float32))
    with pytest.raises(FormatError, match=r"spks\.npy.*\(23, n_frames\)"):
        read_suite2p(plane_copy)
    (plane_copy / "spks.npy").unlink()

    np.save(plane_copy / "ops.npy", np.array({"nframes": 864}, dtype=object))
    with pytest.raises(FormatError, match="ops.npy.*'fs'"):
        read_suite2p(plane_copy)

    (plane_copy / "ops.npy").unlink()
    with pytest.raises(MissingFileError, match="ops.npy"):
        read_suite2p(plane_copy)

    with pytest.raises(MissingFileError, match="Fneu.npy"):
        (plane_copy / "Fneu.npy").unlink()
        np.save(plane_copy / "ops.npy", np.array({"fs": 30.0}, dtype=object))
        read_suite2p(plane_copy, dff=True)

    with pytest.raises(FormatError, match="not a suite2p plane folder"):
        read_suite2p(plane_copy.parent.parent)
