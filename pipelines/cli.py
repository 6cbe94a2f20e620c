"""The ``neuroloom`` command line.

Errors print one line to stderr and exit non-zero (1: bad input, 2: bad usage,
3: internal error); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import neurodata as nd
from neurodata.errors import NeurodataError

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def _parse_channel_types(pairs: Sequence[str]) -> dict[str, str] | None:
    out = {}
    for pair in pairs or ():
        name, sep, kind = pair.rpartition("=")
        if not sep or not name:
            raise NeurodataError(f"--channel-type expects NAME=TYPE; got {pair!r}")
        if kind not in nd.CHANNEL_TYPES:
            raise NeurodataError(f"--channel-type {pair!r}: type must be one of "
                                 f"{list(nd.CHANNEL_TYPES)}")
        out[name] = kind
    return out or None


def _convert_single(args: argparse.Namespace, src: Path) -> int:
    out = Path(args.output) if args.output else src.with_suffix(".h5")
    if out.resolve() == src.resolve():
        raise NeurodataError("output would overwrite the input; give -o OUT.h5", path=src)
    kwargs = {}
    types = _parse_channel_types(args.channel_type)
    if types:
        kwargs["channel_types"] = types
    rec = nd.load(src, format=args.format, **kwargs)
    path = rec.save(out, overwrite=args.overwrite, compression=args.compression)
    report = nd.validate(path)
    report.raise_if_invalid()
    blocks = ", ".join(f"{ts.name} {ts.n_channels}ch@{ts.rate:g}Hz" if ts.is_regular
                       else f"{ts.name} {ts.n_channels}ch" for ts in rec.timeseries.values())
    print(f"wrote {path} ({blocks}; {len(rec.events)} events)")
    return 0


def _convert_batch(args: argparse.Namespace) -> int:
    from neurodata.batch import INDEX_NAME, convert_many

    if not args.output:
        raise NeurodataError("converting folders, BIDS roots or several files needs an output "
                             "folder: -o OUTDIR")
    out = Path(args.output)
    if out.suffix.lower() in (".h5", ".hdf5"):
        raise NeurodataError(f"-o {out} looks like a file; give a folder for batch conversion")
    options = {}
    types = _parse_channel_types(args.channel_type)
    if types:
        options["channel_types"] = types
    table = convert_many(args.input, out, jobs=args.jobs, force=args.force, options=options,
                         progress=not args.quiet)
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
    single = (len(inputs) == 1 and inputs[0].is_file()
              and (args.output is None or Path(args.output).suffix.lower() in (".h5", ".hdf5")))
    if single:
        return _convert_single(args, inputs[0])
    if not inputs[0].exists() and len(inputs) == 1:
        raise nd.MissingFileError("no such file or folder; check the path", path=inputs[0])
    return _convert_batch(args)


def _format_info(s: dict) -> str:
    lines = [f"file        {s['path']}",
             f"format      neuroloom.recording {s['format_version']} "
             f"({s['software']}, created {s['created']})",
             f"subject     {s['subject']}",
             f"session     {s['session']}",
             f"duration    {s['duration_s']:g} s"]
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
    lines.append(f"provenance  loader {prov['loader']}")
    for src in prov["sources"]:
        lines.append(f"            source {src['name']} sha256 {src['sha256']}")
    for par in prov["parents"]:
        lines.append(f"            parent {par}")
    if prov["steps"]:
        lines.append(f"            steps {prov['steps']}")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.suffix.lower() in (".h5", ".hdf5"):
        with nd.open(path) as rec:
            summary = rec.summary()
    else:  # a source file: summarise what conversion would produce
        summary = nd.load(path, format=args.format).summary()
        summary["path"] = str(path)
    print(json.dumps(summary, indent=2, default=str) if args.json else _format_info(summary))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    report = nd.validate(args.file)
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


def cmd_samples(args: argparse.Namespace) -> int:
    import pandas as pd

    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(nd.list_samples()[["name", "modality", "file", "license"]].to_string(index=False))
    return 0


def cmd_formats(args: argparse.Namespace) -> int:
    print(nd.supported_formats().to_string(index=False))
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(prog="neuroloom",
                                description="Neural data in one format: convert, inspect, "
                                            "validate, analyse.")
    p.add_argument("--version", action="version", version=f"neuroloom {nd.__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser(
        "convert", help="convert source recordings (files, folders, BIDS roots) to .h5",
        description="One file: IN -o OUT.h5.  Several files, folders or BIDS roots: "
                    "IN... -o OUTDIR (parallel with --jobs; up-to-date outputs are skipped; "
                    "OUTDIR/index.csv lists what was converted).")
    c.add_argument("input", nargs="+", help="source files, folders or BIDS roots")
    c.add_argument("-o", "--output", help="output .h5 for one file, else an output folder")
    c.add_argument("-j", "--jobs", type=int, default=1, help="parallel worker processes")
    c.add_argument("--force", action="store_true", help="reconvert up-to-date outputs too")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.add_argument("--format", help="force a reader by name (see `neuroloom formats`)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing output")
    c.add_argument("--compression", choices=["gzip", "lzf"], default=None,
                   help="compress signals (smaller files, ~10x slower window reads)")
    c.add_argument("--channel-type", action="append", metavar="NAME=TYPE",
                   help="override a channel's type (repeatable), e.g. LA1=seeg")
    c.set_defaults(func=cmd_convert)

    i = sub.add_parser("info", help="summarise a recording (.h5) or a source file")
    i.add_argument("file")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.add_argument("--format", help="force a reader for source files")
    i.set_defaults(func=cmd_info)

    v = sub.add_parser("validate", help="check a .h5 file against the format contract")
    v.add_argument("file")
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("samples", help="list the bundled sample recordings")
    s.set_defaults(func=cmd_samples)

    f = sub.add_parser("formats", help="list the supported source formats")
    f.set_defaults(func=cmd_formats)

    d = sub.add_parser("demo", help="convert + validate the bundled samples, write a report")
    d.add_argument("--out", default="results/demo", help="output folder (default results/demo)")
    d.set_defaults(func=cmd_demo)

    from .commands import command_modules

    for module in command_modules():
        module.register(sub)
    return p


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neuroloom`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.verbose:
        nd.set_log_level("INFO")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except NeurodataError as exc:
        if args.debug:
            raise
        print(f"neuroloom {args.command}: error: {_one_line(exc)}", file=sys.stderr)
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
