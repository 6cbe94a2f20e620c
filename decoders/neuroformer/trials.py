"""Trial-structured decoding with Neuroformer: grating direction from calcium events.

The recipe of the Park et al. (2024) V1 demo (``docs/neuroformer.md``), usable on any
recording whose trials are events with an onset and a direction label:

* **event tokens** from the calcium block (:func:`~decoders.neuroformer.calcium_event_trains`);
* the **stimulus input** is the grating's timing (1 while a grating is shown, 0 before):
  the direction itself is what is decoded, so it is never an input;
* the **behaviour input** (e.g. running speed and pupil) is read from the past window only
  (:func:`~decoders.neuroformer.make_windows`, ``behaviour_input``);
* the **target** of every window is the direction as the vector
  ``(cos θ, sin θ, cos 2θ, sin 2θ)`` while the grating is on (0 before it): direction and
  orientation tuning both have a linear read-out, and window means stay meaningful where
  a window straddles two trials;
* a **trial's prediction** is the candidate direction whose vector has the largest dot
  product with the mean prediction of the windows inside its stimulus period
  (:func:`decode_trial_directions`);
* the split is time-blocked at a trial start (the first trials train, the last test), so
  no test trial's activity is in a training window.

Baselines on the same held-out trials: ridge regression on the binned events of the same
windows (same target and read-out) and multinomial logistic regression on each trial's
event counts over the stimulus period (the usual trial decoder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodata.spikes import SpikeTrains

from .errors import NeuroformerError

__all__ = ["direction_targets", "direction_templates", "decode_trial_directions",
           "trial_event_counts", "DirectionDecoding", "direction_decoding_run"]


def direction_templates(directions_deg: np.ndarray) -> np.ndarray:
    """``(cos θ, sin θ, cos 2θ, sin 2θ)`` of each direction (degrees), shape (K, 4)."""
    th = np.deg2rad(np.asarray(directions_deg, np.float64))
    return np.stack([np.cos(th), np.sin(th), np.cos(2 * th), np.sin(2 * th)], axis=-1)


def direction_targets(times: np.ndarray, onsets: np.ndarray, directions_deg: np.ndarray, *,
                      duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample decoding target and stimulus flag of a trial sequence.

    Parameters
    ----------
    times : float array (T,)
        Sample times (s).
    onsets : float array (n_trials,)
        Stimulus onsets (s), increasing.
    directions_deg : array (n_trials,)
        Direction of each trial (degrees).
    duration : float
        Seconds the stimulus stays on after its onset.

    Returns
    -------
    target : float32 array (T, 4)
        :func:`direction_templates` of the current trial while its stimulus is on, else 0.
    on : float32 array (T, 1)
        1 while a stimulus is on.

    Examples
    --------
    >>> tg, on = direction_targets(np.array([0.0, 1.0, 1.5, 3.5]), np.array([1.0]),
    ...                            np.array([90]), duration=2.0)
    >>> on[:, 0].tolist(), np.round(tg[1], 6).tolist()
    ([0.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, 0.0])
    """
    times = np.asarray(times, np.float64)
    onsets = np.asarray(onsets, np.float64)
    directions_deg = np.asarray(directions_deg, np.float64)
    if onsets.shape != directions_deg.shape or onsets.ndim != 1 or onsets.size == 0:
        raise NeuroformerError(f"need one direction per onset; got {onsets.shape} onsets and "
                               f"{directions_deg.shape} directions")
    if np.any(np.diff(onsets) <= 0) or not duration > 0:
        raise NeuroformerError("onsets must increase and duration must be > 0")
    k = np.clip(np.searchsorted(onsets, times, side="right") - 1, 0, onsets.size - 1)
    on = (times >= onsets[k]) & (times < onsets[k] + duration)
    target = direction_templates(directions_deg[k]) * on[:, None]
    return target.astype(np.float32), on[:, None].astype(np.float32)


