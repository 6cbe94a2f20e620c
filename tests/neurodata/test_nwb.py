"""NWB loader (neurodata.io.nwb) against pynwb.

There is no real NWB file in ../shared/data, so every file here is synthetic: the test
builds it with pynwb from fixed-seed arrays (planted values, rates, timestamps, ROI ids,
unit locations and trials) and checks that our reader returns exactly what pynwb reads.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import FormatError
from neurodata.io.nwb import read_nwb

START = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _nwbfile(**kw):
    from pynwb import NWBFile
    from pynwb.file import Subject

    return NWBFile(session_description="synthetic session", identifier="nwb-test-1",
                   session_start_time=START, session_id="ses-01",
                   subject=Subject(subject_id="mouse1", species="Mus musculus", sex="F",
                                   age="P90D", genotype="Ai93;Emx1-Cre"), **kw)


def _write(nwb, path):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def build_ophys_behavior(path):
    """Fluorescence (regular, 30 Hz from 1.5 s, conversion 2) and DfOverF (irregular) on
    three ROIs with ids 10-12; Position (2-D, 10 Hz) and an irregular speed series;
    two units without electrodes; two trials and one epoch."""
    from pynwb import TimeSeries
    from pynwb.behavior import BehavioralTimeSeries, Position, SpatialSeries
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        RoiResponseSeries,
    )

    rng = np.random.default_rng(0)
    nwb = _nwbfile()
    dev = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(
        name="plane0", optical_channel=OpticalChannel(name="green", description="GCaMP",
                                                      emission_lambda=520.0),
        description="L2/3", device=dev, excitation_lambda=920.0, imaging_rate=30.0,
        indicator="GCaMP6f", location="V1")
    seg = ImageSegmentation()
    ps = seg.create_plane_segmentation(name="cells", description="ROIs", imaging_plane=plane)
    ps.add_column("roi_name", "ROI names")
    for k in range(3):
        mask = np.zeros((8, 8))
        mask[k, 2 * k] = 1.0  # centroid: row k, column 2k
        ps.add_roi(image_mask=mask, roi_name=f"cell{k}", id=10 + k)
    ophys = nwb.create_processing_module("ophys", "optical physiology")
    ophys.add(seg)
    F = rng.normal(100, 5, size=(90, 3)).astype(np.float32)
    dff = rng.normal(0, 1, size=(80, 3)).astype(np.float32)
    stamps = np.cumsum(rng.uniform(0.02, 0.05, size=80))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ROI region's table is linked before adding
        ophys.add(Fluorescence(roi_response_series=RoiResponseSeries(
            name="RoiResponseSeries", data=F, rois=ps.create_roi_table_region("all", [0, 1, 2]),
            unit="lumens", rate=30.0, starting_time=1.5, conversion=2.0)))
        ophys.add(DfOverF(roi_response_series=RoiResponseSeries(
            name="RoiResponseSeries", data=dff, rois=ps.create_roi_table_region("two", [2, 0, 1]),
            unit="n.a.", timestamps=stamps)))
    pos = rng.normal(size=(50, 2))
    speed = rng.normal(size=40)
    beh = nwb.create_processing_module("behavior", "behaviour")
    beh.add(Position(spatial_series=SpatialSeries(name="position", data=pos, unit="meters",
                                                  reference_frame="arena centre", rate=10.0)))
    beh.add(BehavioralTimeSeries(time_series=TimeSeries(
        name="speed", data=speed, unit="m/s", timestamps=np.arange(40) * 0.1 + 0.05)))
    nwb.add_unit_column("quality", "sorting quality")
    nwb.add_unit(spike_times=[0.1, 0.5, 1.0], id=3, quality="good")
    nwb.add_unit(spike_times=[0.2, 2.0], id=7, quality="mua")
    nwb.add_trial_column("trial_type", "condition")
    nwb.add_trial(start_time=0.0, stop_time=1.0, trial_type="go")
    nwb.add_trial(start_time=2.0, stop_time=3.5, trial_type="nogo")
    nwb.add_epoch(start_time=0.0, stop_time=5.0, tags=["baseline"])
    _write(nwb, path)
    return {"F": F, "dff": dff, "stamps": stamps, "pos": pos, "speed": speed}


def build_units_with_electrodes(path):
    """Three units on electrodes of two groups (locations CA1 and DG), no other data."""
    nwb = _nwbfile()
    dev = nwb.create_device(name="probe")
    groups = {loc: nwb.create_electrode_group(name=f"shank_{loc}", description="shank",
                                              location=loc, device=dev)
              for loc in ("CA1", "DG")}
    for loc in ("CA1", "CA1", "DG"):
        nwb.add_electrode(group=groups[loc], location=loc)
    for uid, el, times in ((0, 0, [0.5, 0.25]), (1, 1, [0.1]), (2, 2, [0.3, 0.9, 1.2])):
        nwb.add_unit(spike_times=times, electrodes=[el],
                     electrode_group=groups["DG" if el == 2 else "CA1"], id=uid)
    _write(nwb, path)


@pytest.fixture(scope="module")
def ophys_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nwb") / "ophys.nwb"
    planted = build_ophys_behavior(path)
    return path, planted


def test_fluorescence_regular_and_dff_irregular(ophys_file):
    from pynwb import NWBHDF5IO

    path, planted = ophys_file
    rec = nd.load(path, verbose=False)
    assert set(rec.timeseries) == {"Fluorescence_RoiResponseSeries",
                                   "DfOverF_RoiResponseSeries", "position", "speed"}
    fl = rec.timeseries["Fluorescence_RoiResponseSeries"]
    assert fl.modality == "calcium" and fl.rate == 30.0 and fl.t0 == 1.5
    assert fl.attrs["nwb_container"] == "Fluorescence"
    ch = fl.channels
    assert list(ch["name"]) == ["roi_10", "roi_11", "roi_12"]
    assert list(ch["label"]) == ["cell0", "cell1", "cell2"]
    assert list(ch["unit"]) == ["lumens"] * 3 and set(ch["type"]) == {"neuron"}
    np.testing.assert_allclose(ch[["x", "y"]].to_numpy(float), [[0, 0], [2, 1], [4, 2]])
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        native = nwb.processing["ophys"]["Fluorescence"]["RoiResponseSeries"]
        np.testing.assert_allclose(fl.slice_samples(0, 90), native.get_data_in_units(),
                                   rtol=1e-6)
    np.testing.assert_allclose(fl.slice_samples(0, 90), planted["F"] * 2.0, rtol=1e-6)
    dff = rec.timeseries["DfOverF_RoiResponseSeries"]
    assert dff.rate is None and not dff.is_regular
    np.testing.assert_array_equal(dff.timestamps, planted["stamps"])
    assert list(dff.channels["name"]) == ["roi_12", "roi_10", "roi_11"]  # region order
    np.testing.assert_array_equal(dff.slice_samples(0, 80), planted["dff"])
    assert set(dff.channels["unit"]) == {"n.a."}


def test_behavior_units_events_and_metadata(ophys_file):
    path, planted = ophys_file
    rec = read_nwb(path, verbose=False)
    pos = rec.timeseries["position"]
    assert pos.modality == "behavior" and pos.rate == 10.0
    assert list(pos.channels["name"]) == ["position_x", "position_y"]
    assert set(pos.channels["unit"]) == {"meters"}
    assert pos.attrs["reference_frame"] == "arena centre"
    np.testing.assert_allclose(pos.slice_samples(0, 50), planted["pos"], rtol=1e-6)
    speed = rec.timeseries["speed"]
    np.testing.assert_allclose(speed.timestamps, np.arange(40) * 0.1 + 0.05)
    np.testing.assert_allclose(speed.slice_samples(0, 40)[:, 0], planted["speed"], rtol=1e-6)
    st = rec.spikes["units"]
    assert list(st.units["name"]) == ["unit3", "unit7"]
    assert list(st.units["quality"]) == ["good", "mua"]
    np.testing.assert_array_equal(st.times, [0.1, 0.2, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(st.unit_index, [0, 1, 0, 0, 1])
    ev = rec.events.to_dataframe()
    assert list(ev["label"]) == ["go", "baseline", "nogo"]
    np.testing.assert_allclose(ev["onset"], [0.0, 0.0, 2.0])
    np.testing.assert_allclose(ev["duration"], [1.0, 5.0, 1.5])
    assert list(ev["interval_table"]) == ["trials", "epochs", "trials"]
    assert rec.subject == {"id": "mouse1", "species": "Mus musculus", "sex": "F", "age": "P90D",
                           "genotype": "Ai93;Emx1-Cre"}
    assert rec.session["id"] == "ses-01"
    assert rec.session["start_time"] == "2024-01-02T03:04:05+00:00"
    assert rec.session["description"] == "synthetic session"


def test_series_selection_and_round_trip(ophys_file, tmp_path):
    path, planted = ophys_file
    rec = read_nwb(path, series="DfOverF", units=False, events=False, verbose=False)
    assert list(rec.timeseries) == ["DfOverF_RoiResponseSeries"] and not rec.spikes
    with pytest.raises(ValueError, match="not found"):
        read_nwb(path, series="nope")
    full = read_nwb(path, verbose=False)
    full.save(tmp_path / "ophys.h5")
    assert nd.validate(tmp_path / "ophys.h5").ok
    with nd.open(tmp_path / "ophys.h5") as back:
        np.testing.assert_array_equal(back.timeseries["DfOverF_RoiResponseSeries"].timestamps,
                                      planted["stamps"])
        assert back.subject["genotype"] == "Ai93;Emx1-Cre"
        assert back.spikes["units"].n_spikes == 5
        assert back.provenance["loader"] == "neurodata.io.read_nwb"


def test_units_with_electrodes(tmp_path):
    from pynwb import NWBHDF5IO

    path = tmp_path / "units.nwb"
    build_units_with_electrodes(path)
    rec = read_nwb(path, verbose=False)
    assert not rec.timeseries
    st = rec.spikes["units"]
    assert list(st.units["name"]) == ["unit0", "unit1", "unit2"]
    assert list(st.units["label"]) == ["CA1", "CA1", "DG"]
    with NWBHDF5IO(str(path), "r") as io:
        native = io.read().units
        for u in range(3):
            np.testing.assert_array_equal(np.sort(st.times[st.unit_index == u]),
                                          np.sort(native["spike_times"][u]))


# ------------------------------------------------------------------ bad input
def test_series_without_rate_or_timestamps(ophys_file, tmp_path):
    src, _ = ophys_file
    broken = tmp_path / "no_timing.nwb"
    broken.write_bytes(src.read_bytes())
    with h5py.File(broken, "a") as f:
        del f["processing/ophys/Fluorescence/RoiResponseSeries/starting_time"]
    out = tmp_path / "no_timing.h5"
    with pytest.raises(FormatError, match=r"no_timing\.nwb: series /processing/ophys/Fluorescence"
                                          r"/RoiResponseSeries has neither timestamps nor "
                                          r"starting_time/rate"):
        nd.load(broken)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["no_timing.nwb"]


def test_hdf5_that_is_not_nwb_and_not_hdf5(tmp_path):
    with h5py.File(tmp_path / "other.nwb", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(FormatError, match=r"other\.nwb: is an HDF5 file but not NWB"):
        nd.load(tmp_path / "other.nwb")
    (tmp_path / "text.nwb").write_text("not hdf5\n")
    with pytest.raises(FormatError, match=r"text\.nwb: is not an HDF5 file"):
        read_nwb(tmp_path / "text.nwb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.nwb", "text.nwb"]
