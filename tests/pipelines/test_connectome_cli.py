"""``neuroloom connectome``: synthetic planted recordings, the real C. elegans sample, errors.

Two kinds of data:

* **Synthetic** (planted ground truth): :func:`connectome.simulate_calcium_communities`
  traces of 4 "animals" whose neurons carry real C. elegans names, saved as ``.h5``
  recordings with the planted active intervals as events and a behaviour block, plus a
  planted structural connectome (dense inside the planted communities).  These test that
  the CLI aligns animals by name, recovers the planted communities and finds the planted
  structural enrichment.
* **Real**: the bundled Atanas et al. (2023) whole-brain recording (98 identified neurons,
  irregular timestamps ~1.67 Hz, 962 s), checked against its native reader (``json``):
  the affinities the CLI writes equal rectified correlations of the JSON traces
  interpolated onto the same grid with ``numpy.interp``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score as nmi

import neurodata as nd
from connectome.affinity import AffinityTensor
from connectome.simulate_communities import simulate_calcium_communities
from neurodata.celegans_names import NEURONS_302
from neurodata.provenance import sha256_file
from pipelines.cli import main
from tests.pipelines.cli_runner import run

FAST = ("--threads", "1", "--n-iter", "200", "--tol", "1e-5")



@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Synthetic: 4 animals, 24 neurons (2 planted communities of 8), 10 % missing each."""
    root = tmp_path_factory.mktemp("planted")
    sim = simulate_calcium_communities(24, 2, community_size=8, n_animals=4, n_times=900,
                                       rate=3.0, event_rate=0.5, participation=0.9,
                                       missing_fraction=0.1, random_state=3)
    rename = dict(zip(sim.all_names, NEURONS_302[:24], strict=True))
    paths = []
    for a, (x, names) in enumerate(zip(sim.traces, sim.neuron_names, strict=True)):
        blocks = [nd.TimeSeries(x.astype(np.float32), rate=sim.rate, name="calcium",
                                modality="calcium",
                                channels=nd.make_channels([rename[n] for n in names],
                                                          types="neuron", units="dF/F"))]
        if a == 0:  # a behaviour trace that follows community 0's activity
            blocks.append(nd.TimeSeries(sim.active[0][:, None].astype(np.float32) * 0.2,
                                        rate=sim.rate, name="behavior", modality="behavior",
                                        channels=nd.make_channels(["speed"], types="behavior",
                                                                  units="mm/s")))
        onset = [s for c in range(2) for s, _ in sim.intervals[c]]
        dur = [e - s for c in range(2) for s, e in sim.intervals[c]]
        label = [f"community {c}" for c in range(2) for _ in sim.intervals[c]]
        rec = nd.Recording(timeseries=blocks,
                           events=nd.Events(onset=onset, duration=dur, label=label),
                           subject={"id": f"sim{a}", "species": "Caenorhabditis elegans"},
                           session={"id": f"sim{a}"})
        paths.append(rec.save(root / f"sim{a}.h5"))
    # planted structural connectome: pairs inside a planted community are 10x more likely
    rng = np.random.default_rng(0)
    nodes = list(NEURONS_302[:24])
    memb = sim.membership
    same = (memb[:, None] == memb[None, :]) & (memb[:, None] >= 0)
    chem = (rng.random((24, 24)) < np.where(same, 0.6, 0.06)).astype(float)
    np.fill_diagonal(chem, 0)
    gap = np.triu(rng.random((24, 24)) < np.where(same, 0.3, 0.03), 1).astype(float)
    gap = gap + gap.T
    conn = nd.Recording(connectivity=[nd.Connectivity(chem, nodes, kind="chemical",
                                                      directed=True, name="chemical"),
                                      nd.Connectivity(gap, nodes, kind="electrical",
                                                      directed=False, name="electrical")],
                        subject={"id": "planted"}, session={"id": "planted_connectome"})
    structural = conn.save(root / "structural.h5")
    membership = {rename[n]: int(m) for n, m in zip(sim.all_names, memb, strict=True)}
    return paths, structural, membership


