"""Retrieval evaluation of brain → embedding decoders.

A decoder predicts one embedding per trial; we ask whether the prediction is closer
(cosine) to its own stimulus than to other candidates:

- :func:`subset_topk` — the MindEye protocol (Scotti et al. 2023, "Reconstructing the
  mind's eye: fMRI-to-image with contrastive learning and diffusion priors", NeurIPS;
  github.com/MedARC-AI/fMRI-reconstruction-NSD): top-k among ``n_candidates`` items
  drawn at random, averaged over ``n_subsets`` draws with a seed (300 × 30 in the
  paper), in both directions: brain → stimulus (rank the candidates' stimulus
  embeddings for each prediction) and stimulus → brain (rank the predictions for each
  stimulus embedding);
- :func:`two_way_identification` — fraction of (i, j) pairs where prediction ``i`` is
  closer to stimulus ``i`` than to stimulus ``j`` (chance 0.5);
- :func:`candidate_topk` — retrieval among a fixed candidate set (e.g. the 8 category
  captions of Haxby 2001), with the index of the retrieved candidate;
- :func:`caption_similarity` — cosine between the embeddings of the retrieved and the
  true captions (a graded score: "a photo of a cat" for a dog is better than "a house");
- :func:`permutation_chance` — the same score with the trial ↔ stimulus pairing
  shuffled: null mean, 95 % interval and a permutation p-value (Ojala & Garriga 2010,
  JMLR 11);
- :func:`evaluate_retrieval` — all of the above in one dict, with the record of the
  embedding space.

Ties count against the decoder: a candidate with exactly the true item's similarity
ranks above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_random_state

from .errors import BrainDecodingError

__all__ = ["check_embeddings", "cosine_similarity", "subset_topk", "candidate_topk",
           "two_way_identification", "caption_similarity", "permutation_chance",
           "evaluate_retrieval", "average_repeats"]


def check_embeddings(E: Any, what: str = "embeddings", *, n_rows: int | None = None
                     ) -> np.ndarray:
    """Return ``E`` as a finite float array of shape (n, d), or raise.

    Raises
    ------
    BrainDecodingError
        Not 2-D, NaN or infinite values (the rows are named), or ``n_rows`` not matched.
    """
    E = np.asarray(E)
    if E.ndim != 2:
        raise BrainDecodingError(f"{what} must be a 2-D array (n_items, dim); got shape "
                                 f"{E.shape}")
    if not np.issubdtype(E.dtype, np.number):
        raise BrainDecodingError(f"{what} must be numeric; got dtype {E.dtype}")
    bad = ~np.isfinite(E).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise BrainDecodingError(
            f"{what} contain NaN or infinite values in {rows.size} of {E.shape[0]} rows "
            f"(first: {rows[:5].tolist()}); recompute or drop those items before decoding")
    if n_rows is not None and E.shape[0] != n_rows:
        raise BrainDecodingError(f"{what} have {E.shape[0]} rows; expected {n_rows}, one per "
                                 "trial / event")
    return E


def _unit(E: np.ndarray) -> np.ndarray:
    E = np.asarray(E, dtype=np.float64)
    norm = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.where(norm > 0, norm, 1.0)


def cosine_similarity(A: Any, B: Any) -> np.ndarray:
    """Cosine similarity matrix between the rows of ``A`` (n, d) and ``B`` (m, d)."""
    A = check_embeddings(A, "first embeddings")
    B = check_embeddings(B, "second embeddings")
    if A.shape[1] != B.shape[1]:
        raise BrainDecodingError(f"embedding sizes differ: {A.shape[1]} vs {B.shape[1]}; both "
                                 "must live in the same embedding space")
    return _unit(A) @ _unit(B).T


def average_repeats(pred: Any, target: Any, stimulus_ids: Sequence[Any]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average predictions (and targets) over repeats of one stimulus (MindEye practice).

    Returns the averaged predictions, targets and the unique stimulus ids (sorted).
    """
    pred = check_embeddings(pred, "predictions")
    target = check_embeddings(target, "targets", n_rows=pred.shape[0])
    ids = np.asarray(stimulus_ids)
    if ids.shape[0] != pred.shape[0]:
        raise BrainDecodingError(f"{ids.shape[0]} stimulus ids for {pred.shape[0]} trials; "
                                 "expected one per trial")
    uniq, inv = np.unique(ids, return_inverse=True)
    cnt = np.bincount(inv).astype(np.float64)[:, None]
    P = np.zeros((uniq.size, pred.shape[1]))
    T = np.zeros((uniq.size, target.shape[1]))
    np.add.at(P, inv, pred)
    np.add.at(T, inv, target)
    return P / cnt, T / cnt, uniq


def _check_k(k: Sequence[int] | int, n_candidates: int) -> tuple[int, ...]:
    ks = (int(k),) if np.isscalar(k) else tuple(int(x) for x in k)
    if any(x < 1 for x in ks):
        raise BrainDecodingError(f"k must be >= 1; got {ks}")
    if max(ks) > n_candidates:
        raise BrainDecodingError(
            f"top-{max(ks)} needs at least {max(ks)} candidates; only {n_candidates} are "
            "available - lower k or give more candidates")
    return ks


