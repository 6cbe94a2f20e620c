"""Save → open round trips and lazy reads, on synthetic recordings with known values."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

import neurodata as nd
from neurodata._h5format import chunk_rows_for

from .helpers import assert_same_timeseries, synthetic_recording


def test_roundtrip_is_identical(tmp_path):
    rec = synthetic_recording()
    path = rec.save(tmp_path / "rec.h5")
    with nd.open(path) as back:
        assert back.is_lazy
        assert set(back.timeseries) == {"eeg", "position", "bold"}
        for name, ts in rec.timeseries.items():
            assert_same_timeseries(ts, back.timeseries[name])
        assert back.events == rec.events
        assert back.events.columns == ["onset", "duration", "label", "value", "trial"]
        assert back.spikes["units"] == rec.spikes["units"]
        assert back.connectivity["connectivity"] == rec.connectivity["connectivity"]
        assert back.subject == rec.subject
        assert back.session == rec.session
        assert back.provenance["loader"] == "tests.synthetic"
        assert back.provenance["parameters"] == {"seed": 0}
        np.testing.assert_array_equal(back.stimuli["captions"], ["a cat", "a dog"])
        np.testing.assert_array_equal(np.asarray(back.stimuli["embeddings"]),
                                      rec.stimuli["embeddings"])
        assert back.format_version == "1.0"
        assert back.software.startswith("neuroloom ")
    assert nd.validate(path).ok


def test_saving_an_opened_recording_again_is_identical(tmp_path):
    rec = synthetic_recording(seed=3)
    p1 = rec.save(tmp_path / "a.h5")
    with nd.open(p1) as lazy:
        p2 = lazy.save(tmp_path / "b.h5")
    with nd.open(p1) as a, nd.open(p2) as b:
        for name in a.timeseries:
            assert_same_timeseries(a.timeseries[name], b.timeseries[name])


def test_file_layout_follows_the_contract(tmp_path):
    path = synthetic_recording().save(tmp_path / "rec.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "neuroloom.recording"
        assert f.attrs["format_version"] == "1.0"
        for key in ("created", "software", "provenance"):
            assert key in f.attrs
        d = f["timeseries/eeg/data"]
        assert d.dtype == np.float32 and d.shape == (10_000, 8)
        assert d.chunks == (chunk_rows_for(8), 8) and d.chunks[0] <= 4096
        assert "timestamps" not in f["timeseries/eeg"]
        assert f["timeseries/eeg"].attrs["rate"] == 250.0
        assert f["timeseries/position/timestamps"].dtype == np.float64
        assert f["spikes/units/unit_index"].dtype == np.int32
        assert set(f["events"].keys()) >= {"onset", "duration", "label", "value"}
        assert f["subject"].attrs["species"] == "Homo sapiens"


@pytest.mark.parametrize("n_channels,rows", [(1, 4096), (64, 1024), (256, 256), (376, 128),
                                             (20_000, 16)])
def test_chunk_rows_target_256_kib(n_channels, rows):
    assert chunk_rows_for(n_channels) == rows


def test_slice_by_seconds_is_half_open_and_exact():
    data = np.arange(1000 * 3, dtype=np.float32).reshape(1000, 3)
    ts = nd.TimeSeries(data, rate=100.0, t0=2.0, channels=["a", "b", "c"])
    x = ts.slice(3.0, 3.5)
    np.testing.assert_array_equal(x, data[100:150])
    # float error in the bounds does not shift the window
    np.testing.assert_array_equal(ts.slice(2.0 + 0.1 * 3, 2.0 + 0.7), data[30:70])
    np.testing.assert_array_equal(ts.slice(2.0, 12.0), data)
    assert ts.slice(5.0, 5.0).shape == (0, 3)
    np.testing.assert_array_equal(ts.slice(3.0, 3.1, channels=["c", "a"]), data[100:110][:, [2, 0]])
    np.testing.assert_array_equal(ts.slice_samples(10, 20, channels=[1]), data[10:20, [1]])
    np.testing.assert_array_equal(ts[5:9, 1], data[5:9, 1])
    np.testing.assert_array_equal(ts[-1], data[-1])
    assert ts.time_to_index(3.004) == 101
    assert ts.duration == 10.0 and ts.t_end == 12.0


def test_irregular_slice_uses_timestamps():
    t = np.array([0.0, 0.1, 0.35, 0.4, 1.0])
    ts = nd.TimeSeries(np.arange(5, dtype=np.float32)[:, None], timestamps=t)
    np.testing.assert_array_equal(ts.slice(0.1, 0.4)[:, 0], [1, 2])
    np.testing.assert_array_equal(ts.times, t)
    assert not ts.is_regular


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_lazy_reads_match_across_chunk_boundaries(tmp_path, compression):
    rng = np.random.default_rng(1)
    n_ch = 64
    rows = chunk_rows_for(n_ch)
    data = rng.standard_normal((rows * 3 + 17, n_ch)).astype(np.float32)
    ts = nd.TimeSeries(data, rate=160.0, channels=[f"c{i}" for i in range(n_ch)], modality="eeg")
    path = nd.Recording([ts]).save(tmp_path / "r.h5", compression=compression)
    with nd.open(path) as rec:
        lazy = rec.timeseries["eeg"]
        assert (lazy._mapped is not None) == (compression is None)
        for start, stop in [(0, 1), (rows - 5, rows + 5), (rows - 1, 2 * rows + 1),
                            (0, data.shape[0]), (3 * rows, 3 * rows + 17), (rows, rows)]:
            np.testing.assert_array_equal(lazy.slice_samples(start, stop), data[start:stop])
        np.testing.assert_array_equal(lazy.slice(1.0, 3.0, channels=[5, 1]),
                                      data[160:480][:, [5, 1]])
        starts = rng.integers(0, data.shape[0] - 320, size=50)
        for s in starts:
            np.testing.assert_array_equal(lazy.slice_samples(s, s + 320), data[s:s + 320])


def test_slice_reads_only_the_rows_it_needs(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((40_000, 16)).astype(np.float32)
    path = nd.Recording([nd.TimeSeries(data, rate=1000.0, modality="eeg")]).save(tmp_path / "r.h5")
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        calls = []
        real = ts._mapped.read
        monkeypatch.setattr(ts._mapped, "read",
                            lambda a, b, cols=slice(None): calls.append((a, b)) or real(a, b, cols))
        ts.slice(12.0, 14.0)
        assert calls == [(12_000, 14_000)]
        # the compressed/h5py path selects the same rows from the dataset
        ts._mapped = None
        selections = []
        dset = ts._data

        class Spy:
            shape = dset.shape

            def __getitem__(self, key):
                selections.append(key)
                return dset[key]

        ts._data = Spy()
        ts.slice(12.0, 14.0)
        assert selections == [slice(12_000, 14_000)]


def test_open_does_not_read_signal_data(tmp_path, monkeypatch):
    path = synthetic_recording().save(tmp_path / "rec.h5")
    reads = []
    orig = h5py.Dataset.__getitem__

    def spy(self, key):
        if self.name.endswith("/data"):
            reads.append(self.name)
        return orig(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    with nd.open(path) as rec:
        assert rec.timeseries["eeg"].shape == (10_000, 8)
    assert reads == []


def test_events_spikes_and_tables():
    ev = nd.Events(onset=[3.0, 1.0, 2.0], label=["b", "a", "b"], duration=0.5)
    assert ev.onset.tolist() == [1.0, 2.0, 3.0]
    assert ev.value.tolist() == [1, 2, 2]
    assert ev.counts() == {"a": 1, "b": 2}
    assert len(ev.select("b")) == 2 and len(ev.restrict(1.5, 3.0)) == 1
    st = nd.SpikeTrains([0.5, 0.1, 0.9, 1.7], [1, 0, 1, 0], ["n0", "n1"], t_start=0.0,
                        t_stop=2.0)
    assert st.times.tolist() == [0.1, 0.5, 0.9, 1.7]
    counts = st.bin(0.5)
    np.testing.assert_array_equal(counts, [[1, 0], [0, 2], [0, 0], [1, 0]])
    np.testing.assert_array_equal(st.unit_times("n1"), [0.5, 0.9])
    assert st.restrict(0.4, 1.0).n_spikes == 2
    table = nd.make_channels(["Cz"], types="eeg")
    assert list(table.columns) == ["name", "type", "unit", "x", "y", "z", "coord_frame", "bad",
                                   "label"]
    assert table.loc[0, "unit"] == "V" and np.isnan(table.loc[0, "x"])
    assert isinstance(ev.to_dataframe(), pd.DataFrame)


def test_repr_is_informative():
    rec = synthetic_recording()
    text = repr(rec)
    assert "sub-01" in text and "eeg: 8 ch @ 250 Hz" in text and "3 events" in text
    assert "7 eeg" in repr(rec.timeseries["eeg"]) and "250 Hz" in repr(rec.timeseries["eeg"])
    assert "left: 2" in repr(rec.events)
    assert "2 units" in repr(rec.spikes["units"])


def test_chunks_stored_out_of_order_are_mapped_per_chunk(tmp_path):
    """Files written by other tools may store chunks in any order; reads stay exact."""
    rng = np.random.default_rng(4)
    n_ch = 32
    rows = chunk_rows_for(n_ch)
    data = rng.standard_normal((rows * 5 + 3, n_ch)).astype(np.float32)
    path = nd.Recording([nd.TimeSeries(data, rate=100.0, modality="eeg")]).save(tmp_path / "r.h5")
    with h5py.File(path, "r+") as f:
        g = f["timeseries/eeg"]
        del g["data"]
        d = g.create_dataset("data", shape=data.shape, dtype="f4", chunks=(rows, n_ch))
        for k in reversed(range(6)):  # allocate the last chunk first
            d[k * rows:(k + 1) * rows] = data[k * rows:(k + 1) * rows]
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        assert ts._mapped is not None and len(ts._mapped._blocks) == 6
        for start, stop in [(0, 10), (rows - 3, rows + 3), (rows - 1, 4 * rows + 2),
                            (5 * rows, 5 * rows + 3), (0, data.shape[0])]:
            np.testing.assert_array_equal(ts.slice_samples(start, stop), data[start:stop])


def test_contiguous_dataset_from_other_tools_is_mapped(tmp_path):
    data = np.arange(600, dtype=np.float32).reshape(200, 3)
    path = nd.Recording([nd.TimeSeries(data, rate=10.0, modality="eeg")]).save(tmp_path / "r.h5")
    with h5py.File(path, "r+") as f:
        del f["timeseries/eeg/data"]
        f["timeseries/eeg"].create_dataset("data", data=data)  # contiguous layout
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        assert ts._mapped is not None
        np.testing.assert_array_equal(ts.slice(2.0, 5.0), data[20:50])
