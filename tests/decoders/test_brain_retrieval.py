"""Retrieval metrics and run splits on synthetic embeddings with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from decoders.braindecoding.errors import BrainDecodingError
from decoders.braindecoding.retrieval import (
    average_repeats,
    candidate_topk,
    caption_similarity,
    check_embeddings,
    evaluate_retrieval,
    subset_topk,
    two_way_identification,
)
from decoders.braindecoding.splits import RunSplit, check_split


def _pairs(n=400, d=16, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((n, d))
    return T + noise * rng.standard_normal((n, d)), T


def test_perfect_and_random_predictions():
    """Synthetic: exact predictions score 1 in both directions; unrelated predictions sit
    at the chance level k/N (within 3 binomial SDs of 400 items: the 30 subsets of 300
    out of 400 overlap, so they are not independent) and 2-way identification at 0.5."""
    P, T = _pairs()
    for d in ("brain_to_stimulus", "stimulus_to_brain"):
        assert subset_topk(T, T, direction=d) == {1: 1.0, 5: 1.0}
    rng = np.random.default_rng(1)
    R = rng.standard_normal(T.shape)
    res = subset_topk(R, T, n_candidates=300, n_subsets=30, random_state=0)
    assert abs(res[1] - 1 / 300) < 3 * np.sqrt(1 / 300 / 400)
    assert abs(res[5] - 5 / 300) < 3 * np.sqrt(5 / 300 / 400)
    assert abs(two_way_identification(R, T) - 0.5) < 0.02


def test_subset_topk_is_seeded_and_monotone_in_noise():
    """Synthetic: same seed, same score; more noise, lower top-1."""
    scores = []
    for noise in (0.5, 1.0, 2.0):
        P, T = _pairs(noise=noise)
        a = subset_topk(P, T, random_state=3)
        assert a == subset_topk(P, T, random_state=3)
        scores.append(a[1])
    assert scores[0] > scores[1] > scores[2]


def test_candidate_topk_and_caption_similarity():
    """Synthetic: 4 captions; predictions near caption 2 retrieve it; similarity of the
    retrieved caption to the truth is 1 when right and the pair cosine when wrong."""
    C = np.eye(4) + 0.1
    pred = np.tile(C[2], (6, 1))
    scores, retrieved = candidate_topk(pred, C, [2, 2, 2, 2, 0, 1], k=(1, 2))
    assert scores[1] == pytest.approx(4 / 6) and retrieved.tolist() == [2] * 6
    sim = caption_similarity(C[retrieved], C[[2, 2, 2, 2, 0, 1]])
    cos = (C[2] @ C[0]) / np.linalg.norm(C[0]) ** 2
    assert sim == pytest.approx((4 + 2 * cos) / 6)


def test_evaluate_retrieval_permutation_chance():
    """Synthetic: a decodable signal gets p < 0.05 and a chance interval around 1/N;
    the embedding-space record is kept."""
    P, T = _pairs(n=120, noise=1.0)
    out = evaluate_retrieval(P, T, embedding_space={"name": "test", "dim": 16},
                             n_candidates=100, n_subsets=10, n_permutations=50)
    assert out["top1_brain_to_stimulus"] > 0.3
    assert out["top1_brain_to_stimulus_p_value"] < 0.05
    assert out["top1_brain_to_stimulus_chance_lo"] <= 0.01 + 1e-9 <= \
        out["top1_brain_to_stimulus_chance_hi"] + 0.02
    assert out["two_way"] > 0.8 and out["two_way_chance"] == pytest.approx(0.5, abs=0.05)
    assert out["embedding_space"] == {"name": "test", "dim": 16}


def test_average_repeats():
    P, T = _pairs(n=6)
    Pa, Ta, ids = average_repeats(P, T, ["a", "b", "a", "c", "b", "a"])
    assert ids.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(Pa[0], P[[0, 2, 5]].mean(axis=0))


def test_bad_input_errors():
    """Bad input: NaN embeddings, fewer candidates than k, count mismatches."""
    P, T = _pairs(n=10)
    bad = T.copy()
    bad[3, 0] = np.nan
    with pytest.raises(BrainDecodingError, match="NaN"):
        check_embeddings(bad)
    with pytest.raises(BrainDecodingError, match="NaN"):
        subset_topk(P, bad, n_candidates=5)
    with pytest.raises(BrainDecodingError, match="top-5 needs at least 5 candidates"):
        subset_topk(P, T, n_candidates=3)
    with pytest.raises(BrainDecodingError, match="top-5 needs at least 5 candidates"):
        candidate_topk(P, T[:3], np.zeros(10, int), k=5)
    with pytest.raises(BrainDecodingError, match="only 10 test items"):
        subset_topk(P, T, n_candidates=300)
    with pytest.raises(BrainDecodingError, match="expected 10"):
        check_embeddings(T[:9], n_rows=10)
    with pytest.raises(BrainDecodingError, match="stimulus ids for 10"):
        average_repeats(P, T, ["a"] * 9)


def test_run_split_never_splits_repeats():
    """Synthetic design: 4 runs; runs 0 and 1 share 5 stimuli.  No fold has a run or a
    stimulus on both sides, in each on_repeat mode; 'merge' holds runs 0+1 out together;
    'error' refuses."""
    runs = np.repeat(np.arange(4), 10)
    stim = np.concatenate([np.arange(10), np.arange(5, 15), np.arange(20, 40)])
    assert RunSplit(stim, on_repeat="merge").get_n_splits(groups=runs) == 3
    for mode in ("drop", "merge"):
        folds = list(RunSplit(stim, on_repeat=mode).split(runs, groups=runs))
        assert folds
        tested = np.concatenate([te for _, te in folds])
        assert np.array_equal(np.sort(tested), np.arange(40))  # every sample tested once
        for tr, te in folds:
            check_split(tr, te, runs, stim)
    with pytest.raises(BrainDecodingError, match="repeat a test stimulus"):
        list(RunSplit(stim, on_repeat="error").split(runs, groups=runs))
    with pytest.raises(BrainDecodingError, match="both train and test"):
        check_split([0, 1, 2], [3, 4], runs[:5] * 0)
    with pytest.raises(BrainDecodingError, match="count mismatch"):
        list(RunSplit(stim[:30]).split(runs, groups=runs))
