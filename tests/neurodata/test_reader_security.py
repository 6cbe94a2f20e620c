"""Readers under attack and clumsy input: one crafted file per fault class (issue 16).

Every file here is synthetic and built by the test itself (except where a bundled
sample is patched); nothing in ../shared/data is needed.
"""

from __future__ import annotations

import fractions
import os
import pickle
import shutil
import signal
import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

import neurodata as nd
from neurodata.errors import FormatError
from neurodata.io import read_spike_mat, read_suite2p
from neurodata.io._isolate import preflight


# ----------------------------------------------------------------------------- helpers
def _plane(tmp: Path, ops: object = None, stat: object = None) -> Path:
    plane = tmp / "plane0"
    plane.mkdir()
    rng = np.random.default_rng(0)
    np.save(plane / "F.npy", rng.random((3, 50)).astype(np.float32))
    np.save(plane / "iscell.npy", np.array([[1, 0.9], [0, 0.2], [1, 0.8]]))
    np.save(plane / "ops.npy", np.array(ops if ops is not None else {"fs": 30.0}),
            allow_pickle=True)
    if stat is not None:
        np.save(plane / "stat.npy", np.array(stat, dtype=object), allow_pickle=True)
    return plane


class _Payload:
    """Unpickling this would touch a marker file: code running from data."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _mat73(path: Path) -> h5py.File:
    """An HDF5 file with a MATLAB 7.3 header in its 512-byte user block."""
    f = h5py.File(path, "w", userblock_size=512)
    f.close()
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    with open(path, "r+b") as fh:
        fh.write(head.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")
    return h5py.File(path, "a")


# ---------------------------------------------------------------- 1. no code from data
@pytest.mark.parametrize("which", ["ops", "stat"])
def test_suite2p_pickle_with_code_is_refused_and_nothing_runs(tmp_path, which):
    marker = tmp_path / "pwned"
    payload = {"fs": 30.0, "x": _Payload(marker)}
    plane = _plane(tmp_path, ops=payload if which == "ops" else None,
                   stat=[{"med": [1, 2]}, {"med": [3, 4]}, _Payload(marker)]
                   if which == "stat" else None)
    with pytest.raises(FormatError, match=rf"{which}\.npy: holds a pickled pathlib\..*"
                                          r"refused"):
        nd.load(plane)
    assert not marker.exists()


def test_suite2p_unknown_class_is_refused_with_no_opt_in(tmp_path):
    """A class outside the allow-list is refused, and no reader option (which a config
    could set) turns the full unpickler back on."""
    plane = _plane(tmp_path, ops={"fs": 30.0, "ratio": fractions.Fraction(1, 3)})
    with pytest.raises(FormatError, match="fractions.Fraction"):
        read_suite2p(plane)
    with pytest.raises(TypeError, match="trust"):
        read_suite2p(plane, trust=True)
    with pytest.raises(TypeError, match="trust"):
        nd.load(plane, trust=True)


def test_suite2p_plain_pickles_load_without_trust(tmp_path):
    import datetime

    plane = _plane(tmp_path, ops={"fs": 7.5, "date": datetime.datetime(2024, 1, 1),
                                  "arr": np.arange(3), "nested": [{"a": (1, 2.0)}]},
                   stat=[{"med": np.array([4, 5]), "iplane": 0}] * 3)
    rec = read_suite2p(plane)
    ch = rec.timeseries["calcium"].channels
    assert rec.timeseries["calcium"].rate == 7.5 and ch["x"].tolist() == [5.0, 5.0]


@pytest.mark.parametrize("fs", [1e308, float("nan"), -1.0, 0.0, "fast"])
def test_suite2p_implausible_frame_rate(tmp_path, fs):
    plane = _plane(tmp_path, ops={"fs": fs})
    with pytest.raises(FormatError, match=r"ops\.npy: ops\['fs'\]"):
        nd.load(plane)


# ---------------------------------------------------------------- 2. no reading outside
def _nwb(path: Path) -> Path:
    from .test_nwb import build_ophys_behavior

    build_ophys_behavior(path)
    return path


@pytest.mark.parametrize("kind", ["external_link", "virtual", "external_storage"])
def test_nwb_that_reads_another_file_is_refused(tmp_path, kind):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(16, dtype=np.float32).tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g["x"] = np.arange(16, dtype=np.float32)
    path = _nwb(tmp_path / "s.nwb")
    with h5py.File(path, "a") as f:
        if kind == "external_link":
            f["acquisition/stolen"] = h5py.ExternalLink(str(other), "/x")
        elif kind == "virtual":
            layout = h5py.VirtualLayout(shape=(16,), dtype="f4")
            layout[:] = h5py.VirtualSource(str(other), "x", shape=(16,))
            f.create_virtual_dataset("scratch_vds", layout)
        else:
            f.create_dataset("scratch_ext", shape=(16,), dtype="f4",
                             external=[(str(secret), 0, 64)])
    with pytest.raises(FormatError, match=r"s\.nwb: would read outside the file.*"
                                          "allow_external=True"):
        nd.load(path)


def test_mat73_spike_times_from_external_storage_are_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.linspace(0, 1, 8).tobytes())
    path = tmp_path / "spk.mat"
    with _mat73(path) as f:
        f.create_dataset("times", shape=(8,), dtype="f8", external=[(str(secret), 0, 64)])
        f["unit_ids"] = np.zeros(8)
    with pytest.raises(FormatError, match=r"spk\.mat: MAT v7\.3.*external file"):
        read_spike_mat(path)
    rec = read_spike_mat(path, allow_external=True)  # explicit opt-in: the user trusts it
    assert rec.spikes["units"].n_spikes == 8


# ---------------------------------------------------------------- 3. project errors
def test_crash_in_parser_child_is_a_format_error(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"x")
    with pytest.raises(FormatError, match=r"x\.bin: the demo parser crashed \(SIGSEGV\)"):
        preflight(target, "demo", lambda p: os.kill(os.getpid(), signal.SIGSEGV))


def test_mat_reader_whose_parser_segfaults_reports_the_file(tmp_path, monkeypatch):
    path = tmp_path / "crash.mat"
    scipy.io.savemat(path, {"times": [0.1, 0.2], "unit_ids": [0, 1]})

    def segfault(*a, **k):
        os.kill(os.getpid(), signal.SIGSEGV)

    monkeypatch.setattr(scipy.io, "loadmat", segfault)
    with pytest.raises(FormatError, match=r"crash\.mat: the MATLAB \(scipy\.io\) parser "
                                          r"crashed \(SIGSEGV\)"):
        read_spike_mat(path)


def test_fif_reader_whose_parser_segfaults_reports_the_file(tmp_path, monkeypatch):
    import mne

    src = nd.sample_path("mne_sample_audvis_sss")
    path = tmp_path / "crash_raw.fif"
    shutil.copy(src, path)
    real = mne.io.read_raw_fif
    parent = os.getpid()

    def read(p, **kw):
        if os.getpid() != parent:  # only the pre-parse child crashes
            os.kill(os.getpid(), signal.SIGBUS)
        return real(p, **kw)

    monkeypatch.setattr(mne.io, "read_raw_fif", read)
    with pytest.raises(FormatError, match=r"crash_raw\.fif: the FIF parser crashed \(SIGBUS\)"):
        nd.load(path)


def test_npz_declaring_a_huge_member_is_refused_before_allocation(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        buf = np.lib.format
        from io import BytesIO

        b = BytesIO()
        buf.write_array(b, np.zeros(4, dtype=np.float64))
        zf.writestr("times.npy", b.getvalue())
        zf.writestr("unit_ids.npy", b.getvalue())
    raw = bytearray(path.read_bytes())
    # patch the declared uncompressed size of the first member to 4 GiB (local header
    # offset 22, central directory entry offset 24)
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, local + 22, 0xFFFFFFF0)
    struct.pack_into("<I", raw, central + 24, 0xFFFFFFF0)
    path.write_bytes(bytes(raw))
    tracemalloc.start()
    with pytest.raises(FormatError, match=r"bomb\.npz: member 'times\.npy' expands to 4096 MiB"):
        nd.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


def _patched_edf(tmp: Path, offset_of, value: bytes) -> Path:
    src = nd.sample_path("eegmmidb_s001r04")
    raw = bytearray(src.read_bytes())
    n_sig = int(raw[252:256].decode().strip())
    off = offset_of(n_sig)
    raw[off:off + len(value)] = value
    out = tmp / "patched.edf"
    out.write_bytes(bytes(raw))
    return out


def test_edf_record_duration_of_a_nanosecond_is_an_error(tmp_path):
    path = _patched_edf(tmp_path, lambda n: 244, b"1e-9    ")
    with pytest.raises(FormatError, match=r"patched\.edf: the header implies 1\.6e\+11 Hz"):
        nd.load(path)


def test_edf_nan_physical_range_is_an_error(tmp_path):
    path = _patched_edf(tmp_path, lambda n: 256 + 104 * n, b"nan     ")
    with pytest.raises(FormatError, match=r"patched\.edf: signal 1: physical/digital range"):
        nd.load(path)


def test_truncated_nifti_gz_is_a_format_error(tmp_path):
    import nibabel as nib

    data = np.random.default_rng(0).random((6, 6, 4, 30)).astype(np.float32)
    img = nib.Nifti1Image(data, np.eye(4))
    nib.save(img, tmp_path / "full.nii.gz")
    raw = (tmp_path / "full.nii.gz").read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError, match=r"cut\.nii\.gz"):
        nd.load(tmp_path / "cut.nii.gz", tr=2.0)
    garbled = bytearray(raw)
    garbled[30:60] = b"\xff" * 30  # an invalid deflate block: zlib.error inside nibabel
    (tmp_path / "garbled.nii.gz").write_bytes(bytes(garbled))
    with pytest.raises(FormatError, match=r"garbled\.nii\.gz.*decompress"):
        nd.load(tmp_path / "garbled.nii.gz", tr=2.0)


def test_unsorted_and_negative_spike_times_are_warned(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, times=[0.5, -0.2, 0.1], unit_ids=[0, 1, 0])
    with pytest.warns(UserWarning) as record:
        rec = nd.load(path)
    text = " ".join(str(w.message) for w in record)
    assert "not sorted" in text and "negative" in text
    assert rec.spikes["units"].times.tolist() == [-0.2, 0.1, 0.5]


def test_unknown_reader_option_is_a_type_error_not_a_format_error(tmp_path):
    plane = _plane(tmp_path)
    with pytest.raises(TypeError, match="dfff"):
        nd.load(plane, dfff=True)


def test_pickle_in_npy_for_the_array_reader_is_refused(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FormatError, match=r"obj\.npy.*Python objects"):
        nd.load(path, format="array", rate=1.0)
    assert pickle  # imported for the payload class above


def test_corrupt_nwb_chunk_read_later_is_a_format_error_naming_the_file(tmp_path):
    """A lazy block whose compressed chunk is damaged fails, when read, with our error."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(session_description="x", identifier="x",
                  session_start_time=__import__("datetime").datetime(
                      2024, 1, 1, tzinfo=__import__("datetime").UTC))
    data = np.random.default_rng(0).standard_normal((4000, 8)).astype(np.float32)
    nwb.add_acquisition(TimeSeries(name="sig", unit="V", rate=100.0,
                                   data=H5DataIO(data, compression="gzip", chunks=(500, 8))))
    path = tmp_path / "chunked.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with h5py.File(path, "r") as f:
        info = f["acquisition/sig/data"].id.get_chunk_info(3)
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset:info.byte_offset + info.size] = b"\xff" * info.size
    path.write_bytes(bytes(raw))
    ts = nd.load(path).timeseries["sig"]
    np.testing.assert_array_equal(ts.slice_samples(0, 100), data[:100])  # intact chunk
    with pytest.raises(FormatError, match=r"chunked\.nwb: could not read samples"):
        ts.slice_samples(1500, 2000)


