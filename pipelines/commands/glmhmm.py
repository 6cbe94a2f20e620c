"""``neuroloom glmhmm``: state-switching coupling GLMs (HMM-GLM) on a converted recording.

Bins the spikes of a converted recording (or, for calcium imaging, onsets of thresholded
deconvolved activity), splits the bins into training and held-out parts by time
(contiguous blocks, never shuffled), fits :class:`connectome.HMMGLM` (Li et al., ICLR
2024: no prior, Gaussian or one-hot prior, optionally a known structural connectome as
the prior), a single-state :class:`connectome.CouplingGLM` and a homogeneous Poisson
model on the training part, and compares their held-out log-likelihoods.  It decodes
the states of every bin (Viterbi and posteriors), relates them to a behaviour block
(e.g. position and running speed) and writes ``result.json``, ``states.csv``,
``weights.npy`` and figures into one output folder.

The steps are importable, so a notebook can run them one at a time:
:func:`load_counts` (recording → binned counts), :func:`behavior_per_bin` (behaviour
block → per-bin table with speed), :func:`split_blocks` (time split),
:func:`compare_models` (fits + held-out table), :func:`state_behavior_summary` and
:func:`run_glmhmm` (the whole command).  See docs/glmhmm_cli.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..result_folder import input_provenance as _input_provenance
from ..result_folder import staged_dir, write_result
from ..result_folder import to_json as _jsonable

__all__ = [
    "register",
    "cmd_glmhmm",
    "run_glmhmm",
    "load_counts",
    "check_counts",
    "behavior_per_bin",
    "split_blocks",
    "compare_models",
    "ModelComparison",
    "state_behavior_summary",
    "load_structural_matrix",
    "BinnedActivity",
]

# Output format of the folder this command writes; bump when a file changes meaning.
RESULT_VERSION = "1.0"
_SOFTWARE = ("numpy", "scipy", "h5py", "pandas", "matplotlib", "scikit-learn", "torch")
_LN2 = math.log(2.0)


def _errors():
    from neurodata import errors

    return errors


@dataclass
class BinnedActivity:
    """Spike (or event) counts per time bin, ready for :class:`connectome.HMMGLM`.

    Attributes
    ----------
    counts : ndarray of int64 of shape (n_bins, n_units)
        Counts per bin, time-major.
    edges : ndarray of float64 of shape (n_bins + 1,)
        Bin edges in seconds (session time).
    unit_names : list of str
        Column names of ``counts``.
    rates : ndarray of float64 of shape (n_units,)
        Mean rate of each kept unit over the binned interval, in Hz.
    source : str
        ``"spikes/<block>"`` or ``"timeseries/<block> (events > k SD)"``.
    path : Path
        The recording.
    excluded : dict
        Units left out and why (``"not_selected"``, ``"below_min_rate"``).
    event_threshold : float or None
        For calcium input, the threshold in standard deviations that made the events.
    """

    counts: np.ndarray
    edges: np.ndarray
    unit_names: list[str]
    rates: np.ndarray
    source: str
    path: Path
    excluded: dict[str, list[str]] = field(default_factory=dict)
    event_threshold: float | None = None

    @property
    def bin_size(self) -> float:
        """Bin width in seconds."""
        return float(self.edges[1] - self.edges[0])

    @property
    def centers(self) -> np.ndarray:
        """Bin centres in seconds, shape (n_bins,)."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])


def check_counts(counts: np.ndarray, *, path: str | os.PathLike | None = None,
                 what: str = "binned counts") -> np.ndarray:
    """Check that binned counts are finite, non-negative integers; return them as int64.

    Parameters
    ----------
    counts : array-like of shape (n_bins, n_units)
        Counts per bin.
    path : path-like, optional
        The file the counts came from (named in the error).
    what : str, default="binned counts"
        What the array is, for the error message.

    Returns
    -------
    ndarray of int64 of shape (n_bins, n_units)

    Raises
    ------
    neurodata.errors.ValidationError
        On a wrong number of dimensions, NaN/inf, negative or non-integer values.

    Examples
    --------
    >>> check_counts([[0, 1], [2, 0]]).dtype
    dtype('int64')
    """
    errors = _errors()
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2:
        raise errors.ValidationError(
            f"{what} must have shape (n_bins, n_units); got shape {x.shape}", path=path)
    bad = ~np.isfinite(x)
    if bad.any():
        t, n = np.argwhere(bad)[0]
        raise errors.ValidationError(
            f"{what} contain NaN or infinite values (first at bin {t}, unit {n}); expected "
            "finite spike counts; drop or repair those samples before fitting", path=path)
    if (x < 0).any():
        t, n = np.argwhere(x < 0)[0]
        raise errors.ValidationError(
            f"{what} contain negative values (first {x[t, n]:g} at bin {t}, unit {n}); "
            "expected non-negative spike counts", path=path)
    if (x != np.round(x)).any():
        raise errors.ValidationError(
            f"{what} contain non-integer values; expected whole spike counts per bin",
            path=path)
    return x.astype(np.int64)


