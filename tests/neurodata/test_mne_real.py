"""Real EDF/FIF recordings from ../shared/data: our reading equals MNE's, and survives
save → open → to_mne.  (Real data; MNE is the reference reader.)"""

from __future__ import annotations

import mne
import numpy as np
import pytest

import neurodata as nd
from neurodata.mne_bridge import MNE_TYPE_MAP
from neurodata.provenance import sha256_file

REAL_FILES = {
    "eeg_meg/eegmmidb/S001R04.edf": {"T0": 15, "T1": 8, "T2": 7},
    "eeg_meg/eegmmidb/S001R08.edf": {"T0": 15, "T1": 8, "T2": 7},
    "eeg_meg/eegmmidb/S001R12.edf": {"T0": 15, "T1": 7, "T2": 8},
    "ieeg/sample_seeg.edf": {"test annotation": 2, "test mark": 1},
    "eeg_meg/fif/sample_audvis_trunc_raw_sss.fif": {},
}


def _mne_read(path):
    if path.suffix == ".fif":
        return mne.io.read_raw_fif(path, preload=True, verbose="error")
    return mne.io.read_raw_edf(path, preload=True, verbose="error")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Convert each real file once per module: {relpath: (h5 path, MNE raw)}."""
    cache = {}

    def get(shared, rel):
        if rel not in cache:
            src = shared(rel)
            out = tmp_path_factory.mktemp("real") / (src.stem + ".h5")
            nd.load(src).save(out)
            cache[rel] = (src, out, _mne_read(src))
        return cache[rel]

    return get


@pytest.mark.parametrize("rel", list(REAL_FILES))
def test_values_names_types_units_rate_equal_mne(shared, converted, rel):
    src, out, raw = converted(shared, rel)
    mne_types = raw.get_channel_types()
    seen = []
    with nd.open(out) as rec:
        assert nd.validate(out).ok
        for ts in rec.timeseries.values():
            picks = [raw.ch_names.index(n) for n in ts.ch_names]
            seen += picks
            expected = raw.get_data(picks=picks).T
            got = ts.slice(0.0, ts.t_end)
            # float32 storage of MNE's float64 SI values: exact cast, tiny relative error
            np.testing.assert_array_equal(got, expected.astype(np.float32))
            np.testing.assert_allclose(got, expected, rtol=1e-6,
                                       atol=1e-12 * np.abs(expected).max())
            assert ts.rate == raw.info["sfreq"]
            for i, row in zip(picks, ts.channels.itertuples(), strict=True):
                assert row.type == MNE_TYPE_MAP.get(mne_types[i], ("misc",))[0]
                assert row.bad == (raw.ch_names[i] in raw.info["bads"])
                # the unit MNE reports for the channel, spelled as SI
                fiff_unit = int(raw.info["chs"][i]["unit"])
                assert row.unit == {107: "V", 112: "T", 201: "T/m"}.get(fiff_unit, "a.u.")
                if row.type in ("eeg", "seeg", "eog", "ecg"):
                    assert row.unit == "V"
            # a 2-s window from the lazy file equals MNE's read of that window
            if ts.duration > 2.5:
                start = int(round(1.0 * ts.rate))
                win = raw.get_data(picks=picks, start=start, stop=start + int(2 * ts.rate)).T
                np.testing.assert_array_equal(ts.slice(1.0, 3.0), win.astype(np.float32))
    assert sorted(seen) == list(range(len(raw.ch_names)))


@pytest.mark.parametrize("rel", list(REAL_FILES))
def test_annotations_become_events(shared, converted, rel):
    src, out, raw = converted(shared, rel)
    with nd.open(out) as rec:
        ev = rec.events
        assert ev.counts() == REAL_FILES[rel]
        ann = raw.annotations
        offset = raw.first_time if ann.orig_time is not None else 0.0
        np.testing.assert_allclose(ev.onset, np.sort(ann.onset - offset), atol=1e-9)
        order = np.argsort(ann.onset, kind="stable")
        assert list(ev.label) == [str(d) for d in ann.description[order]]
        if len(ann):
            mne_events, mapping = mne.events_from_annotations(raw, verbose="error")
            assert {lab: int(code) for lab, code in zip(ev.label, ev.value, strict=True)} == mapping
            np.testing.assert_array_equal(
                np.round(ev.onset * raw.info["sfreq"]).astype(int) + raw.first_samp,
                mne_events[:, 0])


@pytest.mark.parametrize("rel", list(REAL_FILES))
def test_metadata_and_provenance(shared, converted, rel):
    src, out, raw = converted(shared, rel)
    with nd.open(out) as rec:
        prov = rec.provenance
        assert prov["sources"][0]["sha256"] == sha256_file(src)
        assert prov["sources"][0]["size"] == src.stat().st_size
        assert prov["loader"] in ("neurodata.io.read_edf", "neurodata.io.read_fif")
        assert "mne" in prov["software"]
        assert rec.session["start_time"] == raw.info["meas_date"].isoformat()
        assert rec.session["id"] == src.name.split(".")[0]


def test_fif_positions_and_types(shared, converted):
    src, out, raw = converted(shared, "eeg_meg/fif/sample_audvis_trunc_raw_sss.fif")
    with nd.open(out) as rec:
        assert set(rec.timeseries) == {"meg", "eeg", "aux", "stim"}
        meg = rec.timeseries["meg"].channels
        assert (meg["type"] == "grad").sum() == 204 and (meg["type"] == "mag").sum() == 102
        eeg = rec.timeseries["eeg"].channels
        i = raw.ch_names.index(eeg.loc[0, "name"])
        np.testing.assert_allclose(eeg.loc[0, ["x", "y", "z"]].to_numpy(float),
                                   raw.info["chs"][i]["loc"][:3])
        assert set(eeg["coord_frame"]) == {"head"} and set(meg["coord_frame"]) == {"meg"}


@pytest.mark.parametrize("rel", ["eeg_meg/eegmmidb/S001R04.edf",
                                 "eeg_meg/fif/sample_audvis_trunc_raw_sss.fif"])
def test_to_mne_round_trip(shared, converted, rel):
    src, out, raw = converted(shared, rel)
    with nd.open(out) as rec:
        back = rec.to_mne()
    order = [raw.ch_names.index(n) for n in back.ch_names]
    assert sorted(order) == list(range(len(raw.ch_names)))
    assert back.info["sfreq"] == raw.info["sfreq"]
    assert back.get_channel_types() == [raw.get_channel_types()[i] for i in order]
    np.testing.assert_allclose(back.get_data(), raw.get_data()[order], rtol=1e-6,
                               atol=1e-7 * np.abs(raw.get_data()).max())
    assert back.info["bads"] == raw.info["bads"]
    assert list(back.annotations.description) == list(raw.annotations.description)
    np.testing.assert_allclose(back.annotations.onset,
                               raw.annotations.onset - (raw.first_time if
                                                        raw.annotations.orig_time else 0))
    def known(loc):  # MNE marks unknown positions with NaN or zeros
        loc = np.asarray(loc[:3], float)
        return np.all(np.isfinite(loc)) and np.any(loc)

    for ch_back, i in zip(back.info["chs"], order, strict=True):
        orig = raw.info["chs"][i]["loc"]
        assert known(ch_back["loc"]) == known(orig)
        if known(orig):
            np.testing.assert_allclose(ch_back["loc"][:3], orig[:3], atol=1e-12)


def test_seeg_contacts_typed_from_explicit_mapping(shared):
    src = shared("ieeg/sample_seeg.edf")
    rec = nd.load(src, channel_types={"L'1": "seeg", "EKG1": "ecg"})
    assert rec.timeseries["seeg"].ch_names == ["L'1"]
    assert rec.timeseries["aux"].ch_names == ["EKG1"]
    assert "L'2" in rec.timeseries["eeg"].ch_names


def test_timeseries_to_mne_single_block(shared, converted):
    src, out, raw = converted(shared, "eeg_meg/eegmmidb/S001R04.edf")
    with nd.open(out) as rec:
        back = rec.timeseries["eeg"].to_mne(events=rec.events)
    assert back.ch_names == raw.ch_names and len(back.annotations) == 30
    events, mapping = mne.events_from_annotations(back, verbose="error")
    assert mapping == {"T0": 1, "T1": 2, "T2": 3}
