"""``neuroloom neuroformer`` on a simulated recording (synthetic ground truth), and config
validation.  Tiny model, one epoch: the numbers are not the point, the result folder is."""

from __future__ import annotations

import json

import pytest

from decoders.neuroformer import NeuroformerError, simulate_circuit
from decoders.neuroformer.config import config_from_dict, load_config
from tests.pipelines.cli_runner import run

TINY = """
data: {recording: sim.h5, behaviour: behavior, stimulus: stimulus, split: [0.6, 0.2, 0.2]}
tokens: {window: 0.05, past_window: 0.1, dt: 0.01, block_size: 16, max_past: 32}
model: {n_embd: 16, n_head: 2, n_layer: 1, dropout: 0.0}
train: {epochs: 1, batch_size: 16, lr: 0.003}
generate: {n_samples: 2, max_windows: 40}
"""


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("nf")
    simulate_circuit(n_neurons=6, n_trials=10, random_state=0).recording.save(d / "sim.h5")
    (d / "tiny.yaml").write_text(TINY)
    return d


def test_train_generate_decode(sim_dir, capsys, one_thread):
    cfg = sim_dir / "tiny.yaml"
    out = sim_dir / "run"
    code, stdout, err = run(capsys, "neuroformer", "train", cfg, "-o", out)
    assert code == 0, err
    res = json.loads((out / "result.json").read_text())
    m = res["metrics"]
    assert res["format"] == "neuroloom.neuroformer_result" and res["config_hash"]
    assert 0 <= m["token_f1"]["f1"] <= 1 and "connectivity_auroc" in m and "psth_r" in m
    assert m["behaviour"]["names"] == ["speed"]
    for name in ("loss_curves", "raster_generated_vs_real", "psth_comparison",
                 "connectivity_vs_truth", "behaviour"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert (out / "checkpoints" / "model.pt").exists() and (out / "config.yaml").exists()
    ck = out / "checkpoints" / "model.pt"
    code, _, err = run(capsys, "neuroformer", "generate", cfg, "-c", ck, "-o",
                       sim_dir / "gen", "--interval", 6.0, 8.0, "--n-samples", 2)
    assert code == 0, err
    import neurodata as nd

    with nd.open(sim_dir / "gen" / "generated.h5") as g:
        assert sorted(g.spikes) == ["sample0", "sample1"]
        s = g.spikes["sample0"]
        assert s.t_start == pytest.approx(6.0) and (s.times < 8.0).all()
    code, stdout, err = run(capsys, "neuroformer", "decode", cfg, "-c", ck, "-o",
                            sim_dir / "dec")
    assert code == 0, err
    assert "r = " in stdout and (sim_dir / "dec" / "predictions.csv").exists()


def test_bad_config_is_one_line_error(sim_dir, capsys):
    bad = sim_dir / "bad.yaml"
    bad.write_text(TINY.replace("epochs: 1", "epocs: 1"))
    code, _, err = run(capsys, "neuroformer", "train", bad, "-o", sim_dir / "x")
    assert code != 0 and "unknown key 'epocs' in section 'train'" in err
    assert "Traceback" not in err
    with pytest.raises(NeuroformerError, match="unknown section"):
        config_from_dict({"optim": {}})
    with pytest.raises(NeuroformerError, match="wrong type"):
        config_from_dict({"train": {"epochs": "ten"}})
    assert load_config(sim_dir / "tiny.yaml").data.recording == str(sim_dir / "sim.h5")
