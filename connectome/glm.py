"""Single-state coupling GLM for binned spike counts (and the pieces HMM-GLMs share).

Neuron ``n``'s activity in bin ``t`` depends on the recent activity of every neuron:

    η[t, n] = b_n + Σ_{n', d} w[n, n', d] F[t, n', d],   F[t, n', d] = Σ_l x[t−l, n'] φ_d(l)

with a temporal basis ``φ`` (:mod:`connectome.glm_basis`) and an observation model

* ``"poisson"``: ``x ~ Poisson(f(η))``, ``f`` = softplus (default) or exp;
* ``"bernoulli"``: ``x ~ Bernoulli(σ(η))`` (binary events, logistic link);
* ``"gaussian"``: ``x ~ N(η, s_n²)`` (e.g. deconvolved calcium), identity link.

Coupling weights are penalised by an elastic net,
``α (ρ ‖w‖₁ + ½ (1 − ρ) ‖w‖²)`` per bin; intercepts are not penalised.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from neurodata.log import logger
from neurodata.params import Interval, StrOptions, validate_params

from .errors import ConnectomeInputError
from .glm_basis import history_features, make_basis

__all__ = ["CouplingGLM", "GLMInputError", "check_trials", "torch_threads_for"]


_LOG2 = math.log(2.0)


@contextmanager
def torch_threads_for(n_elements: int):
    """Run small torch work on one intra-op thread, restoring the setting afterwards.

    For arrays of ~10⁵–10⁷ elements torch's intra-op threads cost more than they save
    (measured 5× slower with 2 threads than with 1 on a busy 2-core machine), so
    problems below 2·10⁷ elements per operation run single-threaded.
    """
    before = torch.get_num_threads()
    if n_elements < 20_000_000 and before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class GLMInputError(ConnectomeInputError):
    """Bad data given to a GLM or HMM-GLM estimator (shape, values, NaNs)."""


def check_trials(
    X,
    *,
    observation: str = "poisson",
    min_bins: int = 1,
    n_neurons: int | None = None,
    name: str = "X",
    owner: str = "the model",
) -> list[np.ndarray]:
    """Validate one trial or a list of trials of binned activity.

    Parameters
    ----------
    X : array-like of shape (n_bins, n_neurons), or list of such arrays
        Activity per bin: spike counts for ``"poisson"``, 0/1 events for ``"bernoulli"``,
        real values for ``"gaussian"``.  Several trials may differ in ``n_bins``.
    observation : {"poisson", "bernoulli", "gaussian"}, default="poisson"
        Which values are allowed.
    min_bins : int, default=1
        Every trial needs strictly more bins than ``min_bins - 1`` (the filter window + 1).
    n_neurons : int, optional
        Required number of columns (the number seen in ``fit``).
    name : str, default="X"
        Name used in error messages.
    owner : str, default="the model"
        Estimator name used in error messages.

    Returns
    -------
    list of ndarray of float64, each of shape (n_bins_i, n_neurons)

    Raises
    ------
    GLMInputError
        On wrong dimensions, NaN/inf, negative or non-integer counts (Poisson),
        non-binary values (Bernoulli), too few bins, or a different number of neurons.

    Examples
    --------
    >>> import numpy as np
    >>> [t.shape for t in check_trials(np.zeros((10, 3)), min_bins=6)]
    [(10, 3)]
    """
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise GLMInputError(f"{name} is an empty list; give at least one trial")
        raw, many = list(X), True
    else:
        raw, many = [X], False
    trials = []
    for i, x in enumerate(raw):
        where = f"{name}[{i}]" if many else name
        if not sp.issparse(x) and np.ndim(x) != 2:
            raise GLMInputError(
                f"{where} must have shape (n_bins, n_neurons), got shape {np.shape(x)}. "
                "Reshape your data (x[:, None] for a single neuron); pass several trials "
                "as a list of 2-D arrays"
            )
        try:
            # sklearn's check_array rejects sparse, complex and object input with the
            # messages its estimator checks expect
            arr = check_array(
                x, dtype=np.float64, ensure_all_finite=False, input_name=where, copy=False
            )
        except ValueError as exc:
            raise GLMInputError(f"{where}: {exc}") from exc
        if n_neurons is not None and arr.shape[1] != n_neurons:
            raise GLMInputError(
                f"{where} has {arr.shape[1]} features, but {owner} is expecting {n_neurons} "
                "features as input (one per neuron, as in fit)"
            )
        if arr.shape[0] < min_bins:
            raise GLMInputError(
                f"{where} has {arr.shape[0]} bins (n_samples = {arr.shape[0]}); at least "
                f"{min_bins} are needed (more than the filter window of {min_bins - 1} bins)"
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            t, n = np.argwhere(bad)[0]
            raise GLMInputError(
                f"{where} contains NaN or infinite values (first at bin {t}, neuron {n}); "
                "drop or impute those bins before fitting"
            )
        if observation == "poisson":
            if (arr < 0).any():
                raise GLMInputError(
                    f"{where} has negative values (min {arr.min():g}). Negative values in "
                    "data are not spike counts: Poisson observations need non-negative "
                    "integer counts"
                )
            if (arr != np.round(arr)).any():
                frac = arr[arr != np.round(arr)][0]
                raise GLMInputError(
                    f"{where} has non-integer values (e.g. {frac:g}); Poisson observations "
                    "need integer spike counts (use observation='gaussian' for real values)"
                )
        elif observation == "bernoulli":
            if not np.isin(arr, (0.0, 1.0)).all():
                raise GLMInputError(
                    f"{where} must hold only 0 and 1 for Bernoulli observations, "
                    f"got values in [{arr.min():g}, {arr.max():g}]"
                    + ("; Negative values in data are not events" if arr.min() < 0 else "")
                )
        trials.append(arr)
    return trials


def _design(trials: list[np.ndarray], basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stacked history features (T, N·D) and targets (T, N) of all trials."""
    feats = [history_features(x, basis).reshape(x.shape[0], -1) for x in trials]
    return np.concatenate(feats), np.concatenate(trials)


