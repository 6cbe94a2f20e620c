"""One package logger with a per-call ``verbose`` switch (the MNE-Python pattern).

Library code never calls ``print``.  Public functions take a keyword-only
``verbose=None``; ``True`` shows INFO messages and progress bars for that call,
``False`` silences them, a level name ("DEBUG", "WARNING") sets that level, and
``None`` keeps the current level (set with :func:`set_log_level`, default WARNING, or
from the ``NEUROLOOM_LOGGING_LEVEL`` environment variable when first used).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

logger = logging.getLogger("neuroloom")
logger.propagate = False
_handler_installed = False

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["logger", "set_log_level", "use_log_level", "verbose", "verbose_method",
           "deprecated_fit_verbose", "progress_enabled", "progress_for", "warn"]


class _StderrHandler(logging.StreamHandler):
    """Writes to the *current* ``sys.stderr`` at each message, not the one present when
    the handler was made (a replaced or closed stderr, as under pytest's capture or in a
    notebook, must not break later messages)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; ignore
        pass


def _ensure_handler() -> None:
    global _handler_installed
    if _handler_installed:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(os.environ.get("NEUROLOOM_LOGGING_LEVEL", "WARNING").upper())
    _handler_installed = True


def _to_level(value: bool | str | int | None) -> int | None:
    if value is None:
        return None
    if value is True:
        return logging.INFO
    if value is False:
        return logging.WARNING
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    if not isinstance(level, int):
        raise ValueError(
            f"verbose must be None, a bool or a level name (DEBUG, INFO, WARNING, ERROR); "
            f"got {value!r}"
        )
    return level


def set_log_level(level: bool | str | int | None) -> None:
    """Set the package log level for the rest of the session."""
    _ensure_handler()
    lvl = _to_level(level)
    if lvl is not None:
        logger.setLevel(lvl)


@contextlib.contextmanager
def use_log_level(level: bool | str | int | None) -> Iterator[None]:
    """Context manager that sets the log level within a ``with`` block."""
    _ensure_handler()
    lvl = _to_level(level)
    old = logger.level
    # setLevel clears the cache of every logger in the process (hundreds once torch is
    # imported: ~0.3 ms), so an unchanged level is left alone: encode() runs under this
    # on every call.
    change = lvl is not None and lvl != old
    if change:
        logger.setLevel(lvl)
    try:
        yield
    finally:
        if change:
            logger.setLevel(old)


def progress_enabled() -> bool:
    """Whether progress bars should be shown (log level INFO or more verbose)."""
    _ensure_handler()
    return logger.getEffectiveLevel() <= logging.INFO


def progress_for(value: bool | str | int | None = None) -> bool:
    """Whether a call or estimator with ``verbose=value`` shows progress bars.

    ``None`` follows the current log level (:func:`progress_enabled`); ``True`` or a level
    at or below INFO shows them; ``False`` or a quieter level hides them.  Estimators use
    it with their constructor's ``verbose``:
    ``tqdm(..., disable=not progress_for(self.verbose))``.
    """
    lvl = _to_level(value)
    return progress_enabled() if lvl is None else lvl <= logging.INFO


def verbose(func: F) -> F:
    """Decorator: honour a keyword-only ``verbose`` argument for one call."""
    sig = inspect.signature(func)
    if "verbose" not in sig.parameters:
        raise TypeError(f"{func.__qualname__} must accept a 'verbose' argument")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with use_log_level(kwargs.get("verbose")):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _method_wrapper(func: F, *, deprecated: bool) -> F:
    sig = inspect.signature(func)
    if "verbose" not in sig.parameters:
        raise TypeError(f"{func.__qualname__} must accept a 'verbose' argument")

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = kwargs.get("verbose")
        if deprecated and call is not None:
            name = type(self).__name__
            warnings.warn(f"{name}.{func.__name__}(verbose=...) is deprecated and will be "
                          f"removed; pass verbose= to the constructor: "
                          f"{name}(..., verbose=True)", FutureWarning, stacklevel=2)
        with use_log_level(getattr(self, "verbose", None) if call is None else call):
            return func(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def verbose_method(func: F) -> F:
    """Decorator for an estimator method other than ``fit`` (``encode``, ``transform``...).

    The method's keyword-only ``verbose`` overrides the estimator's constructor
    ``verbose`` for that one call; ``None`` (the default) runs it under ``self.verbose``
    (MNE-Python's per-call override, with the instance as the default).
    """
    return _method_wrapper(func, deprecated=False)


def deprecated_fit_verbose(func: F) -> F:
    """Decorator for ``fit`` of an estimator whose ``verbose`` moved to the constructor.

    ``fit`` runs under ``self.verbose``.  An explicit ``fit(verbose=...)`` still applies
    to that call but raises a ``FutureWarning`` (the old decoders convention, kept for
    one deprecation cycle).
    """
    return _method_wrapper(func, deprecated=True)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn, pointing at the first stack frame outside neuroloom's packages."""
    frame = inspect.currentframe()
    level = 1
    ours = ("neurodata", "connectome", "decoders", "pipelines")
    while frame is not None:
        mod = frame.f_globals.get("__name__", "")
        if mod.split(".")[0] not in ours:
            break
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=max(level - 1, 1))
    logger.debug("warning: %s", message)
