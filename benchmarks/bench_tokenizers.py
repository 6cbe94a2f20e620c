"""Benchmark the tokenizers: encode throughput, training step time, and (full run) the
reconstruction / downstream-probe comparison on real EEG.

Full run (CPU, several minutes on 2 cores)::

    nice -n 10 .venv/bin/python benchmarks/bench_tokenizers.py

* RVQ tokenizer trained on EEGMMIDB S001 R04+R08, evaluated on held-out R12: nMSE,
  Pearson r, relative band-power error per band, codebook perplexity, against k-means
  VQ of patches (one codebook) and a single-codebook VQ-VAE (same network) at equal
  bits per patch; RVQ also with beam-search codes (same model), and every learned
  tokenizer also through ``decode(mode="spectral")``.
* Probe: per-trial (4 s) features → standardized L2 logistic regression for rest (T0) vs
  task (T1/T2) and left (T1) vs right (T2), stratified 5-fold CV over the trials of
  R04+R08+R12, balanced accuracy, chance level by label permutation (100 shuffles).
  Arms: RVQ code histograms per channel group (left / right sensorimotor, midline,
  other), the same plus each channel's log robust scale (kept by the tokenizer in
  ``RVQCodes.scale``), first-codebook histograms plus log scale, per-channel log band
  power of the signal decoded from the tokens, per-channel log band power of the
  spectrum the codes predict (``decode_spectrum``), the log scale alone, and (baseline)
  per-channel log band power δ..γ of the signal.
* The EEG-trained tokenizer applied unchanged to the sEEG sample (88 contacts, 1000 Hz),
  and to R12 under channel names it never saw (montage check).

``--quick`` (< 1 min) measures only throughput and step time.  The last line is
``SUMMARY realtime_x=<seconds of 64-channel signal encoded per wall-clock second>
realtime_x_cpu=<the same per CPU second> realtime_x_beam8=... realtime_x_beam8_cpu=...``
(greedy codes, then beam-search codes with beam 8; one torch and one BLAS thread unless
--threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import print_config, print_table  # noqa: E402

SHARED = Path(os.environ.get("NEUROLOOM_SHARED_DATA", ROOT.parent / "shared" / "data"))
EEG = SHARED / "eeg_meg" / "eegmmidb"


def _eeg(run: str):
    import neurodata as nd

    rec = nd.load(EEG / f"S001R{run}.edf")
    return rec.timeseries["eeg"].load(), rec.events.to_dataframe()


def throughput(seconds: float, repeats: int) -> tuple[float, dict]:
    """Encode a 64-channel 160 Hz signal; returns realtime factor and a breakdown."""
    import torch

    from decoders.tokenizers import RVQTokenizer
    from decoders.tokenizers.patches import normalized_patches

    rng = np.random.default_rng(0)
    x = rng.standard_normal((int(seconds * 160), 64)) * 3e-5
    tok = RVQTokenizer(n_steps=1, batch_size=8).fit(x[:1600], rate=160.0)
    # best of `repeats`: the machine is shared, and load only ever slows a run down
    t_total, c_total = best_times(lambda: tok.encode(x, rate=160.0), repeats)
    tok.set_params(beam_width=8)
    t_beam, c_beam = best_times(lambda: tok.encode(x, rate=160.0), repeats)
    tok.set_params(beam_width=1)
    t_res = best_time(lambda: normalized_patches(x, 160.0, 200.0, 200), repeats)
    p = torch.from_numpy(normalized_patches(x, 160.0, 200.0, 200)[0].reshape(-1, 200))
    idx = torch.zeros(p.shape[0], dtype=torch.long)
    with torch.inference_mode():
        t_enc = best_time(lambda: tok.module_.embed(p, idx, idx), repeats)
        z = tok.module_.embed(p, idx, idx)
        t_vq = best_time(lambda: tok.module_.quantizer.encode(z), repeats)
    return seconds / t_total, {"total": t_total, "resample": t_res, "encoder": t_enc,
                               "quantizer": t_vq, "n_patches": int(p.shape[0]),
                               "beam8": t_beam, "cpu_total": c_total, "cpu_beam8": c_beam}


def best_times(func, repeats: int) -> tuple[float, float]:
    """Fastest wall-clock and fastest CPU time of ``repeats`` runs of ``func()``, seconds."""
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def best_time(func, repeats: int) -> float:
    """Fastest of ``repeats`` wall-clock runs of ``func()``, in seconds."""
    return best_times(func, repeats)[0]


def step_time(batch_size: int, n: int) -> float:
    from decoders.tokenizers import RVQTokenizer

    x = np.random.default_rng(1).standard_normal((200 * 60, 8))
    tok = RVQTokenizer(n_steps=2, batch_size=batch_size).fit(x, rate=200.0)
    tok.set_params(n_steps=2 + n)
    t0 = time.perf_counter()
    tok.fit(x, rate=200.0)  # fresh fit of 2 + n steps; subtract a 2-step fit
    t_full = time.perf_counter() - t0
    tok.set_params(n_steps=2)
    t0 = time.perf_counter()
    tok.fit(x, rate=200.0)
    return (t_full - (time.perf_counter() - t0)) / n


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def comparison(steps: int, budgets: list[tuple[int, int]]):
    """Reconstruction table on held-out R12 for RVQ vs k-means vs VQ-VAE at equal bits.

    Every network (RVQ and VQ-VAE) is the same encoder/decoder trained for the same
    number of steps and batch size; RVQ codebooks start from k-means on the encoder
    outputs, the VQ-VAE codebook from random batch vectors (k-means init measured slightly
    worse for it: 0.464 vs 0.453 nMSE at 8 bits, 0.381 vs 0.376 at 12).
    """
    from decoders.tokenizers import (
        KMeansPatchVQ,
        RVQTokenizer,
        codebook_perplexity,
        make_vqvae,
        reconstruction_report,
    )

    train = [_eeg("04")[0], _eeg("08")[0]]
    test, _ = _eeg("12")
    rows, spectral_rows, models = [], [], {}
    bands = ("delta", "theta", "alpha", "beta", "gamma")

    def row(bits, label, rep, perp, fit_s):
        return ([f"{bits:g}", label, _fmt(rep["nmse"]), _fmt(rep["r"])]
                + [_fmt(rep[f"bp_{b}"]) for b in bands] + [perp, fit_s])

    for Q, K in budgets:
        bits = Q * np.log2(K)
        size = K ** Q
        cands = [(f"RVQ {Q}x{K}", RVQTokenizer(n_codebooks=Q, codebook_size=K, n_steps=steps)),
                 (f"k-means {size}", KMeansPatchVQ(n_codes=size)),
                 (f"VQ-VAE 1x{size}", make_vqvae(size, n_steps=steps, codebook_init="random")
                  if size <= 65536 else None)]
        for name, model in cands:
            if model is None:
                rows.append([f"{bits:g}", name, "skipped: 16.7 M entries cannot be trained "
                             "here"] + [""] * 8)
                continue
            t0 = time.perf_counter()
            model.fit(train)
            fit_s = time.perf_counter() - t0
            codes = model.encode(test)
            x, y = model.reconstruct(test)
            rep = reconstruction_report(x, y, 200.0)
            perp = codebook_perplexity(codes.codes, K if name.startswith("RVQ") else size)
            used = getattr(model, "n_codes_used_", size)
            label = name if used == size else f"{name} (one code per training patch: {used})"
            perp_s = " ".join(f"{p:.1f}" for p in perp)
            rows.append(row(bits, label, rep, perp_s, f"{fit_s:.0f}"))
            if name.startswith("RVQ"):
                # same trained model, codes chosen by beam search instead of greedily
                model.set_params(beam_width=8)
                xb, yb = model.reconstruct(test)
                model.set_params(beam_width=1)
                rows.append(row(bits, f"{name}, beam 8", reconstruction_report(xb, yb, 200.0),
                                "", "same model"))
            if isinstance(model, RVQTokenizer):
                ys = model.decode(codes, mode="spectral")
                spectral_rows.append(row(bits, name, reconstruction_report(x, ys, 200.0),
                                         perp_s, ""))
            models[name] = model
    print("\n## Reconstruction on held-out EEGMMIDB S001R12 (train R04+R08), equal bits/patch")
    header = ["bits", "tokenizer", "nMSE", "r", "bp δ", "bp θ", "bp α", "bp β", "bp γ",
              "perplexity/codebook", "fit s"]
    print_table(header, rows)
    print("\n## The same learned tokenizers, decode(mode='spectral'): predicted amplitude "
          "spectrum with predicted phases (band power kept, higher MSE)")
    print_table(header[:-1], [r[:-1] for r in spectral_rows])
    return models


#: Sensorimotor neighbourhoods (normalized EEGMMIDB names); all other channels form a
#: fourth group.  Imagery of one fist changes mu/beta power over the opposite side.
SENSORIMOTOR = {"left": ["fc5", "fc3", "fc1", "c5", "c3", "c1", "cp5", "cp3", "cp1"],
                "right": ["fc6", "fc4", "fc2", "c6", "c4", "c2", "cp6", "cp4", "cp2"],
                "midline": ["fcz", "cz", "cpz"]}


def _groups(ch_names) -> list[np.ndarray]:
    from decoders.tokenizers.patches import normalize_name

    names = [normalize_name(n) for n in ch_names]
    groups = [np.array([i for i, n in enumerate(names) if n in members])
              for members in SENSORIMOTOR.values()]
    used = set(np.concatenate(groups).tolist())
    return groups + [np.array([i for i in range(len(names)) if i not in used])]


def _trial_features(ts, events, model):
    """Per 4-s trial: group code histograms, per-channel log scale, per-channel log band power."""
    from decoders.tokenizers.metrics import BANDS, band_powers, group_code_histograms

    groups = _groups(list(ts.channels["name"]))
    bands = ("delta", "theta", "alpha", "beta", "gamma")
    hist, hist0, log_scale, log_bp, tok_bp, spec_bp, labels = [], [], [], [], [], [], []
    for onset, dur, lab in zip(events["onset"], events["duration"], events["label"],
                               strict=True):
        if lab not in ("T0", "T1", "T2") or dur < 4.0 or onset + 4.0 > ts.duration:
            continue
        seg = ts.restrict(onset, onset + 4.0)
        codes = model.encode(seg)
        hist.append(group_code_histograms(codes.codes, model.codebook_size, groups))
        hist0.append(group_code_histograms(codes.codes[..., :1], model.codebook_size, groups))
        log_scale.append(np.log(codes.scale))
        bp = band_powers(np.asarray(seg[:]), ts.rate)
        log_bp.append(np.log(np.concatenate([bp[b] for b in bands]) + 1e-30))
        # what the tokens carry about band power: Welch power of their reconstruction
        rbp = band_powers(model.decode(codes), model.sfreq)
        tok_bp.append(np.log(np.concatenate([rbp[b] for b in bands]) + 1e-30))
        # ... and the power spectrum the codes predict (Whittle-fitted amplitude head)
        freqs, psd = model.decode_spectrum(codes)
        mean_psd = psd.mean(1) * (freqs[1] - freqs[0])
        spec_bp.append(np.log(np.concatenate(
            [mean_psd[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in BANDS.values()])
            + 1e-30))
        labels.append(lab)
    return {"hist": np.array(hist), "hist0": np.array(hist0), "scale": np.array(log_scale),
            "bp": np.array(log_bp), "tok_bp": np.array(tok_bp), "spec_bp": np.array(spec_bp),
            "label": np.array(labels)}


def probe(model, n_permutations: int = 100):
    """Stratified 5-fold CV over the trials of R04+R08+R12, permutation chance level."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, permutation_test_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parts = [_trial_features(*_eeg(r), model) for r in ("04", "08", "12")]
    F = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arms = {"RVQ group histograms": F["hist"],
            "RVQ histograms + log scale": np.hstack([F["hist"], F["scale"]]),
            "RVQ codebook-1 histograms + log scale": np.hstack([F["hist0"], F["scale"]]),
            "log band power of token reconstruction": F["tok_bp"],
            "log band power of the spectrum the codes predict": F["spec_bp"],
            "log scale only": F["scale"],
            "log band power": F["bp"]}
    rows = []
    for task, keep, target in [("rest vs task", ("T0", "T1", "T2"), lambda y: y != "T0"),
                               ("left vs right", ("T1", "T2"), lambda y: y == "T2")]:
        m = np.isin(F["label"], keep)
        y = target(F["label"][m]).astype(int)
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        for arm, X in arms.items():
            # L2 logistic regression; liblinear's dual solver is fast with more features
            # than trials (needed for 5 x (1 + n_permutations) fits per arm)
            clf = make_pipeline(StandardScaler(), LogisticRegression(
                C=0.05, solver="liblinear", dual=X.shape[1] > m.sum(), max_iter=5000))
            score, perm, p = permutation_test_score(
                clf, X[m], y, cv=cv, scoring="balanced_accuracy",
                n_permutations=n_permutations, random_state=0)
            rows.append([task, f"{m.sum()} ({y.sum()} pos)", arm, X.shape[1], _fmt(score),
                         _fmt(float(np.percentile(perm, 95))), f"{p:.3f}"])
    print("\n## Downstream probe (balanced accuracy, stratified 5-fold CV over the trials of "
          "R04+R08+R12; tokenizer trained unsupervised on R04+R08; chance 0.5, permutation "
          f"95th percentile over {n_permutations} label shuffles)")
    print_table(["label", "trials", "features", "n feat", "bal. acc.", "perm. 95%", "p"], rows)


