"""Non-negative CP (PARAFAC) decomposition: the function and its estimator."""

from __future__ import annotations

import contextlib
import numbers
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from neurodata.log import logger, progress_for

from ..errors import ConnectomeInputError
from .backend import get_namespace
from .kernels import HAVE_NUMBA
from .result import CPResult
from .solvers import run_cp

__all__ = ["nonneg_cp", "NonnegCP", "NTFInputError", "ConvergenceWarning"]

_METHODS = ("hals", "mu")


class NTFInputError(ConnectomeInputError):
    """Invalid tensor, mask or parameter given to the non-negative CP decomposition."""


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise NTFInputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _validate_tensor(
    tensor: Any, mask: Any | None, rank: int
) -> tuple[np.ndarray, np.ndarray | None, np.dtype]:
    try:
        import torch

        if isinstance(tensor, torch.Tensor):
            tensor = tensor.detach().cpu().numpy()
        if isinstance(mask, torch.Tensor):
            mask = mask.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    x = np.asarray(tensor)
    if x.ndim != 3:
        raise NTFInputError(
            f"tensor must be 3-way (e.g. pairs × windows × animals), got shape {x.shape}"
        )
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise NTFInputError(f"tensor must hold real numbers, got dtype {x.dtype}")
    dtype = np.dtype(np.float32) if x.dtype == np.float32 else np.dtype(np.float64)
    # A mode of size 1 (one animal) carries no rank limit: CP then reduces to NMF of
    # the other two modes, whose smaller size bounds the rank.
    sizes = [s for s in x.shape if s > 1] or [1]
    if rank > min(sizes):
        raise NTFInputError(
            f"rank={rank} is larger than the smallest tensor dimension {min(sizes)} "
            f"(shape {x.shape}); choose rank <= {min(sizes)}"
        )
    if mask is None:
        if not np.all(np.isfinite(x)):
            raise NTFInputError(
                "tensor contains NaN or infinite values; pass mask=... (True = observed) "
                "to mark missing entries"
            )
        if x.size and x.min() < 0:
            raise NTFInputError(
                "Negative values in data: the tensor must be non-negative, found minimum "
                f"{x.min():.6g}; shift, rectify or mask the negative entries"
            )
        return np.ascontiguousarray(x, dtype=dtype), None, dtype
    m = np.asarray(mask)
    if m.shape != x.shape:
        raise NTFInputError(f"mask must have the tensor's shape {x.shape}, got {m.shape}")
    if m.dtype != bool:
        if not np.all(np.isin(m, (0, 1))):
            raise NTFInputError("mask must be boolean (True = observed entry)")
        m = m.astype(bool)
    if not m.any():
        raise NTFInputError("mask marks every entry as missing; nothing to fit")
    observed = x[m]
    if not np.all(np.isfinite(observed)):
        raise NTFInputError(
            f"tensor has {int((~np.isfinite(observed)).sum())} NaN/infinite values at "
            "observed entries (mask True); mask them or fix the data"
        )
    if observed.min() < 0:
        raise NTFInputError(
            "Negative values in data: the tensor must be non-negative at observed entries, "
            f"found minimum {observed.min():.6g}"
        )
    # zeros at missing entries so whatever they held (garbage, NaN) never enters the fit
    clean = np.where(m, x, 0).astype(dtype)
    return np.ascontiguousarray(clean), np.ascontiguousarray(m), dtype


def _init_factors(
    init: Any, shape: tuple[int, ...], rank: int, rng: np.random.Generator
) -> list[np.ndarray]:
    if isinstance(init, str):
        if init != "random":
            raise NTFInputError(f"init must be 'random', a CPResult or factors, got {init!r}")
        return [rng.random((n, rank)) for n in shape]
    if isinstance(init, CPResult):
        factors = [np.array(f, dtype=float) for f in init.factors]
        factors[0] = factors[0] * init.weights
    elif hasattr(init, "__len__") and len(init) == 2:
        # (weights, factors), e.g. tensorly's CPTensor: a 3-way model has 3 factors
        weights, fs = init
        factors = [np.array(f, dtype=float) for f in fs]
        factors[0] = factors[0] * np.asarray(weights, dtype=float)
    else:
        factors = [np.array(f, dtype=float) for f in init]
    if len(factors) != 3 or any(f.shape != (n, rank) for f, n in zip(factors, shape, strict=False)):
        raise NTFInputError(
            f"init factors must have shapes {[(n, rank) for n in shape]}, got "
            f"{[f.shape for f in factors]}"
        )
    if any(np.any(f < 0) or not np.all(np.isfinite(f)) for f in factors):
        raise NTFInputError("init factors must be finite and non-negative")
    return factors


