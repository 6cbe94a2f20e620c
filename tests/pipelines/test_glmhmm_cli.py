"""``neuroloom glmhmm``: a planted switching network, the real hippocampal recording, errors.

Two kinds of data:

* **Synthetic** (planted ground truth): :func:`connectome.simulate_switching.
  simulate_switching_glm` counts of a 10-neuron, 2-state switching network, written as
  spike times (each count placed inside its bin) in an ``.h5`` recording together with a
  behaviour block that follows the hidden state.  It tests that the command bins the
  spikes back to the simulated counts, recovers the hidden states and the per-state
  weights, beats the single GLM and the homogeneous model held out, and relates the
  states to the planted behaviour.  A synthetic calcium block with planted events tests
  the thresholded-event path.
* **Real**: the bundled nelpy linear-track recording (rat hippocampus, 31 tetrode units,
  position in px), checked against its native files: the counts equal histograms of the
  spike times read with ``scipy.io.loadmat``, and the per-bin positions equal medians of
  the records read with ``numpy.frombuffer``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import neurodata as nd
from connectome import load_structural_matrix, split_blocks, state_behavior_summary
from connectome.simulate_switching import simulate_switching_glm
from connectome.state_matching import match_states
from neurodata import behavior_per_bin, check_counts, load_counts
from neurodata.errors import ValidationError
from neurodata.provenance import sha256_file
from pipelines.cli import main
from tests.pipelines.cli_runner import run

BIN = 0.05



@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Synthetic: 10 neurons, 2 states, 4 000 bins of 50 ms, as spike times in an .h5."""
    root = tmp_path_factory.mktemp("glmhmm")
    sim = simulate_switching_glm(10, 2, 4_000, baseline_rate=0.6, random_state=1)
    counts, states = sim.counts[0].astype(np.int64), sim.states[0]
    rng = np.random.default_rng(0)
    b, u = np.nonzero(counts)
    reps = counts[b, u]
    # each spike at a random time strictly inside its bin, so binning gives the counts back
    times = (np.repeat(b, reps) + rng.uniform(0.05, 0.95, reps.sum())) * BIN
    unit = np.repeat(u, reps)
    order = np.argsort(times)
    spikes = nd.SpikeTrains(times[order], unit[order].astype(np.int32),
                            [f"n{k:02d}" for k in range(10)], t_start=0.0,
                            t_stop=len(counts) * BIN, name="units")
    # behaviour sampled at 100 Hz: "speed" is 20 in state 1 and 2 in state 0, plus noise
    t_beh = np.arange(0, len(counts) * BIN, 0.01)
    level = np.where(states[(t_beh / BIN).astype(int)] == 1, 20.0, 2.0)
    beh = nd.TimeSeries((level + rng.normal(0, 1, level.size))[:, None].astype(np.float32),
                        rate=100.0, name="behavior", modality="behavior",
                        channels=nd.make_channels(["speed"], types="behavior", units="cm/s"))
    rec = nd.Recording(timeseries=[beh], spikes=[spikes], subject={"id": "sim"},
                       session={"id": "switching"})
    path = rec.save(root / "switching.h5")
    return sim, path, root


@pytest.fixture(scope="module")
def planted_run(planted):
    sim, path, root = planted
    out = root / "out"
    code = main(["glmhmm", str(path), "--states", "2", "--bin", str(BIN), "--prior", "onehot",
                 "--test-blocks", "2", "--max-iter", "40", "-o", str(out)])
    assert code == 0
    return sim, path, out


def test_planted_counts_roundtrip(planted):
    """Synthetic: binning the written spike times gives back the simulated counts."""
    sim, path, _ = planted
    data = load_counts(path, BIN)
    assert data.unit_names == [f"n{k:02d}" for k in range(10)]
    np.testing.assert_array_equal(data.counts, sim.counts[0])


