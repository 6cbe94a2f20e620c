"""Every bad input named by the foundation issue gets the project's own clear error."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import (
    FormatError,
    MissingFileError,
    NeurodataError,
    SliceError,
    ValidationError,
    VersionError,
    WriteError,
)

from .helpers import synthetic_recording


@pytest.fixture
def saved(tmp_path) -> Path:
    return synthetic_recording().save(tmp_path / "good.h5")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("func", [nd.open, nd.validate, nd.load])
def test_missing_file(tmp_path, func):
    with pytest.raises(MissingFileError, match="nope.h5: no such file") as info:
        func(tmp_path / "nope.h5")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, NeurodataError)


def test_not_hdf5(tmp_path):
    bad = tmp_path / "notes.h5"
    bad.write_text("hello, not hdf5")
    for func in (nd.open, nd.validate):
        with pytest.raises(FormatError, match=r"notes.h5: not an HDF5 file \(starts with b'hello"):
            func(bad)


def test_hdf5_without_format_attribute(tmp_path):
    bad = tmp_path / "plain.h5"
    with h5py.File(bad, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FormatError, match="plain.h5: no 'format' attribute.*neuroloom.recording"):
        nd.open(bad)
    report = nd.validate(bad)
    assert not report.ok and "no 'format' attribute" in report.errors[0]


def test_newer_format_version(saved):
    with h5py.File(saved, "r+") as f:
        f.attrs["format_version"] = "2.0"
    with pytest.raises(VersionError, match="format_version 2.0 is newer than 1.0.*upgrade"):
        nd.open(saved)
    with h5py.File(saved, "r+") as f:
        f.attrs["format_version"] = "1.3"
    with pytest.raises(VersionError):
        nd.open(saved)


def test_duplicate_channel_names_in_memory_and_on_disk(saved):
    with pytest.raises(ValidationError, match=r"duplicate channel names \['a'\]"):
        nd.TimeSeries(np.zeros((10, 2)), rate=1.0, channels=["a", "a"])
    with h5py.File(saved, "r+") as f:
        names = f["timeseries/eeg/channels/name"]
        names[1] = "E0"
    with pytest.raises(ValidationError, match=r"good.h5: /timeseries/eeg: duplicate channel names"):
        nd.open(saved)
    report = nd.validate(saved)
    assert any("duplicate channel names ['E0']" in e for e in report.errors)


def test_timestamps_not_increasing(saved):
    with pytest.raises(ValidationError, match="strictly increasing.*t\\[1\\]=0.5"):
        nd.TimeSeries(np.zeros((3, 1)), timestamps=[0.0, 0.5, 0.5])
    with h5py.File(saved, "r+") as f:
        f["timeseries/position/timestamps"][10] = 0.0
    with pytest.raises(ValidationError, match="position.*strictly increasing"):
        nd.open(saved)
    assert any("timestamps: not strictly increasing" in e for e in nd.validate(saved).errors)


def test_data_shape_not_matching_channel_table(saved):
    with pytest.raises(ValidationError, match="3 rows but the data has 2 channels"):
        nd.TimeSeries(np.zeros((10, 2)), rate=1.0, channels=nd.make_channels(["a", "b", "c"]))
    with h5py.File(saved, "r+") as f:
        g = f["timeseries/eeg"]
        del g["data"]
        g.create_dataset("data", data=np.zeros((100, 5), np.float32))
    with pytest.raises(ValidationError, match="8 rows but the data has 5 channels"):
        nd.open(saved)


def test_validate_lists_every_violation(saved):
    with h5py.File(saved, "r+") as f:
        f["timeseries/eeg/channels/name"][1] = "E0"
        f["timeseries/position/timestamps"][10] = 0.0
        f["timeseries/eeg/channels/type"][0] = "brainwave"
        del f["subject"].attrs["species"]
        f["events/duration"][0] = -1.0
    report = nd.validate(saved)
    text = "\n".join(report.errors)
    assert len(report.errors) >= 5, text
    for needle in ("duplicate channel names", "not strictly increasing", "unknown channel type",
                   "/subject lacks the attribute 'species'", "durations must be finite and >= 0"):
        assert needle in text
    with pytest.raises(ValidationError) as info:
        report.raise_if_invalid()
    assert info.value.violations == report.errors


@pytest.mark.parametrize("t0,t1", [(-1.0, 1.0), (0.0, 1.0), (40.0, 41.0), (2.0, 1.0),
                                   (1.0, float("nan"))])
def test_slicing_outside_the_recording(saved, t0, t1):
    with nd.open(saved) as rec:  # eeg covers [0.5, 40.5) s
        with pytest.raises(SliceError, match="outside the series 'eeg'|invalid time range"):
            rec.timeseries["eeg"].slice(t0, t1)


def test_slicing_samples_outside(saved):
    with nd.open(saved) as rec:
        ts = rec.timeseries["eeg"]
        with pytest.raises(SliceError, match=r"\[9990, 10010\) is outside.*\[0, 10000\)"):
            ts.slice_samples(9990, 10010)
        with pytest.raises(SliceError):
            ts[10_000]


def _readonly_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root ignores permission bits; /sys refuses new files even to root
    return Path("/sys")


def test_writing_into_a_read_only_folder(tmp_path):
    folder = _readonly_dir(tmp_path)
    before = set(os.listdir(folder))
    with pytest.raises(WriteError, match="cannot create a file in the folder") as info:
        synthetic_recording().save(folder / "out.h5")
    assert isinstance(info.value, OSError)
    assert set(os.listdir(folder)) == before
    with pytest.raises(WriteError, match="does not exist"):
        synthetic_recording().save(tmp_path / "missing" / "out.h5")


def test_existing_output_needs_overwrite(saved):
    digest = _sha(saved)
    with pytest.raises(WriteError, match="already exists; pass overwrite=True"):
        synthetic_recording(seed=5).save(saved)
    assert _sha(saved) == digest


class _FailingSource:
    """Array-like that raises after some rows, like a source file cut off mid-read."""

    def __init__(self, n_times, n_channels, fail_at):
        self.shape = (n_times, n_channels)
        self.fail_at = fail_at

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        if rows.stop > self.fail_at:
            raise RuntimeError("simulated crash while writing")
        return np.ones((rows.stop - rows.start, self.shape[1]), np.float32)


def test_write_killed_midway_leaves_previous_file_and_no_temp(saved):
    digest = _sha(saved)
    folder_before = sorted(os.listdir(saved.parent))
    ts = nd.TimeSeries(_FailingSource(2_000_000, 8, fail_at=1_000_000), rate=1000.0,
                       modality="eeg")
    with pytest.raises(RuntimeError, match="simulated crash"):
        nd.Recording([ts]).save(saved, overwrite=True)
    assert _sha(saved) == digest
    assert sorted(os.listdir(saved.parent)) == folder_before
    with nd.open(saved) as rec:
        assert rec.timeseries["eeg"].shape == (10_000, 8)


def test_bad_constructor_arguments():
    with pytest.raises(ValidationError, match="exactly one of rate"):
        nd.TimeSeries(np.zeros((3, 1)))
    with pytest.raises(ValidationError, match="positive number of Hz"):
        nd.TimeSeries(np.zeros((3, 1)), rate=0)
    with pytest.raises(ValidationError, match="must be 2-D"):
        nd.TimeSeries(np.zeros(3), rate=1.0)
    with pytest.raises(ValidationError, match="unknown channel type"):
        nd.make_channels(["a"], types="brainwave")
    with pytest.raises(ValidationError, match="unit_index values must lie in"):
        nd.SpikeTrains([0.1], [3], ["u"])
    with pytest.raises(ValidationError, match="durations must be finite and >= 0"):
        nd.Events(onset=[1.0], duration=[-1.0], label=["x"])
    with pytest.raises(ValidationError, match="weights must be"):
        nd.Connectivity(np.zeros((2, 3)), ["a", "b"])