@pytest.fixture(scope="module")
def planted_run(planted, tmp_path_factory):
    paths, structural, _ = planted
    out = tmp_path_factory.mktemp("planted_out") / "res"
    code = main(["connectome", *map(str, paths), "--rank", "3", "--window", "10", "--step", "5",
                 "--restarts", "2", "--rank-selection", "2..4", "--structural",
                 str(structural), "--shuffles", "100", "--seed", "0", *FAST, "-o", str(out)])
    assert code == 0
    return out


def test_planted_outputs_and_provenance(planted, planted_run):
    """Synthetic: every file is written and result.json records inputs, config, software."""
    paths, structural, _ = planted
    out = planted_run
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"affinity.npz", "cp.npz", "communities.json", "summary.csv", "result.json",
            "rank_selection.json", "enrichment.csv", "figures/time_courses.png",
            "figures/rank_selection.png", "figures/animal_loadings.png",
            "figures/enrichment.png"} <= names
    assert {f"figures/{k}_component{r}.png" for k in ("affinity", "graph")
            for r in range(3)} <= names
    res = json.loads((out / "result.json").read_text())
    assert res["format"] == "neuroloom.connectome_result"
    assert [i["sha256"] for i in res["inputs"]] == [sha256_file(p) for p in
                                                    [*paths, structural]]
    assert res["config"]["rank"] == 3 and res["config"]["window_samples"] == 30
    assert res["config"]["step_samples"] == 15 and res["config"]["vocabulary"] == "celegans"
    assert {"neuroloom", "numpy", "leidenalg"} <= set(res["software"])
    assert res["data"]["animals"] == ["sim0", "sim1", "sim2", "sim3"]
    assert res["data"]["n_neurons"] == 24 and res["data"]["n_windows"] == 59
    # 10 % of the neurons are missing in each animal: aligned by name, masked
    assert res["data"]["neurons_per_animal"] == [22, 22, 22, 22]
    assert 0.7 < res["data"]["observed_fraction"] < 0.9
    assert res["data"]["behavior"] == "behavior: speed" and res["data"]["n_events"] > 0
    for f, digest in res["files"].items():
        assert sha256_file(out / f) == digest
    assert len(pd.read_csv(out / "summary.csv")) == 3
    sel = json.loads((out / "rank_selection.json").read_text())
    assert sel["ranks"] == [2, 3, 4] and np.shape(sel["errors"]) == (3, 2)


def test_planted_communities_recovered(planted, planted_run):
    """Synthetic: each planted community is one community of some component (NMI >= 0.9)."""
    _, _, membership = planted
    aff = AffinityTensor.load(planted_run / "affinity.npz")
    comms = json.loads((planted_run / "communities.json").read_text())
    for c in (0, 1):
        truth = np.array([membership[n] == c for n in aff.neuron_names])
        best = 0.0
        for comp in comms:
            found = np.asarray(comp["membership"])
            # the community holding most of the planted members, against the rest
            k = np.bincount(found[truth]).argmax()
            best = max(best, nmi(truth, found == k))
        assert best >= 0.9, (c, best)


def test_planted_structural_enrichment(planted_run):
    """Synthetic: planted structural edges are enriched inside the recovered communities."""
    table = pd.read_csv(planted_run / "enrichment.csv")
    assert set(table["edges"]) == {"chemical", "electrical", "chemical+electrical"}
    both = table[table["edges"] == "chemical+electrical"]
    assert len(both) == 3 and (both["n_neurons"] == 24).all()
    assert both["z"].max() > 3 and both["p_value"].min() <= 0.02


def test_single_community_gives_undefined_z():
    """Synthetic: with one community every edge is inside in every shuffle: z is NaN, p = 1."""
    from connectome.communities import CommunityResult, structural_enrichment

    names = [f"n{k}" for k in range(6)]
    comm = CommunityResult(membership=np.zeros(6, int), block_matrix=np.ones((1, 1)),
                           quality=0.0, method="test", node_names=names)
    adj = np.triu(np.ones((6, 6)), 1)[:, ::-1]
    res = structural_enrichment(comm, adj, names, n_shuffles=5, random_state=0)
    assert np.isnan(res.z) and res.p_value == 1.0


