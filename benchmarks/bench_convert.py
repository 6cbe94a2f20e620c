"""Conversion time per real file vs MNE's own read, and window reads after conversion vs
reading the source with MNE — one run, on the recordings in ../shared/data.

For each file:

* ``MNE read``      ``mne.io.read_raw_*(preload=True)``: parse + load every sample
* ``convert``       ``nd.load(path).save(out)``: the same read plus writing our format
* windows/s         random 2-s windows (all channels): ``nd.open(out)...slice`` vs
                    ``mne.io.read_raw_*(preload=False).get_data(start, stop)``

Usage::

    python benchmarks/bench_convert.py [--quick] [--data ../shared/data]

The last line is ``SUMMARY convert_vs_mne=<total MNE read time ÷ total convert time>
read_vs_mne=<geometric mean over files of our window reads/s ÷ MNE's>
convert_vs_mne_cpu=<the first ratio in CPU time> read_vs_mne_cpu=<the second in CPU time>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median_times, print_config, print_table, rates  # noqa: E402

import neurodata as nd  # noqa: E402

FILES = {
    "eeg_meg/eegmmidb/S001R04.edf": "read_raw_edf",
    "ieeg/sample_seeg.edf": "read_raw_edf",
    "eeg_meg/brainvision/test.vhdr": "read_raw_brainvision",
    "eeg_meg/eeglab/test_raw.set": "read_raw_eeglab",
    "eeg_meg/fif/sample_audvis_trunc_raw_sss.fif": "read_raw_fif",
}
WINDOW_S = 2.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and windows")
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("NEUROLOOM_SHARED_DATA", default)))
    args = ap.parse_args(argv)
    import mne

    print_config(f"bench_convert ({'quick' if args.quick else 'full'} run)")
    repeats = 3 if args.quick else 5
    n_windows = 200 if args.quick else 1000
    rows, ratios = [], []
    t_mne_total = t_conv_total = c_mne_total = c_conv_total = 0.0
    cpu_ratios = []
    with tempfile.TemporaryDirectory(prefix="bench_convert_") as d:
        for rel, fn in FILES.items():
            src = args.data / rel
            if not src.exists():
                print(f"skip {rel}: not found under {args.data}")
                continue
            reader = getattr(mne.io, fn)
            t_mne, c_mne = median_times(lambda src=src, reader=reader: reader(
                src, preload=True, verbose="error"), repeats)
            out = Path(d) / (src.stem + ".h5")
            t_conv, c_conv = median_times(
                lambda src=src, out=out: nd.load(src).save(out, overwrite=True), repeats)
            t_mne_total += t_mne
            t_conv_total += t_conv
            c_mne_total += c_mne
            c_conv_total += c_conv
            rec = nd.open(out)
            block = max(rec.timeseries.values(), key=lambda ts: ts.n_channels)
            raw = reader(src, preload=False, verbose="error")
            picks = [raw.ch_names.index(n) for n in block.ch_names]
            win = int(min(WINDOW_S, block.duration / 2) * block.rate)
            starts = np.random.default_rng(0).integers(0, block.n_times - win, n_windows)

            def ours(block=block, starts=starts, win=win):
                for s in starts:
                    block.slice_samples(s, s + win)
                return len(starts)

            def theirs(raw=raw, picks=picks, starts=starts, win=win):
                for s in starts[: max(n_windows // 5, 20)]:
                    raw.get_data(picks=picks, start=int(s), stop=int(s) + win)
                return max(n_windows // 5, 20)

            np.testing.assert_array_equal(
                block.slice_samples(int(starts[0]), int(starts[0]) + win),
                raw.get_data(picks=picks, start=int(starts[0]),
                             stop=int(starts[0]) + win).T.astype(np.float32))
            (r_ours, rc_ours), (r_mne, rc_mne) = rates(ours, repeats), rates(theirs, repeats)
            rec.close()
            ratios.append(r_ours / r_mne)
            cpu_ratios.append(rc_ours / rc_mne)
            size_mb = sum(f.stat().st_size for f in src.parent.glob(src.stem + "*")) / 1e6
            rows.append((rel.split("/")[-1], f"{block.n_channels}×{block.n_times}",
                         f"{size_mb:.1f}", f"{t_mne * 1e3:.0f}", f"{t_conv * 1e3:.0f}",
                         f"{t_mne / t_conv:.2f}", f"{c_mne / c_conv:.2f}",
                         f"{win / block.rate:g}", f"{r_ours:,.0f}", f"{r_mne:,.0f}",
                         f"{r_ours / r_mne:.1f}", f"{rc_ours / rc_mne:.1f}"))
    print("Conversion vs MNE's read, and window reads after conversion "
          f"({'quick' if args.quick else 'full'} run; times are medians)\n")
    print_table(["file", "largest block", "MB", "MNE read ms", "convert ms",
                 "MNE ÷ convert (wall)", "(CPU)", "window s", "ours win/s", "MNE win/s",
                 "ours ÷ MNE (wall)", "(CPU)"], rows)
    if not ratios:
        print("no files found")
        return 1
    geo = float(np.exp(np.mean(np.log(ratios))))
    geo_cpu = float(np.exp(np.mean(np.log(cpu_ratios))))
    print(f"\nSUMMARY convert_vs_mne={t_mne_total / t_conv_total:.2f} read_vs_mne={geo:.1f} "
          f"convert_vs_mne_cpu={c_mne_total / c_conv_total:.2f} read_vs_mne_cpu={geo_cpu:.1f}")
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    sys.exit(code)
