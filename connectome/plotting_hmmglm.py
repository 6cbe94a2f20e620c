"""Figures for HMM-GLM fits: state posteriors over time, per-state weights, learned prior.

Every function draws on the given ``ax`` / ``axes`` (or a new figure) and returns the
figure, following the project's plotting convention.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_state_posteriors", "plot_state_weights", "plot_connectome"]


def _figure_and_axes(ax, n_axes: int = 1, *, figsize=(8, 3)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, axes = plt.subplots(1, n_axes, figsize=figsize, squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.ravel(ax))
        if len(axes) != n_axes:
            raise ValueError(f"ax must hold {n_axes} axes, got {len(axes)}")
        fig = axes[0].figure
    return fig, axes


def plot_state_posteriors(
    proba: np.ndarray,
    *,
    bin_size: float | None = None,
    behavior: np.ndarray | None = None,
    behavior_label: str = "behaviour",
    ax=None,
):
    """Stacked state posteriors over time, optionally with a behavioural trace.

    Parameters
    ----------
    proba : ndarray of shape (n_bins, n_states)
        Posterior state probabilities (:meth:`HMMGLM.predict_proba`).
    bin_size : float, optional
        Bin width in seconds; the x axis is in seconds if given, else in bins.
    behavior : ndarray of shape (n_bins,), optional
        A behavioural variable per bin (e.g. running speed in cm/s), drawn on a twin
        axis.
    behavior_label : str, default="behaviour"
        Its axis label (with units).
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_state_posteriors(np.full((100, 2), 0.5))
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"proba must have shape (n_bins, n_states), got {proba.shape}")
    fig, (axis,) = _figure_and_axes(ax)
    t = np.arange(len(proba)) * (bin_size if bin_size else 1.0)
    axis.stackplot(t, proba.T, labels=[f"state {k}" for k in range(proba.shape[1])], alpha=0.8)
    axis.set_ylim(0, 1)
    axis.set_ylabel("p(state | spikes)")
    axis.set_xlabel("time (s)" if bin_size else "bin")
    axis.legend(loc="upper right", fontsize="small")
    if behavior is not None:
        behavior = np.asarray(behavior, dtype=float)
        if behavior.shape != (len(proba),):
            raise ValueError(
                f"behavior must have shape ({len(proba)},) like proba's bins, got {behavior.shape}"
            )
        twin = axis.twinx()
        twin.plot(t, behavior, color="k", lw=0.8)
        twin.set_ylabel(behavior_label)
    return fig


def plot_state_weights(weights: np.ndarray, *, axes=None, vmax: float | None = None):
    """One heat map of coupling weights per state (post × pre), on a shared colour scale.

    Parameters
    ----------
    weights : ndarray of shape (n_states, n_neurons, n_neurons)
        Per-state net coupling (e.g. ``HMMGLM.weights_``).
    axes : sequence of matplotlib Axes, optional
        One per state.
    vmax : float, optional
        Colour-scale limit (default: the largest absolute weight).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_state_weights(np.zeros((2, 4, 4)))
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 3 or weights.shape[1] != weights.shape[2]:
        raise ValueError(
            f"weights must have shape (n_states, n_neurons, n_neurons), got {weights.shape}"
        )
    k = weights.shape[0]
    fig, axs = _figure_and_axes(axes, k, figsize=(3 * k, 3))
    lim = vmax if vmax is not None else max(float(np.abs(weights).max()), 1e-12)
    for j, axis in enumerate(axs):
        im = axis.imshow(weights[j], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axis.set_title(f"state {j}")
        axis.set_xlabel("pre")
        axis.set_ylabel("post")
    fig.colorbar(im, ax=axs, shrink=0.8, label="weight")
    return fig


def plot_connectome(connectome: np.ndarray, *, ax=None, title: str = "learned prior"):
    """Signed connectome (post × pre): -1 inhibitory, 0 none, +1 excitatory, or real.

    Parameters
    ----------
    connectome : ndarray of shape (n_neurons, n_neurons)
        E.g. ``HMMGLM.connectome_``.
    ax : matplotlib Axes, optional
        Where to draw.
    title : str, default="learned prior"
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_connectome(np.eye(3))
    """
    c = np.asarray(connectome, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"connectome must be square (n_neurons, n_neurons), got {c.shape}")
    fig, (axis,) = _figure_and_axes(ax, figsize=(4, 3.5))
    lim = max(float(np.abs(c).max()), 1e-12)
    im = axis.imshow(c, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axis.set_title(title)
    axis.set_xlabel("pre")
    axis.set_ylabel("post")
    fig.colorbar(im, ax=axis, shrink=0.8)
    return fig
