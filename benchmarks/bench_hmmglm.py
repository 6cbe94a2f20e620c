"""HMM-GLM benchmarks: E-step speed vs hmmlearn, fit cost vs data size, priors on short data.

Three tables, all on generated data:

1. **E-step** on one log-likelihood matrix (T = 100 000 bins, K = 5 states): our
   forward–backward (``connectome.hmm.forward_backward``: posteriors, log-likelihood and
   expected transition counts; the compiled numba kernel, and the numpy blocked scan used
   without numba) against hmmlearn's compiled log-space kernels doing the same work
   (``_hmmc.forward_log`` + ``backward_log`` + posteriors + ``compute_log_xi_sum``, as in
   hmmlearn's own ``_fit_log``) and hmmlearn's compiled *scaling* kernels (the faster
   ones).  Agreement with both is printed.
2. **Full fit, time per EM iteration** as the number of bins T and of neurons N grow
   (Poisson HMM-GLM, K = 3, 25 Adam steps per M-step); µs per bin shows linearity in T.
3. **Held-out log-likelihood vs training length** of the HMM-GLM without prior, with the
   Gaussian prior and with the one-hot prior (plus a single-state CouplingGLM), on a
   simulated 20-neuron, 3-state switching network; test data = 5 000 separate bins from
   the same network.  Reported in bits per spike over a homogeneous Poisson model.

Usage::

    python benchmarks/bench_hmmglm.py            # full sizes (a few minutes on 2 cores)
    python benchmarks/bench_hmmglm.py --quick    # smaller sizes, same tables: < 1 minute

The last line is ``SUMMARY estep_vs_hmmlearn=<hmmlearn log-space time ÷ ours>
estep_vs_hmmlearn_scaling=<hmmlearn scaling time ÷ ours>`` (wall time, full E-step; > 1
means we are faster), then the same two ratios in CPU time (``..._cpu``).  The run fails
if our posteriors differ from hmmlearn's by more than 1e-8.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_config, print_table  # noqa: E402
from hmmlearn import _hmmc  # noqa: E402
from scipy.special import gammaln, logsumexp  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from connectome.glm import CouplingGLM  # noqa: E402
from connectome.hmm import forward_backward  # noqa: E402
from connectome.hmmglm import HMMGLM  # noqa: E402
from connectome.simulate_switching import simulate_switching_glm  # noqa: E402


def _timed(func) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; CPU time is robust to load from other processes."""
    w0, c0 = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - w0, time.process_time() - c0


def _hmmlearn_estep(start, P, ll):
    logz, fwd = _hmmc.forward_log(start, P, ll)
    bwd = _hmmc.backward_log(start, P, ll)
    gamma = fwd + bwd
    gamma = np.exp(gamma - logsumexp(gamma, axis=1, keepdims=True))
    xi = _hmmc.compute_log_xi_sum(fwd, P, bwd, ll)
    return logz, gamma, xi


def _hmmlearn_scaling(start, P, ll):
    frame = np.exp(ll - ll.max(1, keepdims=True))
    _, fwd, scale = _hmmc.forward_scaling(start, P, frame)
    bwd = _hmmc.backward_scaling(start, P, frame, scale)
    gamma = fwd * bwd
    gamma /= gamma.sum(1, keepdims=True)
    xi = _hmmc.compute_scaling_xi_sum(fwd, P, bwd, frame)
    return gamma, xi


