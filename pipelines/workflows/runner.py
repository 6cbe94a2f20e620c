"""Run one pipeline job: its one ``neuroloom`` subcommand, then its ``step.json`` record.

:func:`run_job` is what every Snakemake rule calls (through ``neuroloom pipeline step``).
The subcommand writes into a staging folder beside the job's output folder; the record
is written last and the staging folder is renamed into place only when everything
succeeded, so a folder with a ``step.json`` is always complete and a failed job leaves
nothing that looks finished.  Errors become one :class:`StepError` line naming the rule,
the job and the file concerned.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from neurodata.atomic import replace_dir
from neurodata.errors import NeurodataError

from .plan import (
    RECORD_NAME,
    Job,
    Plan,
    brain_decoding_config,
    content_hash,
    decoding_config,
    job_argv,
)

__all__ = ["StepError", "run_job", "read_record", "RECORD_FORMAT"]

RECORD_FORMAT = "neuroloom.pipeline_step"


class StepError(NeurodataError):
    """A pipeline job failed; the message names the rule, the job and the file."""


def read_record(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``step.json`` of a job's output folder."""
    path = Path(folder) / RECORD_NAME
    if not path.is_file():
        raise StepError("no step.json: this folder is not a finished pipeline step (the job "
                        "did not run, or failed before finishing)", path=folder)
    record = json.loads(path.read_text())
    if record.get("format") != RECORD_FORMAT:
        raise StepError(f"step.json is not a {RECORD_FORMAT} record", path=path)
    return record


def _inputs_record(job: Job) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for role, jobs in job.upstream.items():
        out[role] = [{"path": str(j.output), "from": j.id, "key": j.key,
                      "sha256": content_hash(j.output) if j.output.exists() else None}
                     for j in jobs]
    for role, paths in job.sources.items():
        out.setdefault(role, []).extend({"path": str(p), "from": None, "key": None,
                                         "sha256": content_hash(p)} for p in paths)
    return out


def _outputs_record(folder: Path) -> dict[str, str]:
    return {f.relative_to(folder).as_posix(): content_hash(f)
            for f in sorted(folder.rglob("*")) if f.is_file() and f.name != RECORD_NAME}


def _call(argv: list[str], stdout_to: Path | None) -> None:
    """Run one ``neuroloom`` subcommand in this process; bad input raises."""
    from pipelines.cli import build_parser

    args = build_parser().parse_args(argv)
    buf = io.StringIO()
    if stdout_to is None:
        code = args.func(args)
    else:  # validate: its report is the job's output
        with contextlib.redirect_stdout(buf):
            code = args.func(args)
        stdout_to.write_text(buf.getvalue())
    if code:
        lines = buf.getvalue().strip().splitlines()
        raise NeurodataError(f"neuroloom {argv[0]} exited with status {code}"
                             + (f": {'; '.join(lines[:3])}" if lines else ""),
                             path=argv[1] if len(argv) > 1 else None)


def _collect_batch(stage: Path, job: Job) -> None:
    """A folder source converted as a batch: keep its one recording as ``recording.h5``."""
    batch = stage / "batch"
    if not batch.is_dir():
        return
    files = sorted(batch.glob("*.h5"))
    if len(files) != 1:
        raise StepError(f"the source folder converted to {len(files)} recordings; a "
                        "pipeline recording must be one (list each file separately)",
                        path=job.input_paths("source")[0])
    files[0].rename(stage / job.main)
    shutil.rmtree(batch)


def run_job(plan: Plan, step: str, name: str = "", *, key: str | None = None) -> Path:
    """Run one job of ``plan`` and return its output folder.

    Parameters
    ----------
    plan : Plan
    step, name : str
        The job (``name`` empty for steps without instances).
    key : str, optional
        The key Snakemake planned with; a different current key means the config or an
        input changed while the workflow ran, and the job refuses to run.

    Raises
    ------
    StepError
        One line: ``rule STEP (job ...): FILE: what went wrong``.
    """
    job = plan.job(step, name)
    label = f"rule {job.step}" + (f" ({job.name})" if job.name else "")
    if key is not None and key != job.key:
        raise StepError(f"{label}: planned with key {key} but the config and inputs now give "
                        f"{job.key}; the config or an input changed during the run — rerun",
                        path=plan.config_file)
    for role in job.roles():
        for p in job.input_paths(role):
            if not p.exists():
                raise StepError(f"{label}: {p}: input {role!r} is missing")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    stage = job.dir.parent / f".{job.dir.name}.stage"
    if rank == 0:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
    argv = job_argv(job, stage)
    import neurodata as nd

    nd.set_log_level("WARNING")  # no progress bars in job logs; errors still reach them
    started = time.time()
    try:
        if job.step == "decoding":
            (stage / "benchmark.yaml").write_text(yaml.safe_dump(decoding_config(job),
                                                                 sort_keys=False))
        if job.step == "neuroformer":  # its own run config; the recording is passed apart
            (stage / "neuroformer.yaml").write_text(yaml.safe_dump(job.params["run"],
                                                                   sort_keys=False))
        if job.step == "brain_decoding":  # the decode config names the fMRI data folder
            (stage / "decode.yaml").write_text(yaml.safe_dump(brain_decoding_config(job),
                                                              sort_keys=False))
        _call(argv, stage / job.main if job.step == "validate" else None)
        if rank != 0:
            return job.dir
        if job.step == "convert":
            _collect_batch(stage, job)
        if not (stage / job.main).exists():
            raise StepError(f"{label}: neuroloom {argv[0]} finished without writing "
                            f"{job.main}", path=stage)
        finished = time.time()
        record = {
            "format": RECORD_FORMAT, "record_version": 1, "step": job.step, "name": job.name,
            "key": job.key, "plan_version": job.key_material()["plan"],
            "section": job.section, "params": job.params, "software": job.software,
            "inputs": _inputs_record(job), "main": job.main,
            "argv": ["neuroloom", *[a.replace(str(stage), str(job.dir)) for a in argv]],
            "config_file": str(plan.config_file) if plan.config_file else None,
            "results": str(plan.results), "processes": world,
            "started": _dt.datetime.fromtimestamp(started, _dt.UTC).isoformat(
                timespec="seconds"),
            "duration_s": round(finished - started, 2),
            "outputs": _outputs_record(stage),
        }
        (stage / RECORD_NAME).write_text(json.dumps(record, indent=1, default=str))
        job.dir.parent.mkdir(parents=True, exist_ok=True)
        replace_dir(stage, job.dir)
    except StepError:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    except NeurodataError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        where = exc.path or (str(job.input_paths(job.roles()[0])[0]) if job.roles() else None)
        raise StepError(f"{label}: " + (f"{where}: " if where else "") + exc.message) \
            from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return job.dir
