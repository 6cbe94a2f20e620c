"""The demo job: convert the bundled real recordings, validate them, summarise them.

``neuroloom demo --out DIR`` (and ``make demo``) runs :func:`run_demo`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import neurodata as nd
from neurodata.log import verbose

from .report import ReportSection, figure_to_png, write_html_report

__all__ = ["run_demo", "DemoResult", "DEMO_SAMPLES"]

#: Bundled recordings the demo converts, with the block to plot.
DEMO_SAMPLES: dict[str, str] = {
    "eegmmidb_s001r04": "eeg",
    "mne_sample_audvis_sss": "meg",
    "seeg_epilepsy": "seeg",
    "celegans_atanas2023": "calcium",
    "nelpy_linear_track": "position",
}


@dataclass
class DemoResult:
    """What the demo produced: the summary table, the report and the converted files."""

    table: pd.DataFrame
    report: Path
    files: list[Path]
    analyses: dict[str, Path]


def _run_command(argv: list[str]) -> None:
    """Run a ``neuroloom`` subcommand in-process (errors propagate as exceptions)."""
    from .cli import build_parser

    args = build_parser().parse_args(argv)
    code = args.func(args)
    if code:
        raise RuntimeError(f"neuroloom {' '.join(argv)} exited with {code}")


def _connectome_section(h5: Path, out: Path) -> tuple[ReportSection, Path]:
    """Dynamic functional connectome of the bundled C. elegans recording."""
    import json

    target = out / "connectome_celegans"
    _run_command(["connectome", str(h5), "--rate", "1.6", "--window", "60", "--step", "30",
                  "--rank", "3", "--restarts", "3", "--seed", "0", "--overwrite",
                  "-o", str(target)])
    summary = pd.read_csv(target / "summary.csv")
    result = json.loads((target / "result.json").read_text())
    figures = [(target / "figures" / name).read_bytes()
               for name in ("time_courses.png", "affinity_component0.png")
               if (target / "figures" / name).exists()]
    return ReportSection(
        title="Dynamic functional connectome: C. elegans whole-brain calcium (98 neurons)",
        text=["neuroloom connectome: homogenized to 1.6 Hz, 60-s windows every 30 s, "
              "differential affinity, non-negative CP rank 3 (3 restarts), weighted SBM "
              "communities per component.",
              f"relative reconstruction error: "
              f"{result.get('fit', {}).get('relative_error', 'see result.json')}",
              f"outputs: {target}"],
        tables=[summary], figures=figures), target


def _glmhmm_section(h5: Path, out: Path) -> tuple[ReportSection, Path]:
    """HMM-GLM on the bundled hippocampal linear-track recording."""
    import json

    target = out / "glmhmm_hippocampus"
    _run_command(["glmhmm", str(h5), "--states", "3", "--bin", "0.1", "--min-rate", "0.5",
                  "--t-start", "5000", "--t-stop", "5400", "--test-blocks", "2",
                  "--max-iter", "30", "--seed", "0", "--overwrite", "-o", str(target)])
    result = json.loads((target / "result.json").read_text())
    table = pd.DataFrame(result["heldout"]["models"])
    figures = sorted((target / "figures").glob("*.png"))[:2] if (target / "figures").exists() \
        else []
    return ReportSection(
        title="State-switching GLM: rat hippocampus on a linear track (units ≥ 0.5 Hz)",
        text=["neuroloom glmhmm: 100-ms bins, 5000-5400 s, 3 states, one-hot prior; held-out "
              "log-likelihood of the HMM-GLM vs a coupling GLM and homogeneous Poisson.",
              f"outputs: {target}"],
        tables=[table],
        figures=[f.read_bytes() for f in figures]), target


@verbose
def run_demo(out_dir: str | os.PathLike, *, verbose: bool | str | None = None) -> DemoResult:
    """Convert, validate and summarise every bundled sample recording.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``<sample>.h5`` files and ``report.html`` (created if needed).
    verbose : bool or str or None

    Returns
    -------
    DemoResult
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, sections, files = [], [], []
    for name, block in DEMO_SAMPLES.items():
        target = out / f"{name}.h5"
        nd.load_sample(name).save(target, overwrite=True)
        report = nd.validate(target)
        report.raise_if_invalid()
        with nd.open(target) as rec:
            ts = rec.timeseries[block]
            for s in rec.summary()["timeseries"]:
                rows.append({
                    "recording": name, "block": s["name"], "modality": s["modality"],
                    "channels": s["n_channels"],
                    "rate_hz": round(s["rate_hz"], 3) if s["rate_hz"] else "irregular",
                    "duration_s": round(s["duration_s"], 3), "events": len(rec.events),
                    "bad": len(s["bad_channels"]), "valid": report.ok,
                })
            span = 10.0 if ts.is_regular and ts.rate > 10 else 120.0
            fig = ts.plot(tmin=ts.t0, tmax=min(ts.t_end, ts.t0 + span), n_channels=10,
                          events=rec.events)
            ev = rec.events
            sections.append(ReportSection(
                title=f"{name} ({block})",
                text=[repr(rec), f"events: {ev.counts() or 'none'}",
                      f"source sha256: {rec.provenance['sources'][0]['sha256']}",
                      f"spikes: {[repr(s) for s in rec.spikes.values()] or 'none'}",
                      f"file: {target.name} ({target.stat().st_size / 1e6:.1f} MB), "
                      f"validation: {'valid' if report.ok else report.errors}"],
                figures=[figure_to_png(fig)],
            ))
        files.append(target)
    analyses: dict[str, Path] = {}
    section, analyses["connectome"] = _connectome_section(out / "celegans_atanas2023.h5", out)
    sections.append(section)
    section, analyses["glmhmm"] = _glmhmm_section(out / "nelpy_linear_track.h5", out)
    sections.append(section)
    table = pd.DataFrame(rows)
    intro = ReportSection(
        title="Summary",
        text=["Bundled real recordings converted to the neuroloom format, validated and "
              "re-opened lazily; one plot of the start of each recording; then the analyses "
              "run on them."],
        tables=[table],
    )
    path = write_html_report(out / "report.html", "neuroloom demo", [intro, *sections])
    return DemoResult(table=table, report=path, files=files, analyses=analyses)