def _hits_from_sim(S: np.ndarray, ks: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Per-row hit indicators of top-k when the correct item of row i is column i."""
    true = np.diag(S)[:, None]
    above = (S > true).sum(axis=1) + ((S == true).sum(axis=1) - 1)  # ties count against
    return {k: above < k for k in ks}


def subset_topk(pred: Any, target: Any, *, k: Sequence[int] | int = (1, 5),
                n_candidates: int | None = 300, n_subsets: int = 30,
                direction: str = "brain_to_stimulus", random_state: Any = 0,
                similarity: np.ndarray | None = None) -> dict[int, float]:
    """Top-k retrieval among random subsets of candidates (MindEye protocol).

    Parameters
    ----------
    pred, target : array of shape (n_items, dim)
        Row ``i`` of ``pred`` is the prediction for stimulus ``i`` of ``target`` (average
        repeats first with :func:`average_repeats`).
    k : int or sequence of int, default=(1, 5)
    n_candidates : int or None, default=300
        Candidates per subset (the true item included); ``None`` uses all items once.
    n_subsets : int, default=30
    direction : {"brain_to_stimulus", "stimulus_to_brain"}
    random_state : int, Generator or None
    similarity : array of shape (n_items, n_items) or None
        Precomputed cosine similarities (rows: predictions); skips the computation.

    Returns
    -------
    dict
        ``{k: mean hit rate}``; chance is ``k / n_candidates``.

    Raises
    ------
    BrainDecodingError
        Fewer candidates than ``k`` or than ``n_candidates``; NaN embeddings.

    Examples
    --------
    >>> rng = np.random.default_rng(0); T = rng.standard_normal((50, 8))
    >>> subset_topk(T + 0.01 * rng.standard_normal(T.shape), T, n_candidates=20)[1]
    1.0
    """
    if direction not in ("brain_to_stimulus", "stimulus_to_brain"):
        raise ValueError(f"direction must be 'brain_to_stimulus' or 'stimulus_to_brain'; "
                         f"got {direction!r}")
    S = cosine_similarity(pred, target) if similarity is None else np.asarray(similarity)
    if S.shape[0] != S.shape[1]:
        raise BrainDecodingError(f"{S.shape[0]} predictions for {S.shape[1]} stimuli; subset "
                                 "retrieval pairs prediction i with stimulus i")
    if direction == "stimulus_to_brain":
        S = S.T
    n = S.shape[0]
    m = n if n_candidates is None else int(n_candidates)
    ks = _check_k(k, m)
    if m > n:
        raise BrainDecodingError(f"n_candidates={m} but only {n} test items; lower "
                                 "n_candidates (or None to use all items)")
    rng = check_random_state(random_state)
    reps = 1 if n_candidates is None or m == n else n_subsets
    totals = dict.fromkeys(ks, 0.0)
    for _ in range(reps):
        idx = rng.choice(n, size=m, replace=False) if m < n else np.arange(n)
        hits = _hits_from_sim(S[np.ix_(idx, idx)], ks)
        for kk in ks:
            totals[kk] += float(hits[kk].mean())
    return {kk: totals[kk] / reps for kk in ks}


def candidate_topk(pred: Any, candidates: Any, true_index: Sequence[int], *,
                   k: Sequence[int] | int = (1, 5)) -> tuple[dict[int, float], np.ndarray]:
    """Top-k retrieval among a fixed candidate set.

    Parameters
    ----------
    pred : array of shape (n_trials, dim)
    candidates : array of shape (n_candidates, dim)
        E.g. the caption embeddings of the categories.
    true_index : array of int, shape (n_trials,)
        Row of ``candidates`` that is correct for each trial.
    k : int or sequence of int

    Returns
    -------
    scores : dict
        ``{k: hit rate}``, chance ``k / n_candidates``.
    retrieved : ndarray of int, shape (n_trials,)
        Index of the best candidate for each trial (for confusion matrices and
        :func:`caption_similarity`).
    """
    pred = check_embeddings(pred, "predictions")
    C = check_embeddings(candidates, "candidates")
    true_index = np.asarray(true_index, dtype=np.int64)
    if true_index.shape != (pred.shape[0],):
        raise BrainDecodingError(f"{true_index.shape[0] if true_index.ndim else 0} true "
                                 f"indices for {pred.shape[0]} predictions; expected one each")
    ks = _check_k(k, C.shape[0])
    S = cosine_similarity(pred, C)
    true = S[np.arange(S.shape[0]), true_index][:, None]
    above = (S > true).sum(axis=1) + ((S == true).sum(axis=1) - 1)
    return {kk: float(np.mean(above < kk)) for kk in ks}, np.argmax(S, axis=1)


def two_way_identification(pred: Any, target: Any, *, similarity: np.ndarray | None = None
                           ) -> float:
    """Mean over i of the fraction of j != i with sim(pred_i, t_i) > sim(pred_i, t_j).

    Chance is 0.5 (ties count half).
    """
    S = cosine_similarity(pred, target) if similarity is None else np.asarray(similarity)
    n = S.shape[0]
    if n < 2:
        raise BrainDecodingError("2-way identification needs at least 2 items")
    true = np.diag(S)[:, None]
    wins = (S < true).sum(axis=1) + 0.5 * ((S == true).sum(axis=1) - 1)
    return float(np.mean(wins / (n - 1)))


def caption_similarity(retrieved: Any, true: Any) -> float:
    """Mean cosine between retrieved and true caption embeddings (row by row)."""
    A = _unit(check_embeddings(retrieved, "retrieved caption embeddings"))
    B = _unit(check_embeddings(true, "true caption embeddings", n_rows=A.shape[0]))
    return float(np.mean(np.sum(A * B, axis=1)))


def permutation_chance(score: Callable[[np.ndarray], float], n: int, observed: float, *,
                       n_permutations: int = 200, random_state: Any = 0) -> dict[str, float]:
    """Null distribution of a score under shuffled trial ↔ stimulus pairing.

    Parameters
    ----------
    score : callable
        ``score(perm)`` returns the score when trial ``i`` is paired with stimulus
        ``perm[i]``.
    n : int
        Number of trials.
    observed : float
        The score with the true pairing.
    n_permutations : int, default=200
    random_state : int, Generator or None

    Returns
    -------
    dict
        ``chance`` (null mean), ``chance_lo`` / ``chance_hi`` (2.5 / 97.5 percentiles)
        and ``p_value`` = (1 + #null >= observed) / (1 + n_permutations).
    """
    rng = check_random_state(random_state)
    null = np.array([score(rng.permutation(n)) for _ in range(int(n_permutations))])
    return {"chance": float(null.mean()), "chance_lo": float(np.percentile(null, 2.5)),
            "chance_hi": float(np.percentile(null, 97.5)),
            "p_value": float((1 + np.sum(null >= observed)) / (1 + null.size)),
            "n_permutations": int(n_permutations)}


def evaluate_retrieval(pred: Any, target: Any, *, embedding_space: Mapping[str, Any],
                       k: Sequence[int] = (1, 5), n_candidates: int | None = 300,
                       n_subsets: int = 30, n_permutations: int = 100,
                       random_state: Any = 0) -> dict[str, Any]:
    """Every retrieval score of paired predictions and stimulus embeddings.

    Parameters
    ----------
    pred, target : array of shape (n_items, dim)
        One row per (repeat-averaged) stimulus.
    embedding_space : mapping
        The record of the embedding space (:meth:`Embedder.record`), stored unchanged.
    k, n_candidates, n_subsets, random_state
        See :func:`subset_topk`; ``n_candidates`` larger than the number of items is
        lowered to it (and recorded).
    n_permutations : int, default=100
        Shuffles for the chance level of brain → stimulus top-1 and 2-way identification.

    Returns
    -------
    dict
        ``top{k}_brain_to_stimulus``, ``top{k}_stimulus_to_brain``, ``two_way``, their
        chance levels (``*_chance``, ``*_chance_lo``, ``*_chance_hi``, ``*_p_value``),
        ``n_items``, ``n_candidates``, ``n_subsets`` and ``embedding_space``.
    """
    pred = check_embeddings(pred, "predictions")
    target = check_embeddings(target, "targets", n_rows=pred.shape[0])
    n = pred.shape[0]
    m = n if n_candidates is None else min(int(n_candidates), n)
    S = cosine_similarity(pred, target)
    out: dict[str, Any] = {"n_items": n, "n_candidates": m, "n_subsets": n_subsets}
    for direction in ("brain_to_stimulus", "stimulus_to_brain"):
        res = subset_topk(pred, target, k=k, n_candidates=m, n_subsets=n_subsets,
                          direction=direction, random_state=random_state, similarity=S)
        for kk, v in res.items():
            out[f"top{kk}_{direction}"] = v
    out["two_way"] = two_way_identification(pred, target, similarity=S)
    k1 = min(k)

    def top1_perm(perm):
        return subset_topk(pred, target, k=k1, n_candidates=m, n_subsets=max(1, n_subsets // 3),
                           random_state=random_state, similarity=S[:, perm])[k1]

    def two_way_perm(perm):
        return two_way_identification(pred, target, similarity=S[:, perm])

    for name, fn in ((f"top{k1}_brain_to_stimulus", top1_perm), ("two_way", two_way_perm)):
        res = permutation_chance(fn, n, out[name], n_permutations=n_permutations,
                                 random_state=random_state)
        out.update({f"{name}_{key}": v for key, v in res.items() if key != "n_permutations"})
    out["n_permutations"] = int(n_permutations)
    out["embedding_space"] = dict(embedding_space)
    return out
