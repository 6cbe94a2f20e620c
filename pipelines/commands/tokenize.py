"""``neuroloom tokenize train|encode``: fit a tokenizer on recordings, write token files.

``train`` fits an :class:`~decoders.tokenizers.RVQTokenizer` (continuous blocks: EEG,
MEG, sEEG, ECoG) or a :class:`~decoders.tokenizers.SpikeTokenizer` (spike blocks) on one
or more converted recordings and saves it (``.pt`` for RVQ, ``.json`` for spikes).
``encode`` applies a saved tokenizer to a recording and writes the tokens as ``.npz``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register", "cmd_tokenize_train", "cmd_tokenize_encode"]


def _open(path: str):
    from neurodata.opening import read_any

    return read_any(path)


def _pick_timeseries(rec, block: str | None, path: str):
    from decoders.tokenizers.patches import SUPPORTED_TYPES
    from neurodata.errors import ValidationError

    if block is not None:
        if block not in rec.timeseries:
            raise ValidationError(f"no timeseries block {block!r}; found "
                                  f"{sorted(rec.timeseries)}", path=path)
        return rec.timeseries[block]
    for ts in rec.timeseries.values():
        if set(ts.channels["type"]) <= set(SUPPORTED_TYPES):
            return ts
    raise ValidationError(f"no timeseries block of channel types {list(SUPPORTED_TYPES)}; "
                          f"found {sorted(rec.timeseries)}; pass --block NAME", path=path)


def _pick_spikes(rec, block: str | None, path: str):
    from neurodata.errors import ValidationError

    if not rec.spikes:
        raise ValidationError("the recording has no spike block; the spike tokenizer needs "
                              "one (or tokenize calcium events in Python)", path=path)
    if block is None:
        return next(iter(rec.spikes.values()))
    if block not in rec.spikes:
        raise ValidationError(f"no spike block {block!r}; found {sorted(rec.spikes)}",
                              path=path)
    return rec.spikes[block]


def _check_output(out: Path, overwrite: bool) -> None:
    """The CLI's one rule: an existing output is replaced only with ``--overwrite``."""
    from neurodata.errors import WriteError

    if out.exists() and not overwrite:
        raise WriteError("the output file already exists; pass --overwrite to replace it",
                         path=out)


def _write_npz(out: Path, overwrite: bool, **arrays) -> None:
    """``np.savez`` through :func:`neurodata.atomic.atomic_path` (temporary name, fsync,
    rename): a failed or interrupted encode leaves an existing output as it was."""
    import numpy as np

    from neurodata.atomic import atomic_path

    # a file object: given a path, np.savez would append ".npz" to the temporary name
    with atomic_path(out, overwrite=overwrite) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def cmd_tokenize_train(args: argparse.Namespace) -> int:
    """Run ``neuroloom tokenize train``."""
    out = Path(args.output)
    _check_output(out, args.overwrite)  # before importing torch or reading anything
    from decoders.tokenizers import RVQTokenizer, SpikeTokenizer

    recs = [_open(p) for p in args.input]
    if args.kind == "spike":
        blocks = [_pick_spikes(r, args.block, p) for r, p in zip(recs, args.input, strict=True)]
        tok = SpikeTokenizer(window=args.window, past_window=args.past_window, dt=args.dt)
        tok.fit(blocks)
        tok.save(out)
        print(f"wrote {out} (spike tokenizer: {len(tok.units_)} units, "
              f"{tok.dt_vocab_size_ - 4} offset bins of {args.dt:g} s)")
        return 0
    blocks = [_pick_timeseries(r, args.block, p) for r, p in zip(recs, args.input, strict=True)]
    tok = RVQTokenizer(n_codebooks=args.codebooks, codebook_size=args.codebook_size,
                       n_steps=args.steps, batch_size=args.batch_size,
                       checkpoint_dir=args.checkpoint_dir, random_state=args.seed)
    tok.fit(blocks, resume=args.resume)  # progress bar: the CLI's log level (INFO)
    tok.save(out)
    last = tok.history_[-1] if tok.history_ else {}
    print(f"wrote {out} (RVQ tokenizer: {tok.n_codebooks}x{tok.codebook_size} codes = "
          f"{tok.bits_per_patch:g} bits/patch, {tok.n_steps_done_} steps, "
          f"final time-domain loss {last.get('time', float('nan')):.4f})")
    return 0


