"""fMRI loader (neurodata.io.nifti) against nibabel / nilearn on the real Haxby 2001 files.

Real data: ../shared/data/fmri/haxby2001_subj1_slice (one slice, 12 runs concatenated,
PyMVPA label files) and haxby2001_sub001_openfmri (per-run 25 mm volumes, BIDS-style
events, brain and VT masks).  Every value is checked against the native reader
(nibabel indexing, nilearn maskers and ``signal.clean``); counts come from the MANIFEST.
"""

from __future__ import annotations

import json
import shutil
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import neurodata as nd
from neurodata.errors import FormatError, ValidationError
from neurodata.io.nifti import read_fmri_events, read_nifti, to_nifti

SLICE = "fmri/haxby2001_subj1_slice"
OPEN = "fmri/haxby2001_sub001_openfmri"
RUN1 = f"{OPEN}/sub001/BOLD/task001_run001"
CATEGORIES = ["bottle", "cat", "chair", "face", "house", "scissors", "scrambledpix", "shoe"]


@pytest.fixture(scope="module")
def slice_rec():
    from tests.conftest import shared_path

    return read_nifti(shared_path(f"{SLICE}/bold.nii.gz"), mask=shared_path(f"{SLICE}/mask.nii.gz"),
                      events=shared_path(f"{SLICE}/attributes_literal.txt"), verbose=False)


def _nilearn_mask(mask, img, **kw):
    from nilearn.maskers import NiftiMasker

    return NiftiMasker(mask_img=str(mask), standardize=None, **kw).fit().transform(str(img))


def test_slice_voxels_match_nifti_masker(shared, slice_rec):
    bold, mask = shared(f"{SLICE}/bold.nii.gz"), shared(f"{SLICE}/mask.nii.gz")
    ts = slice_rec.timeseries["bold"]
    assert ts.shape == (1452, 530)  # MANIFEST: 1452 volumes, 530 in-mask voxels
    assert ts.rate == pytest.approx(1 / 2.5) and ts.t0 == 0.0
    assert ts.modality == "bold" and set(ts.channels["type"]) == {"voxel"}
    expected = _nilearn_mask(mask, bold)
    np.testing.assert_allclose(ts.slice_samples(0, ts.n_times), expected, rtol=1e-6, atol=1e-6)
    img = nib.load(bold)
    np.testing.assert_array_equal(ts.affine, img.affine)
    assert ts.volume_shape == (40, 20, 1)
    ijk = np.argwhere(np.asanyarray(nib.load(mask).dataobj) != 0)
    np.testing.assert_array_equal(ts.voxel_ijk, ijk)
    i, j, k = ijk[17]
    assert ts.channels["name"][17] == f"v_{i}_{j}_{k}"
    mm = img.affine @ np.r_[ijk[17], 1.0]
    np.testing.assert_allclose(ts.channels.loc[17, ["x", "y", "z"]].to_numpy(float),
                               mm[:3] / 1000)
    # Direct nibabel indexing, one voxel over time.
    np.testing.assert_allclose(ts.slice_samples(0, ts.n_times)[:, 17],
                               img.get_fdata()[i, j, k, :], rtol=1e-6)


def test_slice_label_file_events_match_manifest(shared, slice_rec):
    ev = slice_rec.events.to_dataframe()
    per_label = ev.groupby("label")["n_volumes"].sum().to_dict()
    assert per_label == {"rest": 588, **{c: 108 for c in CATEGORIES}}  # MANIFEST counts
    np.testing.assert_allclose(ev["duration"], ev["n_volumes"] * 2.5)
    assert sorted(ev["chunk"].unique()) == list(range(12))
    # Onsets are volume index × TR: rebuild the per-volume labels from the events.
    lines = [ln.split() for ln in
             shared(f"{SLICE}/attributes_literal.txt").read_text().splitlines() if ln.strip()]
    rebuilt = [""] * 1452
    for row in ev.itertuples():
        start = int(round(row.onset / 2.5))
        rebuilt[start:start + row.n_volumes] = [row.label] * row.n_volumes
    assert rebuilt == [ln[0] for ln in lines]
    # Numeric attributes.txt: labels are the codes and value is the integer code.
    num = read_fmri_events(shared(f"{SLICE}/attributes.txt"), n_volumes=1452, tr=2.5)
    dfn = num.to_dataframe()
    assert dfn.groupby("label")["n_volumes"].sum()["0"] == 588
    assert (dfn["value"] == dfn["label"].astype(int)).all()
    assert len(dfn) == len(ev)


