"""Typed results of a non-negative CP decomposition and factor similarity scores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["CPResult", "factor_match_score", "match_components"]


@dataclass
class CPResult:
    """A fitted CP model ``X ≈ Σ_r w_r a_r ∘ b_r ∘ c_r`` and how it was obtained.

    Attributes
    ----------
    weights : ndarray of shape (rank,)
        Component weights ``w_r`` (same unit as the tensor), sorted in decreasing order.
    factors : list of ndarray, each of shape (n_k, rank)
        One factor matrix per mode with unit Euclidean-norm, non-negative columns.
        For an affinity tensor the modes are (pairs, windows, animals).
    errors : ndarray of shape (n_iter,)
        Relative reconstruction error ``‖W∘(X − X̂)‖_F / ‖W∘X‖_F`` after each iteration of
        the kept restart (``W`` is the mask of observed entries; all ones without mask).
        With a mask the entry of iteration t is the error of the model at its start.
    n_iter : int
        Iterations run by the kept restart.
    converged : bool
        Whether the kept restart met the tolerance before ``n_iter_max``.
    method : str
        "hals" or "mu".
    restart_errors : ndarray of shape (n_restarts,)
        Final relative error of every restart; the result keeps the smallest.
    best_restart : int
        Index of the kept restart.
    backend : str
        "numpy" or "torch" (with device, e.g. "torch:cuda").
    """

    weights: np.ndarray
    factors: list[np.ndarray]
    errors: np.ndarray
    n_iter: int
    converged: bool
    method: str = "hals"
    restart_errors: np.ndarray = field(default_factory=lambda: np.zeros(0))
    best_restart: int = 0
    backend: str = "numpy"

    @property
    def rank(self) -> int:
        """Number of components."""
        return int(self.weights.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the reconstructed tensor."""
        return tuple(int(f.shape[0]) for f in self.factors)

    @property
    def error(self) -> float:
        """Final relative reconstruction error (``errors[-1]``)."""
        return float(self.errors[-1]) if len(self.errors) else float("nan")

    def reconstruct(self) -> np.ndarray:
        """Full tensor ``Σ_r w_r a_r ∘ b_r ∘ c_r`` of shape ``self.shape``."""
        # (n_0, R) @ khatri_rao(rest).T: never materialises an (…, R) stack of the tensor
        rest = self.factors[1]
        for f in self.factors[2:]:
            rest = (rest[:, None, :] * f[None, :, :]).reshape(-1, f.shape[1])
        return ((self.factors[0] * self.weights) @ rest.T).reshape(self.shape)

    def normalize(self) -> CPResult:
        """Copy with unit-norm columns, weights absorbing the norms, sorted by weight.

        Results returned by :func:`connectome.ntf.nonneg_cp` are already normalized;
        this is for factors edited or built by hand.
        """
        weights = np.asarray(self.weights, dtype=float).copy()
        factors = []
        for f in self.factors:
            norms = np.linalg.norm(f, axis=0)
            safe = np.where(norms > 0, norms, 1.0)
            factors.append(np.asarray(f, dtype=float) / safe)
            weights = weights * norms
        order = np.argsort(-weights, kind="stable")
        return CPResult(
            weights=weights[order],
            factors=[f[:, order] for f in factors],
            errors=np.asarray(self.errors).copy(),
            n_iter=self.n_iter,
            converged=self.converged,
            method=self.method,
            restart_errors=np.asarray(self.restart_errors).copy(),
            best_restart=self.best_restart,
            backend=self.backend,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-serialisable) including the factors as lists."""
        return {
            "weights": self.weights.tolist(),
            "factors": [f.tolist() for f in self.factors],
            "errors": np.asarray(self.errors).tolist(),
            "n_iter": int(self.n_iter),
            "converged": bool(self.converged),
            "method": self.method,
            "restart_errors": np.asarray(self.restart_errors).tolist(),
            "best_restart": int(self.best_restart),
            "backend": self.backend,
        }

    def save(self, path: str | Path) -> Path:
        """Write the result to an ``.npz`` file (arrays + a JSON header); returns the path."""
        path = Path(path)
        meta = {
            "n_iter": int(self.n_iter),
            "converged": bool(self.converged),
            "method": self.method,
            "best_restart": int(self.best_restart),
            "backend": self.backend,
            "n_modes": len(self.factors),
        }
        arrays = {f"factor_{k}": f for k, f in enumerate(self.factors)}
        np.savez(
            path,
            weights=self.weights,
            errors=np.asarray(self.errors),
            restart_errors=np.asarray(self.restart_errors),
            meta=np.array(json.dumps(meta)),
            **arrays,
        )
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> CPResult:
        """Read a result written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            factors = [data[f"factor_{k}"] for k in range(meta["n_modes"])]
            return cls(
                weights=data["weights"],
                factors=factors,
                errors=data["errors"],
                n_iter=meta["n_iter"],
                converged=meta["converged"],
                method=meta["method"],
                restart_errors=data["restart_errors"],
                best_restart=meta["best_restart"],
                backend=meta["backend"],
            )


