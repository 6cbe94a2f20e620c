"""Wall time of the decoding benchmark grid on the real EEGMMIDB runs: cached vs uncached
epochs, and peak memory.

The grid is the ``eegmmidb_imagery`` dataset of ``pipelines/configs/decoding_eegmmidb.yaml``
(subject 1, imagery runs 4/8/12, left vs right fist, 8-32 Hz, 0-3 s after the cue) ×
pipelines × evaluations, run by :func:`decoders.benchmark.run_benchmark` on ``--n-jobs``
loky workers (default 2, the machine's cores):

* ``uncached``  every cell cuts its own epochs (read EDF, filter, epoch);
* ``cached``    epochs are cut once, saved, and memory-mapped by every cell.

Workers are started and warmed up (imports) before timing, so neither run pays for the
process start.  No permutations: this measures the grid's machinery, not the chance level.

Usage::

    python benchmarks/bench_decoding.py            # 5 classical pipelines x 2 evaluations
    python benchmarks/bench_decoding.py --quick    # 2 pipelines x 2 evaluations, < 1 minute

The last line is ``SUMMARY grid_s=<cached grid seconds> cached_speedup=<uncached ÷ cached>
grid_cpu_s=<cached grid CPU seconds, main process + workers> cached_speedup_cpu=<the same
ratio in CPU time>``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import print_config, print_table  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "eeg_meg" / "eegmmidb"


def _warm() -> int:
    import mne.decoding  # noqa: F401
    import pyriemann.tangentspace  # noqa: F401

    import decoders.benchmark  # noqa: F401

    return 0


def _config(pipelines: list[str]) -> dict:
    recs = [{"path": str(SHARED / f"S001R{r:02d}.edf"), "subject": "S001", "session": "0",
             "run": str(r)} for r in (4, 8, 12)]
    return {"name": "bench_decoding", "random_state": 42, "n_permutations": 0,
            "datasets": [{"name": "eegmmidb_imagery",
                          "classes": {"left_fist": "T1", "right_fist": "T2"},
                          "epochs": {"tmin": 0.0, "tmax": 3.0, "l_freq": 8.0, "h_freq": 32.0},
                          "recordings": recs}],
            "pipelines": pipelines,
            "evaluations": ["within_session", {"scheme": "cross_session", "group_by": "run"}]}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its live children (the loky workers) so far."""
    own = time.process_time()
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with joblib's usual installs
        return own
    total = own
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:  # a worker that exited meanwhile
            pass
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 pipelines, < 1 minute")
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    from decoders.benchmark import run_benchmark

    if not SHARED.exists():
        print(f"needs the EEGMMIDB runs in {SHARED}", file=sys.stderr)
        return 1
    pipelines = (["csp_lda", "ts_svm"] if args.quick
                 else ["csp_lda", "fbcsp", "ts_lr", "ts_svm", "aug_cov"])
    print_config(f"bench_decoding ({'quick' if args.quick else 'full'} run)")
    cfg = _config(pipelines)
    Parallel(n_jobs=args.n_jobs, backend="loky")(delayed(_warm)() for _ in range(args.n_jobs))
    rows, times, cpus = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("uncached", "cached"):
            t0, c0 = time.perf_counter(), _cpu_seconds()
            res = run_benchmark(cfg, output=Path(tmp) / mode, n_jobs=args.n_jobs,
                                cache_epochs=mode == "cached", plots=False, force=True)
            times[mode] = time.perf_counter() - t0
            cpus[mode] = _cpu_seconds() - c0
            rows.append((mode, len(res.ran), f"{times[mode]:.1f}", f"{cpus[mode]:.1f}"))
    get_reusable_executor().shutdown(wait=True)  # so the workers' peak RSS is counted
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"Decoding grid on EEGMMIDB S001 runs 4/8/12 ({len(pipelines)} pipelines x 2 "
          f"evaluations, {args.n_jobs} jobs, {'quick' if args.quick else 'full'} run)\n")
    print_table(["epochs", "cells", "wall s", "CPU s (main + workers)"], rows)
    print(f"\npeak RSS: main process {peak_self:.0f} MiB, largest worker {peak_kids:.0f} MiB")
    print("\nwithin-session ROC-AUC (5-fold) of this run:")
    within = res.summary[res.summary.scheme == "within_session"]
    print_table(["pipeline", "mean", "std"],
                [(r.pipeline, f"{r.mean:.3f}", f"{r.std:.3f}") for r in within.itertuples()])
    print(f"\nSUMMARY grid_s={times['cached']:.1f} "
          f"cached_speedup={times['uncached'] / times['cached']:.2f} "
          f"grid_cpu_s={cpus['cached']:.1f} "
          f"cached_speedup_cpu={cpus['uncached'] / cpus['cached']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
