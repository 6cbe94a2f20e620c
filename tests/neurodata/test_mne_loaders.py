"""EDF/BDF/FIF readers on files written for the test (synthetic, known values), and the
loader-level bad inputs.  Real-file equality with MNE is in test_mne_real.py."""

from __future__ import annotations

import edfio
import mne
import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import FormatError, MissingFileError


def _field(value, width):
    return str(value).ljust(width)[:width].encode("ascii")


def write_bdf(path, signals, rate, labels, record_s=1):
    """Minimal BDF writer (24-bit) following the BioSemi header layout."""
    n_sig, n_samp = signals.shape
    n_rec = n_samp // (rate * record_s)
    per_rec = rate * record_s
    phys_min, phys_max, dig_min, dig_max = -262144.0, 262143.0, -8388608, 8388607
    head = b"\xffBIOSEMI" + _field("X X X X", 80) + _field("Startdate X X X X", 80)
    head += _field("01.02.03", 8) + _field("04.05.06", 8) + _field(256 * (n_sig + 1), 8)
    head += _field("24BIT", 44) + _field(n_rec, 8) + _field(record_s, 8) + _field(n_sig, 4)
    for group, width in [(labels, 16), (["AgAgCl"] * n_sig, 80), (["uV"] * n_sig, 8),
                         ([phys_min] * n_sig, 8), ([phys_max] * n_sig, 8),
                         ([dig_min] * n_sig, 8), ([dig_max] * n_sig, 8), ([""] * n_sig, 80),
                         ([per_rec] * n_sig, 8), ([""] * n_sig, 32)]:
        head += b"".join(_field(v if not isinstance(v, float) else int(v), width)
                         for v in group)
    gain = (phys_max - phys_min) / (dig_max - dig_min)
    digital = np.round((signals - phys_min) / gain + dig_min).astype(np.int32)
    body = bytearray()
    for r in range(n_rec):
        for s in range(n_sig):
            chunk = digital[s, r * per_rec:(r + 1) * per_rec].astype("<i4").tobytes()
            body += b"".join(chunk[i:i + 3] for i in range(0, len(chunk), 4))
    path.write_bytes(head + bytes(body))
    return path


@pytest.fixture
def edf_path(tmp_path):
    rng = np.random.default_rng(0)
    sigs = [edfio.EdfSignal(rng.standard_normal(2560) * 20, sampling_frequency=256, label=lab,
                            physical_dimension="uV") for lab in ("C3", "C4")]
    edf = edfio.Edf(sigs, annotations=[edfio.EdfAnnotation(1.5, 0.5, "stim A"),
                                       edfio.EdfAnnotation(4.0, None, "stim B")])
    edf.write(tmp_path / "two.edf")
    return tmp_path / "two.edf"


def test_edf_values_and_annotations(edf_path):
    rec = nd.load(edf_path)
    raw = mne.io.read_raw_edf(edf_path, preload=True, verbose="error")
    np.testing.assert_array_equal(rec.timeseries["eeg"].slice(0, 10.0),
                                  raw.get_data().T.astype(np.float32))
    assert list(rec.events.label) == ["stim A", "stim B"]
    np.testing.assert_allclose(rec.events.onset, [1.5, 4.0])
    np.testing.assert_allclose(rec.events.duration, [0.5, 0.0])


def test_edf_mixed_rates_are_not_resampled(tmp_path):
    rng = np.random.default_rng(1)
    fast = rng.standard_normal((2, 2560)) * 20
    temp = np.linspace(30, 40, 10)
    edfio.Edf([
        edfio.EdfSignal(fast[0], sampling_frequency=256, label="C3", physical_dimension="uV"),
        edfio.EdfSignal(fast[1], sampling_frequency=256, label="C4", physical_dimension="uV"),
        edfio.EdfSignal(temp, sampling_frequency=1, label="Temp", physical_dimension="degC"),
    ]).write(tmp_path / "mixed.edf")
    rec = nd.load(tmp_path / "mixed.edf")
    assert set(rec.timeseries) == {"eeg", "misc_1hz"}
    slow = rec.timeseries["misc_1hz"]
    assert slow.rate == 1.0 and slow.shape == (10, 1)
    assert slow.channels.loc[0, "unit"] == "degC" and slow.channels.loc[0, "type"] == "misc"
    np.testing.assert_allclose(slow.slice(0, 10.0)[:, 0], temp, atol=0.01)
    np.testing.assert_allclose(rec.timeseries["eeg"].slice(0, 10.0), fast.T * 1e-6, atol=1e-8)
    out = rec.save(tmp_path / "mixed.h5")
    assert nd.validate(out).ok