def _interval(t_lo: float, t_hi: float, t_start: float | None, t_stop: float | None,
              what: str, path: Path) -> tuple[float, float]:
    errors = _errors()
    a = t_lo if t_start is None else float(t_start)
    b = t_hi if t_stop is None else float(t_stop)
    if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
        raise errors.ValidationError(
            f"--t-start/--t-stop must give t_start < t_stop; got [{a:g}, {b:g}) s", path=path)
    if a < t_lo - 1e-9 or b > t_hi + 1e-9:
        raise errors.SliceError(
            f"time range [{a:g}, {b:g}) s is outside the {what}, which covers "
            f"[{t_lo:g}, {t_hi:g}] s; choose --t-start/--t-stop inside it", path=path)
    return a, b


def _events_from_calcium(ts: Any, threshold: float, path: Path, t0: float | None,
                         t1: float | None):
    """Onsets of supra-threshold deconvolved activity as spike trains (one unit per ROI)."""
    import neurodata as nd

    errors = _errors()
    a, b = _interval(float(ts.t0), float(ts.t_end), t0, t1, f"block {ts.name!r}", path)
    x = np.asarray(ts.slice(a, b), dtype=np.float64)
    times = np.asarray(ts.times, dtype=np.float64)
    times = times[(times >= a) & (times < b)][: x.shape[0]]
    bad = ~np.isfinite(x)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        raise errors.ValidationError(
            f"block {ts.name!r} has NaN or infinite values (first at t = {times[i]:.3f} s, "
            f"channel {ts.ch_names[c]!r}); expected finite deconvolved activity; restrict "
            "--t-start/--t-stop to a clean interval", path=path)
    sd = x.std(axis=0)
    above = x > threshold * np.where(sd > 0, sd, np.inf)
    # an event is the first frame of a supra-threshold run (rising edge), so a long
    # transient counts once, as a spike would
    onset = above & ~np.vstack([np.zeros((1, x.shape[1]), bool), above[:-1]])
    frame, roi = np.nonzero(onset)
    order = np.argsort(times[frame], kind="stable")
    return nd.SpikeTrains(times[frame][order], roi[order].astype(np.int32),
                          [str(n) for n in ts.ch_names], t_start=a, t_stop=b,
                          name=ts.name), (a, b)


def _pick_activity(rec: Any, block: str | None, path: Path):
    """("spikes", SpikeTrains) or ("calcium", TimeSeries) of a recording."""
    errors = _errors()
    if block is not None:
        if block in rec.spikes:
            return "spikes", rec.spikes[block]
        if block in rec.timeseries:
            return "calcium", rec.timeseries[block]
        raise errors.ValidationError(
            f"no spikes or timeseries block {block!r}; found spikes {sorted(rec.spikes)} and "
            f"timeseries {sorted(rec.timeseries)}; pass --block with one of those", path=path)
    if len(rec.spikes) == 1:
        return "spikes", next(iter(rec.spikes.values()))
    if len(rec.spikes) > 1:
        raise errors.ValidationError(
            f"found several spikes blocks {sorted(rec.spikes)}; expected one; pass --block NAME",
            path=path)
    if "deconvolved" in rec.timeseries:
        return "calcium", rec.timeseries["deconvolved"]
    raise errors.ValidationError(
        f"expected a /spikes block (or a 'deconvolved' calcium block); found no spikes and "
        f"timeseries {sorted(rec.timeseries) or 'none'}; convert a recording with spike "
        "times, or pass --block NAME to threshold a calcium block into events", path=path)