def decode_trial_directions(window_start: np.ndarray, pred: np.ndarray, onsets: np.ndarray,
                            *, duration: float, window: float,
                            candidates_deg: np.ndarray) -> np.ndarray:
    """Direction (degrees) of each trial from per-window predictions of the target vector.

    A trial's windows are those lying wholly inside ``[onset, onset + duration)``; its
    direction is the candidate whose template has the largest dot product with their mean
    prediction (NaN for a trial without such a window).

    Examples
    --------
    >>> cand = np.arange(0, 360, 45)
    >>> p = direction_templates(np.array([135, 135, 270]))
    >>> decode_trial_directions(np.array([0.0, 0.5, 3.0]), p, np.array([0.0, 3.0]),
    ...                         duration=2.0, window=0.5, candidates_deg=cand).tolist()
    [135.0, 270.0]
    """
    window_start = np.asarray(window_start, np.float64)
    pred = np.asarray(pred, np.float64).reshape(len(window_start), -1)
    if pred.shape[1] != 4:
        raise NeuroformerError(f"predictions must be (n_windows, 4) direction vectors; got "
                               f"{pred.shape}")
    cand = np.asarray(candidates_deg, np.float64)
    templ = direction_templates(cand)
    out = np.full(len(onsets), np.nan)
    for j, on in enumerate(np.asarray(onsets, np.float64)):
        sel = (window_start >= on - 1e-9) & (window_start + window <= on + duration + 1e-9)
        if sel.any():
            out[j] = cand[int(np.argmax(templ @ pred[sel].mean(0)))]
    return out


def trial_event_counts(events: SpikeTrains, onsets: np.ndarray, *,
                       duration: float) -> np.ndarray:
    """Events of each unit in ``[onset, onset + duration)`` per trial, (n_trials, n_units)."""
    out = np.zeros((len(onsets), events.n_units))
    for j, on in enumerate(np.asarray(onsets, np.float64)):
        i0, i1 = np.searchsorted(events.times, [on, on + duration])
        np.add.at(out[j], events.unit_index[i0:i1], 1.0)
    return out