def test_bdf_reader_matches_mne_and_known_values(tmp_path):
    rng = np.random.default_rng(2)
    signals = np.round(rng.standard_normal((3, 512 * 4)) * 50, 1)
    path = write_bdf(tmp_path / "t.bdf", signals, 512, ["Fp1", "Fp2", "Cz"])
    rec = nd.load(path)
    raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
    got = rec.timeseries["eeg"].slice(0, 4.0)
    np.testing.assert_array_equal(got, raw.get_data().T.astype(np.float32))
    np.testing.assert_allclose(got, signals.T * 1e-6, atol=0.05e-6)  # 24-bit quantisation
    assert rec.timeseries["eeg"].rate == 512.0
    assert rec.provenance["loader"] == "neurodata.io.read_bdf"


def test_truncated_edf(edf_path, tmp_path):
    data = edf_path.read_bytes()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(FormatError, match=r"cut.edf: truncated EDF: the header announces \d+ "
                                          r"records"):
        nd.load(cut)
    tiny = tmp_path / "tiny.edf"
    tiny.write_bytes(data[:100])
    with pytest.raises(FormatError, match="100 bytes; a EDF header alone has 256"):
        nd.load(tiny)


def test_garbage_with_edf_extension(tmp_path):
    bad = tmp_path / "noise.edf"
    bad.write_bytes(b"x" * 600)
    with pytest.raises(FormatError, match="noise.edf"):
        nd.load(bad)


def test_unknown_extension_lists_formats(tmp_path):
    p = tmp_path / "rec.xyz"
    p.write_text("?")
    with pytest.raises(FormatError, match=r"unsupported file type '.xyz'; supported formats: "
                                          r".*EDF \(.edf\).*FIF"):
        nd.load(p)
    with pytest.raises(MissingFileError):
        nd.load(tmp_path / "absent.edf")


def test_channel_types_typo_is_an_error(edf_path):
    with pytest.raises(FormatError, match=r"channel_types names channels not in the file: "
                                          r"\['C5'\]"):
        nd.load(edf_path, channel_types={"C5": "seeg"})


def test_fif_written_by_mne_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    info = mne.create_info(["MEG 001", "MEG 002", "EEG 001", "STI 014"], 200.0,
                           ["mag", "grad", "eeg", "stim"])
    data = rng.standard_normal((4, 1000)) * np.array([[1e-12], [1e-11], [1e-5], [0]])
    data[3, [100, 500]] = [5, 7]
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.info["bads"] = ["EEG 001"]
    raw.set_annotations(mne.Annotations([1.0], [0.5], ["BAD_blink"]))
    raw.save(tmp_path / "x_raw.fif", verbose="error")
    rec = nd.load(tmp_path / "x_raw.fif")
    assert rec.timeseries["meg"].channels["unit"].tolist() == ["T", "T/m"]
    assert rec.timeseries["eeg"].channels["bad"].tolist() == [True]
    ev = rec.events.to_dataframe()
    assert ev["label"].tolist() == ["5", "BAD_blink", "7"]  # sorted by onset
    np.testing.assert_allclose(ev["onset"], [0.5, 1.0, 2.5])
    assert ev["source"].tolist() == ["stim", "annotation", "stim"]
    np.testing.assert_array_equal(rec.timeseries["meg"].slice(0, 5.0),
                                  data[:2].T.astype(np.float32))
