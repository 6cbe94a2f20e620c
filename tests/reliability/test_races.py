"""Races, clobbering, stale temporary files, planted provenance, code from configs and
exit codes.  Synthetic or bundled-sample inputs; every crafted file is built here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.atomic import atomic_path, clean_stale, staged_dir
from neurodata.batch import ConversionTask, is_up_to_date
from neurodata.errors import FormatError, ValidationError, WriteError
from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from pipelines.cli import main; sys.exit(main(sys.argv[1:]))"


def _rec(seed: int = 0) -> nd.Recording:
    data = np.random.default_rng(seed).standard_normal((500, 3)).astype(np.float32)
    return nd.Recording([nd.TimeSeries(data, rate=100.0, modality="eeg")],
                        subject={"id": f"s{seed}"})


def test_target_appearing_during_the_write_is_not_clobbered(tmp_path):
    out = tmp_path / "r.h5"
    with pytest.raises(WriteError, match="appeared while"):
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"mine")
            out.write_bytes(b"theirs")  # another process finished first
    assert out.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]  # no temporary left


def test_two_racing_convert_processes_exactly_one_wins(tmp_path):
    """Real processes, both started before either writes: one exit 0, one exit 1 with a
    clear message; the output is a valid recording (bundled EEGMMIDB sample)."""
    src = nd.sample_path("eegmmidb_s001r04")
    out = tmp_path / "out.h5"
    procs = [subprocess.Popen([sys.executable, "-c", CLI, "convert", str(src), "-o", str(out)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 1], results
    loser = next(err for rc, err in results if rc == 1)
    assert "already exists" in loser or "appeared while" in loser
    assert nd.validate(out).ok
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_convert_onto_its_own_input_is_a_clean_error(tmp_path):
    src = tmp_path / "x.edf"
    src.write_bytes(nd.sample_path("eegmmidb_s001r04").read_bytes())
    before = src.read_bytes()
    assert main(["convert", str(src), "-o", str(src)]) == 1
    assert src.read_bytes() == before


def test_stale_temporaries_of_killed_writers_are_cleaned(tmp_path):
    out = tmp_path / "r.h5"
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stale = [tmp_path / f".r.h5.{dead}.abc.tmp", tmp_path / f".r.h5.tmp-{dead}-xyz"]
    stale[0].write_bytes(b"half")
    stale[1].mkdir()
    live = tmp_path / f".r.h5.{os.getpid()}.def.tmp"
    live.write_bytes(b"in progress")
    _rec().save(out)
    assert not any(p.exists() for p in stale) and live.exists()
    # A result folder set aside by a writer killed mid-swap is put back.
    res = tmp_path / "res"
    aside = tmp_path / f".res.old-{dead}-0000"
    aside.mkdir()
    (aside / "table.csv").write_text("a\n1\n")
    clean_stale(res)
    assert (res / "table.csv").read_text() == "a\n1\n"
    with staged_dir(res) as tmp:
        (tmp / "table.csv").write_text("a\n2\n")
    assert (res / "table.csv").read_text() == "a\n2\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [live.name]


def _plant(output: Path, extra: dict) -> None:
    with h5py.File(output, "r+") as f:
        prov = json.loads(f.attrs["provenance"])
        prov["sources"].append(extra)
        f.attrs["provenance"] = json.dumps(prov)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_up_to_date_check_never_hashes_devices_fifos_or_outside_files(tmp_path):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    src = src_dir / "a.edf"
    src.write_bytes(nd.sample_path("eegmmidb_s001r04").read_bytes())
    out_dir = tmp_path / "out"
    table = nd.convert_many([src], out_dir, progress=False)
    assert list(table["status"]) == ["converted"]
    task = ConversionTask(src, Path(table["output"][0]), "EDF")
    assert is_up_to_date(task)
    fifo = src_dir / "pipe"
    os.mkfifo(fifo)
    for planted in ({"path": "/dev/zero", "size": 0, "sha256": "0" * 64},
                    {"path": str(fifo), "size": 0, "sha256": "0" * 64},
                    {"path": "/etc/hostname", "size": 1, "sha256": "0" * 64},
                    {"path": str(src_dir / ".." / ".." / "x"), "size": 1, "sha256": "0"},
                    {"nonsense": 1}):
        task.output.write_bytes(b"")  # fresh copy of the good output each round
        nd.convert_many([src], out_dir, force=True, progress=False)
        _plant(task.output, planted)
        t0 = time.perf_counter()
        assert not is_up_to_date(task)
        assert time.perf_counter() - t0 < 5
    with pytest.raises(FormatError, match="not a regular file"):
        from neurodata.provenance import sha256_file

        sha256_file(fifo)


def test_batch_output_that_is_a_file_is_refused(tmp_path):
    src = tmp_path / "a.edf"
    src.write_bytes(nd.sample_path("eegmmidb_s001r04").read_bytes())
    with pytest.raises(WriteError, match="existing file"):
        nd.convert_many([src], src, progress=False)


def test_batch_walk_skips_hidden_temporaries_and_fifos(tmp_path):
    (tmp_path / ".a.h5.123.xyz.tmp").write_bytes(b"junk")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.edf")
    from neurodata.batch import plan_conversion

    assert plan_conversion([tmp_path], tmp_path / "out") == []


@pytest.mark.parametrize("name", ["builtins:exec", "this:x", "os:system", "os.path",
                                  "decoders.pipelines_classical:make_ts_lr"])
def test_pipeline_names_are_never_imported(name):
    """A config cannot make neuroloom import a module or call an attribute."""
    from decoders.benchmark import load_config
    from decoders.pipeline_registry import make_pipeline

    sys.modules.pop("this", None)
    with pytest.raises(ValidationError, match="unknown pipeline"):
        make_pipeline(name)
    cfg = {"name": "t", "datasets": [{"name": "d", "classes": {"a": "T1", "b": "T2"},
                                      "recordings": []}],
           "pipelines": [name], "evaluations": ["within_session"]}
    with pytest.raises(ValidationError):
        load_config(cfg)
    assert "this" not in sys.modules  # `import this` would print the Zen of Python


def test_plugin_pipelines_come_from_registrations():
    from decoders.pipeline_registry import list_pipelines, make_pipeline, register_pipeline
    from decoders.pipelines_classical import make_ts_lr

    register_pipeline("reliability_ts_lr", make_ts_lr, "test plug-in")
    assert "reliability_ts_lr" in list_pipelines()
    assert make_pipeline("reliability_ts_lr").steps[-1][0]
    with pytest.raises(ValidationError, match="built in"):
        register_pipeline("csp_lda", make_ts_lr)


def test_third_party_bad_data_errors_exit_1_and_bugs_exit_3(monkeypatch, tmp_path, capsys):
    import neurodata

    path = _rec().save(tmp_path / "r.h5")
    for exc, code in ((zlib.error("invalid stored block lengths"), 1),
                      (MemoryError("Unable to allocate 800. GiB"), 1),
                      (EOFError("compressed file ended"), 1),
                      (ZeroDivisionError("our bug"), 3)):
        def boom(*a, _e=exc, **k):
            raise _e

        monkeypatch.setattr(neurodata, "validate", boom)
        assert main(["validate", str(path)]) == code, exc
        err = capsys.readouterr().err
        assert ("internal error" in err) == (code == 3)
