"""``neuroloom decode train|eval CONFIG.yaml``: brain → caption decoding.

``eval`` runs the cross-validated retrieval evaluation of
:func:`decoders.braindecoding.experiment.run_decode` (Haxby 2001 leave-one-run-out
caption retrieval beside nilearn's Decoder, or the semi-synthetic comparison) and writes
a result folder: ``config.yaml``, ``result.json`` (provenance + metrics),
``metrics.json``, ``metrics.csv`` and the tables and figures (retrieval curve, top-k vs
N, confusion matrix, per-run scores).  ``train`` fits the ridge decoder on every sample
and writes ``model.npz`` beside the same provenance.  The folder is staged and renamed
into place when complete (:mod:`neurodata.results`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "cmd_decode"]


def register(subparsers) -> None:
    """Add the ``decode`` subcommand with ``train`` and ``eval``."""
    p = subparsers.add_parser(
        "decode", help="brain -> caption/image-embedding decoding (train / evaluate)",
        description="Ridge / contrastive / cross-subject decoders into stimulus embeddings, "
                    "evaluated by retrieval (see docs/brain_decoding.md).")
    sub = p.add_subparsers(dest="decode_command", required=True, metavar="{train,eval}")
    for name, text in (("eval", "cross-validated retrieval evaluation"),
                       ("train", "fit the ridge decoder on every sample, save model.npz")):
        s = sub.add_parser(name, help=text)
        s.add_argument("config", help="YAML config (see pipelines/configs/decode_*.yaml)")
        s.add_argument("-o", "--output", help="result folder (default: the config's 'output')")
        s.add_argument("--overwrite", action="store_true", help="replace an existing folder")
        s.add_argument("--permutations", type=int,
                       help="override n_permutations (label permutations for the p-value)")
        s.set_defaults(func=cmd_decode, decode_mode=name)


def cmd_decode(args: argparse.Namespace) -> int:
    import numpy as np
    import yaml

    from decoders.braindecoding.experiment import decode_figures, run_decode
    from neurodata.atomic import atomic_path
    from neurodata.errors import ValidationError
    from neurodata.results import (
        check_output_folder,
        input_record,
        load_yaml_mapping,
        result_header,
        run_folder,
        save_figure,
        write_csv,
        write_json,
        write_text,
    )

    cfg_path = Path(args.config)
    config = load_yaml_mapping(cfg_path, what="decode config")
    if args.permutations is not None:
        config["n_permutations"] = args.permutations
    out = args.output or config.get("output")
    if out is None:
        raise ValidationError("no result folder: pass -o or set 'output' in the config",
                              path=cfg_path)
    out = Path(out) if args.output else (cfg_path.parent / out)
    check_output_folder(out, overwrite=args.overwrite)
    result = run_decode(config, mode=args.decode_mode, base_dir=cfg_path.parent)
    # the openfmri layout's input is a folder: record each file in it (sorted)
    files = [q for p in map(Path, result["inputs"])
             for q in (sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])]
    inputs = [input_record(p, role="recording") for p in files]
    header = result_header(format=f"neuroloom.decode_{args.decode_mode}_result",
                           command=f"neuroloom decode {args.decode_mode}",
                           config=result["config"], inputs=inputs,
                           packages=("numpy", "scikit-learn", "torch", "nilearn",
                                     "sentence-transformers"))
    metrics = result["metrics"]
    with run_folder(out, overwrite=args.overwrite) as tmp:
        write_text(tmp / "config.yaml", yaml.safe_dump(result["config"], sort_keys=True))
        write_json(tmp / "result.json", {**header, "metrics": metrics})
        write_json(tmp / "metrics.json", metrics)
        flat = {k: v for k, v in metrics.items() if isinstance(v, int | float | str)}
        write_csv(tmp / "metrics.csv", _one_row(flat), index=False)
        for name, table in result["tables"].items():
            write_csv(tmp / f"{name}.csv", table, index=False)
        for name, fig in decode_figures(result).items():
            save_figure(fig, tmp / f"{name}.png")
        if "model" in result:
            with atomic_path(tmp / "model.npz") as f, open(f, "wb") as fh:
                np.savez(fh, **result["model"])  # a file object: no ".npz" appended
    print(f"wrote {out}")
    for key in ("top1", "chance", "p_value", "nilearn_accuracy"):
        if key in metrics:
            value = metrics[key]
            print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    return 0


def _one_row(flat):
    import pandas as pd

    return pd.DataFrame([flat])