def test_openfmri_run_mask_events_and_tr(shared):
    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    brain = shared(f"{OPEN}/sub001/masks/25mm/brain.nii.gz")
    rec = nd.load(run, mask=brain, events=shared(f"{RUN1}/bold_events.tsv"), verbose=False)
    ts = rec.timeseries["bold"]
    assert ts.shape == (121, 129)  # MANIFEST: NiftiMasker gives 121 x 129
    assert ts.rate == pytest.approx(0.4)
    assert ts.attrs["tr_source"] == "header pixdim[4]"
    np.testing.assert_allclose(ts.slice_samples(0, 121), _nilearn_mask(brain, run), rtol=1e-6)
    ev = rec.events.to_dataframe()
    native = pd.read_csv(shared(f"{RUN1}/bold_events.tsv"), sep="\t")
    assert len(ev) == 8 and sorted(ev["label"]) == CATEGORIES
    np.testing.assert_allclose(ev["onset"], native["onset"])
    np.testing.assert_allclose(ev["duration"], 22.5)
    assert list(ev["label"]) == list(native["trial_type"])
    # 96 events over the 12 runs (MANIFEST).
    total = sum(len(read_fmri_events(
        shared(f"{OPEN}/sub001/BOLD/task001_run{r:03d}/bold_events.tsv"), n_volumes=121, tr=2.5))
        for r in range(1, 13))
    assert total == 96


def test_atlas_regions_match_labels_masker(shared, tmp_path):
    """Region signals on the real run.  The 3-D atlas is built here from the real brain
    mask (region = axial slice index + 1), a planted partition with known voxels."""
    from nilearn.maskers import NiftiLabelsMasker

    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    brain_img = nib.load(shared(f"{OPEN}/sub001/masks/25mm/brain.nii.gz"))
    brain = np.asanyarray(brain_img.dataobj) != 0
    labels = np.where(brain, np.indices(brain.shape)[2] + 1, 0).astype(np.int16)
    atlas_path = tmp_path / "slices_atlas.nii.gz"
    nib.Nifti1Image(labels, brain_img.affine).to_filename(atlas_path)
    values = np.unique(labels[labels > 0])
    names = {int(v): f"slice{int(v)}" for v in values}
    rec = read_nifti(run, atlas=atlas_path, atlas_labels=names, verbose=False)
    ts = rec.timeseries["bold"]
    assert list(ts.channels["name"]) == [names[int(v)] for v in values]
    assert set(ts.channels["type"]) == {"bold_roi"} and ts.voxel_ijk is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = NiftiLabelsMasker(str(atlas_path), standardize=None).fit_transform(str(run))
    np.testing.assert_allclose(ts.slice_samples(0, 121), expected, rtol=1e-5)
    assert list(ts.channels["n_voxels"]) == [int((labels == v).sum()) for v in values]
    # The real VT mask as a one-region atlas: the mean over its voxels, by nibabel.
    vt = shared(f"{OPEN}/sub001/masks/25mm/vt.nii.gz")
    rec_vt = read_nifti(run, atlas=vt, atlas_labels=["background", "VT"], verbose=False)
    vt_mask = nib.load(vt).get_fdata() != 0
    want = nib.load(run).get_fdata()[vt_mask].mean(axis=0)
    np.testing.assert_allclose(rec_vt.timeseries["bold"].slice_samples(0, 121)[:, 0], want,
                               rtol=1e-6)
    assert list(rec_vt.timeseries["bold"].channels["name"]) == ["VT"]


