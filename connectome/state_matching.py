"""Match estimated hidden states to true ones (Hungarian algorithm).

An HMM's states are identifiable only up to a permutation; before comparing decoded
states or per-state weights with ground truth, relabel the estimates with the
permutation that maximises agreement (Kuhn 1955, via
:func:`scipy.optimize.linear_sum_assignment`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["StateMatch", "match_states"]


@dataclass
class StateMatch:
    """Result of :func:`match_states`.

    Attributes
    ----------
    permutation : ndarray of int of shape (n_states,)
        ``permutation[k]`` is the true state matched to estimated state ``k``; relabel
        with ``permutation[pred]``.  Estimated parameters ``theta`` of shape
        ``(n_states, ...)`` align with the truth as ``theta[order]``, ``order =
        argsort(permutation)``.
    accuracy : float
        Fraction of bins whose relabelled state equals the true one.
    confusion : ndarray of int of shape (n_states, n_states)
        ``confusion[i, j]`` = number of bins with true state ``i`` and estimated ``j``.
    """

    permutation: np.ndarray
    accuracy: float
    confusion: np.ndarray

    @property
    def order(self) -> np.ndarray:
        """Estimated-state index for each true state (``argsort(permutation)``)."""
        return np.argsort(self.permutation)


def match_states(true_states, pred_states, n_states: int | None = None) -> StateMatch:
    """Relabel estimated states to best agree with the true ones (Hungarian matching).

    Parameters
    ----------
    true_states : array-like of int of shape (n_bins,), or list of such arrays
        Ground-truth state per bin (several trials are concatenated).
    pred_states : array-like of int, same shape as ``true_states``
        Estimated state per bin (e.g. from :meth:`HMMGLM.predict_states`).
    n_states : int, optional
        Number of states (default: the largest label + 1 in either input).

    Returns
    -------
    StateMatch
        The permutation, the accuracy after relabelling and the confusion matrix.

    Raises
    ------
    ValueError
        If the inputs differ in length, hold negative labels or labels ``>= n_states``.

    References
    ----------
    .. [1] H. W. Kuhn, "The Hungarian method for the assignment problem", Naval Research
       Logistics Quarterly 2, 83–97, 1955.

    Examples
    --------
    >>> match_states([0, 0, 1, 1, 2], [2, 2, 0, 0, 1]).accuracy
    1.0
    """
    t = _labels(true_states, "true_states")
    p = _labels(pred_states, "pred_states")
    if t.shape != p.shape:
        raise ValueError(
            f"true_states and pred_states must have the same length, got {t.size} and {p.size}"
        )
    k = int(max(t.max(initial=-1), p.max(initial=-1)) + 1) if n_states is None else int(n_states)
    if t.size and (t.max() >= k or p.max() >= k):
        raise ValueError(f"state labels must be < n_states={k}")
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (t, p), 1)
    rows, cols = linear_sum_assignment(-confusion)
    perm = np.empty(k, dtype=np.int64)
    perm[cols] = rows
    acc = float(confusion[rows, cols].sum() / max(t.size, 1))
    return StateMatch(permutation=perm, accuracy=acc, confusion=confusion)


def _labels(x, name: str) -> np.ndarray:
    if isinstance(x, (list, tuple)) and len(x) and np.ndim(x[0]) == 1:
        x = np.concatenate([np.asarray(a) for a in x])
    arr = np.asarray(x)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(
            f"{name} must be a 1-D array of integer labels, got {arr.dtype} {arr.shape}"
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} has negative labels (min {arr.min()})")
    return arr.astype(np.int64)
