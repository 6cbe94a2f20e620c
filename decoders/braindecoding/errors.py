"""The error raised by brain decoding on bad input."""

from __future__ import annotations

from neurodata.errors import NeurodataError

__all__ = ["BrainDecodingError"]


class BrainDecodingError(NeurodataError, ValueError):
    """Bad input to a brain decoder or to the retrieval evaluation.

    Raised for: a stimulus table whose length does not match the events, embeddings
    with NaN or infinite values, fewer retrieval candidates than ``k``, a subject that
    the cross-subject model has no adapter for.  The message says what was expected,
    what was found and what to do.
    """
