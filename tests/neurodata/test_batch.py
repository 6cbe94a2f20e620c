"""Batch conversion of folders (real files from ../shared/data copied to a temp folder),
up-to-date skipping, the index, parallel workers and load_dataset."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import neurodata as nd
from neurodata.batch import INDEX_NAME, convert_many, plan_conversion
from neurodata.dataset import load_dataset
from neurodata.errors import MissingFileError
from pipelines.cli import main


@pytest.fixture
def source_tree(shared, tmp_path):
    src = tmp_path / "src"
    (src / "eeg").mkdir(parents=True)
    (src / "vendor" / "bv").mkdir(parents=True)
    for run in ("R04", "R08"):
        shutil.copy(shared(f"eeg_meg/eegmmidb/S001{run}.edf"), src / "eeg" / f"S001{run}.edf")
    for name in ("test.vhdr", "test.vmrk", "test.eeg"):
        shutil.copy(shared(f"eeg_meg/brainvision/{name}"), src / "vendor" / "bv" / name)
    (src / "notes.txt").write_text("not a recording")  # ignored: no reader for it
    return src


def test_plan_mirrors_layout_and_skips_companions(source_tree, tmp_path):
    tasks = plan_conversion([source_tree], tmp_path / "out")
    rel = sorted(str(t.output.relative_to(tmp_path / "out")) for t in tasks)
    assert rel == ["eeg/S001R04.h5", "eeg/S001R08.h5", "vendor/bv/test.h5"]
    assert {t.format for t in tasks} == {"EDF", "BrainVision"}


def test_convert_skip_reconvert_force(source_tree, tmp_path):
    out = tmp_path / "out"
    first = convert_many([source_tree], out)
    assert first["status"].tolist() == ["converted"] * 3
    assert (out / INDEX_NAME).exists()
    index = pd.read_csv(out / INDEX_NAME)
    assert set(index["n_events"]) == {30, 13} and set(index["modalities"]) == {"eeg", "eeg misc"}
    mtime = (out / "eeg" / "S001R04.h5").stat().st_mtime_ns
    second = convert_many([source_tree], out)
    assert second["status"].tolist() == ["skipped"] * 3
    assert (out / "eeg" / "S001R04.h5").stat().st_mtime_ns == mtime
    # a changed source (different bytes, same name) is converted again
    shutil.copy(source_tree / "eeg" / "S001R08.edf", source_tree / "eeg" / "S001R04.edf")
    third = convert_many([source_tree], out)
    assert dict(zip(third["source"].map(lambda s: s.split("/")[-1]), third["status"],
                    strict=True)) == {"S001R04.edf": "converted", "S001R08.edf": "skipped",
                                      "test.vhdr": "skipped"}
    assert convert_many([source_tree], out, force=True)["status"].tolist() == ["converted"] * 3


def test_parallel_equals_serial_and_failures_are_reported(source_tree, tmp_path):
    bad = source_tree / "eeg" / "broken.edf"
    bad.write_bytes((source_tree / "eeg" / "S001R04.edf").read_bytes()[:30000])
    serial = convert_many([source_tree], tmp_path / "a", jobs=1)
    parallel = convert_many([source_tree], tmp_path / "b", jobs=2)
    cols = ["status", "n_channels", "duration_s", "n_events", "sha256"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])
    failed = serial[serial["status"] == "failed"]
    assert len(failed) == 1 and "truncated EDF" in failed.iloc[0]["error"]
    assert not (tmp_path / "a" / "eeg" / "broken.h5").exists()


def test_cli_batch_exit_code_and_summary(source_tree, tmp_path, capsys):
    (source_tree / "eeg" / "broken.edf").write_bytes(b"0" * 300)
    code = main(["convert", str(source_tree), "-o", str(tmp_path / "out"), "-q", "-j", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "converted 3, skipped (up to date) 0, failed 1" in out
    assert err.count("\n") == 1 and "1 of 4 sources failed" in err
    code = main(["convert", str(source_tree / "eeg" / "S001R04.edf"), str(source_tree / "vendor"),
                 "-o", str(tmp_path / "out2"), "-q"])
    assert code == 0


def test_load_dataset(source_tree, tmp_path):
    out = tmp_path / "out"
    convert_many([source_tree], out)
    ds = load_dataset(out)
    assert len(ds) == 3 and set(ds.sessions) == {"S001R04", "S001R08", "test"}
    sub = ds.select(session=["S001R04", "S001R08"])
    assert len(sub) == 2 and set(sub.table["duration_s"]) == {125.0}
    with sub[0] as rec:
        assert rec.is_lazy and rec.timeseries["eeg"].slice(0, 2.0).shape == (320, 64)
    assert "3 recordings" in repr(ds)
    (out / INDEX_NAME).unlink()  # without an index, every .h5 below the folder
    assert len(load_dataset(out)) == 3
    with pytest.raises(MissingFileError, match="holds no converted recordings"):
        load_dataset(source_tree / "vendor")
    with pytest.raises(MissingFileError, match="no such folder"):
        load_dataset(tmp_path / "nope")


def test_bids_root_batch(shared, tmp_path):
    mne_bids = pytest.importorskip("mne_bids")
    import warnings

    import mne

    root = tmp_path / "bids"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for run in ("04", "08"):
            raw = mne.io.read_raw_edf(shared(f"eeg_meg/eegmmidb/S001R{run}.edf"), verbose="error")
            raw.info["line_freq"] = 60
            mne_bids.write_raw_bids(raw, mne_bids.BIDSPath(subject="001", task="imagery", run=run,
                                                           datatype="eeg", root=root),
                                    verbose="error")
    table = convert_many([root], tmp_path / "out")
    assert table["status"].tolist() == ["converted", "converted"]
    ds = nd.load_dataset(tmp_path / "out")
    assert ds.subjects == ["sub-001"] and set(ds.table["task"]) == {"imagery"}
