"""``neuroloom glmhmm``: state-switching coupling GLMs (HMM-GLM) on a converted recording.

Parses the arguments, runs :func:`connectome.glmhmm_analysis` (bin the spikes, split the
bins by time, fit :class:`connectome.HMMGLM`, a single coupling GLM and a homogeneous
Poisson model, compare them held out, decode the states and relate them to behaviour;
Li et al., ICLR 2024) and writes ``result.json``, ``states.csv``, ``weights.npy`` and
figures into one output folder through :mod:`neurodata.results`.  The analysis steps are
library functions (:func:`neurodata.load_counts`, :func:`neurodata.behavior_per_bin`,
:func:`connectome.split_blocks`, :func:`connectome.compare_models`,
:func:`connectome.state_behavior_summary`); see docs/glmhmm_cli.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

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

__all__ = ["register", "cmd_glmhmm", "run_glmhmm"]

_SOFTWARE = (*ANALYSIS_SOFTWARE, "torch")


def run_glmhmm(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole command for parsed arguments; returns the ``result.json`` content.

    Writes into a temporary folder beside ``args.output`` and renames it at the end, so an
    interrupted run leaves no partial output (and an earlier result stays untouched).
    """
    from connectome.glmhmm_analysis import glmhmm_analysis

    inp = Path(args.input)
    out = check_output_folder(args.output, overwrite=args.overwrite)
    prior = None if args.prior == "none" else args.prior
    units = [u.strip() for u in args.units.split(",") if u.strip()] if args.units else None
    res = glmhmm_analysis(
        inp, bin_size=args.bin, n_states=args.states, prior=prior, window=args.window,
        t_start=args.t_start, t_stop=args.t_stop, units=units, min_rate=args.min_rate,
        block=args.block, event_threshold=args.event_threshold,
        behavior_block=args.behavior_block, speed_smooth=args.speed_smooth,
        run_speed=args.run_speed, test_fraction=args.test_fraction,
        test_blocks=args.test_blocks, n_init=args.restarts, max_iter=args.max_iter,
        glm_alpha=args.glm_alpha, random_state=args.seed, structural=args.structural,
        structural_mode=args.structural_mode)
    data, cmp, model, behavior = res.data, res.comparison, res.model, res.behavior
    config = {
        "input": str(inp), "bin_s": args.bin, "states": args.states, "prior": args.prior,
        "window_bins": args.window, "units": units, "min_rate_hz": args.min_rate,
        "block": args.block, "event_threshold_sd": data.event_threshold,
        "t_start": float(data.edges[0]), "t_stop": float(data.edges[-1]),
        "requested_t_start": args.t_start, "requested_t_stop": args.t_stop,
        "test_fraction": args.test_fraction, "test_blocks": args.test_blocks,
        "restarts": args.restarts, "max_iter": args.max_iter, "seed": args.seed,
        "glm_alpha": args.glm_alpha, "behavior_block": args.behavior_block,
        "speed_smooth_s": args.speed_smooth, "run_speed": args.run_speed,
        "structural": str(args.structural) if args.structural else None,
        "structural_mode": args.structural_mode if args.structural else None,
    }
    inputs = [input_record(inp, role="recording")]
    if args.structural:
        inputs.append(input_record(args.structural, role="structural"))
    edges, train_idx, test_idx = data.edges, res.train_bins, res.test_bins
    with run_folder(out) as tmp:
        res.states_table().to_csv(tmp / "states.csv", index=False, float_format="%.6g")
        np.save(tmp / "weights.npy", model.weights_)
        files = ["states.csv", "weights.npy"]
        if prior is not None:
            np.save(tmp / "prior.npy", model.connectome_)
            files.append("prior.npy")
        for name, fig in res.figures():
            save_figure(fig, tmp / "figures" / name)
            files.append(f"figures/{name}")
        result = {
            **result_header(format="neuroloom.glmhmm_result", command="neuroloom glmhmm",
                            config=config, inputs=inputs, packages=_SOFTWARE,
                            input_provenance=input_provenance(inp)),
            "data": {"source": data.source, "n_units": len(data.unit_names),
                     "units": data.unit_names, "rates_hz": data.rates,
                     "excluded_units": data.excluded, "n_bins": data.counts.shape[0],
                     "bin_s": data.bin_size,
                     "train_bins": [list(r) for r in train_idx],
                     "test_bins": [list(r) for r in test_idx],
                     "train_seconds": [[float(edges[a]), float(edges[b])] for a, b in train_idx],
                     "test_seconds": [[float(edges[a]), float(edges[b])] for a, b in test_idx],
                     "n_spikes": int(data.counts.sum()),
                     "behavior": None if behavior is None else list(behavior.columns)},
            "heldout": {"n_bins": cmp.n_test_bins, "n_spikes": cmp.n_test_spikes,
                        "models": cmp.table.to_dict(orient="records")},
            "fit": {"n_iter": int(model.n_iter_), "converged": bool(model.converged_),
                    "loss_curve": list(model.loss_curve_),
                    "train_log_likelihood": float(model.log_likelihood_),
                    "transmat": model.transmat_, "startprob": model.startprob_,
                    "glm_converged": bool(cmp.glm.converged_)},
            "states": res.summary,
            "files": file_hashes(tmp, files),
        }
        write_json(tmp / "result.json", result)
    return result


