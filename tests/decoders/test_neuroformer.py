"""Neuroformer: token windows, splits, training, generation, checkpoints, bad input.

All synthetic ground truth (the simulated circuit of ``decoders.neuroformer.simulate`` or
hand-made spike trains) except the calcium test, which uses the bundled real C. elegans
sample (``celegans_atanas2023``, shipped in the package, no ../shared/data needed).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurodata as nd
from decoders.neuroformer import (
    Neuroformer,
    NeuroformerError,
    attention_connectivity,
    calcium_event_trains,
    collate_windows,
    connectivity_auroc,
    finetune_behaviour,
    make_windows,
    simulate_circuit,
    time_blocked_split,
    token_f1,
    trial_psth,
    vocabulary_tokenizer,
)
from decoders.neuroformer.generate import generate_samples, sample_logits
from decoders.tokenizers import EOS, SOS, SpikeTokenizer

TINY = dict(n_head=2, n_layer=1, block_size=16, past_block_size=32, batch_size=16,
            dropout=0.0, lr=3e-3, verbose=False)


@pytest.fixture(scope="module")
def sim():
    return simulate_circuit(n_neurons=8, n_trials=16, random_state=1)


@pytest.fixture(scope="module")
def tok(sim):
    return SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(
        sim.recording.spikes["units"])


@pytest.fixture(scope="module")
def split(sim, tok):
    rec = sim.recording
    st = rec.spikes["units"]
    blocks = time_blocked_split(st.t_start, st.t_stop, fractions=(0.75, 0.25))
    kw = dict(behaviour=rec.timeseries["behavior"], stimulus=rec.timeseries["stimulus"],
              block_size=16, max_past=32)
    return [make_windows(st, tok, interval=b, **kw) for b in blocks]


@pytest.fixture(scope="module")
def fitted(split):
    torch.set_num_threads(1)
    return Neuroformer(16, epochs=3, random_state=0, **TINY).fit(split[0], split[1])


def test_windows_use_the_spike_tokenizer_format(sim, tok):
    """Synthetic: unchunked windows hold exactly SpikeTokenizer.encode's tokens."""
    st = sim.recording.spikes["units"]
    w = make_windows(st, tok, block_size=10_000, max_past=10_000)
    seq = tok.encode(st)
    assert len(w) == len(seq) - 1  # the partial last window is dropped
    for i in range(0, len(w), 97):
        assert w.ids[i].tolist() == seq.ids[i].tolist()
        assert w.dts[i].tolist() == seq.dts[i].tolist()
        assert w.past_ids[i].tolist() == seq.past_ids[i].tolist()
        assert w.ids[i][0] == SOS and w.ids[i][-1] == EOS


def test_long_windows_are_chunked_and_past_keeps_latest():
    """Synthetic: 30 spikes in one window → chunks of <= block_size inputs that, overlapped by
    one token, rebuild the window; the past keeps its latest max_past tokens."""
    times = np.r_[np.linspace(0.001, 0.049, 12), np.linspace(0.101, 0.149, 30)]
    st = nd.SpikeTrains(times, np.arange(times.size) % 3, ["a", "b", "c"], t_start=0.0,
                        t_stop=0.2)
    tok = SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(st)
    full = tok.encode(st)
    w = make_windows(st, tok, block_size=8, max_past=5)
    third = np.flatnonzero(w.window_index == 2)
    assert len(third) == int(np.ceil((len(full.ids[2]) - 1) / 8)) and len(third) > 1
    assert all(len(w.ids[i]) - 1 <= 8 for i in range(len(w)))
    rebuilt = np.concatenate([w.ids[third[0]]] + [w.ids[i][1:] for i in third[1:]])
    assert rebuilt.tolist() == full.ids[2].tolist()
    assert all(w.past_ids[i].tolist() == full.past_ids[2][-5:].tolist() for i in third)
    assert list(w.chunk[third]) == list(range(len(third)))


