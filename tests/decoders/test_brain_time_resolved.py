"""Time-resolved decoding of synthetic MEG-like epochs with a planted time window:
the stimulus embedding is mixed into the channels only between 0.2 and 0.4 s."""

from __future__ import annotations

import numpy as np
import pytest

from decoders.braindecoding.errors import BrainDecodingError
from decoders.braindecoding.retrieval import subset_topk
from decoders.braindecoding.time_resolved import TemporalConvDecoder, sliding_window_retrieval


def _epochs(n=120, c=16, d=8, sfreq=50.0, seed=0):
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((n, d)).astype(np.float32)
    A = rng.standard_normal((d, c))
    t = np.arange(-0.1, 0.6, 1 / sfreq)
    env = ((t >= 0.2) & (t < 0.4)).astype(float)
    X = rng.standard_normal((n, c, t.size)) * 1.0
    X += (Y @ A)[:, :, None] * env[None, None, :]
    return X.astype(np.float32), Y, np.repeat(np.arange(4), n // 4), sfreq, t[0]


def test_sliding_window_finds_planted_interval(one_thread):
    """Synthetic: windows inside 0.2-0.4 s decode (top-1 among 120 >> 1/120), windows
    before the onset sit at chance."""
    X, Y, groups, sfreq, tmin = _epochs()
    res = sliding_window_retrieval(X, Y, groups=groups, sfreq=sfreq, tmin=tmin,
                                   window_s=0.1, step_s=0.1)
    inside = res[(res.t_start >= 0.2) & (res.t_start + 0.1 <= 0.4 + 1e-9)]
    before = res[res.t_start + 0.1 <= 0.2 + 1e-9]
    assert len(inside) >= 1 and len(before) >= 1
    assert inside.top1.min() > 0.3 and inside.two_way.min() > 0.9
    assert before.two_way.max() < 0.65


def test_temporal_conv_decoder(one_thread):
    """Synthetic: the whole-epoch encoder retrieves held-out epochs above chance."""
    X, Y, groups, *_ = _epochs()
    tr, te = groups < 3, groups == 3
    dec = TemporalConvDecoder(hidden=16, n_blocks=2, epochs=40, random_state=0)
    dec.fit(X[tr], Y[tr])
    assert subset_topk(dec.predict(X[te]), Y[te], n_candidates=None, k=1)[1] > 0.2
    with pytest.raises(BrainDecodingError, match="n_epochs"):
        dec.fit(X[:, 0], Y)
    with pytest.raises(BrainDecodingError, match="rows"):
        dec.fit(X, Y[:-1])
