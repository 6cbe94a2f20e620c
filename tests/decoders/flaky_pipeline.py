"""A pipeline factory for the failure-isolation and resume tests: tangent space + LR that
raises in ``fit`` (or kills its worker process) while a flag file exists.

The switch is a file, not an environment variable, so that it reaches loky workers that
were started before the test flipped it; its path is a pipeline parameter, so it is part
of the cell hash and stays the same between the failing run and the rerun.
"""

from __future__ import annotations

import os

from sklearn.base import BaseEstimator, ClassifierMixin

from decoders.pipelines_classical import make_ts_lr


class _Crash(RuntimeError):
    pass


def make_flaky(*, sfreq: float = 160.0, random_state=None):
    """:class:`Flaky` with the registry's factory signature."""
    return Flaky(sfreq=sfreq, random_state=random_state)


class Flaky(BaseEstimator, ClassifierMixin):
    """Tangent space + logistic regression; ``fit`` raises while ``crash_flag`` exists and
    kills its own process (a hard kill, no cleanup) while ``exit_flag`` exists."""

    def __init__(self, *, sfreq: float = 160.0, random_state=None, crash_flag=None,
                 exit_flag=None):
        self.sfreq = sfreq
        self.random_state = random_state
        self.crash_flag = crash_flag
        self.exit_flag = exit_flag

    def fit(self, X, y):
        if self.crash_flag and os.path.exists(self.crash_flag):
            raise _Crash("simulated crash in the middle of the grid\n(second line)")
        if self.exit_flag and os.path.exists(self.exit_flag):
            os._exit(3)
        self.model_ = make_ts_lr(sfreq=self.sfreq, random_state=self.random_state).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def decision_function(self, X):
        return self.model_.decision_function(X)
