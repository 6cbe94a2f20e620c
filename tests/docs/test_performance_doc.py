"""docs/performance.md quotes benchmark commands and SUMMARY keys that exist.

The figures themselves come from full-size runs (minutes to an hour on 2 cores) and are
not re-run here; this test keeps the commands and keys from drifting: every quoted
``python benchmarks/bench_*.py`` script exists and accepts every flag quoted with it, and
every ``SUMMARY`` key quoted is printed by that benchmark.  No data needed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"


def test_quoted_commands_exist_with_their_flags():
    text = DOC.read_text()
    commands = re.findall(r"^python (benchmarks/bench_\w+\.py)([^\n#]*)", text, flags=re.M)
    assert len(commands) >= 6
    for script, args in commands:
        src = (ROOT / script).read_text()
        for flag in re.findall(r"--[\w-]+", args):
            assert f'"{flag}"' in src, f"{script} has no option {flag}"


def test_quoted_summary_keys_are_printed():
    text = DOC.read_text()
    sources = "".join(p.read_text() for p in (ROOT / "benchmarks").glob("bench_*.py"))
    keys = set(re.findall(r"SUMMARY ([^`]*)`", text, flags=re.S))
    names = {k for block in keys for k in re.findall(r"(\w+)=", block)}
    assert {"speedup_vs_tensorly_hals", "estep_vs_hmmlearn_scaling", "vs_memmap",
            "realtime_x"} <= names
    for name in names:
        assert f"{name}=" in sources, f"no benchmark prints {name}"
