"""The ``neuroloom`` command line: happy paths on bundled real data, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

import neurodata as nd
from pipelines.cli import main
from tests.pipelines.cli_runner import run

EDF = nd.sample_path("eegmmidb_s001r04")



def test_convert_info_validate(tmp_path, capsys):
    out_h5 = tmp_path / "s001r04.h5"
    code, out, err = run(capsys, "convert", str(EDF), "-o", str(out_h5))
    assert code == 0, err
    assert "wrote" in out and "eeg 64ch@160Hz; 30 events" in out
    code, out, _ = run(capsys, "info", str(out_h5))
    assert code == 0
    for needle in ("eeg", "64 ch", "160 Hz", "125 s", "'T0': 15", "sha256", "read_edf"):
        assert needle in out
    code, out, _ = run(capsys, "info", str(out_h5), "--json")
    summary = json.loads(out)
    assert summary["timeseries"][0]["rate_hz"] == 160.0
    assert summary["events"]["counts"] == {"T0": 15, "T1": 8, "T2": 7}
    code, out, _ = run(capsys, "validate", str(out_h5))
    assert code == 0 and "valid" in out
    code, out, _ = run(capsys, "info", str(EDF))  # a source file works too
    assert code == 0 and "64 ch" in out


def test_convert_refuses_to_overwrite_without_flag(tmp_path, capsys):
    out_h5 = tmp_path / "a.h5"
    assert run(capsys, "convert", str(EDF), "-o", str(out_h5))[0] == 0
    code, out, err = run(capsys, "convert", str(EDF), "-o", str(out_h5))
    assert code == 1 and "already exists" in err and err.count("\n") == 1
    assert run(capsys, "convert", str(EDF), "-o", str(out_h5), "--overwrite")[0] == 0


def test_channel_type_override(tmp_path, capsys):
    out_h5 = tmp_path / "s.h5"
    code, out, err = run(capsys, "convert", str(EDF), "-o", str(out_h5), "--channel-type",
                         "Fc5.=eog")
    assert code == 0, err
    with nd.open(out_h5) as rec:
        assert rec.timeseries["aux"].ch_names == ["Fc5."]
    code, _, err = run(capsys, "convert", str(EDF), "-o", str(out_h5), "--channel-type", "x")
    assert code == 1 and "NAME=TYPE" in err


@pytest.mark.parametrize("make_bad,needle", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_text("not hdf5"), "not an HDF5 file"),
    (lambda p: h5py.File(p, "w").close(), "no 'format' attribute"),
])
@pytest.mark.parametrize("command", ["info", "validate"])
def test_errors_are_one_line_without_traceback(tmp_path, capsys, make_bad, needle, command):
    bad = tmp_path / "bad.h5"
    make_bad(bad)
    code, out, err = run(capsys, command, str(bad))
    assert code == 1
    assert needle in out + err and str(bad) in err  # validate lists details on stdout
    assert err.count("\n") == 1 and "Traceback" not in out + err


def test_validate_reports_violations(tmp_path, capsys):
    out_h5 = nd.load(EDF).save(tmp_path / "x.h5")
    with h5py.File(out_h5, "r+") as f:
        f["timeseries/eeg/channels/name"][1] = "Fc5."
    code, out, err = run(capsys, "validate", str(out_h5))
    assert code == 1 and "violation(s)" in err and err.count("\n") == 1
    assert "duplicate channel names" in out


def test_unsupported_input(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("x")
    code, _, err = run(capsys, "convert", str(p))
    assert code == 1 and "unsupported file type '.txt'" in err and "EDF" in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(nd.MissingFileError):
        main(["--debug", "info", str(tmp_path / "missing.h5")])


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["convert"]) == 2
    assert main(["frobnicate"]) == 2


def test_console_script_entry_point(tmp_path):
    exe = Path(sys.executable).with_name("neuroloom")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    res = subprocess.run([str(exe), "info", str(tmp_path / "missing.h5")], capture_output=True,
                         text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert res.returncode == 1
    assert res.stderr.strip().startswith("neuroloom info: error:")
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    res = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("neuroloom ")


def test_samples_and_formats_listing(capsys):
    code, out, _ = run(capsys, "samples")
    assert code == 0 and "eegmmidb_s001r04" in out and "BSD-3-Clause" in out
    code, out, _ = run(capsys, "formats")
    assert code == 0 and "EDF" in out and "mne.io.read_raw_fif" in out
