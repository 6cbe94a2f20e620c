"""Sliding-window pairwise affinities between neurons → a pairs × windows × animals tensor.

The first step of Dyballa et al. (2024): for every pair of neurons and every time window,
a non-negative affinity between their traces.  Stacking windows and animals gives the
tensor that :func:`connectome.ntf.nonneg_cp` factorizes.

Conventions
-----------
* Traces are time-major arrays of shape ``(n_times, n_neurons)`` (any unit, e.g. ΔF/F);
  one array per animal.
* Neurons are identified by name.  Animals with different neuron sets are aligned on the
  union of names, in order of first appearance; a pair that is not recorded in an animal,
  or a window that one of its neurons has NaNs in, is *masked* (``mask`` False, value NaN),
  never zero-filled.
* Pairs are the upper triangle ``i < j`` of the union in row-major order:
  (0, 1), (0, 2), …, (0, n−1), (1, 2), …, (n−2, n−1), i.e. ``np.triu_indices(n, k=1)``;
  pair ``p`` of neurons ``i < j`` has index ``p = i·n − i·(i+1)/2 + (j − i − 1)``.
* Window ``w`` covers samples ``[w·step, w·step + window)``.  Windows run over the longest
  recording; windows past the end of a shorter recording are masked for that animal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConnectomeInputError

__all__ = [
    "AffinityTensor",
    "AffinityInputError",
    "sliding_affinity",
    "pair_indices",
    "fold_pairs",
    "AFFINITY_METHODS",
]

AFFINITY_METHODS = ("correlation", "kernel", "differential")
# windows are processed in chunks so that the (chunk, n, n) similarity stack stays small
_CHUNK_BYTES = 64 * 2**20


class AffinityInputError(ConnectomeInputError):
    """Invalid traces, neuron names or window parameters for the affinity tensor."""


@dataclass
class AffinityTensor:
    """Non-negative affinities of neuron pairs in sliding windows, for several animals.

    Attributes
    ----------
    values : ndarray of shape (n_pairs, n_windows, n_animals)
        Affinities (dimensionless, ≥ 0); NaN where ``mask`` is False.
    mask : ndarray of bool, same shape
        True where the entry is observed.  Pass it to ``nonneg_cp(..., mask=mask)``.
    neuron_names : list of str
        The union of neuron names; ``pairs`` index into it.
    pairs : ndarray of int, shape (n_pairs, 2)
        ``(i, j)`` with ``i < j`` for each pair, in ``np.triu_indices`` order.
    window_starts : ndarray of int, shape (n_windows,)
        First sample of each window.
    window_times : ndarray of float, shape (n_windows,)
        Centre of each window in seconds (``t0 + (start + window / 2) / rate``), or in
        samples when no rate was given.
    animal_names : list of str
    method : str
    window, step : int
        Window length and step in samples.
    rate : float or None
        Sampling rate in Hz.
    """

    values: np.ndarray
    mask: np.ndarray
    neuron_names: list[str]
    pairs: np.ndarray
    window_starts: np.ndarray
    window_times: np.ndarray
    animal_names: list[str]
    method: str
    window: int
    step: int
    rate: float | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.values.shape)  # type: ignore[return-value]

    @property
    def n_neurons(self) -> int:
        return len(self.neuron_names)

    @property
    def pair_names(self) -> list[tuple[str, str]]:
        """``(name_i, name_j)`` for every pair, in tensor order."""
        return [(self.neuron_names[i], self.neuron_names[j]) for i, j in self.pairs]

    def filled(self, value: float = 0.0) -> np.ndarray:
        """Copy of ``values`` with masked entries set to ``value`` (for plotting)."""
        return np.where(self.mask, self.values, value)

    def fold(self, pair_vector: np.ndarray, diagonal: float = 0.0) -> np.ndarray:
        """Symmetric (n_neurons, n_neurons) matrix from a length-n_pairs vector."""
        return fold_pairs(pair_vector, self.n_neurons, diagonal=diagonal)

    def to_dict(self) -> dict[str, Any]:
        """Metadata (no arrays) as plain Python, JSON-serialisable."""
        return {
            "shape": list(self.shape),
            "neuron_names": list(self.neuron_names),
            "animal_names": list(self.animal_names),
            "method": self.method,
            "window": int(self.window),
            "step": int(self.step),
            "rate": self.rate,
            "observed_fraction": float(self.mask.mean()),
        }

    def save(self, path: str | Path) -> Path:
        """Write arrays and metadata to an ``.npz`` file; returns its path."""
        path = Path(path)
        np.savez(
            path,
            values=self.values,
            mask=self.mask,
            pairs=self.pairs,
            window_starts=self.window_starts,
            window_times=self.window_times,
            meta=np.array(json.dumps(self.to_dict())),
        )
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> AffinityTensor:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as d:
            meta = json.loads(str(d["meta"]))
            return cls(
                values=d["values"],
                mask=d["mask"],
                neuron_names=meta["neuron_names"],
                pairs=d["pairs"],
                window_starts=d["window_starts"],
                window_times=d["window_times"],
                animal_names=meta["animal_names"],
                method=meta["method"],
                window=meta["window"],
                step=meta["step"],
                rate=meta["rate"],
            )


def pair_indices(n_neurons: int) -> np.ndarray:
    """``(n_pairs, 2)`` array of the pairs ``i < j`` in tensor order (row-major triangle)."""
    i, j = np.triu_indices(n_neurons, k=1)
    return np.stack([i, j], axis=1)


def fold_pairs(pair_vector: np.ndarray, n_neurons: int, *, diagonal: float = 0.0) -> np.ndarray:
    """Fold a vector over pairs back into a symmetric neuron × neuron matrix.

    Parameters
    ----------
    pair_vector : ndarray of shape (n_neurons * (n_neurons - 1) / 2,)
        Values in the pair order of :func:`pair_indices`.
    n_neurons : int
    diagonal : float, default=0.0
        Value put on the diagonal.

    Returns
    -------
    ndarray of shape (n_neurons, n_neurons)

    Examples
    --------
    >>> fold_pairs(np.array([1.0, 2.0, 3.0]), 3)
    array([[0., 1., 2.],
           [1., 0., 3.],
           [2., 3., 0.]])
    """
    v = np.asarray(pair_vector, dtype=float)
    n_pairs = n_neurons * (n_neurons - 1) // 2
    if v.shape != (n_pairs,):
        raise ValueError(
            f"pair_vector must have shape ({n_pairs},) for n_neurons={n_neurons}, got {v.shape}"
        )
    out = np.full((n_neurons, n_neurons), float(diagonal))
    i, j = np.triu_indices(n_neurons, k=1)
    out[i, j] = v
    out[j, i] = v
    return out


def _as_animals(
    traces: Any, neuron_names: Any, animal_names: Any
) -> tuple[list[np.ndarray], list[list[str]], list[str]]:
    if isinstance(traces, np.ndarray) and traces.ndim == 2:
        traces = [traces]
        if neuron_names is not None and len(neuron_names) and isinstance(neuron_names[0], str):
            neuron_names = [neuron_names]
    elif isinstance(traces, np.ndarray) and traces.ndim == 3:
        traces = list(traces)
    arrays = []
    for a, t in enumerate(traces):
        arr = np.asarray(t, dtype=float)
        if arr.ndim != 2:
            raise AffinityInputError(
                f"traces of animal {a} must be 2-D (n_times, n_neurons), got shape {arr.shape}"
            )
        arrays.append(arr)
    if not arrays:
        raise AffinityInputError("traces is empty: give at least one (n_times, n_neurons) array")
    if neuron_names is not None and len(neuron_names) and isinstance(neuron_names[0], str):
        neuron_names = [list(neuron_names)] * len(arrays)  # one list shared by every animal
    if neuron_names is None:
        sizes = {a.shape[1] for a in arrays}
        if len(sizes) != 1:
            raise AffinityInputError(
                f"animals have different neuron counts {sorted(sizes)}: pass neuron_names to "
                "align them by name"
            )
        names = [[str(k) for k in range(arrays[0].shape[1])] for _ in arrays]
    else:
        if len(neuron_names) != len(arrays):
            raise AffinityInputError(
                f"neuron_names must hold one name list per animal ({len(arrays)}), got "
                f"{len(neuron_names)}"
            )
        names = []
        for a, (arr, nm) in enumerate(zip(arrays, neuron_names, strict=False)):
            nm = [str(x) for x in nm]
            if len(nm) != arr.shape[1]:
                raise AffinityInputError(
                    f"animal {a}: {len(nm)} neuron names for {arr.shape[1]} trace columns"
                )
            if len(set(nm)) != len(nm):
                dup = sorted({x for x in nm if nm.count(x) > 1})
                raise AffinityInputError(f"animal {a}: duplicate neuron names {dup[:5]}")
            names.append(nm)
    if animal_names is None:
        animal_names = [f"animal{a}" for a in range(len(arrays))]
    animal_names = [str(x) for x in animal_names]
    if len(animal_names) != len(arrays):
        raise AffinityInputError(
            f"animal_names has {len(animal_names)} entries for {len(arrays)} animals"
        )
    return arrays, names, animal_names


def _check_neurons(arr: np.ndarray, names: list[str], animal: str) -> None:
    finite = np.isfinite(arr)
    all_nan = ~finite.any(axis=0)
    if all_nan.any():
        bad = [names[k] for k in np.flatnonzero(all_nan)]
        raise AffinityInputError(
            f"{animal}: neurons with no finite sample (all NaN): {bad[:10]}; drop them or "
            "leave them out of neuron_names"
        )
    with np.errstate(invalid="ignore"):
        span = np.nanmax(arr, axis=0) - np.nanmin(arr, axis=0)
    const = span <= 0
    if const.any():
        bad = [names[k] for k in np.flatnonzero(const)]
        raise AffinityInputError(
            f"{animal}: constant neurons (zero variance over the whole recording): {bad[:10]}; "
            "their affinity is undefined — drop them"
        )


def _window_similarity(
    seg: np.ndarray, method: str, bandwidth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Affinity stack for windows ``seg`` of shape (n_w, window, n) → (n_w, n, n), valid."""
    valid_neuron = np.isfinite(seg).all(axis=1)  # (n_w, n): neuron fully observed in window
    x = np.where(np.isfinite(seg), seg, 0.0)
    mean = x.mean(axis=1, keepdims=True)
    x = x - mean
    std = np.sqrt((x * x).mean(axis=1))  # (n_w, n)
    # flat within a window: correlation undefined there, so mask rather than guess
    scale = float(np.max(std)) if std.size else 1.0
    valid_neuron &= std > 1e-12 * max(scale, 1e-300)
    z = x / np.where(valid_neuron, std, 1.0)[:, None, :]
    r = np.einsum("wti,wtj->wij", z, z, optimize=True) / seg.shape[1]
    np.clip(r, -1.0, 1.0, out=r)
    valid = valid_neuron[:, :, None] & valid_neuron[:, None, :]
    if method == "correlation":
        aff = np.maximum(r, 0.0)
    else:
        # ‖z_i − z_j‖² / window = 2 (1 − r_ij) for window-z-scored traces
        aff = np.exp(-(1.0 - r) / bandwidth**2)
        if method == "differential":
            aff = _differential(aff, valid)
    return aff, valid


