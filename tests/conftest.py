"""Test fixtures shared by every suite.

Real recordings live in ``../shared/data`` beside the repository (or where
``NEUROLOOM_SHARED_DATA`` points).  A user's clone has no such folder: tests that
need it skip with the reason.  CI sets ``NEUROLOOM_REQUIRE_SHARED=1`` so that a
missing file fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEUROLOOM_SHARED_DATA", ROOT.parent / "shared" / "data"))
REQUIRE_SHARED = os.environ.get("NEUROLOOM_REQUIRE_SHARED") == "1"


def shared_path(relpath: str) -> Path:
    """Path of a file in the shared real-data folder, or skip/fail when absent."""
    path = SHARED_DATA / relpath
    if not path.exists():
        msg = f"needs the real recording {relpath} in {SHARED_DATA} (absent in this checkout)"
        if REQUIRE_SHARED:
            pytest.fail(msg + "; NEUROLOOM_REQUIRE_SHARED=1 makes this a failure")
        pytest.skip(msg)
    return path


@pytest.fixture
def shared():
    """Function ``shared(relpath) -> Path`` for real recordings in ../shared/data."""
    return shared_path


@pytest.fixture(autouse=True)
def _restore_log_level():
    """Fail any test that leaves the package log level changed (MNE's pattern)."""
    from neurodata.log import _ensure_handler, logger

    _ensure_handler()  # first use sets the default level; that is not a test's change
    before = logger.level
    yield
    assert logger.level == before, "test changed the neuroloom log level"


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture(autouse=True)
def _matplotlib_agg(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
