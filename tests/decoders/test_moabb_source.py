"""MOABB adapter: a local MOABB dataset over the real EEGMMIDB EDF runs gives the same epochs
and benchmark scores as our own file path; config resolution, cache keys, and errors
(missing moabb, unknown dataset, no subjects).  No network: the dataset reads the shared
files, and MNE/MOABB config and data folders point into tmp_path."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("moabb")

import mne  # noqa: E402
from moabb.datasets.base import BaseDataset  # noqa: E402

from decoders.benchmark import load_config, run_benchmark  # noqa: E402
from decoders.epochs import make_epochs  # noqa: E402
from decoders.moabb_source import (  # noqa: E402
    MissingDependencyError,
    moabb_fingerprint,
    moabb_sources,
    resolve_moabb_dataset,
)
from neurodata.errors import NeurodataError, ValidationError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread", "_no_home")

RUNS = (4, 8, 12)  # imagery: T1 = left fist, T2 = right fist
EPOCHS = {"tmin": 1.0, "tmax": 2.0, "l_freq": 7.0, "h_freq": 30.0}


class LocalMI(BaseDataset):
    """EEGMMIDB imagery runs of subject 1 read from local EDF files, labelled as MOABB's
    PhysionetMI labels them (T0 rest, T1 left_hand, T2 right_hand), one session "0"."""

    def __init__(self, paths: dict[int, str]):
        super().__init__(subjects=[1], sessions_per_subject=1,
                         events={"rest": 1, "left_hand": 2, "right_hand": 3}, code="LocalMI",
                         interval=[0, 3], paradigm="imagery")
        self.paths = {str(k): str(v) for k, v in paths.items()}

    def _get_single_subject_data(self, subject):
        runs = {}
        for i, path in enumerate(self.paths.values()):
            raw = mne.io.read_raw_edf(path, preload=True, verbose="ERROR")
            desc = raw.annotations.description.astype("<U10")
            for old, new in (("T0", "rest"), ("T1", "left_hand"), ("T2", "right_hand")):
                desc[desc == old] = new
            raw.annotations.description = desc
            runs[str(i)] = raw
        return {"0": runs}

    def data_path(self, subject, path=None, force_update=False, update_path=None,
                  verbose=None):
        return list(self.paths.values())


@pytest.fixture
def _no_home(tmp_path, monkeypatch):
    """MNE's config file, MNE_DATA and MOABB's provider stay inside tmp_path."""
    monkeypatch.setenv("_MNE_FAKE_HOME_DIR", str(tmp_path / "home"))
    (tmp_path / "mne_data").mkdir()
    monkeypatch.setenv("MNE_DATA", str(tmp_path / "mne_data"))
    monkeypatch.setenv("MOABB_DOWNLOAD_PROVIDER", "upstream")


@pytest.fixture
def paths(shared):
    return {r: shared(f"eeg_meg/eegmmidb/S001R{r:02d}.edf") for r in RUNS}


def _own_recordings(paths):
    return [{"path": str(p), "subject": "1", "session": "0", "run": str(i)}
            for i, p in enumerate(paths.values())]


def test_epochs_equal_our_file_path(paths):
    """Real EEGMMIDB runs through MOABB's get_data + from_mne equal make_epochs on the
    same EDF files read by our loader."""
    src = moabb_sources(LocalMI(paths), [1], labels=["left_hand", "right_hand"])
    assert [(s["subject"], s["session"], s["run"]) for s in src] == [
        ("1", "0", "0"), ("1", "0", "1"), ("1", "0", "2")]
    ev = src[0]["recording"].events.to_dataframe()
    assert set(ev["label"]) == {"rest", "left_hand", "right_hand"}
    assert dict(zip(ev["label"], ev["value"], strict=True)) == {
        "rest": 1, "left_hand": 2, "right_hand": 3}
    assert (ev["duration"] == 3.0).all()  # MOABB sets the dataset interval as duration
    ours = make_epochs(_own_recordings(paths), {"left_hand": "T1", "right_hand": "T2"},
                       **EPOCHS)
    theirs = make_epochs(src, ["left_hand", "right_hand"], **EPOCHS)
    assert theirs.X.shape == ours.X.shape == (45, 64, 161)
    np.testing.assert_allclose(theirs.X, ours.X, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(theirs.y, ours.y)
    assert theirs.classes == ours.classes and theirs.ch_names == ours.ch_names
    for col in ("subject", "session", "run", "onset", "class"):
        pd.testing.assert_series_equal(theirs.metadata[col], ours.metadata[col])


@pytest.mark.filterwarnings("ignore:Montage name:FutureWarning")  # inside moabb 1.7.2
def test_physionet_mi_class_on_local_files(paths):
    """MOABB's own PhysionetMI (stim channel, channel renames, montage) with its download
    step pointed at the shared files: same epochs as ours (feet runs not available here)."""
    from moabb.datasets import PhysionetMI

    class LocalPhysionetMI(PhysionetMI):
        def _load_data(self, subject, runs, path=None, force_update=False, verbose=None):
            return [paths[int(r)] for r in runs]

    ds = LocalPhysionetMI()
    ds.feet_runs = []
    src = moabb_sources(ds, [1], labels=["left_hand", "right_hand"])
    assert sorted(src[0]["recording"].timeseries) == ["eeg", "stim"]
    kw = {"tmin": 0.0, "tmax": 3.0, "l_freq": 8.0, "h_freq": 32.0}
    theirs = make_epochs(src, ["left_hand", "right_hand"], **kw)
    ours = make_epochs(_own_recordings(paths), {"left_hand": "T1", "right_hand": "T2"}, **kw)
    assert theirs.counts() == {"left_hand": 23, "right_hand": 22}
    np.testing.assert_allclose(theirs.X, ours.X, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(theirs.y, ours.y)
    assert theirs.ch_names[:4] == ["FC5", "FC3", "FC1", "FCz"]  # MOABB's renamed channels


def test_benchmark_scores_equal_from_both_sources(paths, tmp_path):
    """run_benchmark on a MOABB dataset object and on the same files gives identical
    csp_lda within-session scores; the MOABB cache key is its fingerprint."""
    ds = LocalMI(paths)
    cfg = {"name": "moabb_vs_files", "n_permutations": 0, "random_state": 3,
           "datasets": [
               {"name": "via_moabb", "moabb": ds, "subjects": [1],
                "classes": ["left_hand", "right_hand"], "epochs": EPOCHS},
               {"name": "via_files", "recordings": _own_recordings(paths),
                "classes": {"left_hand": "T1", "right_hand": "T2"}, "epochs": EPOCHS}],
           "pipelines": ["csp_lda"], "evaluations": ["within_session"]}
    res = run_benchmark(cfg, output=tmp_path / "out", n_jobs=1, plots=False)
    r = res.results.set_index(["dataset", "fold"])["score"]
    assert len(r) == 10
    np.testing.assert_array_equal(r["via_moabb"].to_numpy(), r["via_files"].to_numpy())
    manifest = json.loads((res.run_dir / "manifest.json").read_text())
    fp = manifest["input_sha256"]["via_moabb"]
    assert fp["dataset"].endswith("test_moabb_source.LocalMI") and fp["subjects"] == [1]
    assert fp["moabb_version"] == manifest["software"]["moabb"]
    assert manifest["config"]["datasets"][0]["moabb"] == fp  # the object itself is not dumped
    again = run_benchmark(cfg, output=tmp_path / "out", n_jobs=1, plots=False)
    assert again.ran == [] and again.run_dir == res.run_dir
    assert moabb_fingerprint(LocalMI({4: paths[4]}), [1]) != fp  # other runs, other key


def test_yaml_names_a_moabb_dataset(tmp_path):
    """`moabb: PhysionetMI` resolves to moabb.datasets.PhysionetMI() (nothing downloaded)."""
    import yaml

    cfg = {"name": "y", "datasets": [{"name": "pmi", "moabb": "PhysionetMI", "subjects": [1, 2],
                                      "classes": ["left_hand", "right_hand"],
                                      "epochs": {"tmin": 0.0, "tmax": 2.0}}],
           "pipelines": ["csp_lda"], "evaluations": ["within_session"]}
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(cfg))
    ds = load_config(path)["datasets"][0]
    assert type(ds["moabb_dataset"]).__name__ == "PhysionetMI" and ds["subjects"] == [1, 2]
    assert ds["moabb"]["attributes"]["hand_runs"] == [4, 8, 12]
    assert "recordings" not in ds

    bad = json.loads(json.dumps(cfg))
    bad["datasets"][0]["moabb"] = "NoSuchDataset"
    with pytest.raises(ValidationError, match="moabb.datasets has no dataset 'NoSuchDataset'"):
        load_config(bad)
    del bad["datasets"][0]["subjects"]
    bad["datasets"][0]["moabb"] = "PhysionetMI"
    with pytest.raises(ValidationError, match=r"give the subjects .* it has 109"):
        load_config(bad)
    bad["datasets"][0]["subjects"] = [0]
    with pytest.raises(ValidationError, match=r"subjects \[0\] are not among"):
        load_config(bad)
    bad["datasets"][0]["recordings"] = ["a.edf"]
    with pytest.raises(ValidationError, match="exactly one source"):
        load_config(bad)


def test_bad_moabb_input(paths):
    with pytest.raises(ValidationError, match="expected a MOABB dataset object"):
        moabb_sources(object(), [1])
    with pytest.raises(ValidationError, match=r"no run has events \['feet'\]; its event "
                                              r"labels are \['left_hand', 'rest', 'right_hand'\]"):
        moabb_sources(LocalMI(paths), [1], labels=["feet"])


def test_missing_moabb_is_a_clear_error(monkeypatch):
    """Without the optional extra: an ImportError that is also a NeurodataError (the CLI
    prints it as one line), telling how to install it."""
    monkeypatch.setitem(sys.modules, "moabb", None)  # makes `import moabb` raise
    with pytest.raises(MissingDependencyError, match=r"pip install 'neuroloom\[moabb\]'") as e:
        resolve_moabb_dataset("PhysionetMI")
    assert isinstance(e.value, ImportError) and isinstance(e.value, NeurodataError)
    cfg = {"datasets": [{"name": "pmi", "moabb": "PhysionetMI", "subjects": [1],
                         "classes": ["a", "b"], "epochs": {"tmin": 0, "tmax": 1}}],
           "pipelines": ["csp_lda"], "evaluations": ["within_session"]}
    with pytest.raises(MissingDependencyError, match="need the 'moabb' package"):
        load_config(cfg)
