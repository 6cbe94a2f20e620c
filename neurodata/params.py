"""Declared parameter constraints, checked when an estimator fits (no scikit-learn private API).

An estimator declares a class table ``_parameter_constraints`` mapping each constructor
argument to a list of accepted kinds; :func:`validate_params` checks ``get_params()``
against it at the start of ``fit`` (the constructor stays a plain store, as the
scikit-learn contract requires).  A value is accepted when it satisfies any entry:

* ``None`` — the value may be None;
* ``"boolean"`` — a Python or numpy bool;
* ``"random_state"`` — None, an int or a :class:`numpy.random.Generator` /
  :class:`numpy.random.RandomState`;
* ``"array-like"`` — anything with ``__len__`` or ``__array__`` (not a str);
* ``"callable"`` — a callable;
* a type (e.g. ``str``, ``dict``) — an instance of it;
* :class:`Interval` — a number of the given kind inside the bounds;
* :class:`StrOptions` — one of the given strings.

Failures raise :class:`InvalidParameterError` (a :class:`~neurodata.errors.ValidationError`,
so also a ``ValueError``, and a ``TypeError``) naming the parameter, the estimator, what
is accepted and what was given.

Examples
--------
>>> from numbers import Integral
>>> from sklearn.base import BaseEstimator
>>> class Smoother(BaseEstimator):
...     _parameter_constraints = {"width": [Interval(Integral, 1, None, closed="left")],
...                               "mode": [StrOptions({"same", "valid"})]}
...     def __init__(self, width=3, *, mode="same"):
...         self.width, self.mode = width, mode
...     def fit(self, X, y=None):
...         validate_params(self)
...         return self
>>> Smoother(width=0).fit([[0.0]])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
neurodata.params.InvalidParameterError: The 'width' parameter of Smoother must be an int ...
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from .errors import ValidationError

__all__ = ["Interval", "StrOptions", "InvalidParameterError", "validate_params",
           "check_constraints"]


class InvalidParameterError(ValidationError, TypeError):
    """A constructor argument breaks the estimator's declared constraints."""


class Interval:
    """Numbers of one kind between two bounds.

    Parameters
    ----------
    kind : {numbers.Integral, numbers.Real}
        ``Integral`` accepts ints only (not bools); ``Real`` accepts ints and floats.
    left, right : float or None
        Bounds; None is unbounded on that side.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *,
                 closed: str = "both"):
        if kind not in (Integral, Real):
            raise TypeError("Interval kind must be numbers.Integral or numbers.Real")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError("closed must be 'left', 'right', 'both' or 'neither'")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` is a number of this kind inside the bounds."""
        if isinstance(value, bool | np.bool_) or not isinstance(value, self.kind):
            return False
        if self.kind is Real and isinstance(value, float | np.floating) and math.isnan(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        what = "an int" if self.kind is Integral else "a float"
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{what} in the range {lb}{lo}, {hi}{rb}"


class StrOptions:
    """One of a fixed set of strings."""

    def __init__(self, options: Iterable[str]):
        self.options = set(options)

    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` is one of the options."""
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options)) + "}"


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, Interval | StrOptions):
        return constraint.is_satisfied_by(value)
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint == "random_state":
        return (value is None or (isinstance(value, Integral) and not isinstance(value, bool))
                or isinstance(value, np.random.Generator | np.random.RandomState))
    if constraint == "array-like":
        return not isinstance(value, str) and (hasattr(value, "__len__")
                                               or hasattr(value, "__array__"))
    if constraint == "callable":
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    raise TypeError(f"unknown parameter constraint {constraint!r}")


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, Interval | StrOptions):
        return str(constraint)
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__!r}"
    return {"boolean": "a bool", "random_state": "None, an int or a numpy Generator",
            "array-like": "an array-like", "callable": "a callable"}[constraint]


def check_constraints(params: Mapping[str, Any], constraints: Mapping[str, list],
                      owner: str) -> None:
    """Check ``params`` against ``constraints`` (parameters without an entry pass).

    Raises
    ------
    InvalidParameterError
        The first parameter that satisfies none of its constraints.
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_satisfies(value, c) for c in allowed):
            continue
        options = [_describe(c) for c in allowed]
        text = options[0] if len(options) == 1 else (", ".join(options[:-1]) + " or "
                                                     + options[-1])
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {text}. Got {value!r} instead.")


def validate_params(estimator: Any) -> None:
    """Check an estimator's ``get_params(deep=False)`` against its class's
    ``_parameter_constraints`` (call it first thing in ``fit``).

    Raises
    ------
    InvalidParameterError
    """
    constraints = getattr(type(estimator), "_parameter_constraints", {})
    check_constraints(estimator.get_params(deep=False), constraints, type(estimator).__name__)
