"""The bundled sample registry (real data shipped in the package)."""

from __future__ import annotations

import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import MissingFileError
from neurodata.samples import SAMPLES


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_exists_with_registered_sha256(name):
    path = nd.sample_path(name, check=True)
    assert path.exists()


def test_unknown_sample_lists_names():
    with pytest.raises(MissingFileError, match="no bundled sample named 'nope'.*eegmmidb_s001r04"):
        nd.sample_path("nope")


def test_samples_table_has_licenses():
    table = nd.list_samples()
    assert set(table["name"]) == set(SAMPLES)
    assert table["license"].str.len().min() > 5


def test_seeg_sample_gets_types_and_mni_positions():
    rec = nd.load_sample("seeg_epilepsy")
    seeg = rec.timeseries["seeg"].channels
    assert len(seeg) == 88 and set(seeg["coord_frame"]) == {"mni_tal"}
    assert np.all(np.isfinite(seeg[["x", "y", "z"]].to_numpy()))
    assert np.abs(seeg[["x", "y", "z"]].to_numpy()).max() < 0.2  # metres, inside a head
    assert rec.timeseries["aux"].channels["type"].tolist() == ["ecg", "ecg"]
    assert rec.subject["species"] == "Homo sapiens"


def test_eeg_sample_slices():
    rec = nd.load_sample("eegmmidb_s001r04")
    x = rec.timeseries["eeg"].slice(10.0, 12.0)
    assert x.shape == (320, 64) and x.dtype == np.float32
    assert 5e-6 < np.median(np.abs(x)) < 1e-4  # ~32 µV median |x| per the manifest
