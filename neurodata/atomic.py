"""Atomic file replacement: write to a temporary name in the same folder, fsync, rename.

A crash or an exception while writing leaves any earlier file at the target path
untouched and removes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import WriteError

__all__ = ["atomic_path", "replace_dir", "staged_dir"]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it to ``path``.

    Raises
    ------
    WriteError
        If the folder does not exist or is not writable, if ``path`` exists and
        ``overwrite`` is False, or if the final rename fails.
    """
    target = Path(path).expanduser().absolute()
    folder = target.parent
    if not folder.is_dir():
        raise WriteError(
            f"cannot write here: the folder {str(folder)!r} does not exist; create it first",
            path=target,
        )
    if target.exists() and not overwrite:
        raise WriteError(
            "the output file already exists; pass overwrite=True (CLI: --overwrite) to replace it",
            path=target,
        )
    if target.is_dir():
        raise WriteError("the output path is a folder; give a file name ending in .h5", target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WriteError(
            f"cannot create a file in the folder {str(folder)!r} ({exc.strerror or exc}); "
            "choose a writable output folder",
            path=target,
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def replace_dir(tmp: Path, out: Path) -> None:
    """Rename folder ``tmp`` to ``out``; an existing ``out`` is removed only after that
    succeeds (and restored if it fails)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out``, on any
    error it is removed and ``out`` is left as it was (a result folder is never half
    written)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
