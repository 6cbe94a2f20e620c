"""What the decoded states mean: occupancy, dwell times and the behaviour in each state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["state_behavior_summary"]


def state_behavior_summary(
    states: np.ndarray,
    behavior: Any | None,
    *,
    n_states: int,
    bin_size: float,
    run_speed: float | None = None,
) -> dict[str, Any]:
    """Occupancy and dwell time of every state, and the behaviour in each state.

    Parameters
    ----------
    states : ndarray of int of shape (n_bins,)
        Decoded state per bin (Viterbi).
    behavior : pandas.DataFrame or None
        Per-bin behaviour (:func:`behavior_per_bin`), ``n_bins`` rows.
    n_states : int
    bin_size : float
        Seconds.
    run_speed : float, optional
        Speed above which a bin counts as running (in the speed column's unit); adds the
        run/rest occupancy table.

    Returns
    -------
    dict
        ``occupancy`` (fraction of bins per state), ``mean_dwell_s``, ``n_bins``; with
        behaviour, ``behavior[column] = {mean, median, per state …, eta_squared}`` where
        ``eta_squared`` is the fraction of the variable's variance explained by the state
        (correlation ratio; 0 = unrelated); with ``run_speed``, ``run_rest`` holds the
        bins per (state, running) and each state's fraction of running bins.

    Examples
    --------
    >>> s = state_behavior_summary(np.array([0, 0, 1, 1]), None, n_states=2, bin_size=0.1)
    >>> s["occupancy"], s["mean_dwell_s"]
    ([0.5, 0.5], [0.2, 0.2])
    """
    states = np.asarray(states, dtype=int)
    counts = np.bincount(states, minlength=n_states)
    change = np.flatnonzero(np.diff(states)) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, states.size])
    dwell = [float(lengths[states[starts] == k].mean() * bin_size) if (states[starts] == k).any()
             else math.nan for k in range(n_states)]
    out: dict[str, Any] = {"n_bins": counts.tolist(),
                           "occupancy": (counts / max(states.size, 1)).tolist(),
                           "mean_dwell_s": dwell}
    if behavior is None:
        return out
    summary = {}
    units = behavior.attrs.get("units", {})
    for col in behavior.columns:
        v = behavior[col].to_numpy(dtype=float)
        ok = np.isfinite(v)
        if not ok.any():
            continue
        per = {"mean": [], "median": [], "sd": []}
        for k in range(n_states):
            m = ok & (states == k)
            per["mean"].append(float(v[m].mean()) if m.any() else math.nan)
            per["median"].append(float(np.median(v[m])) if m.any() else math.nan)
            per["sd"].append(float(v[m].std()) if m.any() else math.nan)
        total = float(((v[ok] - v[ok].mean()) ** 2).sum())
        between = sum(float(((states[ok] == k).sum()) * (per["mean"][k] - v[ok].mean()) ** 2)
                      for k in range(n_states) if np.isfinite(per["mean"][k]))
        summary[col] = {"unit": units.get(col), "overall_mean": float(v[ok].mean()),
                        "n_valid_bins": int(ok.sum()), "per_state": per,
                        "eta_squared": between / total if total > 0 else math.nan}
    out["behavior"] = summary
    if run_speed is not None and "speed" in behavior:
        v = behavior["speed"].to_numpy(dtype=float)
        ok = np.isfinite(v)
        run = ok & (v > run_speed)
        rest = ok & (v <= run_speed)
        table = {"run_speed": run_speed,
                 "bins_run": [int((run & (states == k)).sum()) for k in range(n_states)],
                 "bins_rest": [int((rest & (states == k)).sum()) for k in range(n_states)]}
        table["fraction_running"] = [
            r / (r + s) if r + s else math.nan
            for r, s in zip(table["bins_run"], table["bins_rest"], strict=True)]
        table["state_share_of_run"] = [r / max(int(run.sum()), 1) for r in table["bins_run"]]
        table["state_share_of_rest"] = [s / max(int(rest.sum()), 1) for s in table["bins_rest"]]
        out["run_rest"] = table
    return out
