"""Choosing the NTF rank: reconstruction error and stability across random restarts.

For each candidate rank, several independent fits are run.  A good rank has a low error
that stops improving much with more components *and* reproducible factors: the factor
match score (FMS) of every restart against the best one stays near 1 (Williams et al.
2018, "tensor component analysis"; Kolda & Bader 2009).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from neurodata.log import progress_enabled, verbose

from .ntf.decomposition import nonneg_cp
from .ntf.result import CPResult, factor_match_score

__all__ = ["RankSelection", "rank_selection", "plot_rank_selection"]


@dataclass
class RankSelection:
    """Errors and factor similarities of repeated fits over a range of ranks.

    Attributes
    ----------
    ranks : ndarray of int, shape (n_ranks,)
    errors : ndarray of shape (n_ranks, n_restarts)
        Final relative reconstruction error of every fit.
    similarity : ndarray of shape (n_ranks, n_restarts)
        Factor match score of every fit against the best fit of its rank (1 for the best).
    best : list of CPResult
        The lowest-error fit of each rank.
    """

    ranks: np.ndarray
    errors: np.ndarray
    similarity: np.ndarray
    best: list[CPResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (without the factors)."""
        return {
            "ranks": self.ranks.tolist(),
            "errors": self.errors.tolist(),
            "similarity": self.similarity.tolist(),
        }

    def plot(self, *, ax: Any = None) -> Any:
        """Same as :func:`plot_rank_selection`."""
        return plot_rank_selection(self, ax=ax)


@verbose
def rank_selection(
    tensor: Any,
    ranks: Sequence[int],
    *,
    mask: Any | None = None,
    n_restarts: int = 5,
    method: str = "hals",
    n_iter_max: int = 500,
    tol: float = 1e-7,
    random_state: int | np.random.Generator | None = None,
    backend: str = "numpy",
    device: str | None = None,
    verbose: bool | str | None = None,
) -> RankSelection:
    """Fit non-negative CP models for several ranks and restarts.

    Parameters
    ----------
    tensor : array-like of shape (I, J, K)
    ranks : sequence of int
        Candidate ranks (each at most ``min(I, J, K)``).
    mask : array-like of bool, optional
        True where observed (see :func:`connectome.ntf.nonneg_cp`).
    n_restarts : int, default=5
        Independent random starts per rank (≥ 2 for a similarity).
    method, n_iter_max, tol, backend, device
        Passed to :func:`connectome.ntf.nonneg_cp`.
    random_state : int, Generator or None
    verbose : bool or str or None
        Log level for this call (:func:`neurodata.log.verbose`); True (INFO) shows a
        progress bar over the fits, None follows the package level (quiet by default).

    Returns
    -------
    RankSelection

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.einsum("ir,jr,kr->ijk", rng.random((20, 2)), rng.random((15, 2)),
    ...               rng.random((6, 2)))
    >>> sel = rank_selection(x, [1, 2, 3], n_restarts=2, random_state=0, verbose=False)
    >>> sel.errors.shape
    (3, 2)
    """
    ranks_arr = np.asarray(list(ranks), dtype=int)
    if ranks_arr.size == 0 or (ranks_arr < 1).any():
        raise ValueError(f"ranks must be a non-empty sequence of integers >= 1, got {ranks!r}")
    if n_restarts < 1:
        raise ValueError(f"n_restarts must be >= 1, got {n_restarts!r}")
    rng = np.random.default_rng(random_state)
    errors = np.empty((ranks_arr.size, n_restarts))
    similarity = np.empty_like(errors)
    best: list[CPResult] = []
    with tqdm(total=errors.size, disable=not progress_enabled(), desc="rank selection") as bar:
        for i, rank in enumerate(ranks_arr):
            fits = []
            for j in range(n_restarts):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    fit = nonneg_cp(
                        tensor,
                        int(rank),
                        mask=mask,
                        method=method,
                        n_restarts=1,
                        n_iter_max=n_iter_max,
                        tol=tol,
                        random_state=rng,
                        backend=backend,
                        device=device,
                    )
                fits.append(fit)
                errors[i, j] = fit.error
                bar.update(1)
            k = int(np.argmin(errors[i]))
            best.append(fits[k])
            similarity[i] = [factor_match_score(fits[k], f) for f in fits]
    return RankSelection(ranks=ranks_arr, errors=errors, similarity=similarity, best=best)


def plot_rank_selection(selection: RankSelection, *, ax: Any = None) -> Any:
    """Error (left axis) and factor similarity (right axis) of every fit against rank.

    Parameters
    ----------
    selection : RankSelection
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    r = selection.ranks
    n = selection.errors.shape[1]
    jitter = np.linspace(-0.1, 0.1, n) if n > 1 else np.zeros(1)
    for j in range(n):
        ax.plot(r + jitter[j], selection.errors[:, j], "o", color="C0", alpha=0.5, ms=4)
    ax.plot(r, selection.errors.min(axis=1), "-", color="C0", label="error (best fit)")
    ax.set_xlabel("rank")
    ax.set_ylabel("relative error", color="C0")
    ax2 = ax.twinx()
    for j in range(n):
        ax2.plot(r + jitter[j], selection.similarity[:, j], "s", color="C1", alpha=0.5, ms=4)
    ax2.plot(r, selection.similarity.mean(axis=1), "-", color="C1", label="mean similarity")
    ax2.set_ylabel("factor match score vs best", color="C1")
    ax2.set_ylim(0, 1.05)
    ax.set_xticks(r)
    ax.set_title("NTF rank selection")
    return ax.figure
