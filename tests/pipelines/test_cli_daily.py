"""Day-to-day use of the ``neuroloom`` CLI (issue 17): a fast help, help text and defaults
for every option, one overwrite rule, outputs with the user's umask, conversion of every
source into one ``.h5`` with subject/session/task/run, progress by default.

Real data: the bundled samples (EEGMMIDB S001R04, the sEEG sample with its electrodes
table, the nelpy linear track) and, where ../shared/data is present, the suite2p plane.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurodata as nd
from pipelines.cli import build_parser, command_summaries
from tests.pipelines.cli_runner import run

EDF = nd.sample_path("eegmmidb_s001r04")
SEEG = nd.sample_path("seeg_epilepsy")
ELECTRODES = nd.sample_path("seeg_epilepsy_electrodes")
ROOT = Path(__file__).resolve().parents[2]


def _parsers(parser: argparse.ArgumentParser, prefix: str = "neuroloom"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prefix} {name}")


def test_help_imports_no_heavy_library():
    """``neuroloom --help`` lists every command without importing numpy/pandas/torch."""
    code = ("import sys, contextlib, io\n"
            "from pipelines.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out: main(['--help'])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'pandas', 'scipy', 'torch', 'h5py', 'mne'))\n"
            "print(heavy); print(out.getvalue())")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    first, _, text = res.stdout.partition("\n")
    assert first == "[]"
    for name in ("convert", "info", "tokenize", "glmhmm", "connectome", "benchmark", "fetch"):
        assert f"    {name} " in text


def test_lazy_help_lines_match_the_full_parser():
    """The help lines read from the command modules' source equal those they register."""
    full = build_parser()
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    summaries = command_summaries()
    assert summaries and set(summaries) <= set(helps)
    for name, (_, text) in summaries.items():
        assert text == helps[name], name


def test_every_option_has_help_and_states_its_default():
    """Every argument of every (sub)command has help; a meaningful default is printed."""
    missing, no_default = [], []
    for prog, parser in _parsers(build_parser()):
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
            default = action.default
            if (action.option_strings and default not in (None, False, argparse.SUPPRESS)
                    and "default" not in (action.help or "") and str(default) not in text):
                no_default.append(f"{prog} {action.option_strings[0]}={default}")
    assert not missing, f"arguments without help: {missing}"
    assert not no_default, f"defaults not shown: {no_default}"


def test_help_never_prints_an_empty_or_second_default():
    """No option's help says ``(default: None)`` or states its default twice (argparse's
    ArgumentDefaultsHelpFormatter did both where the text already named the default)."""
    bad = []
    for prog, parser in _parsers(build_parser()):
        for action in parser._actions:
            if not action.help or isinstance(action, argparse._SubParsersAction):
                continue
            line = parser._get_formatter()._expand_help(action)
            if "(default: None)" in line or line.count("default") > 1 + action.help.count(
                    "default"):
                bad.append(f"{prog} {'/'.join(action.option_strings) or action.dest}: {line}")
            elif line.count("(default:") > 1:
                bad.append(f"{prog} {'/'.join(action.option_strings)}: {line}")
    assert not bad, "\n".join(bad)


def test_convert_folder_sources_into_one_file(tmp_path, capsys):
    """A nelpy linear-track folder (bundled) converts into one .h5."""
    folder = nd.sample_path("nelpy_linear_track")
    code, out, err = run(capsys, "-q", "convert", folder, "-o", tmp_path / "lt.h5")
    assert code == 0, err
    with nd.open(tmp_path / "lt.h5") as rec:
        assert rec.spikes["units"].n_units == 31
        assert "position" in rec.timeseries


def test_convert_suite2p_plane_into_one_file(shared, tmp_path, capsys):
    """A suite2p plane0 folder (real, ../shared/data) converts into one .h5."""
    plane = shared("calcium/suite2p/plane0")
    code, out, err = run(capsys, "-q", "convert", plane, "-o", tmp_path / "s2p.h5")
    assert code == 0, err
    with nd.open(tmp_path / "s2p.h5") as rec:
        assert rec.timeseries["calcium"].n_channels == 21


def test_convert_refuses_outputs_that_are_neither_h5_nor_folder(tmp_path, capsys):
    code, _, err = run(capsys, "convert", EDF, "-o", tmp_path / "out.csv")
    assert code == 1 and "must be a .h5 file" in err
    assert not (tmp_path / "out.csv").exists()
    code, _, err = run(capsys, "convert", EDF.parent.parent, "-o", tmp_path / "x.h5")
    assert code == 1 and "folder of several sources" in err and "-o OUTDIR" in err
    assert not (tmp_path / "x.h5").exists()