@dataclass
class DirectionDecoding:
    """Result of :func:`direction_decoding_run`.

    Attributes
    ----------
    accuracy : dict
        Held-out trial accuracy of ``neuroformer``, ``ridge_windows`` (ridge on the binned
        events of the same windows), ``logistic_trials`` (logistic regression on trial
        counts) and ``chance`` (1 / number of directions).
    trials : pandas.DataFrame
        One row per test trial: ``trial``, ``onset``, ``direction`` and the three
        predictions.
    n_train_trials, n_test_trials, n_events : int
    events : SpikeTrains
        The calcium events.
    model : Neuroformer
    window_start, predicted, truth : numpy.ndarray
        Test windows' starts, Neuroformer predictions and targets (n_windows, 4).
    info : dict
        Settings and sizes (JSON-able).
    """

    accuracy: dict[str, float]
    trials: Any
    n_train_trials: int
    n_test_trials: int
    n_events: int
    events: SpikeTrains
    model: Any
    window_start: np.ndarray
    predicted: np.ndarray
    truth: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def direction_decoding_run(rec: Any, *, calcium: str = "calcium",
                           behaviour_input: str | None = "behavior",
                           label: str = "direction", duration: float = 2.0,
                           window: float = 0.5, past_window: float = 0.5,
                           train_fraction: float = 0.7, threshold: float = 2.5,
                           deconvolved: bool = True, behaviour_steps: int = 2,
                           model_params: dict[str, Any] | None = None,
                           random_state: int = 0) -> DirectionDecoding:
    """Train a small Neuroformer to decode stimulus direction and score held-out trials.

    Parameters
    ----------
    rec : Recording
        Calcium block ``calcium``, trial events with an ``onset`` and a ``label`` column
        (degrees) and, optionally, a behaviour block ``behaviour_input``.
    calcium : str, default="calcium"
    behaviour_input : str or None, default="behavior"
        Behaviour block read from the past window as a cross-attention input (None: off).
    label : str, default="direction"
        Events column with each trial's direction in degrees.
    duration : float, default=2.0
        Seconds the stimulus is on after each onset.
    window, past_window : float
        Token windows (s); the frame period is the time step.  Keep ``past_window``
        shorter than the pre-stimulus part of a trial so that a stimulus window's context
        stays inside its own trial.
    train_fraction : float, default=0.7
        The first ``round(train_fraction * n_trials)`` trials train, the rest test (a
        time-blocked split at a trial start).
    threshold, deconvolved : calcium event rule (:func:`calcium_event_trains`).
    behaviour_steps : int, default=2
        Past-window bins of the behaviour input.
    model_params : dict or None
        :class:`Neuroformer` parameters (defaults: n_embd 32, 2 heads, 1 layer, 6 epochs).
    random_state : int, default=0

    Returns
    -------
    DirectionDecoding
    """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from ..tokenizers import SpikeTokenizer
    from .estimator import Neuroformer
    from .readouts import binned_features, ridge_baseline
    from .tokens import calcium_event_trains, make_windows

    if calcium not in rec.timeseries:
        raise NeuroformerError(f"no calcium block {calcium!r}; found {sorted(rec.timeseries)}",
                               path=rec.path)
    ev = rec.events.to_dataframe() if len(rec.events) else None
    if ev is None or label not in ev or "onset" not in ev:
        raise NeuroformerError(f"the recording needs trial events with an 'onset' and a "
                               f"{label!r} column; found "
                               f"{[] if ev is None else list(ev.columns)}", path=rec.path)
    ev = ev.sort_values("onset").reset_index(drop=True)
    onsets = ev["onset"].to_numpy(np.float64)
    labels = ev[label].to_numpy(np.float64)
    ca = rec.timeseries[calcium]
    t = np.asarray(ca.times, np.float64)
    dt = float(np.median(np.diff(t)))
    events = calcium_event_trains(ca, threshold=threshold, deconvolved=deconvolved,
                                  verbose=False)
    target, on = direction_targets(t, onsets, labels, duration=duration)
    n_train = int(round(train_fraction * len(onsets)))
    if not 0 < n_train < len(onsets):
        raise NeuroformerError(f"train_fraction={train_fraction} leaves no train or test "
                               f"trial of {len(onsets)}")
    # cut at the start of the first test trial: the onset minus the pre-stimulus part
    starts = ev["trial_start"].to_numpy(np.float64) if "trial_start" in ev else (
        onsets - min(onsets[0] - t[0], past_window))
    cut = float(starts[n_train])
    blocks = [(float(t[0]), cut), (cut, float(events.t_stop))]
    tok = SpikeTokenizer(window=window, past_window=past_window, dt=dt).fit(events)
    kw: dict[str, Any] = dict(behaviour=(t, target), stimulus=(t, on), stimulus_steps=2,
                              block_size=32, max_past=64)
    if behaviour_input is not None:
        if behaviour_input not in rec.timeseries:
            raise NeuroformerError(f"no behaviour block {behaviour_input!r}; found "
                                   f"{sorted(rec.timeseries)}", path=rec.path)
        kw.update(behaviour_input=rec.timeseries[behaviour_input],
                  behaviour_steps=behaviour_steps)
    train, test = (make_windows(events, tok, interval=b, **kw) for b in blocks)
    params = dict(n_embd=32, n_head=2, n_layer=1, block_size=32, past_block_size=64,
                  epochs=6, batch_size=32, lr=3e-3, dropout=0.1, contrastive=False,
                  verbose=False)
    params.update(model_params or {})
    model = Neuroformer(**params, random_state=random_state).fit(train)
    pred = model.predict_behaviour(test)
    f_tr, f_te = train.first_chunks(), test.first_chunks()
    span = dict(window=window, past_window=past_window, bin_size=window)
    x_tr = np.log1p(binned_features(events, f_tr.window_start, **span)).reshape(len(f_tr), -1)
    x_te = np.log1p(binned_features(events, f_te.window_start, **span)).reshape(len(f_te), -1)
    # the ridge sees the same stimulus timing as the model
    x_tr = np.hstack([x_tr, f_tr.stimulus.reshape(len(f_tr), -1)])
    x_te = np.hstack([x_te, f_te.stimulus.reshape(len(f_te), -1)])
    ridge = ridge_baseline(x_tr, f_tr.behaviour, x_te)
    cand = np.unique(labels)
    test_idx = np.arange(n_train, len(onsets))
    dec = dict(duration=duration, window=window, candidates_deg=cand)
    p_nf = decode_trial_directions(f_te.window_start, pred, onsets[test_idx], **dec)
    p_ridge = decode_trial_directions(f_te.window_start, ridge, onsets[test_idx], **dec)
    counts = np.log1p(trial_event_counts(events, onsets, duration=duration))
    logit = LogisticRegression(C=0.1, max_iter=3000).fit(counts[:n_train], labels[:n_train])
    p_log = logit.predict(counts[test_idx])
    truth = labels[test_idx]
    trials = pd.DataFrame({"trial": test_idx, "onset": onsets[test_idx], "direction": truth,
                           "neuroformer": p_nf, "ridge_windows": p_ridge,
                           "logistic_trials": p_log})
    acc = {k: float(np.mean(trials[k].to_numpy() == truth))
           for k in ("neuroformer", "ridge_windows", "logistic_trials")}
    acc["chance"] = 1.0 / cand.size
    info = {"dt": dt, "window": window, "past_window": past_window, "duration": duration,
            "threshold": threshold, "deconvolved": deconvolved,
            "behaviour_input": behaviour_input, "n_units": int(events.n_units),
            "n_train_windows": int(f_tr.n_windows), "n_test_windows": int(f_te.n_windows),
            "n_parameters": model.n_parameters(), "model": params,
            "random_state": random_state}
    return DirectionDecoding(acc, trials, n_train, int(test_idx.size), int(events.n_spikes),
                             events, model, np.asarray(f_te.window_start), pred,
                             np.asarray(f_te.behaviour), info)
