"""The own ``.h5`` format under attack and damage: files that point outside themselves,
FIFOs, flipped bytes, truncation, replacement while open.  Every file is crafted by the
test itself (synthetic data; no ../shared)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.errors import FormatError, MissingFileError, NeurodataError
from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _rec(seed: int = 0, n: int = 3000, n_ch: int = 4) -> nd.Recording:
    data = np.random.default_rng(seed).standard_normal((n, n_ch)).astype(np.float32)
    return nd.Recording([nd.TimeSeries(data, rate=100.0, modality="eeg")],
                        events=nd.Events(onset=[0.5, 1.0], label=["a", "b"]),
                        subject={"id": f"s{seed}"})


@pytest.fixture
def good(tmp_path):
    return _rec().save(tmp_path / "good.h5")


def _secret(tmp_path: Path) -> Path:
    p = tmp_path / "secret.bin"
    p.write_bytes(b"TOP-SECRET" * 5000)
    return p


def _graft(good: Path, out: Path, edit) -> Path:
    """Copy ``good`` and apply ``edit(h5py.File)`` in place (an attacker's tool)."""
    out.write_bytes(good.read_bytes())
    with h5py.File(out, "r+") as f:
        edit(f)
    return out


def _assert_refused(path: Path, fragment: str) -> None:
    with pytest.raises(FormatError) as err:
        nd.open(path)
    assert fragment in str(err.value) and str(path) in str(err.value)
    report = nd.validate(path)
    assert not report.ok and any(fragment in e for e in report.errors)
    assert main(["validate", str(path)]) == 1


def test_external_link_is_refused(tmp_path, good):
    secret = _secret(tmp_path)
    with h5py.File(tmp_path / "other.h5", "w") as g:
        g["data"] = np.frombuffer(secret.read_bytes()[:4000], np.float32).reshape(-1, 4)

    def edit(f):
        del f["timeseries/eeg/data"]
        f["timeseries/eeg/data"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")

    _assert_refused(_graft(good, tmp_path / "ext.h5", edit), "external link")


def test_soft_links_that_leave_the_file_are_refused(tmp_path, good):
    def through_external(f):
        f["elsewhere"] = h5py.ExternalLink("/etc/hostname", "/x")
        f["timeseries/alias"] = h5py.SoftLink("/elsewhere/data")

    _assert_refused(_graft(good, tmp_path / "soft.h5", through_external), "soft link")

    def dangling(f):
        f["subject_alias"] = h5py.SoftLink("/no/such/group")

    _assert_refused(_graft(good, tmp_path / "dangle.h5", dangling), "does not exist")

    def inside(f):  # a soft link that stays inside the file is harmless
        f["subject_alias"] = h5py.SoftLink("/subject")

    with nd.open(_graft(good, tmp_path / "inside.h5", inside)) as rec:
        assert rec.subject["id"] == "s0"


def test_virtual_dataset_is_refused(tmp_path, good):
    secret = _secret(tmp_path)
    with h5py.File(tmp_path / "src.h5", "w") as g:
        g["x"] = np.frombuffer(secret.read_bytes()[:48000], np.float32).reshape(3000, 4)

    def edit(f):
        layout = h5py.VirtualLayout(shape=(3000, 4), dtype="f4")
        layout[:] = h5py.VirtualSource(str(tmp_path / "src.h5"), "x", shape=(3000, 4))
        del f["timeseries/eeg/data"]
        f["timeseries/eeg"].create_virtual_dataset("data", layout)

    _assert_refused(_graft(good, tmp_path / "vds.h5", edit), "virtual dataset")


def test_external_raw_storage_is_refused(tmp_path, good):
    secret = _secret(tmp_path)

    def edit(f):
        del f["timeseries/eeg/data"]
        f["timeseries/eeg"].create_dataset("data", shape=(2500, 4), dtype="<f4",
                                           external=[(str(secret), 0, 40000)])

    path = _graft(good, tmp_path / "raw.h5", edit)
    _assert_refused(path, "external raw storage")


def test_unknown_filter_is_refused(tmp_path, good):
    def edit(f):
        del f["events/label"]
        # 32004 is LZ4: h5py has no built-in codec, HDF5 would search for a plug-in.
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((2,))
        dcpl.set_filter(32004, h5py.h5z.FLAG_OPTIONAL)
        space = h5py.h5s.create_simple((2,))
        h5py.h5d.create(f["events"].id, b"label", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)

    _assert_refused(_graft(good, tmp_path / "filt.h5", edit), "filter id 32004")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_devices_fail_fast(tmp_path):
    """nd.open / nd.validate / `neuroloom info` / `validate` on a FIFO must not block."""
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    source_fifo = tmp_path / "pipe.edf"  # a source-format name: nd.load must not open it
    os.mkfifo(source_fifo)
    # One child runs every call (a blocked open would hang it; the timeout catches that
    # while leaving room for a heavily loaded machine).
    calls = [["validate", str(fifo)], ["info", str(fifo)], ["validate", "/dev/zero"],
             ["info", str(source_fifo)]]
    code = ("import json, sys; from pipelines.cli import main; "
            f"print(json.dumps([main(a) for a in {calls!r}]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=240, cwd=ROOT)
    assert res.stdout.strip().splitlines()[-1] == "[1, 1, 1, 1]", res.stderr
    assert res.stderr.count("not a regular file") == 4, res.stderr
    with pytest.raises(FormatError, match="FIFO"):
        nd.validate(fifo)
    with pytest.raises(MissingFileError):
        nd.open(tmp_path / "absent.h5")


def _data_offset(path: Path) -> int:
    with h5py.File(path, "r") as f:
        ds = f["timeseries/eeg/data"]
        return ds.id.get_chunk_info(0).byte_offset if ds.chunks else ds.id.get_offset()


def test_flipped_data_byte_is_found_by_validate_not_by_fast(tmp_path, good):
    assert nd.validate(good).ok and not nd.validate(good).warnings
    raw = bytearray(good.read_bytes())
    raw[_data_offset(good) + 123] ^= 0x01
    bad = tmp_path / "flip.h5"
    bad.write_bytes(bytes(raw))
    report = nd.validate(bad)
    assert not report.ok
    assert any("/timeseries/eeg/data" in e and "checksum" in e for e in report.errors)
    assert nd.validate(bad, fast=True).ok
    assert main(["validate", str(bad)]) == 1
    assert main(["validate", "--fast", str(bad)]) == 0


def test_tampered_attribute_is_found(tmp_path, good):
    bad = _graft(good, tmp_path / "attr.h5", lambda f: f["subject"].attrs.__setitem__("id",
                                                                                        "s9"))
    report = nd.validate(bad)
    assert any("attributes (metadata) do not match" in e for e in report.errors)


def test_file_without_checksums_validates_with_a_warning(tmp_path, good):
    def strip(f):
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for n in names:
            del f[n].attrs["checksum"]
        del f.attrs["attrs_checksum"]

    old = _graft(good, tmp_path / "old.h5", strip)
    report = nd.validate(old)
    assert report.ok and any("no checksums" in w for w in report.warnings)


def test_every_byte_flip_and_truncation_of_an_own_file_is_a_project_error(tmp_path):
    """A sweep over the whole (small) file: each mutant either opens and validates or
    is rejected with a NeurodataError, and validate finds every flip that changes data."""
    src = _rec(n=200, n_ch=2).save(tmp_path / "small.h5")
    raw = src.read_bytes()
    with nd.open(src) as rec:
        truth = rec.timeseries["eeg"].slice_samples(0, 200)
    rng = np.random.default_rng(0)
    cuts = sorted({0, 1, 8, 512, 1024, len(raw) // 2, len(raw) - 1, *rng.integers(
        0, len(raw), 10).tolist()})
    flips = sorted(set(rng.integers(0, len(raw), 60).tolist()))
    mutants = [raw[:c] for c in cuts]
    mutants += [raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:] for i in flips]
    undetected = 0
    for k, blob in enumerate(mutants):
        p = tmp_path / f"m{k}.h5"
        p.write_bytes(blob)
        try:
            report = nd.validate(p)
            with nd.open(p) as rec:
                x = rec.timeseries["eeg"].slice_samples(0, 200) if "eeg" in rec.timeseries \
                    else None
        except NeurodataError:
            continue
        if report.ok and x is not None and not np.array_equal(x, truth):
            undetected += 1
    assert undetected == 0


def test_reader_keeps_old_data_when_the_file_is_replaced_while_open(tmp_path):
    """Rename semantics: an open recording keeps reading the file it opened (its inode),
    the next open sees the new one."""
    path = tmp_path / "r.h5"
    first = _rec(1).save(path)
    with nd.open(first) as rec:
        before = rec.timeseries["eeg"].slice_samples(0, 100)
        _rec(2).save(path, overwrite=True)
        after_replace = rec.timeseries["eeg"].slice_samples(0, 100)
        np.testing.assert_array_equal(before, after_replace)
        assert rec.subject["id"] == "s1"
    with nd.open(path) as rec:
        assert rec.subject["id"] == "s2"
        assert not np.array_equal(rec.timeseries["eeg"].slice_samples(0, 100), before)


def test_save_streams_from_a_lazy_source(tmp_path, monkeypatch):
    """Recording.save reads a lazy source block by block (never the whole signal): with
    64 KiB write blocks the largest read is one chunk (2048 rows of 32 channels)."""
    from neurodata import _h5format

    monkeypatch.setattr(_h5format, "WRITE_BLOCK_BYTES", 64 << 10)

    class Lazy:
        shape = (20_000, 32)
        dtype = np.dtype("float32")
        ndim = 2
        largest = 0

        def __getitem__(self, key):
            rows = key if isinstance(key, slice) else key[0]
            n = len(range(*rows.indices(self.shape[0])))
            Lazy.largest = max(Lazy.largest, n)
            return np.full((n, self.shape[1]), rows.start or 0, np.float32)

    ts = nd.TimeSeries(Lazy(), rate=1000.0, modality="eeg")
    path = nd.Recording([ts]).save(tmp_path / "lazy.h5")
    assert Lazy.largest == 2048
    assert nd.validate(path).ok
    with nd.open(path) as rec:
        ts = rec.timeseries["eeg"]
        assert ts.n_times == 20_000 and ts.slice_samples(4096, 4097)[0, 0] == 4096


def test_read_errors_are_ours_not_h5py(tmp_path, good):
    """Damaged structure (a required group removed, an attribute of the wrong type):
    nd.open raises our errors, never h5py's KeyError/OSError/RuntimeError."""
    edits = [lambda f: f["timeseries/eeg"].attrs.__setitem__("t0", "soon"),
             lambda f: f["timeseries/eeg"].attrs.__setitem__("extra", "{not json"),
             lambda f: f.__delitem__("events/onset"),
             lambda f: f.attrs.__setitem__("provenance", "[1, 2")]
    for k, edit in enumerate(edits):
        p = _graft(good, tmp_path / f"e{k}.h5", edit)
        with pytest.raises(NeurodataError):
            with nd.open(p) as rec:
                rec.timeseries["eeg"].slice_samples(0, 10)


def test_damaged_compressed_chunk_is_our_error_at_read_time(tmp_path):
    """h5py decompresses only when a window is read: the OSError it raises then becomes
    a FormatError naming the file and dataset (and validate lists it)."""
    path = _rec(n=20_000, n_ch=8).save(tmp_path / "gz.h5", compression="gzip")
    with h5py.File(path, "r") as f:
        info = f["timeseries/eeg/data"].id.get_chunk_info(1)
    raw = bytearray(path.read_bytes())
    for k in range(0, info.size, 40):
        raw[info.byte_offset + k] ^= 0xFF
    bad = tmp_path / "gz_bad.h5"
    bad.write_bytes(bytes(raw))
    with nd.open(bad) as rec:
        with pytest.raises(FormatError, match="/timeseries/eeg/data: stored data cannot be"):
            rec.timeseries["eeg"].slice_samples(0, 20_000)
    assert any("cannot be read" in e for e in nd.validate(bad).errors)


def test_text_with_nul_characters_is_a_validation_error_not_an_h5py_crash(tmp_path):
    """A damaged source header can put NUL bytes in channel names or metadata; HDF5
    strings cannot hold them: the writer refuses with our error and leaves no file."""
    data = np.zeros((10, 2), np.float32)
    ts = nd.TimeSeries(data, rate=10.0, modality="eeg", channels=["C3", "C\x004"])
    with pytest.raises(nd.ValidationError, match="NUL"):
        nd.Recording([ts]).save(tmp_path / "nul.h5")
    ok = nd.TimeSeries(data, rate=10.0, modality="eeg")
    with pytest.raises(nd.ValidationError, match="NUL"):
        nd.Recording([ok], subject={"id": "s\x001"}).save(tmp_path / "nul.h5")
    assert list(tmp_path.iterdir()) == []


def test_huge_declared_sizes_are_refused_before_allocation(tmp_path, good):
    """A dataspace declaring 800 GB (a flipped byte, or forged) is refused by nd.open and
    listed by validate, without allocating or scanning it."""
    def forge(f):
        del f["events/onset"]
        f["events"].create_dataset("onset", shape=(10**11,), dtype="f8", chunks=(4096,))
        del f["timeseries/eeg/data"]
        f["timeseries/eeg"].create_dataset("data", shape=(10**10, 4), dtype="f4",
                                           chunks=(4096, 4))

    bad = _graft(good, tmp_path / "huge.h5", forge)
    with pytest.raises(FormatError, match="declares shape"):
        nd.open(bad)
    report = nd.validate(bad)
    assert any("/timeseries/eeg/data: declares shape" in e for e in report.errors)


def test_saving_an_open_recording_over_its_own_file(tmp_path):
    """Lazy data are streamed from the open (old) inode into the new file, which then
    replaces it: nothing is lost or mixed (synthetic)."""
    path = _rec(3, n=50_000, n_ch=8).save(tmp_path / "r.h5")
    with nd.open(path) as rec:
        truth = rec.timeseries["eeg"].slice_samples(0, 50_000)
        rec.subject["id"] = "renamed"
        rec.save(path, overwrite=True)
    assert nd.validate(path).ok
    with nd.open(path) as rec:
        assert rec.subject["id"] == "renamed"
        np.testing.assert_array_equal(rec.timeseries["eeg"].slice_samples(0, 50_000), truth)
