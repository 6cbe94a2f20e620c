"""``neuroloom homogenize IN.h5 -o OUT.h5``: common rate, channel vocabulary and scale.

Calls :func:`neurodata.homogenize` on one recording and saves the result (a new
recording whose provenance names its parent; the input is never edited).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "cmd_homogenize"]


def cmd_homogenize(args: argparse.Namespace) -> int:
    """Run ``neuroloom homogenize``."""
    import neurodata as nd

    src = Path(args.input)
    if not src.exists():
        raise nd.MissingFileError("no such recording; convert one with `neuroloom convert`",
                                  path=src)
    out = Path(args.output)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise nd.NeurodataError("the output must be a .h5 file", path=out)
    if out.exists() and not args.overwrite:
        raise nd.NeurodataError("output exists; pass --overwrite to replace it", path=out)
    rec = nd.homogenize([src], block=args.block, rate=args.rate, channels=args.channels,
                        normalize=args.normalize)[0]
    path = rec.save(out, overwrite=args.overwrite)
    ts = rec.timeseries[args.block] if args.block else next(iter(rec.timeseries.values()))
    print(f"wrote {path} ({ts.name} {ts.n_channels}ch@{ts.rate:g}Hz)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``homogenize`` subcommand."""
    p = subparsers.add_parser(
        "homogenize", help="resample / map channels / normalise a recording into a new .h5",
        description="Put a recording on a common rate, channel vocabulary (10-20, 10-10, "
                    "celegans) and per-channel scale (neurodata.homogenize); writes a new "
                    "recording whose provenance names its parent.")
    p.add_argument("input", help="converted recording (.h5)")
    p.add_argument("-o", "--output", required=True, help="output .h5")
    p.add_argument("--block", default=None, help="time-series block (default: the only one)")
    p.add_argument("--rate", type=float, default=None, help="target rate in Hz")
    p.add_argument("--channels", default=None,
                   help="channel vocabulary: 10-20, 10-10, celegans, or none to keep them")
    p.add_argument("--normalize", choices=("zscore", "robust"), default=None,
                   help="per-channel normalisation")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_homogenize)
