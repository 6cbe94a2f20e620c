"""The pipeline's results report: one self-contained HTML file per run.

:func:`write_pipeline_report` takes the output folders of finished jobs (each with its
``step.json``), builds one section per recording and per analysis from the files those
jobs wrote, and ends with a provenance table (inputs and their sha256, software versions,
parameters, keys) and links to every output file.  Steps with one builder each plug in
through :data:`SECTION_BUILDERS`; the tokenizers, Neuroformer and brain -> caption
decoding (fMRI) follow them in pipeline order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .report import ReportSection, write_html_report
from .report_analyses import (
    brain_decoding_sections,
    connectome_sections,
    decoding_sections,
    glmhmm_sections,
    homogenize_sections,
    neuroformer_sections,
    tokenizer_sections,
)
from .report_recordings import recording_sections

__all__ = ["write_pipeline_report", "SECTION_BUILDERS"]

#: step -> function(folder, record) returning report sections, in report order.
SECTION_BUILDERS: dict[str, Callable[..., list[ReportSection]]] = {
    "homogenize": homogenize_sections,
    "connectome": connectome_sections,
    "glmhmm": glmhmm_sections,
    "decoding": decoding_sections,
}


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def _provenance(records: list[tuple[Path, dict]], report_dir: Path) -> list[ReportSection]:
    rows, soft = [], {}
    for _folder, r in records:
        ins = []
        for role, items in r.get("inputs", {}).items():
            for it in items:
                label = it.get("from") or Path(it["path"]).name
                ins.append(f"{role}: {label} (sha256 {str(it.get('sha256'))[:12]})")
        params = json.dumps(r.get("params", {}), sort_keys=True, separators=(", ", ": "))
        rows.append({"job": f"{r['step']}/{r['name']}" if r["name"] else r["step"],
                     "key": r["key"], "inputs": "; ".join(ins),
                     "parameters": params if len(params) < 400 else params[:397] + "...",
                     "seconds": r.get("duration_s"), "command": " ".join(
                         Path(a).name if os.sep in a else a for a in r.get("argv", []))})
        soft.update(r.get("software", {}))
    versions = pd.DataFrame([{"package": k, "version": v} for k, v in sorted(soft.items())])
    links = []
    for folder, r in records:
        job = f"{r['step']}/{r['name']}" if r["name"] else r["step"]
        for rel in [*r.get("outputs", {}), "step.json"]:
            links.append((f"{job}: {rel}", _rel(folder / rel, report_dir)))
    return [
        ReportSection(
            "Provenance", tables=[pd.DataFrame(rows), versions], level=2,
            reading="Every job's output folder is named by the key in this table, a hash of "
                    "its parameters, the software versions and its inputs' hashes: the same "
                    "key means the same result, and `neuroloom pipeline explain FOLDER` says "
                    "which of them changed when a key differs."),
        ReportSection(
            "Output files", links=links, level=2,
            reading="Links to every file the jobs wrote (relative to this report), including "
                    "each job's step.json record.")]


def write_pipeline_report(folders: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                          title: str = "neuroloom pipeline report",
                          trace_seconds: float = 5.0,
                          line_noise: Sequence[float] = (50.0, 60.0)) -> Path:
    """Render the report of finished pipeline jobs.

    Parameters
    ----------
    folders : sequence of path-like
        Job output folders, each holding a ``step.json``.
    output : path-like
        The ``.html`` file (written atomically).
    title : str
    trace_seconds : float
        Seconds of raw traces shown per recording.
    line_noise : sequence of float
        Mains frequencies checked in every spectrum.

    Returns
    -------
    Path
    """
    from .workflows.runner import read_record

    output = Path(output).absolute()
    records = [(Path(f).absolute(), read_record(f)) for f in folders]
    by_step: dict[str, list[tuple[Path, dict]]] = {}
    for folder, r in records:
        by_step.setdefault(r["step"], []).append((folder, r))
    sections: list[ReportSection] = []
    for folder, r in by_step.get("validate", []):
        src = r["inputs"]["recording"][0]["path"]
        sections += recording_sections(r["name"], Path(src), (folder / r["main"]).read_text(),
                                       trace_seconds=trace_seconds,
                                       line_noise=tuple(line_noise))
    for step, build in SECTION_BUILDERS.items():
        for folder, r in by_step.get(step, []):
            sections += build(folder, r)
    encoded = by_step.get("tokenize_encode", [])
    if encoded:
        sections.append(ReportSection(
            "Tokenizers", level=2,
            reading="Tokenizers turn signals into discrete codes for sequence models; the "
                    "figures compare what the codes decode to with the recorded data."))
        index = {f"{r['step']}/{r['name']}": (f, r) for f, r in records}
        for folder, r in encoded:
            sections += tokenizer_sections(folder, r, index)
    for folder, r in by_step.get("neuroformer", []):
        sections += neuroformer_sections(folder, r)
    for folder, r in by_step.get("brain_decoding", []):
        sections += brain_decoding_sections(folder, r)
    sections += _provenance(records, output.parent)
    n_rec = len(by_step.get("validate", []))
    analyses = [s for s in ("connectome", "glmhmm", "decoding", "tokenize_encode",
                            "neuroformer", "brain_decoding") if s in by_step]
    intro = ReportSection(
        "About this run", level=2,
        text=[f"{n_rec} recording(s) converted to the neuroloom format and validated; "
              f"analyses: {', '.join(analyses) or 'none'}; {len(records)} jobs in all."],
        reading="Sections follow the pipeline: each recording first (what is in it, its "
                "spectrum and quality checks, its raw data), then each analysis, then the "
                "provenance of every number.")
    return write_html_report(output, title, [intro, *sections],
                             subtitle="Produced by neuroloom pipeline run.")
