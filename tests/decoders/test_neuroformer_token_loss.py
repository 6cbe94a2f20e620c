"""Neuroformer token-loss averaging and spike-count calibration (synthetic, planted).

Half of the 50-ms windows are empty, the other half hold 4 spikes, at random and
independently of the past.  The true probability that a window ends right after SOS is
0.5.  Averaging the loss per chunk weights an empty window's single EOS target 1 and each
token of a full window 1/5, so the fitted P(EOS | SOS) moves to 0.5 / (0.5 + 0.5/5) ≈ 0.83
and generation under-counts spikes; averaging over tokens (the likelihood) recovers 0.5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurodata as nd
from decoders.neuroformer import Neuroformer, NeuroformerError, collate_windows, make_windows
from decoders.neuroformer.config import config_from_dict
from decoders.tokenizers import EOS, SpikeTokenizer


def _bursty(seed: int = 0, duration: float = 30.0) -> nd.SpikeTrains:
    rng = np.random.default_rng(seed)
    times, units = [], []
    for k in range(int(round(duration / 0.05))):
        if rng.random() < 0.5:
            times.extend(k * 0.05 + np.sort(rng.uniform(0.0, 0.05, 4)))
            units.extend(rng.integers(0, 3, 4))
    return nd.SpikeTrains(np.asarray(times), np.asarray(units, np.int32), ["a", "b", "c"],
                          t_start=0.0, t_stop=duration)


def test_token_loss_calibrates_the_end_of_window(one_thread):
    st = _bursty()
    tok = SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(st)
    tr = make_windows(st, tok, interval=(0.0, 24.0), block_size=8, max_past=16)
    va = make_windows(st, tok, interval=(24.0, 30.0), block_size=8, max_past=16)
    empty = np.mean([len(ids) == 2 for ids in va.ids])
    assert 0.4 < empty < 0.6
    p_eos = {}
    for mode in ("chunk", "token"):
        m = Neuroformer(16, n_head=2, n_layer=1, block_size=8, past_block_size=16,
                        batch_size=32, dropout=0.0, lr=3e-3, epochs=4, token_loss=mode,
                        contrastive=False, behaviour=None, random_state=0,
                        verbose=False).fit(tr)
        with torch.no_grad():
            logits = m.net_(collate_windows([va[i] for i in range(len(va))]))["logits_id"]
        p_eos[mode] = float(logits[:, 0].softmax(-1)[:, EOS].mean())
    assert p_eos["chunk"] > 0.72, p_eos  # theory: 0.83
    assert abs(p_eos["token"] - empty) < 0.1, (p_eos, empty)
    with pytest.raises(NeuroformerError, match="token_loss"):
        config_from_dict({"model": {"token_loss": "window"}})
