"""The ``neuroloom`` command line.

Errors print one line to stderr and exit non-zero (1: bad input, 2: bad usage,
3: internal error); ``--debug`` shows the traceback instead.

Progress bars and INFO messages are on by default (``-q`` silences them, ``-v`` adds
DEBUG messages); the Python API keeps its quiet default (``verbose=None``).  Every
command refuses to replace an existing output unless given ``--overwrite``.

Start-up is kept fast (``neuroloom --help`` in well under 0.5 s): nothing heavy is
imported at module level, and a subcommand module of :mod:`pipelines.commands` is
imported only when that subcommand runs; the top-level help reads the other commands'
one-line help from their source (:func:`command_summaries`).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import neurodata as nd  # light: its names are imported on first use
from neurodata.errors import NeurodataError

__all__ = ["main", "build_parser", "command_summaries", "H5_SUFFIXES"]

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

#: Output suffixes that mean "one recording file".
H5_SUFFIXES = (".h5", ".hdf5")
_WIDTH = 100  # listings wrap at this many columns


# --------------------------------------------------------------------------- parser set-up
class HelpFormatter(argparse.HelpFormatter):
    """Help that states each option's default (when it has a meaningful one) and wraps
    descriptions paragraph by paragraph (blank lines are kept)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(textwrap.fill(" ".join(p.split()), width, initial_indent=indent,
                                         subsequent_indent=indent)
                           for p in text.split("\n\n"))

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("width", _WIDTH)
        kwargs.setdefault("max_help_position", 32)
        super().__init__(prog, **kwargs)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default not in (None, False, argparse.SUPPRESS) and "default" not in text
                and "%(default)" not in text and action.option_strings
                and not isinstance(action, argparse._VersionAction)):
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """ArgumentParser with the neuroloom help formatter and the shared -q/-v options.

    ``-q``/``-v`` use ``default=SUPPRESS`` so that a subcommand's parser does not reset
    the value given before the subcommand (``neuroloom -q convert`` and ``neuroloom
    convert -q`` both work).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(*args, **kwargs)
        self.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                          help="no progress bars or INFO messages")
        self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="also DEBUG messages")


class _Version(argparse.Action):
    """``--version`` that imports the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"neuroloom {nd.__version__}")
        parser.exit()


