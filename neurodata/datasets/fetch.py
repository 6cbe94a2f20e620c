"""Download registered public datasets with checksums: :func:`fetch`, :func:`get_data_home`.

Downloads go through pooch (https://www.fatiando.org/pooch), which streams each file to
a temporary name and checks its hash.  On top of that, every file of one ``fetch`` call
is staged in a temporary folder inside the data home and moved into the dataset folder
only when all of them arrived and matched their checksums, so a failed or interrupted
call leaves nothing behind: files are either complete and verified, or absent.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..atomic import atomic_path
from ..errors import MissingFileError
from ..log import logger, progress_enabled, verbose, warn
from .errors import DownloadError, UnknownDatasetError, UnverifiedDownloadError
from .registry import DATASETS, RemoteDataset, RemoteFile

__all__ = ["get_data_home", "fetch", "FetchedDataset", "DATA_HOME_ENV"]

#: Environment variable naming the data home.
DATA_HOME_ENV = "NEURODATA_DATA"
#: Seconds pooch waits for the server before giving up on a request.
HTTP_TIMEOUT_S = 60
_UNPACKED_SUFFIX = ".unpacked.json"


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder datasets are downloaded into (not created here).

    Parameters
    ----------
    data_home : path-like or None
        Explicit folder.  ``None`` uses the environment variable ``NEURODATA_DATA``, and
        ``~/neurodata_data`` when that is unset.

    Returns
    -------
    pathlib.Path
        Absolute path, ``~`` expanded.

    Examples
    --------
    >>> from neurodata.datasets import get_data_home
    >>> str(get_data_home("/tmp/nd"))
    '/tmp/nd'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or "~/neurodata_data"
    return Path(data_home).expanduser().absolute()


@dataclass
class FetchedDataset:
    """What :func:`fetch` returns: where the files are and how to cite them.

    Attributes
    ----------
    name : str
    path : pathlib.Path
        The dataset folder (``data_home / name``).
    files : list of pathlib.Path
        The requested files (for archives: the extracted files), absolute.
    downloaded : list of str
        Registry paths downloaded by this call (empty when everything was cached).
    sha256 : dict of str to str
        SHA-256 of each file downloaded by this call (to pin unverified entries).
    description, citation, license, version : str
    """

    name: str
    path: Path
    files: list[Path]
    downloaded: list[str] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)
    description: str = ""
    citation: str = ""
    license: str = ""
    version: str = ""


# ----------------------------------------------------------------------------- helpers
def _lookup(name: str, registry: Mapping[str, RemoteDataset]) -> RemoteDataset:
    if name not in registry:
        close = [n for n in registry if name.lower() in n.lower() or n.lower() in name.lower()]
        hint = f"; did you mean {close}?" if close else ""
        raise UnknownDatasetError(
            f"no dataset named {name!r} in the registry{hint} Known datasets: "
            f"{sorted(registry)}; list them with `neuroloom fetch --list`"
        )
    return registry[name]


def _select(dataset: RemoteDataset, files: Sequence[str] | str | None) -> list[RemoteFile]:
    if files is None:
        return list(dataset.files)
    patterns = [files] if isinstance(files, str) else list(files)
    chosen: list[RemoteFile] = []
    for pattern in patterns:
        hits = [f for f in dataset.files
                if f.path == pattern or fnmatch.fnmatchcase(f.path, pattern)]
        if not hits:
            raise UnknownDatasetError(
                f"dataset {dataset.name!r} has no file matching {pattern!r}; its files are "
                f"{[f.path for f in dataset.files]}"
            )
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def _normalize_hash(value: str, where: str) -> str:
    text = str(value).strip()
    if ":" in text:
        algo, _, digest = text.partition(":")
        algo = algo.lower()
    else:
        algo, digest = {64: "sha256", 32: "md5"}.get(len(text), "?"), text
    if algo not in ("sha256", "md5") or not digest or any(
            c not in "0123456789abcdefABCDEF" for c in digest):
        raise ValueError(
            f"known_hash for {where} must be a SHA-256 (64 hex digits, optionally prefixed "
            f"'sha256:') or 'md5:<32 hex digits>'; got {value!r}"
        )
    return f"{algo}:{digest.lower()}"


def _hashes(chosen: list[RemoteFile], known_hash: str | Mapping[str, str] | None,
            name: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {f.path: f.known_hash for f in chosen}
    if known_hash is None:
        return out
    if isinstance(known_hash, str):
        if len(chosen) != 1:
            raise ValueError(
                f"known_hash is one string but {len(chosen)} files of {name!r} are requested; "
                "pass a dict {file path: hash} or select one file with files="
            )
        out[chosen[0].path] = _normalize_hash(known_hash, chosen[0].path)
        return out
    for path, value in known_hash.items():
        if path not in out:
            raise ValueError(f"known_hash names {path!r}, which is not among the requested "
                             f"files of {name!r}: {sorted(out)}")
        out[path] = _normalize_hash(value, path)
    return out


def _marker(dataset_dir: Path, file: RemoteFile) -> Path:
    rel = PurePosixPath(file.path)
    return dataset_dir / rel.parent / f".{rel.name}{_UNPACKED_SUFFIX}"


def _cached(dataset_dir: Path, file: RemoteFile) -> list[Path] | None:
    """The file's local paths if it is already in place, else None."""
    if file.unpack:
        marker = _marker(dataset_dir, file)
        if not marker.is_file():
            return None
        members = [dataset_dir / m for m in json.loads(marker.read_text())["members"]]
        return members if all(p.exists() for p in members) else None
    target = dataset_dir / file.path
    if not target.is_file():
        return None
    if file.size is not None and target.stat().st_size != file.size:
        return None  # a truncated copy put there by hand: download again
    return [target]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _unpack(archive: Path, dest: Path) -> list[str]:
    """Extract ``archive`` into ``dest``; return member paths relative to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = (dest / info.filename).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise DownloadError(f"archive member {info.filename!r} would be written "
                                        "outside the dataset folder; refusing to extract",
                                        path=archive)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            try:
                tf.extractall(dest, filter="data")  # refuses absolute paths, links out, ..
            except tarfile.FilterError as exc:
                raise DownloadError(f"unsafe archive member ({exc}); refusing to extract",
                                    path=archive) from None
    else:
        raise DownloadError("registered as an archive but is neither a tar nor a zip file; "
                            "the download is kept out of the data folder", path=archive)
    return sorted(str(p.relative_to(dest).as_posix()) for p in dest.rglob("*") if p.is_file())


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Route pooch's INFO chatter through our verbosity (pooch logs to stderr by itself)."""
    import pooch

    plog = pooch.get_logger()
    old = plog.level
    if logger.getEffectiveLevel() > logging.INFO:
        plog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        plog.setLevel(old)