def _scale_init(
    factors: list[np.ndarray], x: np.ndarray, mask: np.ndarray | None
) -> list[np.ndarray]:
    """Scale a random start so that it best fits the data in least squares (one pass)."""
    a, b, c = factors
    kr = (b[:, None, :] * c[None, :, :]).reshape(-1, a.shape[1])
    x2 = x.reshape(x.shape[0], -1)
    if mask is None:
        inner = float(((x2 @ kr) * a).sum())
        model_sq = float(((a.T @ a) * (b.T @ b) * (c.T @ c)).sum())
    else:
        recon = (a @ kr.T) * mask.reshape(x2.shape)
        inner = float((recon * x2).sum())
        model_sq = float((recon * recon).sum())
    if inner <= 0 or model_sq <= 0:
        return factors
    s = (inner / model_sq) ** (1.0 / 3.0)
    return [f * s for f in factors]


def _exact_error(x: np.ndarray, factors: list[np.ndarray]) -> float:
    """``‖X − [[A, B, C]]‖ / ‖X‖`` in float64, reconstructing a few rows at a time."""
    a, b, c = (np.asarray(f, dtype=np.float64) for f in factors)
    kr = (b[:, None, :] * c[None, :, :]).reshape(-1, a.shape[1])
    x2 = x.reshape(x.shape[0], -1)
    step = max(1, (1 << 23) // max(1, 8 * x2.shape[1]))
    res_sq = norm_sq = 0.0
    for s in range(0, x2.shape[0], step):
        blk = x2[s : s + step].astype(np.float64)
        norm_sq += float(np.dot(blk.ravel(), blk.ravel()))
        blk -= a[s : s + step] @ kr.T
        res_sq += float(np.dot(blk.ravel(), blk.ravel()))
    return float(np.sqrt(res_sq / norm_sq)) if norm_sq > 0 else 0.0


def _finish(xp: Any, factors: list[Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    fs = [np.asarray(xp.to_numpy(f), dtype=float) for f in factors]
    weights = np.ones(fs[0].shape[1])
    out = []
    for f in fs:
        norms = np.linalg.norm(f, axis=0)
        weights = weights * norms
        out.append(f / np.where(norms > 0, norms, 1.0))
    order = np.argsort(-weights, kind="stable")
    return weights[order], [f[:, order] for f in out]


def nonneg_cp(
    tensor: Any,
    rank: int,
    *,
    mask: Any | None = None,
    method: str = "hals",
    n_restarts: int = 5,
    n_iter_max: int = 500,
    tol: float = 1e-7,
    n_inner: int | None = None,
    init: Any = "random",
    random_state: int | np.random.Generator | None = None,
    backend: str = "numpy",
    device: str | None = None,
    n_threads: int | None = None,
    dtype: str | None = None,
    verbose: bool | str | None = None,
) -> CPResult:
    r"""Non-negative CP (PARAFAC) decomposition of a 3-way tensor.

    Solves

    .. math::

        \min_{A, B, C \ge 0} \tfrac12 \| W \ast (X - [\![A, B, C]\!]) \|_F^2,
        \qquad [\![A, B, C]\!]_{ijk} = \sum_{r=1}^{R} A_{ir} B_{jr} C_{kr},

    by alternating non-negative least squares over the three modes, with hierarchical ALS
    (HALS, column-wise exact updates; Cichocki & Phan 2009) or Lee–Seung multiplicative
    updates (MU).  ``W`` is the mask of observed entries (all ones without ``mask``);
    missing entries are handled by EM imputation.  Several random restarts are run and the
    one with the smallest final error is kept.

    Each iteration never copies the tensor; with the numpy backend and numba installed
    it reads it once (a fused, row-blocked pass on ``n_threads`` threads with BLAS kept
    single-threaded), otherwise twice: see :mod:`connectome.ntf.solvers`.

    Parameters
    ----------
    tensor : array-like of shape (I, J, K)
        Non-negative data, e.g. an affinity tensor of shape (n_pairs, n_windows,
        n_animals).  float32 input is fitted in float32, anything else in float64.  A
        torch tensor is accepted.
    rank : int
        Number of components R, at most ``min(I, J, K)``.
    mask : array-like of bool, shape (I, J, K), optional
        True where the entry is observed.  Masked entries may hold anything (NaN, garbage);
        they never influence the fit.
    method : {"hals", "mu"}, default="hals"
        Update rule.
    n_restarts : int, default=5
        Number of runs; the first starts from ``init``, the others from random factors.
    n_iter_max : int, default=500
        Maximum number of outer iterations (sweeps over the three modes) per run.
    tol : float, default=1e-7
        Stop when the relative error changes by less than ``tol`` between two iterations;
        0 runs exactly ``n_iter_max`` iterations.
    n_inner : int, optional
        Inner sweeps of the update over one factor before moving to the next mode.  They
        touch only the factor and R×R matrices, so they are cheap next to the two passes
        over the tensor and make each iteration go further.  Default 5 for HALS (as
        tensorly's ``non_negative_parafac_hals``), 1 for MU (the classic update).
    init : "random", CPResult, sequence of 3 arrays or (weights, factors), default="random"
        Start of the first run.  Random starts are uniform in [0, 1) and rescaled to fit
        the data's norm.
    random_state : int, numpy Generator or None
        Seed of the random starts.
    backend : {"numpy", "torch"}, default="numpy"
        Array library for the iterations.
    device : str or None
        torch device ("cpu", "cuda", "cuda:1"); None or "auto" uses CUDA when available.
        Only with ``backend="torch"``.
    n_threads : int, optional
        Threads of the fit.  numpy backend: the fused pass runs on ``n_threads`` worker
        threads (None: the cores this process may use) while BLAS is limited to one
        thread, so the two never oversubscribe the cores; without numba, with a mask or
        with MU it is the BLAS thread count (None keeps the library default).  The fused
        pass gives bit-identical results for any thread count.  torch on CPU: intra-op
        threads.  1 is often fastest when other processes compete for the
        cores.
    dtype : {"float32", "float64"} or None
        Precision of the iterations; None fits float32 input in float32 and anything
        else in float64.  float32 halves memory and roughly halves the time; its final
        relative error agrees with float64 to about 1e-6 (``benchmarks/bench_ntf.py``
        reports both).
    verbose : bool or str or None, default=None
        Show a tqdm progress bar over restarts and log each restart's error: None follows
        the package log level (quiet by default), True shows them, False hides them (the
        project's one ``verbose`` convention, :mod:`neurodata.log`).

    Returns
    -------
    CPResult
        Weights, unit-norm factors (sorted by weight), error history, iterations,
        convergence flag and every restart's final error.

    Raises
    ------
    NTFInputError
        (a ``ValueError``) for a tensor that is not 3-way, negative or non-finite observed
        entries, ``rank`` larger than the smallest dimension, or bad parameters.

    Warns
    -----
    ConvergenceWarning
        When the kept run stopped at ``n_iter_max`` with ``tol > 0``.

    References
    ----------
    .. [1] A. Cichocki and A.-H. Phan, "Fast local algorithms for large scale nonnegative
       matrix and tensor factorizations", IEICE Trans. Fundamentals E92-A(3), 2009.
    .. [2] T. G. Kolda and B. W. Bader, "Tensor decompositions and applications",
       SIAM Review 51(3), 2009.
    .. [3] D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization",
       NIPS 13, 2001.
    .. [4] L. Dyballa et al., "Learning dynamic representations of the functional
       connectome in neurobiological networks", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b, c = rng.random((30, 2)), rng.random((20, 2)), rng.random((5, 2))
    >>> x = np.einsum("ir,jr,kr->ijk", a, b, c)
    >>> res = nonneg_cp(x, 2, random_state=0)
    >>> res.error < 1e-3
    True
    """
    verbose = progress_for(verbose)
    rank = _check_int("rank", rank, 1)
    if method not in _METHODS:
        raise NTFInputError(f"method must be one of {_METHODS}, got {method!r}")
    n_restarts = _check_int("n_restarts", n_restarts, 1)
    n_iter_max = _check_int("n_iter_max", n_iter_max, 1)
    if n_inner is None:
        n_inner = 5 if method == "hals" else 1
    n_inner = _check_int("n_inner", n_inner, 1)
    if not isinstance(tol, numbers.Real) or not tol >= 0:
        raise NTFInputError(f"tol must be a number >= 0, got {tol!r}")
    if n_threads is not None:
        n_threads = _check_int("n_threads", n_threads, 1)
    if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
        raise NTFInputError(f"dtype must be 'float32', 'float64' or None, got {dtype!r}")
    fused = backend == "numpy" and method == "hals" and mask is None and HAVE_NUMBA
    n_workers = None
    if fused:
        n_workers = n_threads if n_threads is not None else _available_cores()
    with _thread_limit(backend, 1 if fused else n_threads):
        return _nonneg_cp(
            tensor,
            rank,
            mask=mask,
            method=method,
            n_restarts=n_restarts,
            n_iter_max=n_iter_max,
            tol=tol,
            n_inner=n_inner,
            init=init,
            random_state=random_state,
            backend=backend,
            device=device,
            dtype=dtype,
            n_workers=n_workers,
            verbose=verbose,
        )


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _thread_limit(backend: str, n_threads: int | None) -> Iterator[None]:
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    if backend == "torch":
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(n_threads)
        try:
            with threadpool_limits(n_threads):
                yield
        finally:
            torch.set_num_threads(before)
    else:
        with threadpool_limits(n_threads):
            yield


def _nonneg_cp(
    tensor: Any,
    rank: int,
    *,
    mask: Any | None,
    method: str,
    n_restarts: int,
    n_iter_max: int,
    tol: float,
    n_inner: int,
    init: Any,
    random_state: Any,
    backend: str,
    device: str | None,
    dtype: str | None,
    n_workers: int | None,
    verbose: bool,
) -> CPResult:
    try:
        xp = get_namespace(backend, device)
    except ValueError as exc:
        raise NTFInputError(str(exc)) from exc
    x, m, in_dtype = _validate_tensor(tensor, mask, rank)
    dtype = in_dtype if dtype is None else np.dtype(dtype)
    if dtype != x.dtype:
        x = x.astype(dtype)
    rng = np.random.default_rng(random_state)
    xd = xp.asarray(x, dtype)
    md = None if m is None else xp.as_bool(m)
    backend_name = backend if backend == "numpy" else f"torch:{xp.device}"

    best: tuple[float, int, list[Any], list[float], int, bool] | None = None
    restart_errors = np.empty(n_restarts)
    bar = tqdm(total=n_restarts * n_iter_max, disable=not verbose, desc="NTF", leave=False)
    try:
        for restart in range(n_restarts):
            start = _init_factors(init if restart == 0 else "random", x.shape, rank, rng)
            if restart > 0 or isinstance(init, str):
                start = _scale_init(start, x, m)
            factors = [xp.asarray(f, dtype) for f in start]

            def _tick(it: int) -> None:
                bar.update(1)  # tqdm throttles the redraws itself

            factors, errors, n_iter, converged = run_cp(
                xp,
                xd,
                md,
                factors,
                method=method,
                n_iter_max=n_iter_max,
                tol=tol,
                n_inner=n_inner,
                callback=_tick if verbose else None,
                n_workers=n_workers,
            )
            bar.update(n_iter_max - n_iter)  # iterations skipped by an early stop
            if dtype == np.float32 and m is None and errors:
                # float32: the history comes from ‖X‖² − 2⟨X, X̂⟩ + ‖X̂‖², whose
                # cancellation leaves ~1e-3 relative error; recompute the last exactly
                errors[-1] = _exact_error(x, [xp.to_numpy(f) for f in factors])
            final = errors[-1] if errors else float("inf")
            restart_errors[restart] = final
            logger.info(
                "NTF restart %d: %d iterations, relative error %.6g", restart, n_iter, final
            )
            if best is None or final < best[0]:
                best = (final, restart, factors, errors, n_iter, converged)
    finally:
        bar.close()
    assert best is not None
    final, best_restart, factors, errors, n_iter, converged = best
    if tol > 0 and not converged:
        warnings.warn(
            f"non-negative CP ({method}) did not reach tol={tol:g} in n_iter_max={n_iter_max} "
            f"iterations (last change {abs(errors[-2] - errors[-1]) if len(errors) > 1 else 0:.3g})"
            "; increase n_iter_max or tol",
            ConvergenceWarning,
            stacklevel=3,  # the caller of nonneg_cp
        )
    weights, fs = _finish(xp, factors)
    return CPResult(
        weights=weights,
        factors=fs,
        errors=np.asarray(errors, dtype=float),
        n_iter=int(n_iter),
        converged=bool(converged),
        method=method,
        restart_errors=restart_errors,
        best_restart=int(best_restart),
        backend=backend_name,
    )


class NonnegCP(BaseEstimator):
    """Non-negative CP decomposition as a scikit-learn style estimator.

    Thin wrapper over :func:`nonneg_cp`: the constructor stores its arguments unchanged and
    :meth:`fit` forwards every one of them.  See :func:`nonneg_cp` for the objective and
    the parameters.

    Attributes
    ----------
    result_ : CPResult
        Everything the fit returned.
    weights_ : ndarray of shape (rank,)
    factors_ : list of ndarray of shape (n_k, rank)
    errors_ : ndarray of shape (n_iter_,)
        Relative reconstruction error per iteration (``loss_curve_`` is an alias).
    n_iter_ : int
    converged_ : bool
    reconstruction_err_ : float
        Final relative error.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((20, 10, 4))
    >>> model = NonnegCP(rank=2, random_state=0, n_restarts=2, tol=1e-5).fit(x)
    >>> [f.shape for f in model.factors_]
    [(20, 2), (10, 2), (4, 2)]
    """

    def __init__(
        self,
        rank: int = 2,
        *,
        method: str = "hals",
        n_restarts: int = 5,
        n_iter_max: int = 500,
        tol: float = 1e-7,
        n_inner: int | None = None,
        init: Any = "random",
        random_state: int | np.random.Generator | None = None,
        backend: str = "numpy",
        device: str | None = None,
        n_threads: int | None = None,
        dtype: str | None = None,
        verbose: bool | str | None = None,
    ) -> None:
        self.rank = rank
        self.method = method
        self.n_restarts = n_restarts
        self.n_iter_max = n_iter_max
        self.tol = tol
        self.n_inner = n_inner
        self.init = init
        self.random_state = random_state
        self.backend = backend
        self.device = device
        self.n_threads = n_threads
        self.dtype = dtype
        self.verbose = verbose

    def __sklearn_tags__(self):
        # fit refuses negative observed entries with "Negative values in data" (the
        # phrase scikit-learn's positive_only checks look for)
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def fit(self, X: Any, y: None = None, *, mask: Any | None = None) -> NonnegCP:
        """Fit to a tensor ``X`` of shape (I, J, K); ``mask`` True marks observed entries."""
        result = nonneg_cp(
            X,
            self.rank,
            mask=mask,
            method=self.method,
            n_restarts=self.n_restarts,
            n_iter_max=self.n_iter_max,
            tol=self.tol,
            n_inner=self.n_inner,
            init=self.init,
            random_state=self.random_state,
            backend=self.backend,
            device=self.device,
            n_threads=self.n_threads,
            dtype=self.dtype,
            verbose=self.verbose,
        )
        self.result_ = result
        self.weights_ = result.weights
        self.factors_ = result.factors
        self.errors_ = result.errors
        self.loss_curve_ = result.errors
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.reconstruction_err_ = result.error
        return self

    def fit_transform(self, X: Any, y: None = None, *, mask: Any | None = None) -> np.ndarray:
        """Fit and return the mode-0 factor scaled by the weights, shape (I, rank)."""
        return self.fit(X, mask=mask).factors_[0] * self.weights_

    def reconstruct(self) -> np.ndarray:
        """Reconstructed tensor of the fitted model."""
        check_is_fitted(self, "result_")
        return self.result_.reconstruct()