def _differential(s: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Excess of S_ij over the degree null s_i s_j / s̄, in units of s̄ (see docstring)."""
    n = s.shape[1]
    off = valid & ~np.eye(n, dtype=bool)[None]
    s0 = np.where(off, s, 0.0)
    cnt = off.sum(axis=2)
    s_i = s0.sum(axis=2) / np.maximum(cnt, 1)  # (n_w, n) mean similarity to the others
    has = cnt > 0
    s_bar = (s_i * has).sum(axis=1) / np.maximum(has.sum(axis=1), 1)  # (n_w,)
    s_bar = np.where(s_bar > 0, s_bar, 1.0)[:, None, None]
    expected = s_i[:, :, None] * s_i[:, None, :] / s_bar
    return np.maximum(s - expected, 0.0) / s_bar


def sliding_affinity(
    traces: np.ndarray | Sequence[np.ndarray],
    *,
    window: int,
    step: int | None = None,
    method: str = "differential",
    neuron_names: Sequence[str] | Sequence[Sequence[str]] | None = None,
    animal_names: Sequence[str] | None = None,
    rate: float | None = None,
    t0: float = 0.0,
    bandwidth: float = 0.5,
) -> AffinityTensor:
    r"""Sliding-window pairwise affinities of one or many animals' traces.

    For animal a and window w (samples ``[w·step, w·step + window)``), each neuron's trace
    is z-scored within the window, giving the Pearson correlation ``r_ij`` of every pair.
    The affinity is then

    * ``"correlation"``: the rectified correlation ``max(r_ij, 0)``;
    * ``"kernel"``: a Gaussian (RBF) kernel on the window-z-scored traces,
      ``S_ij = exp(−‖z_i − z_j‖² / (2 σ² T)) = exp(−(1 − r_ij) / σ²)`` with ``T`` the
      window length and ``σ = bandwidth`` (dimensionless: traces are z-scored).  It is a
      smooth, strictly positive version of the rectified correlation (anti-correlated pairs
      get ≈ ``exp(−2/σ²)``, not a hard zero);
    * ``"differential"`` (default): how much more similar a pair is than each neuron's
      overall similarity predicts,

      .. math::

          D_{ij} = \frac{\max\left(0,\; S_{ij} - s_i s_j / \bar s\right)}{\bar s},
          \qquad s_i = \frac{1}{n-1}\sum_{k \ne i} S_{ik}, \quad \bar s = \frac1n \sum_i s_i,

      with ``S`` the kernel affinity of that window and ``n`` the neurons observed in it.
      ``s_i s_j / s̄`` is the similarity expected if pairs were similar only because their
      neurons are broadly similar to everyone (the configuration null of modularity,
      applied to similarities).  Subtracting it removes window-wide synchrony (a global
      state change lifts every correlation) and "hub" neurons; dividing by ``s̄`` puts
      every window on the same scale, so windows where the whole network co-fluctuates do
      not dominate the factorization.  This follows the idea of Dyballa et al.'s
      differential affinity (a pair's similarity relative to what its neurons' similarity
      to all others predicts, normalized per window); the exact formula is ours.

    Parameters
    ----------
    traces : ndarray of shape (n_times, n_neurons), or a sequence of them (one per animal)
        Time-major activity (any unit).  NaNs mark missing samples: a neuron with a NaN
        in a window has its pairs masked in that window.
    window : int
        Window length in samples (≥ 3, at most the shortest recording).
    step : int, optional
        Step between window starts in samples; default ``window`` (no overlap).
    method : {"differential", "correlation", "kernel"}, default="differential"
    neuron_names : sequence of str, or one sequence per animal, optional
        Names of the trace columns; animals are aligned on them.  A single sequence applies
        to every animal.  Without names every animal must have the same neurons in the same
        order.
    animal_names : sequence of str, optional
        Default "animal0", "animal1", ...
    rate : float, optional
        Sampling rate in Hz, used only for ``window_times`` (seconds).
    t0 : float, default=0.0
        Time of the first sample in seconds.
    bandwidth : float, default=0.5
        Kernel width σ for "kernel" and "differential" (> 0).

    Returns
    -------
    AffinityTensor
        ``values`` (n_pairs, n_windows, n_animals) with NaN where masked, the ``mask``,
        names, pairs and window times.

    Raises
    ------
    AffinityInputError
        (a ``ValueError``) for all-NaN or constant neurons, a window longer than a
        recording, mismatched names, or bad parameters.

    References
    ----------
    .. [1] L. Dyballa, S. Lang, A. Haslund-Gourley, E. Yemini and S. W. Zucker, "Learning
       dynamic representations of the functional connectome in neurobiological networks",
       ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> traces = [rng.normal(size=(200, 5)), rng.normal(size=(150, 4))]
    >>> names = [["a", "b", "c", "d", "e"], ["a", "b", "c", "f"]]
    >>> aff = sliding_affinity(traces, window=50, neuron_names=names, rate=2.0)
    >>> aff.values.shape   # 6 neurons → 15 pairs, 4 windows, 2 animals
    (15, 4, 2)
    >>> bool(aff.mask[:, 3, 1].any())  # the second animal has only 3 windows
    False
    """
    if method not in AFFINITY_METHODS:
        raise AffinityInputError(f"method must be one of {AFFINITY_METHODS}, got {method!r}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 3:
        raise AffinityInputError(
            f"window must be an integer number of samples >= 3, got {window!r}"
        )
    step = window if step is None else step
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 1:
        raise AffinityInputError(f"step must be an integer number of samples >= 1, got {step!r}")
    if not (np.isfinite(bandwidth) and bandwidth > 0):
        raise AffinityInputError(f"bandwidth must be a positive number, got {bandwidth!r}")
    if rate is not None and not (np.isfinite(rate) and rate > 0):
        raise AffinityInputError(f"rate must be a positive number of Hz, got {rate!r}")
    arrays, names, animals = _as_animals(traces, neuron_names, animal_names)
    for arr, nm, an in zip(arrays, names, animals, strict=False):
        if window > arr.shape[0]:
            raise AffinityInputError(
                f"window={window} samples is longer than the recording of {an} "
                f"({arr.shape[0]} samples); use a shorter window"
            )
        _check_neurons(arr, nm, an)

    union: list[str] = []
    index: dict[str, int] = {}
    for nm in names:
        for x in nm:
            if x not in index:
                index[x] = len(union)
                union.append(x)
    n = len(union)
    if n < 2:
        raise AffinityInputError(f"need at least 2 neurons, got {n}")
    n_samples = max(a.shape[0] for a in arrays)
    starts = np.arange(0, n_samples - window + 1, step)
    n_pairs = n * (n - 1) // 2
    values = np.full((n_pairs, starts.size, len(arrays)), np.nan)
    mask = np.zeros(values.shape, dtype=bool)
    iu, ju = np.triu_indices(n, k=1)

    for a, (arr, nm) in enumerate(zip(arrays, names, strict=False)):
        cols = np.array([index[x] for x in nm])
        m = arr.shape[1]
        # pairs of this animal's columns, mapped to union pair indices
        li, lj = np.triu_indices(m, k=1)
        gi, gj = cols[li], cols[lj]
        lo, hi = np.minimum(gi, gj), np.maximum(gi, gj)
        gpair = lo * n - lo * (lo + 1) // 2 + (hi - lo - 1)
        n_win = int(np.sum(starts + window <= arr.shape[0]))
        view = np.lib.stride_tricks.sliding_window_view(arr, window, axis=0)[starts[:n_win]]
        view = np.swapaxes(view, 1, 2)  # (n_win, window, m)
        chunk = max(1, _CHUNK_BYTES // (8 * max(m * m, window * m) * 3))
        for s in range(0, n_win, chunk):
            e = min(s + chunk, n_win)
            aff, valid = _window_similarity(np.asarray(view[s:e]), method, bandwidth)
            vals = aff[:, li, lj]  # (chunk, m_pairs)
            ok = valid[:, li, lj]
            values[gpair, s:e, a] = np.where(ok, vals, np.nan).T
            mask[gpair, s:e, a] = ok.T
    if rate is None:
        times = starts + window / 2.0
    else:
        times = t0 + (starts + window / 2.0) / rate
    return AffinityTensor(
        values=values,
        mask=mask,
        neuron_names=union,
        pairs=np.stack([iu, ju], axis=1),
        window_starts=starts,
        window_times=np.asarray(times, dtype=float),
        animal_names=animals,
        method=method,
        window=int(window),
        step=int(step),
        rate=None if rate is None else float(rate),
    )
