"""Reading and writing the common recording format (HDF5).  See docs/format.md.

Layout (format_version 1.0)::

    /                      attrs format, format_version, created, software, provenance
    /subject               attrs id, species [, sex, age, genotype, ...]
    /session               attrs id [, start_time, task, description, ...]
    /timeseries/<name>/    data float32 (T, C) chunked (rows, C); timestamps float64 (T,)
                           only if irregular; channels table; attrs modality, rate, t0
    /spikes/<name>/        times float64 (N,), unit_index int32 (N,), units table,
                           attrs t_start, t_stop
    /events                table onset, duration, label, value [+ extra columns]
    /stimuli/<name>        arrays (images, embeddings, captions)
    /connectivity/<name>/  weights (C, C), nodes (C,) str; attrs kind, directed

A *table* is a group with attrs ``object="table"`` and ``columns`` (JSON list, in
order) holding one 1-D dataset per column (strings as UTF-8 variable length).

Integrity (see docs/reliability.md): every dataset carries ``checksum="crc32:XXXXXXXX"``
over its values (C order, stored dtype; strings as NUL-joined UTF-8) and the root carries
``attrs_checksum`` over every attribute of every object.  They are written at save time
and checked only by :func:`neurodata.validate` (window reads never pay for them).

Confinement: :func:`open_h5` refuses files that would make HDF5 read another file:
external links, soft links that dangle or pass through an external link, virtual
datasets, external raw storage and filters other than gzip/shuffle/fletcher32/lzf (an
unknown filter id makes HDF5 look for a plug-in library).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import stat
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np
import pandas as pd

from ._mapped import map_rows
from .atomic import atomic_path
from .connectivity import Connectivity
from .errors import (
    FormatError,
    MissingFileError,
    NeurodataError,
    ValidationError,
    VersionError,
)
from .events import Events
from .provenance import NEUROLOOM_VERSION, dumps
from .spikes import SpikeTrains
from .timeseries import TimeSeries

if TYPE_CHECKING:
    from .recording import Recording

FORMAT_NAME = "neuroloom.recording"
FORMAT_VERSION = "1.0"
SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = 0

#: Target bytes per chunk of ``/timeseries/*/data``.  Measured with
#: ``benchmarks/bench_io.py --chunk-study --quick`` (random 2-s windows, page cache
#: warm, 2 cores; windows/s through the memory map | through plain h5py):
#:
#:   64 ch × 160 Hz:  64 KiB 133k | 55k,  256 KiB 161k | 50k,  1 MiB 135k | 27k,  4 MiB 107k | 14k
#:   256 ch × 1 kHz:  64 KiB 7.1k | 2.5k, 256 KiB 8.8k | 3.4k, 1 MiB 7.8k | 2.8k, 4 MiB 10k | 1.8k
#:
#: The mapped path is flat within noise (±20 %); plain h5py reads, used for compressed
#: files, are fastest at 64–256 KiB.  256 KiB gives 1024 rows at 64 channels and 256 rows
#: at 256 channels; the contract caps rows at 4096.
CHUNK_TARGET_BYTES = 256 << 10
MAX_CHUNK_ROWS = 4096
MIN_CHUNK_ROWS = 16
#: Rows copied per write step while streaming data from a (possibly lazy) source.
WRITE_BLOCK_BYTES = 16 << 20

_STR = h5py.string_dtype("utf-8")

#: Attribute holding a dataset's checksum, ``"crc32:%08x"`` (zlib.crc32: ~1 GB/s, and
#: it detects every error burst up to 32 bits, so any flipped byte).
CHECKSUM_ATTR = "checksum"
#: Root attribute holding the crc32 of every attribute in the file (see attrs_checksum).
ATTRS_CHECKSUM_ATTR = "attrs_checksum"
#: HDF5 filter ids the reader accepts: deflate, shuffle, fletcher32 and h5py's lzf.
ALLOWED_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}
#: Rows per block when checksumming a 2-D dataset (about 16 MiB).
_CHECK_BLOCK_BYTES = 16 << 20
#: Soft links followed inside one file before the chain is refused.
_MAX_SOFT_DEPTH = 8


def _crc_text(values: Any) -> int:
    crc = 0
    for i, v in enumerate(np.asarray(values, dtype=object).ravel()):
        b = v.encode("utf-8", "surrogatepass") if isinstance(v, str) else bytes(v)
        crc = zlib.crc32((b"\0" if i else b"") + b, crc)
    return crc


#: Largest expansion accepted from a compressed dataset that is read whole (zeros
#: compress about 1000:1 with gzip; anything beyond is a forged shape).
MAX_EXPANSION = 1100


def declared_size_problem(ds: h5py.Dataset) -> str | None:
    """Why the declared shape of ``ds`` cannot be backed by what is stored, or None.

    Checked before a dataset is read whole (and before checksumming), so a flipped
    byte in a dataspace that declares terabytes is refused instead of allocated.
    Unallocated chunks read as fill values, which our writer never leaves.
    """
    if ds.shape is None or ds.size == 0:
        return None
    if h5py.check_string_dtype(ds.dtype) is not None or ds.dtype.kind == "O":
        nbytes = ds.size * 16  # at least a pointer-sized reference per string
        limit = max(os.path.getsize(ds.file.filename), 1) * MAX_EXPANSION
        return (f"{ds.name}: declares {ds.size} strings, more than the file can hold"
                if nbytes > limit else None)
    nbytes = ds.size * ds.dtype.itemsize
    stored = ds.id.get_storage_size()
    filtered = ds.id.get_create_plist().get_nfilters() > 0
    if (not filtered and stored < nbytes) or (filtered and nbytes > stored * MAX_EXPANSION
                                              + (1 << 20)):
        return (f"{ds.name}: declares shape {ds.shape} ({nbytes} bytes) but stores "
                f"{stored} bytes; the file is damaged or forged")
    return None


def read_all(ds: h5py.Dataset, path: str | os.PathLike | None = None) -> Any:
    """``ds[()]`` after :func:`declared_size_problem` (strings decoded to str)."""
    why = declared_size_problem(ds)
    if why:
        raise FormatError(why, path=path if path is not None else ds.file.filename)
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.asarray(ds.asstr()[()], dtype=object)
    return ds[()]


def dataset_checksum(ds: h5py.Dataset) -> str:
    """``"crc32:XXXXXXXX"`` over the values of ``ds`` (read in ~16 MiB row blocks)."""
    if ds.shape is None:  # null dataspace
        return "crc32:00000000"
    if h5py.check_string_dtype(ds.dtype) is not None:
        return f"crc32:{_crc_text(ds.asstr()[()]) & 0xFFFFFFFF:08x}"
    if ds.dtype.kind == "O" or ds.dtype.fields is not None:
        return f"crc32:{zlib.crc32(np.asarray(ds[()]).tobytes()) & 0xFFFFFFFF:08x}"
    crc = 0
    if ds.ndim == 0:
        crc = zlib.crc32(np.ascontiguousarray(ds[()]).tobytes())
    elif ds.size:
        row = max(ds.size // ds.shape[0] * ds.dtype.itemsize, 1)
        step = max(1, _CHECK_BLOCK_BYTES // row)
        for i0 in range(0, ds.shape[0], step):
            crc = zlib.crc32(np.ascontiguousarray(ds[i0 : i0 + step]), crc)
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def _attr_bytes(value: Any) -> bytes:
    arr = np.asarray(value)
    if arr.dtype.kind in "OUS":
        return b"s" + _crc_text([v.decode("utf-8", "surrogateescape") if isinstance(v, bytes)
                                 else str(v) for v in arr.ravel()]).to_bytes(4, "little")
    return arr.dtype.str.encode() + str(arr.shape).encode() + np.ascontiguousarray(arr).tobytes()


def attrs_checksum(f: h5py.File) -> str:
    """crc32 over every attribute (name and value) of every object, in path order,
    excluding the checksum attributes themselves."""
    names = [""]
    f.visit(names.append)
    crc = 0
    for name in sorted(names):
        obj = f[name] if name else f
        for key in sorted(obj.attrs.keys()):
            if key in (CHECKSUM_ATTR, ATTRS_CHECKSUM_ATTR):
                continue
            crc = zlib.crc32(f"/{name}@{key}=".encode() + _attr_bytes(obj.attrs[key]), crc)
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def _stamp_checksums(f: h5py.File) -> None:
    datasets: list[h5py.Dataset] = []
    f.visititems(lambda _n, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
    for ds in datasets:
        if CHECKSUM_ATTR not in ds.attrs:
            ds.attrs[CHECKSUM_ATTR] = dataset_checksum(ds)
    f.attrs[ATTRS_CHECKSUM_ATTR] = attrs_checksum(f)


def _soft_target_problem(f: h5py.File, where: str, target: str, depth: int = 0) -> str | None:
    """Why the soft link at ``where`` (to ``target``) leaves the file, or None."""
    if depth > _MAX_SOFT_DEPTH:
        return f"more than {_MAX_SOFT_DEPTH} nested soft links"
    if not target.startswith("/"):
        target = where.rsplit("/", 1)[0] + "/" + target
    grp: h5py.Group = f
    here = ""
    parts = [p for p in target.split("/") if p and p != "."]
    for k, part in enumerate(parts):
        if not isinstance(grp, h5py.Group):
            return f"its target {target!r} passes through a dataset"
        link = grp.get(part, getlink=True)
        here = f"{here}/{part}"
        if link is None:
            return f"its target {target!r} does not exist in this file"
        if isinstance(link, h5py.ExternalLink):
            return f"its target {target!r} passes through an external link to {link.filename!r}"
        if isinstance(link, h5py.SoftLink):
            # Continue from the link's own target, then the rest of this path.
            nxt = link.path if link.path.startswith("/") else (
                here.rsplit("/", 1)[0] + "/" + link.path)
            rest = "/".join(parts[k + 1:])
            return _soft_target_problem(f, "/", nxt + ("/" + rest if rest else ""), depth + 1)
        if not isinstance(link, h5py.HardLink):  # user-defined link classes
            return f"unsupported link class {type(link).__name__}"
        grp = grp[part]
    return None


def confinement_problems(f: h5py.File) -> list[str]:
    """Objects that would make HDF5 read outside this file (or load a filter plug-in)."""
    problems: list[str] = []

    def visit(name: str, link: Any) -> None:
        where = f"/{name}"
        if isinstance(link, h5py.ExternalLink):
            problems.append(f"{where}: external link to {link.filename!r}:{link.path!r}; "
                            "neuroloom recordings are self-contained")
            return
        if isinstance(link, h5py.SoftLink):
            why = _soft_target_problem(f, where, link.path)
            if why:
                problems.append(f"{where}: soft link refused: {why}")
            return
        if not isinstance(link, h5py.HardLink):
            problems.append(f"{where}: unsupported link class {type(link).__name__}")
            return
        obj = f.get(name)
        if not isinstance(obj, h5py.Dataset):
            return
        plist = obj.id.get_create_plist()
        if plist.get_layout() == h5py.h5d.VIRTUAL:
            srcs = sorted({m.file_name for m in obj.virtual_sources()})
            problems.append(f"{where}: virtual dataset (maps {srcs[:3]}); neuroloom "
                            "recordings store their own data")
            return
        if plist.get_external_count() > 0:
            files = [plist.get_external(i)[0] for i in range(plist.get_external_count())]
            problems.append(f"{where}: external raw storage in {files[:3]!r}; neuroloom "
                            "recordings store their own data")
            return
        for i in range(plist.get_nfilters()):
            fid = plist.get_filter(i)[0]
            if fid not in ALLOWED_FILTERS:
                problems.append(f"{where}: HDF5 filter id {fid} is not one of "
                                f"{sorted(ALLOWED_FILTERS.values())} (a filter plug-in "
                                "would be loaded)")

    f.visititems_links(visit)
    return problems


def check_regular_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it is a regular file (following symlinks); else our error.

    Checked with ``stat`` before anything opens the file, so a FIFO or device (which
    would block or never end) fails at once.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MissingFileError("no such file; check the path", path=p) from None
    except OSError as exc:
        raise MissingFileError(f"cannot access the file ({exc.strerror or exc})",
                               path=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise FormatError("is a folder; expected a neuroloom recording file (.h5)", path=p)
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise FormatError(f"is {kind}, not a regular file; expected a neuroloom recording "
                          "file (.h5)", path=p)
    return p


def chunk_rows_for(n_channels: int, itemsize: int = 4) -> int:
    """Chunk height (rows) for a dataset with ``n_channels`` columns."""
    rows = CHUNK_TARGET_BYTES // max(n_channels * itemsize, 1)
    rows = 2 ** int(math.floor(math.log2(max(rows, 1))))
    return int(min(max(rows, MIN_CHUNK_ROWS), MAX_CHUNK_ROWS))


# ----------------------------------------------------------------------------- tables
def _strings(values: Any, where: str) -> np.ndarray:
    """Values as an object array of str; NUL characters (which HDF5 variable-length
    strings cannot hold, and which only a damaged source produces) are refused."""
    out = np.array([str(v) for v in np.asarray(values, dtype=object).ravel()], dtype=object)
    bad = next((v for v in out if "\x00" in v), None)
    if bad is not None:
        raise ValidationError(f"{where}: the text {bad[:40]!r} contains a NUL character "
                              "(\\x00), which a recording cannot store; the source header "
                              "is damaged or the name must be cleaned")
    return out


def write_table(parent: h5py.Group, name: str, table: pd.DataFrame) -> h5py.Group:
    """Write a DataFrame as a table group (one dataset per column)."""
    grp = parent.create_group(name)
    grp.attrs["object"] = "table"
    grp.attrs["columns"] = json.dumps([str(c) for c in table.columns])
    for col in table.columns:
        values = table[col].to_numpy()
        if "\x00" in str(col):
            raise ValidationError(f"{grp.name}: column name {str(col)!r} contains a NUL "
                                  "character")
        if values.dtype == bool or values.dtype.kind in "iuf":
            grp.create_dataset(str(col), data=values)
        else:
            grp.create_dataset(str(col), data=_strings(values, f"{grp.name}/{col}"),
                               dtype=_STR)
    return grp


def read_table(grp: h5py.Group) -> pd.DataFrame:
    """Read a table group back into a DataFrame (columns in stored order)."""
    columns = json.loads(grp.attrs.get("columns", "[]")) or list(grp.keys())
    out = {}
    for col in columns:
        out[col] = read_all(grp[col])
    return pd.DataFrame(out, columns=columns)


# ----------------------------------------------------------------------------- header
def _parse_version(text: str) -> tuple[int, int]:
    major, minor = str(text).split(".")[:2]
    return int(major), int(minor)


def header_problems(f: h5py.File) -> tuple[list[str], bool]:
    """Problems with the root attributes; second item True if the file is unreadable."""
    problems: list[str] = []
    fmt = f.attrs.get("format")
    if fmt is None:
        return [f"no 'format' attribute at the root; expected format={FORMAT_NAME!r} "
                "(is this a neuroloom recording? convert sources with `neuroloom convert`)"], True
    if str(fmt) != FORMAT_NAME:
        return [f"root attribute format={str(fmt)!r}; expected {FORMAT_NAME!r}"], True
    version = f.attrs.get("format_version")
    try:
        major, minor = _parse_version(version)
    except (ValueError, TypeError):
        return [f"format_version={version!r} is not 'MAJOR.MINOR'"], True
    if (major, minor) > (SUPPORTED_MAJOR, SUPPORTED_MINOR):
        return [f"format_version {version} is newer than {FORMAT_VERSION}, the newest this "
                f"neuroloom ({NEUROLOOM_VERSION}) reads; upgrade neuroloom"], True
    created = f.attrs.get("created")
    try:
        _dt.datetime.fromisoformat(str(created))
    except (ValueError, TypeError):
        problems.append(f"root attribute created={created!r} is not an ISO 8601 time")
    if not str(f.attrs.get("software", "")):
        problems.append("root attribute 'software' (name and version) is missing")
    prov = f.attrs.get("provenance")
    try:
        prov_d = json.loads(prov)
        if not isinstance(prov_d, dict):
            raise ValueError
        for key in ("sources", "loader", "parameters", "parents"):
            if key not in prov_d:
                problems.append(f"provenance lacks the key {key!r}")
        for src in prov_d.get("sources", []):
            if not {"path", "size", "sha256"} <= set(src):
                problems.append(f"provenance source {src!r} lacks path/size/sha256")
    except (ValueError, TypeError):
        problems.append("root attribute 'provenance' is missing or not a JSON object")
    for grp, keys in (("subject", ("id", "species")), ("session", ("id",))):
        if grp not in f:
            problems.append(f"group /{grp} is missing")
        else:
            for k in keys:
                if k not in f[grp].attrs:
                    problems.append(f"/{grp} lacks the attribute {k!r}")
    return problems, False


def open_h5(path: str | os.PathLike) -> h5py.File:
    """Open ``path`` read-only, checking it is a regular, self-contained HDF5 recording.

    Raises
    ------
    MissingFileError
        No such file.
    FormatError
        Not a regular file (FIFO, device, folder), not HDF5, unreadable HDF5, not a
        neuroloom recording, or it refers to other files (see :func:`confinement_problems`).
    VersionError
        Written by a newer format version.
    """
    p = check_regular_file(path)
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head != b"\x89HDF\r\n\x1a\n" and not h5py.is_hdf5(p):  # is_hdf5 finds user blocks
        raise FormatError(
            f"not an HDF5 file (starts with {head!r}; HDF5 starts with b'\\x89HDF\\r\\n\\x1a\\n'); "
            "expected a neuroloom recording - convert sources with `neuroloom convert`",
            path=p,
        )
    try:
        f = h5py.File(p, "r")
    except (OSError, RuntimeError, ValueError) as exc:
        raise FormatError(f"HDF5 file could not be opened ({' '.join(str(exc).split())}); "
                          "the file is damaged or truncated", path=p) from exc
    try:
        problems, fatal = header_problems(f)
        if fatal:
            cls = VersionError if "newer" in problems[0] else FormatError
            raise cls(problems[0], path=p)
        refused = confinement_problems(f)
        if refused:
            raise FormatError("refers to data outside the file, which neuroloom never reads: "
                              + "; ".join(refused[:5])
                              + (f" (+{len(refused) - 5} more)" if len(refused) > 5 else ""),
                              path=p)
    except FormatError:
        f.close()
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        f.close()
        raise FormatError(f"HDF5 structure is damaged ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())})", path=p) from exc
    return f


# ----------------------------------------------------------------------------- write
def _attrs_clean(d: dict[str, Any], where: str = "") -> dict[str, Any]:
    out = {k: v for k, v in d.items() if v is not None}
    for k, v in out.items():
        if "\x00" in str(k) or (isinstance(v, str) and "\x00" in v):
            raise ValidationError(f"{where}: attribute {k!r}={str(v)[:40]!r} contains a NUL "
                                  "character, which a recording cannot store")
    return out


def _write_timeseries(parent: h5py.Group, ts: TimeSeries, compression: str | None) -> None:
    grp = parent.create_group(ts.name)
    grp.attrs["object"] = "TimeSeries"
    grp.attrs["modality"] = ts.modality
    grp.attrs["t0"] = ts.t0
    if ts.is_regular:
        grp.attrs["rate"] = ts.rate
    if ts.attrs:
        grp.attrs["extra"] = json.dumps(ts.attrs)
    n_times, n_ch = ts.shape
    if n_ch == 0:
        raise ValidationError(f"time series {ts.name!r} has no channels")
    rows = chunk_rows_for(n_ch)
    if n_times == 0:
        grp.create_dataset("data", shape=(0, n_ch), dtype="f4")
    else:
        dset = grp.create_dataset(
            "data", shape=(n_times, n_ch), dtype="f4",
            chunks=(min(rows, n_times), n_ch),
            compression=compression,
            shuffle=compression is not None,
        )
        # Stream block by block (a lazy source is never loaded whole) and checksum the
        # float32 rows as written, so the checksum costs no second pass over the data.
        step = max(rows, (WRITE_BLOCK_BYTES // (4 * n_ch)) // rows * rows)
        crc = 0
        for i0 in range(0, n_times, step):
            i1 = min(i0 + step, n_times)
            block = np.ascontiguousarray(ts._read(i0, i1, slice(None)), dtype=np.float32)
            if block.shape != (i1 - i0, n_ch):
                raise ValidationError(f"time series {ts.name!r}: the source returned "
                                      f"{block.shape} for rows [{i0}, {i1}) of {n_ch} channels")
            dset[i0:i1] = block
            crc = zlib.crc32(block, crc)
        dset.attrs[CHECKSUM_ATTR] = f"crc32:{crc & 0xFFFFFFFF:08x}"
    if not ts.is_regular:
        grp.create_dataset("timestamps", data=ts.timestamps.astype(np.float64))
    write_table(grp, "channels", ts.channels)
    if ts.affine is not None:
        grp.attrs["affine"] = ts.affine
    if ts.volume_shape is not None:
        grp.attrs["volume_shape"] = np.asarray(ts.volume_shape, dtype=np.int64)
    if ts.voxel_ijk is not None:
        grp.create_dataset("voxel_ijk", data=ts.voxel_ijk.astype(np.int32))


def _write_spikes(parent: h5py.Group, st: SpikeTrains) -> None:
    grp = parent.create_group(st.name)
    grp.attrs["object"] = "SpikeTrains"
    grp.attrs["t_start"] = st.t_start
    grp.attrs["t_stop"] = st.t_stop
    grp.create_dataset("times", data=st.times.astype(np.float64))
    grp.create_dataset("unit_index", data=st.unit_index.astype(np.int32))
    write_table(grp, "units", st.units)


def _write_stimulus(parent: h5py.Group, name: str, value: Any) -> None:
    arr = np.asarray(value)
    if arr.dtype.kind in "OUS":
        parent.create_dataset(name, data=_strings(arr, f"/stimuli/{name}"), dtype=_STR)
    else:
        parent.create_dataset(name, data=arr, chunks=True if arr.ndim > 1 and arr.size else None)


def write_recording(rec: Recording, path: str | os.PathLike, *, overwrite: bool = False,
                    compression: str | None = None) -> Path:
    """Write ``rec`` to ``path`` atomically; return the absolute path."""
    if compression not in (None, "gzip", "lzf"):
        raise ValueError(f"compression must be None, 'gzip' or 'lzf'; got {compression!r}")
    with atomic_path(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w", libver=("earliest", "v110")) as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            f.attrs["software"] = f"neuroloom {NEUROLOOM_VERSION}"
            f.attrs["provenance"] = dumps(rec.provenance)
            subj = f.create_group("subject")
            subj.attrs.update(_attrs_clean(rec.subject, "/subject"))
            sess = f.create_group("session")
            sess.attrs.update(_attrs_clean(rec.session, "/session"))
            tsg = f.create_group("timeseries")
            for ts in rec.timeseries.values():
                _write_timeseries(tsg, ts, compression)
            if rec.spikes:
                spg = f.create_group("spikes")
                for st in rec.spikes.values():
                    _write_spikes(spg, st)
            write_table(f, "events", rec.events.to_dataframe())
            if rec.stimuli:
                stg = f.create_group("stimuli")
                for name, value in rec.stimuli.items():
                    _write_stimulus(stg, name, value)
            if rec.connectivity:
                cg = f.create_group("connectivity")
                for con in rec.connectivity.values():
                    g = cg.create_group(con.name)
                    g.attrs["object"] = "Connectivity"
                    g.attrs["kind"] = con.kind
                    g.attrs["directed"] = con.directed
                    g.create_dataset("weights", data=con.weights)
                    g.create_dataset("nodes", data=_strings(con.nodes, f"{g.name}/nodes"),
                                     dtype=_STR)
            _stamp_checksums(f)
    return Path(path).absolute()


# ----------------------------------------------------------------------------- read
def _attrs_dict(obj: h5py.HLObject) -> dict[str, Any]:
    out = {}
    for k, v in obj.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


class GuardedRows:
    """A read-only view of an h5py dataset whose read errors become our errors.

    A damaged compressed chunk makes h5py raise ``OSError`` only when it is read (after
    :func:`neurodata.open` succeeded); through this view the caller gets a
    :class:`FormatError` naming the file and the dataset instead.  Everything else is
    the dataset's own attribute.
    """

    def __init__(self, dset: h5py.Dataset, path: str):
        self._dset = dset
        self._path = path
        self.shape = dset.shape
        self.dtype = dset.dtype
        self.ndim = dset.ndim

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._dset[key]
        except (OSError, RuntimeError, zlib.error) as exc:
            raise FormatError(f"{self._dset.name}: stored data cannot be read "
                              f"({' '.join(str(exc).split())}); the file is damaged - run "
                              "`neuroloom validate` on it", path=self._path) from exc

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[()], dtype=dtype)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_dset":
            raise AttributeError(name)
        return getattr(self._dset, name)


def _read_timeseries(grp: h5py.Group, name: str, path: str) -> TimeSeries:
    if "data" not in grp:
        raise ValidationError(f"/timeseries/{name} has no 'data' dataset", path=path)
    if "channels" not in grp:
        raise ValidationError(f"/timeseries/{name} has no 'channels' table", path=path)
    dset = grp["data"]
    timestamps = read_all(grp["timestamps"], path) if "timestamps" in grp else None
    rate = grp.attrs.get("rate") if timestamps is None else None
    extra = json.loads(grp.attrs["extra"]) if "extra" in grp.attrs else {}
    try:
        channels = read_table(grp["channels"])
        return TimeSeries(
            GuardedRows(dset, path),
            rate=None if rate is None else float(rate),
            t0=float(grp.attrs.get("t0", 0.0)),
            timestamps=timestamps,
            channels=channels,
            modality=str(grp.attrs.get("modality", "misc")),
            name=name,
            attrs=extra,
            affine=grp.attrs.get("affine"),
            volume_shape=grp.attrs.get("volume_shape"),
            voxel_ijk=read_all(grp["voxel_ijk"], path) if "voxel_ijk" in grp else None,
            _mapped=map_rows(dset),
            _path=path,
        )
    except ValidationError as exc:
        raise ValidationError(f"/timeseries/{name}: {exc.message}", path=path,
                              violations=exc.violations) from None


def read_recording(path: str | os.PathLike) -> Recording:
    """Open a recording lazily (signal data stays on disk until sliced).

    Every failure is one of our errors: h5py's ``KeyError`` / ``OSError`` /
    ``RuntimeError`` (and bad attribute values) on a damaged file become a
    :class:`FormatError` naming the file.
    """
    try:
        return _read_recording(path)
    except NeurodataError:
        raise
    except MemoryError as exc:
        raise FormatError("a stored array declares a size that does not fit in memory "
                          f"({exc}); the file is damaged", path=path) from exc
    except (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError,
            AttributeError, zlib.error) as exc:
        raise FormatError(f"damaged recording: {type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:300]}; run `neuroloom validate` on it",
                          path=path) from exc


def _read_recording(path: str | os.PathLike) -> Recording:
    from .recording import Recording

    f = open_h5(path)
    spath = str(Path(path))
    timeseries: list[TimeSeries] = []
    try:
        for n, g in f.get("timeseries", {}).items():
            timeseries.append(_read_timeseries(g, n, spath))
        spikes = []
        for n, g in f.get("spikes", {}).items():
            try:
                spikes.append(SpikeTrains(read_all(g["times"]), read_all(g["unit_index"]),
                                          read_table(g["units"]),
                                          t_start=float(g.attrs["t_start"]),
                                          t_stop=float(g.attrs["t_stop"]), name=n, _path=spath))
            except KeyError as exc:
                raise ValidationError(f"/spikes/{n} lacks {exc}", path=spath) from None
        events = Events.from_dataframe(read_table(f["events"]), path=spath) if "events" in f \
            else Events()
        stimuli = {}
        for n, ds in f.get("stimuli", {}).items():
            stimuli[n] = (np.asarray(ds.asstr()[()], dtype=object)
                          if h5py.check_string_dtype(ds.dtype) is not None else ds)
        connectivity = [
            Connectivity(read_all(g["weights"]), list(read_all(g["nodes"])),
                         kind=str(g.attrs.get("kind", "other")),
                         directed=bool(g.attrs.get("directed", True)), name=n)
            for n, g in f.get("connectivity", {}).items()
        ]
        rec = Recording(
            timeseries,
            spikes=spikes,
            events=events,
            subject=_attrs_dict(f["subject"]) if "subject" in f else {},
            session=_attrs_dict(f["session"]) if "session" in f else {},
            connectivity=connectivity,
            stimuli=stimuli,
            provenance=json.loads(f.attrs.get("provenance", "{}")),
        )
    except Exception:
        for ts in timeseries:  # release the memory maps of blocks read before the error
            if ts._mapped is not None:
                ts._mapped.close()
        f.close()
        raise
    rec._attach(f, spath, created=str(f.attrs.get("created", "")),
                software=str(f.attrs.get("software", "")),
                format_version=str(f.attrs.get("format_version", "")))
    return rec
