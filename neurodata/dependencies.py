"""Optional dependencies: import one, or say in one line what to install.

``torch`` and the other heavy packages are extras of the distribution (``dl``,
``connectome``, ``io``...), not core dependencies; code that needs one imports it with
:func:`import_optional`, so a missing package raises
:class:`~neurodata.errors.MissingDependencyError` (an ``ImportError`` the CLI prints as
one line) naming the extra to install.

Examples
--------
>>> np = import_optional("numpy", extra="dl", feature="this example")
>>> import_optional("no_such_package_xyz", extra="dl", feature="the thing")
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
neurodata.errors.MissingDependencyError: the thing needs the optional package ...
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(name: str, *, extra: str, feature: str, package: str | None = None,
                    ) -> ModuleType:
    """Import module ``name``; if it is not installed raise a clear error.

    Parameters
    ----------
    name : str
        Module to import (e.g. ``"torch"``). Always a literal in our own code, never a
        string from a file or a config (those resolve through registries only).
    extra : str
        The neuroloom extra that installs it (``pip install 'neuroloom[extra]'``).
    feature : str
        What needs it, for the message.
    package : str or None
        Distribution name when it differs from the module name.

    Raises
    ------
    MissingDependencyError
        The module (or one it imports) cannot be found.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or name
        if missing.split(".")[0] != name.split(".")[0]:
            raise  # a broken install of something else: not ours to explain
        raise MissingDependencyError(
            f"{feature} needs the optional package {package or name!r}, which is not "
            f"installed; install it with: pip install 'neuroloom[{extra}]'") from None
