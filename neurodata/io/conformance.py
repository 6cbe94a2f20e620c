"""The reader contract, checked: :func:`check_reader`.

Every registered reader passes it in the test suite (``tests/neurodata/
test_reader_conformance.py``), and a new reader must too.  On a sample the reader
accepts it checks:

1. **dispatch**: :func:`neurodata.io.find_reader` picks this reader for the sample;
2. **reading**: the result is a :class:`~neurodata.Recording`;
3. **provenance**: a loader name, the sample (or a file inside a folder sample)
   among the sources with a correct sha256, the option values, and the list of
   skipped content (``provenance["skipped"]``, a list of strings);
4. **laziness**: a reader that declares ``lazy`` returns signals still in the source
   (``TimeSeries.is_lazy``), and slicing one reads the same values as loading it;
5. **round trip**: save → :func:`neurodata.validate` → :func:`neurodata.open` gives
   the same signals (float32), channel names, rates, events, spikes and stimuli;
6. **errors**: a missing path raises :class:`~neurodata.errors.MissingFileError`, an
   empty file (or empty folder) of the same name a
   :class:`~neurodata.errors.NeurodataError` whose message names the file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingFileError, NeurodataError
from ..provenance import sha256_file
from ..recording import Recording
from ._base import Reader
from ._registry import _READERS, ReaderSpec, find_reader

__all__ = ["check_reader", "ConformanceError"]


class ConformanceError(AssertionError):
    """A reader breaks the reader contract (the message says which check)."""


def _fail(reader: str, check: str, msg: str) -> None:
    raise ConformanceError(f"reader {reader!r} fails '{check}': {msg}")


def _spec(reader: Reader | ReaderSpec | str) -> ReaderSpec:
    if isinstance(reader, ReaderSpec):
        return reader
    name = reader if isinstance(reader, str) else reader.name
    for spec in _READERS:
        if spec.name == name:
            return spec
    raise ConformanceError(f"reader {name!r} is not registered (register_reader / register)")


def _same_recording(name: str, a: Recording, b: Recording) -> None:
    if sorted(a.timeseries) != sorted(b.timeseries):
        _fail(name, "round trip", f"blocks {sorted(a.timeseries)} became {sorted(b.timeseries)}")
    for key, ts in a.timeseries.items():
        other = b.timeseries[key]
        if ts.ch_names != other.ch_names:
            _fail(name, "round trip", f"channel names of {key!r} changed")
        if ts.rate != other.rate or ts.shape != other.shape:
            _fail(name, "round trip", f"{key!r}: rate/shape {ts.rate}/{ts.shape} became "
                  f"{other.rate}/{other.shape}")
        n = ts.n_times
        for lo, hi in {(0, min(n, 64)), (max(0, n - 64), n)}:
            x, y = ts.slice_samples(lo, hi), other.slice_samples(lo, hi)
            if not np.array_equal(x, y, equal_nan=True):
                _fail(name, "round trip", f"{key!r}: samples [{lo}, {hi}) differ after save")
        if not ts.is_regular and not np.array_equal(ts.timestamps, other.timestamps):
            _fail(name, "round trip", f"{key!r}: timestamps differ after save")
    ea, eb = a.events.to_dataframe(), b.events.to_dataframe()
    if len(ea) != len(eb) or not np.allclose(ea["onset"], eb["onset"]) \
            or ea["label"].tolist() != eb["label"].tolist():
        _fail(name, "round trip", "events differ after save")
    for key, st in a.spikes.items():
        if key not in b.spikes or not np.array_equal(st.times, b.spikes[key].times):
            _fail(name, "round trip", f"spike block {key!r} differs after save")
    if sorted(a.stimuli) != sorted(b.stimuli) or sorted(a.connectivity) != sorted(
            b.connectivity):
        _fail(name, "round trip", "stimuli or connectivity keys changed after save")


def check_reader(reader: Reader | ReaderSpec | str, sample: str | os.PathLike, *,
                 options: dict[str, Any] | None = None,
                 tmp_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check that ``reader`` honours the reader contract on ``sample``.

    Parameters
    ----------
    reader : Reader, ReaderSpec or str
        The reader (instance, registry entry or format name).
    sample : path-like
        A file (or folder) the reader reads.
    options : dict or None
        Reader options for this sample (e.g. ``channel_types``).
    tmp_dir : path-like or None
        Where to write the round-trip file and the broken copies (default: a
        temporary folder, removed afterwards).

    Returns
    -------
    dict
        What was checked: ``{"format", "blocks", "lazy", "skipped", "sources"}``.

    Raises
    ------
    ConformanceError
        The first check the reader fails, naming it.

    Examples
    --------
    >>> import neurodata as nd
    >>> from neurodata.io import check_reader
    >>> check_reader("EDF", nd.sample_path("eegmmidb_s001r04"))["format"]
    'EDF'
    """
    import neurodata as nd

    spec = _spec(reader)
    name = spec.name
    sample = Path(sample)
    options = dict(options or {})
    own_tmp = tmp_dir is None
    tmp = Path(tempfile.mkdtemp(prefix="check_reader_") if own_tmp else tmp_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        # a reader without extensions is only used by name (format=...)
        found = find_reader(sample, None if spec.extensions else name)
        if found.name != name:
            _fail(name, "dispatch", f"find_reader({sample.name!r}) picks {found.name!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = spec.reader(sample, **options)
        if not isinstance(rec, Recording):
            _fail(name, "reading", f"returned {type(rec).__name__}, not a Recording")

        prov = rec.provenance
        if not prov.get("loader"):
            _fail(name, "provenance", "no loader name")
        skipped = prov.get("skipped")
        if not isinstance(skipped, list) or not all(isinstance(s, str) for s in skipped):
            _fail(name, "provenance", f"provenance['skipped'] is {skipped!r}; expected a list "
                  "of what was not converted (empty when nothing)")
        sources = prov.get("sources") or []
        inside = [s for s in sources if Path(s["path"]) == sample.resolve()
                  or sample.resolve() in Path(s["path"]).parents]
        if not inside:
            _fail(name, "provenance", f"the sample {sample} is not among the sources "
                  f"{[s.get('name') for s in sources]}")
        for s in inside[:2]:
            if s["sha256"] != sha256_file(s["path"]):
                _fail(name, "provenance", f"sha256 of {s['name']} is wrong")

        lazy = bool(getattr(spec.reader, "lazy", False))
        if lazy:
            eager = [k for k, ts in rec.timeseries.items() if not ts.is_lazy]
            if eager:
                _fail(name, "laziness", f"declares lazy but blocks {eager} are in memory")
            for ts in rec.timeseries.values():
                n = min(ts.n_times, 32)
                if not np.array_equal(ts.slice_samples(0, n), ts.load().slice_samples(0, n),
                                      equal_nan=True):
                    _fail(name, "laziness", f"{ts.name!r}: a slice differs from the loaded data")

        out = rec.save(tmp / "roundtrip.h5", overwrite=True)
        report = nd.validate(out)
        if not report.ok:
            _fail(name, "round trip", f"the saved file does not validate: {report.errors[:3]}")
        with nd.open(out) as back:
            _same_recording(name, rec, back)

        missing = tmp / ("missing_" + sample.name)
        try:
            spec.reader(missing, **options)
        except MissingFileError:
            pass
        except Exception as exc:  # noqa: BLE001 - any other outcome breaks the contract
            _fail(name, "errors", f"a missing path raised {type(exc).__name__}, not "
                  "MissingFileError")
        else:
            _fail(name, "errors", "a missing path did not raise")

        broken_dir = tmp / "broken"
        broken_dir.mkdir(exist_ok=True)
        broken = broken_dir / sample.name
        if sample.is_dir():
            broken.mkdir(exist_ok=True)
        else:
            broken.write_bytes(b"")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spec.reader(broken, **options)
        except NeurodataError as exc:
            if sample.name not in str(exc):
                _fail(name, "errors", f"the error for an empty {sample.name} does not name "
                      f"the file: {exc}")
        except Exception as exc:  # noqa: BLE001
            _fail(name, "errors", f"an empty {sample.name} raised {type(exc).__name__} "
                  f"({exc}), not a project error")
        else:
            _fail(name, "errors", f"an empty {sample.name} was accepted")
        return {"format": name, "blocks": sorted(rec.timeseries), "lazy": lazy,
                "skipped": skipped, "sources": [s["name"] for s in sources]}
    finally:
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