# ------------------------------------------------------------------ real C. elegans sample
@pytest.fixture(scope="module")
def worm(tmp_path_factory):
    """The bundled Atanas et al. (2023) recording converted to .h5 (irregular timestamps)."""
    path = tmp_path_factory.mktemp("worm") / "worm.h5"
    return nd.load_sample("celegans_atanas2023").save(path)


def _json_traces():
    """Native reader: the sample's JSON files with ``json`` only."""
    src = nd.sample_path("celegans_atanas2023")
    rows = json.loads(src.read_text())
    names = json.loads((src.parent / "neurons.json").read_text())
    t = np.array([r[0] for r in rows], dtype=float)
    x = np.array([r[1] for r in rows], dtype=float)
    return t, x, names[: x.shape[1]]


def test_real_worm_matches_native_reader(worm, tmp_path, capsys):
    """Real: affinities equal rectified correlations of the JSON traces on the same grid."""
    out = tmp_path / "res"
    code, stdout, err = run(capsys, "connectome", worm, "--rate", "1.6", "--window", "60",
                            "--step", "60", "--rank", "3", "--restarts", "1",
                            "--affinity", "correlation", "--communities", "leiden", *FAST,
                            "-o", out)
    assert code == 0, err
    assert "98 neurons, 16 windows; rank 3" in stdout
    res = json.loads((out / "result.json").read_text())
    assert res["data"]["n_neurons"] == 98 and res["data"]["n_events"] == 0
    assert res["data"]["behavior"] is None  # this dataset has no behaviour channels
    assert res["inputs"][0]["sha256"] == sha256_file(worm)
    assert res["config"]["window_samples"] == 96 and res["config"]["vocabulary"] == "celegans"
    aff = AffinityTensor.load(out / "affinity.npz")
    t, x, names = _json_traces()
    assert sorted(aff.neuron_names) == sorted(names)
    assert aff.shape == (98 * 97 // 2, 16, 1) and aff.mask.all()
    grid = t[0] + np.arange(1540) / 1.6
    col = {n: k for k, n in enumerate(names)}
    order = [col[n] for n in aff.neuron_names]
    for w in (0, 9):
        seg = np.stack([np.interp(grid[96 * w: 96 * w + 96], t, x[:, k]) for k in order], 1)
        r = np.maximum(np.corrcoef(seg.T), 0.0)
        i, j = np.triu_indices(98, 1)
        # float32 storage of the homogenized traces: agreement to ~1e-5
        np.testing.assert_allclose(aff.values[:, w, 0], r[i, j], atol=2e-5)
    assert len(pd.read_csv(out / "summary.csv")) == 3


def test_real_worm_structural_enrichment(worm, tmp_path, capsys, shared):
    """Real: the Cook et al. (2019) connectome JSON (../shared/data, not bundled).

    The number of structural edges among the 98 recorded neurons is checked against the
    JSON read with ``json`` (undirected, chemical typ 0 + gap junction typ 2, no self-loops).
    """
    cook = shared("calcium/celegans_connectome/cook_jarrell_2019_h.json")
    out = tmp_path / "res"
    code, stdout, err = run(capsys, "connectome", worm, "--rate", "1.6", "--window", "60",
                            "--step", "60", "--rank", "2", "--restarts", "1", "--communities",
                            "leiden", "--structural", cook, "--shuffles", "50", *FAST, "-o", out)
    assert code == 0, err
    table = pd.read_csv(out / "enrichment.csv")
    _, _, names = _json_traces()
    from neurodata.celegans_names import normalize_neuron_name

    recorded = {normalize_neuron_name(n) for n in names}
    pairs = {"chemical": set(), "electrical": set()}
    for e in json.loads(cook.read_text()):
        a, b = normalize_neuron_name(e["pre"]), normalize_neuron_name(e["post"])
        if a in recorded and b in recorded and a != b:
            pairs["chemical" if e["typ"] == 0 else "electrical"].add(frozenset((a, b)))
    expected = {**{k: len(v) for k, v in pairs.items()},
                "chemical+electrical": len(pairs["chemical"] | pairs["electrical"])}
    for kind, n in expected.items():
        rows = table[table["edges"] == kind]
        assert len(rows) == 2 and (rows["n_edges"] == n).all() and (rows["n_neurons"] == 98).all()
    assert "enrichment component 0:" in stdout


# ------------------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def bad_neurons(tmp_path_factory):
    """Synthetic: one constant and one all-NaN neuron."""
    x = np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32)
    x[:, 1] = 2.0
    x[:, 3] = np.nan
    rec = nd.Recording(timeseries=[nd.TimeSeries(x, rate=3.0, name="calcium", modality="calcium",
                                                 channels=nd.make_channels(list("abcde"),
                                                                           types="neuron"))],
                       subject={"id": "x"}, session={"id": "x"})
    return rec.save(tmp_path_factory.mktemp("bad") / "bad.h5")


