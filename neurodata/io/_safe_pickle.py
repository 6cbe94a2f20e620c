"""Loading pickled ``.npy`` files (suite2p's ``ops.npy``, ``stat.npy``) without running code.

``numpy.load(allow_pickle=True)`` unpickles whatever the file says, and a pickle can
call any importable function: opening a stranger's suite2p folder would run their
code.  :func:`load_npy_restricted` unpickles with an allow-list of the classes that
plain data needs (NumPy arrays, dtypes and scalars, ``datetime`` values and
``OrderedDict``); builtin containers, numbers and strings need no class lookup.
Anything else is refused with an error naming the file and the class.  There is no
opt-in to unpickle fully: reader options can come from a config file (``neuroloom
convert`` options, the pipeline's ``options:``), and nothing from a file or a config may
run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError

__all__ = ["load_npy_restricted", "ALLOWED_GLOBALS"]

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"),
    ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "slice"), ("builtins", "bytearray"), ("builtins", "range"),
})


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: Any, path: Path):
        super().__init__(fh)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise FormatError(
            f"holds a pickled {module}.{name}, which is not plain data (arrays, numbers, "
            "strings, lists, dicts); it could run code when loaded, so it is refused. "
            "Re-save it with plain values only (e.g. np.save(path, dict(...)) of "
            "numbers, strings and arrays)", path=self._path)


def load_npy_restricted(path: str | Path) -> Any:
    """Read a ``.npy`` file; object arrays are unpickled through the allow-list.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    FormatError
        Not a ``.npy`` file, a truncated one, or a pickle that names a class outside
        :data:`ALLOWED_GLOBALS` (the message names the class).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "ops.npy")
    >>> np.save(f, {"fs": 30.0}, allow_pickle=True)
    >>> load_npy_restricted(f).item()
    {'fs': 30.0}
    """
    path = Path(path)
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            reader = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = reader(fh)
        except ValueError as exc:
            raise FormatError(f"is not a numpy .npy file ({exc})", path=path) from exc
        if not dtype.hasobject:
            fh.close()
            return np.load(path, allow_pickle=False)
        try:
            arr = _RestrictedUnpickler(fh, path).load()
        except FormatError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                IndexError, KeyError, MemoryError, OverflowError) as exc:
            raise FormatError(f"holds a pickle that could not be read ({type(exc).__name__}: "
                              f"{exc}); the file is truncated or corrupt", path=path) from exc
    if not isinstance(arr, np.ndarray):
        raise FormatError(f"unpickles to a {type(arr).__name__}, expected an array", path=path)
    if arr.shape != tuple(shape):
        arr = arr.reshape(shape, order="F" if fortran else "C")
    return arr
