"""make_epochs: real EEGMMIDB epochs equal MNE's; planted synthetic values; every bad input."""

from __future__ import annotations

import mne
import numpy as np
import pytest

import neurodata as nd
from decoders.epochs import Epochs, eegmmidb_classes, make_epochs
from neurodata.errors import SliceError, ValidationError

from .conftest import planted_recording

RUNS = ("S001R04.edf", "S001R08.edf", "S001R12.edf")
LR = {"left_fist": "T1", "right_fist": "T2"}


def test_real_epochs_equal_mne(shared):
    """Our epochs of the three imagery runs equal mne.Epochs on MNE-filtered raws."""
    paths = [shared(f"eeg_meg/eegmmidb/{r}") for r in RUNS]
    ep = make_epochs(paths, LR, tmin=1.0, tmax=2.0, l_freq=7.0, h_freq=30.0)
    assert ep.X.shape == (45, 64, 161)
    assert ep.counts() == {"left_fist": 23, "right_fist": 22}
    ref = []
    for p in paths:
        raw = mne.io.read_raw_edf(p, preload=True, verbose=False)
        raw.filter(7.0, 30.0, fir_design="firwin", verbose=False)
        events, _ = mne.events_from_annotations(raw, event_id={"T1": 2, "T2": 3},
                                                verbose=False)
        ref.append(mne.Epochs(raw, events, {"T1": 2, "T2": 3}, 1.0, 2.0, baseline=None,
                              preload=True, verbose=False).get_data(copy=False))
    ref = np.concatenate(ref)
    # the format stores float32: agreement to float32 precision of ~200 µV signals
    np.testing.assert_allclose(ep.X, ref, rtol=0, atol=1e-10)
    assert list(ep.metadata["label"]) == ["T2", "T1", "T1"] + list(ep.metadata["label"][3:])
    assert ep.metadata["recording"].nunique() == 3
    np.testing.assert_allclose(ep.times[[0, -1]], [1.0, 2.0])


def test_planted_baseline_resample_reject(tmp_path):
    """Synthetic recording (planted offsets): baseline removes a known DC step, resampling
    halves the samples, and rejection drops the planted high-amplitude trials."""
    rec = planted_recording(0)
    data = np.asarray(rec.timeseries["eeg"].slice_samples(0, rec.timeseries["eeg"].n_times))
    data = data + 5e-6  # DC offset that the baseline must remove
    ev = rec.events.to_dataframe()
    first_t1 = ev.loc[ev["label"] == "T1", "onset"].iloc[0]
    i = int(first_t1 * 100)
    data[i:i + 50, 1] += 1e-3  # one huge artefact in the first T1 trial
    eeg = nd.TimeSeries(data, rate=100.0, channels=rec.timeseries["eeg"].channels,
                        modality="eeg", name="eeg")
    rec2 = nd.Recording(timeseries=[eeg], events=rec.events, subject=rec.subject,
                        session=rec.session)
    path = rec2.save(tmp_path / "planted.h5") or tmp_path / "planted.h5"
    ep = make_epochs(path, {"a": "T1", "b": "T2"}, tmin=-0.5, tmax=1.5, baseline=(-0.5, 0.0))
    assert ep.X.shape == (20, 4, 201)
    pre = ep.X[:, :, :51].mean(axis=2)
    np.testing.assert_allclose(pre, 0.0, atol=1e-12)
    ep_r = make_epochs(path, {"a": "T1", "b": "T2"}, tmin=0.0, tmax=1.0, resample=50.0,
                       reject=1e-4)
    assert ep_r.sfreq == 50.0 and ep_r.X.shape[2] == 51
    assert ep_r.n_rejected == 1 and len(ep_r) == 19
    assert ep_r.metadata["onset"].iloc[0] != first_t1


def test_cache_roundtrip(tmp_path):
    ep = make_epochs(planted_recording(1), ["T1", "T2"], tmin=0.0, tmax=1.0)
    ep.save(tmp_path / "ep")
    back = Epochs.load(tmp_path / "ep")
    np.testing.assert_array_equal(back.X, ep.X)
    assert back.classes == ("T1", "T2") and back.metadata.equals(ep.metadata)


def test_cache_save_is_atomic_and_first_writer_wins(tmp_path, monkeypatch):
    """Synthetic: a save that fails midway leaves neither the cache folder nor a
    temporary one; a second save of the same cache keeps the first one's files; a
    folder that is not a cache is refused, naming it."""
    import pandas as pd

    from neurodata.errors import WriteError

    ep = make_epochs(planted_recording(1), ["T1", "T2"], tmin=0.0, tmax=1.0)

    def broken(self, *args, **kwargs):
        raise OSError("disk full (simulated)")

    with monkeypatch.context() as m:
        m.setattr(pd.DataFrame, "to_csv", broken)
        with pytest.raises(OSError, match="simulated"):
            ep.save(tmp_path / "ep")
    assert list(tmp_path.iterdir()) == []
    ep.save(tmp_path / "ep")
    before = {f.name: f.read_bytes() for f in (tmp_path / "ep").iterdir()}
    other = make_epochs(planted_recording(2), ["T1", "T2"], tmin=0.0, tmax=0.5)
    assert other.save(tmp_path / "ep") == tmp_path / "ep"
    assert {f.name: f.read_bytes() for f in (tmp_path / "ep").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep"]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("x")
    with pytest.raises(WriteError, match="junk: exists and is not an epochs cache"):
        ep.save(tmp_path / "junk")


def test_no_events_of_requested_classes(shared):
    """The sEEG sample carries only 'test annotation'/'test mark' events."""
    path = shared("ieeg/sample_seeg.edf")
    with pytest.raises(ValidationError, match="no events of the requested classes.*test mark"):
        make_epochs(path, LR, tmin=0.0, tmax=1.0)


def test_meg_sample_has_no_events(shared):
    path = shared("eeg_meg/fif/sample_audvis_trunc_raw_sss.fif")
    with pytest.raises(ValidationError, match="no events at all"):
        make_epochs(path, {"aud": "1", "vis": "3"}, tmin=0.0, tmax=0.5)


def test_one_class_only(shared):
    path = shared("eeg_meg/eegmmidb/S001R04.edf")
    with pytest.raises(ValidationError, match="only one class"):
        make_epochs(path, {"left": "T1", "other": "T9"}, tmin=1.0, tmax=2.0)
    with pytest.raises(ValidationError, match="at least two classes"):
        make_epochs(path, {"left": "T1"}, tmin=1.0, tmax=2.0)


def test_epochs_longer_than_recording(shared):
    path = shared("eeg_meg/eegmmidb/S001R04.edf")
    with pytest.raises(SliceError, match="longer than the recording"):
        make_epochs(path, LR, tmin=0.0, tmax=200.0)
    with pytest.raises(SliceError, match="fits inside"):
        make_epochs(path, LR, tmin=100.0, tmax=150.0)


def test_bad_parameters():
    rec = planted_recording(0)
    with pytest.raises(ValueError, match="tmin < tmax"):
        make_epochs(rec, ["T1", "T2"], tmin=1.0, tmax=1.0)
    with pytest.raises(ValidationError, match="no timeseries block 'meg'"):
        make_epochs(rec, ["T1", "T2"], tmin=0.0, tmax=1.0, block="meg")


def test_eegmmidb_classes():
    assert eegmmidb_classes(8) == LR
    assert eegmmidb_classes(6) == {"both_fists": "T1", "both_feet": "T2"}
    with pytest.raises(ValueError, match="runs 3-14"):
        eegmmidb_classes(1)
