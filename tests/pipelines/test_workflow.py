"""workflows/Snakefile end to end on REAL recordings of ../shared/data, with small settings.

Runs snakemake in a subprocess (as a user would), checks every target exists, that the
outputs sit in results/<config-hash>/ beside the config that made them, that the analyses'
own provenance names the converted inputs, and that a second run has nothing to do.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "workflows" / "Snakefile"

pytest.importorskip("snakemake")


def _snakemake(config: Path, workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(config),
           "--directory", str(workdir), "--cores", "1", "--quiet", "all", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_workflow_runs_every_rule_on_real_data(shared, tmp_path):
    eeg = [shared(f"eeg_meg/eegmmidb/S001R{r}.edf") for r in ("04", "08")]
    celegans = shared("calcium/flavell_atanas2023_subset/time_trace.json")
    hippo = shared("spikes/nelpy_linear-track/spikes.mat").parent
    decoding = {
        "name": "wf", "output": "unused", "n_jobs": 1, "random_state": 0, "n_permutations": 0,
        "datasets": [{"name": "eegmmidb", "classes": {"left": "T1", "right": "T2"},
                      "epochs": {"tmin": 0.0, "tmax": 3.0, "l_freq": 8.0, "h_freq": 32.0},
                      "recordings": [{"path": str(p), "subject": "S001", "session": "0",
                                      "run": p.stem[-2:]} for p in eeg]}],
        "pipelines": ["csp_lda"], "evaluations": [{"scheme": "within_session", "n_splits": 3}],
    }
    (tmp_path / "decoding.yaml").write_text(yaml.safe_dump(decoding))
    config = {
        "results": "results", "shared_data": str(shared("MANIFEST.md").parent),
        "recordings": {"S001R04": "eeg_meg/eegmmidb/S001R04.edf",
                       "S001R08": "eeg_meg/eegmmidb/S001R08.edf",
                       "celegans": str(celegans.relative_to(celegans.parents[2])),
                       "hippocampus": str(hippo.relative_to(hippo.parents[1]))},
        "connectome": {"inputs": ["celegans"],
                       "args": ["--rate", "1.6", "--window", "120", "--rank", "2",
                                "--restarts", "1", "--n-iter", "50", "--shuffles", "5",
                                "--seed", "0"]},
        "glmhmm": {"input": "hippocampus",
                   "args": ["--states", "2", "--bin", "0.1", "--min-rate", "0.5",
                            "--t-start", "5000", "--t-stop", "5200", "--test-blocks", "2",
                            "--max-iter", "5", "--restarts", "1", "--seed", "0"]},
        "decoding": {"config": str(tmp_path / "decoding.yaml")},
    }
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    work.mkdir()

    proc = _snakemake(cfg_path, work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = list((work / "results").iterdir())
    assert len(runs) == 1 and len(runs[0].name) == 12      # results/<config-hash>/
    out = runs[0]
    assert yaml.safe_load((out / "config.yaml").read_text())["recordings"] == \
        config["recordings"]
    for name in config["recordings"]:
        assert (out / "validated" / f"{name}.txt").exists()
        with h5py.File(out / "converted" / f"{name}.h5", "r") as f:
            assert "format_version" in f.attrs
    # EEG: converted signal equals MNE's reading of the source
    import mne

    raw = mne.io.read_raw_edf(eeg[0], preload=True, verbose="error")
    with h5py.File(out / "converted" / "S001R04.h5", "r") as f:
        blocks = [k for k in f["timeseries"]]
        data = f["timeseries"][blocks[0]]["data"][:]
    assert data.shape == (raw.n_times, len(raw.ch_names))
    assert abs(data[:, 0] - raw.get_data()[0]).max() < 1e-9

    conn = json.loads((out / "connectome" / "result.json").read_text())
    glm = json.loads((out / "glmhmm" / "result.json").read_text())
    assert "celegans.h5" in json.dumps(conn) and "hippocampus.h5" in json.dumps(glm)
    latest = json.loads((out / "decoding" / "latest.json").read_text())
    run_dir = Path(latest["path"])
    assert run_dir.parent == (out / "decoding").resolve() and latest["complete"]
    summary = (run_dir / "summary.csv").read_text()
    assert "csp_lda" in summary

    again = _snakemake(cfg_path, work, "--dry-run")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


def test_default_config_dry_run_plans_every_rule(tmp_path):
    """The shipped workflows/config.yaml parses and plans all rules (nothing is run)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(REPO),
           "--cores", "2", "--dry-run", "--quiet", "rules"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout + proc.stderr
    for rule in ("convert", "validate", "connectome", "glmhmm", "decoding", "config_copy"):
        assert rule in text
