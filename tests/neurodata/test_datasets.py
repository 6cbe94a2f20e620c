"""Dataset fetchers against a loopback HTTP server (127.0.0.1) - never the network.

The synthetic files served here are small byte strings written by the tests; their
checksums are computed in the test (planted ground truth).  One test serves the real
EEGMMIDB run from ../shared/data under the registry's own path and checks it against
the SHA-256 registered for PhysioNet's file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurodata.datasets import (
    DATASETS,
    DownloadError,
    RemoteDataset,
    RemoteFile,
    UnknownDatasetError,
    UnverifiedDownloadError,
    fetch,
    get_data_home,
    list_datasets,
)
from neurodata.errors import MissingFileError


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def loopback_server(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` on 127.0.0.1 (random port); yield (base URL, request paths)."""

    def handler(*args, **kwargs):
        return _Handler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(tmp_path):
    """Two small files on a loopback server and a registry entry describing them."""
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    a, b = b"alpha file\n" * 10, bytes(range(256)) * 4
    (root / "a.txt").write_bytes(a)
    (root / "sub" / "b.bin").write_bytes(b)
    reg = {"toy": RemoteDataset(
        name="toy", description="two planted files",
        files=(RemoteFile("a.txt", sha256=_sha(a), size=len(a)),
               RemoteFile("sub/b.bin", sha256=_sha(b))),
        base_url="http://unused.invalid/", license="CC0", citation="none")}
    with loopback_server(root) as (url, requests):
        yield {"root": root, "url": url, "requests": requests, "registry": reg,
               "a": a, "b": b, "home": tmp_path / "home"}


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def test_fetch_verifies_then_caches(served):
    s = served
    ds = fetch("toy", data_home=s["home"], base_url=s["url"], registry=s["registry"])
    assert ds.path == s["home"] / "toy"
    assert [p.relative_to(ds.path).as_posix() for p in ds.files] == ["a.txt", "sub/b.bin"]
    assert ds.files[0].read_bytes() == s["a"] and ds.files[1].read_bytes() == s["b"]
    assert ds.downloaded == ["a.txt", "sub/b.bin"]
    assert ds.sha256 == {"a.txt": _sha(s["a"]), "sub/b.bin": _sha(s["b"])}
    assert sorted(s["requests"]) == ["/a.txt", "/sub/b.bin"]
    # nothing but the two files (the staging folder is gone)
    assert _files_under(s["home"]) == ds.files
    again = fetch("toy", data_home=s["home"], base_url=s["url"], registry=s["registry"])
    assert again.files == ds.files and again.downloaded == []
    assert len(s["requests"]) == 2  # cached: no new request
    offline = fetch("toy", data_home=s["home"], download_if_missing=False,
                    registry=s["registry"])
    assert offline.files == ds.files


def test_file_subset_and_env_data_home(served, monkeypatch):
    s = served
    monkeypatch.setenv("NEURODATA_DATA", str(s["home"]))
    assert get_data_home() == s["home"]
    ds = fetch("toy", files="sub/*.bin", base_url=s["url"], registry=s["registry"])
    assert [p.name for p in ds.files] == ["b.bin"] and s["requests"] == ["/sub/b.bin"]
    with pytest.raises(UnknownDatasetError, match=r"no file matching 'nope\*'.*a\.txt"):
        fetch("toy", files="nope*", base_url=s["url"], registry=s["registry"])


def test_corrupted_download_leaves_nothing(served):
    s = served
    (s["root"] / "sub" / "b.bin").write_bytes(s["b"][:-1] + b"X")  # one byte changed
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        fetch("toy", data_home=s["home"], base_url=s["url"], registry=s["registry"])
    assert "b.bin" in str(info.value) and _sha(s["b"]) in str(info.value)
    # a.txt arrived intact before b.bin failed, but the call is all-or-nothing
    assert _files_under(s["home"]) == []
    assert not (s["home"] / "toy").exists()


def test_failed_move_into_place_leaves_the_cached_copy(served, monkeypatch):
    """Synthetic: a stale cached a.txt (wrong size) is replaced only by a complete file:
    when the atomic write fails (fsync error, simulated) the old bytes stay and no
    temporary file is left; the next fetch replaces it with the verified file."""
    import os

    s = served
    stale = s["home"] / "toy" / "a.txt"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old partial copy")

    def failing_fsync(fd):
        raise OSError(5, "Input/output error (simulated)")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="simulated"):
            fetch("toy", files="a.txt", data_home=s["home"], base_url=s["url"],
                  registry=s["registry"])
    assert stale.read_bytes() == b"old partial copy"
    assert _files_under(s["home"]) == [stale]  # no temporary or staged file left
    ds = fetch("toy", files="a.txt", data_home=s["home"], base_url=s["url"],
               registry=s["registry"])
    assert ds.files == [stale] and stale.read_bytes() == s["a"]


