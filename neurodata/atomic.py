"""Atomic file replacement: write to a temporary name in the same folder, fsync, rename.

A crash or an exception while writing leaves any earlier file at the target path
untouched and removes the temporary file.  Guarantees (tested by
``tests/reliability/killtrial.py``, SIGKILL at random points):

- The target is either absent, the complete old version or the complete new one.
- Without ``overwrite`` creation is *no-clobber*: the final step is a rename that fails
  if the target appeared meanwhile (Linux ``renameat2(RENAME_NOREPLACE)``, else a hard
  link, which also fails on an existing name), so of two racing writers exactly one
  wins and the other gets a :class:`~neurodata.errors.WriteError`.
- A folder is replaced by an atomic exchange (``renameat2(RENAME_EXCHANGE)``) where the
  kernel has it, else by two renames with the old folder restored by the next writer.
- Temporary names carry the writer's process id (``.NAME.<pid>.<random>.tmp``,
  ``.NAME.tmp-<pid>-<random>``); the next write to the same target removes those of
  processes that no longer run (or older than a day), so a killed run leaves nothing
  that later runs trip over.  Names starting with a dot are ignored by folder walks.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import WriteError

__all__ = ["atomic_path", "replace_dir", "staged_dir", "rename_noreplace", "clean_stale"]

_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: Temporary files older than this are stale even if their pid is alive (pid reuse).
STALE_AFTER_S = 24 * 3600


def _renameat2():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2 with ``flags``; True if done, False if the kernel/filesystem lacks it.

    Raises FileExistsError (RENAME_NOREPLACE and ``dst`` exists) or OSError.
    """
    if _RENAMEAT2 is None:
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), str(dst))
    raise OSError(err, os.strerror(err), str(dst))


def rename_noreplace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Rename ``src`` to ``dst``, failing with FileExistsError if ``dst`` exists.

    Atomic where the kernel supports it (renameat2 or a hard link); on filesystems that
    offer neither (some network/FUSE mounts) an existence check precedes the rename,
    which leaves a window of a few microseconds.
    """
    src, dst = Path(src), Path(dst)
    if _rename2(src, dst, _RENAME_NOREPLACE):
        return
    try:
        os.link(src, dst)  # fails with EEXIST atomically
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK, errno.ENOSYS):
            raise
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst)) from None
        os.replace(src, dst)
        return
    os.unlink(src)


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


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def clean_stale(target: str | os.PathLike) -> list[Path]:
    """Remove leftovers of killed writers of ``target``; return what was removed.

    Leftovers are temporary files/folders named for ``target`` whose process no longer
    runs (or that are older than :data:`STALE_AFTER_S`).  If ``target`` is missing but a
    folder set aside by an interrupted :func:`replace_dir` exists, it is put back.
    """
    target = Path(target)
    folder = target.parent
    name = re.escape(target.name)
    pat = re.compile(rf"^\.{name}\.(?:(\d+)\.[^/]*\.tmp|tmp-(\d+)-[^/]*|old-(\d+)(?:-[^/]*)?)$")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    olds: list[Path] = []
    for entry in entries:
        m = pat.match(entry.name)
        if not m:
            continue
        pid = int(next(g for g in m.groups() if g is not None))
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if _pid_alive(pid) and age < STALE_AFTER_S:
            continue
        p = Path(entry.path)
        if m.group(3) is not None:
            olds.append(p)
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    for p in sorted(olds):
        with contextlib.suppress(OSError):
            if not os.path.lexists(target):
                p.rename(target)  # the writer died between setting it aside and renaming
            elif p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it to ``path``.

    Raises
    ------
    WriteError
        If the folder does not exist or is not writable, if ``path`` exists (or
        appears while writing) and ``overwrite`` is False, or if the final rename fails.
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
    clean_stale(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                        dir=folder)
    except OSError as exc:
        raise WriteError(
            f"cannot create a file in the folder {str(folder)!r} ({exc.strerror or exc}); "
            "choose a writable output folder",
            path=target,
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)  # mkstemp makes 0600; outputs get the mode open() would give them
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                rename_noreplace(tmp, target)
            except FileExistsError:
                raise WriteError(
                    "the output file appeared while this one was being written (another "
                    "process wrote it); nothing was replaced - pass overwrite=True "
                    "(CLI: --overwrite) to replace it", path=target) from None
        _fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def replace_dir(tmp: Path, out: Path) -> None:
    """Rename folder ``tmp`` to ``out``; an existing ``out`` is removed only after that
    succeeds (and restored if it fails).

    With ``renameat2(RENAME_EXCHANGE)`` the swap is one atomic step; otherwise ``out`` is
    first set aside as ``.NAME.old-<pid>`` and a writer killed between the two renames
    has it restored by the next :func:`clean_stale`.
    """
    tmp, out = Path(tmp), Path(out)
    if out.exists() and out.is_dir() and not out.is_symlink():
        old = out.with_name(f".{out.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            swapped = _rename2(tmp, out, _RENAME_EXCHANGE)
        except OSError:
            swapped = False
        if swapped:  # out is the new folder, tmp now holds the old one
            tmp.rename(old)
            shutil.rmtree(old, ignore_errors=True)
            return
        out.rename(old)
    elif out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
        out.rename(old)
    else:
        old = None
    try:
        tmp.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out``, on any
    error it is removed and ``out`` is left as it was (a result folder is never half
    written)."""
    out = Path(out)
    clean_stale(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        yield tmp
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
