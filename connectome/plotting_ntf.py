"""Figures for the dynamic functional connectome (NTF components and their communities).

Every function takes ``ax=`` (a matplotlib Axes, or None to make a figure) and returns the
figure.  They are also reachable as ``DynamicConnectome.plot_*`` methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "plot_time_courses",
    "plot_animal_loadings",
    "plot_affinity_matrix",
    "plot_component_graph",
]


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _event_rows(events: Any) -> list[tuple[float, float, str]]:
    """(onset s, duration s, label) from a DataFrame with those columns or a sequence."""
    if events is None:
        return []
    if hasattr(events, "itertuples"):
        cols = set(events.columns)
        if not {"onset", "duration"} <= cols:
            raise ValueError("events needs 'onset' and 'duration' columns (seconds)")
        return [
            (float(r.onset), float(r.duration), str(getattr(r, "label", "")))
            for r in events.itertuples()
        ]
    rows = []
    for ev in events:
        onset, duration, *rest = ev
        rows.append((float(onset), float(duration), str(rest[0]) if rest else ""))
    return rows


def plot_time_courses(
    connectome: Any,
    *,
    components: Sequence[int] | None = None,
    events: Any = None,
    behavior: tuple[np.ndarray, np.ndarray] | None = None,
    behavior_label: str = "behaviour",
    ax: Any = None,
) -> Any:
    """Time factor of each component (scaled by its weight), with events and behaviour.

    Parameters
    ----------
    connectome : DynamicConnectome
    components : sequence of int, optional
        Which components (default all).
    events : DataFrame with onset, duration (s) and optional label columns, or a sequence
        of (onset, duration[, label]); drawn as shaded spans.
    behavior : (times, values), optional
        A behavioural variable (times in s, shape (n,); values shape (n,)), drawn on a
        second y axis.
    behavior_label : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = _axes(ax, (8, 3))
    cp, aff = connectome.cp, connectome.affinity
    comps = range(cp.rank) if components is None else components
    t = aff.window_times
    for r in comps:
        ax.plot(t, cp.factors[1][:, r] * cp.weights[r], label=f"component {r}")
    colors: dict[str, str] = {}
    for onset, duration, label in _event_rows(events):
        first = label not in colors
        color = colors.setdefault(label, f"C{(len(colors) + 3) % 10}")
        # one legend entry per event label
        ax.axvspan(
            onset,
            onset + duration,
            color=color,
            alpha=0.15,
            lw=0,
            label=label if (first and label) else None,
        )
    if behavior is not None:
        bt, bv = (np.asarray(b, dtype=float) for b in behavior)
        ax2 = ax.twinx()
        ax2.plot(bt, bv, color="0.3", lw=0.8, alpha=0.7)
        ax2.set_ylabel(behavior_label)
    ax.set_xlabel("time (s)" if aff.rate is not None else "time (samples)")
    ax.set_ylabel("component activation (weight × time factor)")
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    ax.set_title("NTF component time courses")
    return ax.figure


def plot_animal_loadings(connectome: Any, *, ax: Any = None) -> Any:
    """Animal factor as a heat map (animals × components)."""
    ax = _axes(ax, (4, 3))
    cp, aff = connectome.cp, connectome.affinity
    im = ax.imshow(cp.factors[2], aspect="auto", cmap="magma", interpolation="nearest")
    ax.set_yticks(range(len(aff.animal_names)), aff.animal_names, fontsize=7)
    ax.set_xlabel("component")
    ax.set_title("animal loadings")
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax.figure


def plot_affinity_matrix(connectome: Any, component: int, *, ax: Any = None) -> Any:
    """Folded pair factor of ``component`` with neurons sorted by community."""
    ax = _axes(ax, (4.5, 4))
    fig = connectome.communities[component].plot_matrix(
        connectome.component_graph(component), ax=ax
    )
    ax.set_title(
        f"component {component}: {connectome.communities[component].n_communities} communities"
    )
    return fig


def plot_component_graph(
    connectome: Any, component: int, *, top_fraction: float = 0.05, ax: Any = None
) -> Any:
    """Graph drawing of a component: neurons on a circle grouped by community.

    Only the strongest ``top_fraction`` of the pairs are drawn (line width ∝ weight);
    nodes are coloured by community and labelled when there are at most 80.
    """
    ax = _axes(ax, (5, 5))
    w = connectome.component_graph(component)
    comm = connectome.communities[component]
    order = comm.order()
    n = w.shape[0]
    angle = np.empty(n)
    angle[order] = 2 * np.pi * np.arange(n) / n
    xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    iu, ju = np.triu_indices(n, k=1)
    vals = w[iu, ju]
    k = max(1, int(top_fraction * vals.size))
    keep = np.argsort(vals)[-k:]
    vmax = vals[keep].max() if vals[keep].max() > 0 else 1.0
    for p in keep:
        i, j = iu[p], ju[p]
        ax.plot(*xy[[i, j]].T, color="0.4", lw=2.5 * vals[p] / vmax, alpha=0.6, zorder=1)
    ax.scatter(
        *xy.T,
        c=[f"C{m % 10}" for m in comm.membership],
        s=40,
        zorder=2,
        edgecolors="k",
        linewidths=0.4,
    )
    if comm.node_names is not None and n <= 80:
        for i in range(n):
            ax.text(*(1.1 * xy[i]), comm.node_names[i], fontsize=6, ha="center", va="center")
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"component {component}")
    return ax.figure
