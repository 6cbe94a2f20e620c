"""One decoding experiment from a config mapping: what ``neuroloom decode`` runs.

:func:`run_decode` evaluates (``mode="eval"``: cross-validated retrieval scores, tables
and figure data) or trains (``mode="train"``: the ridge decoder fitted on every sample,
returned as arrays to save) a brain → caption decoder on the Haxby 2001 data or on the
semi-synthetic comparison; :func:`decode_figures` draws the figures of an evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurodata.errors import ValidationError

__all__ = ["run_decode", "decode_figures", "DEFAULTS"]

#: Settings a config may give, with their defaults.
DEFAULTS: dict[str, Any] = {
    "name": "decode", "dataset": "haxby", "root": None, "layout": "slice",
    "embedder": "minilm-l6-v2", "alphas": [1.0, 10.0, 100.0, 1000.0, 10000.0],
    "n_permutations": 100, "nilearn_reference": True, "random_state": 0,
    "train_sizes": [150, 300, 600, 1200], "fewshot_sizes": [25, 50, 100, 200],
    "seeds": [0], "mlp": {}, "xsub": {}, "xsub_mlp": None, "simulation": {},
}
# "xsub": SharedLatentDecoder settings; "xsub_mlp": CrossSubjectDecoder settings (scored
# beside it only when given).


def resolve_config(config: Mapping[str, Any], base_dir: str | Path | None = None
                   ) -> dict[str, Any]:
    """Defaults filled in, unknown keys refused, ``root`` made absolute against ``base_dir``."""
    unknown = sorted(set(config) - set(DEFAULTS) - {"output"})
    if unknown:
        raise ValidationError(f"unknown decode config keys {unknown}; allowed: "
                              f"{sorted(DEFAULTS)} and 'output'")
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if k != "output"}}
    if cfg["dataset"] not in ("haxby", "semisynthetic"):
        raise ValidationError(f"dataset must be 'haxby' or 'semisynthetic'; got "
                              f"{cfg['dataset']!r}")
    if cfg["root"] is not None and base_dir is not None and not Path(cfg["root"]).is_absolute():
        cfg["root"] = str((Path(base_dir) / cfg["root"]).resolve())
    return cfg


def run_decode(config: Mapping[str, Any], *, mode: str = "eval",
               base_dir: str | Path | None = None) -> dict[str, Any]:
    """Run one decoding experiment.

    Parameters
    ----------
    config : mapping
        See :data:`DEFAULTS`.
    mode : {"eval", "train"}
    base_dir : path or None
        Folder relative ``root`` paths are resolved against (the config's folder).

    Returns
    -------
    dict
        ``config`` (resolved), ``metrics`` (JSON-able), ``tables`` (name → DataFrame),
        ``figures_data`` (for :func:`decode_figures`), and for ``train`` the ``model``
        arrays (``coef``, ``intercept``, ``alpha``, ``caption_embeddings``, ``captions``).
    """
    if mode not in ("eval", "train"):
        raise ValidationError(f"mode must be 'eval' or 'train'; got {mode!r}")
    cfg = resolve_config(config, base_dir)
    if cfg["dataset"] == "semisynthetic":
        if mode == "train":
            raise ValidationError("the semi-synthetic dataset is an evaluation only; use "
                                  "'neuroloom decode eval'")
        return _semisynthetic(cfg)
    from .embedders import make_embedder
    from .haxby import HAXBY_CAPTIONS, decode_haxby, load_haxby_blocks
    from .ridge import MultiTargetRidgeCV

    blocks = load_haxby_blocks(cfg["root"], layout=cfg["layout"], verbose=False)
    emb = make_embedder(cfg["embedder"])
    inputs = [blocks.source]
    if mode == "train":
        from sklearn.model_selection import LeaveOneGroupOut

        cats = sorted(HAXBY_CAPTIONS)
        C = emb.embed([HAXBY_CAPTIONS[c] for c in cats])
        Y = C[np.searchsorted(cats, blocks.labels)]
        model = MultiTargetRidgeCV(cfg["alphas"], cv=LeaveOneGroupOut()).fit(
            blocks.X, Y, groups=blocks.runs)
        return {"config": cfg, "inputs": inputs,
                "metrics": {"n_blocks": len(blocks), "n_voxels": int(blocks.X.shape[1]),
                            "alpha_median": float(np.median(model.alpha_)),
                            "embedding_space": emb.record()},
                "tables": {}, "figures_data": None,
                "model": {"coef": model.coef_, "intercept": model.intercept_,
                          "alpha": model.alpha_, "caption_embeddings": C,
                          "captions": np.array([HAXBY_CAPTIONS[c] for c in cats])}}
    res = decode_haxby(blocks, embedder=emb, alphas=cfg["alphas"],
                       n_permutations=cfg["n_permutations"],
                       nilearn_reference=cfg["nilearn_reference"],
                       random_state=cfg["random_state"], verbose=False)
    arrays = {k: res.pop(k) for k in ("predictions", "true_index", "retrieved", "runs")}
    per_run = pd.DataFrame({"run": list(res["top1_per_run"]),
                            "caption_top1": list(res["top1_per_run"].values())})
    if "nilearn_per_run" in res:
        per_run["nilearn_accuracy"] = [res["nilearn_per_run"][r] for r in per_run["run"]]
    topn = pd.DataFrame({"n_candidates": list(res["topk_vs_n"]),
                         "top1": list(res["topk_vs_n"].values()),
                         "chance": [1.0 / n for n in res["topk_vs_n"]]})
    curve = pd.DataFrame({"k": list(res["topk_curve"]), "topk": list(res["topk_curve"].values())})
    return {"config": cfg, "inputs": inputs, "metrics": res,
            "tables": {"per_run": per_run, "topk_vs_n": topn, "retrieval_curve": curve},
            "figures_data": {"kind": "haxby", "res": res, **arrays}}


def _semisynthetic(cfg: dict[str, Any]) -> dict[str, Any]:
    from .embedders import make_embedder
    from .semisynthetic import compare_decoders, synthetic_captions

    E = make_embedder(cfg["embedder"]).embed(synthetic_captions())
    rows = compare_decoders(E, train_sizes=cfg["train_sizes"],
                            fewshot_sizes=cfg["fewshot_sizes"], seeds=cfg["seeds"],
                            mlp_params=cfg["mlp"], xsub_params=cfg["xsub"],
                            xsub_mlp_params=cfg["xsub_mlp"], sim_params=cfg["simulation"])
    table = pd.DataFrame(rows)
    summary = table.groupby(["model", "n_train"])["top1"].agg(["mean", "std"]).reset_index()
    metrics = {"rows": rows, "chance": 1.0 / 300}
    return {"config": cfg, "inputs": [], "metrics": metrics,
            "tables": {"per_seed": table, "summary": summary},
            "figures_data": {"kind": "semisynthetic", "table": table}}


def decode_figures(result: Mapping[str, Any]) -> dict[str, Any]:
    """Matplotlib figures of an evaluation: name → Figure."""
    import matplotlib.pyplot as plt

    data = result.get("figures_data")
    figs: dict[str, Any] = {}
    if not data:
        return figs
    if data["kind"] == "semisynthetic":
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for model, grp in data["table"].groupby("model"):
            g = grp.groupby("n_train")["top1"]
            ax.errorbar(g.mean().index, g.mean().values, yerr=g.std().fillna(0).values,
                        marker="o", label=model, capsize=3)
        ax.set(xscale="log", xlabel="training trials (subject)", ylabel="top-1 among 300",
               title="semi-synthetic retrieval")
        ax.legend(fontsize=8)
        figs["topk_vs_training"] = fig
        return figs
    res = data["res"]
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ks = list(res["topk_curve"])
    ax.plot(ks, list(res["topk_curve"].values()), "o-", label="decoder")
    ax.plot(ks, [k / len(ks) for k in ks], "k--", label="chance")
    ax.set(xlabel="k", ylabel="top-k accuracy", title="caption retrieval curve")
    ax.legend()
    figs["retrieval_curve"] = fig
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ns = list(res["topk_vs_n"])
    ax.plot(ns, list(res["topk_vs_n"].values()), "o-", label="decoder")
    ax.plot(ns, [1 / n for n in ns], "k--", label="chance 1/N")
    ax.set(xlabel="N candidate captions", ylabel="top-1", title="top-1 vs N")
    ax.legend()
    figs["topk_vs_n"] = fig
    fig, ax = plt.subplots(figsize=(5, 4.5))
    conf = np.asarray(res["confusion"])
    ax.imshow(conf, cmap="viridis")
    ax.set_xticks(range(len(res["categories"])), res["categories"], rotation=60, fontsize=7)
    ax.set_yticks(range(len(res["categories"])), res["categories"], fontsize=7)
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            ax.text(j, i, int(conf[i, j]), ha="center", va="center", color="w", fontsize=7)
    ax.set(xlabel="retrieved caption", ylabel="true category", title="confusion")
    figs["confusion_matrix"] = fig
    fig, ax = plt.subplots(figsize=(5, 3))
    runs = list(res["top1_per_run"])
    w = 0.4
    ax.bar(np.arange(len(runs)) - w / 2, list(res["top1_per_run"].values()), w,
           label="caption retrieval")
    if "nilearn_per_run" in res:
        ax.bar(np.arange(len(runs)) + w / 2, [res["nilearn_per_run"][r] for r in runs], w,
               label="nilearn Decoder")
    ax.axhline(res["chance"], color="k", ls="--", lw=1)
    ax.set_xticks(range(len(runs)), runs)
    ax.set(xlabel="held-out run", ylabel="accuracy", title="per-run scores")
    ax.legend(fontsize=8)
    figs["per_run_scores"] = fig
    return figs