def _mean_from_eta(eta: torch.Tensor, observation: str, link: str) -> torch.Tensor:
    if observation == "poisson":
        return torch.exp(eta) if link == "exp" else torch.nn.functional.softplus(eta)
    if observation == "bernoulli":
        return torch.sigmoid(eta)
    return eta


def _loglik(
    y: torch.Tensor,
    eta: torch.Tensor,
    observation: str,
    link: str,
    log_scale: torch.Tensor | None = None,
    log_norm: torch.Tensor | None = None,
) -> torch.Tensor:
    """Element-wise log-likelihood ``log p(y | η)`` in nats (same shape as ``eta``).

    ``log_norm`` may pass a precomputed ``log y!`` (Poisson), which does not depend on
    the parameters and is costly to recompute at every optimiser step.
    """
    if observation == "poisson":
        if log_norm is None:
            log_norm = torch.lgamma(y + 1.0)
        if link == "exp":
            return y * eta - torch.exp(eta) - log_norm
        rate = torch.nn.functional.softplus(eta) + 1e-12
        return y * torch.log(rate) - rate - log_norm
    if observation == "bernoulli":
        return y * eta - torch.nn.functional.softplus(eta)
    z = (y - eta) * torch.exp(-log_scale)
    return -0.5 * z * z - log_scale - 0.5 * math.log(2 * math.pi)


def _baseline_loglik(y: np.ndarray, mean: np.ndarray, observation: str) -> float:
    """Log-likelihood of a homogeneous model with per-neuron ``mean`` (per bin)."""
    mean = np.clip(mean, 1e-12, None)
    if observation == "poisson":
        from scipy.special import gammaln

        return float((y * np.log(mean) - mean - gammaln(y + 1.0)).sum())
    p = np.clip(mean, 1e-12, 1 - 1e-12)
    return float((y * np.log(p) + (1 - y) * np.log1p(-p)).sum())


