"""SpikeTokenizer: exact round trips on real spikes, property tests, collate, calcium events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurodata as nd
from decoders.tokenizers.spike import (
    EOS,
    PAD,
    SOS,
    UNK,
    SpikeTokenizer,
    calcium_events,
    collate_spike_tokens,
)
from neurodata.errors import FormatError, MissingFileError, ValidationError

NELPY = "spikes/nelpy_linear-track/spikes.mat"


def _walk_units(obj, path, out):
    """Collect every struct with a 'time' field from scipy.io.loadmat's nested object arrays."""
    if isinstance(obj, np.ndarray) and obj.dtype.names and "time" in obj.dtype.names:
        for i, rec in enumerate(obj.ravel()):
            t = np.asarray(rec["time"], dtype=np.float64).ravel()
            if t.size:
                out["u" + "-".join(map(str, path + (i,)))] = t
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        for i, o in enumerate(obj.ravel()):
            _walk_units(o, path + (i,), out)


def _nelpy_native(path) -> dict[str, np.ndarray]:
    import scipy.io

    out: dict[str, np.ndarray] = {}
    _walk_units(scipy.io.loadmat(path)["spikes"], (), out)
    return out


def _expected_ticks(st_: nd.SpikeTrains, origin: float, dt: float):
    k = np.floor((st_.times - origin) / dt + 1e-6).astype(np.int64)
    order = np.lexsort((st_.unit_index, k))
    return k[order], st_.unit_index[order]


def _assert_exact(tok: SpikeTokenizer, spikes: nd.SpikeTrains, origin: float):
    seq = tok.encode(spikes, origin=origin)
    back = tok.decode(seq)
    k, units = _expected_ticks(spikes, origin, tok.dt)
    # decoded spikes are the bin centres of the original spikes, same units, same count
    np.testing.assert_array_equal(back.unit_index, units)
    np.testing.assert_allclose(back.times, origin + (k + 0.5) * tok.dt, rtol=0, atol=1e-9)
    assert np.all(np.abs(np.sort(back.times) - np.sort(spikes.times)) <= tok.dt / 2 + 1e-9)
    again = tok.encode(back, origin=origin)
    assert len(again) == len(seq)
    for a, b in zip(seq.ids + seq.dts + seq.past_ids + seq.past_dts,
                    again.ids + again.dts + again.past_ids + again.past_dts, strict=True):
        np.testing.assert_array_equal(a, b)
    return seq


def test_real_nelpy_roundtrip_exact(shared):
    """Real tetrode spikes (nelpy linear track): counts match scipy.io.loadmat, round trip exact."""
    path = shared(NELPY)
    native = _nelpy_native(path)
    assert len(native) == 31 and sum(v.size for v in native.values()) == 28829
    spikes = nd.load(path).spikes["units"]  # neurodata.io.spike_arrays.read_spike_mat
    assert spikes.n_units == 31 and spikes.n_spikes == 28829
    np.testing.assert_array_equal(np.sort(spikes.times),
                                  np.sort(np.concatenate(list(native.values()))))
    tok = SpikeTokenizer(window=0.05, past_window=0.15, dt=0.001).fit(spikes)
    assert tok.id_vocab_size_ == 35 and tok.dt_vocab_size_ == 154
    seq = _assert_exact(tok, spikes, origin=spikes.t_start)
    n_tokens = sum(len(i) - 2 for i in seq.ids)
    assert n_tokens == 28829
    assert all(i[0] == SOS and i[-1] == EOS for i in seq.ids[:100])
    # the past window of window w holds exactly the spikes of the 3 windows before it
    w = int(np.argmax([len(p) for p in seq.past_ids]))
    prev = np.concatenate([seq.ids[j][1:-1] for j in range(w - 3, w)])
    np.testing.assert_array_equal(np.sort(seq.past_ids[w]), np.sort(prev))


