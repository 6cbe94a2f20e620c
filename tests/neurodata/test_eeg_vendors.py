"""BrainVision and EEGLAB on the real files of ../shared/data (MNE as the reference
reader); Persyst and FieldTrip on small files the test writes following each format's
layout (synthetic: no real sample is available); the companion-file errors."""

from __future__ import annotations

import shutil

import mne
import numpy as np
import pytest
import scipy.io

import neurodata as nd
from neurodata.errors import FormatError, MissingFileError


def _equal_to_mne(rec, raw):
    for ts in rec.timeseries.values():
        picks = [raw.ch_names.index(n) for n in ts.ch_names]
        np.testing.assert_array_equal(ts.slice(0, ts.t_end),
                                      raw.get_data(picks=picks).T.astype(np.float32))
        assert ts.rate == raw.info["sfreq"]
    names = [n for ts in rec.timeseries.values() for n in ts.ch_names]
    assert sorted(names) == sorted(raw.ch_names)


def test_brainvision_real(shared, tmp_path):
    vhdr = shared("eeg_meg/brainvision/test.vhdr")
    rec = nd.load(vhdr)
    raw = mne.io.read_raw_brainvision(vhdr, preload=True, verbose="error")
    _equal_to_mne(rec, raw)
    assert len(rec.events) == 13  # MANIFEST: 13 markers
    assert list(rec.events.label) == list(raw.annotations.description)
    np.testing.assert_allclose(rec.events.onset, raw.annotations.onset - raw.first_time)
    assert rec.timeseries["eeg"].n_channels == 26 and rec.timeseries["misc"].n_channels == 6
    misc_units = dict(zip(rec.timeseries["misc"].ch_names, rec.timeseries["misc"].channels.unit,
                          strict=True))
    assert misc_units["CP6"] == "S" and misc_units["ReRef"] == "degC"
    assert [s["name"] for s in rec.provenance["sources"]] == ["test.vhdr", "test.eeg",
                                                              "test.vmrk"]
    out = rec.save(tmp_path / "bv.h5")
    assert nd.validate(out).ok
    # the .eeg data file is accepted too, read through its header
    assert nd.load(vhdr.with_suffix(".eeg")).timeseries["eeg"].n_channels == 26


def test_brainvision_missing_data_file(shared, tmp_path):
    src = shared("eeg_meg/brainvision/test.vhdr")
    for name in ("test.vhdr", "test.vmrk"):
        shutil.copy(src.parent / name, tmp_path / name)
    with pytest.raises(MissingFileError, match=r"test.vhdr: the header points at the data file "
                                               r"'test.eeg', which does not exist"):
        nd.load(tmp_path / "test.vhdr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.vhdr", "test.vmrk"]


def test_eeglab_real(shared, tmp_path):
    set_file = shared("eeg_meg/eeglab/test_raw.set")
    shared("eeg_meg/eeglab/test_raw.fdt")
    rec = nd.load(set_file)
    raw = mne.io.read_raw_eeglab(set_file, preload=True, verbose="error")
    _equal_to_mne(rec, raw)
    assert rec.events.counts() == {"rt": 74, "square": 80}  # MANIFEST
    np.testing.assert_allclose(rec.events.onset, np.sort(raw.annotations.onset))
    assert rec.timeseries["eeg"].rate == 128.0
    assert {s["name"] for s in rec.provenance["sources"]} == {"test_raw.set", "test_raw.fdt"}


def test_eeglab_missing_fdt(shared, tmp_path):
    shutil.copy(shared("eeg_meg/eeglab/test_raw.set"), tmp_path / "test_raw.set")
    with pytest.raises(MissingFileError, match=r"test_raw.set: the header points at the data "
                                               r"\(.fdt\) file 'test_raw.fdt'"):
        nd.load(tmp_path / "test_raw.set")


LAY = """[FileInfo]
File=rec.dat
FileType=Interleaved
SamplingRate=256
HeaderLength=0
Calibration=1
WaveformCount=3
DataType=0
[ChannelMap]
Fp1=1
Fp2=2
Cz=3
[Patient]
First=A
Last=B
TestDate=01/02/2020
TestTime=10:00:00
BirthDate=01/01/1980
Sex=F
Hand=R
ID=P01
[Comments]
1.000,0.000,0,100,Stimulus one
"""


def test_persyst_written_per_layout(tmp_path):
    counts = (np.random.default_rng(0).standard_normal((512, 3)) * 100).astype("<i2")
    counts.tofile(tmp_path / "rec.dat")
    (tmp_path / "rec.lay").write_text(LAY)
    rec = nd.load(tmp_path / "rec.lay")
    raw = mne.io.read_raw_persyst(tmp_path / "rec.lay", preload=True, verbose="error")
    _equal_to_mne(rec, raw)
    assert rec.timeseries["eeg"].rate == 256.0
    np.testing.assert_allclose(rec.timeseries["eeg"].slice(0, 2.0), counts * 1e-6, rtol=1e-6)
    assert list(rec.events.label) == ["Stimulus one"] and rec.events.onset[0] == 1.0
    (tmp_path / "rec.dat").unlink()
    with pytest.raises(MissingFileError, match="data \\(.dat\\) file 'rec.dat'"):
        nd.load(tmp_path / "rec.lay")


def test_fieldtrip_written_per_layout(tmp_path):
    x = np.random.default_rng(1).standard_normal((4, 1000))
    data = {"label": np.array(["C3", "C4", "Cz", "Pz"], dtype=object), "fsample": 250.0,
            "trial": np.array([x], dtype=object),
            "time": np.array([np.arange(1000) / 250.0], dtype=object)}
    scipy.io.savemat(tmp_path / "ft.mat", {"data": data})
    rec = nd.load(tmp_path / "ft.mat", channel_types={n: "eeg" for n in ("C3", "C4", "Cz", "Pz")})
    ts = rec.timeseries["eeg"]
    assert ts.ch_names == ["C3", "C4", "Cz", "Pz"] and ts.rate == 250.0
    np.testing.assert_allclose(ts.slice(0, 4.0), x.T, rtol=1e-6, atol=1e-7)
    scipy.io.savemat(tmp_path / "other.mat", {"spikes": np.arange(5.0)})
    with pytest.raises(FormatError, match="other.mat"):
        nd.load(tmp_path / "other.mat", format="FieldTrip")


def test_eeg_extension_without_header_or_vendor_signature(tmp_path):
    p = tmp_path / "mystery.eeg"
    p.write_bytes(b"\x00" * 64)
    with pytest.raises(FormatError, match="mystery.eeg: the content matches none of the "
                                          "formats using this extension"):
        nd.load(p)
