"""A pipeline factory for the resumability test: it crashes while NEUROLOOM_TEST_CRASH=1."""

from __future__ import annotations

import os

from sklearn.base import BaseEstimator, ClassifierMixin

from decoders.pipelines_classical import make_ts_lr


class _Crash(RuntimeError):
    pass


def make_flaky(*, sfreq: float = 160.0, random_state=None):
    """Tangent space + LR whose ``fit`` raises while the crash switch is on."""
    if os.environ.get("NEUROLOOM_TEST_CRASH") == "1":
        return _Crashing()
    return make_ts_lr(sfreq=sfreq, random_state=random_state)


class _Crashing(BaseEstimator, ClassifierMixin):
    def fit(self, X, y):
        raise _Crash("simulated crash in the middle of the grid")