def bench_estep(n_bins: int, k: int, repeats: int) -> tuple[float, float, float, float]:
    rng = np.random.default_rng(0)
    ll = rng.normal(size=(n_bins, k)) * 3.0
    P = rng.dirichlet(np.ones(k), size=k) * 0.05 + 0.95 * np.eye(k)
    P /= P.sum(1, keepdims=True)
    start = np.full(k, 1.0 / k)
    ls, lt = np.log(start), np.log(P)
    block = max(1, round(0.5 * np.sqrt(n_bins)))  # the numpy scan's default block

    ref_logz, ref_gamma, ref_xi = _hmmlearn_estep(start, P, ll)
    sc_gamma, sc_xi = _hmmlearn_scaling(start, P, ll)
    ours = forward_backward(ll, ls, lt)  # compiled on first call (cached on disk)
    d_gamma = np.abs(ours.posteriors - ref_gamma).max()
    d_gamma_sc = np.abs(ours.posteriors - sc_gamma).max()
    d_logz = abs(float(ours.log_likelihood) - ref_logz) / abs(ref_logz)
    d_xi = np.abs(ours.transition_counts - np.exp(ref_xi)).max() / np.exp(ref_xi).max()
    d_xi_sc = np.abs(ours.transition_counts - sc_xi).max() / sc_xi.max()

    arms = {
        "log": lambda: _hmmlearn_estep(start, P, ll),
        "log_fb": lambda: (_hmmc.forward_log(start, P, ll), _hmmc.backward_log(start, P, ll)),
        "scaling": lambda: _hmmlearn_scaling(start, P, ll),
        "ours": lambda: forward_backward(ll, ls, lt),
        "ours_numpy": lambda: forward_backward(ll, ls, lt, block=block),
    }
    # interleaved, so that load from other processes hits every arm alike
    runs = {name: [] for name in arms}
    for _ in range(repeats):
        for name, fn in arms.items():
            runs[name].append(_timed(fn))
    t = {name: np.median(v, axis=0) for name, v in runs.items()}  # (wall, CPU)
    print(f"\n## E-step, T = {n_bins:,} bins, K = {k} states (median of {repeats} interleaved "
          "repeats)\n")
    labels = {
        "log": "hmmlearn compiled log-space: fwd + bwd + posteriors + ξ",
        "log_fb": "hmmlearn compiled log-space: fwd + bwd only",
        "scaling": "hmmlearn compiled scaling: fwd + bwd + posteriors + ξ",
        "ours": "neuroloom forward_backward (compiled scaled recursion, numba)",
        "ours_numpy": f"neuroloom blocked scan (numpy fallback, block={block})",
    }
    print_table(
        ["implementation", "wall (ms)", "CPU (ms)", "hmmlearn scaling ÷ this (wall)",
         "hmmlearn scaling ÷ this (CPU)"],
        [[labels[n], f"{t[n][0] * 1e3:.1f}", f"{t[n][1] * 1e3:.1f}",
          f"{t['scaling'][0] / t[n][0]:.2f}", f"{t['scaling'][1] / t[n][1]:.2f}"]
         for n in arms],
    )
    print(
        f"\nagreement with hmmlearn log-space: max |Δ posterior| = {d_gamma:.1e}, "
        f"relative Δ log p(x) = {d_logz:.1e}, relative Δ ξ = {d_xi:.1e}; with hmmlearn "
        f"scaling: max |Δ posterior| = {d_gamma_sc:.1e}, relative Δ ξ = {d_xi_sc:.1e}"
    )
    assert d_gamma < 1e-8 and d_gamma_sc < 1e-8, "posteriors differ from hmmlearn's"
    return (t["log"][0] / t["ours"][0], t["scaling"][0] / t["ours"][0],
            t["scaling"][1] / t["ours"][1], t["log"][1] / t["ours"][1])


