"""``neuroloom pipeline run|explain|step|report``: the Snakemake workflow as one command.

* ``run`` executes ``pipelines/workflows/Snakefile`` (found in the installed package)
  through Snakemake's Python API, locally or through a profile (e.g. SLURM), and prints
  the report's path; ``--dry-run`` lists the jobs it would run, with their resources.
* ``explain OUTPUT`` says whether a job's output folder is up to date with the config and,
  if not, which parameter, input or software version changed.
* ``step`` runs one job (what every rule calls); ``report`` renders the HTML report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register"]


def _cmd_run(args: argparse.Namespace) -> int:
    from pipelines.workflows.execute import run_pipeline

    result = run_pipeline(args.config, cores=args.cores, profile=args.profile,
                          dry_run=args.dry_run, until=args.until, results=args.results,
                          workdir=args.workdir, forceall=args.force)
    if args.dry_run:
        if not result.jobs:
            print("Nothing to be done: every output is up to date.")
        for job in result.jobs:
            res = ", ".join(f"{k}={v}" for k, v in job["resources"].items())
            print(f"would run {job['rule']:<16} {job['job']:<32} {res}")
        print(f"{len(result.jobs)} job(s) to run")
        return 0
    ran = ", ".join(j["job"] for j in result.jobs) or "nothing (up to date)"
    print(f"ran {len(result.jobs)} job(s): {ran}")
    if result.report is not None:
        print(f"report: {result.report}")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from pipelines.workflows.explain import explain

    res = explain(args.output, config=args.config, results=args.results)
    print(res.text())
    return 0 if res.up_to_date or not args.check else 1


def _cmd_step(args: argparse.Namespace) -> int:
    from pipelines.workflows.plan import build_plan
    from pipelines.workflows.runner import run_job

    plan = build_plan(args.config, results=args.results)
    out = run_job(plan, args.step, args.name or "", key=args.key)
    print(f"{args.step}{'/' + args.name if args.name else ''}: {out}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from pipelines.report_pipeline import write_pipeline_report

    settings = json.loads(args.settings) if args.settings else {}
    path = write_pipeline_report([Path(p) for p in args.steps], args.output, **settings)
    print(f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pipeline run|explain|step|report``."""
    p = subparsers.add_parser(
        "pipeline", help="run the Snakemake workflow over every stage; explain its outputs",
        description="The reproducible pipeline (pipelines/workflows/Snakefile): convert -> "
                    "validate -> homogenize -> connectome / HMM-GLM / decoding / tokenizers "
                    "/ Neuroformer / brain -> caption decoding -> report, each output folder "
                    "keyed by the hash of what it depends on.")
    sub = p.add_subparsers(dest="pipeline_command", required=True)

    r = sub.add_parser("run", help="run the workflow (Snakemake API)")
    r.add_argument("--config", default=None,
                   help="pipeline config YAML (default: the packaged one, bundled samples)")
    r.add_argument("--cores", type=int, default=1, help="local cores / parallel jobs")
    r.add_argument("--profile", default=None,
                   help="Snakemake profile: a folder, or a packaged name (slurm)")
    r.add_argument("--dry-run", action="store_true", help="list the jobs, run nothing")
    r.add_argument("--until", default=None, metavar="STEP",
                   help="run only up to this step (its jobs and what they need)")
    r.add_argument("--results", default=None, help="output root (default: the config's)")
    r.add_argument("--workdir", default=None, help="working directory (default: current)")
    r.add_argument("--force", action="store_true", help="rerun every job")
    r.set_defaults(func=_cmd_run)

    e = sub.add_parser("explain", help="is an output up to date? if not, what changed")
    e.add_argument("output", help="a job's output folder (or any file in it)")
    e.add_argument("--config", default=None,
                   help="config to compare with (default: the one the job ran with)")
    e.add_argument("--results", default=None, help="output root the plan uses")
    e.add_argument("--check", action="store_true", help="exit 1 when not up to date")
    e.set_defaults(func=_cmd_explain)

    s = sub.add_parser("step", help="run one job of the workflow (called by its rules)")
    s.add_argument("step", help="workflow step to run")
    s.add_argument("name", nargs="?", default="", help="the job's input name, if any")
    s.add_argument("--key", default=None, help="the key the workflow planned with")
    s.add_argument("--config", required=True, help="the workflow config (YAML)")
    s.add_argument("--results", default=None, help="output root the plan uses")
    s.set_defaults(func=_cmd_step)

    t = sub.add_parser("report", help="render the HTML report of finished steps")
    t.add_argument("steps", nargs="+", help="job output folders (with step.json)")
    t.add_argument("-o", "--output", required=True, help="report .html")
    t.add_argument("--settings", default=None, help="report settings as JSON")
    t.set_defaults(func=_cmd_report)
