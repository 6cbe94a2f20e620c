"""Subcommands of ``neuroloom`` beyond the core ones in :mod:`pipelines.cli`.

Every public module here defines ``register(subparsers)``, which adds its
subcommand(s) with ``parser.set_defaults(func=...)``; ``func(args) -> int`` returns the
exit status and raises :class:`neurodata.errors.NeurodataError` (or a subclass) for bad
input, which the CLI turns into one line on stderr.  Modules are discovered, so adding
a subcommand means adding a file.  Import heavy libraries inside ``func``, not at
module level, so ``neuroloom --help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType


def command_modules() -> Iterator[ModuleType]:
    """Import and yield every public subcommand module, in name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{__name__}.{info.name}")
