"""Errors of the connectome package, inside the project's one hierarchy.

Every input error here is a :class:`neurodata.errors.ValidationError` (so also a
``ValueError``, as before), so callers — the ``neuroloom`` CLI among them — handle every
package's bad-input errors as :class:`neurodata.errors.NeurodataError` in one place::

    NeurodataError
    └── ValidationError (also ValueError)
        └── ConnectomeInputError
            ├── AffinityInputError   (connectome.affinity)
            ├── NTFInputError        (connectome.ntf)
            ├── GLMInputError        (connectome.glm, connectome.hmmglm)
            └── HMMInputError        (connectome.hmm)
"""

from __future__ import annotations

from neurodata.errors import ValidationError

__all__ = ["ConnectomeInputError"]


class ConnectomeInputError(ValidationError):
    """Bad data or parameters given to a connectome function or estimator."""
