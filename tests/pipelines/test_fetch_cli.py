"""``neuroloom fetch``: --list, a verified download from a loopback server, one-line errors.

The served file is the real EEGMMIDB run from ../shared/data, byte-identical to
PhysioNet's, so the registered SHA-256 is checked for real; no network is used.
"""

from __future__ import annotations

import pytest

from tests.neurodata.test_datasets import loopback_server
from tests.pipelines.cli_runner import run


@pytest.fixture(autouse=True)
def _pooch_logs_to_this_stderr():
    """pooch's log handler keeps the stderr it was made with (an earlier test's capture,
    closed by now); the CLI shows its INFO lines by default, so point it here."""
    import sys

    import pooch

    for handler in pooch.get_logger().handlers:
        handler.stream = sys.stderr


def test_list(capsys, tmp_path):
    code, out, err = run(capsys, "fetch", "--list", "--data-home", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["name", "modality", "n_files", "size", "verified", "license"]
    row = next(line for line in lines if line.startswith("eegmmidb_s001 "))
    assert row.split()[1:3] == ["eeg", "14"] and " all " in row
    assert any(line.startswith("dandi_000004_asset ") and " none " in line for line in lines)
    assert f"data home: {tmp_path}" in out


@pytest.fixture
def physionet_mirror(shared, tmp_path):
    src = shared("eeg_meg/eegmmidb/S001R04.edf")
    (tmp_path / "www" / "S001").mkdir(parents=True)
    (tmp_path / "www" / "S001" / "S001R04.edf").symlink_to(src)
    with loopback_server(tmp_path / "www") as (url, requests):
        yield url, requests


def test_fetch_one_run_then_cached(capsys, tmp_path, physionet_mirror):
    url, requests = physionet_mirror
    home = tmp_path / "home"
    argv = ("fetch", "eegmmidb_s001", "--data-home", str(home), "--base-url", url,
            "--file", "S001/S001R04.edf")
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    target = home / "eegmmidb_s001" / "S001" / "S001R04.edf"
    assert out.splitlines()[0] == str(target) and target.stat().st_size == 2596896
    assert ("sha256 3d161f88e1c00632585287d2ce584c2bc0f08862438eb255ea8723e00fac693d  "
            "S001/S001R04.edf") in out
    assert "(1 downloaded)" in out and "Schalk" in out
    code, out, err = run(capsys, *argv)
    assert code == 0 and "(0 downloaded)" in out and requests == ["/S001/S001R04.edf"]


def test_errors_are_one_line(capsys, tmp_path, physionet_mirror):
    url, _ = physionet_mirror
    home = tmp_path / "home"
    code, out, err = run(capsys, "fetch", "nosuch", "--data-home", str(home))
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("neuroloom fetch: error: no dataset named 'nosuch'")
    assert "eegmmidb_s001" in err
    # R08 is not on the mirror: HTTP 404
    code, out, err = run(capsys, "-q", "fetch", "eegmmidb_s001", "--data-home", str(home),
                         "--base-url", url, "--file", "S001/S001R08.edf")  # -q: no progress
    assert code == 1 and "HTTP 404" in err and err.count("\n") == 1
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))
    code, out, err = run(capsys, "fetch", "eegmmidb_s001", "--data-home", str(home),
                         "--no-download")
    assert code == 1 and "not downloaded yet" in err
    code, out, err = run(capsys, "fetch", "dandi_000004_asset", "--data-home", str(home))
    assert code == 1 and "--allow-unverified" in err
    code, out, err = run(capsys, "fetch", "dandi_000004_asset", "--data-home", str(home),
                         "--known-hash", "xyz")
    assert code == 1 and "known_hash" in err and err.count("\n") == 1
    code, out, err = run(capsys, "fetch")
    assert code == 1 and "give a dataset NAME" in err
