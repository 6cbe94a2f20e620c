"""Peak memory of converting a long, wide EDF: conversion streams, it never loads the file.

Writes (block by block, by hand, so the generator itself stays small) an EDF of 256
channels at 1 kHz lasting one hour (1.8 GB of int16 samples; 0.92 GB as float32), then
runs ``neuroloom convert`` on it in a fresh process and reads that process's peak
resident set size (``wait4`` rusage).  A second process converts a 10-s EDF with the same
channels, which gives the baseline (interpreter, numpy, h5py, MNE imported).  Finally it
times ``nd.validate`` (checksum pass over all data) and ``validate --fast``.

Usage::

    python benchmarks/bench_convert_memory.py           # 1 h × 256 ch × 1 kHz
    python benchmarks/bench_convert_memory.py --quick   # 5 min of the same

Last line: ``SUMMARY convert_peak_rss_mb=.. baseline_rss_mb=.. signal_float32_mb=..
rss_over_signal=.. convert_s=.. validate_s=.. validate_fast_s=..``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_edf(path: Path, *, seconds: int, n_ch: int = 256, rate: int = 1000) -> None:
    """A plain EDF of ``seconds`` one-second records, written record by record."""
    def field(value, width: int) -> bytes:
        return str(value).encode("ascii")[:width].ljust(width)

    header = b"".join([
        field(0, 8), field("X X X X", 80), field("Startdate 01-JAN-2020 X X X", 80),
        field("01.01.20", 8), field("00.00.00", 8), field(256 + 256 * n_ch, 8),
        field("", 44), field(seconds, 8), field(1, 8), field(n_ch, 4)])
    labels = [f"E{i:03d}" for i in range(n_ch)]
    sig = b"".join([
        b"".join(field(lab, 16) for lab in labels), field("", 80) * n_ch,
        field("uV", 8) * n_ch, field(-3276.8, 8) * n_ch, field(3276.7, 8) * n_ch,
        field(-32768, 8) * n_ch, field(32767, 8) * n_ch, field("", 80) * n_ch,
        field(rate, 8) * n_ch, field("", 32) * n_ch])
    rng = np.random.default_rng(0)
    blocks = [rng.integers(-2000, 2000, (n_ch, rate), dtype=np.int16).astype("<i2").tobytes()
              for _ in range(7)]
    with open(path, "wb") as fh:
        fh.write(header + sig)
        for k in range(seconds):
            fh.write(blocks[k % len(blocks)])


def peak_rss_mb(argv: list[str]) -> tuple[float, float, int]:
    """Run ``argv``; return (peak RSS MB of that process, wall seconds, exit status)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write(proc.stderr.read().decode())
    return rusage.ru_maxrss / 1024, time.perf_counter() - t0, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 minutes instead of 1 hour")
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--rate", type=int, default=1000)
    args = ap.parse_args()
    seconds = 300 if args.quick else 3600
    cli = [sys.executable, "-c",
           "import sys; from pipelines.cli import main; sys.exit(main(sys.argv[1:]))"]
    with tempfile.TemporaryDirectory(prefix="bench-convert-mem-") as tmp:
        tmp = Path(tmp)
        small, big = tmp / "small.edf", tmp / "big.edf"
        write_edf(small, seconds=10, n_ch=args.channels, rate=args.rate)
        t = time.perf_counter()
        write_edf(big, seconds=seconds, n_ch=args.channels, rate=args.rate)
        print(f"wrote {big.stat().st_size / 1e9:.2f} GB EDF ({seconds} s × {args.channels} ch"
              f" × {args.rate} Hz) in {time.perf_counter() - t:.0f} s")
        base_rss, _, rc0 = peak_rss_mb(cli + ["convert", str(small), "-o", str(tmp / "s.h5")])
        rss, conv_s, rc1 = peak_rss_mb(cli + ["convert", str(big), "-o", str(tmp / "b.h5")])
        if rc0 or rc1:
            print(f"conversion failed (exit {rc0}, {rc1})")
            return 1
        big.unlink()  # free the disk before validating
        import neurodata as nd

        t = time.perf_counter()
        ok = nd.validate(tmp / "b.h5").ok
        val_s = time.perf_counter() - t
        t = time.perf_counter()
        ok_fast = nd.validate(tmp / "b.h5", fast=True).ok
        fast_s = time.perf_counter() - t
        signal_mb = seconds * args.rate * args.channels * 4 / 2**20
        print("| recording | float32 signal | peak RSS (convert) | baseline (10-s file) "
              "| convert | validate (checksums) | validate --fast |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(f"| {seconds} s × {args.channels} ch × {args.rate} Hz | {signal_mb:.0f} MB "
              f"| {rss:.0f} MB | {base_rss:.0f} MB | {conv_s:.1f} s | {val_s:.1f} s "
              f"({'valid' if ok else 'INVALID'}) | {fast_s:.2f} s "
              f"({'valid' if ok_fast else 'INVALID'}) |")
        print(f"SUMMARY convert_peak_rss_mb={rss:.0f} baseline_rss_mb={base_rss:.0f} "
              f"signal_float32_mb={signal_mb:.0f} rss_over_signal={rss / signal_mb:.3f} "
              f"convert_s={conv_s:.1f} validate_s={val_s:.1f} validate_fast_s={fast_s:.2f}")
        return 0 if ok and ok_fast else 1


if __name__ == "__main__":
    sys.exit(main())
