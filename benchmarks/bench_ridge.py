"""Ridge with a cross-validated alpha per target: ours vs scikit-learn's RidgeCV.

``decoders.braindecoding.MultiTargetRidgeCV`` against
``sklearn.linear_model.RidgeCV(alphas, alpha_per_target=True)`` (leave-one-out, the
"gram" eigen mode scikit-learn picks when features outnumber samples), on random data
with a planted linear map: 2000 samples x 10000 features -> 512 targets, 10 alphas.
Both run in float64 so the predictions can be compared; ours also runs in its float32
default.  Wall time and process CPU time are reported.  BLAS runs on ``--threads``
threads (default 1): on a shared, oversubscribed machine multi-threaded OpenBLAS
spin-waits, which inflates both times at random; one thread gives repeatable ratios.

Usage::

    python benchmarks/bench_ridge.py            # 2000 x 10000 -> 512, 10 alphas
    python benchmarks/bench_ridge.py --quick    # 1000 x 4000 -> 256: < 1 minute
    python benchmarks/bench_ridge.py --threads 2

The last line is ``SUMMARY speedup_vs_sklearn=<RidgeCV wall time / ours, float64>
max_pred_diff=<max |prediction difference|, float64>`` plus the CPU-time ratio and the
float32 figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import print_table  # noqa: E402
from decoders.braindecoding.ridge import MultiTargetRidgeCV  # noqa: E402


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1000 x 4000 -> 256 targets")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        run(args)


def run(args) -> None:
    from sklearn.linear_model import RidgeCV

    n, p, t = (1000, 4000, 256) if args.quick else (2000, 10000, 512)
    n_test = 200
    alphas = np.logspace(-1, 6, 10)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((n + n_test, p))
    W = rng.standard_normal((p, t)) * (rng.random(t) < 0.5)  # half the targets are noise
    Y = X @ W / np.sqrt(p) + rng.standard_normal((n + n_test, t))
    Xtr, Ytr, Xte = X[:n], Y[:n], X[n:]
    print(f"# {n} samples x {p} features -> {t} targets, {len(alphas)} alphas, "
          f"leave-one-out; predictions on {n_test} held-out samples; {args.threads} BLAS thread(s)")

    sk, sk_wall, sk_cpu = _timed(lambda: RidgeCV(alphas=alphas, alpha_per_target=True)
                                 .fit(Xtr, Ytr))
    ours, our_wall, our_cpu = _timed(lambda: MultiTargetRidgeCV(alphas, dtype="float64")
                                     .fit(Xtr, Ytr))
    o32, o32_wall, o32_cpu = _timed(lambda: MultiTargetRidgeCV(alphas, dtype="float32")
                                    .fit(Xtr, Ytr))
    p_sk = sk.predict(Xte)
    diff64 = float(np.abs(ours.predict(Xte) - p_sk).max())
    diff32 = float(np.abs(o32.predict(Xte).astype(np.float64) - p_sk).max())
    same64 = float(np.mean(ours.alpha_ == sk.alpha_))
    same32 = float(np.mean(o32.alpha_ == sk.alpha_))
    rows = [
        ["sklearn RidgeCV (float64)", f"{sk_wall:.2f}", f"{sk_cpu:.2f}", "1.00", "1.00", "-", "-"],
        ["ours float64", f"{our_wall:.2f}", f"{our_cpu:.2f}", f"{sk_wall / our_wall:.2f}",
         f"{sk_cpu / our_cpu:.2f}", f"{diff64:.2e}", f"{same64:.3f}"],
        ["ours float32 (default)", f"{o32_wall:.2f}", f"{o32_cpu:.2f}",
         f"{sk_wall / o32_wall:.2f}", f"{sk_cpu / o32_cpu:.2f}", f"{diff32:.2e}",
         f"{same32:.3f}"],
    ]
    print_table(["fit", "wall s", "CPU s", "wall speed-up", "CPU speed-up",
                 "max |pred diff|", "same alpha"], rows)
    print(f"SUMMARY speedup_vs_sklearn={sk_wall / our_wall:.2f} max_pred_diff={diff64:.2e} "
          f"cpu_speedup_vs_sklearn={sk_cpu / our_cpu:.2f} "
          f"speedup_float32={sk_wall / o32_wall:.2f} max_pred_diff_float32={diff32:.2e}")


if __name__ == "__main__":
    main()