def test_planted_states_weights_and_heldout(planted_run):
    """Synthetic: states, weights and the held-out ranking of the three models."""
    sim, path, out = planted_run
    result = json.loads((out / "result.json").read_text())
    table = pd.read_csv(out / "states.csv")
    assert len(table) == 4_000
    np.testing.assert_allclose(table["t_start"].to_numpy(), np.arange(4_000) * BIN, atol=1e-9)
    match = match_states(sim.states[0], table["state"].to_numpy())
    assert match.accuracy >= 0.9
    post = table[["p_state0", "p_state1"]].to_numpy()
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-6)
    weights = np.load(out / "weights.npy")
    assert weights.shape == (2, 10, 10)
    r = np.corrcoef(weights[match.order].ravel(), sim.weights.ravel())[0, 1]
    assert r >= 0.8
    models = {row["model"].split(" (")[0]: row for row in result["heldout"]["models"]}
    assert models["homogeneous Poisson"]["bits_per_spike"] == 0.0
    assert models["HMM-GLM"]["bits_per_spike"] > models["coupling GLM"]["bits_per_spike"] > 0
    assert result["heldout"]["n_bins"] == 800
    assert result["data"]["test_bins"] == [[1600, 2000], [3600, 4000]]
    assert result["inputs"][0]["sha256"] == sha256_file(path)
    for f, digest in result["files"].items():
        assert sha256_file(out / f) == digest
    assert {"figures/posteriors.png", "figures/state_weights.png",
            "figures/learned_prior.png"} <= set(result["files"])
    # the planted behaviour follows the state: the state explains most of its variance
    speed = result["states"]["behavior"]["speed"]
    assert speed["eta_squared"] > 0.8
    assert speed["unit"] == "cm/s"
    occ = np.bincount(sim.states[0], minlength=2) / 4_000
    np.testing.assert_allclose(sorted(result["states"]["occupancy"]), sorted(occ), atol=0.05)


# the short structural run stops at --max-iter 10 on purpose (speed): it may not converge
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_structural_prior_and_overwrite(planted, planted_run, capsys, tmp_path):
    """Synthetic: the true connectome as a fixed prior; a wrong shape and no --overwrite fail."""
    sim, path, out = planted_run
    good = tmp_path / "conn.npy"
    np.save(good, sim.connectome.astype(float))
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 3)))
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "--structural", bad,
                       "-o", tmp_path / "o1")
    assert code == 1 and "expected (10, 10)" in err and err.count("\n") == 1
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "--prior", "none",
                       "--structural", good, "-o", tmp_path / "o1")
    assert code == 1 and "--prior gaussian or --prior onehot" in err
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "-o", out)
    assert code == 1 and "--overwrite" in err
    # named nodes in a csv table are matched to the units by name (reversed here)
    names = [f"n{k:02d}" for k in range(10)]
    pd.DataFrame(sim.connectome[::-1, ::-1], index=names[::-1], columns=names[::-1]).to_csv(
        tmp_path / "named.csv")
    np.testing.assert_array_equal(load_structural_matrix(tmp_path / "named.csv", names),
                                  sim.connectome)
    code, stdout, _ = run(capsys, "glmhmm", path, "--states", "2", "--structural", good,
                          "--structural-mode", "fixed", "--t-stop", "60", "--max-iter", "10",
                          "-o", tmp_path / "o2")
    assert code == 0, stdout
    result = json.loads((tmp_path / "o2" / "result.json").read_text())
    assert result["config"]["structural_mode"] == "fixed"
    assert result["inputs"][1]["role"] == "structural"
    # a fixed one-hot prior from the true signs is what the fit reports as its connectome
    np.testing.assert_array_equal(np.load(tmp_path / "o2" / "prior.npy"), sim.connectome)


def test_calcium_events(tmp_path):
    """Synthetic: onsets of supra-threshold deconvolved activity are counted once each."""
    rate, n = 10.0, 600
    x = np.zeros((n, 3), np.float32)
    onsets = {0: [10, 50, 51, 300], 1: [100, 400], 2: [5, 200, 590]}
    for c, frames in onsets.items():
        for f in frames:
            x[f : f + 3, c] = 5.0  # a 3-frame transient; 50 and 51 merge into one event
    cal = nd.TimeSeries(x, rate=rate, name="deconvolved", modality="calcium",
                        channels=nd.make_channels(["r0", "r1", "r2"], types="neuron",
                                                  units="a.u."))
    path = nd.Recording(timeseries=[cal], subject={"id": "s"}, session={"id": "c"}).save(
        tmp_path / "cal.h5")
    data = load_counts(path, 1.0)
    assert data.counts.shape == (60, 3)
    assert data.counts.sum(0).tolist() == [3, 2, 3]
    assert data.counts[1, 0] == 1 and data.counts[5, 0] == 1 and data.counts[30, 0] == 1
    assert data.source.startswith("timeseries/deconvolved")
    x[20, 1] = np.nan
    bad = nd.Recording(timeseries=[nd.TimeSeries(x, rate=rate, name="deconvolved",
                                                 modality="calcium")],
                       subject={"id": "s"}, session={"id": "c"}).save(tmp_path / "nan.h5")
    with pytest.raises(ValidationError, match="NaN"):
        load_counts(bad, 1.0)


