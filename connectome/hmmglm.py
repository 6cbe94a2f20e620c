"""HMM-GLM: coupling GLMs whose weights switch with a hidden Markov state.

Model (Li et al. 2024, "One-hot generalized linear model for switching brain state
discovery"): a hidden state ``z_t ∈ {1 … K}`` follows a sticky Markov chain; given
``z_t = k`` each neuron's activity is drawn from a coupling GLM with state weights,

    η[t, k, n] = b[k, n] + Σ_{n', d} w[k, n, n', d] F[t, n', d],
    F[t, n', d] = Σ_{l=1}^{W} x[t − l, n'] φ_d(l),
    x[t, n] | z_t = k ~ Poisson(f(η[t, k, n]))  (or Bernoulli / Gaussian).

Priors over the state weights ``W_k`` tie the states together:

* ``prior="gaussian"``: ``w[k] ~ N(W̄, σ² I)`` with a learnable shared mean ``W̄``;
* ``prior="onehot"``: every connection ``(n, n')`` has a learnable categorical
  ``π[n, n'] = softmax(θ[n, n'])`` over {inhibitory, none, excitatory}, shared by all
  states, and given the type ``c`` every state's weight is ``N(s_c μ, σ_c²)`` with
  ``s = (−1, 0, +1)``, a learnable strength ``μ > 0``, ``σ_exc = σ_inh = σ`` and a
  narrower ``σ_none = σ / 2``.  With ``onehot_relaxation="gumbel"`` the M-step
  maximises the complete-data log-prior at a Gumbel-softmax relaxed sample of the
  connection types (Jang et al. 2017), as in the paper; with ``"exact"`` it maximises
  the marginal ``log Σ_c π_c Π_k N(w_k; s_c μ, σ_c²)``.  ``π`` reads as a signed
  anatomical connectome (``connectome_``).

Fitting is generalized EM: the E-step is the blocked forward–backward scan of
:mod:`connectome.hmm` (Rabiner 1989; Särkkä & García-Fernández 2021), batched over
trials; the M-step takes gradient steps (Adam, or L-BFGS) on the expected complete-data
log-likelihood plus the log-prior, and updates the transition matrix in closed form.
"""

from __future__ import annotations

import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from neurodata.log import logger, progress_for
from neurodata.params import Interval, StrOptions, validate_params

from .glm import (
    _OBS_CONSTRAINTS,
    GLMInputError,
    _design,
    _draw,
    _loglik,
    _mean_from_eta,
    check_trials,
    torch_threads_for,
)
from .glm_basis import make_basis
from .hmm import forward_backward, viterbi

__all__ = ["HMMGLM"]


_SIGNS = (-1.0, 0.0, 1.0)  # inhibitory, none, excitatory
_LOG2PI = math.log(2 * math.pi)


def _normal_logpdf(x: torch.Tensor, mean, sd: float) -> torch.Tensor:
    z = (x - mean) / sd
    return -0.5 * z * z - math.log(sd) - 0.5 * _LOG2PI


