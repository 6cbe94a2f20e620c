"""SIGKILL at random points of every writer (synthetic data and the bundled EEGMMIDB
sample): no corrupted output, no leftovers; a deliberately unsafe writer is caught."""

from __future__ import annotations

import os

import pytest

from .killtrial import CONTROL, WRITERS, run_killtrials

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_kill_trials_leave_no_corrupted_outputs(tmp_path):
    rows = run_killtrials(3, seed=1, workdir=tmp_path, writers=WRITERS)
    ran = [r for r in rows if r["trials"]]
    assert len(ran) >= 5  # every writer except an absent optional one
    assert all(r["corrupted"] == 0 and r["leftovers"] == 0 for r in rows), rows


def test_the_trials_detect_an_unsafe_writer(tmp_path):
    rows = run_killtrials(12, seed=0, workdir=tmp_path, writers=[CONTROL])
    assert rows[0]["corrupted"] > 0, rows