def test_bad_input(tmp_path, capsys):
    """One-line errors: no spikes block, bin too long, fewer bins than the window, counts."""
    eeg = nd.TimeSeries(np.zeros((200, 2), np.float32), rate=100.0, name="eeg",
                        modality="eeg", channels=nd.make_channels(["a", "b"], types="eeg"))
    no_spikes = nd.Recording(timeseries=[eeg], subject={"id": "s"}, session={"id": "e"}).save(
        tmp_path / "eeg.h5")
    code, _, err = run(capsys, "glmhmm", no_spikes, "--states", "2", "-o", tmp_path / "o")
    assert code == 1 and "expected a /spikes block" in err and err.count("\n") == 1
    st = nd.SpikeTrains.from_unit_times({"a": [0.1, 0.5, 1.2], "b": [0.3, 1.9]},
                                        t_start=0.0, t_stop=2.0)
    path = nd.Recording(spikes=[st], subject={"id": "s"}, session={"id": "p"}).save(
        tmp_path / "short.h5")
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "--bin", "5", "-o",
                       tmp_path / "o")
    assert code == 1 and "longer than the interval" in err
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "--bin", "0.5", "-o",
                       tmp_path / "o")
    assert code == 1 and "filter window of 5 bins" in err
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "--t-stop", "9", "-o",
                       tmp_path / "o")
    assert code == 1 and "outside the spikes block" in err
    code, _, err = run(capsys, "glmhmm", path, "--states", "2", "--units", "a,zz", "-o",
                       tmp_path / "o")
    assert code == 1 and "'zz'" in err
    code, _, err = run(capsys, "glmhmm", tmp_path / "missing.h5", "--states", "2", "-o",
                       tmp_path / "o")
    assert code == 1 and "no such recording" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValidationError, match="negative"):
        check_counts(np.array([[0, 1], [-1, 0]]))
    with pytest.raises(ValidationError, match="NaN"):
        check_counts(np.array([[0, np.nan], [1, 0]]))
    with pytest.raises(ValidationError, match="non-integer"):
        check_counts(np.array([[0, 0.5]]))
    with pytest.raises(ValidationError, match="test-fraction"):
        split_blocks(100, 1.0)


def test_state_behavior_summary_numbers():
    """Hand-computed occupancy, dwell times, per-state means, eta² and run/rest counts."""
    states = np.array([0, 0, 1, 1, 1, 0])
    beh = pd.DataFrame({"speed": [1.0, 1.0, 9.0, 9.0, 9.0, np.nan]})
    s = state_behavior_summary(states, beh, n_states=2, bin_size=0.5, run_speed=5.0)
    assert s["occupancy"] == [0.5, 0.5]
    assert s["mean_dwell_s"] == [0.75, 1.5]
    sp = s["behavior"]["speed"]
    assert sp["per_state"]["mean"] == [1.0, 9.0]
    assert sp["eta_squared"] == pytest.approx(1.0)
    assert s["run_rest"]["bins_run"] == [0, 3] and s["run_rest"]["bins_rest"] == [2, 0]


# -- real data: the nelpy linear-track recording ------------------------------------------


def _native_unit_times():
    """Spike times per unit from spikes.mat with scipy.io.loadmat (the native reader)."""
    from scipy.io import loadmat

    mat = loadmat(nd.sample_path("nelpy_linear_track") / "spikes.mat", squeeze_me=True,
                  struct_as_record=False)
    units = {}
    for i, tetrode in enumerate(mat["spikes"]):
        for j, unit in enumerate(np.atleast_1d(tetrode)):
            t = np.atleast_1d(getattr(unit, "time", np.array([])))
            if t.size:
                units[f"tt{i + 1:02d}_u{j + 1:02d}"] = np.asarray(t, float)
    return units