def test_probabilistic_maps_match_maps_masker(shared, tmp_path):
    """4-D atlas on the real run; the two maps are planted (smooth weights over the real
    brain mask) so the least-squares fit has a known reference in NiftiMapsMasker."""
    from nilearn.maskers import NiftiMapsMasker

    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    brain_img = nib.load(shared(f"{OPEN}/sub001/masks/25mm/brain.nii.gz"))
    brain = np.asanyarray(brain_img.dataobj) != 0
    i, j, k = np.indices(brain.shape)
    maps = np.stack([brain * (i + 1.0), brain * (k + 1.0)], axis=-1).astype(np.float32)
    maps_path = tmp_path / "maps.nii.gz"
    nib.Nifti1Image(maps, brain_img.affine).to_filename(maps_path)
    rec = read_nifti(run, atlas=maps_path, atlas_labels=["lateral", "superior"], verbose=False)
    ts = rec.timeseries["bold"]
    assert list(ts.channels["name"]) == ["lateral", "superior"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = NiftiMapsMasker(str(maps_path), standardize=None).fit_transform(str(run))
    np.testing.assert_allclose(ts.slice_samples(0, 121), expected, rtol=1e-4, atol=1e-3)


def test_write_back_to_nifti_exactly(shared, tmp_path):
    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    brain = shared(f"{OPEN}/sub001/masks/25mm/brain.nii.gz")
    img = nib.load(run)
    full = read_nifti(run, verbose=False).timeseries["bold"]  # no mask: every voxel
    assert full.shape == (121, 600)
    back = to_nifti(full)
    np.testing.assert_array_equal(back.get_fdata(), img.get_fdata())
    np.testing.assert_array_equal(back.affine, img.affine)
    assert back.header.get_zooms()[3] == pytest.approx(2.5)
    # Masked, through the common format on disk: inside equal, outside 0.
    out = tmp_path / "run1.h5"
    read_nifti(run, mask=brain, verbose=False).save(out)
    with nd.open(out) as rec:
        back2 = to_nifti(rec.timeseries["bold"])
    inside = np.asanyarray(nib.load(brain).dataobj) != 0
    np.testing.assert_array_equal(back2.get_fdata()[inside], img.get_fdata()[inside])
    assert not back2.get_fdata()[~inside].any()
    assert nd.validate(out).ok


def test_tr_from_sidecar_argument_and_ms_header(shared, tmp_path):
    """TR sources; the ms-header image is synthetic (random values, TR planted as 2500 ms)."""
    run = tmp_path / "sub-01_task-x_bold.nii.gz"
    shutil.copy(shared(f"{RUN1}/bold_25mm.nii.gz"), run)
    (tmp_path / "sub-01_task-x_bold.json").write_text(json.dumps({"RepetitionTime": 2.0}))
    with pytest.warns(UserWarning, match="sidecar RepetitionTime 2.0"):
        ts = read_nifti(run, verbose=False).timeseries["bold"]
    assert ts.rate == pytest.approx(0.5) and ts.attrs["tr_source"].startswith("sidecar")
    with pytest.warns(UserWarning, match="overrides"):
        assert read_nifti(run, tr=2.5, verbose=False).timeseries["bold"].rate == 0.4
    rng = np.random.default_rng(0)
    ms = nib.Nifti1Image(rng.normal(size=(2, 2, 2, 5)).astype(np.float32), np.eye(4))
    ms.header.set_xyzt_units("mm", "msec")
    ms.header.set_zooms((1.0, 1.0, 1.0, 2500.0))
    ms.to_filename(tmp_path / "ms.nii")
    rec = read_nifti(tmp_path / "ms.nii", verbose=False)
    assert rec.timeseries["bold"].rate == pytest.approx(0.4)


def test_cleaning_matches_nilearn_and_is_in_provenance(shared):
    """Confounds are synthetic (fixed seed); the signal is the real masked run."""
    from nilearn import signal

    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    brain = shared(f"{OPEN}/sub001/masks/25mm/brain.nii.gz")
    conf = np.random.default_rng(7).normal(size=(121, 3))
    rec = read_nifti(run, mask=brain, confounds=conf, detrend=True, standardize="zscore_sample",
                     high_pass=0.01, verbose=False)
    expected = signal.clean(_nilearn_mask(brain, run), detrend=True, confounds=conf,
                            standardize="zscore_sample", high_pass=0.01, t_r=2.5)
    got = rec.timeseries["bold"].slice_samples(0, 121)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.std(axis=0, ddof=1), 1.0, atol=1e-3)
    steps = rec.provenance["steps"]
    assert [s["name"] for s in steps] == ["nilearn.signal.clean"]
    assert steps[0]["parameters"]["high_pass"] == 0.01
    assert steps[0]["parameters"]["confounds"] == {"array_shape": [121, 3]}
    assert read_nifti(run, mask=brain, verbose=False).provenance["steps"] == []