def load_counts(
    path: str | os.PathLike,
    bin_size: float,
    *,
    t_start: float | None = None,
    t_stop: float | None = None,
    units: Sequence[str] | None = None,
    min_rate: float | None = None,
    block: str | None = None,
    event_threshold: float = 2.0,
) -> BinnedActivity:
    """Bin the spikes (or calcium events) of a converted recording.

    Parameters
    ----------
    path : path-like
        A converted recording (``.h5``), or any file :func:`neurodata.load` reads.
    bin_size : float
        Bin width in seconds.  Bins are ``[t_start + k·bin_size, …)``; a remainder
        shorter than one bin at the end is dropped.
    t_start, t_stop : float, optional
        Interval to bin, in seconds of session time; default the whole block.
    units : sequence of str, optional
        Units (or ROIs) to keep, by name, in this order.
    min_rate : float, optional
        Keep only units firing at least this often over the interval, in Hz.
    block : str, optional
        The spikes block, or a timeseries block to threshold; default the only spikes
        block, else a calcium block named ``"deconvolved"``.
    event_threshold : float, default=2.0
        Calcium only: a frame is supra-threshold when the deconvolved value exceeds this
        many standard deviations of its ROI (over the interval); each run of
        supra-threshold frames counts as one event at its first frame.

    Returns
    -------
    BinnedActivity

    Raises
    ------
    neurodata.errors.NeurodataError
        Missing file, no spikes block, interval outside the data, bin larger than the
        interval, unknown unit names, fewer than 2 units left, NaN activity.

    Examples
    --------
    >>> import neurodata as nd
    >>> b = load_counts(nd.sample_path("nelpy_linear_track"), 0.1, t_start=5000,
    ...                 t_stop=5100, min_rate=1.0)
    >>> b.counts.shape
    (1000, 3)
    """
    import neurodata as nd

    errors = _errors()
    path = Path(path)
    if not (isinstance(bin_size, int | float) and math.isfinite(bin_size) and bin_size > 0):
        raise errors.ValidationError(f"--bin must be a positive number of seconds; got "
                                     f"{bin_size!r}")
    if not path.exists():
        raise nd.MissingFileError("no such recording; convert one with `neuroloom convert`",
                                  path=path)
    with contextlib.ExitStack() as stack:
        if path.suffix.lower() in (".h5", ".hdf5"):
            rec = stack.enter_context(nd.open(path))
        else:
            rec = nd.load(path)
        kind, obj = _pick_activity(rec, block, path)
        threshold = None
        if kind == "spikes":
            a, b = _interval(float(obj.t_start), float(obj.t_stop), t_start, t_stop,
                             f"spikes block {obj.name!r}", path)
            spikes = obj
            source = f"spikes/{obj.name}"
        else:
            if not (math.isfinite(event_threshold) and event_threshold > 0):
                raise errors.ValidationError(
                    f"--event-threshold must be a positive number of SDs; got "
                    f"{event_threshold!r}")
            spikes, (a, b) = _events_from_calcium(obj, event_threshold, path, t_start, t_stop)
            threshold = float(event_threshold)
            source = f"timeseries/{obj.name} (event onsets > {event_threshold:g} SD)"
        if bin_size > b - a:
            raise errors.ValidationError(
                f"--bin {bin_size:g} s is longer than the interval [{a:g}, {b:g}) s "
                f"({b - a:g} s); expected at least one whole bin; use a shorter --bin or a "
                "longer interval", path=path)
        counts, edges = nd.bin_spikes(spikes, bin_size, t_start=a, t_stop=b)
        names = [str(n) for n in spikes.unit_names]
    counts = check_counts(counts, path=path)
    span = edges[-1] - edges[0]
    rates = counts.sum(axis=0) / span
    keep = np.arange(len(names))
    excluded: dict[str, list[str]] = {}
    if units is not None:
        pos = {n: k for k, n in enumerate(names)}
        missing = [u for u in units if u not in pos]
        if missing:
            raise errors.ValidationError(
                f"--units names {missing[:5]} are not in {source}; found {names[:8]}"
                f"{' …' if len(names) > 8 else ''}", path=path)
        keep = np.array([pos[u] for u in units], dtype=int)
        excluded["not_selected"] = [n for n in names if n not in set(units)]
    if min_rate is not None:
        if not (math.isfinite(min_rate) and min_rate >= 0):
            raise errors.ValidationError(f"--min-rate must be >= 0 Hz; got {min_rate!r}")
        low = rates[keep] < min_rate
        excluded["below_min_rate"] = [names[k] for k in keep[low]]
        keep = keep[~low]
    if keep.size < 2:
        raise errors.ValidationError(
            f"{keep.size} unit(s) left in {source} after selection (--units/--min-rate); "
            f"expected at least 2 for coupling; lower --min-rate (rates range "
            f"{rates.min():.3g}–{rates.max():.3g} Hz) or name more units", path=path)
    return BinnedActivity(counts=counts[:, keep], edges=edges,
                          unit_names=[names[k] for k in keep], rates=rates[keep],
                          source=source, path=path, excluded=excluded,
                          event_threshold=threshold)