@pytest.mark.parametrize("suffix", [".set", ".mat"])
def test_hdf5_eeglab_or_fieldtrip_with_an_external_link_is_refused(tmp_path, suffix):
    """MATLAB v7.3 EEGLAB/FieldTrip files are HDF5: an external link is refused."""
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as g:
        g.create_group("data")["trial"] = np.zeros(3)
    path = tmp_path / f"rec{suffix}"
    with _mat73(path) as f:
        f["EEG"] = h5py.ExternalLink(str(other), "/data")
        f["data"] = h5py.ExternalLink(str(other), "/data")
    reader = "EEGLAB" if suffix == ".set" else "FieldTrip"
    with pytest.raises(FormatError, match=rf"rec\{suffix}: .*would read outside itself"):
        nd.load(path, format=reader)


def test_nifti_header_declaring_more_data_than_the_file_holds(tmp_path):
    """Synthetic: a header with huge dims is refused before allocation (.nii and .nii.gz)."""
    import nibabel as nib

    img = nib.Nifti1Image(np.zeros((4, 4, 4, 5), np.float32), np.eye(4))
    nib.save(img, tmp_path / "small.nii")
    raw = bytearray((tmp_path / "small.nii").read_bytes())
    struct.pack_into("<8h", raw, 40, 4, 4000, 4000, 400, 30000, 1, 1, 1)  # dim[0..7]
    (tmp_path / "huge.nii").write_bytes(bytes(raw))
    with pytest.raises(FormatError, match=r"huge\.nii: truncated image: the header declares"):
        nd.load(tmp_path / "huge.nii", tr=2.0)
    import gzip

    (tmp_path / "huge.nii.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(FormatError, match=r"huge\.nii\.gz: the header declares .* MiB"):
        nd.load(tmp_path / "huge.nii.gz", tr=2.0)
