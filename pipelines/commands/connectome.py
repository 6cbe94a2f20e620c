"""``neuroloom connectome``: the dynamic functional connectome of converted recordings.

Parses the arguments, runs :func:`connectome.connectome_analysis` (one recording per
animal on one rate and neuron vocabulary → sliding-window affinities → non-negative
tensor factorization → communities of every component; Dyballa et al., ICLR 2024; with
``--structural``, enrichment of community co-membership for structural-connectome edges
against degree-preserving shuffles) and writes the result files, figures and
``result.json`` (configuration, input sha256s, software versions) into one output folder
through :mod:`neurodata.results`.  See docs/connectome_cli.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neurodata.errors import ValidationError
from neurodata.results import (
    ANALYSIS_SOFTWARE,
    check_output_folder,
    file_hashes,
    input_provenance,
    input_record,
    result_header,
    run_folder,
    save_figure,
    write_json,
)

__all__ = ["register", "cmd_connectome", "run_connectome", "parse_ranks"]

_SOFTWARE = (*ANALYSIS_SOFTWARE, "leidenalg", "igraph", "threadpoolctl")


def parse_ranks(spec: str) -> list[int]:
    """``"2..8"`` → [2, …, 8]; ``"2,4,6"`` → [2, 4, 6].

    Examples
    --------
    >>> parse_ranks("2..4")
    [2, 3, 4]
    """
    try:
        if ".." in spec:
            lo, hi = (int(s) for s in spec.split(".."))
            ranks = list(range(lo, hi + 1))
        else:
            ranks = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        ranks = []
    if not ranks or min(ranks) < 1:
        raise ValidationError(
            f"--rank-selection expects LOW..HIGH or a comma list of ranks >= 1; got {spec!r}")
    return ranks


def run_connectome(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole command for parsed arguments; returns the ``result.json`` content.

    Writes into a temporary folder beside ``args.output`` and renames it at the end, so an
    interrupted run leaves no partial output (and an earlier result stays untouched).
    """
    from connectome.connectome_analysis import connectome_analysis

    out = check_output_folder(args.output, overwrite=args.overwrite)
    ranks = parse_ranks(args.rank_selection) if args.rank_selection else []
    res = connectome_analysis(
        args.input, rank=args.rank, window=args.window, step=args.step, block=args.block,
        rate=args.rate, vocabulary=args.vocabulary, drop_invalid=args.drop_invalid,
        behavior_channel=args.behavior, affinity=args.affinity,
        communities=args.communities, ranks=ranks, n_restarts=args.restarts,
        n_iter_max=args.n_iter, tol=args.tol, random_state=args.seed, backend=args.backend,
        device=args.device, threads=args.threads, structural=args.structural,
        n_shuffles=args.shuffles)
    data, dc, sel, table = res.data, res.dc, res.selection, res.enrichment
    config = {
        "inputs": [str(p) for p in data.paths], "block": args.block, "rate_hz": data.rate,
        "requested_rate_hz": args.rate, "vocabulary": data.steps[0]["vocabulary"],
        "window_s": args.window, "step_s": args.step if args.step is not None else args.window,
        "window_samples": res.window, "step_samples": res.step, "affinity": args.affinity,
        "communities": args.communities, "rank": args.rank, "rank_selection": ranks,
        "restarts": args.restarts, "n_iter_max": args.n_iter, "tol": args.tol,
        "seed": args.seed, "backend": args.backend, "device": args.device,
        "threads": args.threads, "drop_invalid": args.drop_invalid,
        "structural": str(args.structural) if args.structural else None,
        "shuffles": args.shuffles if args.structural else None, "behavior": args.behavior,
    }
    inputs = [input_record(p) for p in data.paths]
    if args.structural:
        inputs.append(input_record(args.structural, role="structural"))
    with run_folder(out) as tmp:
        dc.save(tmp)
        files = ["affinity.npz", "cp.npz", "communities.json", "summary.csv"]
        if sel is not None:
            write_json(tmp / "rank_selection.json", sel.to_dict())
            files.append("rank_selection.json")
        if table is not None:
            table.to_csv(tmp / "enrichment.csv", index=False)
            files.append("enrichment.csv")
        for name, fig in res.figures():
            save_figure(fig, tmp / "figures" / name)
            files.append(f"figures/{name}")
        result = {
            **result_header(format="neuroloom.connectome_result",
                            command="neuroloom connectome", config=config, inputs=inputs,
                            packages=_SOFTWARE,
                            input_provenance=[input_provenance(p) for p in data.paths]),
            "homogenization": data.steps, "excluded_neurons": dict(zip(
                data.animal_names, data.excluded, strict=True)),
            "data": {"animals": data.animal_names, "n_neurons": res.n_neurons,
                     "neurons_per_animal": [len(n) for n in data.neuron_names],
                     "n_windows": res.n_windows, "n_pairs": int(dc.affinity.shape[0]),
                     "observed_fraction": float(dc.affinity.mask.mean()),
                     "n_events": int(len(data.events)),
                     "behavior": data.behavior[2] if data.behavior else None},
            "fit": {"relative_error": float(dc.cp.error), "n_iter": int(dc.cp.n_iter),
                    "converged": bool(dc.cp.converged),
                    "restart_errors": np.asarray(dc.cp.restart_errors).tolist()},
            "components": dc.summary_table().to_dict(orient="records"),
            "enrichment": None if table is None else table.to_dict(orient="records"),
            "files": file_hashes(tmp, files),
        }
        write_json(tmp / "result.json", result)
    return result