def test_time_blocked_split_never_leaks(sim, tok):
    """Synthetic: no spike of the test block appears in any training window or its past,
    and the blocks do not overlap."""
    st = sim.recording.spikes["units"]
    blocks = time_blocked_split(st.t_start, st.t_stop, fractions=(0.6, 0.2, 0.2), gap=0.1)
    assert all(a[1] <= b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    train = make_windows(st, tok, interval=blocks[0])
    test = make_windows(st, tok, interval=blocks[2])
    dt = tok.dt
    # absolute tick of every token (current and past) of every training window
    start_tick = np.rint((train.window_start - blocks[0][0]) / dt).astype(int)
    past_ticks = np.concatenate([p - 4 - 10 + s for p, s in zip(train.past_dts, start_tick,
                                                                 strict=True)])
    cur_ticks = np.concatenate([d[(d >= 4)] - 4 + s for d, s in zip(train.dts, start_tick,
                                                                     strict=True)])
    latest = blocks[0][0] + (max(past_ticks.max(), cur_ticks.max()) + 1) * dt
    assert past_ticks.min() >= 0  # nothing before the block either
    assert latest <= blocks[0][1] + 1e-9 < test.window_start.min() - tok.past_window
    assert set(np.round(train.window_start, 6)).isdisjoint(np.round(test.window_start, 6))


def test_training_loss_falls_and_generation_is_valid(fitted, split):
    """Synthetic: a tiny model's loss falls over 3 epochs; generated spikes are sorted,
    inside the interval and in the vocabulary; the KV cache gives the same samples."""
    h = fitted.history_
    assert h[-1]["train_loss"] < h[0]["train_loss"] - 0.2
    assert h[-1]["val_loss"] < h[0]["val_loss"]
    test = split[1].subset(np.flatnonzero(split[1].window_index < 20))
    gens = generate_samples(fitted, test, n_samples=2, top_k=5, top_p=0.95, random_state=3)
    for g in gens:
        assert g.n_spikes > 0
        assert np.all(np.diff(g.times) >= 0)
        assert g.t_start == pytest.approx(test.window_start.min())
        assert np.all((g.times >= g.t_start) & (g.times < g.t_stop))
        assert g.unit_index.max() < len(fitted.units_)
    nocache = generate_samples(fitted, test, n_samples=2, top_k=5, top_p=0.95,
                               random_state=3, use_cache=False)
    assert all(np.array_equal(a.times, b.times) and np.array_equal(a.unit_index, b.unit_index)
               for a, b in zip(gens, nocache, strict=True))
    real = generate_samples(fitted, test, condition="real", temperature=0)[0]
    st_real = nd.SpikeTrains.from_unit_times({u: [] for u in fitted.units_})
    assert token_f1(real, real, window=0.05)["f1"] == 1.0 or real.n_spikes == 0
    assert st_real.n_spikes == 0


def test_sampling_controls():
    """Synthetic logits: top-k keeps only the k best, top-p the nucleus, T=0 is greedy."""
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[3.0, 2.0, 1.0, -5.0]]).repeat(400, 1)
    assert set(sample_logits(logits, top_k=2, generator=g).tolist()) <= {0, 1}
    assert set(sample_logits(logits, top_p=0.5, generator=g).tolist()) == {0}
    assert sample_logits(logits, temperature=0)[0].item() == 0


