"""Fixtures of the decoding tests: one BLAS thread, synthetic recordings with planted classes."""

from __future__ import annotations

import numpy as np
import pytest

import neurodata as nd


@pytest.fixture
def one_thread():
    """Limit BLAS and torch to one thread: on a shared 2-core machine, oversubscribed OpenBLAS makes
    small covariance fits 50x slower."""
    import torch
    from threadpoolctl import threadpool_limits

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(n)


def planted_recording(seed: int, *, subject: str = "s1", session: str = "0",
                      n_trials: int = 20, n_channels: int = 4, rate: float = 100.0,
                      gain: float = 3.0) -> nd.Recording:
    """Synthetic EEG with planted ground truth: during 'T2' trials channel 0 carries
    ``gain`` times more 10-Hz power than during 'T1' trials; 'T0' rest between trials."""
    rng = np.random.default_rng(seed)
    trial_s, gap_s = 2.0, 1.0
    n_times = int(rate * (n_trials * (trial_s + gap_s) + 2.0))
    data = rng.standard_normal((n_times, n_channels)) * 1e-6
    labels = np.array(["T1", "T2"] * (n_trials // 2))
    rng.shuffle(labels)
    onsets = 1.0 + np.arange(n_trials) * (trial_s + gap_s)
    t = np.arange(int(trial_s * rate)) / rate
    for onset, lab in zip(onsets, labels, strict=True):
        i = int(onset * rate)
        amp = (gain if lab == "T2" else 1.0) * 1e-6
        data[i:i + t.size, 0] += amp * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi))
    rest = onsets + trial_s
    ev = nd.Events(onset=np.concatenate([onsets, rest]),
                   duration=np.concatenate([np.full(n_trials, trial_s), np.full(n_trials, gap_s)]),
                   label=list(labels) + ["T0"] * n_trials)
    eeg = nd.TimeSeries(data.astype(np.float32), rate=rate,
                        channels=nd.make_channels([f"E{i}" for i in range(n_channels)],
                                                  types="eeg"), modality="eeg", name="eeg")
    return nd.Recording(timeseries=[eeg], events=ev, subject={"id": subject, "species": "human"},
                        session={"id": session})
