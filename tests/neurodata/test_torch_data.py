"""Torch window datasets: exact window counts, contents and labels; DataLoader workers.

Synthetic recordings here carry planted ground truth (each sample's value encodes its
index and channel; spike times and events are chosen by hand).  The real EEGMMIDB run
is checked against MNE's own reader of the source EDF.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import neurodata as nd
from neurodata.errors import ValidationError
from neurodata.timeseries import TimeSeries
from neurodata.torch_data import SpikeWindowDataset, WindowDataset

RATE = 100.0


def _ramp_recording(n_times: int, *, events=None, rate: float = RATE, offset: float = 0.0,
                    names=("a", "b", "c")) -> nd.Recording:
    """Sample i of channel c holds offset + i + 1000 c (exact in float32)."""
    data = (offset + np.arange(n_times)[:, None] + 1000.0 * np.arange(len(names))).astype(
        np.float32)
    ts = nd.TimeSeries(data, rate=rate, channels=list(names), modality="eeg", name="eeg")
    return nd.Recording([ts], events=events)


@pytest.fixture
def two_files(tmp_path):
    ev1 = nd.Events(onset=[1.0, 2.5, 8.2], duration=[2.0, 3.0, 0.0], label=["A", "B", "C"])
    ev2 = nd.Events(onset=[0.2, 3.0], duration=[0.5, 0.5], label=["A", "B"])
    p1 = _ramp_recording(1000, events=ev1).save(tmp_path / "r1.h5")       # 10 s
    p2 = _ramp_recording(450, events=ev2, offset=0.5).save(tmp_path / "r2.h5")  # 4.5 s
    return p1, p2


def test_sliding_counts_and_contents(two_files, monkeypatch):
    p1, p2 = two_files
    def boom(*args, **kwargs):
        raise AssertionError("signal data read while indexing")
    monkeypatch.setattr(TimeSeries, "_read", boom)
    ds = WindowDataset([p1, p2], window=1.0, step=0.5, block="eeg")  # metadata only
    monkeypatch.undo()
    # floor((1000 - 100) / 50) + 1 = 19 and floor((450 - 100) / 50) + 1 = 8
    assert len(ds) == 27 and ds.n_times == 100 and ds.channel_names == ["a", "b", "c"]
    assert np.allclose(ds.windows["start"].to_numpy()[[0, 18, 19, 26]], [0.0, 9.0, 0.0, 3.5])
    x = ds[20]  # second window of r2: samples 50..149
    assert x.dtype == torch.float32 and tuple(x.shape) == (3, 100)
    expect = 0.5 + np.arange(50, 150)[None, :] + 1000.0 * np.arange(3)[:, None]
    assert np.array_equal(x.numpy(), expect.astype(np.float32))
    tc = WindowDataset([p1], window=1.0, step=0.5, layout="TC", channels=["c", "a"])
    assert tuple(tc[1].shape) == (100, 2)
    assert tc[1][0].tolist() == [2050.0, 50.0] and tc[-1][-1].tolist() == [2999.0, 999.0]
    with pytest.raises(IndexError):
        ds[27]


def test_overlap_and_onset_labels(two_files):
    p1, _ = two_files
    ds = WindowDataset(p1, window=1.0, step=0.5, targets="events")
    assert ds.classes == ["A", "B", "C"]
    labels = dict(zip(ds.windows["start"].round(3), ds.windows["y"], strict=True))
    # [0, 1): nothing; [0.5, 1.5): A; [2, 3): A covers 1 s, B 0.5 s; [2.5, 3.5): B 1 s
    assert 0.0 not in labels and labels[0.5] == 0 and labels[2.0] == 0 and labels[2.5] == 1
    assert labels[5.0] == 1 and 5.5 not in labels          # B ends at 5.5
    assert labels[7.5] == 2 and labels[8.0] == 2 and 8.5 not in labels  # point event 8.2
    assert len(ds) == 12
    x, y = ds[0]
    assert y.dtype == torch.int64 and int(y) == 0
    kept = WindowDataset(p1, window=1.0, step=0.5, targets="events", drop_unlabeled=False)
    assert len(kept) == 19 and (kept.y == -1).sum() == 7
    onset = WindowDataset(p1, window=1.0, step=0.5, targets="events", label_window=(0.0, 1.0),
                          event_labels={"A": 0, "B": 1, "C": 1})
    assert dict(zip(onset.windows["start"], onset.windows["y"], strict=True)) == {
        0.5: 0, 1.0: 0, 2.0: 1, 2.5: 1, 7.5: 1, 8.0: 1}


def test_event_locked_windows(two_files):
    p1, p2 = two_files
    ds = WindowDataset([p1, p2], window=0.5, align="events", offset=-0.25,
                       targets="events", event_labels=["A", "B"])
    # r2's A at 0.2 s would start at -0.05 s: left out; C is not a requested label
    assert ds.windows[["recording", "start", "y", "event"]].values.tolist() == [
        [0, 0.75, 0, 0], [0, 2.25, 1, 1], [1, 2.75, 1, 1]]
    x, y = ds[2]
    assert x[0, 0].item() == 0.5 + 275 and int(y) == 1
    every = WindowDataset(p1, window=0.5, align="events")  # no targets: every event, x only
    assert len(every) == 3 and tuple(every[2].shape) == (3, 50)


def _second_half(rec, t0, t1):  # module level, so the dataset pickles
    return int(t0 >= 5.0)


def test_callable_targets_and_pickling(two_files):
    p1, _ = two_files
    ds = WindowDataset(p1, window=1.0, step=1.0, targets=_second_half)
    assert ds.y.tolist() == [0] * 5 + [1] * 5
    first = ds[3][0]
    clone = pickle.loads(pickle.dumps(ds))  # files are open now; the copy reopens them
    assert not clone._open and torch.equal(clone[3][0], first)
    ds.close()


def test_bad_input(two_files, tmp_path):
    p1, _ = two_files
    other = _ramp_recording(500, rate=200.0).save(tmp_path / "fast.h5")
    with pytest.raises(ValidationError, match=r"200 Hz here but at 100 Hz.*resample"):
        WindowDataset([p1, other])
    renamed = _ramp_recording(500, names=("a", "b", "x")).save(tmp_path / "renamed.h5")
    with pytest.raises(ValidationError, match=r"channels differ.*channels=\["):
        WindowDataset([p1, renamed])
    assert len(WindowDataset([p1, renamed], channels=["a", "b"], window=1.0)) == 10 + 5
    with pytest.raises(ValidationError, match=r"r1.h5: no time-series block 'meg'.*\['eeg'\]"):
        WindowDataset(p1, block="meg")
    with pytest.raises(ValueError, match=r"align must be one of \['sliding', 'events'\]"):
        WindowDataset(p1, align="trials")
    with pytest.raises(ValueError, match="window must be a number of seconds > 0"):
        WindowDataset(p1, window=0)
    with pytest.raises(ValueError, match="targets must be None, 'events' or a callable"):
        WindowDataset(p1, targets="labels")
    with pytest.raises(nd.MissingFileError):
        WindowDataset(tmp_path / "absent.h5")


def test_real_eegmmidb_against_mne(tmp_path):
    """Bundled PhysioNet S001R04 (125 s, 160 Hz, 64 ch) converted to .h5."""
    import mne

    path = nd.load_sample("eegmmidb_s001r04").save(tmp_path / "s001r04.h5")
    ds = WindowDataset(path, window=2.0, step=1.0)
    assert len(ds) == 124  # starts 0, 1, ..., 123 s: floor((20000 - 320) / 160) + 1
    raw = mne.io.read_raw_edf(nd.sample_path("eegmmidb_s001r04"), preload=True,
                              verbose="error")
    ref = raw.get_data().astype(np.float32)
    for k in (0, 57, 123):
        np.testing.assert_allclose(ds[k].numpy(), ref[:, 160 * k:160 * k + 320], rtol=1e-6,
                                   atol=1e-12)
    locked = WindowDataset(path, window=2.0, align="events", targets="events",
                           event_labels=["T1", "T2"])
    ann = raw.annotations
    cue = [(o, d) for o, d in zip(ann.onset, ann.description, strict=True) if d != "T0"]
    assert len(locked) == 15 == len(cue)
    assert locked.classes == ["T1", "T2"]
    assert locked.y.tolist() == [0 if d == "T1" else 1 for _, d in cue]
    np.testing.assert_allclose(locked.windows["start"], [o for o, _ in cue], atol=1 / 160)
    k0 = int(round(cue[4][0] * 160))
    np.testing.assert_allclose(locked[4][0].numpy(), ref[:, k0:k0 + 320], rtol=1e-6,
                               atol=1e-12)
    # the same windows through two DataLoader worker processes, in order
    loader = DataLoader(locked, batch_size=4, num_workers=2)
    xs, ys = zip(*loader, strict=True)
    assert torch.cat(ys).tolist() == locked.y.tolist()
    expect = torch.stack([locked[i][0] for i in range(len(locked))])
    assert torch.equal(torch.cat(xs), expect) and tuple(expect.shape) == (15, 64, 320)


def _spike_recording() -> nd.Recording:
    st = nd.SpikeTrains.from_unit_times(
        {"u0": [0.05, 0.15, 0.16, 1.25, 2.95], "u1": [0.5, 1.0, 1.99], "u2": [2.0]},
        t_start=0.0, t_stop=3.0)
    ev = nd.Events(onset=[0.1, 1.5, 2.9], duration=0.0, label=["go", "stop", "go"])
    return nd.Recording(spikes=[st], events=ev)


def test_spike_windows(tmp_path):
    path = _spike_recording().save(tmp_path / "spk.h5")
    st = nd.open(path).spikes["units"]
    ds = SpikeWindowDataset(path, window=1.0, step=0.5, bin_size=0.1)
    assert len(ds) == 5 and ds.unit_names == ["u0", "u1", "u2"]  # starts 0, .5, ..., 2
    for k in range(5):
        x = ds[k]
        assert x.dtype == torch.float32 and tuple(x.shape) == (10, 3)
        ref = st.bin(0.1, t_start=0.5 * k, t_stop=0.5 * k + 1.0)
        assert np.array_equal(x.numpy(), ref.astype(np.float32)), k
    assert ds[0][:, 0].tolist() == [1, 2] + [0] * 8
    picked = SpikeWindowDataset(path, window=1.0, step=1.0, bin_size=0.5, units=["u1", "u0"],
                                layout="UT")
    assert picked[0].tolist() == [[0, 1], [3, 0]] and picked[1].tolist() == [[1, 1], [1, 0]]
    locked = SpikeWindowDataset(path, window=0.2, bin_size=0.1, align="events", offset=-0.1,
                                targets="events")
    assert locked.classes == ["go", "stop"] and locked.y.tolist() == [0, 1, 0]
    assert locked[2][0].sum(0).tolist() == [1, 0, 0]  # u0 at 2.95 s in [2.8, 3.0)
    loader = DataLoader(ds, batch_size=2, num_workers=2)
    assert torch.equal(torch.cat(list(loader)), torch.stack([ds[i] for i in range(5)]))
    with pytest.raises(ValueError, match="whole number of bins"):
        SpikeWindowDataset(path, window=1.0, bin_size=0.3)
    with pytest.raises(ValidationError, match=r"missing \['nope'\]"):
        SpikeWindowDataset(path, units=["nope"])


def test_recording_objects_as_sources(two_files):
    p1, _ = two_files
    with nd.open(p1) as rec:
        ds = WindowDataset(rec, window=1.0)  # a file-backed Recording is kept as its path
    assert ds.windows["source"][0] == str(p1) and len(ds) == 10
    assert ds[9][0, -1].item() == 999.0  # reopened after the caller closed it
    mem = WindowDataset(_ramp_recording(300), window=1.0, channels=[0, 2])
    assert len(mem) == 3 and mem.windows["source"][0] == "<in-memory recording 0>"
    assert mem[2][:, 0].tolist() == [200.0, 2200.0]