@settings(max_examples=40, deadline=None)
@given(
    n_units=st.integers(1, 6),
    ticks=st.lists(st.tuples(st.integers(0, 5), st.floats(0.0, 3.0, allow_nan=False)),
                   max_size=80),
    dt=st.sampled_from([0.001, 0.004, 0.01, 0.02]),
    n_win=st.integers(1, 8),
    n_past=st.integers(0, 10),
    overlap=st.booleans(),
)
def test_property_roundtrip(n_units, ticks, dt, n_win, n_past, overlap):
    """Random spike trains: decode(encode) = bin centres, encode(decode) = same tokens."""
    unit_times = {f"n{u}": [] for u in range(n_units)}
    for u, t in ticks:
        unit_times[f"n{u % n_units}"].append(t)
    spikes = nd.SpikeTrains.from_unit_times(unit_times, t_start=0.0, t_stop=3.0)
    step = max(1, n_win // 2) * dt if overlap else None
    tok = SpikeTokenizer(window=n_win * dt, past_window=n_past * dt, dt=dt, step=step)
    tok.fit(spikes)
    seq = _assert_exact(tok, spikes, origin=0.0)
    for ids, dts in zip(seq.ids, seq.dts, strict=True):
        assert len(ids) == len(dts)
        assert np.all(dts[1:-1] - 4 < n_win) and np.all(dts[1:-1] >= 4)
    for pdts in seq.past_dts:
        assert np.all(pdts - 4 < max(n_past, 1))


def test_collate_pads_and_masks():
    spikes = nd.SpikeTrains.from_unit_times({"a": [0.001, 0.002, 0.061], "b": [0.03]},
                                            t_start=0.0, t_stop=0.1)
    tok = SpikeTokenizer(window=0.05, past_window=0.05, dt=0.01).fit(spikes)
    seq = tok.encode(spikes)
    batch = collate_spike_tokens([seq[0], seq[1]])
    assert batch["id"].tolist() == [[SOS, 4, 4, 5, EOS], [SOS, 4, EOS, PAD, PAD]]
    assert batch["dt"].tolist() == [[SOS, 4, 4, 7, EOS], [SOS, 5, EOS, PAD, PAD]]
    assert batch["mask"].sum(1).tolist() == [5, 3]
    assert batch["past_id"].tolist() == [[PAD, PAD, PAD], [4, 4, 5]]
    assert batch["past_mask"].sum(1).tolist() == [0, 3]
    assert batch["window_start"].tolist() == [0.0, 0.05]
    with pytest.raises(ValidationError, match="empty batch"):
        collate_spike_tokens([])


def test_save_load_and_unknown_units(tmp_path):
    spikes = nd.SpikeTrains.from_unit_times({"a": [0.01], "b": [0.02]}, t_start=0.0,
                                            t_stop=0.1)
    tok = SpikeTokenizer(window=0.02, past_window=0.04, dt=0.01).fit(spikes)
    path = tok.save(tmp_path / "tok.json")
    tok2 = SpikeTokenizer.load(path)
    assert tok2.get_params() == tok.get_params()
    assert tok2.units_["name"].tolist() == ["a", "b"]
    other = nd.SpikeTrains.from_unit_times({"b": [0.03], "zz": [0.05]}, t_start=0.0,
                                           t_stop=0.1)
    with pytest.raises(ValidationError, match="not in the tokenizer vocabulary.*zz"):
        tok2.encode(other)
    tok2.set_params(handle_unknown="unk")
    seq = tok2.encode(other)
    assert [int(i) for s in seq.ids for i in s if i > EOS] == [5, UNK]
    assert tok2.decode(seq).n_spikes == 1  # <unk> dropped
    with pytest.raises(MissingFileError):
        SpikeTokenizer.load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(FormatError, match="neuroloom.spike_tokenizer"):
        SpikeTokenizer.load(tmp_path / "bad.json")


@pytest.mark.parametrize("kw, msg", [
    ({"window": 0.015, "dt": 0.01}, "whole multiple of dt"),
    ({"dt": -1.0}, "dt must be a positive"),
    ({"past_window": 0.033, "dt": 0.01}, "past_window"),
])
def test_bad_parameters(kw, msg):
    spikes = nd.SpikeTrains.from_unit_times({"a": [0.01]}, t_start=0.0, t_stop=0.1)
    with pytest.raises(ValidationError, match=msg):
        SpikeTokenizer(**kw).fit(spikes)
    with pytest.raises(ValidationError, match="not fitted"):
        SpikeTokenizer().encode(spikes)


def _expected_events(spks: np.ndarray, threshold: float) -> int:
    med = np.median(spks, axis=1, keepdims=True)
    mad = 1.4826 * np.median(np.abs(spks - med), axis=1, keepdims=True)
    sd = np.where(mad > 0, mad, spks.std(axis=1, keepdims=True))
    return int((spks > med + threshold * sd).sum())


def test_calcium_events_real_suite2p(shared):
    """Real suite2p deconvolved activity (23 ROIs x 864 frames): events = numpy threshold."""
    spks = np.load(shared("calcium/suite2p/plane0/spks.npy")).astype(np.float64)
    assert spks.shape == (23, 864)
    ts = nd.TimeSeries(spks.T, rate=1.0, modality="calcium",
                       channels=nd.make_channels([f"roi{i}" for i in range(23)],
                                                 types="neuron", units="a.u."))
    ev = calcium_events(ts, threshold=3.0)
    # the project's suite2p reader keeps the ROIs marked as cells
    block = nd.load(shared("calcium/suite2p/plane0")).timeseries["deconvolved"]
    iscell = np.load(shared("calcium/suite2p/plane0/iscell.npy"))[:, 0] > 0
    assert calcium_events(block).n_spikes == _expected_events(spks[iscell], 3.0)
    assert ev.n_spikes == _expected_events(spks, 3.0) > 0
    assert ev.n_units == 23
    tok = SpikeTokenizer(window=4.0, past_window=8.0, dt=1.0).fit(ev)
    _assert_exact(tok, ev, origin=0.0)


def test_calcium_events_bad_input():
    x = np.zeros((10, 2))
    x[3, 1] = np.nan
    ts = nd.TimeSeries(x, rate=1.0, modality="calcium",
                       channels=nd.make_channels(["a", "b"], types="neuron"))
    with pytest.raises(ValidationError, match="NaN"):
        calcium_events(ts)
    # undeconvolved trace: one transient with decay -> one event at its onset
    t = np.arange(40) / 2.0
    trace = np.where(t >= 5.0, np.exp(-(t - 5.0) / 1.0), 0.0)
    ts2 = nd.TimeSeries(trace[:, None], rate=2.0, modality="calcium",
                        channels=nd.make_channels(["c"], types="neuron"))
    assert calcium_events(ts2, deconvolved=False, tau=1.0).times.tolist() == [5.0]


def test_cli_spike_train_encode(tmp_path, capsys):
    from pipelines.cli import main

    spikes = nd.SpikeTrains.from_unit_times({"a": [0.012, 0.5, 1.2], "b": [0.3, 0.31]},
                                            t_start=0.0, t_stop=2.0)
    rec = nd.Recording(spikes=[spikes], subject={"id": "r1", "species": "rat"},
                       session={"id": "1"})
    h5 = rec.save(tmp_path / "units.h5")
    tok = tmp_path / "tok.json"
    assert main(["tokenize", "train", str(h5), "--kind", "spike", "-o", str(tok),
                 "--window", "0.1", "--past-window", "0.2", "--dt", "0.01"]) == 0
    assert "2 units, 20 offset bins" in capsys.readouterr().out
    out = tmp_path / "tokens.npz"
    assert main(["tokenize", "encode", str(h5), "-t", str(tok), "-o", str(out)]) == 0
    assert "21 windows, 5 spike tokens" in capsys.readouterr().out
    with np.load(out) as z:
        assert z["lengths"].sum() == 5 + 2 * 21  # t_stop itself opens a 21st window
        assert z["ids"][:3].tolist() == [SOS, 4, EOS]
    code = main(["tokenize", "train", str(h5), "--kind", "rvq", "-o", str(tmp_path / "x.pt")])
    err = capsys.readouterr().err
    assert code == 1 and "no timeseries block" in err
