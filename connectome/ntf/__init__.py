"""Non-negative tensor (CP/PARAFAC) factorization with HALS or multiplicative updates.

Public API: :func:`nonneg_cp`, :class:`NonnegCP`, :class:`CPResult`,
:func:`factor_match_score`, :func:`match_components`.
"""

from .decomposition import ConvergenceWarning, NonnegCP, NTFInputError, nonneg_cp
from .result import CPResult, factor_match_score, match_components

__all__ = [
    "nonneg_cp",
    "NonnegCP",
    "CPResult",
    "NTFInputError",
    "ConvergenceWarning",
    "factor_match_score",
    "match_components",
]
