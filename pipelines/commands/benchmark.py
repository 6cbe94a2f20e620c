"""``neuroloom benchmark CONFIG.yaml``: the batch decoding benchmark (datasets × pipelines ×
evaluations), resumable, with cached epochs; see :mod:`decoders.benchmark`.

Results go to ``<out>/<config-hash>/``.  If some cells fail, the others still run and are
saved; the command prints one line naming the failed cells and exits 1, and rerunning it
computes only those cells."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from decoders.benchmark import run_benchmark

    res = run_benchmark(args.config, output=args.out, n_jobs=args.n_jobs,
                        cache_epochs=False if args.no_cache else None, force=args.force,
                        plots=not args.no_plots)  # progress: the CLI's log level (INFO)
    md = (res.run_dir / "summary.md").read_text()
    print(md, end="")
    print(f"{len(res.ran)} cell(s) computed, {len(res.skipped)} skipped; results in "
          f"{res.run_dir}/ (results.csv, summary.md, manifest.json; {res.output}/latest.json "
          "points there)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` subcommand."""
    p = subparsers.add_parser(
        "benchmark", help="run a decoding benchmark grid from a YAML config",
        description="Run datasets x pipelines x evaluations from CONFIG.yaml; finished "
                    "cells are skipped on rerun, a failing cell does not stop the others. "
                    "Writes OUT/<config-hash>/ (results.csv, summary.csv/.md, scores.png, "
                    "paired.png, manifest.json) and OUT/latest.json.")
    p.add_argument("config", help="benchmark config (YAML)")
    p.add_argument("--out", default=None, help="output folder (default: the config's)")
    p.add_argument("--n-jobs", type=int, default=None,
                   help="parallel cells (default: the config's, else 1)")
    p.add_argument("--force", action="store_true", help="recompute finished cells")
    p.add_argument("--no-cache", action="store_true", help="cut epochs in every cell")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(func=_run)