def _as_factors(x: CPResult | Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    if isinstance(x, CPResult):
        weights, factors = np.asarray(x.weights, float), [np.asarray(f, float) for f in x.factors]
    else:
        factors = [np.asarray(f, float) for f in x]
        weights = np.ones(factors[0].shape[1])
    normed = []
    for f in factors:
        norms = np.linalg.norm(f, axis=0)
        weights = weights * norms
        normed.append(f / np.where(norms > 0, norms, 1.0))
    return weights, normed


def match_components(
    reference: CPResult | Sequence[np.ndarray],
    estimate: CPResult | Sequence[np.ndarray],
    *,
    use_weights: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one matching of the components of two CP models.

    The congruence of reference component r and estimated component s is the product over
    modes of the absolute cosine between their factor columns (Tucker's congruence), times
    ``1 − |w_r − w_s| / max(w_r, w_s)`` when ``use_weights``.  The matching maximising the
    total congruence is found with the Hungarian algorithm.

    Parameters
    ----------
    reference, estimate : CPResult or sequence of ndarray of shape (n_k, rank)
        Two models with the same number of modes and mode sizes (ranks may differ).
    use_weights : bool, default=False
        Include the weight penalty of Kolda's factor match score.

    Returns
    -------
    perm : ndarray of int, shape (rank_reference,)
        ``perm[r]`` is the estimated component matched with reference component r, or -1
        when the estimate has fewer components.
    scores : ndarray of shape (rank_reference,)
        Congruence of each matched pair (0 for unmatched components).
    """
    w_ref, f_ref = _as_factors(reference)
    w_est, f_est = _as_factors(estimate)
    if len(f_ref) != len(f_est) or any(
        a.shape[0] != b.shape[0] for a, b in zip(f_ref, f_est, strict=False)
    ):
        raise ValueError(
            "reference and estimate must have the same mode sizes, got "
            f"{[a.shape[0] for a in f_ref]} and {[b.shape[0] for b in f_est]}"
        )
    sim = np.ones((f_ref[0].shape[1], f_est[0].shape[1]))
    for a, b in zip(f_ref, f_est, strict=False):
        sim *= np.abs(a.T @ b)
    if use_weights:
        big = np.maximum(w_ref[:, None], w_est[None, :])
        sim *= 1.0 - np.abs(w_ref[:, None] - w_est[None, :]) / np.where(big > 0, big, 1.0)
    rows, cols = linear_sum_assignment(-sim)
    perm = -np.ones(sim.shape[0], dtype=int)
    scores = np.zeros(sim.shape[0])
    perm[rows] = cols
    scores[rows] = sim[rows, cols]
    return perm, scores


def factor_match_score(
    reference: CPResult | Sequence[np.ndarray],
    estimate: CPResult | Sequence[np.ndarray],
    *,
    use_weights: bool = False,
) -> float:
    """Factor match score (FMS) between two CP models after optimal matching.

    Mean over the reference components of the matched congruence (see
    :func:`match_components`): 1 means identical components up to scaling and
    permutation, 0 orthogonal ones.  Kolda & Bader (2009) and Acar et al. use it to compare
    CP fits across restarts and against ground truth.

    Parameters
    ----------
    reference, estimate : CPResult or sequence of ndarray of shape (n_k, rank)
        The models to compare; the mean runs over the reference's components.
    use_weights : bool, default=False
        Multiply by the weight agreement ``1 − |w_r − w_s| / max(w_r, w_s)``.

    Returns
    -------
    float
        The score in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> a = [np.eye(3), np.eye(3), np.eye(3)]
    >>> b = [f[:, [2, 0, 1]] for f in a]
    >>> factor_match_score(a, b)
    1.0
    """
    _, scores = match_components(reference, estimate, use_weights=use_weights)
    return float(np.mean(scores))