def _fit_time_per_iter(n_neurons: int, n_bins: int, n_iter: int):
    """Median (wall, CPU) seconds of EM iterations 2 … n_iter + 1 (the first is longer)."""
    sim = simulate_switching_glm(n_neurons, 3, n_bins, baseline_rate=0.6, random_state=0)
    model = HMMGLM(3, tol=0.0, max_iter=n_iter + 1, verbose=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(sim.counts)
    return np.median(model._iter_times[1:], axis=0)


def bench_fit_scaling(sizes_t, sizes_n, n_iter: int) -> None:
    print(f"\n## Full fit: time per EM iteration (K = 3, 25 Adam steps per M-step + E-step, "
          f"median of {n_iter} iterations)\n")
    rows = []
    for n_neurons, n_bins in [(20, t) for t in sizes_t] + [(n, sizes_t[1]) for n in sizes_n]:
        wall, cpu = _fit_time_per_iter(n_neurons, n_bins, n_iter)
        rows.append([n_bins, n_neurons, f"{wall * 1e3:.0f}", f"{cpu * 1e3:.0f}",
                     f"{cpu / n_bins * 1e6:.1f}"])
    print_table(["T (bins)", "N (neurons)", "wall ms / iteration", "CPU ms / iteration",
                 "CPU µs per bin"], rows)
    print("\n(CPU time: the fit runs on one thread below ~2·10⁷ elements per operation, so CPU "
          "time is the cost without the noise of other processes; linear in T means a "
          "constant µs per bin once T is large enough to hide the fixed cost per step)")


def bench_priors(lengths, n_test: int, seeds) -> None:
    print(f"\n## Held-out log-likelihood vs training length (20 neurons, 3 states; "
          f"{n_test} held-out bins; mean over {len(seeds)} simulated network(s))\n")
    print("bits per spike over a homogeneous Poisson model (higher is better)\n")
    names = ["single GLM", "HMM-GLM, no prior", "HMM-GLM, Gaussian prior",
             "HMM-GLM, one-hot prior"]
    table = {t: {name: [] for name in names} for t in lengths}
    for seed in seeds:
        # the held-out bins come from the same network: simulate one long run, split it
        full = simulate_switching_glm(
            20, 3, max(lengths) + n_test, baseline_rate=0.6, random_state=seed
        )
        x_all = full.counts[0]
        x_test = x_all[-n_test:]
        n_spikes = x_test.sum()
        for t in lengths:
            x_train = x_all[:t]
            rate = np.clip(x_train.mean(0), 1e-3, None)
            base = float((x_test * np.log(rate) - rate - gammaln(x_test + 1)).sum())
            glm = CouplingGLM(alpha=1e-3).fit(x_train)
            table[t]["single GLM"].append(glm.log_likelihood(x_test))
            for name, prior in zip(names[1:], (None, "gaussian", "onehot"), strict=True):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model = HMMGLM(3, prior=prior, max_iter=60, verbose=False,
                                   random_state=0).fit(x_train)
                table[t][name].append(model.log_likelihood(x_test))
            for name in names:
                table[t][name][-1] = (table[t][name][-1] - base) / (n_spikes * np.log(2))
    rows = []
    for t in lengths:
        vals = [np.mean(table[t][name]) for name in names]
        best = names[int(np.argmax(vals))]
        rows.append([t] + [f"{v:.4f}" for v in vals] + [best])
    print_table(["train bins"] + names + ["best"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, < 1 minute")
    args = ap.parse_args()
    t_start = time.perf_counter()
    print_config(f"bench_hmmglm ({'quick' if args.quick else 'full'} run)")
    ratio, ratio_sc, ratio_sc_cpu, ratio_cpu = bench_estep(100_000, 5,
                                                           repeats=5 if args.quick else 9)
    if args.quick:
        bench_fit_scaling([2_000, 4_000, 8_000, 16_000], [10, 40], n_iter=3)
        bench_priors([300, 1_000, 3_000], 2_000, seeds=[0])
    else:
        bench_fit_scaling([5_000, 10_000, 20_000, 40_000, 80_000], [10, 40, 80], n_iter=5)
        bench_priors([300, 1_000, 3_000, 10_000], 5_000, seeds=[0, 1, 2])
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")
    print(f"SUMMARY estep_vs_hmmlearn={ratio:.2f} estep_vs_hmmlearn_scaling={ratio_sc:.2f} "
          f"estep_vs_hmmlearn_cpu={ratio_cpu:.2f} "
          f"estep_vs_hmmlearn_scaling_cpu={ratio_sc_cpu:.2f}")


if __name__ == "__main__":
    main()
