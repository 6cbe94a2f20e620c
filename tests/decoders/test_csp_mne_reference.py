"""Acceptance: our CSP+LDA reproduces MNE's motor-imagery example protocol on real data.

The reference is computed here directly with mne + scikit-learn, following MNE's
"Motor imagery decoding from EEG data using the Common Spatial Pattern (CSP)" example:
7-30 Hz FIR band-pass of the raw runs, epochs 1-2 s after the T1/T2 cues, CSP with 4
components (log-power, no regularization) + LDA, ShuffleSplit with 10 splits of 20 %,
same random_state, accuracy.
"""

from __future__ import annotations

import mne
import numpy as np
import pytest
from mne.decoding import CSP
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import ShuffleSplit, cross_val_score
from sklearn.pipeline import Pipeline

from decoders.epochs import make_epochs
from decoders.evaluation import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")
RUNS = ("S001R04.edf", "S001R08.edf", "S001R12.edf")


def _mne_reference(paths):
    epochs = []
    for p in paths:
        raw = mne.io.read_raw_edf(p, preload=True, verbose=False)
        raw.filter(7.0, 30.0, fir_design="firwin", skip_by_annotation="edge", verbose=False)
        events, _ = mne.events_from_annotations(raw, event_id={"T1": 2, "T2": 3},
                                                verbose=False)
        picks = mne.pick_types(raw.info, meg=False, eeg=True, stim=False, eog=False,
                               exclude="bads")
        ep = mne.Epochs(raw, events, {"T1": 2, "T2": 3}, -1.0, 4.0, proj=True, picks=picks,
                        baseline=None, preload=True, verbose=False)
        epochs.append(ep.copy().crop(tmin=1.0, tmax=2.0))
    X = np.concatenate([e.get_data(copy=False) for e in epochs])
    y = np.concatenate([e.events[:, -1] - 2 for e in epochs])
    return X, y


def test_csp_lda_matches_mne_example(shared):
    paths = [shared(f"eeg_meg/eegmmidb/{r}") for r in RUNS]
    X_ref, y_ref = _mne_reference(paths)
    ours = make_epochs([{"path": p, "subject": "S001", "session": "0"} for p in paths],
                       {"left_fist": "T1", "right_fist": "T2"}, tmin=1.0, tmax=2.0,
                       l_freq=7.0, h_freq=30.0)
    # same epochs (the format stores float32, hence the tolerance) and the same labels
    assert ours.X.shape == X_ref.shape == (45, 64, 161)
    np.testing.assert_array_equal(ours.y, y_ref)
    np.testing.assert_allclose(ours.X, X_ref, rtol=0, atol=1e-10)

    cv = ShuffleSplit(10, test_size=0.2, random_state=42)
    clf = Pipeline([("CSP", CSP(n_components=4, reg=None, log=True, norm_trace=False)),
                    ("LDA", LinearDiscriminantAnalysis())])
    with mne.utils.use_log_level("WARNING"):
        ref_scores = cross_val_score(clf, X_ref, y_ref, cv=cv, n_jobs=None)
    res = evaluate(ours, "csp_lda", cv=cv, scoring="accuracy", random_state=42)
    assert len(res) == 10
    assert abs(res["score"].mean() - ref_scores.mean()) <= 0.02
    # the splits are the same, so fold by fold the scores agree too
    np.testing.assert_allclose(res["score"].to_numpy(), ref_scores, atol=0.12)
