"""Builders of small synthetic recordings for format tests (not real data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import neurodata as nd


def synthetic_recording(seed: int = 0, n_times: int = 10_000, n_channels: int = 8,
                        rate: float = 250.0) -> nd.Recording:
    """A recording exercising every part of the format, with known values."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n_times, n_channels)).astype(np.float32) * 1e-5
    names = [f"E{i}" for i in range(n_channels)]
    channels = nd.make_channels(
        names, types=["eeg"] * (n_channels - 1) + ["eog"],
        positions=np.vstack([rng.standard_normal((n_channels - 1, 3)) * 0.05,
                             [np.nan, np.nan, np.nan]]),
        coord_frame="head", bad=[i == 2 for i in range(n_channels)],
        labels=[f"region{i % 3}" for i in range(n_channels)],
    )
    eeg = nd.TimeSeries(data, rate=rate, t0=0.5, channels=channels, modality="eeg", name="eeg",
                        attrs={"reference": "average"})
    ts = np.cumsum(rng.uniform(0.05, 0.15, size=300))
    beh = nd.TimeSeries(rng.standard_normal((300, 2)).astype(np.float32), timestamps=ts,
                        channels=nd.make_channels(["x", "y"], types="behavior", units="m"),
                        modality="behavior", name="position")
    vox = nd.TimeSeries(rng.standard_normal((50, 4)).astype(np.float32), rate=0.4,
                        channels=nd.make_channels([f"v{i}" for i in range(4)], types="voxel"),
                        modality="bold", name="bold", affine=np.diag([3.0, 3.0, 3.0, 1.0]),
                        volume_shape=(4, 5, 6), voxel_ijk=[[0, 0, 0], [1, 2, 3], [3, 4, 5],
                                                           [2, 2, 2]])
    spikes = nd.SpikeTrains.from_unit_times(
        {"u0": np.sort(rng.uniform(1, 30, 50)), "u1": np.sort(rng.uniform(1, 30, 20))},
        t_start=0.0, t_stop=40.0, labels={"u0": "CA1"})
    events = nd.Events(onset=[1.0, 2.5, 7.25], duration=[0.5, 0.0, 1.0],
                       label=["left", "right", "left"], trial=[1, 2, 3])
    con = nd.Connectivity(rng.uniform(size=(3, 3)), ["a", "b", "c"], kind="chemical")
    return nd.Recording(
        [eeg, beh, vox], spikes=[spikes], events=events,
        subject={"id": "sub-01", "species": "Homo sapiens", "age": 31, "sex": "female"},
        session={"id": "ses-01", "task": "rest", "start_time": "2024-01-02T03:04:05+00:00"},
        connectivity=[con],
        stimuli={"captions": np.array(["a cat", "a dog"], dtype=object),
                 "embeddings": rng.standard_normal((2, 5)).astype(np.float32)},
        provenance={"loader": "tests.synthetic", "parameters": {"seed": seed}},
    )


def assert_same_timeseries(a: nd.TimeSeries, b: nd.TimeSeries) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    pd.testing.assert_frame_equal(a.channels, b.channels)
    assert (a.rate, a.t0, a.modality, a.name, a.attrs) == (b.rate, b.t0, b.modality, b.name,
                                                           b.attrs)
    if a.timestamps is None:
        assert b.timestamps is None
    else:
        np.testing.assert_array_equal(a.timestamps, b.timestamps)
    for key in ("affine", "voxel_ijk"):
        va, vb = getattr(a, key), getattr(b, key)
        assert (va is None) == (vb is None)
        if va is not None:
            np.testing.assert_array_equal(va, vb)
    assert a.volume_shape == b.volume_shape
