"""Why is a pipeline output (not) up to date?  (``neuroloom pipeline explain OUTPUT``)

:func:`explain` reads the job's ``step.json``, rebuilds the plan from the config (the one
the job ran with unless another is given), and compares: the plan version, every
parameter of the step's config slice (by dotted name, e.g. ``connectome.rank``), every
software version, and every input — a source file's sha256, or an upstream job whose key
changed, explained in turn (so the answer names the parameter that changed two steps up).
It also notices files edited after the job wrote them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .plan import RECORD_NAME, STEPS, Job, Plan, build_plan, content_hash
from .runner import StepError, read_record

__all__ = ["explain", "Explanation"]


@dataclass
class Explanation:
    """The verdict on one output folder and the reasons, one plain sentence each."""

    job: str
    folder: Path
    up_to_date: bool
    reasons: list[str] = field(default_factory=list)

    def text(self) -> str:
        if self.up_to_date:
            return f"{self.job} ({self.folder}): up to date."
        lines = [f"{self.job} ({self.folder}): out of date, it would rerun because"]
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)


def _flat(obj: Any, prefix: str) -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    return {prefix: obj}


def _short(v: Any) -> str:
    s = repr(v) if not isinstance(v, str) else v
    return s if len(s) <= 60 else s[:57] + "..."


def _find_folder(output: Path) -> Path:
    p = output.absolute()
    for cand in [p, *p.parents]:
        if (cand / RECORD_NAME).is_file():
            return cand
    for cand in [p, *p.parents]:
        if cand.parent.name in STEPS:
            return cand  # a job folder without a record: unfinished
    raise StepError("not inside a pipeline output folder (no step.json above it)",
                    path=output)


def _diff(job: Job, record: dict[str, Any], plan: Plan, depth: int) -> list[str]:
    reasons = []
    if record.get("plan_version") != job.key_material()["plan"]:
        reasons.append(f"the workflow's command layout changed (plan version "
                       f"{record.get('plan_version')} -> {job.key_material()['plan']})")
    old, new = _flat(record.get("params", {}), job.section), _flat(job.params, job.section)
    for k in sorted(old.keys() | new.keys()):
        if old.get(k, "<unset>") != new.get(k, "<unset>"):
            reasons.append(f"parameter {k} changed: {_short(old.get(k, '<unset>'))} -> "
                           f"{_short(new.get(k, '<unset>'))}")
    sw_old, sw_new = record.get("software", {}), job.software
    for k in sorted(sw_old.keys() | sw_new.keys()):
        if sw_old.get(k) != sw_new.get(k):
            reasons.append(f"software version {k} changed: {sw_old.get(k)} -> {sw_new.get(k)}")
    rec_inputs = record.get("inputs", {})
    for role in job.roles():
        old_items = rec_inputs.get(role, [])
        old_up = {i["from"]: i for i in old_items if i.get("from")}
        old_src = [i for i in old_items if not i.get("from")]
        new_up = {j.id: j for j in job.upstream.get(role, [])}
        new_src = job.sources.get(role, [])
        for jid in sorted(new_up.keys() - old_up.keys()):
            reasons.append(f"input {role!r} gained {jid}")
        for jid in sorted(old_up.keys() - new_up.keys()):
            reasons.append(f"input {role!r} lost {jid}")
        for jid in sorted(new_up.keys() & old_up.keys()):
            item, up = old_up[jid], new_up[jid]
            if item.get("key") == up.key:
                continue
            why = f"input {role!r} ({up.id}) changed"
            old_dir = Path(item["path"]).parent
            if depth < 4 and (old_dir / RECORD_NAME).is_file():
                sub = _diff(up, read_record(old_dir), plan, depth + 1)
                why += (": " + "; ".join(sub)) if sub else ""
            reasons.append(why)
        if len(old_src) != len(new_src):
            reasons.append(f"input {role!r} now has {len(new_src)} source file(s) instead of "
                           f"{len(old_src)}")
            continue
        for item, src in zip(old_src, new_src, strict=True):
            if Path(item["path"]) != src:
                reasons.append(f"input {role!r} is now {src} (was {item['path']})")
            elif src.exists() and content_hash(src) != item.get("sha256"):
                reasons.append(f"input file {src} changed (sha256 "
                               f"{str(item.get('sha256'))[:12]} -> {content_hash(src)[:12]})")
    return reasons


def explain(output: str | os.PathLike, *, config: str | os.PathLike | None = None,
            results: str | os.PathLike | None = None) -> Explanation:
    """Say whether a job's output folder is up to date, and if not exactly why.

    Parameters
    ----------
    output : path-like
        The job's folder (``<results>/<step>/<name>-<key>``) or any file inside it.
    config : path-like, optional
        Config to compare against; default the config file the job ran with.
    results : path-like, optional
        Output root of the plan; default the one the job ran under.

    Returns
    -------
    Explanation
        ``up_to_date`` and one sentence per changed parameter, input or version.

    Examples
    --------
    >>> print(explain("results/pipeline/connectome/3f2a9c1b0d4e").text())  # doctest: +SKIP
    connectome (...): out of date, it would rerun because
      - parameter connectome.rank changed: 3 -> 4
    """
    folder = _find_folder(Path(output))
    if not (folder / RECORD_NAME).is_file():
        return Explanation(folder.parent.name, folder, False,
                           ["the job did not finish (no step.json): it failed or is running"])
    record = read_record(folder)
    cfg = config or record.get("config_file")
    if not cfg:
        raise StepError("the record names no config file; pass --config", path=folder)
    plan = build_plan(cfg, results=results or record.get("results"))
    jid = f"{record['step']}/{record['name']}" if record["name"] else record["step"]
    if jid not in plan.jobs:
        return Explanation(jid, folder, False, [f"the config no longer has job {jid}"])
    job = plan.jobs[jid]
    reasons = _diff(job, record, plan, 0) if job.key != record["key"] else []
    if job.key != record["key"] and not reasons:
        reasons = [f"its key changed ({record['key']} -> {job.key})"]
    for rel, digest in record.get("outputs", {}).items():
        f = folder / rel
        if not f.exists():
            reasons.append(f"output file {rel} was deleted")
        elif content_hash(f) != digest:
            reasons.append(f"output file {rel} was modified after the job wrote it")
    return Explanation(jid, folder, not reasons, reasons)
