"""Random 2-s window reads: neuroloom's format vs MNE (FIF, preload=False) vs numpy memmap.

One run measures, on the same generated data (float32 samples):

* ``neuroloom``      ``nd.open(path).timeseries["eeg"].slice(t, t + 2)`` (by seconds)
* ``h5py``           plain ``dset[i:j]`` on the same file (what a naive reader gets)
* ``neuroloom gzip`` the same recording saved with ``compression="gzip"``
* ``MNE FIF``        ``mne.io.read_raw_fif(preload=False).get_data(start, stop)``
* ``memmap``         ``np.array(np.memmap(raw .f32 file)[i:j])``: the physical limit

Files are freshly written, so reads come from the page cache.  Ratios are taken
within this run; absolute numbers drift between machines.

Usage::

    python benchmarks/bench_io.py            # 64 ch × 160 Hz × 1 h and 256 ch × 1 kHz × 20 min
    python benchmarks/bench_io.py --quick    # 10 min and 2 min of data: < 1 minute
    python benchmarks/bench_io.py --chunk-study   # window reads vs chunk height

The last line is ``SUMMARY vs_mne=<ours ÷ MNE> vs_memmap=<ours ÷ memmap>
vs_memmap_cpu=<the same in windows per CPU second>`` for the slower of the two
configurations (the conservative figure).  Readers are timed in interleaved repeats
(median of 5), so load from other processes hits them alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_rate, print_config, print_table, timed  # noqa: E402

import neurodata as nd  # noqa: E402

WINDOW_S = 2.0


def make_data(n_times: int, n_ch: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # tile a random block: generating gigabytes of fresh noise would dominate the run
    block = (rng.standard_normal((min(n_times, 50_000), n_ch)) * 1e-5).astype(np.float32)
    reps = -(-n_times // block.shape[0])
    return np.tile(block, (reps, 1))[:n_times]


def write_files(folder: Path, data: np.ndarray, rate: float) -> dict[str, Path]:
    import mne

    n_times, n_ch = data.shape
    names = [f"EEG{i:03d}" for i in range(n_ch)]
    ts = nd.TimeSeries(data, rate=rate, modality="eeg", name="eeg",
                       channels=nd.make_channels(names, types="eeg"))
    paths = {"h5": folder / "rec.h5", "gz": folder / "rec_gzip.h5",
             "fif": folder / "rec_raw.fif", "f32": folder / "rec.f32"}
    nd.Recording([ts]).save(paths["h5"])
    gz_len = min(n_times, int(rate * 600))  # gzip writes are slow; 10 min is plenty to read
    nd.Recording([nd.TimeSeries(data[:gz_len], rate=rate, modality="eeg", name="eeg",
                                channels=ts.channels)]).save(paths["gz"], compression="gzip")
    data.tofile(paths["f32"])
    info = mne.create_info(names, rate, "eeg")
    step = int(rate * 600)  # MNE needs float64 in memory: write the FIF from 10-min pieces
    raws = [mne.io.RawArray(data[i:i + step].T.astype(np.float64), info, verbose="error")
            for i in range(0, n_times, step)]
    raw = mne.concatenate_raws(raws, verbose="error") if len(raws) > 1 else raws[0]
    raw.set_annotations(None)  # concatenation adds BAD/EDGE boundaries; not needed here
    raw.save(paths["fif"], fmt="single", overwrite=True, split_size="2GB", verbose="error")
    del raws, raw
    gc.collect()
    return paths


def bench_config(n_ch: int, rate: float, seconds: float, n_windows: int, n_mne: int,
                 seed: int) -> list[dict]:
    import mne

    n_times = int(rate * seconds)
    win = int(WINDOW_S * rate)
    with tempfile.TemporaryDirectory(prefix="bench_io_", dir=os.environ.get("BENCH_TMP")) as d:
        data = make_data(n_times, n_ch, seed)
        paths = write_files(Path(d), data, rate)
        del data
        gc.collect()
        rng = np.random.default_rng(seed)
        starts = rng.integers(0, n_times - win, size=n_windows)
        tstarts = starts / rate

        rec = nd.open(paths["h5"])
        eeg = rec.timeseries["eeg"]
        assert eeg.is_mapped  # uncompressed: window reads go through the memory map

        def ours():
            for t in tstarts:
                eeg.slice(t, t + WINDOW_S)
            return len(tstarts)

        f = h5py.File(paths["h5"], "r")
        dset = f["timeseries/eeg/data"]

        def plain_h5py():
            for s in starts[: n_windows // 4]:
                dset[s:s + win]
            return n_windows // 4

        gz = nd.open(paths["gz"])
        gz_eeg = gz.timeseries["eeg"]
        gz_starts = rng.integers(0, gz_eeg.n_times - win, size=max(n_windows // 8, 50)) / rate

        def ours_gzip():
            for t in gz_starts:
                gz_eeg.slice(t, t + WINDOW_S)
            return len(gz_starts)

        raw = mne.io.read_raw_fif(paths["fif"], preload=False, verbose="error")

        def mne_reads():
            for s in starts[:n_mne]:
                raw.get_data(start=int(s), stop=int(s) + win)
            return n_mne

        mm = np.memmap(paths["f32"], dtype=np.float32, mode="r", shape=(n_times, n_ch))

        def memmap_reads():
            for s in starts:
                np.array(mm[s:s + win])
            return len(starts)

        # correctness before speed: every reader returns the same window
        s = int(starts[0])
        ref = np.array(mm[s:s + win])
        np.testing.assert_array_equal(eeg.slice_samples(s, s + win), ref)
        np.testing.assert_array_equal(dset[s:s + win], ref)
        np.testing.assert_allclose(raw.get_data(start=s, stop=s + win).T, ref, rtol=1e-6)
        for fn in (ours, memmap_reads):  # warm the page cache and code paths
            fn()
        readers = {
            "neuroloom": ours,
            "h5py dset[i:j]": plain_h5py,
            "neuroloom gzip": ours_gzip,
            "MNE FIF preload=False": mne_reads,
            "numpy memmap": memmap_reads,
        }
        # interleaved repeats, so that load from other processes hits every reader alike;
        # median of windows per wall second and per CPU second
        runs = {k: [] for k in readers}
        for _ in range(5):
            for k, fn in readers.items():
                w, c, n = timed(fn)
                runs[k].append((n / w, n / max(c, 1e-9)))
        rates = {k: float(np.median([r[0] for r in v])) for k, v in runs.items()}
        cpu_rates = {k: float(np.median([r[1] for r in v])) for k, v in runs.items()}
        rec.close()
        gz.close()
        f.close()
        label = f"{n_ch} ch × {rate:g} Hz × {seconds / 60:g} min"
        return [{"config": label, "reader": k, "rate": v, "mne": rates["MNE FIF preload=False"],
                 "memmap": rates["numpy memmap"], "cpu_rate": cpu_rates[k],
                 "cpu_memmap": cpu_rates["numpy memmap"]} for k, v in rates.items()]


def _rechunk(path: Path, data: np.ndarray, rows: int) -> None:
    """Rewrite the saved series' samples with chunks of ``rows`` rows (plain h5py).

    Only the dataset's chunk shape changes; everything else in the file is what
    ``Recording.save`` wrote, so the study needs no private writer setting.
    """
    with h5py.File(path, "r+") as f:
        g = f["timeseries/eeg"]
        attrs = dict(g["data"].attrs)
        del g["data"]
        d = g.create_dataset("data", data=data, chunks=(min(rows, data.shape[0]),
                                                         data.shape[1]))
        d.attrs.update(attrs)


def chunk_study(quick: bool) -> None:
    """Window reads per second vs chunk height, mapped and plain-h5py paths."""
    rows = []
    for n_ch, rate in ((64, 160.0), (256, 1000.0)):
        seconds = 300 if quick else 1800
        data = make_data(int(rate * seconds), n_ch, 0)
        win = int(WINDOW_S * rate)
        starts = np.random.default_rng(0).integers(0, data.shape[0] - win, 2000)
        for target in (64 << 10, 256 << 10, 1 << 20, 4 << 20):
            with tempfile.TemporaryDirectory() as d:
                p = nd.Recording([nd.TimeSeries(data, rate=rate, modality="eeg")]).save(
                    Path(d) / "c.h5")
                _rechunk(p, data, max(target // (n_ch * 4), 1))
                rec = nd.open(p)
                ts = rec.timeseries["eeg"]
                assert ts.is_mapped
                f = h5py.File(p, "r")
                dset = f["timeseries/eeg/data"]
                chunk = dset.chunks

                def mapped_reads(ts=ts, starts=starts, win=win):
                    for s in starts:
                        ts.slice_samples(s, s + win)
                    return len(starts)

                def h5py_reads(dset=dset, starts=starts, win=win):
                    for s in starts[:500]:
                        dset[s:s + win]
                    return 500

                mapped = best_rate(mapped_reads)
                plain = best_rate(h5py_reads)
                f.close()
                rec.close()
            rows.append((f"{n_ch} ch × {rate:g} Hz", f"{target >> 10} KiB", chunk[0],
                         f"{mapped:,.0f}", f"{plain:,.0f}"))
    print_table(["config", "chunk target", "chunk rows", "mapped windows/s", "h5py windows/s"],
                rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, < 1 minute")
    ap.add_argument("--chunk-study", action="store_true", help="reads vs chunk height")
    args = ap.parse_args(argv)
    if args.chunk_study:
        chunk_study(args.quick)
        return 0
    if args.quick:
        configs = [(64, 160.0, 600.0, 3000, 400), (256, 1000.0, 120.0, 1500, 200)]
    else:
        configs = [(64, 160.0, 3600.0, 20000, 2000), (256, 1000.0, 1200.0, 5000, 500)]
    print_config(f"bench_io ({'quick' if args.quick else 'full'} run)")
    rows, ratios = [], []
    for i, (n_ch, rate, seconds, n_win, n_mne) in enumerate(configs):
        results = bench_config(n_ch, rate, seconds, n_win, n_mne, seed=i)
        for r in results:
            rows.append((r["config"], r["reader"], f"{r['rate']:,.0f}",
                         f"{r['rate'] / r['mne']:.2f}", f"{r['rate'] / r['memmap']:.2f}",
                         f"{r['cpu_rate'] / r['cpu_memmap']:.2f}"))
        ours = next(r for r in results if r["reader"] == "neuroloom")
        ratios.append((ours["rate"] / ours["mne"], ours["rate"] / ours["memmap"],
                       ours["cpu_rate"] / ours["cpu_memmap"]))
    print(f"Random {WINDOW_S:g}-s window reads, all channels, page cache warm "
          f"({'quick' if args.quick else 'full'} run; median of 5 interleaved repeats)\n")
    print_table(["data", "reader", "windows/s", "÷ MNE", "÷ memmap (wall)",
                 "÷ memmap (CPU)"], rows)
    vs_mne = min(r[0] for r in ratios)
    vs_memmap = min(r[1] for r in ratios)
    vs_memmap_cpu = min(r[2] for r in ratios)
    print(f"\nSUMMARY vs_mne={vs_mne:.2f} vs_memmap={vs_memmap:.2f} "
          f"vs_memmap_cpu={vs_memmap_cpu:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
