"""Neuroformer trial decoding (grating direction): the helpers on synthetic trials with
planted directions, and the whole recipe on the real Park et al. (2024) V1 calcium file
of ../shared/data (skipped without it)."""

from __future__ import annotations

import numpy as np
import pytest

from decoders.neuroformer import NeuroformerError
from decoders.neuroformer.trials import (
    decode_trial_directions,
    direction_decoding_run,
    direction_targets,
    direction_templates,
    trial_event_counts,
)
from neurodata.spikes import SpikeTrains

PARK = "calcium/park2024_v1_gratings/230809_mrcuts28_fov4_grat-000_data.mat"


def test_targets_and_trial_read_out_recover_planted_directions():
    """Synthetic: 16 trials with known directions; noisy per-window predictions of their
    vectors decode every trial, windows outside the stimulus are ignored, and opposite
    directions stay apart (the cos θ / sin θ terms)."""
    rng = np.random.default_rng(0)
    dirs = np.tile(np.arange(0, 360, 45), 2)
    onsets = 1.0 + 3.0 * np.arange(dirs.size)
    t = np.arange(0, 3.0 * dirs.size, 0.0625)
    target, on = direction_targets(t, onsets, dirs, duration=2.0)
    assert on.sum() == pytest.approx(dirs.size * 32)  # 2 s at 16 Hz per trial
    assert np.all(target[on[:, 0] == 0] == 0)
    ws = np.arange(0, t[-1], 0.5)
    k = np.clip(np.searchsorted(onsets, ws, side="right") - 1, 0, dirs.size - 1)
    inside = (ws >= onsets[k]) & (ws + 0.5 <= onsets[k] + 2.0)
    pred = direction_templates(dirs[k]) * inside[:, None] + rng.normal(0, 0.5, (ws.size, 4))
    pred[~inside] = direction_templates(np.full((~inside).sum(), 90.0))  # must not count
    got = decode_trial_directions(ws, pred, onsets, duration=2.0, window=0.5,
                                  candidates_deg=np.arange(0, 360, 45))
    np.testing.assert_array_equal(got, dirs)
    assert np.abs(direction_templates(np.array([0.0])) @ direction_templates(
        np.array([180.0])).T).item() < 1e-12  # 0° and 180° templates are orthogonal
    st = SpikeTrains.from_unit_times({"a": [1.1, 1.2, 3.5], "b": [4.5]}, t_start=0, t_stop=8)
    np.testing.assert_array_equal(trial_event_counts(st, np.array([1.0, 4.0]), duration=2.0),
                                  [[2, 0], [0, 1]])
    with pytest.raises(NeuroformerError, match="one direction per onset"):
        direction_targets(t, onsets, dirs[:3], duration=2.0)


def test_grating_direction_on_real_v1_calcium(shared, one_thread):
    """Real data (Park et al. 2024, mouse V1, 56 neurons, 128 trials of 8 directions):
    events from the z-scored traces, the last 38 trials held out.  The logistic trial
    decoder is far above chance; the small Neuroformer (running speed and pupil of the
    past window as an input) is well above chance too (0.395 at seed 0)."""
    import neurodata as nd

    rec = nd.load(shared(PARK))
    res = direction_decoding_run(rec, random_state=0)
    acc = res.accuracy
    assert res.n_train_trials == 90 and res.n_test_trials == 38 and acc["chance"] == 0.125
    assert 5_000 < res.n_events < 20_000  # ≈ 0.45 events/s per neuron
    assert res.model.config_.n_behaviour_input == 2  # speed, pupil
    assert acc["logistic_trials"] > 0.45
    assert acc["neuroformer"] > 0.3 and acc["ridge_windows"] > 0.3
    assert set(res.trials["neuroformer"].dropna()) <= set(range(0, 360, 45))
    assert res.trials["trial"].min() == 90  # no training trial is scored