def cmd_glmhmm(args: argparse.Namespace) -> int:
    """Run ``neuroloom glmhmm`` and print the held-out table and state summary."""
    result = run_glmhmm(args)
    d, h = result["data"], result["heldout"]
    print(f"wrote {Path(args.output)} ({d['n_units']} units, {d['n_bins']} bins of "
          f"{d['bin_s']:g} s; held out {h['n_bins']} bins, {h['n_spikes']} spikes)")
    for row in h["models"]:
        bps = "n/a" if row["bits_per_spike"] is None else f"{row['bits_per_spike']:+.4f}"
        print(f"  {row['model']:<36} held-out {row['ll_per_bin']:.4f} nats/bin, "
              f"{bps} bits/spike")
    s = result["states"]
    for k, occ in enumerate(s["occupancy"]):
        line = f"  state {k}: occupancy {occ:.3f}, mean dwell {s['mean_dwell_s'][k]:.2f} s"
        speed = (s.get("behavior") or {}).get("speed")
        if speed is not None and speed["per_state"]["mean"][k] is not None:
            line += f", mean speed {speed['per_state']['mean'][k]:.1f} {speed['unit']}"
        print(line)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``glmhmm`` subcommand."""
    p = subparsers.add_parser(
        "glmhmm", help="state-switching coupling GLM (HMM-GLM) on binned spikes",
        description="Bin the spikes of a converted recording (or onsets of thresholded "
                    "deconvolved calcium activity), fit an HMM-GLM with K states (Li et "
                    "al., ICLR 2024; no prior, Gaussian or one-hot prior), a single "
                    "coupling GLM and a homogeneous Poisson model on the training time "
                    "blocks, compare held-out log-likelihoods, decode states and relate "
                    "them to behaviour.  Writes result.json, states.csv, weights.npy and "
                    "figures into OUTDIR.")
    p.add_argument("input", help="converted recording (.h5) with a /spikes block")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--states", type=int, required=True, help="number of hidden states K")
    p.add_argument("--bin", type=float, default=0.05, help="bin width in seconds (0.05)")
    p.add_argument("--prior", choices=("none", "gaussian", "onehot"), default="onehot",
                   help="weight prior of the HMM-GLM (default onehot)")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--units", metavar="NAMES", help="comma-separated unit names to use")
    sel.add_argument("--min-rate", type=float, metavar="HZ",
                     help="use units firing at least HZ over the interval")
    p.add_argument("--t-start", type=float, default=None, help="start of the interval (s)")
    p.add_argument("--t-stop", type=float, default=None, help="end of the interval (s)")
    p.add_argument("--block", help="spikes block, or a calcium block to threshold "
                                   "(default: the only spikes block, else 'deconvolved')")
    p.add_argument("--event-threshold", type=float, default=2.0, metavar="SD",
                   help="calcium: event when deconvolved activity exceeds SD × its std "
                        "(default 2)")
    p.add_argument("--behavior-block", metavar="NAME",
                   help="behaviour block to relate states to (default: the first block of "
                        "modality behavior); x/y channels give a running speed")
    p.add_argument("--speed-smooth", type=float, default=0.5, metavar="S",
                   help="Gaussian smoothing of the speed, s (default 0.5)")
    p.add_argument("--run-speed", type=float, default=None, metavar="V",
                   help="speed threshold for running vs rest (behaviour unit/s)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="fraction of bins held out (default 0.2)")
    p.add_argument("--test-blocks", type=int, default=1,
                   help="held-out part split over this many evenly spaced contiguous "
                        "blocks (default 1: the end of the interval)")
    p.add_argument("--window", type=int, default=5, help="coupling filter length in bins (5)")
    p.add_argument("--restarts", type=int, default=1, help="HMM-GLM restarts (default 1)")
    p.add_argument("--max-iter", type=int, default=100, help="EM iterations per restart")
    p.add_argument("--glm-alpha", type=float, default=1e-3,
                   help="L2 penalty of the single coupling GLM (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--structural", metavar="FILE",
                   help="known (C, C) connectome, post × pre: .npy/.csv in unit order, or "
                        "a recording (.h5) with /connectivity named by unit")
    p.add_argument("--structural-mode", choices=("fixed", "init"), default="init",
                   help="keep the structural prior fixed, or only initialise from it")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTDIR")
    p.set_defaults(func=cmd_glmhmm)
