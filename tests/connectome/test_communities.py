"""Community detection (Leiden, our DC-SBM), generators and the planted end-to-end pipeline."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score as nmi

from connectome.affinity import sliding_affinity
from connectome.communities import (
    CommunityResult,
    block_matrix,
    component_communities,
    component_graphs,
    leiden_communities,
    sbm_communities,
)
from connectome.ntf import ConvergenceWarning, factor_match_score, match_components, nonneg_cp
from connectome.rank_selection import plot_rank_selection, rank_selection
from connectome.sbm import fit_dcsbm, select_dcsbm
from connectome.simulate_communities import planted_weighted_graph, simulate_calcium_communities

matplotlib.use("Agg")


# ---------------------------------------------------------------- generators
def test_planted_graph_properties():
    w, memb = planted_weighted_graph(200, 0.3, random_state=0)
    assert w.shape == (200, 200) and np.allclose(w, w.T) and np.all(np.diag(w) == 0)
    assert (w >= 0).all()
    same = memb[:, None] == memb[None, :]
    external_fraction = (w * ~same).sum() / w.sum()
    assert 0.2 < external_fraction < 0.4  # ≈ μ
    degrees = (w > 0).sum(1)
    assert 10 < degrees.mean() < 20  # ≈ avg_degree = 15
    sizes = np.bincount(memb)
    assert sizes.min() >= 15 and sizes.max() <= 50


def test_weight_mixing_separates_from_topology():
    w, memb = planted_weighted_graph(200, 0.3, weight_mixing=0.1, random_state=0)
    same = memb[:, None] == memb[None, :]
    assert (w * ~same).sum() / w.sum() == pytest.approx(0.1, abs=0.05)


def test_simulated_calcium_is_plausible():
    sim = simulate_calcium_communities(
        20, 2, community_size=5, n_animals=2, n_times=900, missing_fraction=0.2, random_state=0
    )
    assert len(sim.traces) == 2 and sim.traces[0].shape == (900, 16)
    assert all(len(n) == 16 for n in sim.neuron_names)
    assert (np.bincount(sim.membership + 1) == [10, 5, 5]).all()
    assert sim.active.shape == (2, 900) and sim.active.any(axis=1).all()
    for c, ivs in enumerate(sim.intervals):
        total = sum(e - s for s, e in ivs)
        assert total == pytest.approx(sim.active[c].sum() / sim.rate)
    # members fire more while their community is active
    names = sim.neuron_names[0]
    pos = {n: k for k, n in enumerate(sim.all_names)}
    memb = np.array([sim.membership[pos[n]] for n in names])
    spikes = sim.spikes[0]
    c0 = memb == 0
    assert spikes[sim.active[0]][:, c0].mean() > 2 * spikes[~sim.active[0]][:, c0].mean()


# ---------------------------------------------------------------- community detection
@pytest.mark.parametrize("mu", [0.1, 0.3])
def test_leiden_and_sbm_recover_planted_partition(mu):
    w, memb = planted_weighted_graph(200, mu, random_state=3)
    lei = leiden_communities(w, random_state=0)
    sbm = sbm_communities(w, max_blocks=12, random_state=0)
    assert nmi(memb, lei.membership) >= 0.9
    assert nmi(memb, sbm.membership) >= 0.9
    assert abs(sbm.n_communities - (memb.max() + 1)) <= 1  # ICL may merge the smallest
    assert sbm.method == "dcsbm" and set(sbm.scores) >= {1, 2}
    # block matrix: strongest weights inside blocks
    bm = sbm.block_matrix
    assert np.all(np.diag(bm) > bm.max(axis=1, where=~np.eye(len(bm), dtype=bool), initial=0))


def test_sbm_icl_prefers_planted_number_of_blocks():
    w, memb = planted_weighted_graph(150, 0.2, random_state=5)
    k = memb.max() + 1
    fit = select_dcsbm(w, max_blocks=k + 3, random_state=0)
    assert max(fit.scores, key=fit.scores.get) == k
    assert fit.scores[k] > fit.scores[k - 1]


def test_sbm_fixed_blocks_and_scale_invariance():
    w, memb = planted_weighted_graph(120, 0.2, random_state=2)
    k = memb.max() + 1
    a = sbm_communities(w, n_blocks=k, random_state=0)
    b = sbm_communities(w * 1e-3, n_blocks=k, random_state=0)
    np.testing.assert_array_equal(a.membership, b.membership)
    assert nmi(memb, a.membership) > 0.95
    assert fit_dcsbm(w, 1).membership.max() == 0


def test_cpm_and_resolution():
    w = np.kron(np.eye(3), np.full((5, 5), 1.0)) + 0.1
    cpm = leiden_communities(w, objective="cpm", resolution=0.5, random_state=0)
    assert cpm.n_communities == 3 and cpm.method == "leiden-cpm"
    one = leiden_communities(w, objective="cpm", resolution=0.01, random_state=0)
    assert one.n_communities == 1
    many = leiden_communities(w, resolution=0.0, random_state=0)
    assert many.n_communities == 1  # γ = 0: no penalty, everything merges


def test_block_matrix_means():
    w = np.array([[0, 2, 1, 1], [2, 0, 1, 1], [1, 1, 0, 4], [1, 1, 4, 0]], float)
    bm = block_matrix(w, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(bm, [[2, 1], [1, 4]])


@pytest.mark.parametrize("func", [leiden_communities, sbm_communities])
def test_bad_graphs_rejected(func):
    with pytest.raises(ValueError, match="square"):
        func(np.ones((3, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        func(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        func(np.triu(np.ones((3, 3))))
    with pytest.raises(ValueError, match="NaN"):
        func(np.full((3, 3), np.nan))


def test_result_helpers(tmp_path):
    w = np.kron(np.eye(2), np.ones((4, 4))) + 0.05
    res = sbm_communities(w, node_names=list("abcdefgh"), random_state=0)
    assert isinstance(res, CommunityResult)
    assert res.communities() == [list("abcd"), list("efgh")]
    d = res.to_dict()
    assert d["membership"] == [0, 0, 0, 0, 1, 1, 1, 1]
    fig = res.plot_matrix(w)
    fig.savefig(tmp_path / "m.png")


# ---------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def planted_fit():
    sim = simulate_calcium_communities(
        30,
        3,
        community_size=8,
        n_animals=5,
        n_times=2700,
        missing_fraction=0.1,
        event_rate=0.5,
        participation=0.9,
        background_rate=0.02,
        random_state=0,
    )
    aff = sliding_affinity(sim.traces, window=30, neuron_names=sim.neuron_names, rate=sim.rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = nonneg_cp(aff.values, 4, mask=aff.mask, n_restarts=3, random_state=0)
    return sim, aff, res


def test_planted_components_recovered(planted_fit):
    sim, aff, res = planted_fit
    assert aff.mask.mean() < 1  # missing neurons are masked
    planted = sim.planted_factors(aff.neuron_names, aff.window_starts, aff.window)
    assert factor_match_score(planted, res) >= 0.9


@pytest.mark.parametrize("method", ["sbm", "leiden"])
def test_planted_communities_recovered(planted_fit, method):
    sim, aff, res = planted_fit
    planted = sim.planted_factors(aff.neuron_names, aff.window_starts, aff.window)
    perm, _ = match_components(planted, res)
    comms = component_communities(res, aff.neuron_names, method=method, random_state=0)
    assert len(comms) == res.rank
    pos = {n: k for k, n in enumerate(sim.all_names)}
    memb = np.array([sim.membership[pos[n]] for n in aff.neuron_names])
    for c in range(sim.n_communities):
        truth = (memb == c).astype(int)
        found = comms[perm[c]]
        assert nmi(truth, found.membership) >= 0.9
        assert found.node_names == aff.neuron_names


def test_component_graphs_fold_pair_factor(planted_fit):
    _, aff, res = planted_fit
    graphs = component_graphs(res, aff.n_neurons)
    assert len(graphs) == 4 and graphs[0].shape == (aff.n_neurons, aff.n_neurons)
    i, j = aff.pairs[5]
    assert graphs[1][i, j] == pytest.approx(res.weights[1] * res.factors[0][5, 1])


def test_rank_selection_on_planted_tensor(tmp_path):
    rng = np.random.default_rng(9)
    factors = [rng.random((n, 3)) ** 2 for n in (40, 20, 6)]
    x = np.einsum("ir,jr,kr->ijk", *factors) + 0.01 * rng.random((40, 20, 6))
    sel = rank_selection(
        x, [1, 2, 3, 4], n_restarts=3, random_state=0, verbose=False, n_iter_max=300
    )
    assert sel.errors.shape == (4, 3) and sel.similarity.shape == (4, 3)
    best = sel.errors.min(axis=1)
    assert best[2] < 0.05 < best[1]  # the error drops until the true rank
    assert sel.similarity[2].min() > 0.99  # and the true-rank fits agree
    np.testing.assert_allclose(sel.similarity[np.arange(4), sel.errors.argmin(axis=1)], 1.0)
    fig = plot_rank_selection(sel)
    fig.savefig(tmp_path / "rank.png")
    assert sel.to_dict()["ranks"] == [1, 2, 3, 4]


def test_structural_enrichment_detects_planted_alignment():
    from connectome.communities import structural_enrichment

    w, memb = planted_weighted_graph(120, 0.2, random_state=4)
    names = [f"n{k}" for k in range(120)]
    comm = CommunityResult(
        membership=memb,
        block_matrix=block_matrix(w, memb),
        method="planted",
        quality=0.0,
        node_names=names,
    )
    # the structural graph is the planted graph itself (reversed name order): enriched
    rev = np.arange(120)[::-1]
    res = structural_enrichment(
        comm, w[np.ix_(rev, rev)], [names[k] for k in rev], n_shuffles=50, random_state=0
    )
    assert res.n_neurons == 120 and res.z > 5 and res.p_value == pytest.approx(1 / 51)
    # an unrelated random graph is not
    rng = np.random.default_rng(1)
    rand = np.triu(rng.random((120, 120)) < 0.1, 1)
    null = structural_enrichment(comm, rand + rand.T, names, n_shuffles=50, random_state=0)
    assert abs(null.z) < 3 and null.p_value > 0.01
    again = structural_enrichment(comm, rand + rand.T, names, n_shuffles=50, random_state=0)
    np.testing.assert_array_equal(null.null, again.null)
    with pytest.raises(ValueError, match="named in both"):
        structural_enrichment(comm, np.ones((3, 3)), ["x", "y", "z"])