# ------------------------------------------------------------------ bad input
def test_3d_image_where_4d_needed_fails_without_output(shared, tmp_path):
    from neurodata.batch import convert_many

    mask = shared(f"{SLICE}/mask.nii.gz")
    with pytest.raises(FormatError, match=r"mask\.nii\.gz: is a 3-D image .*expected a 4-D"):
        read_nifti(mask)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(mask, src / "volume.nii.gz")
    out = tmp_path / "out"
    table = convert_many([src], out, verbose=False)
    assert list(table["status"]) == ["failed"] and "4-D" in table["error"][0]
    assert not list(out.rglob("*.h5"))


def test_mask_of_wrong_shape_names_both_shapes(shared, tmp_path):
    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    with pytest.raises(FormatError, match=r"mask\.nii\.gz: mask has shape \(40, 20, 1\); "
                                          r"expected .*\(6, 10, 10\)"):
        read_nifti(run, mask=shared(f"{SLICE}/mask.nii.gz"))
    assert not list(tmp_path.iterdir())


def test_atlas_on_another_grid(shared, tmp_path):
    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    vt = nib.load(shared(f"{OPEN}/sub001/masks/25mm/vt.nii.gz"))
    shifted = vt.affine.copy()
    shifted[0, 3] += 25.0
    nib.Nifti1Image(np.asanyarray(vt.dataobj), shifted).to_filename(tmp_path / "shifted.nii.gz")
    with pytest.raises(FormatError, match=r"shifted\.nii\.gz: atlas affine .* differs"):
        read_nifti(run, atlas=tmp_path / "shifted.nii.gz")
    nib.Nifti1Image(np.ones((6, 10, 9), np.int16), vt.affine).to_filename(tmp_path / "s.nii.gz")
    with pytest.raises(FormatError, match=r"atlas has shape \(6, 10, 9\); expected .*"
                                          r"\(6, 10, 10\)"):
        read_nifti(run, atlas=tmp_path / "s.nii.gz")


def test_events_past_the_run_and_label_file_length(shared, tmp_path):
    run = shared(f"{RUN1}/bold_25mm.nii.gz")
    native = pd.read_csv(shared(f"{RUN1}/bold_events.tsv"), sep="\t")
    native.loc[7, "onset"] = 400.0  # the run lasts 121 × 2.5 = 302.5 s
    native.to_csv(tmp_path / "late_events.tsv", sep="\t", index=False)
    with pytest.raises(ValidationError, match=r"late_events\.tsv: has onsets outside the run.*"
                                              r"400\.0 s.*302\.5 s"):
        read_nifti(run, events=tmp_path / "late_events.tsv")
    lines = shared(f"{SLICE}/attributes.txt").read_text().splitlines()
    (tmp_path / "short_attributes.txt").write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(ValidationError, match=r"short_attributes\.txt: has 100 label lines; "
                                              r"expected one per volume .*\(1452\)"):
        read_nifti(shared(f"{SLICE}/bold.nii.gz"), events=tmp_path / "short_attributes.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late_events.tsv",
                                                          "short_attributes.txt"]


def test_registered_extensions():
    fmts = nd.io.supported_formats()
    row = fmts[fmts["format"] == "NIfTI"].iloc[0]
    assert row["extensions"] == ".nii .nii.gz"
    assert nd.io.find_reader("x.nii.gz").name == "NIfTI"


def test_docs_examples_run(shared, tmp_path, monkeypatch, capsys):
    """Every python block of docs/loaders_fmri_nwb.md runs (in order, one namespace)."""
    import re
    import tempfile
    from pathlib import Path

    from tests.conftest import SHARED_DATA

    shared(f"{SLICE}/bold.nii.gz")  # skips (or fails in CI) without the real files
    doc = Path(__file__).resolve().parents[2] / "docs" / "loaders_fmri_nwb.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) == 4
    monkeypatch.setenv("NEUROLOOM_SHARED_DATA", str(SHARED_DATA))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the NWB example's temp folder
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
    out = capsys.readouterr().out
    assert "(1452, 530) 0.4" in out and "(121, 129)" in out
    assert "['position_x', 'position_y']" in out
