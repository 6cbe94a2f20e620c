"""Benchmark runner: resumability after a simulated crash, cross-subject/session grids on
synthetic recordings with planted classes, config errors, and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from decoders.benchmark import load_config, run_benchmark
from neurodata.errors import MissingFileError, ValidationError
from pipelines.cli import main

from .conftest import planted_recording
from .flaky_pipeline import _Crash

pytestmark = pytest.mark.usefixtures("one_thread")
FLAKY = "tests.decoders.flaky_pipeline:make_flaky"


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


def test_resume_after_crash(recordings, tmp_path, monkeypatch):
    """A pipeline crashes on the 3rd of 4 cells; the rerun computes only the missing cells
    and the final results equal an uninterrupted run's."""
    cfg = _config(recordings, ["ts_svm", {"name": FLAKY, "label": "flaky"}])
    cfg["evaluations"] = ["within_session", "cross_subject"]
    cfg["n_permutations"] = 0
    full = run_benchmark(cfg, output=tmp_path / "full", n_jobs=1, plots=False)
    assert len(full.ran) == 4 and not full.skipped

    monkeypatch.setenv("NEUROLOOM_TEST_CRASH", "1")
    with pytest.raises(_Crash):
        run_benchmark(cfg, output=tmp_path / "resumed", n_jobs=1, plots=False)
    cells = tmp_path / "resumed" / "cells"
    done = sorted(p.name.split("-")[0] for p in cells.glob("*.csv"))
    assert done == ["planted__ts_svm__cross_subject", "planted__ts_svm__within_session"]
    assert not list(cells.glob(".*tmp*"))  # nothing half-written

    monkeypatch.delenv("NEUROLOOM_TEST_CRASH")
    res = run_benchmark(cfg, output=tmp_path / "resumed", n_jobs=1)
    assert sorted(res.skipped) == done
    assert sorted(res.ran) == ["planted__flaky__cross_subject", "planted__flaky__within_session"]
    pd.testing.assert_frame_equal(_scores(res.results), _scores(full.results))
    again = run_benchmark(cfg, output=tmp_path / "resumed", n_jobs=1, plots=False)
    assert again.ran == [] and len(again.skipped) == 4
    for name in ("results.csv", "summary.csv", "summary.md", "scores.png", "paired.png",
                 "manifest.json"):
        assert (tmp_path / "resumed" / name).exists(), name


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