def test_http_404_is_a_clear_error(served):
    s = served
    (s["root"] / "a.txt").unlink()
    with pytest.raises(DownloadError, match=r"HTTP 404 .*a\.txt.*nothing was written"):
        fetch("toy", data_home=s["home"], base_url=s["url"], registry=s["registry"])
    assert _files_under(s["home"]) == []


def test_unknown_name_lists_datasets(tmp_path):
    with pytest.raises(UnknownDatasetError) as info:
        fetch("eegmmidb", data_home=tmp_path)
    msg = str(info.value)
    assert "no dataset named 'eegmmidb'" in msg and "did you mean ['eegmmidb_s001']" in msg
    for name in DATASETS:
        assert name in msg
    assert not any(tmp_path.iterdir())


def test_not_cached_without_download(served):
    s = served
    with pytest.raises(MissingFileError, match=r"2 file\(s\) of dataset 'toy' are not "
                                               r"downloaded.*neuroloom fetch toy"):
        fetch("toy", data_home=s["home"], download_if_missing=False, registry=s["registry"])
    assert s["requests"] == [] and not s["home"].exists()


def test_unverified_entries_need_consent(served):
    s = served
    data = s["a"]
    reg = {"raw": RemoteDataset("raw", "no checksum", (RemoteFile("a.txt"),))}
    with pytest.raises(UnverifiedDownloadError, match="known_hash=.*allow_unverified=True"):
        fetch("raw", data_home=s["home"], base_url=s["url"], registry=reg)
    assert s["requests"] == []
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch("raw", data_home=s["home"], base_url=s["url"], registry=reg,
              known_hash="0" * 64)
    assert _files_under(s["home"]) == []
    ds = fetch("raw", data_home=s["home"], base_url=s["url"], registry=reg,
               known_hash=f"sha256:{_sha(data)}")
    assert ds.files[0].read_bytes() == data
    (ds.files[0]).unlink()
    with pytest.warns(UserWarning, match="without a checksum"):
        ds = fetch("raw", data_home=s["home"], base_url=s["url"], registry=reg,
                   allow_unverified=True)
    assert ds.sha256 == {"a.txt": _sha(data)}


def test_archive_is_unpacked_once(served):
    s = served
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, payload in (("pkg/x.txt", b"x" * 5), ("pkg/deep/y.txt", b"y" * 7)):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    (s["root"] / "pkg.tar.gz").write_bytes(buf.getvalue())
    reg = {"arch": RemoteDataset("arch", "archive", (
        RemoteFile("pkg.tar.gz", sha256=_sha(buf.getvalue()), unpack=True),))}
    ds = fetch("arch", data_home=s["home"], base_url=s["url"], registry=reg)
    assert [p.relative_to(ds.path).as_posix() for p in ds.files] == [
        "pkg/deep/y.txt", "pkg/x.txt"]
    assert (ds.path / "pkg" / "x.txt").read_bytes() == b"x" * 5
    assert not (ds.path / "pkg.tar.gz").exists()  # archive removed after extraction
    again = fetch("arch", data_home=s["home"], base_url=s["url"], registry=reg)
    assert again.files == ds.files and s["requests"] == ["/pkg.tar.gz"]


def test_real_eegmmidb_run_matches_registered_sha256(shared, tmp_path):
    """PhysioNet's S001R04.edf (byte-identical copy in ../shared/data) served locally
    under the registry's path verifies against the registered SHA-256."""
    src = shared("eeg_meg/eegmmidb/S001R04.edf")
    root = tmp_path / "www" / "S001"
    root.mkdir(parents=True)
    (root / "S001R04.edf").symlink_to(src)
    with loopback_server(tmp_path / "www") as (url, requests):
        ds = fetch("eegmmidb_s001", data_home=tmp_path / "home", base_url=url,
                   files="S001/S001R04.edf")
    assert requests == ["/S001/S001R04.edf"]
    assert ds.sha256["S001/S001R04.edf"] == DATASETS["eegmmidb_s001"].files[3].sha256
    assert ds.files[0].stat().st_size == 2596896
    assert "Schalk" in ds.citation and ds.license.startswith("Open Data Commons")


def test_registry_is_complete_and_honest():
    table = list_datasets()
    for required in ("mne_sample", "eegmmidb_s001", "haxby2001_subj1",
                     "wormwideweb_2022-08-02-01", "openneuro_ds002718_sub-002",
                     "dandi_000004_asset"):
        assert required in set(table["name"])
    for ds in DATASETS.values():
        assert ds.license and ds.citation and ds.description and ds.version, ds.name
        assert ds.hash_source, ds.name
        for f in ds.files:
            if f.sha256 is not None:
                assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0
            assert not f.path.startswith("/") and ".." not in f.path
            assert ds.url_for(f).startswith(("https://", "http://"))
    eeg = DATASETS["eegmmidb_s001"]
    assert len(eeg.files) == 14 and eeg.verified == "all"
    assert eeg.url_for(eeg.files[3]) == (
        "https://physionet.org/files/eegmmidb/1.0.0/S001/S001R04.edf")
