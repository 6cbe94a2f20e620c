"""Neuroformer: a behaviour time series as a cross-attention input (past window only).

All synthetic: hand-made spike trains with a planted dependence on past behaviour, and the
simulated circuit of ``decoders.neuroformer.simulate`` for the config path.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurodata as nd
from decoders.neuroformer import Neuroformer, NeuroformerError, make_windows, simulate_circuit
from decoders.neuroformer.config import config_from_dict
from decoders.neuroformer.generate import generate_samples
from decoders.neuroformer.workflow import evaluate, model_from_config, prepare
from decoders.tokenizers import SpikeTokenizer

WIN = 0.05
TINY = dict(n_head=2, n_layer=1, block_size=8, past_block_size=16, batch_size=16,
            dropout=0.0, lr=3e-3, verbose=False)


def planted(seed: int = 0, duration: float = 40.0):
    """A binary behaviour that switches every 50-ms window at random; in the next window
    neuron ``a`` fires once if it was high, ``b`` if it was low (``c`` fires at random).
    Past spikes say nothing about the *current* behaviour bit, the past behaviour does."""
    rng = np.random.default_rng(seed)
    nk = int(round(duration / WIN))
    bit = rng.integers(0, 2, nk)
    times, units = [], []
    for k in range(1, nk):
        times.append(k * WIN + rng.uniform(0.005, 0.045))
        units.append(0 if bit[k - 1] else 1)
        if rng.random() < 0.5:
            times.append(k * WIN + rng.uniform(0.0, WIN))
            units.append(2)
    o = np.argsort(times)
    st = nd.SpikeTrains(np.asarray(times)[o], np.asarray(units, np.int32)[o], ["a", "b", "c"],
                        t_start=0.0, t_stop=duration)
    bt = np.arange(0.0, duration, 0.01)
    # offset and scale: the network standardizes its input
    bv = (3.0 * bit[np.minimum((bt / WIN).astype(int), nk - 1)] + 1.0).astype(np.float32)
    return st, bt, bv


@pytest.fixture(scope="module")
def data():
    st, bt, bv = planted()
    tok = SpikeTokenizer(window=WIN, past_window=0.1, dt=0.01).fit(st)
    return st, bt, bv, tok


def test_behaviour_input_holds_only_the_past(data):
    """Each window's input is the bin means of the past window; values from the window's
    start on (its own behaviour, the decoding target) never change it, and bins before
    the interval are masked."""
    st, bt, bv, tok = data
    w = make_windows(st, tok, interval=(10.0, 20.0), behaviour=(bt, bv),
                     behaviour_input=(bt, bv), behaviour_steps=4, block_size=8, max_past=16)
    assert w.behaviour_input.shape == (len(w), 4, 1)
    k = int(np.flatnonzero(np.isclose(w.window_start, 15.0))[0])
    ws = w.window_start[k]
    edges = ws - 0.1 + 0.025 * np.arange(5)
    want = [bv[(bt >= edges[i] - 1e-9) & (bt < edges[i + 1] - 1e-9)].mean() for i in range(4)]
    np.testing.assert_allclose(w.behaviour_input[k, :, 0], want, rtol=1e-6)
    assert w.behaviour_input_mask[k].all()
    changed = bv.copy()
    changed[bt >= ws - 1e-9] = 100.0  # the window's own and all later behaviour
    w2 = make_windows(st, tok, interval=(10.0, 20.0), behaviour=(bt, changed),
                      behaviour_input=(bt, changed), block_size=8, max_past=16)
    np.testing.assert_array_equal(w2.behaviour_input[k], w.behaviour_input[k])
    assert w2.behaviour[k, 0] == pytest.approx(100.0)  # the target did change
    first = int(np.argmin(w.window_start))
    assert w.window_start[first] == pytest.approx(10.0)
    assert not w.behaviour_input_mask[first].any()  # its past lies before the interval
    assert np.all(w.behaviour_input[first] == 0)


def test_behaviour_input_lowers_the_loss(data, one_thread):
    """Planted ground truth: with the past behaviour as input the model predicts which
    neuron fires next (validation ID loss far below the model without it); the loss
    falls; generation with and without the KV cache agrees; save/load keeps the input's
    standardization."""
    st, bt, bv, tok = data
    losses = {}
    for use in (False, True):
        extra = dict(behaviour_input=(bt, bv), behaviour_steps=4) if use else {}
        tr, va = (make_windows(st, tok, interval=iv, block_size=8, max_past=16, **extra)
                  for iv in ((0.0, 30.0), (30.0, 40.0)))
        m = Neuroformer(16, epochs=6, random_state=0, **TINY).fit(tr, va)
        assert m.history_[-1]["train_loss"] < m.history_[0]["train_loss"] - 0.3
        losses[use] = m.history_[-1]["val_loss_id"]
    # without the input the first ID is a coin flip (ln 2 / 2 of the mean ID loss)
    assert losses[True] < losses[False] - 0.15, losses
    assert m.config_.n_behaviour_input == 1 and m.config_.behaviour_input_steps == 4
    assert float(m.net_.beh_in_scale[0]) == pytest.approx(1.5, abs=0.1)
    sub = va.subset(np.flatnonzero(va.window_index < 12))
    a = generate_samples(m, sub, n_samples=2, random_state=1)
    b = generate_samples(m, sub, n_samples=2, random_state=1, use_cache=False)
    assert all(np.array_equal(x.times, y.times) and np.array_equal(x.unit_index, y.unit_index)
               for x, y in zip(a, b, strict=True))
    # greedy one-window-ahead: the neuron after SOS follows the behaviour bit
    g = generate_samples(m, sub, condition="real", temperature=0)[0]
    ab = g.unit_index < 2
    bit = bv[np.searchsorted(bt, g.times[ab] - WIN)] > 2.5
    assert np.mean((g.unit_index[ab] == 0) == bit) > 0.9


def test_behaviour_input_shape_errors(data, one_thread, tmp_path):
    """A behaviour input whose values do not match its timeline, windows without it, or
    with another channel count raise NeuroformerError naming the problem."""
    st, bt, bv, tok = data
    with pytest.raises(NeuroformerError, match="behaviour input has 10 samples but its "
                                                "timeline has 11"):
        make_windows(st, tok, interval=(0, 2), behaviour_input=(np.arange(11.0),
                                                                 np.zeros(10)))
    with pytest.raises(NeuroformerError, match="behaviour input timeline"):
        make_windows(st, tok, interval=(0, 20), behaviour_input=(bt[:500], bv[:500]))
    with pytest.raises(NeuroformerError, match="behaviour_steps >= 1"):
        make_windows(st, tok, interval=(0, 2), behaviour_input=(bt, bv), behaviour_steps=0)
    w = make_windows(st, tok, interval=(0.0, 4.0), behaviour_input=(bt, bv), block_size=8,
                     max_past=16)
    m = Neuroformer(16, epochs=1, **TINY).fit(w)
    path = m.save(tmp_path / "m.pt")
    again = Neuroformer.load(path)
    assert torch.equal(again.net_.beh_in_loc, m.net_.beh_in_loc)
    plain = make_windows(st, tok, interval=(0.0, 4.0), block_size=8, max_past=16)
    with pytest.raises(NeuroformerError, match="built with a behaviour input"):
        generate_samples(m, plain.subset(range(3)))
    two = make_windows(st, tok, interval=(0.0, 4.0), block_size=8, max_past=16,
                       behaviour_input=(bt, np.stack([bv, bv], 1)))
    with pytest.raises(NeuroformerError, match=r"behaviour input per window has shape "
                                                r"\(4, 2\); the model expects \(4, 1\)"):
        m.score_losses(two)


def test_behaviour_input_from_the_config(one_thread):
    """The YAML keys: data.behaviour_input (+ channels) and tokens.behaviour_steps reach
    the windows and the model; the evaluation adds the ridge baseline that sees the same
    past behaviour; bad combinations are refused."""
    sim = simulate_circuit(n_neurons=6, n_trials=6, random_state=0)
    cfg = config_from_dict({"data": {"recording": "sim", "behaviour": "behavior",
                                     "behaviour_input": "stimulus",
                                     "behaviour_input_channels": ["stim_on"],
                                     "split": [0.5, 0.5]},
                            "tokens": {"past_window": 0.1, "behaviour_steps": 2,
                                       "block_size": 16, "max_past": 32}})
    prep = prepare(sim.recording, cfg)
    assert prep.train.behaviour_input.shape[1:] == (2, 1)
    v = prep.val
    inside = v.window_start >= v.interval[0] + v.past_window - 1e-9
    assert v.behaviour_input_mask[inside].all() and not v.behaviour_input_mask[0].any()
    cfg.model.n_embd, cfg.model.n_head, cfg.model.n_layer = 16, 2, 1
    cfg.train.epochs, cfg.generate.max_windows, cfg.generate.n_samples = 1, 20, 1
    model = model_from_config(cfg).set_params(verbose=False).fit(prep.train)
    assert model.config_.n_behaviour_input == 1
    metrics, _ = evaluate(model, prep, cfg, verbose=False)
    beh = metrics["behaviour"]
    assert set(beh) >= {"neuroformer_r", "ridge_r", "ridge_with_input_r"}
    with pytest.raises(NeuroformerError, match="behaviour_steps"):
        config_from_dict({"tokens": {"behaviour_steps": 0}})
    with pytest.raises(NeuroformerError, match="needs data.behaviour_input"):
        config_from_dict({"data": {"behaviour_input_channels": ["speed"]}})
    with pytest.raises(NeuroformerError, match="has the wrong type"):
        config_from_dict({"data": {"behaviour_input": 3}})
    bad = config_from_dict({"data": {"recording": "sim", "behaviour_input": "running"}})
    with pytest.raises(NeuroformerError, match="no timeseries block 'running'"):
        prepare(sim.recording, bad)
