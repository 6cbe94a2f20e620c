"""The reader base: what every source-format reader shares.

In the spirit of MNE's ``BaseRaw``, a format supplies only what is specific to it
(how to recognise the content, how to parse the header, how to read the data into
objects); :class:`Reader` does the rest, the same way for every format:

- **path checks**: a missing path is a :class:`~neurodata.errors.MissingFileError`, a
  folder given to a file format (or the reverse) a :class:`FormatError`;
- **error wrapping**: anything a parser raises on bad bytes (``ValueError``,
  ``OSError``, ``KeyError``, ``EOFError``, ``zlib``/``zipfile``/``struct`` errors,
  ``MemoryError`` on absurd declared sizes ...) becomes a :class:`FormatError` naming
  the file, the format and what the parser said;
- **provenance**: sha256 of every source file, the loader's dotted name, its options
  and the versions of the parsing libraries (:meth:`Reader.recording`);
- **skipped content**: the names of what the file holds but the reader did not
  convert go to ``provenance["skipped"]`` and are warned about once per call, so a
  reader never loses something silently;
- **laziness** is the format's job (return ``h5py``/memory-mapped arrays, or
  :class:`~neurodata.timeseries.TimeSeries` over an object with row slicing), and
  :func:`neurodata.io.check_reader` tests it.

A new format subclasses :class:`Reader`, sets the class attributes and implements
:meth:`Reader.read` (or the pair :meth:`Reader.read_header` + :meth:`Reader.read_data`),
then registers one instance with :func:`register`::

    class MyReader(Reader):
        name = "My format"
        extensions = (".myf",)
        modality = "EEG"
        library = "numpy"
        keeps = "signals in V"
        loader = "mypackage.read_my"

        def read_header(self, path, **options):
            return parse_header(path)          # cheap: no signal data

        def read_data(self, path, header, **options):
            ts = TimeSeries(np.memmap(path, ...), rate=header["rate"], ...)
            return self.recording([ts], parameters=options, skipped=header["unknown"])

    read_my = register(MyReader())             # nd.load("x.myf") now works
"""

from __future__ import annotations

import inspect
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from ..errors import FormatError, MissingFileError, NeurodataError
from ..log import use_log_level, warn
from ..provenance import make_provenance
from ..recording import Recording
from ._registry import ReaderSpec, register_reader

__all__ = ["Reader", "FunctionReader", "register", "wrap_errors", "is_parser_error",
           "PARSER_ERRORS"]

#: What third-party parsers raise on bad bytes (mapped to FormatError by the base).
PARSER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, OSError, KeyError, IndexError, TypeError, EOFError, AttributeError,
    RuntimeError, AssertionError, UnicodeDecodeError, zlib.error, zipfile.BadZipFile,
    struct.error, NotImplementedError, OverflowError,
)


#: Modules whose own exception classes mean "these bytes are not parseable" (scipy's
#: MatReadError, csv.Error, pickle.UnpicklingError, h5py/hdmf/nibabel/mne errors).
PARSER_MODULES: tuple[str, ...] = (
    "scipy.io", "csv", "_csv", "pickle", "_pickle", "h5py", "hdmf", "pynwb", "nibabel", "mne",
    "mne_bids", "openpyxl", "zipfile", "gzip", "xml", "json", "pandas.errors", "numpy",
)


def is_parser_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a parser's complaint about its input (not a bug of ours)."""
    if isinstance(exc, PARSER_ERRORS + (MemoryError,)):
        return True
    module = type(exc).__module__ or ""
    return any(module == m or module.startswith(m + ".") for m in PARSER_MODULES)


def wrap_errors(exc: BaseException, path: Path, what: str) -> NeurodataError:
    """The project error for ``exc`` raised while reading ``path`` as ``what``."""
    if isinstance(exc, NeurodataError):
        return exc
    if isinstance(exc, MemoryError):
        return FormatError(f"could not be read as {what}: a size declared in the file does "
                           "not fit in memory (MemoryError); the file is corrupt or not "
                           f"{what}", path=path)
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return FormatError(f"could not be read as {what} ({type(exc).__name__}"
                       f"{': ' + detail if detail else ''}); expected a valid, complete "
                       f"{what} file", path=path)


