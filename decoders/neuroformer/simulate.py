"""Ground truth for Neuroformer: a recurrent spiking circuit with known directed wiring.

:func:`simulate_circuit` runs a discrete-time Poisson GLM network (1 ms steps): each
neuron's rate is ``exp(b_i + s_i(t) + Σ_j W[j, i] g_j(t) + r h_i(t))``, where ``g`` is the
spike history delayed by ``delay`` and filtered exponentially (time constant ``tau_syn``),
``W[j, i]`` the directed weight from neuron ``j`` to neuron ``i`` (sparse; excitatory
unless ``inhibitory_fraction`` > 0), ``h`` the undelayed history (10 ms) with ``r < 0`` a
self-refractory term and ``s_i(t)`` a stimulus drive: each trial shows one of
``n_directions`` directions during ``[stim_on, stim_off)``, and a neuron is driven by its
cosine tuning to it.  A behaviour read-out variable is the *speed* of a 2-D velocity that
is a linear read-out of the population (``speed = |M h(t)|`` filtered): velocity is
linear in the activity, speed is not — the kind of variable a linear decoder on binned
counts cannot fully recover.  This is the kind of circuit simulation used to validate
Neuroformer's attention-derived connectivity (Joshi et al. 2023, ICLR 2024); the code is
our own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurodata.connectivity import Connectivity
from neurodata.events import Events
from neurodata.recording import Recording
from neurodata.spikes import SpikeTrains
from neurodata.timeseries import TimeSeries

from .errors import NeuroformerError

__all__ = ["SimulatedCircuit", "simulate_circuit", "trial_psth"]


@dataclass
class SimulatedCircuit:
    """Result of :func:`simulate_circuit`.

    Attributes
    ----------
    recording : neurodata.Recording
        ``spikes["units"]``, ``timeseries["stimulus"]`` (cos, sin of the direction and
        the on/off flag, 100 Hz), ``timeseries["behavior"]`` (speed, 100 Hz) and one
        event per trial (label ``dir<k>``, value = direction index) and the true wiring as
        ``connectivity["truth"]`` (directed, ``weights[j, i]`` = ``j → i``).
    weights : float array (n_neurons, n_neurons)
        ``weights[j, i]``: directed coupling from neuron ``j`` to neuron ``i``.
    adjacency : bool array (n_neurons, n_neurons)
        ``weights != 0`` off the diagonal: the true directed graph.
    trial_starts : float array (n_trials,)
        Trial onsets (s); trials last ``trial_duration`` s and are back to back.
    directions : int array (n_trials,)
        Direction index per trial.
    trial_duration : float
    """

    recording: Recording
    weights: np.ndarray
    adjacency: np.ndarray
    trial_starts: np.ndarray
    directions: np.ndarray
    trial_duration: float


def simulate_circuit(n_neurons: int = 16, n_trials: int = 200, *, trial_duration: float = 1.0,
                     n_directions: int = 4, connection_prob: float = 0.1,
                     weight: float = 2.5, inhibitory_fraction: float = 0.0,
                     baseline_rate: float = 4.0,
                     stim_gain: float = 1.0, stim_on: float = 0.2, stim_off: float = 0.7,
                     tau_syn: float = 0.01, delay: float = 0.005, refractory: float = -3.0,
                     random_state: int | None = 0) -> SimulatedCircuit:
    """Simulate a stimulus-driven recurrent spiking circuit with known directed wiring.

    Parameters
    ----------
    n_neurons : int, default=16
    n_trials : int, default=200
        Trials are simulated independently (the network starts at rest) and laid back
        to back on one timeline.
    trial_duration : float, default=1.0
        Seconds per trial.
    n_directions : int, default=4
        Stimulus directions, cycled over trials in a shuffled order.
    connection_prob : float, default=0.1
        Probability of a directed connection ``j → i`` (no self-connections).
    weight : float, default=2.5
        Magnitude of a connection (log-rate units, ±20 % jitter).
    inhibitory_fraction : float, default=0.0
        Fraction of connections with a negative sign.
    baseline_rate : float, default=4.0
        Spontaneous rate in Hz.
    stim_gain : float, default=1.0
        Log-rate gain of the cosine tuning during the stimulus.
    stim_on, stim_off : float
        Stimulus interval inside each trial (s).
    tau_syn : float, default=0.01
        Time constant of the coupling filter (s).
    delay : float, default=0.005
        Synaptic delay (s): a spike acts on its targets from ``delay`` s later on.
    refractory : float, default=-3.0
        Self-history weight (negative: refractoriness).
    random_state : int or None, default=0

    Returns
    -------
    SimulatedCircuit

    Examples
    --------
    >>> sim = simulate_circuit(n_neurons=8, n_trials=4, random_state=0)
    >>> sim.recording.spikes["units"].n_units, sim.adjacency.shape
    (8, (8, 8))
    """
    if n_neurons < 2 or n_trials < 1 or trial_duration <= 0:
        raise NeuroformerError(f"need n_neurons >= 2, n_trials >= 1, trial_duration > 0; got "
                               f"{n_neurons}, {n_trials}, {trial_duration}")
    rng = np.random.default_rng(random_state)
    step = 0.001
    n_steps = int(round(trial_duration / step))
    adj = rng.random((n_neurons, n_neurons)) < connection_prob
    np.fill_diagonal(adj, False)
    sign = np.where(rng.random((n_neurons, n_neurons)) < inhibitory_fraction, -1.0, 1.0)
    w = np.where(adj, sign * weight * rng.uniform(0.8, 1.2, (n_neurons, n_neurons)), 0.0)
    pref = rng.uniform(0, 2 * np.pi, n_neurons)
    tuned = rng.random(n_neurons) < 0.75  # a quarter of the neurons ignore the stimulus
    bias = np.log(baseline_rate * step)
    directions = rng.permutation(np.arange(n_trials) % n_directions)
    theta = 2 * np.pi * directions / n_directions
    # velocity read-out: two groups push +x/-x, two +y/-y
    groups = rng.integers(0, 4, n_neurons)
    readout = np.zeros((n_neurons, 2))
    readout[groups == 0, 0], readout[groups == 1, 0] = 1.0, -1.0
    readout[groups == 2, 1], readout[groups == 3, 1] = 1.0, -1.0
    decay = np.exp(-step / tau_syn)
    n_delay = max(int(round(delay / step)), 0)
    queue = [np.zeros((n_trials, n_neurons)) for _ in range(n_delay)]  # spikes in transit
    h_syn = np.zeros((n_trials, n_neurons))
    ref_decay = np.exp(-step / 0.01)
    beh_decay = np.exp(-step / 0.1)
    h = np.zeros((n_trials, n_neurons))
    vel = np.zeros((n_trials, 2))
    tuning = stim_gain * np.cos(theta[:, None] - pref[None, :]) * tuned[None, :]
    t_idx, n_idx, tr_idx = [], [], []
    t_stim = np.arange(n_steps) * step
    speed = np.zeros((n_trials, n_steps))
    on = (t_stim >= stim_on) & (t_stim < stim_off)
    for k in range(n_steps):
        drive = bias + (tuning if on[k] else 0.0) + h_syn @ w + refractory * h
        p = 1.0 - np.exp(-np.exp(np.minimum(drive, 0.0)))  # P(at least one spike), rate <= 1/ms
        spk = rng.random((n_trials, n_neurons)) < p
        if spk.any():
            tr, nn = np.nonzero(spk)
            tr_idx.append(tr)
            n_idx.append(nn)
            t_idx.append(np.full(tr.size, k))
        h = h * ref_decay + spk
        queue.append(spk.astype(np.float64))
        h_syn = h_syn * decay + queue.pop(0)
        vel = vel * beh_decay + (spk @ readout) * (1 - beh_decay) * 10.0
        speed[:, k] = np.hypot(vel[:, 0], vel[:, 1])
    tr = np.concatenate(tr_idx)
    nn = np.concatenate(n_idx)
    tk = np.concatenate(t_idx)
    starts = np.arange(n_trials) * trial_duration
    # jitter inside the 1-ms step so times are not all on a grid
    times = starts[tr] + (tk + rng.random(tk.size)) * step
    order = np.argsort(times, kind="stable")
    units = pd.DataFrame({"name": [f"n{i:02d}" for i in range(n_neurons)],
                          "label": ["sim"] * n_neurons})
    total = n_trials * trial_duration
    spikes = SpikeTrains(times[order], nn[order].astype(np.int32), units, t_start=0.0,
                         t_stop=total, name="units")
    # stimulus and behaviour at 100 Hz
    sub = 10
    rows = np.arange(n_trials * n_steps // sub)
    trial_of, within = np.divmod(rows * sub, n_steps)
    on_flag = on[within].astype(np.float32)
    stim = np.stack([np.cos(theta[trial_of]) * on_flag, np.sin(theta[trial_of]) * on_flag,
                     on_flag], axis=1).astype(np.float32)
    beh = speed[trial_of, within][:, None].astype(np.float32)
    rate = 1.0 / (step * sub)
    stim_ts = TimeSeries(stim, rate=rate, modality="stimulus", name="stimulus",
                         channels=["cos_dir", "sin_dir", "stim_on"])
    beh_ts = TimeSeries(beh, rate=rate, modality="behavior", name="behavior",
                        channels=["speed"])
    events = Events(onset=starts, duration=np.full(n_trials, trial_duration),
                    label=[f"dir{d}" for d in directions], value=directions.astype(int))
    truth = Connectivity(w, list(units["name"]), kind="structural", directed=True,
                         name="truth")
    rec = Recording([stim_ts, beh_ts], spikes=[spikes], events=events, connectivity=[truth],
                    subject={"id": "sim", "species": "simulated"},
                    session={"id": f"circuit_seed{random_state}",
                             "task": "simulated recurrent circuit"})
    return SimulatedCircuit(rec, w, adj, starts, directions, float(trial_duration))


def trial_psth(spikes: SpikeTrains, trial_starts: np.ndarray, trial_duration: float, *,
               bin_size: float = 0.05) -> np.ndarray:
    """Trial-averaged firing rate (Hz), shape (n_bins, n_units), over aligned trials.

    Parameters
    ----------
    spikes : SpikeTrains
    trial_starts : array of float
        Trial onsets (s).
    trial_duration : float
        Seconds per trial.
    bin_size : float, default=0.05

    Examples
    --------
    >>> st = SpikeTrains.from_unit_times({"a": [0.01, 1.01]}, t_start=0.0, t_stop=2.0)
    >>> trial_psth(st, np.array([0.0, 1.0]), 1.0, bin_size=0.5)[:, 0].tolist()
    [2.0, 0.0]
    """
    n_bins = int(round(trial_duration / bin_size))
    out = np.zeros((n_bins, spikes.n_units))
    for s in np.asarray(trial_starts, np.float64):
        i0, i1 = np.searchsorted(spikes.times, [s, s + trial_duration])
        b = np.floor((spikes.times[i0:i1] - s) / bin_size).astype(np.int64).clip(0, n_bins - 1)
        np.add.at(out, (b, spikes.unit_index[i0:i1]), 1.0)
    return out / (len(trial_starts) * bin_size)