@pytest.mark.parametrize("extra, message", [
    (("--block", "eeg"), "no timeseries block 'eeg'; found ['behavior', 'calcium']"),
    (("--window", "400"), "--window 400 s (1200 samples) is longer than the recording "
                          "(900 samples = 300 s"),
    (("--rank", "31"), "--rank 31 is larger than the smallest tensor dimension (231 pairs, "
                       "30 windows, 1 animals); expected 1 <= rank <= 30"),
    (("--rank-selection", "29..33"), "--rank-selection 31 is larger than"),
    (("--rank-selection", "two"), "--rank-selection expects LOW..HIGH"),
    (("--structural", "nosuch.json"), "no such structural connectome file"),
])
def test_bad_input_one_line(planted, tmp_path, capsys, extra, message):
    paths, _, _ = planted
    rank = () if "--rank" in extra else ("--rank", "2")
    argv = ["connectome", paths[0], *rank, "--window", "10", *FAST, "-o", tmp_path / "o"]
    code, out, err = run(capsys, *argv, *extra)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("neuroloom connectome: error: ")
    assert message in err
    assert not (tmp_path / "o").exists()


def test_bad_neurons_and_drop_invalid(bad_neurons, tmp_path, capsys):
    """Synthetic: constant / all-NaN neurons are named; --drop-invalid leaves them out."""
    argv = ["connectome", bad_neurons, "--rank", "2", "--window", "20", *FAST]
    code, _, err = run(capsys, *argv, "-o", tmp_path / "a")
    assert code == 1 and err.count("\n") == 1
    assert str(bad_neurons) in err
    assert "all-NaN neurons ['d'] and constant neurons ['b']" in err and "--drop-invalid" in err
    code, _, err = run(capsys, *argv, "--drop-invalid", "-o", tmp_path / "b")
    assert code == 0, err
    res = json.loads((tmp_path / "b" / "result.json").read_text())
    assert res["data"]["n_neurons"] == 3
    assert res["excluded_neurons"]["x"]["constant"] == ["b"]


def test_irregular_needs_rate_and_output_is_kept(worm, planted, tmp_path, capsys):
    code, _, err = run(capsys, "connectome", worm, "--rank", "2", "-o", tmp_path / "o")
    assert code == 1 and "irregularly sampled" in err and "--rate" in err
    code, _, err = run(capsys, "connectome", tmp_path / "nosuch.h5", "--rank", "2",
                       "-o", tmp_path / "o")
    assert code == 1 and "nosuch.h5: no such recording" in err
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "keep.txt").write_text("x")
    code, _, err = run(capsys, "connectome", planted[0][0], "--rank", "2",
                       "-o", tmp_path / "exists")
    assert code == 1 and "--overwrite" in err
    assert (tmp_path / "exists" / "keep.txt").read_text() == "x"


def test_module_examples_run():
    """The docstring examples of the command and analysis modules (two read the bundled
    real sample)."""
    import doctest
    import importlib

    attempted = 0
    # by module path: the package re-exports functions of the same name as a submodule
    for name in ("pipelines.commands.connectome", "neurodata.traces", "connectome.structural",
                 "connectome.connectome_analysis"):
        module = importlib.import_module(name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted >= 4
