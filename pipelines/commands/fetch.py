"""``neuroloom fetch NAME``: download a registered public dataset, verified by checksum."""

from __future__ import annotations

import argparse

__all__ = ["register", "cmd_fetch"]


def _size(n) -> str:
    import pandas as pd

    if pd.isna(n):  # unknown size (<NA>)
        return "?"
    n = int(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return "?"  # pragma: no cover


def cmd_fetch(args: argparse.Namespace) -> int:
    """Run ``neuroloom fetch``; returns the exit status."""
    from neurodata.datasets import fetch, get_data_home, list_datasets
    from neurodata.errors import NeurodataError

    if args.list:
        table = list_datasets()
        table["size"] = [_size(v) for v in table["size"]]
        cols = ["name", "modality", "n_files", "size", "verified", "license"]
        rows = [cols] + [[str(v) if len(str(v)) <= 60 else str(v)[:57] + "..." for v in r]
                         for r in table[cols].itertuples(index=False)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
        for r in rows:  # left-aligned, so names read as a list
            print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        print(f"\ndata home: {get_data_home(args.data_home)}  (set with --data-home or "
              "NEURODATA_DATA); verified: files with a registered checksum - fetch "
              "others with --known-hash or --allow-unverified")
        return 0
    if not args.name:
        raise NeurodataError("give a dataset NAME (see `neuroloom fetch --list`)")
    known = None
    if args.known_hash:
        pairs = [h.rpartition("=") for h in args.known_hash]
        if all(sep for _, sep, _ in pairs):
            known = {path: digest for path, _, digest in pairs}
        elif len(pairs) == 1:
            known = args.known_hash[0]
        else:
            raise NeurodataError("--known-hash: give FILE=HASH for each file when there are "
                                 f"several; got {args.known_hash}")
    try:
        ds = fetch(args.name, data_home=args.data_home,
                   download_if_missing=not args.no_download, base_url=args.base_url,
                   files=args.file or None, known_hash=known,
                   allow_unverified=args.allow_unverified)  # progress: the CLI's log level
    except ValueError as exc:  # bad --known-hash text
        if isinstance(exc, NeurodataError):
            raise
        raise NeurodataError(str(exc)) from None
    for path in ds.files:
        print(path)
    for rel, digest in ds.sha256.items():
        print(f"sha256 {digest}  {rel}")
    print(f"{ds.name}: {len(ds.files)} file(s) in {ds.path} ({len(ds.downloaded)} downloaded)")
    print(f"license: {ds.license}")
    print(f"cite: {ds.citation}")
    return 0


def register(subparsers) -> None:
    """Add the ``fetch`` subcommand."""
    p = subparsers.add_parser(
        "fetch", help="download a registered public dataset (checksum-verified)",
        description="Download a registered public dataset into the data home "
                    "($NEURODATA_DATA or ~/neurodata_data), verifying each file's checksum. "
                    "Files already there are not downloaded again.")
    p.add_argument("name", nargs="?", help="dataset name (see --list)")
    p.add_argument("--list", action="store_true", help="list the registered datasets")
    p.add_argument("--data-home", metavar="DIR", default=None,
                   help="folder to download into (default $NEURODATA_DATA or ~/neurodata_data)")
    p.add_argument("--file", action="append", metavar="PATH",
                   help="only this file of the dataset (registry path or shell pattern; "
                        "repeatable)")
    p.add_argument("--base-url", metavar="URL", default=None,
                   help="fetch every file from URL + file path (a mirror)")
    p.add_argument("--known-hash", action="append", metavar="[FILE=]HASH",
                   help="checksum from the provider for files registered without one")
    p.add_argument("--allow-unverified", action="store_true",
                   help="download files that have no checksum (prints their SHA-256)")
    p.add_argument("--no-download", action="store_true",
                   help="only report cached files; error if any is missing")
    p.set_defaults(func=cmd_fetch)
