"""Readers lose nothing silently (issue 16, point 6): plain NWB TimeSeries, a generic
array reader with explicit options, FieldTrip found by its variable, skipped content
listed and warned, metadata from the file only.  All files are synthetic.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import scipy.io

import neurodata as nd
from neurodata.errors import FormatError
from neurodata.io import read_linear_track
from neurodata.io.arrays import read_array


def _nwb_plain(path, n_neurons=4, n_frames=300):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.image import ImageSeries

    rng = np.random.default_rng(0)
    traces = rng.standard_normal((n_frames, n_neurons)).astype(np.float32)
    nwb = NWBFile(session_description="plain series", identifier="plain-1",
                  session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    for i in range(n_neurons):
        nwb.add_acquisition(TimeSeries(name=f"neuron_{i}", data=traces[:, i],
                                       unit="dF/F", rate=15.0, starting_time=2.0,
                                       description="GCaMP6s fluorescence of one cell"))
    nwb.add_acquisition(TimeSeries(name="running_speed", data=rng.random(100), unit="cm/s",
                                   timestamps=np.sort(rng.random(100)) * 20))
    nwb.add_acquisition(ImageSeries(name="movie", data=np.zeros((3, 4, 4)), unit="n/a",
                                    rate=1.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return traces


def test_nwb_plain_timeseries_per_neuron_become_one_calcium_block(tmp_path):
    traces = _nwb_plain(tmp_path / "plain.nwb")
    with pytest.warns(UserWarning, match=r"not converted by the NWB reader: "
                                         r"acquisition/movie \(ImageSeries\)"):
        rec = nd.load(tmp_path / "plain.nwb")
    ts = rec.timeseries["acquisition"]
    assert ts.modality == "calcium" and ts.ch_names == [f"neuron_{i}" for i in range(4)]
    assert ts.rate == 15.0 and ts.t0 == 2.0
    assert set(ts.channels["type"]) == {"neuron"} and set(ts.channels["unit"]) == {"dF/F"}
    np.testing.assert_array_equal(ts.slice_samples(0, ts.n_times), traces)
    speed = rec.timeseries["running_speed"]
    assert not speed.is_regular and speed.modality == "misc"
    assert rec.provenance["skipped"] == ["acquisition/movie (ImageSeries)"]
    out = rec.save(tmp_path / "plain.h5")
    assert nd.validate(out).ok


def test_array_reader_mat_with_names_positions_and_axis_order(tmp_path):
    act = np.random.default_rng(1).standard_normal((5, 120))  # neurons x frames
    xy = np.arange(10.0).reshape(5, 2)
    scipy.io.savemat(tmp_path / "export.mat", {"activity": act, "xy": xy,
                                                "ids": np.array([f"c{i}" for i in range(5)],
                                                                dtype=object),
                                                "notes": "lab export"})
    with pytest.warns(UserWarning, match="notes"):
        rec = nd.load(tmp_path / "export.mat", format="array", variable="activity",
                      time_axis=1, rate=30.0, channel_names="ids", positions="xy",
                      modality="calcium")
    ts = rec.timeseries["calcium"]
    assert ts.shape == (120, 5) and ts.rate == 30.0 and ts.ch_names == [f"c{i}" for i in range(5)]
    np.testing.assert_allclose(ts.slice_samples(0, 120), act.T.astype(np.float32))
    np.testing.assert_array_equal(ts.channels[["x", "y"]].to_numpy(), xy)
    assert set(ts.channels["type"]) == {"neuron"}
    assert rec.provenance["skipped"] == ["notes"]
    assert rec.provenance["parameters"]["time_axis"] == 1


def test_array_reader_csv_npz_and_its_errors(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}).to_csv(tmp_path / "t.csv",
                                                                      index=False)
    ts = read_array(tmp_path / "t.csv", rate=2.0).timeseries["misc"]
    assert ts.ch_names == ["a", "b"] and ts.slice_samples(0, 3)[:, 1].tolist() == [4, 5, 6]
    np.savez(tmp_path / "m.npz", x=np.zeros((10, 2)), y=np.ones((10, 3)))
    with pytest.raises(FormatError, match=r"m\.npz: holds 2 numeric matrices.*variable="):
        read_array(tmp_path / "m.npz", rate=1.0)
    with pytest.raises(FormatError, match=r"m\.npz: 2 channel names for 3 channels"):
        read_array(tmp_path / "m.npz", rate=1.0, variable="y", channel_names=["p", "q"])
    np.save(tmp_path / "n.npy", np.zeros((4, 4)))
    with pytest.raises(FormatError, match=r"n\.npy: a plain matrix does not say its "
                                          r"sampling rate"):
        nd.load(tmp_path / "n.npy", format="array")
    with pytest.raises(FormatError, match=r"n\.npy: unsupported file type '\.npy'"):
        nd.load(tmp_path / "n.npy")  # never picked by extension: not every .npy is a recording


def test_fieldtrip_with_cfg_beside_data_is_recognised(tmp_path):
    x = np.random.default_rng(2).standard_normal((2, 400))
    data = {"label": np.array(["C3", "C4"], dtype=object), "fsample": 200.0,
            "trial": np.array([x], dtype=object),
            "time": np.array([np.arange(400) / 200.0], dtype=object)}
    cfg = {"dataset": "rec.eeg", "trl": np.array([[1, 400, 0]])}
    scipy.io.savemat(tmp_path / "ft.mat", {"cfg": cfg, "data": data})
    assert nd.io.find_reader(tmp_path / "ft.mat").name == "FieldTrip"
    ts = nd.load(tmp_path / "ft.mat").timeseries
    block = next(iter(ts.values()))
    assert block.ch_names == ["C3", "C4"] and block.rate == 200.0
    scipy.io.savemat(tmp_path / "ft2.mat", {"cfg": cfg, "raw": data})  # other name
    assert nd.io.find_reader(tmp_path / "ft2.mat").name == "FieldTrip"
    block = next(iter(nd.load(tmp_path / "ft2.mat").timeseries.values()))
    np.testing.assert_allclose(block.slice_samples(0, 400), x.T, rtol=1e-6, atol=1e-7)


def test_linear_track_task_comes_from_the_caller_not_a_constant():
    folder = nd.sample_path("nelpy_linear_track")
    assert "task" not in read_linear_track(folder).session
    assert read_linear_track(folder, session={"task": "W maze"}).session["task"] == "W maze"


def test_suite2p_lists_files_it_does_not_convert(tmp_path):
    plane = tmp_path / "plane0"
    plane.mkdir()
    np.save(plane / "F.npy", np.zeros((2, 20), np.float32))
    np.save(plane / "ops.npy", np.array({"fs": 10.0}), allow_pickle=True)
    (plane / "data.bin").write_bytes(b"\0" * 16)
    with pytest.warns(UserWarning, match=r"not converted by the suite2p reader: data\.bin"):
        rec = nd.load(plane, use_iscell=False)
    assert rec.provenance["skipped"] == ["data.bin"]