_OBS_CONSTRAINTS = {
    "observation": [StrOptions({"poisson", "bernoulli", "gaussian"})],
    "link": [StrOptions({"softplus", "exp"})],
    "basis": [StrOptions({"exponential", "raised_cosine"})],
    "window": [Interval(Integral, 1, None, closed="left")],
    "n_basis": [Interval(Integral, 1, None, closed="left")],
}


class CouplingGLM(BaseEstimator):
    """Single-state GLM with coupling filters between neurons.

    Fits, for every neuron ``n`` (all neurons at once, they are independent given the
    data), ``η[t, n] = b_n + Σ_{n', d} w[n, n', d] F[t, n', d]`` by minimising the
    per-bin negative log-likelihood plus ``α (ρ ‖w‖₁ + ½ (1 − ρ) ‖w‖²)`` with L-BFGS-B
    (the L1 part through the split ``w = w⁺ − w⁻``, ``w± ≥ 0``, which is exact).

    Parameters
    ----------
    observation : {"poisson", "bernoulli", "gaussian"}, default="poisson"
        Observation model of each bin's value.
    link : {"softplus", "exp"}, default="softplus"
        Inverse link of the Poisson rate (ignored otherwise).
    basis : {"exponential", "raised_cosine"}, default="exponential"
        Temporal basis of the coupling filters.
    window : int, default=5
        Filter length in bins (history used to predict a bin).
    n_basis : int, default=1
        Number of basis functions.
    alpha : float, default=1e-3
        Penalty strength (per bin, in nats).
    l1_ratio : float, default=0.0
        Elastic-net mix ``ρ``: 0 = L2 (ridge), 1 = L1 (lasso).
    max_iter : int, default=500
        L-BFGS-B iterations.
    tol : float, default=1e-7
        Relative tolerance on the objective.

    Attributes
    ----------
    coef_ : ndarray of shape (n_neurons, n_neurons, n_basis)
        Coupling weights ``w[post, pre, d]`` on the basis.
    intercept_ : ndarray of shape (n_neurons,)
        Biases ``b_n``.
    noise_scale_ : ndarray of shape (n_neurons,) or None
        Gaussian noise standard deviation (``"gaussian"`` only).
    basis_ : ndarray of shape (window, n_basis)
        The basis used.
    coupling_filters_ : ndarray of shape (n_neurons, n_neurons, window)
        Filters in time, ``h[post, pre, l−1] = Σ_d w[post, pre, d] φ_d(l)``.
    mean_activity_ : ndarray of shape (n_neurons,)
        Mean value per bin in the training data (the homogeneous baseline).
    n_features_in_ : int
        Number of neurons.
    n_iter_ : int
        Optimiser iterations.
    converged_ : bool
        Whether the optimiser reported convergence.

    See Also
    --------
    connectome.hmmglm.HMMGLM : the state-switching version.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(0.5, size=(500, 4))
    >>> glm = CouplingGLM(window=3).fit(X)
    >>> glm.coef_.shape
    (4, 4, 1)
    """

    _parameter_constraints: dict = {
        **_OBS_CONSTRAINTS,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        observation: str = "poisson",
        *,
        link: str = "softplus",
        basis: str = "exponential",
        window: int = 5,
        n_basis: int = 1,
        alpha: float = 1e-3,
        l1_ratio: float = 0.0,
        max_iter: int = 500,
        tol: float = 1e-7,
    ):
        self.observation = observation
        self.link = link
        self.basis = basis
        self.window = window
        self.n_basis = n_basis
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol

    def __sklearn_tags__(self):
        # Poisson counts and Bernoulli events cannot be negative (check_trials refuses
        # them with "Negative values in data"); Gaussian activity can.  No NaN (default).
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.observation in ("poisson", "bernoulli")
        tags.target_tags.required = False  # the neurons are their own targets
        return tags

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X, y=None) -> CouplingGLM:
        """Fit intercepts and coupling weights.

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays (trials)
            Binned activity (spike counts per bin for Poisson).
        y : None
            Ignored (the neurons are their own targets).

        Returns
        -------
        self : CouplingGLM
        """
        validate_params(self)
        basis = make_basis(self.basis, self.window, self.n_basis)
        trials = check_trials(X, observation=self.observation, min_bins=self.window + 1)
        feats, targets = _design(trials, basis)
        n_bins, n = targets.shape
        d = self.n_basis
        F = torch.as_tensor(feats)
        Y = torch.as_tensor(targets)
        l1 = self.alpha * self.l1_ratio
        l2 = self.alpha * (1.0 - self.l1_ratio)
        gauss = self.observation == "gaussian"
        nw = n * n * d
        split = l1 > 0
        mean = targets.mean(0)
        b0 = self._initial_intercept(mean, targets)
        sizes = [n, 2 * nw if split else nw] + ([n] if gauss else [])
        x0 = [b0, np.zeros(sizes[1])] + ([np.log(targets.std(0) + 1e-3)] if gauss else [])
        x0 = np.concatenate(x0)
        log_norm = torch.lgamma(Y + 1.0) if self.observation == "poisson" else None
        bounds = [(None, None)] * n + ([(0.0, None)] * (2 * nw) if split else [(None, None)] * nw)
        bounds += [(None, None)] * (n if gauss else 0)

        def objective(theta: np.ndarray):
            t = torch.as_tensor(theta).requires_grad_(True)
            b = t[:n]
            if split:
                wpos, wneg = t[n : n + nw], t[n + nw : n + 2 * nw]
                w = wpos - wneg
                pen = l1 * (wpos.sum() + wneg.sum())
            else:
                w = t[n : n + nw]
                pen = t.new_zeros(())
            pen = pen + 0.5 * l2 * (w * w).sum()
            log_scale = t[n + sizes[1] :] if gauss else None
            eta = b + F @ w.view(n, n * d).T
            ll = _loglik(Y, eta, self.observation, self.link, log_scale, log_norm)
            loss = -ll.sum() / n_bins + pen
            loss.backward()
            return loss.item(), t.grad.numpy().copy()

        with torch_threads_for(n_bins * n):
            res = minimize(
                objective,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-6},
            )
        theta = res.x
        w = theta[n : n + nw] - theta[n + nw : n + 2 * nw] if split else theta[n : n + nw]
        self.intercept_ = theta[:n].copy()
        self.coef_ = w.reshape(n, n, d).copy()
        self.noise_scale_ = np.exp(theta[n + sizes[1] :]) if gauss else None
        self.basis_ = basis
        self.coupling_filters_ = np.einsum("abd,ld->abl", self.coef_, basis)
        self.mean_activity_ = mean
        self.n_features_in_ = n
        self.n_iter_ = int(res.nit)
        self.converged_ = bool(res.success)
        if not res.success:
            warnings.warn(
                f"CouplingGLM did not converge in {self.max_iter} iterations ({res.message}); "
                "increase max_iter or alpha",
                ConvergenceWarning,
                stacklevel=2,
            )
        logger.info("CouplingGLM fitted: %d neurons, %d bins, %d iterations", n, n_bins, res.nit)
        return self

    def _initial_intercept(self, mean: np.ndarray, targets: np.ndarray) -> np.ndarray:
        if self.observation == "poisson":
            m = np.clip(mean, 1e-3, None)
            return np.log(m) if self.link == "exp" else np.log(np.expm1(m))
        if self.observation == "bernoulli":
            p = np.clip(mean, 1e-3, 1 - 1e-3)
            return np.log(p / (1 - p))
        return mean.copy()

    # -- prediction ------------------------------------------------------------------------
    def _trials(self, X) -> list[np.ndarray]:
        check_is_fitted(self)
        return check_trials(
            X,
            observation=self.observation,
            min_bins=self.window + 1,
            n_neurons=self.n_features_in_,
            owner=type(self).__name__,
        )

    def _eta(self, trials: list[np.ndarray]) -> tuple[torch.Tensor, np.ndarray]:
        feats, targets = _design(trials, self.basis_)
        w = self.coef_.reshape(self.n_features_in_, -1)
        eta = torch.as_tensor(self.intercept_ + feats @ w.T)
        return eta, targets

    def predict_rate(self, X) -> np.ndarray | list[np.ndarray]:
        """Expected activity per bin given the observed history.

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays
            Activity whose history drives the prediction.

        Returns
        -------
        ndarray of shape (n_bins, n_neurons), or a list of them for a list input
            Expected value per bin: spikes per bin (Poisson), event probability
            (Bernoulli) or mean (Gaussian).
        """
        trials = self._trials(X)
        eta, _ = self._eta(trials)
        mean = _mean_from_eta(eta, self.observation, self.link).numpy()
        if not isinstance(X, (list, tuple)):
            return mean
        splits = np.cumsum([len(t) for t in trials])[:-1]
        return np.split(mean, splits)

    def log_likelihood(self, X) -> float:
        """Total log-likelihood of ``X`` in nats (summed over bins, neurons, trials).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays

        Returns
        -------
        float
        """
        trials = self._trials(X)
        eta, targets = self._eta(trials)
        ls = torch.as_tensor(np.log(self.noise_scale_)) if self.noise_scale_ is not None else None
        return float(_loglik(torch.as_tensor(targets), eta, self.observation, self.link, ls).sum())

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per bin (nats per bin, summed over neurons).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays
            Held-out activity.
        y : None
            Ignored.

        Returns
        -------
        float
            Higher is better.
        """
        trials = self._trials(X)
        return self.log_likelihood(trials) / sum(len(t) for t in trials)

    def bits_per_spike(self, X) -> float:
        """Information gain over a homogeneous model, in bits per spike.

        ``(LL_model − LL_homogeneous) / (n_spikes · ln 2)``, where the homogeneous model
        fires at each neuron's mean training rate (``mean_activity_``).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays
            Held-out spike counts (Poisson) or events (Bernoulli).

        Returns
        -------
        float
        """
        if self.observation == "gaussian":
            raise GLMInputError("bits_per_spike needs spike counts or events, not 'gaussian'")
        trials = self._trials(X)
        y = np.concatenate(trials)
        n_spikes = y.sum()
        if n_spikes == 0:
            raise GLMInputError("X has no spikes; bits per spike is undefined")
        base = _baseline_loglik(y, np.broadcast_to(self.mean_activity_, y.shape), self.observation)
        return (self.log_likelihood(trials) - base) / (n_spikes * _LOG2)

    def sample(self, n_bins: int, *, random_state=None) -> np.ndarray:
        """Simulate activity from the fitted model (starting from an empty history).

        Parameters
        ----------
        n_bins : int
            Number of bins to draw.
        random_state : int, Generator, RandomState or None
            Seed of the draw.

        Returns
        -------
        ndarray of shape (n_bins, n_neurons)
        """
        check_is_fitted(self)
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
        n = self.n_features_in_
        h = self.coupling_filters_  # (N, N, W)
        w = h.shape[2]
        x = np.zeros((n_bins + w, n))
        for t in range(w, n_bins + w):
            past = x[t - w : t][::-1]  # row l-1 = lag l
            eta = self.intercept_ + np.einsum("abl,lb->a", h, past)
            x[t] = _draw(eta, self.observation, self.link, self.noise_scale_, rng)
        return x[w:]


def _draw(eta, observation, link, noise_scale, rng):
    """One draw per neuron from the observation model at linear predictor ``eta``."""
    if observation == "poisson":
        eta = np.minimum(eta, 20.0)  # guards runaway excitation in simulations
        rate = np.exp(eta) if link == "exp" else np.logaddexp(0.0, eta)
        return rng.poisson(rate)
    if observation == "bernoulli":
        return (rng.random(eta.shape) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return eta + noise_scale * rng.standard_normal(eta.shape)
