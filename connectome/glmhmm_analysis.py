"""The whole HMM-GLM analysis of one recording: bin, split, fit, compare, decode, relate.

:func:`glmhmm_analysis` is what ``neuroloom glmhmm`` runs: it bins the spikes of a
converted recording (or onsets of thresholded deconvolved calcium activity;
:func:`neurodata.load_counts`), splits the bins into contiguous training and held-out
blocks (:func:`connectome.split_blocks`), fits :class:`connectome.HMMGLM` (Li et al.,
ICLR 2024: no prior, Gaussian or one-hot prior, optionally a known structural connectome
as the prior), a single-state :class:`connectome.CouplingGLM` and a homogeneous Poisson
model on the training part and compares their held-out log-likelihoods
(:func:`connectome.compare_models`), decodes the states of every bin and relates them to
a behaviour block (:func:`connectome.state_behavior_summary`).  The result is a
:class:`GLMHMMAnalysis`; writing it to a result folder is the caller's business.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodata.counts import BinnedActivity, behavior_per_bin, load_behavior_block, load_counts
from neurodata.errors import ValidationError
from neurodata.log import verbose

from .model_comparison import ModelComparison, compare_models, split_blocks
from .state_behavior import state_behavior_summary
from .structural import load_structural_matrix

__all__ = ["GLMHMMAnalysis", "glmhmm_analysis"]


@dataclass
class GLMHMMAnalysis:
    """Result of :func:`glmhmm_analysis`.

    Attributes
    ----------
    data : neurodata.BinnedActivity
        The binned counts.
    train_bins, test_bins : list of (start, stop)
        Half-open bin ranges of the training and held-out blocks.
    comparison : ModelComparison
        The fitted models and the held-out table.
    states : ndarray of int of shape (n_bins,)
        Viterbi state of every bin.
    proba : ndarray of shape (n_bins, n_states)
        Posterior state probabilities.
    behavior : pandas.DataFrame or None
        Behaviour per bin (:func:`neurodata.behavior_per_bin`).
    summary : dict
        :func:`state_behavior_summary` of the states.
    structural : ndarray or None
        The structural prior used, in unit order.
    """

    data: BinnedActivity
    train_bins: list[tuple[int, int]]
    test_bins: list[tuple[int, int]]
    comparison: ModelComparison
    states: np.ndarray
    proba: np.ndarray
    behavior: Any
    summary: dict[str, Any]
    structural: np.ndarray | None = None

    @property
    def model(self) -> Any:
        """The fitted :class:`connectome.HMMGLM`."""
        return self.comparison.hmm

    def split_labels(self) -> np.ndarray:
        """``"train"`` / ``"test"`` per bin (object array of shape (n_bins,))."""
        split = np.zeros(self.states.size, dtype=object)
        for a, b in self.train_bins:
            split[a:b] = "train"
        for a, b in self.test_bins:
            split[a:b] = "test"
        return split

    def states_table(self) -> Any:
        """One row per bin: start, centre, split, state, posteriors and behaviour columns."""
        import pandas as pd

        table = pd.DataFrame({"t_start": self.data.edges[:-1], "t_center": self.data.centers,
                              "split": self.split_labels(), "state": self.states})
        for k in range(self.proba.shape[1]):
            table[f"p_state{k}"] = self.proba[:, k]
        if self.behavior is not None:
            for col in self.behavior.columns:
                table[col] = self.behavior[col].to_numpy()
        return table

    def figures(self) -> Iterator[tuple[str, Any]]:
        """Posteriors (with the behaviour), state weights and, with a prior, the learned
        prior, as ``(file name, matplotlib Figure)`` pairs, drawn one at a time."""
        import matplotlib.pyplot as plt

        from .plotting_hmmglm import plot_connectome, plot_state_posteriors, plot_state_weights

        model, data, behavior = self.model, self.data, self.behavior
        trace, label = None, "behaviour"
        if behavior is not None and len(behavior.columns):
            col = "speed" if "speed" in behavior else behavior.columns[0]
            trace = behavior[col].to_numpy(dtype=float)
            label = f"{col} ({behavior.attrs.get('units', {}).get(col, '')})"
        fig, ax = plt.subplots(figsize=(10, 3))
        plot_state_posteriors(self.proba, bin_size=data.bin_size, behavior=trace,
                              behavior_label=label, ax=ax)
        ax.set_xlabel(f"time from {data.edges[0]:g} s (s)")
        yield "posteriors.png", fig
        yield "state_weights.png", plot_state_weights(model.weights_)
        if model.prior is not None:
            title = ("learned prior (one-hot: most probable type)" if model.prior == "onehot"
                     else "learned prior mean")
            yield "learned_prior.png", plot_connectome(model.connectome_, title=title)


@verbose
def glmhmm_analysis(
    path: str | os.PathLike,
    *,
    bin_size: float,
    n_states: int,
    prior: str | None = "onehot",
    window: int = 5,
    t_start: float | None = None,
    t_stop: float | None = None,
    units: Sequence[str] | None = None,
    min_rate: float | None = None,
    block: str | None = None,
    event_threshold: float = 2.0,
    behavior_block: str | None = None,
    speed_smooth: float = 0.5,
    run_speed: float | None = None,
    test_fraction: float = 0.2,
    test_blocks: int = 1,
    n_init: int = 1,
    max_iter: int = 100,
    glm_alpha: float = 1e-3,
    random_state: int | None = 0,
    structural: str | os.PathLike | None = None,
    structural_mode: str = "init",
    verbose: bool | str | None = None,
) -> GLMHMMAnalysis:
    """Bin a recording's spikes, fit and compare the GLMs held out, decode the states.

    Parameters
    ----------
    path : path-like
        A converted recording (``.h5``) with a ``/spikes`` block (or a calcium block), or
        any file :func:`neurodata.load` reads.
    bin_size : float
        Bin width in seconds.
    n_states : int
        Hidden states of the HMM-GLM.
    prior : {None, "gaussian", "onehot"}, default="onehot"
        HMM-GLM weight prior.
    window : int, default=5
        Coupling filter length in bins.
    t_start, t_stop, units, min_rate, block, event_threshold
        Passed to :func:`neurodata.load_counts`.
    behavior_block : str, optional
        Behaviour block to relate the states to (default: the first block of modality
        behavior, if any).
    speed_smooth : float, default=0.5
        Gaussian smoothing of the speed, in seconds.
    run_speed : float, optional
        Speed threshold for the run/rest table.
    test_fraction, test_blocks
        Held-out fraction and number of held-out blocks (:func:`split_blocks`).
    n_init, max_iter, glm_alpha, random_state
        Passed to :func:`compare_models`.
    structural : path-like, optional
        Known ``(C, C)`` connectome (:func:`load_structural_matrix`) used as the prior;
        needs ``prior``.
    structural_mode : {"init", "fixed"}, default="init"
    verbose : bool or str or None
        Log level for this call; ``True`` shows the HMM-GLM's progress bar.

    Returns
    -------
    GLMHMMAnalysis

    Raises
    ------
    neurodata.errors.NeurodataError
        Bad settings, or data that cannot support them (too few bins for the filter
        window, a held-out block shorter than the window, no training spikes, ...).

    Examples
    --------
    >>> import neurodata as nd
    >>> res = glmhmm_analysis(nd.sample_path("nelpy_linear_track"), bin_size=0.1,
    ...                       n_states=2, t_start=5000, t_stop=5200, min_rate=1.0,
    ...                       max_iter=5)
    >>> res.proba.shape, list(res.comparison.table["model"])[0]
    ((2000, 2), 'homogeneous Poisson')
    """
    if n_states < 1:
        raise ValidationError(f"--states must be >= 1; got {n_states}")
    if n_init < 1 or max_iter < 1 or window < 1:
        raise ValidationError("--restarts, --max-iter and --window must be >= 1")
    if structural and prior is None:
        raise ValidationError(
            "--structural needs a prior to carry it; pass --prior gaussian or --prior onehot")
    data = load_counts(path, bin_size, t_start=t_start, t_stop=t_stop, units=units,
                       min_rate=min_rate, block=block, event_threshold=event_threshold)
    n_bins = data.counts.shape[0]
    if n_bins <= window:
        raise ValidationError(
            f"{n_bins} bins of {bin_size:g} s; expected more than the filter window of "
            f"{window} bins; use a shorter --bin, a longer interval or a shorter --window",
            path=path)
    train_idx, test_idx = split_blocks(n_bins, test_fraction, test_blocks)
    for what, ranges in (("training", train_idx), ("held-out", test_idx)):
        short = [b - a for a, b in ranges if b - a <= window]
        if short:
            raise ValidationError(
                f"a {what} block has {min(short)} bins, not more than the filter window of "
                f"{window} bins; expected longer blocks; use fewer --test-blocks, a "
                "different --test-fraction or a shorter --bin", path=path)
    train = [data.counts[a:b] for a, b in train_idx]
    test = [data.counts[a:b] for a, b in test_idx]
    if sum(int(t.sum()) for t in train) == 0:
        raise ValidationError("the training bins hold no spikes; expected activity to "
                              "fit; choose another interval or units", path=path)
    prior_matrix = (load_structural_matrix(structural, data.unit_names)
                    if structural else None)
    behavior_ts = load_behavior_block(path, behavior_block)
    behavior = (behavior_per_bin(behavior_ts, data.edges, smooth=speed_smooth)
                if behavior_ts is not None else None)
    cmp = compare_models(train, test, n_states=n_states, prior=prior, window=window,
                         structural_prior=prior_matrix, structural_prior_mode=structural_mode,
                         n_init=n_init, max_iter=max_iter, glm_alpha=glm_alpha,
                         random_state=random_state)
    states = cmp.hmm.predict_states(data.counts)
    proba = cmp.hmm.predict_proba(data.counts)
    summary = state_behavior_summary(states, behavior, n_states=n_states,
                                     bin_size=data.bin_size, run_speed=run_speed)
    return GLMHMMAnalysis(data=data, train_bins=train_idx, test_bins=test_idx, comparison=cmp,
                          states=states, proba=proba, behavior=behavior, summary=summary,
                          structural=prior_matrix)
