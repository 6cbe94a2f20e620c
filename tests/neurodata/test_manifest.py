"""Every real file listed in ../shared/data/MANIFEST.md converts, validates and matches its
native reader.

The test is parametrized over the manifest itself: a file added there is picked up
automatically.  Each file is either a *recording* (a file or folder a reader accepts),
or a declared *companion* of one (markers, masks, sidecars, name lists); a new file
that is neither fails, asking for a reader or a declaration.  Each recording is
converted (load → save → validate → reopen) and compared with the format's native
reader (MNE, nibabel, numpy, json, scipy.io, pandas).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neurodata as nd
from neurodata.celegans_names import is_neuron, normalize_neuron_name
from neurodata.errors import NeurodataError
from neurodata.io import find_reader

from ..conftest import REQUIRE_SHARED, SHARED_DATA

MANIFEST = SHARED_DATA / "MANIFEST.md"

_RSA = "image_evoked/kriegeskorte2008_92images/Kriegeskorte_Neuron2008_supplementalData.mat"
_TINY_BIDS = "bids/mne_bids_tiny_bids/sub-01/ses-eeg/eeg/sub-01_ses-eeg_task-rest_eeg.vhdr"

# companion pattern → (owner, role); "{dir}" in the owner is the companion's folder.
COMPANIONS: dict[str, tuple[str, str]] = {
    r"eeg_meg/brainvision/test\.(vmrk|eeg)$": ("eeg_meg/brainvision/test.vhdr",
                                               "BrainVision markers / data"),
    r"eeg_meg/eeglab/test_raw\.fdt$": ("eeg_meg/eeglab/test_raw.set", "EEGLAB data"),
    r"eeg_meg/fif/sample_audvis_trunc_raw-eve\.fif$": (
        "eeg_meg/fif/sample_audvis_trunc_raw_sss.fif", "MNE events of the full recording"),
    r"ieeg/sample_seeg_electrodes\.tsv$": ("ieeg/sample_seeg.edf", "contact positions"),
    r"fmri/haxby2001_sub001_openfmri/sub001/BOLD/task001_run\d+/bold_events\.tsv$": (
        "{dir}/bold_25mm.nii.gz", "block design events"),
    r"fmri/haxby2001_sub001_openfmri/sub001/masks/25mm/(brain|vt)\.nii\.gz$": (
        "fmri/haxby2001_sub001_openfmri/sub001/BOLD/task001_run001/bold_25mm.nii.gz", "mask"),
    r"fmri/haxby2001_sub001_openfmri/models/model001/condition_key\.txt$": (
        "fmri/haxby2001_sub001_openfmri/sub001/BOLD/task001_run001/bold_25mm.nii.gz",
        "condition names"),
    r"fmri/haxby2001_subj1_slice/(mask\.nii\.gz|attributes(_literal)?\.txt)$": (
        "fmri/haxby2001_subj1_slice/bold.nii.gz", "mask / per-volume labels"),
    r"calcium/flavell_atanas2023_subset/neurons\.json$": (
        "calcium/flavell_atanas2023_subset/time_trace.json", "column names"),
    r"calcium/celegans_connectome/connectome_(neurons\.csv|datasets\.json)$": (
        "calcium/celegans_connectome/cook_jarrell_2019_h.json", "cell table / dataset notes"),
    r"image_evoked/kriegeskorte2008_92images/92_brainRDMs\.mat$": (
        _RSA, "human IT fMRI RDMs, 4 subjects x 2 sessions (read with it: rdm_hIT_subjects)"),
    r"image_evoked/kriegeskorte2008_92images/92_behavRDMs\.mat$": (
        _RSA, "16 behavioural similarity-judgement RDMs (read with it: rdm_behaviour)"),
    r"image_evoked/kriegeskorte2008_92images/92_modelRDMs\.mat$": (
        _RSA, "8 model RDMs (read with it: rdm_models)"),
    r"image_evoked/kriegeskorte2008_92images/simTruePatterns\.mat$": (
        _RSA, "SIMULATED response patterns (rsatoolbox ground truth, not brain data; not read)"),
    r"bids/mne_bids_tiny_bids/.*\.(json|tsv|eeg|vmrk)$": (
        _TINY_BIDS, "BIDS sidecar / table / BrainVision data and markers"),
}


def manifest_files() -> list[str]:
    if not MANIFEST.exists():
        return []
    return re.findall(r"^## `([^`]+)`", MANIFEST.read_text(), flags=re.MULTILINE)


def _folder_unit(path: Path) -> Path | None:
    for parent in path.parents:
        if parent == SHARED_DATA or SHARED_DATA not in parent.parents:
            return None
        try:
            spec = find_reader(parent)
        except NeurodataError:
            continue
        if spec.folder and spec.name != "BIDS dataset":
            return parent
    return None


def classify(rel: str) -> tuple[str, str]:
    """("recording", unit relpath) or ("companion", owner relpath)."""
    for pattern, (owner, _) in COMPANIONS.items():
        if re.search(pattern, rel):
            return "companion", owner.replace("{dir}", str(Path(rel).parent))
    path = SHARED_DATA / rel
    folder = _folder_unit(path)
    if folder is not None:
        return "recording", str(folder.relative_to(SHARED_DATA))
    find_reader(path)  # raises FormatError naming the file when nothing reads it
    return "recording", rel


FILES = manifest_files()
UNITS = sorted({classify(r)[1] for r in FILES if classify(r)[0] == "recording"}) if FILES \
    else []


def test_manifest_is_present():
    if not FILES:
        msg = f"no MANIFEST.md with entries at {MANIFEST}"
        if REQUIRE_SHARED:
            pytest.fail(msg)
        pytest.skip(msg)
    assert len(FILES) >= 50


@pytest.mark.parametrize("rel", FILES)
def test_every_manifest_file_is_a_recording_or_declared_companion(rel):
    kind, target = classify(rel)
    if kind == "companion":
        assert target in FILES or (SHARED_DATA / target).exists(), \
            f"{rel} is declared a companion of {target}, which is not in the manifest"
        assert classify(target)[0] == "recording"


def test_every_license_named_in_the_manifest_is_beside_its_files():
    """Real data: each ``LICENSE_*.txt`` a manifest entry names exists where it says."""
    if not FILES:
        pytest.skip("no manifest")
    text = MANIFEST.read_text()
    named = 0
    for rel, body in re.findall(r"^## `([^`]+)`\n(.*?)(?=^## |\Z)", text,
                                flags=re.MULTILINE | re.DOTALL):
        for lic in re.findall(r"(LICENSE[\w.-]*\.txt)", body):
            named += 1
            here = [p / lic for p in (SHARED_DATA / rel).parents
                    if p == SHARED_DATA or SHARED_DATA in p.parents]
            assert any(p.is_file() for p in here), f"{rel}: {lic} not found beside it"
    assert named >= 15


# ----------------------------------------------------------------------------- comparators
def _cmp_mne(path: Path, rec: nd.Recording) -> None:
    import mne

    raw = mne.io.read_raw(path, preload=True, verbose="error")
    names = []
    for ts in rec.timeseries.values():
        picks = [raw.ch_names.index(n) for n in ts.ch_names]
        names += ts.ch_names
        np.testing.assert_array_equal(ts.slice(ts.t0, ts.t_end),
                                      raw.get_data(picks=picks).T.astype(np.float32))
        assert ts.rate == raw.info["sfreq"]
    assert sorted(names) == sorted(raw.ch_names)
    stim = len(mne.find_events(raw, shortest_event=1, verbose="error")) \
        if "stim" in raw.get_channel_types() else 0
    assert len(rec.events) == len(raw.annotations) + stim


def _cmp_nifti(path: Path, rec: nd.Recording) -> None:
    import nibabel as nib

    img = nib.load(path)
    data = np.asarray(img.dataobj, dtype=np.float32)
    (ts,) = rec.timeseries.values()
    assert ts.n_times == data.shape[3]
    np.testing.assert_allclose(1.0 / ts.rate, img.header.get_zooms()[3], rtol=1e-6)
    ijk = ts.voxel_ijk
    expected = data[ijk[:, 0], ijk[:, 1], ijk[:, 2], :].T
    np.testing.assert_allclose(ts.slice_samples(0, ts.n_times), expected, rtol=1e-6)
    np.testing.assert_allclose(ts.affine, img.affine)


def _cmp_suite2p(path: Path, rec: nd.Recording) -> None:
    f = np.load(path / "F.npy")
    iscell = np.load(path / "iscell.npy")[:, 0].astype(bool)
    ts = rec.timeseries["calcium"]
    np.testing.assert_array_equal(ts.slice_samples(0, ts.n_times), f[iscell].T)
    spks = np.load(path / "spks.npy")
    np.testing.assert_array_equal(rec.timeseries["deconvolved"].slice_samples(0, ts.n_times),
                                  spks[iscell].T)


def _cmp_traces(path: Path, rec: nd.Recording) -> None:
    rows = json.loads(path.read_text())
    t = np.array([r[0] for r in rows])
    x = np.array([r[1] for r in rows], dtype=np.float32)
    ts = rec.timeseries["calcium"]
    np.testing.assert_array_equal(ts.slice_samples(0, ts.n_times), x)
    np.testing.assert_allclose(ts.times, t)
    names = json.loads((path.parent / "neurons.json").read_text())[: x.shape[1]]
    assert ts.ch_names == [normalize_neuron_name(n) or n for n in names]


def _neuron_pairs(pairs) -> tuple[set, set]:
    pairs = list(pairs)
    chem = {(a, b) for a, b, kind in pairs if kind == "chemical"}
    elec = {frozenset((a, b)) for a, b, kind in pairs if kind == "electrical" and a != b}
    return chem, elec


def _pattern(rec: nd.Recording) -> tuple[set, set]:
    out = []
    for key in ("chemical", "electrical"):
        con = rec.connectivity[key]
        i, j = np.nonzero(con.weights)
        pairs = {(con.nodes[a], con.nodes[b]) for a, b in zip(i, j, strict=True)}
        out.append(pairs if key == "chemical" else {frozenset(p) for p in pairs if len(set(p)) > 1})
    return out[0], out[1]


def _nemanode_pairs(path: Path):
    for e in json.loads(path.read_text()):
        a, b = normalize_neuron_name(e["pre"]), normalize_neuron_name(e["post"])
        if a and b and is_neuron(a) and is_neuron(b):
            yield a, b, {0: "chemical", 2: "electrical"}.get(int(e["typ"]))


def _cmp_nemanode(path: Path, rec: nd.Recording) -> None:
    assert _pattern(rec) == _neuron_pairs(_nemanode_pairs(path))


def _cmp_varshney(path: Path, rec: nd.Recording) -> None:
    table = pd.read_csv(path)

    def gen():
        for a, b, kind in zip(table["Neuron 1"], table["Neuron 2"], table["Type"], strict=True):
            a, b = normalize_neuron_name(a), normalize_neuron_name(b)
            if a and b and is_neuron(a) and is_neuron(b):
                yield a, b, {"S": "chemical", "Sp": "chemical", "EJ": "electrical"}.get(kind)

    assert _pattern(rec) == _neuron_pairs(gen())


def _cmp_cook_xlsx(path: Path, rec: nd.Recording) -> None:
    # the workbook and the NemaNode edge list are two releases of the same connectome
    chem, elec = _pattern(rec)
    ref_chem, ref_elec = _neuron_pairs(_nemanode_pairs(path.parent / "cook_jarrell_2019_h.json"))
    assert len(chem ^ ref_chem) <= 0.02 * len(ref_chem)
    assert len(elec ^ ref_elec) <= 0.02 * len(ref_elec)


def _cmp_linear_track(path: Path, rec: nd.Recording) -> None:
    import scipy.io

    mat = scipy.io.loadmat(path / "spikes.mat", squeeze_me=True, struct_as_record=False)
    total = 0
    for tetrode in np.atleast_1d(mat["spikes"]):
        for unit in np.atleast_1d(tetrode):
            total += np.atleast_1d(getattr(unit, "time", np.array([]))).size
    st = rec.spikes["units"]
    assert st.n_spikes == total == 28829 and st.n_units == 31
    pos = rec.timeseries["position"]
    assert 118_960 <= pos.n_times <= 118_965


def _cmp_trial_calcium(path: Path, rec: nd.Recording) -> None:
    import scipy.io

    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    D, TE = mat["D"], mat["TE"]
    neurons = [f for f in D._fieldnames if f.startswith("neuron")]
    ts = rec.timeseries["calcium"]
    assert ts.ch_names == sorted(neurons, key=lambda f: int(f[6:]))
    cube = np.stack([np.stack(list(getattr(D, f))) for f in ts.ch_names], axis=-1)
    n_trials, n_samples, _ = cube.shape
    np.testing.assert_array_equal(ts.slice_samples(0, ts.n_times),
                                  cube.reshape(n_trials * n_samples, -1).astype(np.float32))
    assert ts.rate == 1.0 / TE.dt
    beh = rec.timeseries["behavior"]
    for name in ("speed", "pupil_zscore"):
        np.testing.assert_array_equal(beh.slice_samples(0, beh.n_times, channels=[name])[:, 0],
                                      np.concatenate(list(getattr(D, name))).astype(np.float32))
    ev = rec.events.to_dataframe()
    assert len(ev) == n_trials == TE.nTrials
    np.testing.assert_array_equal(ev["direction"], TE.direction)
    onset_sample = int(np.argmin(np.abs(mat["t"])))  # t = 0 in the -1..2 s window
    np.testing.assert_allclose(ev["onset"], (np.arange(n_trials) * n_samples + onset_sample)
                               * TE.dt)
    animal = path.name.split("_")[1]
    assert rec.subject["id"] == animal and rec.session["id"].startswith(path.name[:6])
    assert "gaps" in rec.provenance["parameters"]


def _cmp_rsa_images(path: Path, rec: nd.Recording) -> None:
    import scipy.io

    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    images = np.stack([o.image for o in mat["stimuli_92objs"]])
    np.testing.assert_array_equal(np.asarray(rec.stimuli["images"]), images)
    assert images.shape == (92, 175, 175, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(rec.stimuli["category_vectors"]),
                                  mat["categoryVectors"])
    for r in mat["RDMs_mIT_hIT_fig1"]:
        square = np.asarray(rec.stimuli[f"rdm_{r.name}"])
        np.testing.assert_allclose(square[np.triu_indices(92, 1)], r.RDM)
        np.testing.assert_array_equal(square, square.T)
    brain = scipy.io.loadmat(path.with_name("92_brainRDMs.mat"), squeeze_me=True,
                             struct_as_record=False)["RDMs"]
    stack = np.asarray(rec.stimuli["rdm_hIT_subjects"])
    assert stack.shape == (4, 2, 92, 92)
    np.testing.assert_allclose(stack[3, 1], brain[3, 1].RDM, rtol=1e-6)
    assert not any("simTrue" in s["name"] for s in rec.provenance["sources"])


def _cmp_bids(path: Path, rec: nd.Recording) -> None:
    import mne_bids

    bp = mne_bids.get_bids_path_from_fname(path)
    bp.update(root=path.parents[3])
    # two electrodes.tsv: mne-bids skips the positions (ours come from the one in the
    # coordsystem's space, checked against the table below)
    raw = mne_bids.read_raw_bids(bp, verbose="error")
    channels = pd.read_csv(path.parent / "sub-01_ses-eeg_task-rest_channels.tsv", sep="\t",
                           encoding="utf-8-sig")
    ours = {}
    for ts in rec.timeseries.values():
        picks = [raw.ch_names.index(n) for n in ts.ch_names]
        np.testing.assert_array_equal(ts.slice_samples(0, ts.n_times),
                                      raw.get_data(picks=picks).T.astype(np.float32))
        ours.update({r.name: r for r in ts.channels.itertuples()})
    assert sorted(ours) == sorted(raw.ch_names) == sorted(channels["name"])
    bids_type = {"EEG": "eeg", "EOG": "eog", "ECG": "ecg", "GSR": "misc", "TEMP": "misc",
                 "MISC": "misc"}
    for row in channels.itertuples():
        assert ours[row.name].type == bids_type[row.type], row.name
        assert bool(ours[row.name].bad) == (row.status == "bad"), row.name
    electrodes = pd.read_csv(path.parent / "sub-01_ses-eeg_space-CapTrak_electrodes.tsv",
                             sep="\t", na_values=["n/a"], encoding="utf-8-sig").dropna()
    assert len(electrodes) == 64
    for row in electrodes.itertuples():
        ch = ours[row.name]
        np.testing.assert_allclose([ch.x, ch.y, ch.z], [row.x, row.y, row.z])
        assert ch.coord_frame == "CapTrak"
    events = pd.read_csv(path.parent / "sub-01_ses-eeg_task-rest_events.tsv", sep="\t",
                         encoding="utf-8-sig")
    ev = rec.events.to_dataframe()
    np.testing.assert_allclose(ev["onset"], events["onset"])
    assert ev["label"].tolist() == events["trial_type"].tolist()
    assert ev["value"].tolist() == events["value"].tolist()
    assert rec.subject["id"] == "sub-01" and rec.session["task"] == "rest"


COMPARATORS: dict[str, Callable[[Path, nd.Recording], None]] = {
    "EDF": _cmp_mne, "BDF": _cmp_mne, "FIF": _cmp_mne, "BrainVision": _cmp_mne,
    "EEGLAB": _cmp_mne, "NIfTI": _cmp_nifti, "suite2p": _cmp_suite2p,
    "C. elegans traces (JSON)": _cmp_traces, "NemaNode connectome (JSON)": _cmp_nemanode,
    "WormAtlas NeuronConnect (CSV)": _cmp_varshney, "Cook 2019 SI5 (XLSX)": _cmp_cook_xlsx,
    "nelpy linear track": _cmp_linear_track, "trial calcium (MAT D/TE)": _cmp_trial_calcium,
    "92-image RSA set (MAT)": _cmp_rsa_images, "BIDS": _cmp_bids,
}


@pytest.mark.parametrize("unit", UNITS)
def test_recording_converts_validates_and_matches_native_reader(unit, tmp_path):
    path = SHARED_DATA / unit
    spec = find_reader(path)
    assert spec.name in COMPARATORS, (
        f"{unit}: format {spec.name!r} has no native-reader comparison in this test; add one")
    out = nd.load(path).save(tmp_path / "rec.h5")
    report = nd.validate(out)
    assert report.ok, report.errors
    with nd.open(out) as rec:
        assert rec.provenance["sources"][0]["sha256"]
        COMPARATORS[spec.name](path, rec)
