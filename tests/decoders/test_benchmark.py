"""Benchmark runner: failure isolation and resume (n_jobs 1 and 2), run folders per config,
cross-subject/session grids on synthetic recordings with planted classes, config errors,
and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from decoders.benchmark import DecodingError, config_hash, load_config, run_benchmark
from decoders.pipeline_registry import list_pipelines, register_pipeline
from neurodata.errors import MissingFileError, ValidationError
from pipelines.cli import main

from .conftest import planted_recording
from .flaky_pipeline import make_flaky

pytestmark = pytest.mark.usefixtures("one_thread")
FLAKY = "flaky_test"  # registered, not imported by name (configs never import code)
register_pipeline(FLAKY, make_flaky, "fails while a flag file exists (tests)") \
    if FLAKY not in list_pipelines() else None


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Synthetic (planted): 2 subjects x 2 sessions, class T2 has 3x 10-Hz power on E0."""
    root = tmp_path_factory.mktemp("recs")
    out = []
    for i, (subj, sess) in enumerate([("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "b")]):
        path = root / f"{subj}_{sess}.h5"
        planted_recording(i, subject=subj, session=sess, n_trials=16).save(path)
        out.append({"path": str(path), "subject": subj, "session": sess})
    return out


def _config(recordings, pipelines):
    return {"name": "t", "n_permutations": 2, "random_state": 7,
            "datasets": [{"name": "planted", "classes": {"low": "T1", "high": "T2"},
                          "epochs": {"tmin": 0.0, "tmax": 1.0, "l_freq": 5.0,
                                     "h_freq": 20.0}, "recordings": recordings}],
            "pipelines": pipelines,
            "evaluations": ["within_session", "cross_session", "cross_subject"]}


def _scores(df):
    return df.drop(columns=["fit_time_s", "score_time_s"]).reset_index(drop=True)


def _flaky_config(recordings, flag):
    cfg = _config(recordings, [{"name": FLAKY, "label": "flaky",
                                "params": {"crash_flag": str(flag)}}, "ts_svm"])
    cfg["evaluations"] = ["within_session", "cross_subject"]
    cfg["n_permutations"] = 0
    return cfg


@pytest.fixture(scope="module")
def uninterrupted(recordings, tmp_path_factory):
    """The reference: the flaky grid run once without any failure, n_jobs=1."""
    root = tmp_path_factory.mktemp("full")
    cfg = _flaky_config(recordings, root / "no-such-flag")
    return run_benchmark(cfg, output=root / "out", n_jobs=1, plots=False)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_failed_cells_isolated_then_resumed(recordings, uninterrupted, tmp_path, n_jobs):
    """The first pipeline raises in every cell: the grid still runs the other cells, saves
    and summarizes them, lists the failures and raises one DecodingError; after the cause
    is gone a rerun computes only the failed cells and equals an uninterrupted run."""
    full = uninterrupted
    assert len(full.ran) == 4 and not full.skipped
    flag = tmp_path / "crash"
    flag.touch()
    cfg = _flaky_config(recordings, flag)
    out = tmp_path / "out"
    with pytest.raises(DecodingError) as info:
        run_benchmark(cfg, output=out, n_jobs=n_jobs)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(info.value.run_dir))
    assert "2 of 4 cell(s) failed: planted__flaky__within_session (_Crash: simulated crash" \
        in msg and "planted__flaky__cross_subject (_Crash" in msg
    assert "rerun the same command to compute only the failed cells" in msg
    cells = out / "cells"
    done = sorted(p.name.split("-")[0] for p in cells.glob("*.csv"))
    assert done == ["planted__ts_svm__cross_subject", "planted__ts_svm__within_session"]
    assert not list(cells.glob(".*tmp*"))  # nothing half-written

    run_dir = info.value.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["complete"] is False and sorted(manifest["ran"]) == done
    assert [(f["cell"], f["error"]) for f in manifest["failed"]] == [
        ("planted__flaky__within_session", "_Crash"), ("planted__flaky__cross_subject", "_Crash")]
    assert "simulated crash in the middle of the grid (second line)" in \
        manifest["failed"][0]["message"]
    partial = pd.read_csv(run_dir / "results.csv")
    assert set(partial["pipeline"]) == {"ts_svm"} and len(partial) == 4 * 5 + 2
    latest = json.loads((out / "latest.json").read_text())
    assert latest["path"] == str(run_dir.resolve()) and latest["complete"] is False

    flag.unlink()  # the transient cause is gone
    res = run_benchmark(cfg, output=out, n_jobs=n_jobs)
    assert sorted(res.skipped) == done
    assert sorted(res.ran) == ["planted__flaky__cross_subject", "planted__flaky__within_session"]
    pd.testing.assert_frame_equal(_scores(res.results), _scores(full.results))
    assert res.run_dir == run_dir == out / res.config_hash
    assert json.loads((run_dir / "manifest.json").read_text())["failed"] == []
    again = run_benchmark(cfg, output=out, n_jobs=n_jobs, plots=False)
    assert again.ran == [] and len(again.skipped) == 4
    for name in ("results.csv", "summary.csv", "summary.md", "manifest.json", "scores.png",
                 "paired.png"):  # unchanged results: the figures of the last run are kept
        assert (run_dir / name).exists(), name
    assert not list(out.glob(f".{res.config_hash}*"))  # no staging folder left behind


def test_worker_killed_midway(recordings, uninterrupted, tmp_path):
    """A hard kill of a worker process (os._exit in fit) stops the pool: finished cells stay
    on disk, the others are reported as failed, and the rerun computes exactly those and
    equals an uninterrupted run."""
    flag = tmp_path / "exit"
    flag.touch()
    cfg = _flaky_config(recordings, tmp_path / "no-crash")
    cfg["pipelines"][0]["params"]["exit_flag"] = str(flag)
    out = tmp_path / "out"
    with pytest.raises(DecodingError) as info:
        run_benchmark(cfg, output=out, n_jobs=2, plots=False)
    failed = {f["cell"] for f in info.value.failed}
    on_disk = {p.name.split("-")[0] for p in (out / "cells").glob("*.csv")}
    assert {"planted__flaky__within_session", "planted__flaky__cross_subject"} <= failed
    assert failed | on_disk == set(uninterrupted.results["cell"]) and not failed & on_disk
    flag.unlink()
    # n_jobs=1 here spares starting a second worker pool; which cells run does not
    # depend on it
    res = run_benchmark(cfg, output=out, n_jobs=1, plots=False)
    assert sorted(res.ran) == sorted(failed) and sorted(res.skipped) == sorted(on_disk)
    pd.testing.assert_frame_equal(_scores(res.results), _scores(uninterrupted.results))


def test_run_folders_per_config_share_cells(recordings, tmp_path):
    """Each config writes <output>/<config-hash>/; cells and epoch cache are shared, so an
    edited config computes only its new cells; n_jobs and output do not change the hash."""
    cfg = _config(recordings, ["csp_lda"])
    cfg["evaluations"], cfg["n_permutations"] = ["within_session"], 0
    a = run_benchmark(cfg, output=tmp_path, n_jobs=1)
    assert a.run_dir == tmp_path / a.config_hash and len(a.config_hash) == 12
    for name in ("results.csv", "summary.csv", "summary.md", "scores.png", "paired.png",
                 "manifest.json"):
        assert (a.run_dir / name).exists(), name
    manifest = json.loads((a.run_dir / "manifest.json").read_text())
    assert manifest["config_hash"] == a.config_hash == config_hash(manifest["config"])
    assert set(manifest["software"]) >= {"neuroloom", "numpy", "scikit-learn", "mne"}
    assert len(manifest["input_sha256"]["planted"]) == 4
    assert load_config(cfg)["n_jobs"] == 1 and config_hash(
        {**load_config(cfg), "n_jobs": 8, "output": "/elsewhere"}) == a.config_hash

    cfg["evaluations"] = ["within_session", "cross_session"]
    b = run_benchmark(cfg, output=tmp_path, n_jobs=1, plots=False)
    assert b.config_hash != a.config_hash
    assert b.skipped == ["planted__csp_lda__within_session"]
    assert b.ran == ["planted__csp_lda__cross_session"]
    assert (a.run_dir / "results.csv").exists() and (b.run_dir / "results.csv").exists()
    assert len(list((tmp_path / "cache" / "epochs").iterdir())) == 1
    latest = json.loads((tmp_path / "latest.json").read_text())
    assert latest["run_dir"] == b.config_hash and latest["complete"] is True


def test_grid_schemes_on_planted_data(recordings, tmp_path):
    cfg = _config(recordings, ["csp_lda"])
    cfg["n_permutations"] = 0
    res = run_benchmark(cfg, output=tmp_path, n_jobs=1, plots=False)
    r = res.results
    within = r[r.scheme == "within_session"]
    assert len(within) == 4 * 5 and set(within.subject) == {"s1", "s2"}
    cross_sub = r[r.scheme == "cross_subject"]
    assert sorted(cross_sub.subject) == ["s1", "s2"] and (cross_sub.n_test == 32).all()
    assert len(r[r.scheme == "cross_session"]) == 4
    s = res.summary.set_index("scheme")["mean"]
    assert (s > 0.9).all()  # planted 3x power difference is easy for CSP


def test_config_errors(recordings, tmp_path):
    with pytest.raises(ValidationError, match="unknown pipeline 'eegnett'"):
        load_config(_config(recordings, ["eegnett"]))
    bad = _config(recordings, ["csp_lda"])
    bad["evaluations"] = ["leave_one_out"]
    with pytest.raises(ValidationError, match="unknown evaluation scheme"):
        load_config(bad)
    bad = _config(recordings, ["csp_lda"])
    bad["datasets"][0]["classes"] = {"low": "T1", "high": "T7"}
    with pytest.raises(ValidationError, match="only one class"):
        run_benchmark(bad, output=tmp_path, n_jobs=1)
    bad = _config(recordings[:2], ["csp_lda"])  # one subject, two sessions
    bad["evaluations"] = ["cross_subject"]
    with pytest.raises(ValidationError, match="at least two subjects"):
        run_benchmark(bad, output=tmp_path / "x", n_jobs=1)
    with pytest.raises(MissingFileError):
        load_config(tmp_path / "nope.yaml")


def test_cli_one_line_errors(recordings, tmp_path, capsys):
    import yaml

    cfg = _config(recordings, ["not_a_pipeline"])
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["benchmark", str(path), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown pipeline 'not_a_pipeline'" in err[0]

    cfg = _config(recordings, ["csp_lda"])
    cfg["evaluations"] = ["within_session"]
    cfg["n_permutations"] = 0
    path.write_text(yaml.safe_dump(cfg))
    assert main(["benchmark", str(path), "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "| planted | within_session | csp_lda |" in out and "4 cell(s)" not in out
    run_dir = tmp_path / "o" / config_hash(load_config(path))
    assert f"results in {run_dir}/" in out and (run_dir / "summary.md").exists()


def test_cli_failed_cells_one_line(recordings, tmp_path, capsys):
    import yaml

    flag = tmp_path / "crash"
    flag.touch()
    cfg = _flaky_config(recordings, flag)
    cfg["evaluations"] = ["within_session"]
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # -q: progress and INFO logs (on by default in the CLI) off, so stderr holds only the error
    assert main(["benchmark", str(path), "--out", str(tmp_path / "o"), "--no-plots", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # one warning line per failed cell, then the error in one line; no traceback
    assert len(err) == 2 and err[0].startswith("cell planted__flaky__within_session failed")
    assert "1 of 2 cell(s) failed: planted__flaky__within_session" in err[-1]
    assert "compute only the failed cells" in err[-1]
    assert not any("Traceback" in line for line in err)


def test_example_config_loads():
    """The shipped config parses, names registered pipelines and resolves its paths."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "pipelines/configs/decoding_eegmmidb.yaml"
    cfg = load_config(path)
    assert [p["name"] for p in cfg["pipelines"]] == ["csp_lda", "fbcsp", "ts_lr", "ts_svm",
                                                      "aug_cov", "eegnet", "shallow", "deep4"]
    recs = cfg["datasets"][0]["recordings"]
    assert [Path(r["path"]).name for r in recs] == ["S001R04.edf", "S001R08.edf", "S001R12.edf"]
    assert all(Path(r["path"]).is_absolute() for r in recs)