class HMMGLM(BaseEstimator):
    """Hidden-Markov switching coupling GLM with optional Gaussian or one-hot priors.

    Parameters
    ----------
    n_states : int, default=3
        Number of hidden states ``K``.
    observation : {"poisson", "bernoulli", "gaussian"}, default="poisson"
        Observation model of each bin's value.
    link : {"softplus", "exp"}, default="softplus"
        Inverse link of the Poisson rate.
    basis : {"exponential", "raised_cosine"}, default="exponential"
        Temporal basis of the coupling filters.
    window : int, default=5
        Filter length in bins.
    n_basis : int, default=1
        Number of basis functions.
    prior : {None, "gaussian", "onehot"}, default=None
        Prior over the state weight matrices (see the module docstring).
    prior_scale : float, default=1/3
        Prior standard deviation ``σ`` of the weights around their prior mean.
    onehot_relaxation : {"gumbel", "exact"}, default="gumbel"
        How the one-hot prior enters the M-step: Gumbel-softmax relaxed samples of the
        connection types, or the exact mixture marginal.
    temperature : float, default=0.5
        Gumbel-softmax temperature.
    structural_prior : array-like of shape (n_neurons, n_neurons), optional
        A known connectome (post × pre).  With ``prior="gaussian"`` it is the prior mean
        ``W̄``; with ``prior="onehot"`` its signs set the connection types (strongly
        favoured, 90 %).  Needs a prior.
    structural_prior_mode : {"init", "fixed"}, default="init"
        ``"init"``: the structural prior only initialises the learnable prior;
        ``"fixed"``: it is kept fixed.
    self_transition : float, default=0.98
        Initial self-transition probability (sticky chain).
    transition_pseudocount : float, default=1.0
        Dirichlet pseudo-count added to the expected transition counts of each row,
        spread as ``self_transition`` on the diagonal and the rest off it (keeps the
        chain sticky on short data and avoids zero probabilities).
    alpha : float, default=0.0
        Extra L2 penalty on the weights (per bin, nats); with ``prior=None`` this is the
        only regularisation.
    init : {"random", "kmeans"}, default="random"
        Initial state posteriors: random sticky segments (mean length
        ``1 / (1 − self_transition)`` bins), or k-means on smoothed population activity.
        Random segments were the more robust start in our simulations (k-means on rates
        can merge states that differ in coupling but not in mean rate).
    optimizer : {"adam", "lbfgs"}, default="adam"
        M-step optimiser.
    learning_rate : float, default=0.05
        Adam step size (L-BFGS: initial step).
    m_step_iter : int, default=25
        Gradient steps per M-step.
    max_iter : int, default=100
        Maximum EM iterations per restart.
    tol : float, default=1e-4
        Convergence when the objective (nats per bin) improves by less than ``tol``.
    n_init : int, default=1
        Number of restarts; the one with the highest objective is kept.
    random_state : int, Generator, RandomState or None
        Seed of initialisation and Gumbel noise.
    verbose : bool or str or None, default=None
        Progress bar over EM iterations: None follows the package log level
        (:func:`neurodata.log.set_log_level`; hidden at the default WARNING), True shows
        it, False hides it (the project's one ``verbose`` convention).

    Attributes
    ----------
    coef_ : ndarray of shape (n_states, n_neurons, n_neurons, n_basis)
        Coupling weights ``w[k, post, pre, d]``.
    weights_ : ndarray of shape (n_states, n_neurons, n_neurons)
        Net coupling gain per state, ``Σ_d w[k, post, pre, d]`` (every basis function
        sums to 1 over lags).
    intercept_ : ndarray of shape (n_states, n_neurons)
        State biases.
    noise_scale_ : ndarray of shape (n_states, n_neurons) or None
        Gaussian noise standard deviations (``"gaussian"`` only).
    transmat_ : ndarray of shape (n_states, n_states)
        Transition matrix (rows: from-state).
    startprob_ : ndarray of shape (n_states,)
        Initial state distribution.
    prior_mean_ : ndarray of shape (n_neurons, n_neurons, n_basis) or None
        Learned shared mean ``W̄`` (``prior="gaussian"``).
    connectome_proba_ : ndarray of shape (n_neurons, n_neurons, 3) or None
        Learned connection-type probabilities (inhibitory, none, excitatory), one-hot
        prior only.
    connectome_ : ndarray of shape (n_neurons, n_neurons)
        Signed connectome estimate: the most probable type in {-1, 0, +1} (one-hot
        prior), ``Σ_d W̄`` (Gaussian prior) or the state-averaged weights (no prior).
    basis_ : ndarray of shape (window, n_basis)
        Temporal basis.
    loss_curve_ : list of float
        Negative log posterior per bin (nats) after each EM iteration of the kept
        restart: ``−(log p(x) + log p(W)) / n_bins``.
    log_likelihood_ : float
        Training log-likelihood ``log p(x)`` (nats).
    n_iter_ : int
        EM iterations of the kept restart.
    converged_ : bool
        Whether the kept restart met ``tol``.
    n_features_in_ : int
        Number of neurons.

    References
    ----------
    .. [1] C. Li, S. H. Kim, C. Rodgers, H. Choi and A. Wu, "One-hot generalized linear
       model for switching brain state discovery", ICLR 2024.
    .. [2] L. R. Rabiner, "A tutorial on hidden Markov models and selected applications
       in speech recognition", Proc. IEEE 77(2), 257–286, 1989.
    .. [3] S. Särkkä and Á. F. García-Fernández, "Temporal parallelization of Bayesian
       smoothers", IEEE Trans. Autom. Control 66(1), 299–306, 2021.
    .. [4] E. Jang, S. Gu and B. Poole, "Categorical reparameterization with
       Gumbel-softmax", ICLR 2017.

    Examples
    --------
    >>> from connectome.simulate_switching import simulate_switching_glm
    >>> sim = simulate_switching_glm(8, 2, 2000, random_state=0)
    >>> model = HMMGLM(2, prior="onehot", max_iter=5, verbose=False, random_state=0)
    >>> model = model.fit(sim.counts)
    >>> model.predict_states(sim.counts[0]).shape
    (2000,)
    """

    _parameter_constraints: dict = {
        "n_states": [Interval(Integral, 1, None, closed="left")],
        **_OBS_CONSTRAINTS,
        "prior": [None, StrOptions({"gaussian", "onehot"})],
        "prior_scale": [Interval(Real, 0, None, closed="neither")],
        "onehot_relaxation": [StrOptions({"gumbel", "exact"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "structural_prior": ["array-like", None],
        "structural_prior_mode": [StrOptions({"init", "fixed"})],
        "self_transition": [Interval(Real, 0, 1, closed="neither")],
        "transition_pseudocount": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"kmeans", "random"})],
        "optimizer": [StrOptions({"adam", "lbfgs"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "m_step_iter": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": [None, "boolean", str, Integral],
    }

    def __init__(
        self,
        n_states: int = 3,
        *,
        observation: str = "poisson",
        link: str = "softplus",
        basis: str = "exponential",
        window: int = 5,
        n_basis: int = 1,
        prior: str | None = None,
        prior_scale: float = 1.0 / 3.0,
        onehot_relaxation: str = "gumbel",
        temperature: float = 0.5,
        structural_prior=None,
        structural_prior_mode: str = "init",
        self_transition: float = 0.98,
        transition_pseudocount: float = 1.0,
        alpha: float = 0.0,
        init: str = "random",
        optimizer: str = "adam",
        learning_rate: float = 0.05,
        m_step_iter: int = 25,
        max_iter: int = 100,
        tol: float = 1e-4,
        n_init: int = 1,
        random_state=None,
        verbose: bool | str | int | None = None,
    ):
        self.n_states = n_states
        self.observation = observation
        self.link = link
        self.basis = basis
        self.window = window
        self.n_basis = n_basis
        self.prior = prior
        self.prior_scale = prior_scale
        self.onehot_relaxation = onehot_relaxation
        self.temperature = temperature
        self.structural_prior = structural_prior
        self.structural_prior_mode = structural_prior_mode
        self.self_transition = self_transition
        self.transition_pseudocount = transition_pseudocount
        self.alpha = alpha
        self.init = init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.m_step_iter = m_step_iter
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------------------------
    # input handling
    def _check_structural(self, n: int) -> np.ndarray | None:
        if self.structural_prior is None:
            return None
        if self.prior is None:
            raise GLMInputError(
                "structural_prior needs prior='gaussian' or prior='onehot' (got prior=None)"
            )
        c = np.asarray(self.structural_prior, dtype=float)
        if c.shape != (n, n):
            raise GLMInputError(
                f"structural_prior must have shape (n_neurons, n_neurons) = ({n}, {n}), "
                f"got {c.shape}"
            )
        if not np.isfinite(c).all():
            raise GLMInputError("structural_prior contains NaN or infinite values")
        return c

    # ------------------------------------------------------------------------------------
    # the model's pieces (torch)
    def _emission_loglik(self, p, F, Y, log_norm) -> torch.Tensor:
        """log p(x_t | z_t = k) summed over neurons: (T, K)."""
        k, n = p["bias"].shape
        w = p["W"].reshape(k * n, -1)
        eta = (F @ w.T).view(-1, k, n) + p["bias"]
        ls = p.get("log_scale")
        ll = _loglik(Y.unsqueeze(1), eta, self.observation, self.link, ls, log_norm)
        return ll.sum(-1)

    def _log_prior(self, p, gen: torch.Generator | None) -> torch.Tensor:
        """log p(W) (+ L2 penalty); ``gen`` given = Gumbel sample, None = exact."""
        W = p["W"]  # (K, N, N, D)
        out = -0.5 * self.alpha * (W * W).sum() if self.alpha > 0 else W.new_zeros(())
        sd = self.prior_scale
        if self.prior == "gaussian":
            out = out + _normal_logpdf(W, p["Wbar"], sd).sum()
        elif self.prior == "onehot":
            mu = torch.nn.functional.softplus(p["mu_raw"])
            sds = (sd, sd / 2.0, sd)
            comp = torch.stack(
                [
                    _normal_logpdf(W, s * mu, c_sd).sum(dim=(0, 3))
                    for s, c_sd in zip(_SIGNS, sds, strict=True)
                ],
                dim=-1,
            )  # (N, N, 3): Σ_k,d log N(w | type)
            log_pi = torch.log_softmax(p["logits"], dim=-1)
            if gen is None or self.onehot_relaxation == "exact":
                out = out + torch.logsumexp(log_pi + comp, dim=-1).sum()
            else:
                u = torch.rand(log_pi.shape, generator=gen, dtype=W.dtype)
                g = -torch.log(-torch.log(u.clamp_min(1e-20)))
                a = torch.softmax((p["logits"] + g) / self.temperature, dim=-1)
                out = out + (a * (log_pi + comp)).sum()
        return out

    # ------------------------------------------------------------------------------------
    def _init_params(self, Y, gamma, rng, structural, dtype):
        k, n, d = self.n_states, Y.shape[1], self.n_basis
        # per-state biases from the activity the initial posteriors assign to each state
        mean = (gamma.T @ Y) / gamma.sum(0)[:, None]  # (K, N)
        if self.observation == "poisson":
            m = np.clip(mean, 1e-3, None)
            b = np.log(m) if self.link == "exp" else np.log(np.expm1(m))
        elif self.observation == "bernoulli":
            p_ = np.clip(mean, 1e-3, 1 - 1e-3)
            b = np.log(p_ / (1 - p_))
        else:
            b = mean
        params = {
            "bias": torch.tensor(b + 0.01 * rng.standard_normal((k, n)), dtype=dtype),
            "W": torch.tensor(0.01 * rng.standard_normal((k, n, n, d)), dtype=dtype),
        }
        if self.observation == "gaussian":
            params["log_scale"] = torch.tensor(
                np.tile(np.log(Y.std(0) + 1e-3), (k, 1)), dtype=dtype
            )
        fixed = self.structural_prior_mode == "fixed" and structural is not None
        if self.prior == "gaussian":
            wbar = np.zeros((n, n, d)) if structural is None else np.repeat(
                structural[..., None] / d, d, axis=-1
            )
            params["Wbar"] = torch.tensor(wbar, dtype=dtype)
            if structural is not None:
                params["W"] = params["W"] + params["Wbar"]
        elif self.prior == "onehot":
            if structural is None:
                logits = np.zeros((n, n, 3))
            else:
                idx = (np.sign(structural) + 1).astype(int)
                logits = np.full((n, n, 3), math.log(0.05))
                np.put_along_axis(logits, idx[..., None], math.log(0.9), axis=-1)
            params["logits"] = torch.tensor(logits, dtype=dtype)
            params["mu_raw"] = torch.tensor(math.log(math.expm1(0.5)), dtype=dtype)
        trainable = [key for key in params if not (fixed and key in ("Wbar", "logits"))]
        for key in trainable:
            params[key].requires_grad_(True)
        return params, trainable

    def _init_posteriors(self, trials, rng) -> np.ndarray:
        k = self.n_states
        if k == 1:
            return np.ones((sum(len(t) for t in trials), 1))
        parts = []
        if self.init == "kmeans":
            from sklearn.cluster import KMeans

            # smoothing over ~1/(1 − self_transition) bins: states last that long
            width = int(np.clip(round(0.5 / (1 - self.self_transition)), 1, 200))
            kernel = np.ones(width) / width
            smooth = [
                np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, t)
                for t in trials
            ]
            km = KMeans(k, n_init=3, random_state=int(rng.integers(2**31)))
            labels = km.fit_predict(np.concatenate(smooth))
        else:
            labels = []
            for t in trials:
                z = np.empty(len(t), dtype=int)
                pos = 0
                while pos < len(t):
                    run = int(rng.geometric(1 - self.self_transition))
                    z[pos : pos + run] = rng.integers(k)
                    pos += run
                labels.append(z)
            labels = np.concatenate(labels)
        mix = getattr(self, "_init_mix", 0.2)
        parts = np.full((len(labels), k), mix / k)
        parts[np.arange(len(labels)), labels] += 1 - mix
        return parts

    def _sticky_matrix(self) -> np.ndarray:
        """Transition matrix with ``self_transition`` on the diagonal, the rest uniform."""
        k = self.n_states
        P = np.full((k, k), (1 - self.self_transition) / (k - 1))
        np.fill_diagonal(P, self.self_transition)
        return P

    def _log_transition_init(self):
        k = self.n_states
        if k == 1:
            return np.zeros(1), np.zeros((1, 1))
        return np.log(np.full(k, 1.0 / k)), np.log(self._sticky_matrix())

    def _update_transitions(self, xi, gamma0):
        if self.n_states == 1:
            return np.zeros(1), np.zeros((1, 1))
        prior = self._sticky_matrix()
        counts = xi + self.transition_pseudocount * prior + 1e-10
        P = counts / counts.sum(1, keepdims=True)
        start = gamma0 + 1e-3
        return np.log(start / start.sum()), np.log(P)

    # ------------------------------------------------------------------------------------
    def _e_step(self, p, data64, lengths, log_start, log_trans):
        # float64 here: the log-likelihood of a long recording sums many terms
        p64 = {key: v.detach().double() for key, v in p.items()}
        with torch.no_grad():
            ll = self._emission_loglik(p64, *data64).numpy()
        return _forward_backward_trials(ll, lengths, log_start, log_trans)

    def _objective(self, p, ll_total) -> float:
        p64 = {key: v.detach().double() for key, v in p.items()}
        with torch.no_grad():
            return float(ll_total + self._log_prior(p64, None))

    def _m_step(self, p, trainable, opt, F, Y, log_norm, gamma, n_bins, gen, n_steps):
        G = torch.as_tensor(gamma)

        def closure():
            opt.zero_grad()
            ell = (G * self._emission_loglik(p, F, Y, log_norm)).sum()
            loss = -(ell + self._log_prior(p, gen)) / n_bins
            loss.backward()
            return loss

        if self.optimizer == "lbfgs":
            opt.step(closure)
        else:
            for _ in range(n_steps):
                opt.step(closure)

    def _fit_once(self, trials, data64, lengths, structural, rng, gen, bar):
        # float32 in the M-step: 4x faster than float64 on CPU (measured), and the
        # gradient steps do not need more precision
        F, Y, log_norm = (None if a is None else a.float() for a in data64)
        n_bins = Y.shape[0]
        gamma = self._init_posteriors(trials, rng)
        p, trainable = self._init_params(Y.numpy(), gamma, rng, structural, torch.float32)
        tensors = [p[key] for key in trainable]
        if self.optimizer == "adam":
            opt = torch.optim.Adam(tensors, lr=self.learning_rate)
        else:
            opt = torch.optim.LBFGS(
                tensors,
                lr=1.0,
                max_iter=self.m_step_iter,
                line_search_fn="strong_wolfe",
            )
        log_start, log_trans = self._log_transition_init()
        curve: list[float] = []
        times: list[tuple[float, float]] = []  # (wall, CPU) seconds per EM iteration
        converged = False
        it = 0
        for it in range(1, self.max_iter + 1):
            w0, c0 = time.perf_counter(), time.process_time()
            # the first M-step starts from zero weights: give it more steps, so that the
            # first E-step sees state models that already reflect the initial segmentation
            n_steps = self.m_step_iter * (4 if it == 1 else 1)
            self._m_step(p, trainable, opt, F, Y, log_norm, gamma, n_bins, gen, n_steps)
            gamma, logz, xi, gamma0 = self._e_step(p, data64, lengths, log_start, log_trans)
            log_start, log_trans = self._update_transitions(xi, gamma0)
            # re-score with the updated transitions so the curve tracks log p(x) exactly
            gamma, logz, xi, gamma0 = self._e_step(p, data64, lengths, log_start, log_trans)
            curve.append(-self._objective(p, logz.sum()) / n_bins)
            times.append((time.perf_counter() - w0, time.process_time() - c0))
            bar.update(1)
            bar.set_postfix(loss=f"{curve[-1]:.4f}")
            if it > 1 and abs(curve[-2] - curve[-1]) < self.tol:
                converged = True
                break
        return {
            "params": {key: v.detach().double() for key, v in p.items()},
            "log_start": log_start,
            "log_trans": log_trans,
            "curve": curve,
            "converged": converged,
            "n_iter": it,
            "loglik": float(logz.sum()),
            "times": times,
        }

    def __sklearn_tags__(self):
        # Poisson counts and Bernoulli events cannot be negative (check_trials refuses
        # them with "Negative values in data"); Gaussian activity can.  No NaN (default).
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.observation in ("poisson", "bernoulli")
        tags.target_tags.required = False  # the neurons are their own targets
        return tags

    def fit(self, X, y=None) -> HMMGLM:
        """Fit the HMM-GLM by generalized EM (best of ``n_init`` restarts).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays (trials)
            Binned activity: spike counts per bin (Poisson), 0/1 events (Bernoulli) or
            real values (Gaussian).  Every trial needs more than ``window`` bins.
        y : None
            Ignored.

        Returns
        -------
        self : HMMGLM
        """
        validate_params(self)
        basis = make_basis(self.basis, self.window, self.n_basis)
        trials = check_trials(X, observation=self.observation, min_bins=self.window + 1)
        n = trials[0].shape[1]
        trials = check_trials(
            trials, observation=self.observation, min_bins=self.window + 1, n_neurons=n,
            owner=type(self).__name__,
        )
        structural = self._check_structural(n)
        if self.optimizer == "lbfgs" and self.prior == "onehot" and (
            self.onehot_relaxation == "gumbel"
        ):
            raise GLMInputError(
                "optimizer='lbfgs' needs a deterministic objective: use "
                "onehot_relaxation='exact' with prior='onehot', or optimizer='adam'"
            )
        feats, targets = _design(trials, basis)
        F = torch.as_tensor(feats)
        Y = torch.as_tensor(targets)
        log_norm = torch.lgamma(Y + 1.0).unsqueeze(1) if self.observation == "poisson" else None
        lengths = [len(t) for t in trials]
        rs = check_random_state(self.random_state)
        best = None
        total = self.n_init * self.max_iter
        with (
            torch_threads_for(Y.numel() * self.n_states),
            tqdm(total=total, disable=not progress_for(self.verbose), desc="HMMGLM EM") as bar,
        ):
            for _ in range(self.n_init):
                seed = int(rs.randint(2**31))
                rng = np.random.default_rng(seed)
                gen = torch.Generator().manual_seed(seed)
                run = self._fit_once(trials, (F, Y, log_norm), lengths, structural, rng, gen, bar)
                if best is None or run["curve"][-1] < best["curve"][-1]:
                    best = run
        self._store(best, basis, n)
        if not self.converged_:
            warnings.warn(
                f"HMMGLM did not converge in max_iter={self.max_iter} EM iterations "
                f"(last change {abs(np.diff(self.loss_curve_[-2:])).max(initial=0):.2e} "
                f"> tol={self.tol}); increase max_iter or tol",
                ConvergenceWarning,
                stacklevel=2,
            )
        logger.info(
            "HMMGLM fitted: %d states, %d neurons, %d bins, %d EM iterations",
            self.n_states, n, Y.shape[0], self.n_iter_,
        )
        return self

    def _store(self, run, basis, n):
        p = run["params"]
        self._params = p
        self.coef_ = p["W"].numpy().copy()
        self.weights_ = self.coef_.sum(-1)
        self.intercept_ = p["bias"].numpy().copy()
        self.noise_scale_ = np.exp(p["log_scale"].numpy()) if "log_scale" in p else None
        self.startprob_ = np.exp(run["log_start"])
        self.transmat_ = np.exp(run["log_trans"])
        self.basis_ = basis
        self.prior_mean_ = p["Wbar"].numpy().copy() if "Wbar" in p else None
        if "logits" in p:
            proba = torch.softmax(p["logits"], -1).numpy()
            self.connectome_proba_ = proba
            self.connectome_ = (proba.argmax(-1) - 1).astype(np.int64)
            self.prior_strength_ = float(torch.nn.functional.softplus(p["mu_raw"]))
        else:
            self.connectome_proba_ = None
            self.connectome_ = (
                self.prior_mean_.sum(-1) if self.prior_mean_ is not None
                else self.weights_.mean(0)
            )
        self.loss_curve_ = run["curve"]
        self.converged_ = run["converged"]
        self.n_iter_ = run["n_iter"]
        self.log_likelihood_ = run["loglik"]
        self._iter_times = run["times"]  # diagnostics for benchmarks/bench_hmmglm.py
        self.n_features_in_ = n

    # ------------------------------------------------------------------------------------
    # inference on (new) data
    def _prepare(self, X):
        check_is_fitted(self)
        trials = check_trials(
            X,
            observation=self.observation,
            min_bins=self.window + 1,
            n_neurons=self.n_features_in_,
            owner=type(self).__name__,
        )
        feats, targets = _design(trials, self.basis_)
        F = torch.as_tensor(feats)
        Y = torch.as_tensor(targets)
        log_norm = torch.lgamma(Y + 1.0).unsqueeze(1) if self.observation == "poisson" else None
        with torch.no_grad():
            ll = self._emission_loglik(self._params, F, Y, log_norm).numpy()
        return trials, ll

    def _split(self, X, arr, trials):
        if not isinstance(X, (list, tuple)):
            return arr
        return np.split(arr, np.cumsum([len(t) for t in trials])[:-1])

    def emission_log_likelihood(self, X) -> np.ndarray | list[np.ndarray]:
        """Per-bin log-likelihood of the data under each state, ``log p(x_t | z_t = k)``.

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays

        Returns
        -------
        ndarray of shape (n_bins, n_states), or a list of them for a list input
            In nats, summed over neurons.
        """
        trials, ll = self._prepare(X)
        return self._split(X, ll, trials)

    def _posteriors(self, X):
        """Trials of ``X`` and the fitted model's forward–backward on them."""
        trials, ll = self._prepare(X)
        fb = _forward_backward_trials(ll, [len(t) for t in trials], np.log(self.startprob_),
                                      np.log(self.transmat_))
        return trials, fb

    def predict_proba(self, X) -> np.ndarray | list[np.ndarray]:
        """Posterior state probabilities ``p(z_t = k | x)`` (forward–backward).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays

        Returns
        -------
        ndarray of shape (n_bins, n_states), or a list of them for a list input
        """
        trials, (gamma, *_) = self._posteriors(X)
        return self._split(X, gamma, trials)

    def predict_states(self, X) -> np.ndarray | list[np.ndarray]:
        """Most probable state sequence (Viterbi) of each trial.

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays

        Returns
        -------
        ndarray of int of shape (n_bins,), or a list of them for a list input
        """
        trials, ll = self._prepare(X)
        out, pos = [], 0
        for t in trials:
            out.append(
                viterbi(ll[pos : pos + len(t)], np.log(self.startprob_), np.log(self.transmat_))[1]
            )
            pos += len(t)
        return out if isinstance(X, (list, tuple)) else out[0]

    def predict(self, X) -> np.ndarray | list[np.ndarray]:
        """Alias of :meth:`predict_states` (scikit-learn convention)."""
        return self.predict_states(X)

    def log_likelihood(self, X) -> float:
        """Total log-likelihood ``Σ_trials log p(x)`` in nats (states summed out).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays

        Returns
        -------
        float
        """
        _, (_, logz, *_) = self._posteriors(X)
        return float(logz.sum())

    def score(self, X, y=None) -> float:
        """Held-out log-likelihood per bin (nats per bin, summed over neurons).

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays
        y : None
            Ignored.

        Returns
        -------
        float
            Higher is better.
        """
        trials = check_trials(X, observation=self.observation, min_bins=self.window + 1)
        return self.log_likelihood(X) / sum(len(t) for t in trials)

    def sample(self, n_bins: int, *, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """Simulate one trial from the fitted model.

        Parameters
        ----------
        n_bins : int
            Number of bins.
        random_state : int, Generator, RandomState or None
            Seed of the draw.

        Returns
        -------
        X : ndarray of shape (n_bins, n_neurons)
            Simulated activity.
        states : ndarray of int of shape (n_bins,)
            The hidden states.
        """
        check_is_fitted(self)
        if int(n_bins) != n_bins or n_bins < 1:
            raise GLMInputError(f"n_bins must be a positive integer, got {n_bins!r}")
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
        k, n = self.intercept_.shape
        filters = np.einsum("kabd,ld->kabl", self.coef_, self.basis_)
        w = self.window
        z = np.empty(n_bins, dtype=np.int64)
        z[0] = rng.choice(k, p=self.startprob_ / self.startprob_.sum())
        for t in range(1, n_bins):
            row = self.transmat_[z[t - 1]]
            z[t] = rng.choice(k, p=row / row.sum())
        x = np.zeros((n_bins + w, n))
        for t in range(n_bins):
            past = x[t : t + w][::-1]
            eta = self.intercept_[z[t]] + np.einsum("abl,lb->a", filters[z[t]], past)
            scale = None if self.noise_scale_ is None else self.noise_scale_[z[t]]
            x[t + w] = _draw(eta, self.observation, self.link, scale, rng)
        return x[w:], z

    def predict_rate(self, X) -> np.ndarray | list[np.ndarray]:
        """Expected activity per bin, averaged over the posterior of the states.

        Parameters
        ----------
        X : array-like of shape (n_bins, n_neurons), or list of such arrays

        Returns
        -------
        ndarray of shape (n_bins, n_neurons), or a list of them for a list input
        """
        trials, (gamma, *_) = self._posteriors(X)
        feats, _ = _design(trials, self.basis_)
        k, n = self.intercept_.shape
        eta = (feats @ self.coef_.reshape(k * n, -1).T).reshape(-1, k, n) + self.intercept_
        mean = _mean_from_eta(torch.as_tensor(eta), self.observation, self.link).numpy()
        return self._split(X, (gamma[..., None] * mean).sum(1), trials)


def _forward_backward_trials(ll: np.ndarray, lengths, log_start, log_trans):
    """Forward–backward over concatenated trials (batched, padded to the longest)."""
    k = ll.shape[1]
    if len(lengths) == 1:
        res = forward_backward(ll, log_start, log_trans)
        return res.posteriors, np.atleast_1d(res.log_likelihood), res.transition_counts, (
            res.posteriors[0]
        )
    tmax = max(lengths)
    batch = np.zeros((len(lengths), tmax, k))
    pos = 0
    for i, length in enumerate(lengths):
        batch[i, :length] = ll[pos : pos + length]
        pos += length
    res = forward_backward(batch, log_start, log_trans, lengths=lengths)
    gamma = np.concatenate([res.posteriors[i, :length] for i, length in enumerate(lengths)])
    return gamma, res.log_likelihood, res.transition_counts, res.posteriors[:, 0].sum(0)