class Reader:
    """Base class of source-format readers (see the module docstring).

    Class attributes
    ----------------
    name : str
        Format name (``format=`` in :func:`neurodata.load`).
    extensions : tuple of str
        Lower-case name endings; for folder formats the folder names ("" = any).
    modality, library, keeps : str
        Documentation rows of :func:`neurodata.io.supported_formats`.
    loader : str
        Dotted name of the public function, recorded in provenance.
    folder : bool
        The format is a folder rather than a file.
    packages : tuple of str
        Libraries whose versions go to provenance.
    lazy : bool
        The reader leaves signal data in the source until sliced
        (:func:`check_reader` checks it).
    """

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    modality: ClassVar[str] = ""
    library: ClassVar[str] = ""
    keeps: ClassVar[str] = ""
    loader: ClassVar[str] = ""
    folder: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ()
    lazy: ClassVar[bool] = False

    # ------------------------------------------------------------------ format hooks
    def sniff(self, path: Path) -> bool:
        """True when the content is this format (only asked when extensions collide)."""
        raise NotImplementedError

    def read_header(self, path: Path, **options: Any) -> Any:
        """Parse what describes the data (names, rate, sizes) without reading it."""
        return None

    def read_data(self, path: Path, header: Any, **options: Any) -> Recording:
        """Build the recording from the header (data lazily where possible)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither read() nor "
                                  "read_data()")

    def read(self, path: Path, **options: Any) -> Recording:
        """Format-specific reading; default ``read_data(path, read_header(path))``."""
        return self.read_data(path, self.read_header(path, **options), **options)

    # ------------------------------------------------------------------ the base's work
    def check_path(self, path: str | os.PathLike) -> Path:
        """The path as a :class:`~pathlib.Path`; errors when it is missing or the wrong kind."""
        p = Path(path)
        if not p.exists():
            raise MissingFileError(f"no such {'folder' if self.folder else 'file'}; check "
                                   "the path", path=p)
        if self.folder and not p.is_dir():
            raise FormatError(f"is a file; {self.name} is a folder format", path=p)
        if not self.folder and p.is_dir():
            raise FormatError(f"is a folder; {self.name} reads a file", path=p)
        return p

    def __call__(self, path: str | os.PathLike, *, verbose: bool | str | None = None,
                 **options: Any) -> Recording:
        if verbose is not None:
            with use_log_level(verbose):
                return self(path, **options)
        p = self.check_path(path)
        # an unknown option is the caller's mistake (TypeError), not a bad file
        inspect.signature(self.read).bind(p, **options)
        try:
            return self.read(p, **options)
        except NeurodataError:
            raise
        except MemoryError as exc:
            raise wrap_errors(exc, p, self.name) from None
        except Exception as exc:
            if is_parser_error(exc):
                raise wrap_errors(exc, p, self.name) from exc
            raise

    def sources(self, path: Path) -> list[Path]:
        """Files whose bytes the recording comes from (hashed into provenance)."""
        return [path] if path.is_file() else sorted(q for q in path.iterdir() if q.is_file())

    def recording(self, timeseries: Iterable[Any] | None = None, *, path: Path,
                  sources: Sequence[str | os.PathLike] | None = None,
                  parameters: dict[str, Any] | None = None,
                  skipped: Sequence[str] = (), packages: tuple[str, ...] | None = None,
                  warn_skipped: bool = True, steps: Sequence[dict[str, Any]] = (),
                  **fields: Any) -> Recording:
        """A :class:`Recording` with this reader's provenance and skipped-content list.

        Parameters
        ----------
        timeseries : iterable of TimeSeries or None
        path : Path
            The source file or folder (named in the skipped-content warning).
        sources : sequence of path-like or None
            Every file read (default :meth:`sources` of ``path``).
        parameters : dict or None
            The reader's options, recorded in provenance.
        skipped : sequence of str
            What the file holds that was not converted (variables, groups, objects);
            recorded as ``provenance["skipped"]`` and warned about.
        packages : tuple of str or None
            Parsing libraries (default :attr:`packages`).
        warn_skipped : bool, default=True
            Warn about ``skipped``; ``False`` for a reader that combines other readers'
            recordings, which have already warned about what they skipped.
        steps : sequence of dict
            Processing done while reading (``{"name", "parameters"}``, e.g. a
            cleaning step), recorded as ``provenance["steps"]``.
        **fields
            ``spikes``, ``events``, ``subject``, ``session``, ``connectivity``,
            ``stimuli`` for :class:`Recording`.
        """
        prov = self.provenance(path=path, sources=sources, parameters=parameters,
                               skipped=skipped, packages=packages, warn_skipped=warn_skipped,
                               steps=steps)
        return Recording(timeseries, provenance=prov, **fields)

    def provenance(self, *, path: Path, sources: Sequence[str | os.PathLike] | None = None,
                   parameters: dict[str, Any] | None = None, skipped: Sequence[str] = (),
                   packages: tuple[str, ...] | None = None,
                   warn_skipped: bool = True,
                   steps: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """This reader's provenance dict (see :meth:`recording` for the parameters).

        For readers that build the :class:`Recording` through another converter (MNE's
        ``Raw`` → :func:`neurodata.from_mne`): the skipped-content list is recorded
        and warned about here.
        """
        srcs = list(sources) if sources is not None else self.sources(path)
        prov = make_provenance(sources=srcs, loader=self.loader, parameters=parameters,
                               steps=list(steps),
                               packages=self.packages if packages is None else packages)
        skipped = [str(s) for s in skipped]
        prov["skipped"] = skipped
        if skipped and warn_skipped:
            shown = ", ".join(skipped[:12]) + (f" and {len(skipped) - 12} more"
                                                if len(skipped) > 12 else "")
            warn(f"{path}: not converted by the {self.name} reader: {shown} (listed in "
                 "provenance['skipped'])")
        return prov

    @contextmanager
    def parsing(self, path: Path) -> Iterator[None]:
        """Every exception of a third-party parser's call inside becomes a FormatError.

        The base wraps only known parser errors around :meth:`read` (so a bug of ours
        still shows as itself); a library whose every failure on its input means "bad
        file" (MNE's readers) is called inside this block.
        """
        try:
            yield
        except NeurodataError:
            raise
        except Exception as exc:
            raise wrap_errors(exc, path, self.name) from exc

    def spec(self) -> ReaderSpec:
        """The registry entry of this reader."""
        has_sniff = type(self).sniff is not Reader.sniff
        return ReaderSpec(self.name, tuple(self.extensions), self.modality, self,
                          self.library, self.keeps, folder=self.folder,
                          sniff=self.sniff if has_sniff else None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({' '.join(self.extensions)})>"


class FunctionReader(Reader):
    """The reader base around a plain reading function (a registry entry without a class).

    ``nd.load`` then gives the function the base's path checks, error wrapping and the
    ``provenance["skipped"]`` key (empty: a function reader lists nothing it skipped
    unless it sets the key itself).
    """

    def __init__(self, spec: ReaderSpec):
        self.name = spec.name
        self.extensions = tuple(spec.extensions)
        self.modality, self.library, self.keeps = spec.modality, spec.library, spec.keeps
        self.folder = spec.folder
        self.function = spec.reader
        self.loader = f"{getattr(spec.reader, '__module__', '')}." \
                      f"{getattr(spec.reader, '__qualname__', '')}"
        self._sniff = spec.sniff

    def sniff(self, path: Path) -> bool:
        return bool(self._sniff(path)) if self._sniff is not None else True

    def read(self, path: Path, **options: Any) -> Recording:
        rec = self.function(path, **options)
        if isinstance(rec, Recording):
            rec.provenance.setdefault("skipped", [])
        return rec


def register(reader: Reader) -> Reader:
    """Register ``reader`` (an instance of a :class:`Reader` subclass); return it."""
    register_reader(reader.spec())
    return reader