def command_summaries() -> dict[str, tuple[str, str]]:
    """Subcommands of :mod:`pipelines.commands` without importing them.

    Reads each module's source and finds the ``add_parser(NAME, help=...)`` calls made
    on ``register``'s argument, so ``neuroloom --help`` does not import numpy, torch or
    the analysis code.  Nothing is executed: the source is only parsed.

    Returns
    -------
    dict
        ``{command: (module name, one-line help)}`` in module order.
    """
    import ast
    import importlib.util
    import pkgutil

    from . import commands

    out: dict[str, tuple[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        spec = importlib.util.find_spec(f"{commands.__name__}.{info.name}")
        source = spec.loader.get_source(spec.name) if spec and spec.loader else None
        if not source:
            continue
        for node in ast.parse(source).body:
            if not (isinstance(node, ast.FunctionDef) and node.name == "register"
                    and node.args.args):
                continue
            arg = node.args.args[0].arg
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "add_parser"
                        and isinstance(call.func.value, ast.Name) and call.func.value.id == arg
                        and call.args and isinstance(call.args[0], ast.Constant)):
                    text = next((k.value.value for k in call.keywords if k.arg == "help"
                                 and isinstance(k.value, ast.Constant)), "")
                    out[str(call.args[0].value)] = (info.name, str(text))
    return out


# --------------------------------------------------------------------------- convert
def _parse_channel_types(pairs: Sequence[str] | None) -> list[tuple[str, str]]:
    out = []
    for pair in pairs or ():
        name, sep, kind = pair.rpartition("=")
        if not sep or not name:
            raise NeurodataError(f"--channel-type expects NAME=TYPE; got {pair!r}")
        if kind not in nd.CHANNEL_TYPES:
            raise NeurodataError(f"--channel-type {pair!r}: type must be one of "
                                 f"{list(nd.CHANNEL_TYPES)}")
        out.append((name, kind))
    return out


def _output_kind(raw: str | None) -> str | None:
    """'file' for a .h5 name, 'folder' for an existing or new folder, else an error."""
    if raw is None:
        return None
    out = Path(raw)
    if out.suffix.lower() in H5_SUFFIXES:
        return "file"
    if out.is_dir() or raw.endswith(("/", "\\")):
        return "folder"
    if out.exists():
        raise NeurodataError("-o names an existing file that is not a .h5 recording; give "
                             "OUT.h5 or a folder", path=out)
    if out.suffix:
        raise NeurodataError(f"-o must be a .h5 file (one recording) or a folder; "
                             f"{out.name!r} ends in {out.suffix!r} (for a new folder whose "
                             "name has a dot, end it with '/')", path=out)
    return "folder"


def _single_recording_source(path: Path, fmt: str | None) -> bool:
    """True for a file, or a folder one reader takes as one recording (suite2p plane,
    nelpy linear track), False for a folder of several sources (or a BIDS root)."""
    if path.is_file():
        return True
    if not path.is_dir():
        return False
    from neurodata.io import find_reader

    try:
        spec = find_reader(path, fmt)
    except NeurodataError:
        return False
    return bool(getattr(spec, "folder", False)) or fmt is not None


def _bundled_sample(path: Path) -> str | None:
    """Name of the bundled sample this file is (same name and sha256), if any."""
    import hashlib

    from neurodata.samples import SAMPLES, sample_path

    for name, sample in SAMPLES.items():
        try:
            candidate = sample_path(name)
        except NeurodataError:
            continue
        if candidate.name != path.name:
            continue
        if candidate.resolve() == path.resolve():
            return name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest == getattr(sample, "sha256", None):
            return name
    return None


def _channel_types_for(src: Path, args: argparse.Namespace,
                       electrodes) -> dict[str, str] | None:
    """Channel types from --electrodes (the table's names) and --channel-type
    (exact names or shell patterns, matched against the source's channel names)."""
    import fnmatch

    pairs = _parse_channel_types(args.channel_type)
    if electrodes is None and not pairs:
        return None
    types: dict[str, str] = {}
    if electrodes is not None:
        types.update({str(n): args.electrode_type for n in electrodes["name"]})
    if any(any(c in name for c in "*?[") for name, _ in pairs):
        rec = nd.load(src, format=args.format)  # header only: the channel names
        names = [c for ts in rec.timeseries.values() for c in ts.channels["name"]]
    else:
        names = []
    for pattern, kind in pairs:
        matched = fnmatch.filter(names, pattern) if names else []
        for name in matched or [pattern]:
            types[name] = kind
    return types


def _convert_single(args: argparse.Namespace, src: Path, out: Path) -> int:
    from neurodata.electrodes import apply_electrodes, read_electrodes
    from neurodata.log import logger
    from neurodata.naming import apply_metadata

    if out.resolve() == src.resolve():
        raise NeurodataError("output would overwrite the input; give -o OUT.h5", path=src)
    electrodes = read_electrodes(args.electrodes) if args.electrodes else None
    types = _channel_types_for(src, args, electrodes)
    if out.exists() and not args.overwrite:
        raise nd.WriteError("the output file already exists; pass --overwrite to replace it",
                            path=out)
    sample = None
    if types is None and electrodes is None and args.format is None:
        sample = _bundled_sample(src)
    if sample is not None:  # the bundled samples load with their sidecars, as in the demo
        logger.info("%s is the bundled sample %r: loading it as nd.load_sample(%r) does",
                    src.name, sample, sample)
        rec = nd.load_sample(sample)
    else:
        rec = nd.load(src, format=args.format,
                      **({"channel_types": types} if types else {}))
    if electrodes is not None:
        n = apply_electrodes(rec, electrodes, unit=args.electrode_unit,
                             coord_frame=args.coord_frame)
        logger.info("electrode positions for %d channels from %s", n, args.electrodes)
    meta = apply_metadata(rec, subject=args.subject, session=args.session, task=args.task,
                          run=args.run, from_name=src)
    path = rec.save(out, overwrite=args.overwrite, compression=args.compression)
    report = nd.validate(path)
    report.raise_if_invalid()
    blocks = ", ".join(f"{ts.name} {ts.n_channels}ch@{ts.rate:g}Hz" if ts.is_regular
                       else f"{ts.name} {ts.n_channels}ch" for ts in rec.timeseries.values())
    spikes = "".join(f", spikes {s.n_units} units" for s in rec.spikes.values())
    who = f"; subject {rec.subject.get('id')}, session {rec.session.get('id')}"
    if "run" in rec.session:
        who += f", run {rec.session['run']}"
    print(f"wrote {path} ({blocks or 'no signals'}{spikes}; {len(rec.events)} events{who})")
    if meta:
        logger.debug("metadata set: %s", meta)
    return 0


def _convert_batch(args: argparse.Namespace) -> int:
    from neurodata.batch import INDEX_NAME, convert_many
    from neurodata.log import progress_enabled

    out = Path(args.output)
    given = [o for o in ("subject", "session", "run", "electrodes") if getattr(args, o)]
    if given:
        raise NeurodataError(f"--{given[0]} applies to one recording (-o OUT.h5); when "
                             "converting into a folder, subject/session/run come from BIDS "
                             "and known file names")
    options: dict[str, Any] = {}
    pairs = _parse_channel_types(args.channel_type)
    if pairs:
        options["channel_types"] = dict(pairs)
    table = convert_many(args.input, out, jobs=args.jobs, force=args.force, options=options,
                         progress=progress_enabled())
    counts = table["status"].value_counts().to_dict()
    print(f"converted {counts.get('converted', 0)}, skipped (up to date) "
          f"{counts.get('skipped', 0)}, failed {counts.get('failed', 0)}; "
          f"index: {out.absolute() / INDEX_NAME}")
    failed = table[table["status"] == "failed"]
    if len(failed):
        first = failed.iloc[0]
        raise NeurodataError(f"{len(failed)} of {len(table)} sources failed (first: "
                             f"{first['error']}); see {out / INDEX_NAME}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    inputs = [Path(p) for p in args.input]
    for p in inputs:
        if not p.exists():
            raise nd.MissingFileError("no such file or folder; check the path", path=p)
    kind = _output_kind(args.output)
    one = len(inputs) == 1 and _single_recording_source(inputs[0], args.format)
    if kind == "folder":
        return _convert_batch(args)
    if not one:
        what = (f"{inputs[0]} is a folder of several sources" if len(inputs) == 1
                else f"{len(inputs)} sources were given")
        raise NeurodataError(f"{what}; they convert into a folder: -o OUTDIR"
                             + (f" (not {args.output})" if args.output else ""))
    src = inputs[0]
    out = Path(args.output) if args.output else src.parent / (src.name.split(".")[0] + ".h5")
    return _convert_single(args, src, out)


# --------------------------------------------------------------------------- info & co
def _format_info(s: dict) -> str:
    def some(value: Any) -> bool:
        return value not in (None, "", "unknown", [], {})

    lines = [f"file        {s['path']}"]
    if some(s.get("format_version")):
        made = ", ".join(v for v in (s.get("software"), f"created {s['created']}"
                                     if some(s.get("created")) else None) if some(v))
        lines.append(f"format      neuroloom.recording {s['format_version']}"
                     + (f" ({made})" if made else ""))
    else:
        lines.append("format      source file, not converted (what `neuroloom convert` "
                     "would write)")
    for key in ("subject", "session"):
        fields = ", ".join(f"{k} {v}" for k, v in s[key].items() if k != "id" and some(v))
        ident = s[key].get("id", "unknown")
        lines.append(f"{key:<12}{ident}" + (f" ({fields})" if fields else ""))
    lines.append(f"duration    {s['duration_s']:g} s")
    for t in s["timeseries"]:
        rate = f"{t['rate_hz']:g} Hz" if t["rate_hz"] else "irregular"
        kinds = ", ".join(f"{n} {k}" for k, n in t["channel_types"].items())
        lines.append(f"timeseries  {t['name']:<8} {t['modality']:<6} {t['n_channels']:>4} ch "
                     f"({kinds}) × {t['n_times']} samples @ {rate}, {t['duration_s']:g} s, "
                     f"units {','.join(t['units'])}, bad {t['bad_channels'] or 'none'}")
    for sp in s["spikes"]:
        lines.append(f"spikes      {sp['name']}: {sp['n_units']} units, {sp['n_spikes']} spikes")
    ev = s["events"]
    lines.append(f"events      {ev['n_events']} {ev['counts'] if ev['counts'] else ''}".rstrip())
    for c in s["connectivity"]:
        lines.append(f"connectivity {c}")
    prov = s["provenance"]
    if some(prov.get("loader")):
        lines.append(f"provenance  loader {prov['loader']}")
    for src in prov["sources"]:
        lines.append(f"            source {src['name']} sha256 {src['sha256']}")
    for par in prov["parents"]:
        lines.append(f"            parent {par}")
    if prov["steps"]:
        lines.append(f"            steps {', '.join(map(str, prov['steps']))}")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.suffix.lower() in H5_SUFFIXES:
        with nd.open(path) as rec:
            summary = rec.summary()
    else:  # a source file: summarise what conversion would produce
        from neurodata.naming import apply_metadata

        sample = _bundled_sample(path) if args.format is None and path.is_file() else None
        rec = nd.load_sample(sample) if sample else nd.load(path, format=args.format)
        apply_metadata(rec, from_name=path)
        summary = rec.summary()
        summary["path"] = str(path)
    print(json.dumps(summary, indent=2, default=str) if args.json else _format_info(summary))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    report = nd.validate(args.file, fast=getattr(args, "fast", False))
    if report.ok:
        note = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
        print(f"{args.file}: valid{note}")
        for w in report.warnings:
            print(f"  warning: {w}")
        return 0
    print(str(report))  # every violation, one per line, on stdout
    print(f"neuroloom validate: error: {args.file}: {len(report.errors)} violation(s) of the "
          "recording format (listed above)", file=sys.stderr)
    return EXIT_BAD_INPUT


def _listing(rows: list[dict[str, str]], columns: Sequence[str], detail: str | None) -> str:
    """Aligned columns, then an indented, wrapped detail line per row (≤ 100 columns)."""
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    for r in rows:
        lines.append("  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip())
        if detail and r.get(detail):
            lines += textwrap.wrap(str(r[detail]), _WIDTH, initial_indent="    ",
                                   subsequent_indent="    ")
    return "\n".join(lines)


def cmd_samples(args: argparse.Namespace) -> int:
    table = nd.list_samples()
    rows = [{k: str(v) for k, v in r.items()} for r in table.to_dict("records")]
    for r in rows:
        r["description"] = f"{r['description']} License: {r['license']}."
    print(_listing(rows, ["name", "modality", "file"], "description"))
    return 0


def cmd_formats(args: argparse.Namespace) -> int:
    table = nd.supported_formats()
    rows = [{k: str(v) for k, v in r.items()} for r in table.to_dict("records")]
    for r in rows:
        r["detail"] = f"{r['modality']}; reader {r['reader']}; keeps {r['keeps']}"
    print(_listing(rows, ["format", "extensions"], "detail"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(args.out)
    print(result.table.to_string(index=False))
    print(f"\nconverted files: {Path(args.out).absolute()}")
    for name, path in result.analyses.items():
        print(f"{name}: {Path(path).absolute()}")
    print(f"report: {result.report}")
    return 0


# --------------------------------------------------------------------------- parser
def _add_core_commands(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "convert", help="convert source recordings (files, folders, BIDS roots) to .h5",
        description="One recording (a file, or a folder one reader takes whole: suite2p "
                    "plane0/, nelpy linear track): IN -o OUT.h5.  Several files, folders or "
                    "BIDS roots: IN... -o OUTDIR (parallel with --jobs; up-to-date outputs "
                    "are skipped; OUTDIR/index.csv lists what was converted).\n\n"
                    "Subject, session, task and run are read from BIDS names and known "
                    "file names (EEGMMIDB S001R04: subject S001, run 4) unless given.  "
                    "The bundled samples convert with their sidecars, as in the demo.")
    c.add_argument("input", nargs="+", help="source files, folders or BIDS roots")
    c.add_argument("-o", "--output", help="output .h5 for one recording, else an output "
                   "folder (default: IN with the suffix .h5, for one recording)")
    c.add_argument("-j", "--jobs", type=int, default=1, help="parallel worker processes")
    c.add_argument("--force", action="store_true", help="reconvert up-to-date outputs too")
    c.add_argument("--format", help="force a reader by name (see `neuroloom formats`)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing output")
    c.add_argument("--compression", choices=["gzip", "lzf"], default=None,
                   help="compress signals (smaller files; window reads ~30-50x slower, "
                        "see README 'Speed of window reads'; default: none)")
    meta = c.add_argument_group("metadata (one recording; default: parsed from the name)")
    meta.add_argument("--subject", help="subject id")
    meta.add_argument("--session", help="session id")
    meta.add_argument("--task", help="task name (Dataset.select(task=...) matches it)")
    meta.add_argument("--run", type=int, help="run number")
    side = c.add_argument_group("channels and sidecars")
    side.add_argument("--channel-type", action="append", metavar="NAME=TYPE",
                      help="set a channel's type (repeatable; NAME may be a shell pattern), "
                           "e.g. LA1=seeg or 'EKG*=ecg'")
    side.add_argument("--electrodes", metavar="TSV",
                      help="electrodes table (name, x, y, z): positions for those channels, "
                           "which also get --electrode-type")
    side.add_argument("--electrode-type", default="seeg", choices=("seeg", "ecog", "eeg"),
                      help="channel type of the channels named in --electrodes")
    side.add_argument("--electrode-unit", default="mm", choices=("mm", "cm", "m"),
                      help="unit of the --electrodes positions")
    side.add_argument("--coord-frame", default="unknown",
                      help="coordinate frame of the --electrodes positions (e.g. mni_tal)")
    c.set_defaults(func=cmd_convert)

    i = sub.add_parser("info", help="summarise a recording (.h5) or a source file")
    i.add_argument("file", help="a converted .h5 or any supported source file")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.add_argument("--format", help="force a reader for source files")
    i.set_defaults(func=cmd_info)

    v = sub.add_parser("validate", help="check a .h5 file against the format contract")
    v.add_argument("file", help="a .h5 recording")
    v.add_argument("--fast", action="store_true",
                   help="skip the checksum pass over the data (structure checks only)")
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("samples", help="list the bundled sample recordings")
    s.set_defaults(func=cmd_samples)

    f = sub.add_parser("formats", help="list the supported source formats")
    f.set_defaults(func=cmd_formats)

    d = sub.add_parser("demo", help="convert + validate the bundled samples, write a report")
    d.add_argument("--out", default="results/demo", help="output folder")
    d.set_defaults(func=cmd_demo)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests).

    Parameters
    ----------
    command : str or None
        ``None`` imports every subcommand module (the full parser).  A command name
        imports only the module defining it; the other subcommands get a placeholder
        parser that carries their help line (enough for ``neuroloom --help``).
    """
    p = Parser(prog="neuroloom",
               description="Neural data in one format: convert, inspect, validate, analyse.")
    p.add_argument("--version", action=_Version)
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    _add_core_commands(sub)

    import importlib

    summaries = command_summaries()
    wanted = {summaries[command][0]} if command in summaries else set()
    if command is None:
        wanted = {module for module, _ in summaries.values()}
    seen: set[str] = set()
    for name, (module, text) in summaries.items():
        if module in wanted:
            if module not in seen:
                importlib.import_module(f"{__package__}.commands.{module}").register(sub)
                seen.add(module)
        else:
            sub.add_parser(name, help=text)
    return p


def _command_word(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _bad_data_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that only ever mean a damaged or absurd input file: decompression
    errors, short reads and allocations sized by a header (MemoryError)."""
    import gzip
    import struct
    import zipfile
    import zlib

    return (MemoryError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile, EOFError,
            struct.error)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neuroloom`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_word(argv) or "")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    import logging

    from neurodata.log import logger, set_log_level, use_log_level

    set_log_level(None)  # installs the package handler; then point it at this stderr
    for handler in logger.handlers:  # (it keeps the stream it was made with, which
        if type(handler) is logging.StreamHandler:  # may be closed: no setStream flush)
            handler.stream = sys.stderr
    level = ("WARNING" if getattr(args, "quiet", False)
             else "DEBUG" if getattr(args, "verbose", False) else "INFO")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        with use_log_level(level):
            return func(args)
    except NeurodataError as exc:
        if args.debug:
            raise
        print(f"neuroloom {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except _bad_data_errors() as exc:  # a third-party parser's "bad file" that escaped
        if args.debug:                 # a reader: bad input (1), not our bug (3)
            raise
        print(f"neuroloom {args.command}: error: the input could not be read "
              f"({type(exc).__name__}: {_one_line(exc)})", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("neuroloom: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback without --debug
        if args.debug:
            raise
        print(f"neuroloom {args.command}: internal error: {type(exc).__name__}: "
              f"{_one_line(exc)} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
