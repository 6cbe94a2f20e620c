"""BIDS: a dataset written by mne-bids from the real EEGMMIDB and sEEG recordings, read
back through our BIDS reader (sidecar types, bad channels, positions, events)."""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pandas as pd
import pytest

import neurodata as nd
from neurodata.errors import FormatError
from neurodata.io.bids import bids_recordings


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory):
    from tests.conftest import shared_path

    mne_bids = pytest.importorskip("mne_bids")
    root = tmp_path_factory.mktemp("bids")
    edf = shared_path("eeg_meg/eegmmidb/S001R04.edf")
    seeg = shared_path("ieeg/sample_seeg.edf")
    elec = pd.read_csv(shared_path("ieeg/sample_seeg_electrodes.tsv"), sep="\t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_edf(edf, verbose="error")
        raw.info["line_freq"] = 60
        mne_bids.write_raw_bids(raw, mne_bids.BIDSPath(subject="001", session="01",
                                                       task="imagery", run="04",
                                                       datatype="eeg", root=root),
                                verbose="error")
        raw = mne.io.read_raw_edf(seeg, verbose="error")  # the file calls every contact EEG
        raw.info["line_freq"] = 50
        raw.set_channel_types({**{n: "seeg" for n in elec.name}, "EKG1": "ecg", "EKG2": "ecg"})
        raw.set_montage(mne.channels.make_dig_montage(
            dict(zip(elec.name, elec[["x", "y", "z"]].to_numpy() / 1000, strict=True)),
            coord_frame="mni_tal"), on_missing="ignore")
        raw.info["bads"] = ["L'1"]
        mne_bids.write_raw_bids(raw, mne_bids.BIDSPath(subject="pat01", task="rest",
                                                       datatype="ieeg", root=root),
                                verbose="error")
    return root


def test_bids_root_lists_recordings_and_refuses_single_load(bids_root):
    files = bids_recordings(bids_root)
    assert [f.name for f in files] == ["sub-001_ses-01_task-imagery_run-04_eeg.edf",
                                       "sub-pat01_task-rest_ieeg.edf"]
    with pytest.raises(FormatError, match="is a BIDS dataset with 2 recording"):
        nd.load(bids_root)


def test_bids_eeg_values_events_metadata(bids_root, shared):
    f = bids_root / "sub-001/ses-01/eeg/sub-001_ses-01_task-imagery_run-04_eeg.edf"
    rec = nd.load(f)
    assert rec.provenance["loader"] == "neurodata.io.read_bids"
    raw = mne.io.read_raw_edf(shared("eeg_meg/eegmmidb/S001R04.edf"), preload=True,
                              verbose="error")
    np.testing.assert_array_equal(rec.timeseries["eeg"].slice(0, 125.0),
                                  raw.get_data().T.astype(np.float32))
    assert rec.events.counts() == {"T0": 15, "T1": 8, "T2": 7}
    assert rec.subject["id"] == "sub-001" and rec.subject["species"] == "Homo sapiens"
    assert rec.session["task"] == "imagery" and rec.session["run"] == "04"
    names = {s["name"] for s in rec.provenance["sources"]}
    assert "sub-001_ses-01_task-imagery_run-04_channels.tsv" in names
    assert "sub-001_ses-01_task-imagery_run-04_events.tsv" in names


def test_bids_ieeg_types_bads_and_positions_from_sidecars(bids_root, shared):
    f = bids_root / "sub-pat01/ieeg/sub-pat01_task-rest_ieeg.edf"
    rec = nd.load(f)
    seeg = rec.timeseries["seeg"].channels
    assert len(seeg) == 88  # typed from channels.tsv although the EDF says EEG
    assert seeg.loc[seeg.name == "L'1", "bad"].item()
    assert set(seeg["coord_frame"]) == {"fsaverage"}  # the coordsystem.json's name
    elec = pd.read_csv(shared("ieeg/sample_seeg_electrodes.tsv"), sep="\t").set_index("name")
    np.testing.assert_allclose(seeg[["x", "y", "z"]].to_numpy(),
                               elec.loc[seeg.name, ["x", "y", "z"]].to_numpy() / 1000,
                               atol=1e-6)
    assert rec.timeseries["aux"].channels["type"].tolist() == ["ecg", "ecg"]
    assert rec.events.counts() == {"test annotation": 2, "test mark": 1}
