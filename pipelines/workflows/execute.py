"""Run the packaged Snakefile through Snakemake's Python API (``neuroloom pipeline run``).

:func:`run_pipeline` finds the workflow in the installed package, reads a profile (a
Snakemake profile folder or a packaged name such as ``slurm``), builds the DAG for all
targets or one step (``until``), executes it locally or through an executor plugin, and
returns the jobs it ran (or, for a dry run, would run) with their resources.  A failed
job becomes one :class:`~pipelines.workflows.runner.StepError` line naming the rule and
the file (read from the job's log).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodata.errors import NeurodataError
from neurodata.log import logger

from .plan import WORKFLOW_DIR, build_plan, default_config_path
from .runner import StepError

__all__ = ["run_pipeline", "PipelineRun", "SNAKEFILE", "profile_path", "read_profile"]

SNAKEFILE = WORKFLOW_DIR / "Snakefile"
PROFILES = WORKFLOW_DIR / "profiles"

#: Profile keys :func:`read_profile` understands (Snakemake CLI names).
_PROFILE_KEYS = {"executor", "jobs", "cores", "default-resources", "set-resources",
                 "set-threads", "latency-wait", "retries", "keep-going"}


@dataclass
class PipelineRun:
    """What a run did: jobs (rule, job id, resources), the report and the plan's root."""

    jobs: list[dict[str, Any]] = field(default_factory=list)
    report: Path | None = None
    results: Path | None = None


def profile_path(profile: str | os.PathLike) -> Path:
    """A profile folder: a path, or the name of a packaged profile (``slurm``)."""
    p = Path(profile)
    if (p / "config.yaml").is_file():
        return p
    if (PROFILES / str(profile) / "config.yaml").is_file():
        return PROFILES / str(profile)
    names = sorted(d.name for d in PROFILES.iterdir() if (d / "config.yaml").is_file())
    raise NeurodataError(f"no Snakemake profile {str(profile)!r}: give a folder holding "
                         f"config.yaml or one of {names}")


