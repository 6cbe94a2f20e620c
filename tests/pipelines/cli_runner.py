"""Run the ``neuroloom`` CLI in-process for the tests: exit code, stdout, stderr."""

from __future__ import annotations

from pipelines.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    """``main(argv)`` with every argument as a string; returns (code, out, err)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
