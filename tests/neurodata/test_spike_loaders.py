"""Spike-time arrays (NPZ/CSV/MAT, nelpy spikes.mat), Trodes position files and binning.

Real files are compared with scipy.io.loadmat / numpy.frombuffer; small synthetic files
plant known spikes for the layouts and the bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io as sio

import neurodata as nd
from neurodata.binning import bin_edges, bin_events, bin_spikes, bin_timeseries
from neurodata.errors import FormatError, ValidationError
from neurodata.io.position_tracking import read_linear_track, read_position_tracking
from neurodata.io.spike_arrays import read_spike_csv, read_spike_mat, read_spike_npz

TRACK = "spikes/nelpy_linear-track"
HEADER = (b"<Start settings>\nclockrate: 30000\nFields: <time uint32><xloc uint16><yloc uint16>"
          b"<xloc2 uint16><yloc2 uint16>\n<End settings>\n")
REC = np.dtype([("time", "<u4"), ("x", "<u2"), ("y", "<u2"), ("x2", "<u2"), ("y2", "<u2")])


def _loadmat_units(path):
    """Unit times straight from scipy.io.loadmat, walking the nested cells by hand."""
    tetrodes = sio.loadmat(path)["spikes"][0, 0][0, 0]
    out = {}
    for g in range(tetrodes.shape[1]):
        units = tetrodes[0, g]
        for u in range(units.size):
            unit = units.flat[u]
            if unit.size and unit.dtype.names and unit["time"][0, 0].size:
                out[f"tt{g + 1:02d}_u{u + 1:02d}"] = unit["time"][0, 0].ravel()
    return out


# ------------------------------------------------------------------------------ real data
def test_nelpy_spikes_equal_loadmat(shared, tmp_path):
    """Real data: 31 non-empty units, 28829 spikes, 4397.0-6365.1 s, times equal loadmat."""
    path = shared(f"{TRACK}/spikes.mat")
    ref = _loadmat_units(path)
    st = nd.load(path).spikes["units"]
    assert st.n_units == len(ref) == 31 and st.n_spikes == 28829
    assert st.unit_names == sorted(ref)
    for name in sorted(ref)[::6]:
        np.testing.assert_array_equal(st.unit_times(name), np.sort(ref[name]))
    assert round(st.times[0], 1) == 4397.0 and round(st.times[-1], 1) == 6365.1
    assert st.t_start <= st.times[0] and st.t_stop >= st.times[-1]
    assert set(st.units["label"]) == {f"tt{g:02d}" for g in (1, 3, 4, 9, 10, 13)}
    out = tmp_path / "spk.h5"
    nd.load(path).save(out)
    with nd.open(out) as back:
        assert back.spikes["units"] == st


def test_position_equals_frombuffer(shared):
    """Real data: records from numpy.frombuffer after the header; 118965 records of which
    one repeats the previous record exactly (dropped, counted in attrs)."""
    path = shared(f"{TRACK}/trajectory.videoPositionTracking")
    raw = path.read_bytes()
    off = raw.index(b"<End settings>\n") + len(b"<End settings>\n")
    ref = np.frombuffer(raw, REC, offset=off)
    assert ref.size == 118965
    pos = read_position_tracking(path).timeseries["position"]
    keep = np.r_[True, np.diff(ref["time"].astype(np.int64)) > 0]
    assert pos.shape == (118964, 2) and pos.attrs["n_duplicate_times_dropped"] == 1
    np.testing.assert_array_equal(pos.timestamps, ref["time"][keep] / 30000.0)
    np.testing.assert_array_equal(pos[:, :], np.c_[ref["x"], ref["y"]][keep])
    assert pos.channels["name"].tolist() == ["x", "y"] and set(pos.channels["unit"]) == {"px"}
    assert round(pos.timestamps[0], 2) == 4397.03 and round(pos.timestamps[-1], 2) == 6379.46
    assert pos[:, 0].min() == 133 and pos[:, 0].max() == 554
    with pytest.raises(FormatError, match="repeat the previous record"):
        read_position_tracking(path, duplicates="error")


def test_linear_track_folder(shared, tmp_path):
    """Real data: the folder is one Recording (spikes + position) that saves and validates."""
    folder = shared(TRACK)
    rec = nd.load(folder)
    assert rec.spikes["units"].n_units == 31
    assert rec.timeseries["position"].modality == "behavior"
    assert len(rec.provenance["sources"]) == 2
    out = tmp_path / "track.h5"
    rec.save(out)
    assert nd.validate(out).ok
    assert read_linear_track(folder, subject={"id": "rat"}).subject["id"] == "rat"


# ----------------------------------------------------------------------- synthetic layouts
def test_npz_layouts(tmp_path):
    """Synthetic: flat times + unit ids (ms, named), and one array per unit."""
    p = tmp_path / "flat.npz"
    np.savez(p, times=[300.0, 100.0, 200.0], unit_ids=[1, 0, 1], unit_names=["a", "b"])
    st = nd.load(p, time_unit="ms").spikes["units"]
    assert st.unit_names == ["a", "b"] and st.times.tolist() == [0.1, 0.2, 0.3]
    assert st.unit_times("b").tolist() == [0.2, 0.3]
    p2 = tmp_path / "per_unit.npz"
    np.savez(p2, n1=[1.0, 2.0], n2=[1.5])
    st = read_spike_npz(p2, t_stop=10.0).spikes["units"]
    assert st.unit_names == ["n1", "n2"] and st.t_stop == 10.0 and st.n_spikes == 3


def test_csv_and_flat_mat(tmp_path):
    """Synthetic: CSV rows (time, unit) and a flat MAT file give the same spike trains."""
    c = tmp_path / "spikes.csv"
    c.write_text("time,unit\n0.5,3\n0.1,7\n0.2,3\n")
    a = read_spike_csv(c).spikes["units"]
    m = tmp_path / "flat.mat"
    sio.savemat(m, {"times": np.array([0.5, 0.1, 0.2]), "unit_ids": np.array([3, 7, 3])})
    b = nd.load(m).spikes["units"]
    assert a.unit_names == b.unit_names == ["3", "7"]
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.unit_index, b.unit_index)
    t = tmp_path / "spikes.tsv"
    t.write_text("Spike_Time\tCluster\n10\tx\n20\ty\n")
    st = nd.load(t, time_unit="samples", rate=10.0).spikes["units"]
    assert st.times.tolist() == [1.0, 2.0] and st.unit_names == ["x", "y"]


def test_struct_array_mat(tmp_path):
    """Synthetic: a plain struct array spikes(i).time (no tetrode level) → units u01, u02."""
    m = tmp_path / "s.mat"
    arr = np.array([(np.array([[1.0], [2.0]]),), (np.array([[0.5]]),)], dtype=[("time", "O")])
    sio.savemat(m, {"spikes": arr})
    st = read_spike_mat(m).spikes["units"]
    assert st.unit_names == ["u01", "u02"] and st.unit_times("u02").tolist() == [0.5]


# -------------------------------------------------------------------------------- bad input
def test_bad_spike_files(tmp_path):
    """Bad input: each a FormatError naming the file, and no output written."""
    out = tmp_path / "out.h5"
    m = tmp_path / "nofields.mat"
    sio.savemat(m, {"data": np.arange(5.0), "other": np.ones(3)})
    with pytest.raises(FormatError, match=r"nofields\.mat.*holds variables \['data', 'other'\]"):
        nd.load(m, format="spike times (MAT)").save(out)
    m2 = tmp_path / "nested.mat"
    sio.savemat(m2, {"spikes": np.array([(np.ones(3),)], dtype=[("stamp", "O")])})
    with pytest.raises(FormatError, match="field 'time'"):
        read_spike_mat(m2)

    c = tmp_path / "bad.csv"
    c.write_text("time,unit\n0.1,1\nabc,2\n")
    with pytest.raises(FormatError, match=r"bad\.csv: line 3: time 'abc'"):
        nd.load(c).save(out)
    c.write_text("onset,channel\n0.1,1\n")
    with pytest.raises(FormatError, match="spike-time column"):
        read_spike_csv(c)

    z = tmp_path / "bad.npz"
    np.savez(z, times=[0.1, 0.2, 0.3], unit_ids=[1, 2])
    with pytest.raises(FormatError, match=r"bad\.npz.*\(3,\) but unit ids \(2,\)"):
        nd.load(z).save(out)
    np.savez(z, times=[0.1, np.nan], unit_ids=[1, 2])
    with pytest.raises(FormatError, match="NaN"):
        read_spike_npz(z)
    assert not out.exists()


def test_bad_position_files(tmp_path):
    """Bad input: no header terminator, truncated record, time going backwards."""
    out = tmp_path / "out.h5"
    recs = np.zeros(3, REC)
    recs["time"] = [30000, 30500, 31000]
    p = tmp_path / "a.videoPositionTracking"
    p.write_bytes(HEADER.replace(b"<End settings>\n", b"") + recs.tobytes())
    with pytest.raises(FormatError, match=r"a\.videoPositionTracking: has no '<End settings>'"):
        nd.load(p).save(out)
    p.write_bytes(HEADER + recs.tobytes()[:-3])
    with pytest.raises(FormatError, match="truncated"):
        read_position_tracking(p)
    recs["time"] = [30000, 29000, 31000]
    p.write_bytes(HEADER + recs.tobytes())
    with pytest.raises(FormatError, match="backwards at record 1"):
        read_position_tracking(p)
    assert not out.exists()
    recs["time"] = [30000, 30500, 31000]
    recs["x2"] = [1, 2, 3]
    p.write_bytes(HEADER + recs.tobytes())
    pos = read_position_tracking(p).timeseries["position"]
    assert pos.channels["name"].tolist() == ["x", "y", "x2"]  # y2 all zero, x2 used
    np.testing.assert_array_equal(pos.timestamps, [1.0, 30500 / 30000, 31000 / 30000])


# ---------------------------------------------------------------------------------- binning
def test_bin_spikes_planted():
    """Synthetic (planted): counts per bin, edges, partial-bin rules, spike at t_stop."""
    st = nd.SpikeTrains.from_unit_times({"a": [0.0, 0.05, 0.3, 1.0], "b": [0.25, 0.99]},
                                        t_start=0.0, t_stop=1.0)
    counts, edges = bin_spikes(st, 0.25)
    assert edges.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert counts.T.tolist() == [[2, 1, 0, 1], [0, 1, 0, 1]]  # 1.0 = t_stop counted in last bin
    assert counts.sum() == st.n_spikes
    np.testing.assert_array_equal(counts[:3], st.bin(0.25)[:3])  # same bins as SpikeTrains.bin

    counts, edges = bin_spikes(st, 0.4)  # 2 full bins; [0.8, 1.0] dropped
    assert edges.tolist() == [0.0, 0.4, 0.8] and counts.sum() == 4
    counts, edges = bin_spikes(st, 0.4, partial="keep")
    assert np.allclose(edges, [0.0, 0.4, 0.8, 1.0]) and counts.sum() == st.n_spikes
    assert counts[-1].tolist() == [1, 1]


def test_bin_spikes_random_sum():
    """Synthetic: random spikes at any bin width: counts add up to spikes inside."""
    rng = np.random.default_rng(0)
    st = nd.SpikeTrains.from_unit_times({f"u{i}": np.sort(rng.uniform(0, 10, 200))
                                         for i in range(5)}, t_start=0.0, t_stop=10.0)
    for width in (0.001, 0.013, 0.1, 0.7, 3.0):
        for partial in ("drop", "keep"):
            counts, edges = bin_spikes(st, width, partial=partial)
            inside = (st.times >= edges[0]) & (st.times <= edges[-1])
            assert counts.sum() == inside.sum()
            assert counts.shape == (edges.size - 1, 5)
            assert np.allclose(np.diff(edges)[:-1], width)
    with pytest.raises(ValidationError, match="bin_size"):
        bin_spikes(st, 0.0)
    assert bin_edges(0.0, 0.3, 0.1).size == 4  # 0.3/0.1 is 2.9999999999999996


def test_bin_events_and_timeseries():
    """Synthetic: events per label; a signal averaged over the same bins."""
    ev = nd.Events(onset=[0.1, 0.6, 0.7, 1.9], label=["go", "go", "stop", "go"])
    counts, edges, labels = bin_events(ev, 0.5, t_start=0.0, t_stop=2.0)
    assert labels == ["go", "stop"] and counts.T.tolist() == [[1, 1, 0, 1], [0, 1, 0, 0]]
    counts, _, labels = bin_events([0.2, 0.3], 1.0, t_start=0.0, t_stop=1.0)
    assert counts.tolist() == [[2]] and labels == [""]
    ts = nd.TimeSeries(np.arange(10, dtype=np.float32)[:, None], rate=5.0)
    values, edges = bin_timeseries(ts, 1.0)
    assert values.ravel().tolist() == [2.0, 7.0] and edges.tolist() == [0.0, 1.0, 2.0]
    irregular = nd.TimeSeries(np.array([[1.0], [3.0], [np.nan]], np.float32),
                              timestamps=[0.1, 0.2, 2.5])
    values, _ = bin_timeseries(irregular, 1.0, t_start=0.0, t_stop=3.0)
    assert values[0, 0] == 2.0 and np.isnan(values[1:, 0]).all()
    assert bin_timeseries(irregular, 1.0, t_start=0.0, t_stop=3.0,
                          statistic="sum")[0].ravel().tolist() == [4.0, 0.0, 0.0]