def _kv(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    out = {}
    for item in value or []:
        k, _, v = str(item).partition("=")
        out[k.strip()] = v.strip()
    return out


def read_profile(profile: str | os.PathLike) -> dict[str, Any]:
    """Read a profile's ``config.yaml`` into executor, jobs, resources and settings."""
    import yaml

    folder = profile_path(profile)
    raw = yaml.safe_load((folder / "config.yaml").read_text()) or {}
    executor = raw.get("executor", "local")
    settings = {k[len(executor) + 1:].replace("-", "_"): v for k, v in raw.items()
                if k.startswith(f"{executor}-")}
    unknown = sorted(k for k in raw if k not in _PROFILE_KEYS and not k.startswith(
        f"{executor}-"))
    if unknown:
        raise NeurodataError(f"profile keys {unknown} are not understood by neuroloom "
                             f"pipeline run; known: {sorted(_PROFILE_KEYS)} and "
                             f"'{executor}-*' executor settings",
                             path=folder / "config.yaml")
    return {"executor": executor, "jobs": raw.get("jobs"), "cores": raw.get("cores"),
            "default_resources": _kv(raw.get("default-resources")),
            "set_resources": {r: _kv(v) for r, v in (raw.get("set-resources") or {}).items()},
            "set_threads": _kv(raw.get("set-threads")),
            "latency_wait": raw.get("latency-wait"), "retries": raw.get("retries"),
            "keep_going": bool(raw.get("keep-going", False)), "settings": settings,
            "path": folder}


def _executor_settings(executor: str, settings: dict[str, Any]):
    if executor in ("local", "dryrun", "touch"):
        return None
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    plugin = ExecutorPluginRegistry().get_plugin(executor)
    return plugin.settings_cls(**settings) if plugin.settings_cls else None


def _job_rows(dag) -> list[dict[str, Any]]:
    rows = []
    for job in sorted(dag.needrun_jobs(exclude_finished=False),
                      key=lambda j: (str(j.rule), str(j.output[0]) if j.output else "")):
        if job.rule.name == "all":
            continue
        folder = Path(str(job.output[0])).parent.name if job.output else ""
        res = {k: v for k, v in dict(job.resources.items()).items()
               if k not in ("_cores", "_nodes", "tmpdir", "mem_mib", "disk_mib")}
        res["threads"] = job.threads
        rows.append({"rule": job.rule.name, "job": f"{job.rule.name}/{folder}",
                     "output": str(job.output[0]) if job.output else "", "resources": res,
                     "shell": job.shellcmd or ""})
    return rows


def _failure(results: Path, since: float, exc: BaseException) -> StepError:
    """The first error line of the job logs written during this run."""
    logs = sorted((p for p in (results / "logs").rglob("*.log") if p.stat().st_mtime >=
                   since - 1), key=lambda p: p.stat().st_mtime)
    for log in logs:
        # the last error line is the job's own verdict (earlier ones may be the
        # subcommand's, e.g. validate's summary)
        for line in reversed(log.read_text(errors="replace").splitlines()):
            if "error:" in line:
                msg = line.split("error:", 1)[1].strip()
                if not msg.startswith("rule "):  # e.g. an internal error: name the job
                    name = log.stem.rsplit("-", 1)[0] if "-" in log.stem else ""
                    msg = f"rule {log.parent.name}" + (f" ({name})" if name else "") + \
                        f": {msg}"
                return StepError(f"{msg} (log: {log})")
    return StepError(f"the workflow failed: {' '.join(str(exc).split())[:500]}")


def run_pipeline(config: str | os.PathLike | None = None, *, cores: int = 1,
                 profile: str | os.PathLike | None = None, dry_run: bool = False,
                 until: str | None = None, results: str | os.PathLike | None = None,
                 workdir: str | os.PathLike | None = None,
                 forceall: bool = False) -> PipelineRun:
    """Run (or dry-run) the pipeline workflow.

    Parameters
    ----------
    config : path-like, optional
        Pipeline config YAML; default the packaged one (bundled samples).
    cores : int
        Local cores (parallel local jobs).
    profile : str or path-like, optional
        A Snakemake profile folder or packaged name (``"slurm"``): executor, jobs,
        resources and executor settings.
    dry_run : bool
        Plan only; the returned jobs are those that would run.
    until : str, optional
        Run only this step's jobs and what they need.
    results : path-like, optional
        Output root (default: the config's ``results``, relative to ``workdir``).
    workdir : path-like, optional
        Working directory of the run (default: the current one).
    forceall : bool
        Rerun every job.

    Returns
    -------
    PipelineRun

    Examples
    --------
    >>> run = run_pipeline(dry_run=True, results="/tmp/nl")  # doctest: +SKIP
    >>> sorted({j["rule"] for j in run.jobs})[:2]  # doctest: +SKIP
    ['connectome', 'convert']
    """
    from snakemake.api import SnakemakeApi
    from snakemake.exceptions import WorkflowError
    from snakemake.resources import DefaultResources
    from snakemake.settings.enums import RerunTrigger
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        ExecutionSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
    )

    cfg = Path(config).absolute() if config is not None else default_config_path()
    work = Path(workdir or Path.cwd()).absolute()
    plan = build_plan(cfg, results=results, workdir=work)  # config errors surface here
    targets = plan.targets(until) if until else plan.targets()
    prof = read_profile(profile) if profile else None
    executor = prof["executor"] if prof else "local"
    overwrite = {}
    if prof:
        overwrite = {rule: {k: _num(v) for k, v in res.items()}
                     for rule, res in prof["set_resources"].items()}
    resources = ResourceSettings(
        cores=(prof.get("cores") if prof and prof.get("cores") else cores),
        nodes=(prof.get("jobs") if prof else None) or (cores if executor != "local" else None),
        overwrite_resources=overwrite,
        overwrite_threads={k: int(v) for k, v in (prof["set_threads"] if prof else {}).items()},
        default_resources=(DefaultResources([f"{k}={v}" for k, v in
                                             prof["default_resources"].items()])
                           if prof and prof["default_resources"] else None),
    )
    started = time.time()
    out = PipelineRun(results=plan.results)
    if not dry_run:
        pending = [j.id for j in plan if str(j.record) in set(targets) or until is None]
        pending = [jid for jid in pending if forceall or not plan.jobs[jid].record.exists()]
        logger.info("neuroloom pipeline: %d job(s) not yet done: %s", len(pending),
                    ", ".join(pending) or "none")
    try:
        # Snakemake's own messages stay quiet: a failure ends in one line of ours
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL}, dryrun=dry_run,
                                         show_failed_logs=False)) as api:
            wf = api.workflow(
                resource_settings=resources,
                config_settings=ConfigSettings(config={"config_file": str(cfg),
                                                       "results": str(plan.results)}),
                snakefile=SNAKEFILE, workdir=work)
            # the keys in the output paths already cover parameters, inputs and software;
            # Snakemake's own code/params triggers would rerun jobs whose key is unchanged
            # (e.g. after an edit of the Snakefile's text), which explain could not justify
            dag = wf.dag(DAGSettings(targets=frozenset(targets), forceall=forceall,
                                     rerun_triggers=frozenset({RerunTrigger.MTIME})))
            exec_settings = ExecutionSettings(
                latency_wait=(prof.get("latency_wait") or 5) if prof else 3,
                retries=(prof.get("retries") or 0) if prof else 0,
                keep_going=prof["keep_going"] if prof else False)
            dag.execute_workflow(
                executor="dryrun" if dry_run else executor,
                execution_settings=exec_settings,
                executor_settings=None if dry_run else _executor_settings(
                    executor, prof["settings"] if prof else {}))
            out.jobs = _job_rows(wf._workflow.dag)
    except WorkflowError as exc:
        raise _failure(plan.results, started, exc) from None
    except Exception as exc:  # snakemake raises plain exceptions for failed jobs too
        if isinstance(exc, NeurodataError):
            raise
        raise _failure(plan.results, started, exc) from None
    report = plan.job("report").output
    if not dry_run and report.exists():
        out.report = report
        (plan.results / "latest_report.txt").write_text(f"{report}\n")
    return out


def _num(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        return v