def test_metadata_from_names_and_options(tmp_path, capsys):
    """EEGMMIDB names give subject/run/task (one file and batch); options override."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(EDF, raw / "S002R08.edf")
    code, out, err = run(capsys, "-q", "convert", raw / "S002R08.edf", "-o", tmp_path / "a.h5")
    assert code == 0, err
    assert "subject S002, session S002R08, run 8" in out
    with nd.open(tmp_path / "a.h5") as rec:
        assert rec.session["task"] == "motor imagery (left/right fist)"
    code, out, err = run(capsys, "-q", "convert", raw / "S002R08.edf", "-o", tmp_path / "b.h5",
                         "--subject", "P7", "--session", "day2", "--task", "imagery",
                         "--run", "3")
    assert code == 0, err
    with nd.open(tmp_path / "b.h5") as rec:
        assert (rec.subject["id"], rec.session["id"], rec.session["task"],
                rec.session["run"]) == ("P7", "day2", "imagery", 3)
    shutil.copy(EDF, raw / "S001R04.edf")
    code, out, err = run(capsys, "-q", "convert", raw, "-o", tmp_path / "conv")
    assert code == 0, err
    ds = nd.load_dataset(tmp_path / "conv")
    assert ds.subjects == ["S001", "S002"]
    assert len(ds.select(task="motor imagery (left/right fist)")) == 2
    code, _, err = run(capsys, "convert", raw, "-o", tmp_path / "c2", "--subject", "x")
    assert code == 1 and "--subject applies to one recording" in err


def test_seeg_sample_converts_as_in_the_demo(tmp_path, capsys):
    """The sEEG sample: 88 seeg channels with MNI positions, as nd.load_sample gives;
    a renamed copy with --electrodes/--channel-type gives the same channels."""
    demo = nd.load_sample("seeg_epilepsy").timeseries["seeg"].channels
    code, out, err = run(capsys, "-q", "convert", SEEG, "-o", tmp_path / "s.h5")
    assert code == 0, err
    copy = tmp_path / "patient.edf"
    shutil.copy(SEEG, copy)
    code, out, err = run(capsys, "-q", "convert", copy, "-o", tmp_path / "e.h5", "--electrodes",
                         ELECTRODES, "--coord-frame", "mni_tal", "--channel-type", "DC*=misc",
                         "--channel-type", "EKG*=ecg")
    assert code == 0, err
    for name in ("s.h5", "e.h5"):
        with nd.open(tmp_path / name) as rec:
            ch = rec.timeseries["seeg"].channels
            assert len(ch) == 88 and set(ch["type"]) == {"seeg"}
            assert set(ch["coord_frame"]) == {"mni_tal"}
            np.testing.assert_allclose(ch[["x", "y", "z"]].to_numpy(),
                                       demo[["x", "y", "z"]].to_numpy(), atol=1e-9)
            assert sorted(rec.timeseries) == ["aux", "misc", "seeg"]


def test_outputs_follow_the_umask(tmp_path, capsys):
    old = os.umask(0o002)
    try:
        code, _, err = run(capsys, "-q", "convert", EDF, "-o", tmp_path / "m.h5")
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / "m.h5").stat().st_mode & 0o777 == 0o664


def test_one_overwrite_rule(tmp_path, capsys):
    """tokenize train/encode refuse an existing output (before any work) like convert."""
    existing = tmp_path / "codes.npz"
    existing.write_bytes(b"keep")
    code, _, err = run(capsys, "tokenize", "encode", EDF, "-t", tmp_path / "t.json",
                       "-o", existing)
    assert code == 1 and "already exists" in err and "--overwrite" in err
    code, _, err = run(capsys, "tokenize", "train", EDF, "-o", existing)
    assert code == 1 and "already exists" in err
    assert existing.read_bytes() == b"keep"


def test_formats_and_info_are_readable(capsys):
    code, out, _ = run(capsys, "formats")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    assert out.splitlines()[0].split() == ["FORMAT", "EXTENSIONS"]
    code, out, _ = run(capsys, "samples")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    code, out, err = run(capsys, "-q", "info", EDF)
    assert code == 0, err
    assert "None" not in out and "source file, not converted" in out
    assert "subject     S001" in out


def test_unknown_block_lists_the_blocks():
    rec = nd.load(EDF)
    with pytest.raises(nd.NeurodataError, match=r"no timeseries block 'meg'.*\['eeg'\]"):
        rec.timeseries["meg"]
    with pytest.raises(KeyError):  # still a KeyError for code that catches one
        rec.spikes["units"]


def test_progress_by_default_and_quiet(tmp_path, capsys):
    """Batch conversion shows a progress bar unless -q; the Python default is quiet."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(EDF, raw / "S001R04.edf")
    code, _, err = run(capsys, "convert", raw, "-o", tmp_path / "a")
    assert code == 0 and "convert: 100%|" in err and "file/s" in err
    code, _, err = run(capsys, "-q", "convert", raw, "-o", tmp_path / "b")
    assert code == 0 and err == ""
    nd.convert_many([raw], tmp_path / "c")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name,expected", [
    ("S001R04.edf", {"subject": "S001", "run": 4, "task": "motor imagery (left/right fist)"}),
    ("s109r01.edf", {"subject": "S109", "run": 1, "task": "baseline, eyes open"}),
    ("sub-01_ses-2_task-rest_run-03_eeg.vhdr",
     {"subject": "01", "session": "2", "task": "rest", "run": 3}),
    ("sub-pat01_task-seizure_ieeg.edf", {"subject": "pat01", "task": "seizure"}),
    ("sub-01_bold.nii.gz", {"subject": "01"}),
    ("recording_2023.edf", {}),
    ("S001R04X.edf", {}),
])
def test_metadata_from_name(name, expected):
    """Synthetic names: BIDS entities and EEGMMIDB subject/run/task; others give nothing."""
    from neurodata.naming import metadata_from_name

    assert metadata_from_name(name) == expected


def test_explicit_metadata_wins_and_reader_ids_are_kept():
    """Bundled EEGMMIDB run: the reader's session id stays, the name fills the subject."""
    from neurodata.naming import apply_metadata

    rec = nd.load(EDF)
    assert rec.subject["id"] == "unknown"
    done = apply_metadata(rec, from_name=EDF)
    assert done == {"subject": "S001", "run": 4, "task": "motor imagery (left/right fist)"}
    assert rec.session["id"] == "S001R04"
    apply_metadata(rec, subject="P1", task="t", from_name=EDF)
    assert (rec.subject["id"], rec.session["task"]) == ("P1", "t")
