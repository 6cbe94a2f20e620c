"""Classical pipelines: real EEGMMIDB decoding above the permutation chance level; planted
synthetic smoke tests; registry errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from decoders.epochs import Epochs, make_epochs
from decoders.evaluation import evaluate
from decoders.pipeline_registry import list_pipelines, make_pipeline
from decoders.pipelines_classical import FilterBankCSP
from neurodata.errors import ValidationError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def eegmmidb_epochs():
    from tests.conftest import shared_path

    paths = [shared_path(f"eeg_meg/eegmmidb/S001R{r:02d}.edf") for r in (4, 8, 12)]
    return make_epochs([{"path": p, "subject": "S001", "session": "0"} for p in paths],
                       {"left_fist": "T1", "right_fist": "T2"}, tmin=1.0, tmax=2.0,
                       l_freq=7.0, h_freq=30.0)


@pytest.mark.parametrize("name", ["csp_lda", "ts_lr"])
def test_real_above_permutation_chance(eegmmidb_epochs, name):
    """Left vs right fist imagery, 45 trials, 5-fold ROC-AUC vs 10 label permutations."""
    res = evaluate(eegmmidb_epochs, name, n_splits=5, n_permutations=10, random_state=42)
    score, chance = res["score"].mean(), res["chance_level"].iloc[0]
    assert res["scoring"].iloc[0] == "roc_auc" and len(res) == 5
    assert 0.35 < chance < 0.65
    # above the 95th percentile of the permutation scores
    assert score > res["chance_p95"].iloc[0]
    assert res["p_value"].iloc[0] <= 2 / 11  # at most one of 10 permutations reaches it
    assert score > {"csp_lda": 0.6, "ts_lr": 0.75}[name]


def _planted(n=40, seed=0):
    """Synthetic (planted): class 1 has 3x the 10-Hz power on channel 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / 100.0
    X = rng.standard_normal((n, 4, 100))
    y = np.repeat([0, 1], n // 2)
    X[:, 0] += np.where(y == 1, 3.0, 1.0)[:, None] * np.sin(2 * np.pi * 10 * t
                                                              + rng.uniform(0, 6, (n, 1)))
    meta = pd.DataFrame({"subject": ["s"] * n, "session": ["0"] * n})
    return Epochs(X, y, ("a", "b"), 100.0, 0.0, list("ABCD"), meta)


@pytest.mark.parametrize("name", ["fbcsp", "ts_svm", "aug_cov"])
def test_planted_pipelines(name):
    ep = _planted()
    res = evaluate(ep, name, n_splits=4, random_state=0)
    assert res["score"].mean() > 0.9


def test_fbcsp_exposes_filters_and_patterns():
    ep = _planted()
    fb = FilterBankCSP(sfreq=100.0, bands=[(8, 12), (20, 30)], n_components=2).fit(ep.X, ep.y)
    assert len(fb.filters_) == len(fb.patterns_) == 2
    assert fb.transform(ep.X).shape == (40, 4)
    with pytest.raises(ValueError, match="sfreq/2"):
        FilterBankCSP(sfreq=100.0, bands=[(40, 60)]).fit(ep.X, ep.y)


def test_unknown_pipeline_and_scheme():
    with pytest.raises(ValidationError, match="unknown pipeline 'cspp_lda'.*csp_lda"):
        make_pipeline("cspp_lda")
    # an import path is refused, never imported (issue 16: nothing from a config executes)
    with pytest.raises(ValidationError, match="import paths like .module:attr. are not accepted"):
        make_pipeline("decoders.nothing_here:make")
    with pytest.raises(ValidationError, match="unknown evaluation scheme"):
        evaluate(_planted(), "csp_lda", scheme="leave_one_out")
    assert {"csp_lda", "fbcsp", "ts_lr", "ts_svm", "aug_cov", "eegnet", "shallow",
            "deep4"} <= set(list_pipelines())


def test_cross_session_and_subject_need_groups():
    ep = _planted()
    with pytest.raises(ValidationError, match="at least two sessions"):
        evaluate(ep, "ts_lr", scheme="cross_session")
    with pytest.raises(ValidationError, match="at least two subjects"):
        evaluate(ep, "ts_lr", scheme="cross_subject")
