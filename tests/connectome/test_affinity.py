"""Sliding-window affinities: values, alignment by name, masks and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectome.affinity import (
    AffinityInputError,
    AffinityTensor,
    fold_pairs,
    pair_indices,
    sliding_affinity,
)


@pytest.fixture
def traces():
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 5))


def test_pair_order_and_fold():
    pairs = pair_indices(4)
    np.testing.assert_array_equal(pairs, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
    m = fold_pairs(np.arange(1.0, 7.0), 4)
    assert m[0, 3] == 3.0 and m[3, 0] == 3.0 and m[2, 3] == 6.0 and m[1, 1] == 0.0
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        fold_pairs(np.ones(5), 4)


def test_correlation_matches_numpy(traces):
    aff = sliding_affinity(traces, window=40, step=20, method="correlation")
    assert aff.shape == (10, 5, 1)
    assert aff.mask.all()
    np.testing.assert_array_equal(aff.window_starts, [0, 20, 40, 60, 80])
    for w, s in enumerate(aff.window_starts):
        r = np.corrcoef(traces[s : s + 40].T)
        expected = np.maximum(r[aff.pairs[:, 0], aff.pairs[:, 1]], 0)
        np.testing.assert_allclose(aff.values[:, w, 0], expected, atol=1e-12)


def test_kernel_is_rbf_of_window_zscores(traces):
    aff = sliding_affinity(traces, window=40, method="kernel", bandwidth=0.7)
    seg = traces[40:80]
    z = (seg - seg.mean(0)) / seg.std(0)
    d2 = ((z[:, 1] - z[:, 3]) ** 2).sum()
    p = np.flatnonzero((aff.pairs[:, 0] == 1) & (aff.pairs[:, 1] == 3))[0]
    assert aff.values[p, 1, 0] == pytest.approx(np.exp(-d2 / (2 * 0.7**2 * 40)))
    assert np.all((aff.values > 0) & (aff.values <= 1))


def test_differential_formula(traces):
    aff = sliding_affinity(traces, window=60, method="differential", bandwidth=0.5)
    kern = sliding_affinity(traces, window=60, method="kernel", bandwidth=0.5)
    s = fold_pairs(kern.values[:, 0, 0], 5)
    s_i = s.sum(1) / 4
    s_bar = s_i.mean()
    expected = np.maximum(s - np.outer(s_i, s_i) / s_bar, 0) / s_bar
    np.testing.assert_allclose(
        fold_pairs(aff.values[:, 0, 0], 5), expected - np.diag(np.diag(expected))
    )
    assert np.all(aff.values >= 0)


def test_differential_removes_global_synchrony():
    """A window where everything co-fluctuates is not dominated by shared drive."""
    rng = np.random.default_rng(1)
    t = 300
    x = rng.normal(size=(t, 6))
    x[:, :3] += 2 * rng.normal(size=(t, 1))  # a true community
    x[150:] += 1.5 * rng.normal(size=(150, 1))  # global synchrony in the second half
    corr = sliding_affinity(x, window=150, method="correlation")
    diff = sliding_affinity(x, window=150, method="differential")
    inside = (corr.pairs < 3).all(axis=1)
    cross = (corr.pairs < 3).sum(axis=1) == 1  # one community member, one other neuron
    # correlation: in the synchronous window every pair looks related
    assert corr.values[cross, 1, 0].mean() > 0.4
    # differential: only excess similarity survives, in both windows
    for w in range(2):
        assert diff.values[cross, w, 0].max() < 0.05
        assert diff.values[inside, w, 0].min() > 0.5


def test_alignment_by_name_and_masks():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(100, 3))
    b = rng.normal(size=(60, 3))
    aff = sliding_affinity(
        [a, b],
        window=20,
        neuron_names=[["x", "y", "z"], ["y", "w", "x"]],
        rate=4.0,
        t0=1.0,
        animal_names=["worm1", "worm2"],
    )
    assert aff.neuron_names == ["x", "y", "z", "w"]
    assert aff.shape == (6, 5, 2)
    assert aff.animal_names == ["worm1", "worm2"]
    np.testing.assert_allclose(aff.window_times, 1.0 + (np.arange(5) * 20 + 10) / 4.0)
    names = aff.pair_names
    # animal 1 has no "w": its pairs are masked (NaN), not zero
    for p, (u, v) in enumerate(names):
        has_w = "w" in (u, v)
        assert aff.mask[p, :, 0].all() != has_w
        assert np.isnan(aff.values[p, :, 0]).all() == has_w
    # animal 2 has no "z" and only 3 full windows
    z_pairs = np.array(["z" in pr for pr in names])
    assert not aff.mask[z_pairs, :, 1].any()
    assert aff.mask[~z_pairs, :3, 1].all() and not aff.mask[:, 3:, 1].any()
    # the value of (x, y) in animal 2 is the correlation of its columns 2 and 0
    p = names.index(("x", "y"))
    r = np.corrcoef(b[:20, 2], b[:20, 0])[0, 1]
    aff_c = sliding_affinity(
        [a, b], window=20, neuron_names=[["x", "y", "z"], ["y", "w", "x"]], method="correlation"
    )
    assert aff_c.values[p, 0, 1] == pytest.approx(max(r, 0.0))


def test_nan_samples_mask_their_windows(traces):
    x = traces.copy()
    x[50, 2] = np.nan
    aff = sliding_affinity(x, window=40)
    involved = (aff.pairs == 2).any(axis=1)
    assert not aff.mask[involved, 1, 0].any()
    assert aff.mask[~involved, 1, 0].all() and aff.mask[:, [0, 2], 0].all()


def test_locally_flat_window_is_masked(traces):
    x = traces.copy()
    x[0:40, 4] = 1.0
    aff = sliding_affinity(x, window=40, method="correlation")
    involved = (aff.pairs == 4).any(axis=1)
    assert not aff.mask[involved, 0, 0].any() and aff.mask[involved, 1, 0].all()


def test_save_load(tmp_path, traces):
    aff = sliding_affinity(traces, window=30, rate=3.0)
    back = AffinityTensor.load(aff.save(tmp_path / "aff"))
    np.testing.assert_array_equal(back.mask, aff.mask)
    np.testing.assert_array_equal(back.filled(), aff.filled())
    assert back.neuron_names == aff.neuron_names and back.rate == 3.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(window=500), r"window=500 samples is longer than the recording of animal0 \(120"),
        (dict(window=2), r"window must be an integer number of samples >= 3, got 2"),
        (dict(window=10.5), r"window must be an integer"),
        (dict(window=10, step=0), r"step must be an integer number of samples >= 1"),
        (dict(window=10, method="mi"), r"method must be one of"),
        (dict(window=10, bandwidth=0), r"bandwidth must be a positive number"),
        (dict(window=10, rate=-1.0), r"rate must be a positive number of Hz"),
        (dict(window=10, neuron_names=list("abcd")), r"4 neuron names for 5 trace columns"),
        (dict(window=10, neuron_names=list("abcda")), r"duplicate neuron names \['a'\]"),
    ],
)
def test_bad_parameters(traces, kwargs, match):
    with pytest.raises(AffinityInputError, match=match):
        sliding_affinity(traces, **kwargs)


def test_all_nan_and_constant_neurons_rejected(traces):
    x = traces.copy()
    x[:, 1] = np.nan
    with pytest.raises(AffinityInputError, match=r"all NaN\): \['b'\]"):
        sliding_affinity(x, window=10, neuron_names=list("abcde"))
    x = traces.copy()
    x[:, 3] = 2.5
    with pytest.raises(AffinityInputError, match=r"constant neurons .*\['d'\]"):
        sliding_affinity(x, window=10, neuron_names=list("abcde"))
    assert issubclass(AffinityInputError, ValueError)


def test_mismatched_animals_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(AffinityInputError, match="different neuron counts"):
        sliding_affinity([rng.normal(size=(50, 3)), rng.normal(size=(50, 4))], window=10)
    with pytest.raises(AffinityInputError, match="2-D"):
        sliding_affinity([rng.normal(size=50)], window=10)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), data=st.data())
def test_pair_index_formula_matches_triu_order(n, data):
    """The documented index p = i·n − i(i+1)/2 + (j − i − 1) is the tensor's pair order."""
    pairs = pair_indices(n)
    k = data.draw(st.integers(0, len(pairs) - 1))
    i, j = pairs[k]
    assert i < j
    assert i * n - i * (i + 1) // 2 + (j - i - 1) == k
    v = np.arange(len(pairs), dtype=float)
    m = fold_pairs(v, n)
    assert m[i, j] == m[j, i] == k


def test_shared_name_list_applies_to_every_animal(traces):
    aff = sliding_affinity([traces, traces[:80]], window=40, neuron_names=list("abcde"))
    assert aff.neuron_names == list("abcde") and aff.shape == (10, 3, 2)
    np.testing.assert_array_equal(aff.values[:, :2, 0], aff.values[:, :2, 1])