def _native_position():
    """(times s, x px, y px) from the .videoPositionTracking records via numpy.frombuffer."""
    raw = (nd.sample_path("nelpy_linear_track") / "trajectory.videoPositionTracking").read_bytes()
    body = raw[raw.index(b"<End settings>\n") + len(b"<End settings>\n"):]
    rec = np.frombuffer(body[: len(body) // 12 * 12],
                        dtype=[("t", "<u4"), ("x", "<u2"), ("y", "<u2"), ("x2", "<u2"),
                               ("y2", "<u2")])
    return rec["t"] / 30_000.0, rec["x"].astype(float), rec["y"].astype(float)


@pytest.fixture(scope="module")
def linear_track(tmp_path_factory):
    root = tmp_path_factory.mktemp("linear_track")
    path = nd.load_sample("nelpy_linear_track").save(root / "linear_track.h5")
    return path, root


def test_real_counts_and_position_match_native(linear_track):
    """Real: counts = histograms of loadmat times; per-bin x/y = medians of native records."""
    path, _ = linear_track
    data = load_counts(path, 0.1, t_start=5300.0, t_stop=5460.0, min_rate=1.0)
    native = _native_unit_times()
    # the units firing >= 1 Hz in [5300, 5460) s by the native spike times, in file order
    expected = [n for n, t in native.items() if ((t >= 5300) & (t < 5460)).sum() / 160 >= 1.0]
    assert data.unit_names == expected and len(expected) >= 3
    for k, name in enumerate(data.unit_names):
        hist, _ = np.histogram(native[name], bins=data.edges)
        np.testing.assert_array_equal(data.counts[:, k], hist)
    with nd.open(path) as rec:
        beh = behavior_per_bin(rec.timeseries["position"].load(), data.edges, smooth=0.0)
    t, x, y = _native_position()
    for b in (0, 123, 799, 1599):
        m = (t >= data.edges[b]) & (t < data.edges[b + 1])
        assert beh["x"][b] == np.median(x[m]) and beh["y"][b] == np.median(y[m])
    # after ~5383 s the tracker reports a fixed position (the rest period): speed 0
    rest = data.centers > 5390
    assert np.all(beh["speed"][rest] == 0)
    assert beh["speed"][~rest].max() > 50


def test_real_cli_small(linear_track, capsys):
    """Real: 300 s across the run→rest transition, 5 units, 2 states, 100 ms bins."""
    path, root = linear_track
    out = root / "out"
    code, stdout, err = run(capsys, "glmhmm", path, "--states", "2", "--bin", "0.1",
                            "--t-start", "5200", "--t-stop", "5500", "--min-rate", "0.8",
                            "--test-blocks", "2", "--run-speed", "10", "--max-iter", "30",
                            "-o", out)
    assert code == 0, err
    assert "HMM-GLM (2 states, prior onehot)" in stdout
    result = json.loads((out / "result.json").read_text())
    assert result["data"]["n_bins"] == 3000
    assert result["data"]["source"] == "spikes/units"
    native = _native_unit_times()
    for name, r in zip(result["data"]["units"], result["data"]["rates_hz"], strict=True):
        n = ((native[name] >= 5200) & (native[name] < 5500)).sum()
        assert r == pytest.approx(n / 300.0) and r >= 0.8
    rows = {row["model"].split(" (")[0]: row for row in result["heldout"]["models"]}
    # the coupling models predict the held-out spikes better than constant rates
    assert rows["coupling GLM"]["bits_per_spike"] > 0
    assert rows["HMM-GLM"]["bits_per_spike"] > 0
    assert result["states"]["behavior"]["speed"]["unit"] == "px/s"
    assert sum(result["states"]["occupancy"]) == pytest.approx(1.0)
    assert set(result["states"]["run_rest"]) >= {"bins_run", "bins_rest", "fraction_running"}
    table = pd.read_csv(out / "states.csv")
    assert list(table.columns[:4]) == ["t_start", "t_center", "split", "state"]
    assert (table["split"] == "test").sum() == 600


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_module_examples_run():
    """The docstring examples of the analysis modules (four read the bundled real sample)."""
    import doctest
    import importlib

    attempted = 0
    # by module path: the package re-exports functions of the same name as a submodule
    for name in ("neurodata.counts", "connectome.model_comparison", "connectome.state_behavior",
                 "connectome.glmhmm_analysis"):
        module = importlib.import_module(name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted >= 10


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_docs_python_example_runs(capsys):
    """Real: the Python block of docs/glmhmm_cli.md runs as written."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "glmhmm_cli.md").read_text()
    block = text.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(block, "docs/glmhmm_cli.md", "exec"), {})
    out = capsys.readouterr().out
    assert "HMM-GLM (3 states, prior onehot)" in out and "occupancy" in out