def split_blocks(n_bins: int, test_fraction: float = 0.2, n_blocks: int = 1,
                 ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Contiguous training and held-out bin ranges (a time split, never shuffled).

    The bins are cut into ``n_blocks`` equal chunks; the last ``test_fraction`` of each
    chunk is held out.  ``n_blocks=1`` holds out the end of the recording; more blocks
    spread the held-out data over the session (useful when behaviour changes over it).

    Parameters
    ----------
    n_bins : int
        Number of bins.
    test_fraction : float, default=0.2
        Fraction held out, in (0, 1).
    n_blocks : int, default=1
        Number of chunks.

    Returns
    -------
    train, test : list of (start, stop)
        Half-open bin index ranges, in time order.

    Examples
    --------
    >>> split_blocks(100, 0.2, 2)
    ([(0, 40), (50, 90)], [(40, 50), (90, 100)])
    """
    errors = _errors()
    if not (0 < test_fraction < 1):
        raise errors.ValidationError(f"--test-fraction must lie in (0, 1); got {test_fraction!r}")
    if int(n_blocks) != n_blocks or n_blocks < 1:
        raise errors.ValidationError(f"--test-blocks must be a positive integer; got "
                                     f"{n_blocks!r}")
    cuts = np.round(np.linspace(0, n_bins, int(n_blocks) + 1)).astype(int)
    train, test = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        m = int(round(test_fraction * (b - a)))
        train.append((int(a), int(b - m)))
        test.append((int(b - m), int(b)))
    return train, test


@dataclass
class ModelComparison:
    """Fitted models and their held-out scores (:func:`compare_models`).

    Attributes
    ----------
    hmm : connectome.HMMGLM
        The fitted HMM-GLM.
    glm : connectome.CouplingGLM
        The fitted single-state coupling GLM.
    mean_rate : ndarray of shape (n_units,)
        Homogeneous Poisson rate per unit (mean training count per bin).
    table : pandas.DataFrame
        One row per model: ``model``, ``ll_per_bin`` (held-out nats per bin, summed over
        units), ``bits_per_spike`` (gain over the homogeneous model), ``n_params``.
    n_test_bins, n_test_spikes : int
    """

    hmm: Any
    glm: Any
    mean_rate: np.ndarray
    table: Any
    n_test_bins: int
    n_test_spikes: int


def _poisson_ll(y: np.ndarray, mean: np.ndarray) -> float:
    from scipy.special import gammaln

    mean = np.clip(mean, 1e-12, None)
    return float((y * np.log(mean) - mean - gammaln(y + 1.0)).sum())


def compare_models(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    *,
    n_states: int = 2,
    prior: str | None = "onehot",
    window: int = 5,
    structural_prior: np.ndarray | None = None,
    structural_prior_mode: str = "init",
    n_init: int = 1,
    max_iter: int = 100,
    glm_alpha: float = 1e-3,
    random_state: int | None = 0,
    progress: bool = False,
) -> ModelComparison:
    """Fit HMM-GLM, single coupling GLM and homogeneous Poisson; score them held out.

    All three models are scored on the same held-out bins (every bin of every test
    block; the first bins of a block see an empty history, for all models alike).
    Bits per spike are ``(LL_model − LL_homogeneous) / (n_spikes · ln 2)``, the
    homogeneous model firing at each unit's mean training rate.

    Parameters
    ----------
    train, test : sequence of ndarray of shape (n_bins_i, n_units)
        Training and held-out count blocks (e.g. from :func:`split_blocks`).
    n_states : int, default=2
        Hidden states of the HMM-GLM.
    prior : {None, "gaussian", "onehot"}, default="onehot"
        HMM-GLM weight prior.
    window : int, default=5
        Coupling filter length in bins (both GLMs).
    structural_prior : ndarray of shape (n_units, n_units), optional
        Known connectome (post × pre) used as the prior; needs ``prior``.
    structural_prior_mode : {"init", "fixed"}, default="init"
    n_init : int, default=1
        HMM-GLM restarts.
    max_iter : int, default=100
        EM iterations per restart.
    glm_alpha : float, default=1e-3
        L2 penalty of the single GLM.
    random_state : int or None, default=0
    progress : bool, default=False
        Show the HMM-GLM's progress bar.

    Returns
    -------
    ModelComparison

    References
    ----------
    .. [1] C. Li, S. H. Kim, C. Rodgers, H. Choi and A. Wu, "One-hot generalized linear
       model for switching brain state discovery", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).poisson(0.5, (600, 3))
    >>> cmp = compare_models([x[:500]], [x[500:]], prior=None, max_iter=3)
    >>> list(cmp.table["model"])
    ['homogeneous Poisson', 'coupling GLM', 'HMM-GLM (2 states, prior none)']
    """
    import pandas as pd

    from connectome.glm import CouplingGLM, GLMInputError
    from connectome.hmmglm import HMMGLM

    errors = _errors()
    train, test = list(train), list(test)
    try:
        hmm = HMMGLM(n_states, prior=prior, window=window, structural_prior=structural_prior,
                     structural_prior_mode=structural_prior_mode, n_init=n_init,
                     max_iter=max_iter, random_state=random_state, verbose=progress)
        hmm.fit(train)
        glm = CouplingGLM(window=window, alpha=glm_alpha).fit(train)
        y = np.concatenate(test)
        ll = {"hmm": hmm.log_likelihood(test), "glm": glm.log_likelihood(test)}
    except GLMInputError as exc:
        raise errors.ValidationError(str(exc)) from exc
    mean_rate = np.concatenate(train).mean(axis=0)
    ll["homog"] = _poisson_ll(y, np.broadcast_to(mean_rate, y.shape))
    n_bins, n_spikes = y.shape[0], int(y.sum())
    n, k = y.shape[1], n_states
    n_basis = hmm.coef_.shape[-1]
    rows = [("homogeneous Poisson", ll["homog"], n),
            ("coupling GLM", ll["glm"], n + n * n * n_basis),
            (f"HMM-GLM ({k} states, prior {prior or 'none'})", ll["hmm"],
             k * (n + n * n * n_basis) + k * (k - 1) + (k - 1))]
    table = pd.DataFrame(
        [{"model": name, "ll_per_bin": v / n_bins,
          "bits_per_spike": (v - ll["homog"]) / (n_spikes * _LN2) if n_spikes else math.nan,
          "n_params": p} for name, v, p in rows])
    return ModelComparison(hmm=hmm, glm=glm, mean_rate=mean_rate, table=table,
                           n_test_bins=n_bins, n_test_spikes=n_spikes)


def _binned_median(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per-bin median of each column (NaN where a bin has no sample)."""
    import pandas as pd

    b = np.searchsorted(edges, times, side="right") - 1
    inside = (b >= 0) & (b < edges.size - 1)
    df = pd.DataFrame(values[inside]).groupby(b[inside]).median()
    out = np.full((edges.size - 1, values.shape[1]), np.nan)
    out[df.index.to_numpy()] = df.to_numpy()
    return out


def _nan_gaussian(x: np.ndarray, sigma_bins: float) -> np.ndarray:
    """Gaussian smoothing that ignores NaN (normalised by the weight of finite samples)."""
    from scipy.ndimage import gaussian_filter1d

    if sigma_bins <= 0:
        return x
    finite = np.isfinite(x)
    num = gaussian_filter1d(np.where(finite, x, 0.0), sigma_bins, mode="nearest")
    den = gaussian_filter1d(finite.astype(float), sigma_bins, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den < 1e-3] = np.nan
    return out


def behavior_per_bin(ts: Any, edges: np.ndarray, *, smooth: float = 0.5) -> Any:
    """A behaviour block on the spike bins: per-bin median of every channel, plus speed.

    Positions are reduced to one value per bin by the median (robust to single-frame
    tracking glitches), not interpolated: a bin without samples is NaN.  When the block
    has channels named ``x`` (and ``y``), the speed is the change of the per-bin position
    between neighbouring bins (central differences) divided by the time, smoothed by a
    Gaussian of ``smooth`` seconds (NaN-aware).

    Parameters
    ----------
    ts : neurodata.TimeSeries
        Behaviour block, regular or irregular (e.g. tracked position in px).
    edges : ndarray of shape (n_bins + 1,)
        Bin edges in seconds (:attr:`BinnedActivity.edges`).
    smooth : float, default=0.5
        Standard deviation of the Gaussian applied to the speed, in seconds (0: none).

    Returns
    -------
    pandas.DataFrame
        ``n_bins`` rows; one column per channel, plus ``speed`` when there is an ``x``
        channel.  ``DataFrame.attrs["units"]`` maps columns to units (speed:
        ``"<unit>/s"``).

    Examples
    --------
    >>> import neurodata as nd
    >>> rec = nd.load_sample("nelpy_linear_track")
    >>> b = load_counts(nd.sample_path("nelpy_linear_track"), 0.1, t_start=5000,
    ...                 t_stop=5100, min_rate=1.0)
    >>> list(behavior_per_bin(rec.timeseries["position"], b.edges).columns)
    ['x', 'y', 'speed']
    """
    import pandas as pd

    names = [str(n) for n in ts.ch_names]
    units = [str(u) for u in ts.channels["unit"]]
    times = np.asarray(ts.times, dtype=np.float64)
    sel = (times >= edges[0]) & (times <= edges[-1])
    i0, i1 = (np.flatnonzero(sel)[[0, -1]] + [0, 1]) if sel.any() else (0, 0)
    values = np.asarray(ts.slice_samples(int(i0), int(i1)), dtype=np.float64)
    med = _binned_median(times[i0:i1], values, edges)
    df = pd.DataFrame(med, columns=names)
    unit_of = dict(zip(names, units, strict=True))
    lower = {n.lower(): n for n in names}
    if "x" in lower:
        dt = float(edges[1] - edges[0])
        cols = [lower[c] for c in ("x", "y", "z") if c in lower]
        grads = [np.gradient(df[c].to_numpy(), dt) if len(df) > 1 else np.zeros(len(df))
                 for c in cols]
        speed = np.sqrt(np.sum(np.square(grads), axis=0))
        df["speed"] = _nan_gaussian(speed, smooth / dt)
        unit_of["speed"] = f"{unit_of[cols[0]]}/s"
    df.attrs["units"] = unit_of
    return df


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


def load_structural_matrix(path: str | os.PathLike, unit_names: Sequence[str]) -> np.ndarray:
    """A known ``(C, C)`` connectome (post × pre) for the selected units.

    Parameters
    ----------
    path : path-like
        ``.npy`` (a ``(C, C)`` array in the order of the selected units), ``.csv`` (a
        plain numeric matrix in that order, or a table whose header row and first column
        name the units), or a converted recording (``.h5``) whose ``/connectivity`` holds a
        matrix with node names (the first one is used; nodes are matched by name).
    unit_names : sequence of str
        The selected units, in column order.

    Returns
    -------
    ndarray of float64 of shape (C, C)

    Raises
    ------
    neurodata.errors.NeurodataError
        Missing file, unreadable file, wrong shape, units missing from the node names,
        NaN entries.

    Examples
    --------
    >>> w = load_structural_matrix("structural.npy", ["a", "b"])  # doctest: +SKIP
    """
    import pandas as pd

    import neurodata as nd

    errors = _errors()
    path = Path(path)
    names = list(unit_names)
    c = len(names)
    if not path.exists():
        raise nd.MissingFileError("no such structural connectome file", path=path)
    suffix = path.suffix.lower()
    nodes = None
    try:
        if suffix == ".npy":
            w = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            try:
                w = np.loadtxt(path, delimiter=",", ndmin=2)
            except ValueError:  # a header row: a table named by unit
                df = pd.read_csv(path, index_col=0)
                w, nodes = df.to_numpy(dtype=float), [str(n) for n in df.index]
                if [str(n) for n in df.columns] != nodes:
                    raise errors.ValidationError(
                        "expected the header row to name the same units as the first column, "
                        "in the same order", path=path) from None
        elif suffix in (".h5", ".hdf5"):
            with nd.open(path) as rec:
                if not rec.connectivity:
                    raise errors.ValidationError(
                        "expected a /connectivity matrix; found none; give a recording with "
                        "one, or a .npy/.csv matrix", path=path)
                conn = next(iter(rec.connectivity.values()))
                w, nodes = np.asarray(conn.weights, dtype=float), [str(n) for n in conn.nodes]
        else:
            raise errors.FormatError(
                f"expected a .npy, .csv or .h5 structural connectome; got {suffix!r}",
                path=path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, errors.NeurodataError):
            raise
        raise errors.FormatError(f"could not read a numeric matrix ({exc}); expected a "
                                 "(C, C) matrix of numbers", path=path) from exc
    w = np.asarray(w, dtype=float)
    if nodes is not None:
        pos = {n: k for k, n in enumerate(nodes)}
        missing = [n for n in names if n not in pos]
        if missing:
            raise errors.ValidationError(
                f"units {missing[:5]} are not among the connectome's nodes {nodes[:8]}; "
                "expected every selected unit to be named (choose --units accordingly)",
                path=path)
        idx = np.array([pos[n] for n in names])
        w = w[np.ix_(idx, idx)]
    if w.shape != (c, c):
        raise errors.ValidationError(
            f"structural connectome has shape {w.shape}; expected ({c}, {c}), one row and "
            f"column per selected unit ({', '.join(names[:5])}{' …' if c > 5 else ''})",
            path=path)
    if not np.isfinite(w).all():
        raise errors.ValidationError("structural connectome contains NaN or infinite values; "
                                     "expected finite weights", path=path)
    return w


def _behavior_block(path: Path, name: str | None) -> Any | None:
    """The behaviour block ``name`` (or the first block of modality behaviour), loaded."""
    import neurodata as nd

    errors = _errors()
    with contextlib.ExitStack() as stack:
        rec = (stack.enter_context(nd.open(path)) if path.suffix.lower() in (".h5", ".hdf5")
               else nd.load(path))
        if name is not None:
            if name not in rec.timeseries:
                raise errors.ValidationError(
                    f"no timeseries block {name!r} for --behavior-block; found "
                    f"{sorted(rec.timeseries) or 'none'}", path=path)
            return rec.timeseries[name].load()
        for ts in rec.timeseries.values():
            if ts.modality == "behavior":
                return ts.load()
    return None


def _save_fig(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f"figures/{path.name}"


def _figures(model: Any, proba: np.ndarray, data: BinnedActivity, behavior: Any | None,
             out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    from connectome.plotting_hmmglm import (
        plot_connectome,
        plot_state_posteriors,
        plot_state_weights,
    )

    fig_dir = out / "figures"
    fig_dir.mkdir()
    written = []
    trace, label = None, "behaviour"
    if behavior is not None and len(behavior.columns):
        col = "speed" if "speed" in behavior else behavior.columns[0]
        trace = behavior[col].to_numpy(dtype=float)
        label = f"{col} ({behavior.attrs.get('units', {}).get(col, '')})"
    fig, ax = plt.subplots(figsize=(10, 3))
    plot_state_posteriors(proba, bin_size=data.bin_size, behavior=trace, behavior_label=label,
                          ax=ax)
    ax.set_xlabel(f"time from {data.edges[0]:g} s (s)")
    written.append(_save_fig(fig, fig_dir / "posteriors.png"))
    written.append(_save_fig(plot_state_weights(model.weights_), fig_dir / "state_weights.png"))
    if model.prior is not None:
        title = ("learned prior (one-hot: most probable type)" if model.prior == "onehot"
                 else "learned prior mean")
        written.append(_save_fig(plot_connectome(model.connectome_, title=title),
                                 fig_dir / "learned_prior.png"))
    return written


def run_glmhmm(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole command for parsed arguments; returns the ``result.json`` content.

    Writes into a temporary folder beside ``args.output`` and renames it at the end, so an
    interrupted run leaves no partial output (and an earlier result stays untouched).
    """
    import pandas as pd

    from neurodata.log import progress_enabled
    from neurodata.provenance import sha256_file, software_versions

    errors = _errors()
    inp = Path(args.input)
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise errors.ValidationError(
            "output folder exists; pass --overwrite to replace it or choose another -o",
            path=out)
    if args.states < 1:
        raise errors.ValidationError(f"--states must be >= 1; got {args.states}")
    if args.restarts < 1 or args.max_iter < 1 or args.window < 1:
        raise errors.ValidationError("--restarts, --max-iter and --window must be >= 1")
    prior = None if args.prior == "none" else args.prior
    if args.structural and prior is None:
        raise errors.ValidationError(
            "--structural needs a prior to carry it; pass --prior gaussian or --prior onehot")
    units = [u.strip() for u in args.units.split(",") if u.strip()] if args.units else None
    data = load_counts(inp, args.bin, t_start=args.t_start, t_stop=args.t_stop, units=units,
                       min_rate=args.min_rate, block=args.block,
                       event_threshold=args.event_threshold)
    n_bins = data.counts.shape[0]
    if n_bins <= args.window:
        raise errors.ValidationError(
            f"{n_bins} bins of {args.bin:g} s; expected more than the filter window of "
            f"{args.window} bins; use a shorter --bin, a longer interval or a shorter --window",
            path=inp)
    train_idx, test_idx = split_blocks(n_bins, args.test_fraction, args.test_blocks)
    for what, ranges in (("training", train_idx), ("held-out", test_idx)):
        short = [b - a for a, b in ranges if b - a <= args.window]
        if short:
            raise errors.ValidationError(
                f"a {what} block has {min(short)} bins, not more than the filter window of "
                f"{args.window} bins; expected longer blocks; use fewer --test-blocks, a "
                "different --test-fraction or a shorter --bin", path=inp)
    train = [data.counts[a:b] for a, b in train_idx]
    test = [data.counts[a:b] for a, b in test_idx]
    if sum(int(t.sum()) for t in train) == 0:
        raise errors.ValidationError("the training bins hold no spikes; expected activity to "
                                     "fit; choose another interval or units", path=inp)
    structural = (load_structural_matrix(args.structural, data.unit_names)
                  if args.structural else None)
    behavior_ts = _behavior_block(inp, args.behavior_block)
    behavior = (behavior_per_bin(behavior_ts, data.edges, smooth=args.speed_smooth)
                if behavior_ts is not None else None)

    config = {
        "input": str(inp), "bin_s": args.bin, "states": args.states, "prior": args.prior,
        "window_bins": args.window, "units": units, "min_rate_hz": args.min_rate,
        "block": args.block, "event_threshold_sd": data.event_threshold,
        "t_start": float(data.edges[0]), "t_stop": float(data.edges[-1]),
        "requested_t_start": args.t_start, "requested_t_stop": args.t_stop,
        "test_fraction": args.test_fraction, "test_blocks": args.test_blocks,
        "restarts": args.restarts, "max_iter": args.max_iter, "seed": args.seed,
        "glm_alpha": args.glm_alpha, "behavior_block": args.behavior_block,
        "speed_smooth_s": args.speed_smooth, "run_speed": args.run_speed,
        "structural": str(args.structural) if args.structural else None,
        "structural_mode": args.structural_mode if args.structural else None,
    }
    inputs = [{"path": str(inp.absolute()), "size": inp.stat().st_size,
               "sha256": sha256_file(inp), "role": "recording"}]
    if args.structural:
        sp = Path(args.structural)
        inputs.append({"path": str(sp.absolute()), "size": sp.stat().st_size,
                       "sha256": sha256_file(sp), "role": "structural"})
    config_hash = hashlib.sha256(json.dumps(
        {"config": _jsonable(config), "inputs": [i["sha256"] for i in inputs]},
        sort_keys=True).encode()).hexdigest()

    cmp = compare_models(train, test, n_states=args.states, prior=prior, window=args.window,
                         structural_prior=structural,
                         structural_prior_mode=args.structural_mode, n_init=args.restarts,
                         max_iter=args.max_iter, glm_alpha=args.glm_alpha,
                         random_state=args.seed, progress=progress_enabled())
    model = cmp.hmm
    states = model.predict_states(data.counts)
    proba = model.predict_proba(data.counts)
    summary = state_behavior_summary(states, behavior, n_states=args.states,
                                     bin_size=data.bin_size, run_speed=args.run_speed)
    split = np.zeros(n_bins, dtype=object)
    for a, b in train_idx:
        split[a:b] = "train"
    for a, b in test_idx:
        split[a:b] = "test"

    out.parent.mkdir(parents=True, exist_ok=True)
    with staged_dir(out) as tmp:
        table = pd.DataFrame({"t_start": data.edges[:-1], "t_center": data.centers,
                              "split": split, "state": states})
        for k in range(args.states):
            table[f"p_state{k}"] = proba[:, k]
        if behavior is not None:
            for col in behavior.columns:
                table[col] = behavior[col].to_numpy()
        table.to_csv(tmp / "states.csv", index=False, float_format="%.6g")
        np.save(tmp / "weights.npy", model.weights_)
        files = ["states.csv", "weights.npy"]
        if prior is not None:
            np.save(tmp / "prior.npy", model.connectome_)
            files.append("prior.npy")
        files += _figures(model, proba, data, behavior, tmp)
        result = {
            "format": "neuroloom.glmhmm_result", "result_version": RESULT_VERSION,
            "command": "neuroloom glmhmm", "config": config, "config_hash": config_hash,
            "inputs": inputs, "input_provenance": _input_provenance(inp),
            "software": software_versions(*_SOFTWARE),
            "data": {"source": data.source, "n_units": len(data.unit_names),
                     "units": data.unit_names, "rates_hz": data.rates,
                     "excluded_units": data.excluded, "n_bins": n_bins,
                     "bin_s": data.bin_size,
                     "train_bins": [list(r) for r in train_idx],
                     "test_bins": [list(r) for r in test_idx],
                     "train_seconds": [[float(data.edges[a]), float(data.edges[b])]
                                       for a, b in train_idx],
                     "test_seconds": [[float(data.edges[a]), float(data.edges[b])]
                                      for a, b in test_idx],
                     "n_spikes": int(data.counts.sum()),
                     "behavior": None if behavior is None else list(behavior.columns)},
            "heldout": {"n_bins": cmp.n_test_bins, "n_spikes": cmp.n_test_spikes,
                        "models": cmp.table.to_dict(orient="records")},
            "fit": {"n_iter": int(model.n_iter_), "converged": bool(model.converged_),
                    "loss_curve": list(model.loss_curve_),
                    "train_log_likelihood": float(model.log_likelihood_),
                    "transmat": model.transmat_, "startprob": model.startprob_,
                    "glm_converged": bool(cmp.glm.converged_)},
            "states": summary,
            "files": {f: sha256_file(tmp / f) for f in files},
        }
        write_result(tmp / "result.json", result)
    return result


def cmd_glmhmm(args: argparse.Namespace) -> int:
    """Run ``neuroloom glmhmm`` and print the held-out table and state summary."""
    result = run_glmhmm(args)
    d, h = result["data"], result["heldout"]
    print(f"wrote {Path(args.output)} ({d['n_units']} units, {d['n_bins']} bins of "
          f"{d['bin_s']:g} s; held out {h['n_bins']} bins, {h['n_spikes']} spikes)")
    for row in h["models"]:
        bps = "n/a" if row["bits_per_spike"] is None else f"{row['bits_per_spike']:+.4f}"
        print(f"  {row['model']:<36} held-out {row['ll_per_bin']:.4f} nats/bin, "
              f"{bps} bits/spike")
    s = result["states"]
    for k, occ in enumerate(s["occupancy"]):
        line = f"  state {k}: occupancy {occ:.3f}, mean dwell {s['mean_dwell_s'][k]:.2f} s"
        speed = (s.get("behavior") or {}).get("speed")
        if speed is not None and speed["per_state"]["mean"][k] is not None:
            line += f", mean speed {speed['per_state']['mean'][k]:.1f} {speed['unit']}"
        print(line)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``glmhmm`` subcommand."""
    p = subparsers.add_parser(
        "glmhmm", help="state-switching coupling GLM (HMM-GLM) on binned spikes",
        description="Bin the spikes of a converted recording (or onsets of thresholded "
                    "deconvolved calcium activity), fit an HMM-GLM with K states (Li et "
                    "al., ICLR 2024; no prior, Gaussian or one-hot prior), a single "
                    "coupling GLM and a homogeneous Poisson model on the training time "
                    "blocks, compare held-out log-likelihoods, decode states and relate "
                    "them to behaviour.  Writes result.json, states.csv, weights.npy and "
                    "figures into OUTDIR.")
    p.add_argument("input", help="converted recording (.h5) with a /spikes block")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--states", type=int, required=True, help="number of hidden states K")
    p.add_argument("--bin", type=float, default=0.05, help="bin width in seconds (0.05)")
    p.add_argument("--prior", choices=("none", "gaussian", "onehot"), default="onehot",
                   help="weight prior of the HMM-GLM (default onehot)")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--units", metavar="NAMES", help="comma-separated unit names to use")
    sel.add_argument("--min-rate", type=float, metavar="HZ",
                     help="use units firing at least HZ over the interval")
    p.add_argument("--t-start", type=float, default=None, help="start of the interval (s)")
    p.add_argument("--t-stop", type=float, default=None, help="end of the interval (s)")
    p.add_argument("--block", help="spikes block, or a calcium block to threshold "
                                   "(default: the only spikes block, else 'deconvolved')")
    p.add_argument("--event-threshold", type=float, default=2.0, metavar="SD",
                   help="calcium: event when deconvolved activity exceeds SD × its std "
                        "(default 2)")
    p.add_argument("--behavior-block", metavar="NAME",
                   help="behaviour block to relate states to (default: the first block of "
                        "modality behavior); x/y channels give a running speed")
    p.add_argument("--speed-smooth", type=float, default=0.5, metavar="S",
                   help="Gaussian smoothing of the speed, s (default 0.5)")
    p.add_argument("--run-speed", type=float, default=None, metavar="V",
                   help="speed threshold for running vs rest (behaviour unit/s)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="fraction of bins held out (default 0.2)")
    p.add_argument("--test-blocks", type=int, default=1,
                   help="held-out part split over this many evenly spaced contiguous "
                        "blocks (default 1: the end of the interval)")
    p.add_argument("--window", type=int, default=5, help="coupling filter length in bins (5)")
    p.add_argument("--restarts", type=int, default=1, help="HMM-GLM restarts (default 1)")
    p.add_argument("--max-iter", type=int, default=100, help="EM iterations per restart")
    p.add_argument("--glm-alpha", type=float, default=1e-3,
                   help="L2 penalty of the single coupling GLM (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--structural", metavar="FILE",
                   help="known (C, C) connectome, post × pre: .npy/.csv in unit order, or "
                        "a recording (.h5) with /connectivity named by unit")
    p.add_argument("--structural-mode", choices=("fixed", "init"), default="init",
                   help="keep the structural prior fixed, or only initialise from it")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTDIR")
    p.set_defaults(func=cmd_glmhmm)
