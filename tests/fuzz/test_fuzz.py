"""Short seeded fuzz run (real files from ../shared/data when present, every bundled
sample, own-format recordings): every mutant loads or raises a NeurodataError; nothing
crashes, hangs, raises another exception or exceeds 1 GB RSS.  ``make fuzz`` runs the
long version."""

from __future__ import annotations

import os

import pytest

from .fuzzer import discover_seeds, format_table, fuzz

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_short_fuzz_run_has_no_unhandled_outcome():
    seeds = discover_seeds()
    assert any(s.own for s in seeds) and len(seeds) >= 8
    tallies = fuzz(seeds, per_seed=1, seed=2026, timeout=60.0, include_original=False)
    table = format_table(tallies)
    failures = [f for t in tallies.values() for f in t.failures]
    assert not failures, table + "\n" + "\n".join(
        f"{f.seed} [{f.mutation}] -> {f.kind}: {f.detail}" for f in failures)
    assert max(t.peak_rss_mb for t in tallies.values()) < 1024
