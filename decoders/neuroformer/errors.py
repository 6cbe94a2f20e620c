"""The error the Neuroformer package raises on bad input: :class:`NeuroformerError`."""

from __future__ import annotations

from neurodata.errors import ValidationError

__all__ = ["NeuroformerError"]


class NeuroformerError(ValidationError):
    """Bad input to the Neuroformer model: a vocabulary, interval, shape or checkpoint
    that does not fit (a :class:`neurodata.errors.ValidationError`, so the CLI prints
    it as one line and ``except ValueError`` catches it too)."""
