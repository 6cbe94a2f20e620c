"""The benchmark runner on iEEG and MEG blocks (issue 8, deliverable 5).

Neither the sEEG nor the MEG sample in ../shared/data carries decodable trials (see
docs/decoding.md §6), so these tests plant them:

* sEEG: the REAL 98-contact signal of ``ieeg/sample_seeg.edf`` is the background; a 20-Hz
  burst is added on contacts of one shaft during class "A" trials and on another shaft during
  class "B" trials (planted ground truth, known separable).
* MEG: the REAL channel table of ``eeg_meg/fif/sample_audvis_trunc_raw_sss.fif`` (names, grad /
  mag types, SI units, sensor positions) with synthetic noise, since the recording is 1 s long;
  class "B" trials carry a 10-Hz burst on a few gradiometers (planted).
"""

from __future__ import annotations

import numpy as np
import pytest

import neurodata as nd
from decoders.benchmark import run_benchmark

pytestmark = pytest.mark.usefixtures("one_thread")


def _trials(n_trials: int, trial_s: float, gap_s: float, seed: int) -> tuple[np.ndarray, list]:
    rng = np.random.default_rng(seed)
    labels = np.array(["A", "B"] * (n_trials // 2))
    rng.shuffle(labels)
    onsets = 0.5 + np.arange(n_trials) * (trial_s + gap_s)
    return onsets, list(labels)


def _plant(data: np.ndarray, rate: float, onsets: np.ndarray, labels: list, chans: dict,
           freq: float, amp: np.ndarray, trial_s: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(int(trial_s * rate)) / rate
    for onset, lab in zip(onsets, labels, strict=True):
        i = int(round(onset * rate))
        for c in chans[lab]:
            burst = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            data[i:i + t.size, c] += amp[c] * burst


def _save_and_score(ts: nd.TimeSeries, onsets: np.ndarray, labels: list, trial_s: float,
                    band: tuple[float, float], tmp_path) -> dict:
    """Save the planted recording, run csp_lda and ts_lr through the runner, return scores."""
    ev = nd.Events(onset=onsets, duration=np.full(len(onsets), trial_s), label=labels)
    path = tmp_path / f"{ts.name}_planted.h5"
    nd.Recording(timeseries=[ts], events=ev, subject={"id": "p1", "species": "human"},
                 session={"id": "0"}).save(path)
    res = run_benchmark(_config(path, ts.name, trial_s, *band), output=tmp_path / "out",
                        plots=False)
    return res.summary.set_index("pipeline")["mean"]


def _config(path, block: str, tmax: float, l_freq: float, h_freq: float) -> dict:
    return {
        "name": f"runner_{block}", "n_jobs": 1, "random_state": 0, "n_permutations": 0,
        "cache_epochs": True,
        "datasets": [{"name": f"planted_{block}", "classes": {"a": "A", "b": "B"},
                      "epochs": {"tmin": 0.0, "tmax": tmax, "block": block,
                                 "l_freq": l_freq, "h_freq": h_freq, "resample": 200.0},
                      "recordings": [{"path": str(path), "subject": "p1", "session": "0"}]}],
        "pipelines": ["csp_lda", "ts_lr"],
        "evaluations": [{"scheme": "within_session", "n_splits": 4}],
    }


def test_runner_on_real_seeg_with_planted_trials(shared, tmp_path):
    rec = nd.load(shared("ieeg/sample_seeg.edf"))
    ts = rec.timeseries["eeg"]       # EDF has no channel types: contacts are read as EEG
    rate = float(ts.rate)
    all_names = list(ts.channels["name"])
    # depth contacts are named <shaft>'<n>; DC and EKG channels are not brain signals.
    # Four shafts (two planted, two not) keep the test fast.
    shaft = {n: n.split("'")[0] for n in all_names if "'" in n}
    shafts = ["L", "N", "F", "O"]
    keep = [i for i, n in enumerate(all_names) if shaft.get(n) in shafts]
    names = [all_names[i] for i in keep]
    data = np.array(ts, dtype=np.float64)[:, keep]
    n_trials, trial_s, gap_s = 24, 0.5, 0.3
    onsets, labels = _trials(n_trials, trial_s, gap_s, seed=1)
    assert onsets[-1] + trial_s < data.shape[0] / rate
    chans = {"A": [i for i, n in enumerate(names) if shaft[n] == "L"][:4],
             "B": [i for i, n in enumerate(names) if shaft[n] == "N"][:4]}
    amp = 1.5 * data.std(axis=0)
    _plant(data, rate, onsets, labels, chans, 20.0, amp, trial_s, seed=2)
    seeg = nd.TimeSeries(data.astype(np.float32), rate=rate,
                         channels=nd.make_channels(names, types="seeg", units="V"),
                         modality="seeg", name="seeg")
    scores = _save_and_score(seeg, onsets, labels, trial_s, (15.0, 25.0), tmp_path)
    assert scores["csp_lda"] > 0.9 and scores["ts_lr"] > 0.9, scores


def test_runner_on_meg_block_with_real_montage(shared, tmp_path):
    import mne

    real = nd.load(shared("eeg_meg/fif/sample_audvis_trunc_raw_sss.fif"))
    meg = real.timeseries["meg"]
    raw = mne.io.read_raw_fif(shared("eeg_meg/fif/sample_audvis_trunc_raw_sss.fif"),
                              verbose="error")
    assert meg.n_channels == len(mne.pick_types(raw.info, meg=True))
    # 14 gradiometers + 6 magnetometers of the real montage keep the test fast
    all_types = np.asarray(meg.channels["type"])
    keep = np.r_[np.flatnonzero(all_types == "grad")[:14], np.flatnonzero(all_types == "mag")[:6]]
    ch = meg.channels.iloc[keep].reset_index(drop=True)
    types = list(ch["type"])
    rate = float(meg.rate)
    rng = np.random.default_rng(3)
    n_trials, trial_s, gap_s = 24, 0.5, 0.3
    onsets, labels = _trials(n_trials, trial_s, gap_s, seed=4)
    n_times = int((onsets[-1] + trial_s + 0.5) * rate)
    scale = np.where(np.array(types) == "mag", 1e-13, 1e-11)     # T and T/m
    data = rng.standard_normal((n_times, len(ch))) * scale
    grads = [i for i, t in enumerate(types) if t == "grad"][:6]
    _plant(data, rate, onsets, labels, {"A": [], "B": grads}, 10.0, 2 * scale, trial_s, seed=5)
    ts = nd.TimeSeries(data.astype(np.float32), rate=rate, channels=ch, modality="meg",
                       name="meg")
    scores = _save_and_score(ts, onsets, labels, trial_s, (5.0, 15.0), tmp_path)
    assert scores["csp_lda"] > 0.9 and scores["ts_lr"] > 0.9, scores
