"""Ridge with a cross-validated alpha per target: ours vs scikit-learn's RidgeCV.

``decoders.braindecoding.MultiTargetRidgeCV`` against
``sklearn.linear_model.RidgeCV(alphas, alpha_per_target=True)`` (leave-one-out, the
"gram" eigen mode scikit-learn picks when features outnumber samples; both fit an
intercept, both score an alpha by the mean squared leave-one-out residual), on random
data with a planted linear map: 2000 samples x 10000 features -> 512 targets, 10 alphas.
Both run in float64 so the predictions can be compared; ours also runs in its float32
default, and in float64 with ``store_cv_results=True`` (every leave-one-out error
computed, as RidgeCV does; by default ours computes only those that can decide a
target's alpha).  Wall time and process CPU time are reported; with ``--repeat N`` the four fits
run in N interleaved rounds and the medians are reported.  BLAS runs on ``--threads``
threads (default 1): on a shared, oversubscribed machine multi-threaded OpenBLAS
spin-waits, which inflates both times at random; one thread gives repeatable ratios.

A second table times the two steps both fits share and neither can skip: the Gram matrix
``X X^T`` and its eigendecomposition.  They bound the speed-up of any exact method built
on that decomposition: RidgeCV time / (shared steps + what ours adds).

Usage::

    python benchmarks/bench_ridge.py            # 2000 x 10000 -> 512, 10 alphas
    python benchmarks/bench_ridge.py --quick    # 1000 x 4000 -> 256, 3 rounds: < 1 minute
    python benchmarks/bench_ridge.py --threads 2 --repeat 3

The last line is ``SUMMARY speedup_vs_sklearn=<RidgeCV wall time / ours, float64>
max_pred_diff=<max |prediction difference|, float64>`` plus the CPU-time ratio, the
relative prediction difference, the float32 figures and the fraction of leave-one-out
errors ours computed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import print_config, print_table  # noqa: E402
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
    ap.add_argument("--repeat", type=int, default=None,
                    help="interleaved rounds, medians reported (default 3 with --quick, else 1)")
    args = ap.parse_args()
    if args.repeat is None:
        args.repeat = 3 if args.quick else 1
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
    print_config("bench_ridge")
    print(f"# {n} samples x {p} features -> {t} targets, {len(alphas)} alphas, "
          f"leave-one-out; predictions on {n_test} held-out samples; {args.threads} BLAS "
          f"thread(s); {args.repeat} round(s), medians")

    fits = {
        "sklearn": lambda: RidgeCV(alphas=alphas, alpha_per_target=True).fit(Xtr, Ytr),
        "ours64": lambda: MultiTargetRidgeCV(alphas, dtype="float64").fit(Xtr, Ytr),
        "ours32": lambda: MultiTargetRidgeCV(alphas, dtype="float32").fit(Xtr, Ytr),
        "ours64all": lambda: MultiTargetRidgeCV(alphas, dtype="float64",
                                                store_cv_results=True).fit(Xtr, Ytr),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in fits}
    models = {}
    for _ in range(args.repeat):
        for name, fit in fits.items():
            models[name], wall, cpu = _timed(fit)
            times[name].append((wall, cpu))
    wall = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    sk, ours, o32 = models["sklearn"], models["ours64"], models["ours32"]
    p_sk = sk.predict(Xte)
    diff64 = float(np.abs(ours.predict(Xte) - p_sk).max())
    diff32 = float(np.abs(o32.predict(Xte).astype(np.float64) - p_sk).max())
    rel64 = diff64 / float(np.abs(p_sk).max())
    same64 = float(np.mean(ours.alpha_ == sk.alpha_))
    same32 = float(np.mean(o32.alpha_ == sk.alpha_))
    o_all = models["ours64all"]
    diff_all = float(np.abs(o_all.predict(Xte) - p_sk).max())
    same_all = float(np.mean(o_all.alpha_ == sk.alpha_))
    computed = float(ours.cv_computed_.mean())

    def row(label, key, diff, same):
        return [label, f"{wall[key]:.2f}", f"{cpu[key]:.2f}", f"{wall['sklearn'] / wall[key]:.2f}",
                f"{cpu['sklearn'] / cpu[key]:.2f}", diff, same]

    print_table(["fit", "wall s", "CPU s", "wall speed-up", "CPU speed-up",
                 "max |pred diff|", "same alpha"],
                [row("sklearn RidgeCV (float64)", "sklearn", "-", "-"),
                 row("ours float64", "ours64", f"{diff64:.2e}", f"{same64:.3f}"),
                 row("ours float32 (default)", "ours32", f"{diff32:.2e}", f"{same32:.3f}"),
                 row("ours float64, every LOO error (store_cv_results=True)", "ours64all",
                     f"{diff_all:.2e}", f"{same_all:.3f}")])
    print(f"# ours computes {computed:.1%} of the {len(alphas)} x {t} leave-one-out errors "
          "(the rest are provably not a target's minimum); store_cv_results=True computes all")

    # The steps both float64 fits share (centred Gram by syrk, numpy's eigh: LAPACK dsyevd).
    Xc = Xtr - Xtr.mean(axis=0)
    K, g_wall, g_cpu = _timed(lambda: Xc @ Xc.T)
    (lam, U), e_wall, e_cpu = _timed(lambda: np.linalg.eigh(K))
    print()
    print_table(["shared step (float64)", "wall s", "CPU s", "share of RidgeCV CPU",
                 "share of ours CPU"],
                [["Gram X X^T (syrk)", f"{g_wall:.2f}", f"{g_cpu:.2f}",
                  f"{g_cpu / cpu['sklearn']:.2f}", f"{g_cpu / cpu['ours64']:.2f}"],
                 ["eigendecomposition (dsyevd)", f"{e_wall:.2f}", f"{e_cpu:.2f}",
                  f"{e_cpu / cpu['sklearn']:.2f}", f"{e_cpu / cpu['ours64']:.2f}"]])
    print(f"# RidgeCV CPU / shared steps alone = {cpu['sklearn'] / (g_cpu + e_cpu):.2f}x "
          "(no exact eigen-based fit can beat this)")

    # What ours adds to them (float64, same shapes), and the dual prediction it does not
    # use: X_test X^T C instead of forming coef_ = C^T X and predicting X_test coef_^T.
    A = U.T @ (Ytr - Ytr.mean(axis=0))
    _, l_wall, l_cpu = _timed(lambda: [U @ (A / (lam[:, None] + a)) for a in alphas])
    C = U @ (A / (lam[:, None] + alphas[0]))
    coef, c_wall, c_cpu = _timed(lambda: C.T @ Xc)
    _, pp_wall, pp_cpu = _timed(lambda: Xte @ coef.T)
    _, dp_wall, dp_cpu = _timed(lambda: (Xte @ Xc.T) @ C)
    print()
    print_table(["step of ours (float64)", "wall s", "CPU s"],
                [[f"all {len(alphas)} products U (D A), n x n x t (LOO + dual coefficients; "
                  f"ours computes {computed:.0%} of their columns)",
                  f"{l_wall:.2f}", f"{l_cpu:.2f}"],
                 ["coef_ = C^T X, t x n x p, once", f"{c_wall:.2f}", f"{c_cpu:.2f}"],
                 [f"predict {n_test} samples: X_test coef_", f"{pp_wall:.2f}", f"{pp_cpu:.2f}"],
                 [f"predict {n_test} samples through the dual: (X_test X^T) C (not used)",
                  f"{dp_wall:.2f}", f"{dp_cpu:.2f}"]])
    print(f"SUMMARY speedup_vs_sklearn={wall['sklearn'] / wall['ours64']:.2f} "
          f"max_pred_diff={diff64:.2e} cpu_speedup_vs_sklearn={cpu['sklearn'] / cpu['ours64']:.2f} "
          f"max_rel_pred_diff={rel64:.2e} speedup_float32={wall['sklearn'] / wall['ours32']:.2f} "
          f"cpu_speedup_float32={cpu['sklearn'] / cpu['ours32']:.2f} "
          f"max_pred_diff_float32={diff32:.2e} loo_fraction_computed={computed:.3f}")


if __name__ == "__main__":
    main()
