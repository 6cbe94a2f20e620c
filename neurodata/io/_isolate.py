"""Crash isolation for parsers that can kill the interpreter on corrupt bytes.

scipy.io's MATLAB reader and MNE's FIF/EEGLAB readers run compiled code; a mutated
file can make them die with SIGSEGV/SIGBUS, which no ``try`` catches: the converter
disappears with nothing on stderr.  :func:`preflight` first runs the parse in a
forked child process (cheap on POSIX: the child shares the parent's imported modules);
if the child is killed by a signal, the file is reported as a
:class:`~neurodata.errors.FormatError` naming it and the signal, and the parent never
touches it.  A child that merely raises is ignored: the in-process parse then raises
the same error, which the reader base turns into a ``FormatError``.

Files that passed are remembered for the process (by path, size and modification
time), so a file is pre-parsed once.  ``NEUROLOOM_ISOLATE_PARSERS=0`` turns the check
off (e.g. for trusted batch runs); where ``fork`` is unavailable (Windows) it is skipped.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..log import logger

__all__ = ["preflight", "safe_loadmat", "isolation_enabled"]

#: Seconds a pre-parse (header + a few samples) may take.  A parser that is still busy
#: then loops on corrupt bytes (mutated FIF headers do): parsing in process would hang
#: the caller, so it is a FormatError.  ``NEUROLOOM_PARSE_TIMEOUT`` (seconds) changes it
#: for very slow storage; ``NEUROLOOM_ISOLATE_PARSERS=0`` turns the pre-parse off.
TIMEOUT_S = 60.0


def _timeout_s() -> float:
    try:
        return float(os.environ.get("NEUROLOOM_PARSE_TIMEOUT", TIMEOUT_S))
    except ValueError:
        return TIMEOUT_S
_PASSED: set[tuple[str, int, int]] = set()


#: Memory a pre-parse may add to the process: a base plus a multiple of the file size
#: (scipy.io reads a MATLAB file whole; MNE reads headers and a few samples).
_MEMORY_BASE = 512 * 2**20
_MEMORY_PER_BYTE = 8


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process (0 where /proc is unavailable)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def isolation_enabled() -> bool:
    """Whether pre-parsing in a child process is on (POSIX fork, not disabled by env)."""
    return hasattr(os, "fork") and os.environ.get("NEUROLOOM_ISOLATE_PARSERS", "1") != "0"


def _key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def preflight(path: str | os.PathLike, what: str, parse: Callable[[Path], Any]) -> None:
    """Run ``parse(path)`` in a forked child; a child killed by a signal is an error.

    Parameters
    ----------
    path : path-like
        The file (named in the error).
    what : str
        The format, for the message.
    parse : callable
        ``parse(path)``; its result is discarded.

    Raises
    ------
    FormatError
        The parser crashed the child process (the signal is named).
    """
    p = Path(path)
    if not isolation_enabled() or not p.is_file():
        return
    key = _key(p)
    if key in _PASSED:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():
        # Python >= 3.12 warns when forking a multi-threaded process; the child only
        # parses and exits, and a stuck child is abandoned after TIMEOUT_S
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # child: parse, then leave without running the parent's exit handlers
        # the parent reports a crash in one line; no interpreter dump from the child
        faulthandler.disable()
        code = 0
        try:
            parse(p)
        except BaseException:  # noqa: BLE001 - a Python error is the parent's to report
            code = 1
        os._exit(code)
    timeout = _timeout_s()
    deadline = time.monotonic() + timeout
    # a header parse needs little memory; a parser looping on corrupt bytes grows without
    # bound (mutated FIF headers reach GBs in seconds), so the child has a memory budget
    budget = _MEMORY_BASE + _MEMORY_PER_BYTE * p.stat().st_size
    start_rss = _rss_bytes(pid)
    checks = 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        checks += 1
        if checks % 25 == 0 and _rss_bytes(pid) - start_rss > budget:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise FormatError(
                f"the {what} parser needed more than {budget / 2**20:.0f} MB for a "
                f"{p.stat().st_size} byte file; it is corrupt or not a valid file", path=p)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise FormatError(
                f"the {what} parser did not finish reading the header within {timeout:g} s "
                "(it loops on this file, which is corrupt or not a valid file; set "
                "NEUROLOOM_PARSE_TIMEOUT=<seconds> to allow longer)", path=p)
        time.sleep(0.002)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        raise FormatError(f"the {what} parser crashed ({name}) on this file; it is corrupt or "
                          "not a valid file (found in a separate process, so nothing else "
                          "was affected)", path=p)
    if os.WEXITSTATUS(status) == 0:
        _PASSED.add(key)
    else:
        logger.debug("%s: pre-parse as %s raised; the in-process parse reports it", p, what)


def safe_loadmat(path: str | os.PathLike, **kwargs: Any) -> dict[str, Any]:
    """:func:`scipy.io.loadmat` after a crash-isolated pre-parse of the same call."""
    from scipy.io import loadmat

    preflight(path, "MATLAB (scipy.io)", lambda p: loadmat(p, **kwargs))
    return loadmat(path, **kwargs)
