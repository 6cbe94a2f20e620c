"""Cross-validation by run or session that never splits repeats of one stimulus.

fMRI and MEG designs show some stimuli several times (NSD's shared images three times;
the 'test' images of THINGS-MEG twelve times).  A decoder that saw a repeat in training
can retrieve that stimulus by memory, so a fold's training set must hold no sample of a
stimulus in its test set.  :class:`RunSplit` is leave-one-group-out (group = run or
session) with that guarantee: training samples of a stimulus that also appears in the
test group are dropped (``on_repeat="drop"``), or groups that share stimuli are merged
and held out together (``"merge"``), or the split refuses (``"error"``).
:func:`check_split` verifies a split and is what the tests use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from neurodata.log import logger

from .errors import BrainDecodingError

__all__ = ["RunSplit", "check_split"]


def check_split(train: Sequence[int], test: Sequence[int], groups: Sequence[Any],
                stimulus_ids: Sequence[Any] | None = None) -> None:
    """Raise unless no group and no stimulus has samples in both ``train`` and ``test``.

    Raises
    ------
    BrainDecodingError
        Naming the run(s) or stimuli found on both sides.
    """
    groups = np.asarray(groups)
    train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
    both = np.intersect1d(groups[train], groups[test])
    if both.size:
        raise BrainDecodingError(f"runs/sessions {both[:5].tolist()} are in both train and "
                                 "test; a fold must hold out whole runs")
    if stimulus_ids is not None:
        stim = np.asarray(stimulus_ids)
        shared = np.intersect1d(stim[train], stim[test])
        if shared.size:
            raise BrainDecodingError(
                f"{shared.size} stimuli have repeats in both train and test (first: "
                f"{shared[:5].tolist()}); use RunSplit(on_repeat='drop' or 'merge')")


def _merge_groups(groups: np.ndarray, stim: np.ndarray) -> np.ndarray:
    """Union-find over groups that share a stimulus; returns a merged group label."""
    ug, ginv = np.unique(groups, return_inverse=True)
    parent = np.arange(ug.size)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    _, sinv = np.unique(stim, return_inverse=True)
    first: dict[int, int] = {}
    for g, s in zip(ginv, sinv, strict=True):
        if s in first:
            ra, rb = find(first[s]), find(int(g))
            if ra != rb:
                parent[rb] = ra
        else:
            first[int(s)] = int(g)
    roots = np.array([find(i) for i in range(ug.size)])
    return roots[ginv]


class RunSplit:
    """Leave-one-run-out (or -session-out) that keeps every stimulus on one side.

    Parameters
    ----------
    stimulus_ids : sequence or None
        Stimulus of each sample (same order as the ``X`` given to :meth:`split`); ``None``
        when every sample is its own stimulus (plain leave-one-group-out).
    on_repeat : {"drop", "merge", "error"}, default="drop"
        What to do when a test run's stimulus also occurs in other runs: drop those
        training samples, merge such runs into one held-out group, or raise.

    Examples
    --------
    >>> runs = [0, 0, 1, 1, 2, 2]; stim = ["a", "b", "a", "c", "d", "e"]
    >>> [(tr.tolist(), te.tolist()) for tr, te in RunSplit(stim).split(runs, groups=runs)][0]
    ([3, 4, 5], [0, 1])
    """

    def __init__(self, stimulus_ids: Sequence[Any] | None = None, *, on_repeat: str = "drop"):
        self.stimulus_ids = stimulus_ids
        self.on_repeat = on_repeat

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if groups is None:
            raise ValueError("RunSplit needs groups (the run or session of each sample)")
        g = np.asarray(groups)
        if self.stimulus_ids is not None and self.on_repeat == "merge":
            g = _merge_groups(g, np.asarray(self.stimulus_ids))
        return int(np.unique(g).size)

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` index arrays, one fold per (merged) group."""
        if self.on_repeat not in ("drop", "merge", "error"):
            raise ValueError(f"on_repeat must be 'drop', 'merge' or 'error'; got "
                             f"{self.on_repeat!r}")
        if groups is None:
            raise ValueError("RunSplit needs groups (the run or session of each sample)")
        groups = np.asarray(groups)
        n = len(groups)
        if X is not None and len(X) != n:
            raise BrainDecodingError(f"{len(X)} samples but {n} group labels")
        stim = None if self.stimulus_ids is None else np.asarray(self.stimulus_ids)
        if stim is not None and stim.shape[0] != n:
            raise BrainDecodingError(f"{stim.shape[0]} stimulus ids for {n} samples; expected "
                                     "one per sample (stimulus/event count mismatch)")
        folds = groups if (stim is None or self.on_repeat != "merge") \
            else _merge_groups(groups, stim)
        uniq = np.unique(folds)
        if uniq.size < 2:
            raise BrainDecodingError(f"only {uniq.size} run/session group(s) after merging "
                                     "repeats; cross-validation needs at least 2")
        for g in uniq:
            test = np.flatnonzero(folds == g)
            train = np.flatnonzero(folds != g)
            if stim is not None:
                leak = np.isin(stim[train], stim[test])
                if leak.any():
                    if self.on_repeat == "error":
                        raise BrainDecodingError(
                            f"run {g!r}: {int(leak.sum())} training samples repeat a test "
                            "stimulus; use on_repeat='drop' or 'merge'")
                    logger.info("run %r: dropped %d training samples that repeat a test "
                                "stimulus", g, int(leak.sum()))
                    train = train[~leak]
            yield train, test