def cmd_tokenize_encode(args: argparse.Namespace) -> int:
    """Run ``neuroloom tokenize encode``."""
    out = Path(args.output)
    _check_output(out, args.overwrite)  # before importing torch or reading anything
    import numpy as np

    from decoders.tokenizers import RVQTokenizer, SpikeTokenizer
    from neurodata.errors import FormatError

    tpath = Path(args.tokenizer)
    rec = _open(args.input)
    if tpath.suffix.lower() == ".json":
        tok = SpikeTokenizer.load(tpath)
        seq = tok.encode(_pick_spikes(rec, args.block, args.input))
        lengths = np.array([len(i) for i in seq.ids])
        plengths = np.array([len(i) for i in seq.past_ids])
        empty = np.zeros(0, np.int64)
        _write_npz(out, args.overwrite, ids=np.concatenate(seq.ids),
                   dts=np.concatenate(seq.dts), lengths=lengths,
                   past_ids=np.concatenate(seq.past_ids) if seq.past_ids else empty,
                   past_dts=np.concatenate(seq.past_dts) if seq.past_dts else empty,
                   past_lengths=plengths, window_tick=seq.window_tick,
                   meta=json.dumps({"origin": seq.origin, "dt": seq.dt,
                                    "t_start": seq.t_start, "t_stop": seq.t_stop,
                                    "tokenizer": str(tpath)}))
        print(f"wrote {out} ({len(seq)} windows, {int(lengths.sum() - 2 * len(seq))} spike "
              "tokens)")
        return 0
    if tpath.suffix.lower() not in (".pt", ".pth"):
        raise FormatError("expected a tokenizer file: .pt (RVQ) or .json (spikes)", path=tpath)
    tok = RVQTokenizer.load(tpath)
    tok.set_params(beam_width=args.beam_width)
    ts = _pick_timeseries(rec, args.block, args.input)
    codes = tok.encode(ts)
    extra = {}
    if args.spectrum:
        freqs, psd = tok.decode_spectrum(codes)
        extra = {"freqs": freqs, "psd": psd.astype(np.float32)}
    _write_npz(out, args.overwrite, codes=codes.codes.astype(np.int32), center=codes.center,
               scale=codes.scale, ch_names=np.array(codes.ch_names),
               ch_types=np.array(codes.ch_types),
               meta=json.dumps({"rate": codes.rate, "patch_seconds": tok.patch_seconds,
                                "block": ts.name, "tokenizer": str(tpath),
                                "beam_width": args.beam_width}), **extra)
    C, P, Q = codes.shape
    print(f"wrote {out} (codes {C} channels x {P} patches x {Q} codebooks"
          f"{', predicted spectra' if args.spectrum else ''})")
    return 0


def register(subparsers) -> None:
    """Add the ``tokenize`` subcommand with ``train`` and ``encode``."""
    p = subparsers.add_parser(
        "tokenize", help="train a tokenizer / encode a recording into tokens",
        description="Residual-VQ tokens for EEG/MEG/sEEG/ECoG blocks, Neuroformer tokens for "
                    "spike blocks.")
    sub = p.add_subparsers(dest="tokenize_command", required=True, metavar="{train,encode}")
    t = sub.add_parser("train", help="fit a tokenizer on one or more recordings")
    t.add_argument("input", nargs="+", help="converted recordings (.h5) or loadable files")
    t.add_argument("-o", "--output", required=True,
                   help="tokenizer file (.pt for --kind rvq, .json for --kind spike)")
    t.add_argument("--kind", choices=("rvq", "spike"), default="rvq",
                   help="rvq: residual-VQ for continuous blocks; spike: Neuroformer tokens")
    t.add_argument("--block", help="timeseries or spike block name (default: first suitable)")
    t.add_argument("--steps", type=int, default=300,
                   help="RVQ optimizer steps: 300 take ~3 min for 64 channels on a laptop "
                        "CPU; the docs/tokenizers.md figures use --steps 1500 (~14 min)")
    t.add_argument("--batch-size", type=int, default=256, help="RVQ patches per step")
    t.add_argument("--codebooks", type=int, default=4, help="RVQ residual stages")
    t.add_argument("--codebook-size", type=int, default=64, help="RVQ entries per codebook")
    t.add_argument("--seed", type=int, default=0, help="random seed")
    t.add_argument("--overwrite", action="store_true", help="replace an existing output")
    t.add_argument("--checkpoint-dir", help="write checkpoints here (and --resume from them)")
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    t.add_argument("--window", type=float, default=0.05, help="spike current window (s)")
    t.add_argument("--past-window", type=float, default=0.15, help="spike past window (s)")
    t.add_argument("--dt", type=float, default=0.01, help="spike time resolution (s)")
    t.set_defaults(func=cmd_tokenize_train)
    e = sub.add_parser("encode", help="encode a recording with a saved tokenizer (.npz)")
    e.add_argument("input", help="converted recording (.h5) or loadable file")
    e.add_argument("-t", "--tokenizer", required=True, help="tokenizer file (.pt or .json)")
    e.add_argument("-o", "--output", required=True, help="output .npz")
    e.add_argument("--block", help="timeseries or spike block name (default: first suitable)")
    e.add_argument("--overwrite", action="store_true", help="replace an existing output")
    e.add_argument("--beam-width", type=int, default=1,
                   help="RVQ: candidates kept per stage when choosing codes (1 = greedy, "
                        "fastest; 8 lowers the reconstruction error at the same bits)")
    e.add_argument("--spectrum", action="store_true",
                   help="RVQ: also save the power spectral density each patch's code "
                        "predicts (freqs, psd: channels x patches x freqs, units^2/Hz)")
    e.set_defaults(func=cmd_tokenize_encode)
