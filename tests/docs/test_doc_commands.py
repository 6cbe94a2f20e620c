"""Every command quoted in README.md and docs/*.md is run here or accounted for, and the
figures the text quotes are compared with what the command prints (so they cannot drift).

How it works:

* :func:`documented_commands` collects every ``neuroloom ...`` line of the fenced shell
  blocks (continuation lines joined, trailing ``# comments`` dropped; lines that are
  quoted error *output*, ``neuroloom X: error: ...``, are not commands).
* Each must be a key of :data:`RUN` (run here, in a temporary folder laid out with the
  files the text names) or of :data:`ELSEWHERE` (with the test file that runs it, which
  must exist, or why it cannot run offline).  A new command in the docs fails
  ``test_every_documented_command_is_accounted_for`` until it is added to one of them.
* Python snippets with quoted figures are executed and the figures parsed from their
  comments are compared with the computed values.

Real data: the bundled samples; the three EEGMMIDB runs of ../shared/data where the text
uses them (skipped without ../shared/data).
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

import neurodata as nd
from tests.pipelines.cli_runner import run

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SAMPLES = ROOT / "neurodata" / "sample_data"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks(path: Path, langs: tuple[str, ...]) -> list[str]:
    return [m[2] for m in _FENCE.finditer(path.read_text()) if m[1] in langs]


def documented_commands() -> dict[str, list[str]]:
    """``{command: [files quoting it]}`` for every ``neuroloom`` command line in a shell
    block of README.md or docs/*.md."""
    out: dict[str, list[str]] = {}
    for path in DOCS:
        for block in _blocks(path, ("bash", "sh", "shell", "console", "")):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip()
                if not line.startswith("neuroloom ") or re.match(r"neuroloom [\w ]+: error:",
                                                                  line):
                    continue
                command = " ".join(line.split(" #")[0].split())
                out.setdefault(command, []).append(path.name)
    return out


# command -> what the folder needs (name -> sample) and substrings the output must have
RUN: dict[str, dict] = {
    "neuroloom convert S001R04.edf -o s001r04.h5": {
        "files": {"S001R04.edf": "eegmmidb/S001R04.edf"},
        "expect": ["eeg 64ch@160Hz", "30 events", "subject S001"]},
    "neuroloom info s001r04.h5": {
        "before": ["convert S001R04.edf -o s001r04.h5"],
        "files": {"S001R04.edf": "eegmmidb/S001R04.edf"},
        "expect": ["64 ch (64 eeg)", "@ 160 Hz", "events      30"]},
    "neuroloom validate s001r04.h5": {
        "before": ["convert S001R04.edf -o s001r04.h5"],
        "files": {"S001R04.edf": "eegmmidb/S001R04.edf"}, "expect": ["s001r04.h5: valid"]},
    "neuroloom samples": {"expect": [s for s in ("eegmmidb_s001r04", "seeg_epilepsy",
                                                 "nelpy_linear_track")]},
    "neuroloom formats": {"expect": ["EDF", "suite2p"]},
    "neuroloom convert raw/ -o converted/": {
        "files": {"raw/S001R04.edf": "eegmmidb/S001R04.edf"},
        "before": ["convert raw/ -o converted/"], "expect": ["skipped (up to date) 1"]},
    "neuroloom tokenize train spikes.h5 --kind spike -o spk.json": {
        "files": {"linear_track": "nelpy_linear_track"},
        "before": ["convert linear_track -o spikes.h5"], "expect": ["31 units"]},
    "neuroloom convert neurodata/sample_data/celegans_atanas2023/time_trace.json -o worm.h5": {
        "files": {"neurodata/sample_data/celegans_atanas2023": "celegans_atanas2023"},
        "expect": ["wrote", "worm.h5"]},
    "neuroloom convert neurodata/sample_data/nelpy_linear_track -o converted": {
        "files": {"neurodata/sample_data/nelpy_linear_track": "nelpy_linear_track"},
        "expect": ["converted 1, skipped (up to date) 0, failed 0"]},
    "neuroloom fetch --list": {"expect": ["eegmmidb_s001", "haxby2001"]},
    "neuroloom convert rec.edf -o rec.h5 --subject P07 --session day2 --task rest --run 1": {
        "files": {"rec.edf": "eegmmidb/S001R04.edf"},
        "expect": ["rec.h5 (eeg 64ch@160Hz; 30 events; subject P07, session day2, run 1)"]},
    "neuroloom convert patient.edf -o patient.h5 --electrodes electrodes.tsv --coord-frame "
    "mni_tal --channel-type 'DC*=misc' --channel-type 'EKG*=ecg'": {
        "files": {"patient.edf": "seeg/sample_seeg.edf",
                  "electrodes.tsv": "seeg/sample_seeg_electrodes.tsv"},
        "expect": ["patient.h5 (seeg 88ch@1000Hz, misc 8ch@1000Hz, aux 2ch@1000Hz; 3 events;"]},
}

# command (or prefix ending in "*") -> the test that runs it, or why it is not run offline
ELSEWHERE: dict[str, str] = {
    "neuroloom demo --out results/demo": "tests/pipelines/test_demo.py",
    "neuroloom convert raw/ bids_root/ -o converted/ --jobs 2":
        "tests/neurodata/test_batch.py",
    "neuroloom convert raw/ bids_root/ S001R04.edf -o converted/ --jobs 2":
        "tests/neurodata/test_batch.py",
    "neuroloom connectome *": "tests/pipelines/test_connectome_cli.py",
    "neuroloom glmhmm *": "tests/pipelines/test_glmhmm_cli.py",
    "neuroloom tokenize train rec*": "tests/decoders/test_tokenizers_rvq.py",
    "neuroloom tokenize encode *": "tests/decoders/test_tokenizers_rvq.py",
    "neuroloom tokenize train units.h5 *": "tests/decoders/test_tokenizers_spike.py",
    "neuroloom benchmark *": "tests/decoders/test_benchmark.py",
    "neuroloom fetch eegmmidb_s001 *": "tests/pipelines/test_fetch_cli.py",
    "neuroloom fetch haxby2001_pymvpa_slice *": "network: downloads from the provider",
    "neuroloom pipeline *": "tests/pipelines/test_workflow.py",
    "neuroloom neuroformer *": "tests/decoders/test_neuroformer_cli.py",
    "neuroloom decode *": "tests/decoders/test_brain_haxby.py",
}


def _elsewhere(command: str) -> str | None:
    for key, why in ELSEWHERE.items():
        if command == key or (key.endswith("*") and command.startswith(key[:-1])):
            return why
    return None


def test_every_documented_command_is_accounted_for():
    commands = documented_commands()
    assert len(commands) > 20  # the parser finds them
    missing = [f"{c}  ({', '.join(f)})" for c, f in commands.items()
               if c not in RUN and _elsewhere(c) is None]
    assert not missing, "documented commands neither run here nor listed in ELSEWHERE:\n" \
        + "\n".join(missing)
    for why in set(ELSEWHERE.values()):
        if why.startswith("tests/"):
            assert (ROOT / why).is_file(), f"{why} does not exist"
    stale = [c for c in RUN if c not in commands]
    assert not stale, f"RUN lists commands no page quotes any more: {stale}"


def _layout(tmp: Path, files: dict[str, str]) -> None:
    for name, rel in files.items():
        src, dst = SAMPLES / rel, tmp / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)


@pytest.mark.parametrize("command", sorted(RUN))
def test_documented_command_runs(command, tmp_path, capsys, monkeypatch):
    """Runs the quoted command in a folder with the files it names (bundled samples)."""
    spec = RUN[command]
    _layout(tmp_path, spec.get("files", {}))
    monkeypatch.chdir(tmp_path)
    for pre in spec.get("before", []):
        code, _, err = run(capsys, "-q", *shlex.split(pre))
        assert code == 0, err
    code, out, err = run(capsys, "-q", *shlex.split(command)[1:])
    assert code == 0, err
    for text in spec["expect"]:
        assert text in out, f"{command!r} did not print {text!r}:\n{out}"


def test_readme_quick_start_figures(tmp_path, monkeypatch):
    """The README's first Python block runs and prints the figures its comments quote."""
    block = next(b for b in _blocks(ROOT / "README.md", ("python",)) if "nd.load(" in b)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)  # our own README, not user input
    eeg, x = scope["eeg"], scope["x"]
    n_ch, rate, dur = map(float, re.search(r"TimeSeries: (\d+) ch, ([\d.]+) Hz, ([\d.]+) s",
                                           block).groups())
    assert (eeg.n_channels, eeg.rate, round(eeg.duration)) == (n_ch, rate, dur)
    shape = tuple(int(v) for v in re.search(r"numpy \((\d+), (\d+)\) float32", block).groups())
    assert x.shape == shape and x.dtype == np.float32
    counts = ast.literal_eval(re.search(r"counts\(\)\s+# (\{[^}]*\})", block)[1])
    with nd.open("s001r04.h5") as rec:
        assert rec.events.counts() == counts


def test_readme_lists_every_bundled_sample():
    text = (ROOT / "README.md").read_text()
    missing = [n for n in nd.list_samples()["name"] if f"`{n}`" not in text]
    assert not missing, f"README does not list the bundled samples {missing}"


def test_gzip_speed_quoted_once(capsys):
    """`convert --help` and the README quote the same gzip read-speed factor."""
    from pipelines.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    quoted = re.search(r"smaller but read through h5py, ~([\d–-]+)× slower", readme)[1]
    help_text = " ".join(build_parser("convert")._subparsers._group_actions[0]
                         .choices["convert"].format_help().split())
    assert f"~{quoted.replace('–', '-')}x slower" in help_text


def test_readme_windows_snippet_runs(tmp_path, monkeypatch):
    """The "Many recordings" snippet: dataset → homogenized recordings → windows."""
    block = next(b for b in _blocks(ROOT / "README.md", ("python",)) if "WindowDataset" in b)
    (tmp_path / "converted").mkdir()
    nd.load_sample("eegmmidb_s001r04").save(tmp_path / "converted" / "s001r04.h5")
    monkeypatch.chdir(tmp_path)
    scope = {"nd": nd}
    exec(compile(block, "README.md", "exec"), scope)
    windows, (hom,) = scope["windows"], scope["recs"]
    x, _ = windows[0]
    n_names = hom.timeseries["eeg"].n_channels  # the 10-10 vocabulary, absent ones masked
    assert len(windows) == 124 and tuple(x.shape) == (n_names, 320) and n_names > 64


def test_decoding_epochs_snippet(shared, tmp_path, monkeypatch):
    """docs/decoding.md section 1 on the three EEGMMIDB imagery runs (../shared/data):
    the shape its comment quotes."""
    for r in (4, 8, 12):
        (tmp_path / f"S001R{r:02d}.edf").symlink_to(shared(f"eeg_meg/eegmmidb/S001R{r:02d}.edf"))
    block = _blocks(ROOT / "docs" / "decoding.md", ("python",))[0]
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "decoding.md", "exec"), scope)
    shape = tuple(int(v) for v in re.search(r"ep\.X\s+# \((\d+), (\d+), (\d+)\)", block).groups())
    assert scope["ep"].X.shape == shape


@pytest.mark.slow  # ~20 s CPU: fits three models on 8000 bins
def test_glmhmm_quick_start_prints_what_the_guide_quotes(tmp_path, capsys, monkeypatch):
    """docs/glmhmm_cli.md "Quick start" (bundled hippocampus recording): both commands
    run and print exactly the quoted lines (every figure: bins, spikes, log-likelihoods,
    bits/spike, occupancies, dwell times, speeds)."""
    page = ROOT / "docs" / "glmhmm_cli.md"
    blocks = _blocks(page, ("bash", ""))
    commands = next(b for b in blocks if "neuroloom glmhmm" in b)
    quoted = next(b for b in blocks if b.startswith("wrote results/"))
    _layout(tmp_path, {"neurodata/sample_data/nelpy_linear_track": "nelpy_linear_track"})
    monkeypatch.chdir(tmp_path)
    out = ""
    for line in commands.replace("\\\n", " ").splitlines():
        if line.strip().startswith("neuroloom "):
            code, out, err = run(capsys, "-q", *shlex.split(line.split(" #")[0])[1:])
            assert code == 0, err
    assert out.splitlines() == quoted.strip().splitlines()