def montage_check(model):
    """Held-out R12 with its real channel names vs the same data under names never seen.

    Shows how much the channel-name embedding contributes to reconstruction, i.e. what
    a montage with new names loses.
    """
    from decoders.tokenizers import reconstruction_report

    test, _ = _eeg("12")
    x = np.asarray(test[:])
    names = list(test.channels["name"])
    rows = []
    for label, ch in (("EEGMMIDB names (seen in training)", names),
                      ("the same channels renamed (unseen names)",
                       [f"new{i}" for i in range(len(names))])):
        codes = model.encode(x, rate=test.rate, ch_names=ch)
        target, _ = model.reconstruct(x, rate=test.rate, ch_names=ch)
        rep = reconstruction_report(target, model.decode(codes), 200.0)
        rows.append([label, f"{rep['nmse']:.4f}", f"{rep['r']:.4f}"])
    print("\n## Montage check: held-out R12, same tokenizer, channel names seen vs unseen")
    print_table(["channel names", "nMSE", "r"], rows)


def seeg(model):
    import neurodata as nd
    from decoders.tokenizers import codebook_perplexity, reconstruction_report

    ts = nd.load_sample("seeg_epilepsy").timeseries["seeg"].load()
    t0 = time.perf_counter()
    x, y = model.reconstruct(ts)
    dt = time.perf_counter() - t0
    rep = reconstruction_report(x, y, 200.0)
    perp = codebook_perplexity(model.encode(ts).codes, model.codebook_size)
    print("\n## Same tokenizer (trained on EEG) applied to the sEEG sample "
          f"({ts.n_channels} contacts, {ts.rate:g} Hz, {ts.duration:g} s)")
    print_table(["nMSE", "r", "bp δ", "bp θ", "bp α", "bp β", "bp γ", "perplexity/codebook",
                 "encode+decode s"],
                [[_fmt(rep["nmse"]), _fmt(rep["r"])]
                 + [_fmt(rep[f"bp_{b}"]) for b in ("delta", "theta", "alpha", "beta", "gamma")]
                 + [" ".join(f"{p:.1f}" for p in perp), f"{dt:.2f}"]])


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="throughput and step time only")
    ap.add_argument("--steps", type=int, default=1500, help="training steps per model")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch and BLAS threads (1 is fastest on a shared, loaded machine)")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # tables appear as they are computed
    torch.set_num_threads(args.threads)
    # the same limit for numpy's BLAS (the resampler's matrix products): the one-core
    # figure is one core for every library, and CPU time then counts no idle spinning
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    print(f"# bench_tokenizers: torch {torch.__version__}, {args.threads} threads, "
          f"device cpu{' (quick)' if args.quick else ''}")
    print_config(f"bench_tokenizers ({'quick' if args.quick else 'full'} run)")
    # 120 s in both modes: the encode of a whole recording is the use case, and a short
    # block measures per-call overheads more than throughput (30 s: ~940x vs ~1400x)
    seconds = 120.0
    rt, parts = throughput(seconds, 5)
    print("\n## Encode throughput (RVQTokenizer default: 4x64 codes, 64 ch at 160 Hz → 200 Hz)")
    rt_cpu = seconds / parts["cpu_total"]
    print_table(["signal", "patches", "total s", "resample+normalize s", "encoder s",
                 "quantizer s",
                 "channel-s / s", "realtime x (64 ch)", "realtime x (CPU time)",
                 "beam 8: total s", "beam 8: realtime x", "beam 8: realtime x (CPU)"],
                [[f"{seconds:g} s x 64 ch", parts["n_patches"], f"{parts['total']:.3f}",
                  f"{parts['resample']:.3f}", f"{parts['encoder']:.3f}",
                  f"{parts['quantizer']:.3f}", f"{64 * rt:.0f}", f"{rt:.0f}", f"{rt_cpu:.0f}",
                  f"{parts['beam8']:.3f}", f"{seconds / parts['beam8']:.0f}",
                  f"{seconds / parts['cpu_beam8']:.0f}"]])
    st = step_time(256, 3 if args.quick else 10)
    print("\n## Training step (batch 256 patches, default size)")
    print_table(["step s", "patches / s"], [[f"{st:.3f}", f"{256 / st:.0f}"]])
    if not args.quick:
        if not (EEG / "S001R12.edf").exists():
            print(f"\n(real EEG not found in {EEG}; comparison skipped)")
        else:
            models = comparison(args.steps, [(2, 16), (2, 64), (2, 256), (4, 64)])
            best = models["RVQ 4x64"]
            probe(best)
            montage_check(best)
            seeg(best)
    print(f"SUMMARY realtime_x={rt:.0f} realtime_x_cpu={rt_cpu:.0f} "
          f"realtime_x_beam8={seconds / parts['beam8']:.0f} "
          f"realtime_x_beam8_cpu={seconds / parts['cpu_beam8']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