def cmd_connectome(args: argparse.Namespace) -> int:
    """Run ``neuroloom connectome`` and print a short summary."""
    result = run_connectome(args)
    d = result["data"]
    print(f"wrote {Path(args.output)} ({len(d['animals'])} animal(s), {d['n_neurons']} neurons, "
          f"{d['n_windows']} windows; rank {args.rank}, relative error "
          f"{result['fit']['relative_error']:.4f})")
    for row in result["components"]:
        print(f"  component {row['component']}: weight {row['weight']:.3g}, peak "
              f"{row['peak_time']:.1f} s, {row['n_communities']} communities "
              f"{row['community_sizes']}")
    for row in result["enrichment"] or []:
        if row["edges"] == "chemical+electrical":
            z = "n/a" if row["z"] is None else f"{row['z']:.2f}"
            print(f"  enrichment component {row['component']}: {row['observed']} of "
                  f"{row['n_edges']} structural edges within communities (null "
                  f"{row['null_mean']:.1f}), z = {z}, p = {row['p_value']:.3g}")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``connectome`` subcommand."""
    p = subparsers.add_parser(
        "connectome", help="dynamic functional connectome: affinities → NTF → communities",
        description="Sliding-window pairwise affinities of every neuron pair, a non-negative "
                    "tensor factorization (pairs × windows × animals) and the communities "
                    "of every component (Dyballa et al., ICLR 2024).  One input per animal; "
                    "animals are aligned by neuron name.  Writes results, figures and "
                    "result.json into OUTDIR.")
    p.add_argument("input", nargs="+", help="converted recordings (.h5), one per animal")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--rank", type=int, required=True, help="number of NTF components")
    p.add_argument("--window", type=float, default=60.0,
                   help="window length in seconds (default 60)")
    p.add_argument("--step", type=float, default=None,
                   help="step between windows in seconds (default: the window, no overlap)")
    p.add_argument("--affinity", choices=("differential", "correlation", "kernel"),
                   default="differential", help="pairwise affinity (default differential)")
    p.add_argument("--communities", choices=("sbm", "leiden"), default="sbm",
                   help="community detection per component (default sbm)")
    p.add_argument("--block", help="timeseries block (default: 'calcium' or the only block)")
    p.add_argument("--rate", type=float, default=None,
                   help="resample every animal to this rate in Hz (needed for irregular "
                        "timestamps or mixed rates)")
    p.add_argument("--vocabulary", choices=("auto", "celegans", "none"), default="auto",
                   help="align neurons on the 302 C. elegans names (auto: when the subject "
                        "species is C. elegans)")
    p.add_argument("--drop-invalid", action="store_true",
                   help="leave all-NaN and constant neurons out instead of failing")
    p.add_argument("--behavior", metavar="CHANNEL",
                   help="behaviour channel to overlay (default: the first one found)")
    p.add_argument("--structural", metavar="FILE",
                   help="structural connectome (.json/.csv/.xlsx or .h5 with /connectivity): "
                        "test community co-membership for chemical + gap-junction edges")
    p.add_argument("--shuffles", type=int, default=1000,
                   help="degree-preserving shuffles per enrichment test (default 1000)")
    p.add_argument("--rank-selection", metavar="LOW..HIGH",
                   help="also fit these ranks and plot error and stability, e.g. 2..8")
    p.add_argument("--restarts", type=int, default=5, help="NTF random restarts (default 5)")
    p.add_argument("--n-iter", type=int, default=500, help="maximum NTF iterations")
    p.add_argument("--tol", type=float, default=1e-7, help="NTF relative-error tolerance")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                   help="array library of the NTF fits (torch: --device)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: fastest for one worm's tensor and on "
                        "shared machines; 0 = library default)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTDIR")
    p.set_defaults(func=cmd_connectome)
