"""neurodata.log: the one verbose convention (levels, per-call override, deprecated
fit(verbose=)) and the log-level context manager."""

from __future__ import annotations

import logging

import pytest

from neurodata.log import (
    deprecated_fit_verbose,
    logger,
    progress_for,
    use_log_level,
    verbose_method,
)


class _Est:
    def __init__(self, *, verbose=None):
        self.verbose = verbose

    @deprecated_fit_verbose
    def fit(self, *, verbose=None):
        self.seen_ = logger.getEffectiveLevel()
        return self

    @verbose_method
    def encode(self, *, verbose=None):
        return logger.getEffectiveLevel()


def test_use_log_level_sets_and_restores():
    before = logger.level
    with use_log_level("DEBUG"):
        assert logger.level == logging.DEBUG
        with use_log_level(None):  # None: the current level stays
            assert logger.level == logging.DEBUG
        with use_log_level(False):
            assert logger.getEffectiveLevel() > logging.INFO
        assert logger.level == logging.DEBUG
    assert logger.level == before
    with pytest.raises(RuntimeError), use_log_level("WARNING"):
        raise RuntimeError  # restored on the way out of an exception too
    assert logger.level == before


def test_constructor_level_and_per_call_override():
    est = _Est(verbose="DEBUG")
    assert est.encode() == logging.DEBUG
    assert est.encode(verbose="ERROR") == logging.ERROR
    assert est.fit().seen_ == logging.DEBUG
    assert progress_for(True) and not progress_for(False) and not progress_for("WARNING")


def test_fit_verbose_is_deprecated_but_applies():
    est = _Est(verbose="DEBUG")
    with pytest.warns(FutureWarning, match=r"_Est\.fit\(verbose=\.\.\.\) is deprecated"):
        est.fit(verbose="ERROR")
    assert est.seen_ == logging.ERROR


def test_decorator_refuses_a_method_without_verbose():
    with pytest.raises(TypeError, match="must accept a 'verbose' argument"):
        @verbose_method
        def encode(self):  # pragma: no cover - never called
            return None
