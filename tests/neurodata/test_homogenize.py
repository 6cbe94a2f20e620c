"""Homogenization on real recordings (EEGMMIDB EDF at 160 Hz, BrainVision at 1 kHz) and on
a synthetic irregular series with known values."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from scipy import signal

import neurodata as nd
from neurodata.errors import ValidationError
from neurodata.homogenize import homogenize
from neurodata.provenance import sha256_file
from neurodata.vocabularies import EEG_10_10, normalize_eeg_name


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from tests.conftest import shared_path

    folder = tmp_path_factory.mktemp("hom")
    edf = nd.load(shared_path("eeg_meg/eegmmidb/S001R04.edf")).save(folder / "edf.h5")
    bv = nd.load(shared_path("eeg_meg/brainvision/test.vhdr")).save(folder / "bv.h5")
    return edf, bv


def test_names_are_normalised():
    assert [normalize_eeg_name(n) for n in ["Fc5.", "Cz..", "FP1", "EEG T3-REF", "HL"]] == \
        ["FC5", "Cz", "Fp1", "T7", None]


def test_common_rate_vocabulary_and_mask(pair, shared):
    out = homogenize(list(pair), block="eeg", rate=160.0, channels="10-10")
    edf, bv = (r.timeseries["eeg"] for r in out)
    assert edf.ch_names == bv.ch_names == list(EEG_10_10)
    assert edf.rate == bv.rate == 160.0
    assert edf.channels["present"].sum() == 64 and bv.channels["present"].sum() == 26
    # BrainVision 1000 Hz → 160 Hz is the polyphase filter with up=4, down=25
    raw = mne.io.read_raw_brainvision(shared("eeg_meg/brainvision/test.vhdr"), preload=True,
                                      verbose="error")
    fp1 = raw.get_data(picks=["FP1"])[0].astype(np.float32).astype(np.float64)
    expected = signal.resample_poly(fp1, 4, 25)
    got = bv.slice_samples(0, bv.n_times, channels=["Fp1"])[:, 0]
    assert bv.n_times == int(np.ceil(7900 * 4 / 25)) == len(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)
    missing = bv.slice_samples(0, 10, channels=["Iz"])
    assert np.isnan(missing).all()
    # the EDF was already at 160 Hz: values unchanged, renamed
    raw_edf = mne.io.read_raw_edf(shared("eeg_meg/eegmmidb/S001R04.edf"), preload=True,
                                  verbose="error")
    np.testing.assert_array_equal(edf.slice_samples(0, 100, channels=["FC5"])[:, 0],
                                  raw_edf.get_data(picks=["Fc5."])[0, :100].astype(np.float32))
    assert edf.channels.set_index("name").loc["FC5", "original_name"] == "Fc5."


@pytest.mark.parametrize("method", ["zscore", "robust"])
def test_normalisation(pair, method):
    (rec,) = homogenize([pair[0]], block="eeg", channels="10-20", normalize=method)
    x = rec.timeseries["eeg"].slice_samples(0, rec.timeseries["eeg"].n_times)
    assert x.shape == (20000, 19)
    if method == "zscore":
        np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)
    else:
        np.testing.assert_allclose(np.median(x, axis=0), 0, atol=1e-5)
        q75, q25 = np.percentile(x, [75, 25], axis=0)
        np.testing.assert_allclose((q75 - q25) / 1.349, 1, atol=1e-3)


def test_provenance_names_parent_and_output_validates(pair, tmp_path):
    (rec,) = homogenize([pair[1]], block="eeg", rate=250.0, channels="10-20",
                        normalize="zscore")
    assert rec.provenance["parents"] == [{"path": str(pair[1]), "sha256": sha256_file(pair[1])}]
    names = [s["name"] for s in rec.provenance["steps"]]
    assert names == ["homogenize", "resample", "channel_vocabulary", "normalize"]
    out = rec.save(tmp_path / "h.h5")
    assert nd.validate(out).ok
    with nd.open(out) as back:
        assert back.timeseries["eeg"].channels["present"].dtype == bool
        assert back.events == rec.events


def test_irregular_series_interpolated_to_grid():
    """Synthetic: a linear ramp sampled irregularly must be exact after interpolation."""
    t = np.cumsum(np.r_[0.0, np.random.default_rng(0).uniform(0.4, 0.8, 199)])
    x = np.column_stack([2.0 * t, -t]).astype(np.float32)
    ts = nd.TimeSeries(x, timestamps=t, modality="calcium", name="calcium",
                       channels=nd.make_channels(["AVAL", "AVAR"], types="neuron"))
    (rec,) = homogenize([nd.Recording([ts])], rate=3.0)
    out = rec.timeseries["calcium"]
    assert out.rate == 3.0 and out.t0 == 0.0
    np.testing.assert_allclose(out.slice_samples(0, out.n_times)[:, 0], 2.0 * out.times,
                               rtol=1e-5)
    assert rec.provenance["steps"][1]["parameters"]["method"] == "linear interpolation"


def test_bad_arguments(pair):
    with pytest.raises(ValidationError, match="different or irregular rates"):
        homogenize(list(pair), block="eeg")
    with pytest.raises(ValueError, match="unknown vocabulary 'klingon'"):
        homogenize([pair[0]], block="eeg", channels="klingon")
    with pytest.raises(ValidationError, match="no time series 'meg'"):
        homogenize([pair[0]], block="meg")
    with pytest.raises(ValidationError, match="at least one recording"):
        homogenize([])
