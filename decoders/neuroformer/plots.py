"""Figures of a Neuroformer run; each takes ``ax=`` (or axes) and returns the figure."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurodata.spikes import SpikeTrains

__all__ = ["plot_loss_curves", "plot_raster_comparison", "plot_psth_comparison",
           "plot_connectivity", "plot_behaviour"]


def _axes(ax: Any, n: int = 1, width: float = 6.0):
    import matplotlib.pyplot as plt

    if ax is not None:
        return (ax.figure, ax) if n == 1 else (np.ravel(ax)[0].figure, np.ravel(ax))
    fig, axes = plt.subplots(1, n, figsize=(width, 3.2), squeeze=False)
    return fig, axes[0, 0] if n == 1 else axes[0]


def plot_loss_curves(history: list[dict[str, Any]], *, ax: Any = None):
    """Training and validation loss per epoch."""
    fig, ax = _axes(ax)
    ep = [h["epoch"] + 1 for h in history]
    for key, style in (("train_loss", "-o"), ("val_loss", "-s"), ("train_loss_id", ":"),
                       ("val_loss_id", ":")):
        vals = [h.get(key) for h in history]
        if any(v is not None for v in vals):
            ax.plot(ep, [np.nan if v is None else v for v in vals], style, label=key, ms=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    ax.set_title("Neuroformer training")
    return fig


def plot_raster_comparison(real: SpikeTrains, generated: SpikeTrains, *,
                           t_max: float | None = None, ax: Any = None):
    """Raster of recorded (top, black) vs generated (bottom, red) spikes."""
    fig, axes = _axes(ax, 2, width=10.0)
    for a, st, colour, title in ((axes[0], real, "k", "recorded"),
                                 (axes[1], generated, "tab:red", "generated")):
        t1 = st.t_start + t_max if t_max else st.t_stop
        sel = st.times < t1
        a.scatter(st.times[sel], st.unit_index[sel], s=2, c=colour, marker="|")
        a.set_title(title)
        a.set_xlabel("time (s)")
        a.set_ylabel("neuron")
        a.set_ylim(-1, st.n_units)
    return fig


def plot_psth_comparison(psth_real: np.ndarray, psth_generated: np.ndarray, *,
                         bin_size: float, ax: Any = None):
    """Trial-averaged rate per neuron: recorded vs generated (heat maps + scatter)."""
    fig, axes = _axes(ax, 3, width=11.0)
    vmax = float(max(psth_real.max(), psth_generated.max(), 1e-9))
    ext = [0, psth_real.shape[0] * bin_size, psth_real.shape[1], 0]
    for a, p, title in ((axes[0], psth_real, "recorded PSTH"),
                        (axes[1], psth_generated, "generated PSTH")):
        im = a.imshow(p.T, aspect="auto", extent=ext, vmin=0, vmax=vmax, cmap="magma")
        a.set_title(title)
        a.set_xlabel("time in trial (s)")
        a.set_ylabel("neuron")
    fig.colorbar(im, ax=axes[1], label="Hz")
    axes[2].scatter(psth_real.ravel(), psth_generated.ravel(), s=4, alpha=0.5)
    axes[2].plot([0, vmax], [0, vmax], "k--", lw=0.8)
    r = np.corrcoef(psth_real.ravel(), psth_generated.ravel())[0, 1]
    axes[2].set_title(f"Pearson r = {r:.2f}")
    axes[2].set_xlabel("recorded (Hz)")
    axes[2].set_ylabel("generated (Hz)")
    return fig


def plot_connectivity(estimate: np.ndarray, truth: np.ndarray, *, auroc: float | None = None,
                      ax: Any = None):
    """Attention-derived connectivity beside the true directed graph (rows: source)."""
    fig, axes = _axes(ax, 2, width=9.0)
    axes[0].imshow(np.nan_to_num(estimate, nan=np.nanmin(estimate)), cmap="viridis")
    axes[0].set_title("attention connectivity" + (f" (AUROC {auroc:.2f})" if auroc else ""))
    axes[1].imshow(truth, cmap="Greys")
    axes[1].set_title("true directed graph")
    for a in axes:
        a.set_xlabel("target neuron")
        a.set_ylabel("source neuron")
    return fig


def plot_behaviour(t: np.ndarray, y: np.ndarray, pred: np.ndarray, *,
                   baseline: np.ndarray | None = None, name: str = "behaviour",
                   ax: Any = None):
    """Held-out behaviour: recorded vs decoded (and a baseline)."""
    fig, ax = _axes(ax, width=10.0)
    ax.plot(t, y, "k", lw=1, label="recorded")
    ax.plot(t, pred, "tab:red", lw=1, label="Neuroformer")
    if baseline is not None:
        ax.plot(t, baseline, "tab:blue", lw=0.8, alpha=0.7, label="ridge")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(name)
    ax.legend(fontsize=7)
    return fig
