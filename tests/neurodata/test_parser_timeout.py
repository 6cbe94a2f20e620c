"""A source file on which a third-party parser loops forever is a FormatError, not a hang
or a runaway allocation.

Real data: the MNE sample FIF of ../shared/data with one header digit replaced by
``1e-9`` (3 bytes inserted), a mutation the fuzzer found (MNE never returns on it).
"""

from __future__ import annotations

import time

import pytest

import neurodata as nd
from neurodata.errors import FormatError


def test_looping_parser_is_a_format_error(shared, tmp_path, monkeypatch):
    data = shared("eeg_meg/fif/sample_audvis_trunc_raw_sss.fif").read_bytes()
    bad = tmp_path / "looping_raw.fif"
    bad.write_bytes(data[:8376] + b"1e-9" + data[8377:])
    monkeypatch.setenv("NEUROLOOM_PARSE_TIMEOUT", "3")
    t0 = time.monotonic()
    # stopped by the time limit or by the memory budget, whichever the loop reaches first
    with pytest.raises(FormatError, match="did not finish reading the header within 3 s|"
                                          "parser needed more than") as e:
        nd.load(bad)
    assert str(bad) in str(e.value)
    assert time.monotonic() - t0 < 30