def _move_into_place(src: Path, final: Path) -> Path:
    """Move a verified staged file to ``final`` (replacing a stale copy) atomically."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(final, overwrite=True) as tmp:
        os.replace(src, tmp)  # same filesystem: staging lives in the data home
    return final


def _download(url: str, known_hash: str | None, target: Path) -> None:
    import pooch
    import requests

    downloader = pooch.HTTPDownloader(progressbar=progress_enabled(), timeout=HTTP_TIMEOUT_S)
    try:
        pooch.retrieve(url, known_hash, fname=target.name, path=target.parent,
                       downloader=downloader, progressbar=progress_enabled())
    except requests.HTTPError as exc:
        status = getattr(exc.response, "status_code", "?")
        raise DownloadError(
            f"the server answered HTTP {status} for {url}; expected the file. Check the URL "
            "(or base_url=) and your network; nothing was written to the data folder",
            path=target.name,
        ) from None
    except requests.RequestException as exc:
        raise DownloadError(
            f"could not download {url} ({type(exc).__name__}: {exc}); check your network "
            "or pass base_url= to use a mirror; nothing was written to the data folder",
            path=target.name,
        ) from None
    except ValueError as exc:  # pooch: hash mismatch
        raise DownloadError(
            f"checksum mismatch for {url}: expected {known_hash}, the downloaded file "
            f"differs ({exc}). The download was discarded; the file on the server changed "
            "or was corrupted in transit - retry, or report it if it persists",
            path=target.name,
        ) from None


# ----------------------------------------------------------------------------- public
@verbose
def fetch(
    name: str,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
    base_url: str | None = None,
    *,
    files: Sequence[str] | str | None = None,
    known_hash: str | Mapping[str, str] | None = None,
    allow_unverified: bool = False,
    registry: Mapping[str, RemoteDataset] | None = None,
    verbose: bool | str | None = None,
) -> FetchedDataset:
    """Download a registered dataset (or use the cached copy) and return its files.

    Files land in ``data_home / name / <file path>``.  Each download is verified
    against the registered SHA-256 (or the provider's MD5 where no SHA-256 exists).
    All files of one call are staged in a temporary folder inside ``data_home`` and
    moved into place only once every one of them has arrived and matched, so after an
    error nothing new is left in ``data_home``.  Files already in place are not
    downloaded again (no request is made).

    Parameters
    ----------
    name : str
        Registry name; see :func:`neurodata.datasets.list_datasets` or
        ``neuroloom fetch --list``.
    data_home : path-like or None
        See :func:`get_data_home` (env ``NEURODATA_DATA``, default ``~/neurodata_data``).
    download_if_missing : bool, default=True
        If False, only return cached files and raise when any is missing.
    base_url : str or None
        Fetch every file from ``base_url + file.path`` instead of the registered
        location (a mirror, or a local server in tests).
    files : str or sequence of str or None
        Only these files of the dataset: registry paths or shell patterns
        (e.g. ``"S001/S001R04.edf"``, ``"S001/S001R0[48].edf"``).  Default: all.
    known_hash : str or dict of str to str or None
        Checksum(s) you obtained from the provider, for entries registered without
        one (or to override one): a single hash when one file is requested, else
        ``{file path: hash}``; ``"sha256:<hex>"``, bare 64-digit hex, or ``"md5:<hex>"``.
    allow_unverified : bool, default=False
        Download files that have no checksum anyway (with a warning; the SHA-256 of
        what arrived is logged and returned in ``FetchedDataset.sha256`` so you can pin
        it).  Without it, such files raise :class:`UnverifiedDownloadError` before any
        request is made.
    registry : mapping of str to RemoteDataset or None
        Use this registry instead of :data:`neurodata.datasets.DATASETS`.
    verbose : bool or str or None
        Log level for this call; True also shows download progress bars.

    Returns
    -------
    FetchedDataset
        ``.path`` (dataset folder), ``.files`` (absolute paths), ``.description``,
        ``.citation``, ``.license``.

    Raises
    ------
    UnknownDatasetError
        Unknown dataset name (the message lists the known ones) or file pattern.
    MissingFileError
        ``download_if_missing=False`` and some requested file is not cached.
    UnverifiedDownloadError
        A file has no checksum and neither ``known_hash`` nor ``allow_unverified``.
    DownloadError
        HTTP error, no connection, or checksum mismatch.

    Examples
    --------
    >>> from neurodata.datasets import fetch
    >>> ds = fetch("eegmmidb_s001", files="S001/S001R04.edf")  # doctest: +SKIP
    >>> ds.files[0].name  # doctest: +SKIP
    'S001R04.edf'
    """
    reg = DATASETS if registry is None else registry
    dataset = _lookup(name, reg)
    chosen = _select(dataset, files)
    home = get_data_home(data_home)
    dataset_dir = home / dataset.name

    present: dict[str, list[Path]] = {}
    missing: list[RemoteFile] = []
    for f in chosen:
        paths = _cached(dataset_dir, f)
        if paths is None:
            missing.append(f)
        else:
            present[f.path] = paths
    result = FetchedDataset(dataset.name, dataset_dir, [], description=dataset.description,
                            citation=dataset.citation, license=dataset.license,
                            version=dataset.version)
    if missing and not download_if_missing:
        raise MissingFileError(
            f"{len(missing)} file(s) of dataset {name!r} are not downloaded yet "
            f"({[f.path for f in missing][:5]}); call fetch({name!r}) with "
            f"download_if_missing=True or run `neuroloom fetch {name}`",
            path=dataset_dir,
        )
    if missing:
        hashes = _hashes(missing, known_hash, name)
        unverified = [p for p, h in hashes.items() if h is None]
        if unverified and not allow_unverified:
            raise UnverifiedDownloadError(
                f"no checksum is registered for {unverified} of dataset {name!r} "
                f"({dataset.hash_source or 'no source of checksums known'}); refusing to "
                "download unverified data. Pass known_hash= with the provider's SHA-256, or "
                "allow_unverified=True (CLI: --allow-unverified) to accept the risk",
                path=dataset_dir,
            )
        if unverified:
            warn(f"downloading {unverified} of {name!r} without a checksum "
                 "(allow_unverified=True); the SHA-256 of what arrives is logged")
        home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".fetch-{dataset.name}-", dir=home))
        try:
            staged: dict[str, tuple[Path, list[str] | None]] = {}
            with _quiet_pooch():
                for f in missing:
                    url = dataset.url_for(f, base_url)
                    target = staging / "files" / f.path
                    logger.info("downloading %s -> %s", url, dataset_dir / f.path)
                    _download(url, hashes[f.path], target)
                    digest = _sha256(target)
                    result.sha256[f.path] = digest
                    logger.info("%s sha256:%s", f.path, digest)
                    members = None
                    if f.unpack:
                        sub = PurePosixPath(f.path).parent
                        members = [str(sub / m) for m in
                                   _unpack(target, staging / "unpacked" / f.path / "x")]
                    staged[f.path] = (target, members)
            # Every file arrived and matched: move into place, each through
            # neurodata.atomic (a temporary name beside it, fsync, rename), so a crash
            # leaves every cached file either as it was or complete.
            for f in missing:
                target, members = staged[f.path]
                if members is None:
                    present[f.path] = [_move_into_place(target, dataset_dir / f.path)]
                else:
                    root = staging / "unpacked" / f.path / "x"
                    sub = PurePosixPath(f.path).parent
                    out = [_move_into_place(root / PurePosixPath(m).relative_to(sub),
                                            dataset_dir / m) for m in members]
                    # the marker last: it says the unpacked members are all in place
                    with atomic_path(_marker(dataset_dir, f), overwrite=True) as tmp:
                        tmp.write_text(json.dumps({"archive": f.path, "members": members,
                                                   "sha256": result.sha256[f.path]}))
                    present[f.path] = out
                result.downloaded.append(f.path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    result.files = [p for f in chosen for p in present[f.path]]
    logger.info("dataset %s: %d file(s) in %s (%d downloaded)", name, len(result.files),
                dataset_dir, len(result.downloaded))
    return result
