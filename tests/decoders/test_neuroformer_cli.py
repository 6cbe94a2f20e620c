"""``neuroloom neuroformer`` on a simulated recording (synthetic ground truth), and config
validation.  Tiny model, one epoch: the numbers are not the point, the result folder is.
The example of docs/neuroformer.md (its config and its commands) is what runs here."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from decoders.neuroformer import NeuroformerError
from decoders.neuroformer.config import config_from_dict, load_config
from tests.pipelines.cli_runner import run

DOC = (Path(__file__).resolve().parents[2] / "docs" / "neuroformer.md").read_text()


def _block(marker: str, lang: str) -> str:
    m = re.search(rf"<!-- {marker} -->\s*```{lang}\n(.*?)```", DOC, re.S)
    assert m, f"docs/neuroformer.md lost its {marker} block"
    return m.group(1)


TINY = _block("neuroformer-example-config", "yaml")
COMMANDS = [shlex.split(line) for line in _block("neuroformer-example-commands",
                                                  "bash").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("nf")
    (d / "tiny.yaml").write_text(TINY)
    return d


def test_documented_example_runs(sim_dir, capsys, one_thread, monkeypatch):
    monkeypatch.chdir(sim_dir)
    for argv in COMMANDS:
        assert argv[0] == "neuroloom"
        code, _, err = run(capsys, *argv[1:])
        assert code == 0, (argv, err)
    cfg = sim_dir / "tiny.yaml"
    out = sim_dir / "run"
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
    import neurodata as nd

    with nd.open(sim_dir / "gen" / "generated.h5") as g:
        assert sorted(g.spikes) == ["sample0", "sample1"]
        s = g.spikes["sample0"]
        assert s.t_start == pytest.approx(6.0) and (s.times < 8.0).all()
    assert (sim_dir / "dec" / "predictions.csv").exists()
    code, stdout, err = run(capsys, "neuroformer", "decode", cfg, "-c", ck, "-o",
                            sim_dir / "dec2", "--interval", 2, 4)
    assert code == 0, err and "r = " in stdout


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
    if not (sim_dir / "sim.h5").exists():  # run alone: the documented example made none
        (sim_dir / "sim.h5").touch()
    assert load_config(sim_dir / "tiny.yaml").data.recording == str(sim_dir / "sim.h5")


def test_shipped_configs_validate():
    """The example configs of pipelines/configs/ parse and name existing recordings."""
    root = Path(__file__).resolve().parents[2]
    paths = sorted((root / "pipelines" / "configs").glob("neuroformer_*.yaml"))
    assert len(paths) == 3
    for p in paths:
        cfg = load_config(p)
        if "sample_data" in cfg.data.recording:
            assert Path(cfg.data.recording).exists(), p
