"""Matplotlib views of neuroloom objects.  Each takes ``ax=`` and returns the figure."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_timeseries"]


def plot_timeseries(ts: Any, *, tmin: float | None = None, tmax: float | None = None,
                    channels: Any = None, n_channels: int = 8, events: Any = None, ax=None):
    """Stacked traces of a :class:`~neurodata.TimeSeries` (each channel scaled alike).

    Parameters
    ----------
    ts : TimeSeries
    tmin, tmax : float or None
        Window in seconds (default: the first 10 s).
    channels : names, indices or None
        Channels to draw; default the first ``n_channels`` good ones.
    n_channels : int, default=8
    events : Events or None
        Drawn as vertical lines with their labels.
    ax : matplotlib.axes.Axes or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    tmin = ts.t0 if tmin is None else tmin
    tmax = min(ts.t_end, tmin + 10.0) if tmax is None else tmax
    if channels is None:
        good = np.flatnonzero(~ts.channels["bad"].to_numpy())
        channels = good[:n_channels].tolist() or list(range(min(n_channels, ts.n_channels)))
    x = ts.slice(tmin, tmax, channels=channels)
    names = ts.channels["name"].to_numpy()[channels] if not isinstance(channels, str) else \
        np.array([channels])
    units = ts.channels["unit"].to_numpy()[channels] if not isinstance(channels, str) else \
        np.array(["a.u."])
    start = max(ts.time_to_index(tmin), 0)
    t = ts.times[start:start + x.shape[0]]
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.45 * max(len(names), 4) + 1))
    else:
        fig = ax.figure
    centred = x - np.nanmedian(x, axis=0, keepdims=True)
    scale = np.nanpercentile(np.abs(centred), 99) or 1.0
    for i in range(centred.shape[1]):
        ax.plot(t, centred[:, i] / (2.5 * scale) - i, lw=0.6, color="k")
    ax.set_yticks(-np.arange(len(names)))
    ax.set_yticklabels([f"{n} ({u})" for n, u in zip(names, units, strict=True)], fontsize=7)
    ax.set_xlabel("time (s)")
    ax.set_xlim(tmin, tmax)
    timing = f"{ts.rate:g} Hz" if ts.is_regular else "irregular sampling"
    ax.set_title(f"{ts.name}: {ts.modality}, {ts.n_channels} ch, {timing}")
    if events is not None and len(events):
        ev = events.restrict(tmin, tmax)
        for onset, label in zip(ev.onset, ev.label, strict=True):
            ax.axvline(onset, color="tab:red", lw=0.8, alpha=0.6)
            ax.text(onset, 0.6, str(label), color="tab:red", fontsize=7)
    ax.text(0.99, 0.01, f"scale: {2.5 * scale:.3g} per row", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7, color="0.4")
    fig.tight_layout()
    return fig