def test_checkpoint_round_trip_and_vocabulary_check(fitted, split, tmp_path):
    """Synthetic: save/load (weights_only) gives identical predictions; a checkpoint or
    windows from another vocabulary raise clear errors."""
    path = fitted.save(tmp_path / "m.pt")
    again = Neuroformer.load(path, units=fitted.units_)
    np.testing.assert_allclose(again.predict_behaviour(split[1]),
                               fitted.predict_behaviour(split[1]), rtol=1e-5)
    with pytest.raises(NeuroformerError, match="another vocabulary"):
        Neuroformer.load(path, units=["x", "y"])
    other = vocabulary_tokenizer(["z1", "z2"] + fitted.units_, window=0.05, past_window=0.1,
                                 dt=0.01)
    st = nd.SpikeTrains.from_unit_times({"z1": [0.01], "n00": [0.02]}, t_start=0, t_stop=0.2)
    w = make_windows(st, other)
    with pytest.raises(NeuroformerError, match="vocabulary"):
        fitted.predict_behaviour(w)
    with pytest.raises(nd.FormatError, match="Neuroformer checkpoint"):
        (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
        Neuroformer.load(tmp_path / "bad.pt")


def test_resume_continues_the_same_run(split, tmp_path):
    """Synthetic: a run stopped after 2 of 3 epochs and resumed has the history of an
    uninterrupted 3-epoch run."""
    kw = dict(TINY, random_state=0, max_steps=None)
    full = Neuroformer(16, epochs=3, **kw).fit(split[0])
    ck = tmp_path / "ck"
    Neuroformer(16, epochs=3, checkpoint_dir=str(ck), **kw).fit(split[0], stop_after=2)
    assert (ck / "last.pt").exists()
    resumed = Neuroformer(16, epochs=3, checkpoint_dir=str(ck), **kw).fit(
        split[0], resume=True)
    assert len(resumed.history_) == 3
    np.testing.assert_allclose([h["train_loss"] for h in resumed.history_],
                               [h["train_loss"] for h in full.history_], rtol=1e-4)
    bad = vocabulary_tokenizer(["q"], window=0.05, past_window=0.1, dt=0.01)
    st = nd.SpikeTrains.from_unit_times({"q": [0.01, 0.03]}, t_start=0, t_stop=0.2)
    with pytest.raises(NeuroformerError, match="another vocabulary"):
        Neuroformer(16, epochs=1, checkpoint_dir=str(ck), **kw).fit(
            make_windows(st, bad), resume=True)


def test_bad_input_errors(sim, tok, fitted, split):
    """Synthetic: out-of-vocabulary IDs, empty intervals, behaviour / stimulus shapes that
    do not match the timeline each raise NeuroformerError naming the problem."""
    st = nd.SpikeTrains.from_unit_times({"n00": [0.01], "ghost": [0.02]}, t_start=0, t_stop=1)
    with pytest.raises(NeuroformerError, match="outside the trained vocabulary.*ghost"):
        make_windows(st, tok)
    units = sim.recording.spikes["units"]
    quiet = nd.SpikeTrains(units.times[units.times > 2.0], units.unit_index[units.times > 2.0],
                           units.units, t_start=0.0, t_stop=units.t_stop)
    with pytest.raises(NeuroformerError, match="no spikes or events"):
        make_windows(quiet, tok, interval=(0.0, 1.0))
    with pytest.raises(NeuroformerError, match="samples but its timeline"):
        make_windows(units, tok, interval=(0, 2), behaviour=(np.arange(10.0), np.zeros(9)))
    with pytest.raises(NeuroformerError, match="does not cover the interval"):
        make_windows(units, tok, interval=(0, 4),
                     behaviour=(np.linspace(0, 2, 50), np.zeros(50)))
    no_stim = make_windows(units, tok, interval=(0, 2))
    with pytest.raises(NeuroformerError, match="stimulus input"):
        fitted.net_(collate_windows([no_stim[0]]))
    wrong = split[1].subset(range(4))
    wrong.stimulus = wrong.stimulus[:, :2]
    with pytest.raises(NeuroformerError, match="stimulus per window has shape"):
        fitted.predict_behaviour(wrong)


def test_behaviour_head_and_few_shot_finetune(fitted, split):
    """Synthetic: fine-tuning the behaviour head on a few windows lowers its loss and
    leaves the pretrained model unchanged."""
    before = {k: v.clone() for k, v in fitted.net_.state_dict().items()}
    tuned = finetune_behaviour(fitted, split[0], n_windows=40, epochs=15, lr=3e-3)
    assert tuned.finetune_history_[-1] < tuned.finetune_history_[0]
    assert all(torch.equal(before[k], v) for k, v in fitted.net_.state_dict().items())
    assert tuned.predict_behaviour(split[1]).shape == (split[1].n_windows, 1)


def test_connectivity_and_psth_shapes(fitted, split, sim):
    """Synthetic: the attention connectivity is (n, n) and scored against the true graph."""
    for method in ("attention", "attention_grad"):
        c = attention_connectivity(fitted, split[1], method=method)
        assert c.shape == (8, 8) and np.isfinite(c[~np.eye(8, dtype=bool)]).mean() > 0.5
        assert 0.0 <= connectivity_auroc(c, sim.adjacency) <= 1.0
    with pytest.raises(NeuroformerError, match="method"):
        attention_connectivity(fitted, split[1], method="rollout")
    psth = trial_psth(sim.recording.spikes["units"], sim.trial_starts, 1.0)
    assert psth.shape == (20, 8) and psth.mean() > 1.0


def test_frames_stimulus_through_conv3d(tok, sim):
    """Synthetic frames (T, H, W) as the stimulus: the 3-D conv encoder trains."""
    st = sim.recording.spikes["units"]
    t = np.arange(0, st.t_stop, 0.05)
    frames = np.random.default_rng(0).random((t.size, 12, 12)).astype(np.float32)
    w = make_windows(st, tok, interval=(0, 4), stimulus=(t, frames), stimulus_steps=3,
                     block_size=16, max_past=32)
    assert w.stimulus.shape[1:] == (3, 12, 12)
    m = Neuroformer(16, epochs=1, **TINY).fit(w)
    assert m.config_.stimulus_kind == "frames" and np.isfinite(m.history_[0]["train_loss"])


def test_calcium_event_tokens_train_the_same_model():
    """Real data (bundled C. elegans sample): calcium → events → the same token format;
    a tiny model trains on them and its loss falls."""
    rec = nd.load_sample("celegans_atanas2023")
    ts = rec.timeseries["calcium"]
    ev = calcium_event_trains(ts, threshold=2.5)
    assert ev.n_spikes > 500 and ev.n_units == 98
    tok = vocabulary_tokenizer(ev.unit_names, window=1.8, past_window=3.6, dt=0.6)
    w = make_windows(ev, tok, interval=(0.0, 300.0), block_size=32, max_past=64)
    assert w.ids[0][0] == SOS and max(d.max() for d in w.dts) < tok.dt_vocab_size_
    m = Neuroformer(16, n_head=2, n_layer=1, block_size=32, past_block_size=64, epochs=3,
                    batch_size=16, lr=3e-3, dropout=0.0, verbose=False).fit(w)
    assert m.history_[-1]["train_loss"] < m.history_[0]["train_loss"]


def test_neuron_attention_head(split, sim):
    """Synthetic: with the neuron-query head the model trains, generation with and without
    the KV cache agrees (also across chunk restarts), and its weights read out an (n, n)
    connectivity; models without the head refuse that read-out."""
    kw = dict(TINY, block_size=8)
    w = [make_windows(sim.recording.spikes["units"], SpikeTokenizer(
        window=0.05, past_window=0.1, dt=0.01).fit(sim.recording.spikes["units"]),
        interval=b, stimulus=sim.recording.timeseries["stimulus"], block_size=8,
        max_past=32) for b in (split[0].interval, split[1].interval)]
    m = Neuroformer(16, n_past_layer=0, neuron_attention=True, epochs=2, **kw).fit(w[0])
    assert m.history_[-1]["train_loss"] < m.history_[0]["train_loss"]
    sub = w[1].subset(np.flatnonzero(w[1].window_index < 15))
    a = generate_samples(m, sub, n_samples=2, max_tokens_per_window=20, random_state=1)
    b = generate_samples(m, sub, n_samples=2, max_tokens_per_window=20, random_state=1,
                         use_cache=False)
    assert all(np.array_equal(x.times, y.times) and np.array_equal(x.unit_index, y.unit_index)
               for x, y in zip(a, b, strict=True))
    c = attention_connectivity(m, w[1], method="neuron_attention")
    assert c.shape == (8, 8) and np.isfinite(c).all()
    plain = Neuroformer(16, epochs=1, **kw).fit(w[0])
    with pytest.raises(NeuroformerError, match="neuron_attention=True"):
        attention_connectivity(plain, w[1], method="neuron_attention")
