"""Re-create the pictures the README and the site show (``docs/_static/*.png``).

    python docs/_static/make_pictures.py [--demo DIR]

* ``eeg_traces.png`` — ``TimeSeries.plot`` of the bundled EEGMMIDB run (notebook 01);
* ``homogenize.png`` — one channel as recorded and after ``nd.homogenize`` (notebook 02);
* ``report.png`` — the top of the demo's ``report.html`` in headless Chromium (runs
  ``neuroloom demo`` into DIR unless DIR already holds a report);
* ``connectome_time_courses.png``, ``glmhmm_posteriors.png`` — the demo's analysis
  figures (C. elegans NTF component time courses; hippocampus HMM-GLM state posteriors
  with running speed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script writing files, not a notebook
import matplotlib.pyplot as plt  # noqa: E402

import neurodata as nd  # noqa: E402

HERE = Path(__file__).resolve().parent


def eeg_traces() -> Path:
    rec = nd.load_sample("eegmmidb_s001r04")
    fig = rec.timeseries["eeg"].plot(tmin=0, tmax=10, n_channels=12)
    fig.set_size_inches(9, 5)
    out = HERE / "eeg_traces.png"
    fig.savefig(out, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return out


def homogenize() -> Path:
    rec = nd.load_sample("eegmmidb_s001r04")
    raw = rec.timeseries["eeg"]
    (hom,) = nd.homogenize([rec], block="eeg", rate=100.0, channels="10-20",
                           normalize="zscore")
    ts = hom.timeseries["eeg"]
    c3_raw = [n.rstrip(".").lower() for n in raw.channels["name"]].index("c3")
    c3 = list(ts.channels["name"]).index("C3")
    fig, axes = plt.subplots(2, 1, figsize=(9, 3.6), sharex=True)
    axes[0].plot(raw.times[:800], raw.slice_samples(0, 800)[:, c3_raw] * 1e6, lw=0.7)
    axes[0].set_ylabel("µV")
    axes[0].set_title("C3 as recorded: EDF 'C3..', 160 Hz, volts")
    n = int(5 * ts.rate)
    axes[1].plot(ts.times[:n], ts.slice_samples(0, n)[:, c3], lw=0.7, color="C1")
    axes[1].set_ylabel("z")
    axes[1].set_title("nd.homogenize: 10-20 name 'C3', 100 Hz, z-scored")
    axes[1].set_xlabel("time (s)")
    fig.tight_layout()
    out = HERE / "homogenize.png"
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def report(demo: Path) -> list[Path]:
    browser = next(p for p in map(shutil.which, ("chromium", "chromium-browser")) if p)
    if not (demo / "report.html").exists():
        subprocess.run(["neuroloom", "-q", "demo", "--out", str(demo)], check=True)
    figures = {"connectome_celegans/figures/time_courses.png": "connectome_time_courses.png",
               "glmhmm_hippocampus/figures/posteriors.png": "glmhmm_posteriors.png"}
    outs = [Path(shutil.copy(demo / src, HERE / dst)) for src, dst in figures.items()]
    out = HERE / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1100,1400",
                        f"--user-data-dir={profile}", f"--screenshot={out}",
                        (demo / "report.html").as_uri()], check=True, capture_output=True)
    return [out, *outs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, help="a finished `neuroloom demo --out` folder")
    args = ap.parse_args()
    demo = args.demo or Path(tempfile.mkdtemp()) / "demo"
    for path in (eeg_traces(), homogenize(), *report(demo)):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
