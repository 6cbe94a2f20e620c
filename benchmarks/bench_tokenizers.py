"""Benchmark the tokenizers: encode throughput, training step time, and (full run) the
reconstruction / downstream-probe comparison on real EEG.

Full run (CPU, several minutes on 2 cores)::

    nice -n 10 .venv/bin/python benchmarks/bench_tokenizers.py

* RVQ tokenizer trained on EEGMMIDB S001 R04+R08, evaluated on held-out R12: nMSE,
  Pearson r, relative band-power error per band, codebook perplexity, against k-means
  VQ of patches (one codebook) and a single-codebook VQ-VAE (same network) at equal
  bits per patch.
* Probe: code histograms → logistic regression for rest (T0) vs task (T1/T2) and left
  (T1) vs right (T2), trained on R04+R08 events, tested on R12, against log band-power
  features; chance = majority-class rate of the test labels.
* The EEG-trained tokenizer applied unchanged to the sEEG sample (88 contacts, 1000 Hz).

``--quick`` (< 1 min) measures only throughput and step time.  The last line is
``SUMMARY realtime_x=<seconds of 64-channel signal encoded per wall-clock second>``.
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

from _common import median_time, print_table  # noqa: E402

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
    from decoders.tokenizers.patches import make_patches, resample

    rng = np.random.default_rng(0)
    x = rng.standard_normal((int(seconds * 160), 64)) * 3e-5
    tok = RVQTokenizer(n_steps=1, batch_size=8).fit(x[:1600], rate=160.0)
    t_total = median_time(lambda: tok.encode(x, rate=160.0), repeats)
    t_res = median_time(lambda: resample(x, 160.0, 200.0), repeats)
    p = torch.from_numpy(make_patches(resample(x, 160.0, 200.0).astype(np.float32), 200)
                         .reshape(-1, 200))
    idx = torch.zeros(p.shape[0], dtype=torch.long)
    with torch.inference_mode():
        t_enc = median_time(lambda: tok.module_.embed(p, idx, idx), repeats)
        z = tok.module_.embed(p, idx, idx)
        t_vq = median_time(lambda: tok.module_.quantizer.encode(z), repeats)
    return seconds / t_total, {"total": t_total, "resample": t_res, "encoder": t_enc,
                               "quantizer": t_vq, "n_patches": int(p.shape[0])}


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
    """Reconstruction table on held-out R12 for RVQ vs k-means vs VQ-VAE at equal bits."""
    from decoders.tokenizers import (
        KMeansPatchVQ,
        RVQTokenizer,
        codebook_perplexity,
        make_vqvae,
        reconstruction_report,
    )

    train = [_eeg("04")[0], _eeg("08")[0]]
    test, _ = _eeg("12")
    rows, models = [], {}
    for Q, K in budgets:
        bits = Q * np.log2(K)
        cands = [(f"RVQ {Q}x{K}", RVQTokenizer(n_codebooks=Q, codebook_size=K, n_steps=steps)),
                 (f"k-means {K ** Q}", KMeansPatchVQ(n_codes=K ** Q)),
                 (f"VQ-VAE 1x{K ** Q}", make_vqvae(K ** Q, n_steps=steps) if K ** Q <= 4096
                  else None)]
        for name, model in cands:
            if model is None:
                rows.append([f"{bits:g}", name, "skipped: codebook too large to train here"]
                            + [""] * 8)
                continue
            t0 = time.perf_counter()
            model.fit(train)
            fit_s = time.perf_counter() - t0
            codes = model.encode(test)
            x, y = model.reconstruct(test)
            rep = reconstruction_report(x, y, 200.0)
            perp = codebook_perplexity(codes.codes, K if name.startswith("RVQ") else K ** Q)
            rows.append([f"{bits:g}", name, _fmt(rep["nmse"]), _fmt(rep["r"])]
                        + [_fmt(rep[f"bp_{b}"]) for b in
                           ("delta", "theta", "alpha", "beta", "gamma")]
                        + [" ".join(f"{p:.1f}" for p in perp), f"{fit_s:.0f}"])
            models[name] = model
    print("\n## Reconstruction on held-out EEGMMIDB S001R12 (train R04+R08), equal bits/patch")
    print_table(["bits", "tokenizer", "nMSE", "r", "bp δ", "bp θ", "bp α", "bp β", "bp γ",
                 "perplexity/codebook", "fit s"], rows)
    return models


def _trial_features(ts, events, model, codebook_size):
    from decoders.tokenizers import code_histograms
    from decoders.tokenizers.metrics import band_powers

    X_code, X_bp, labels = [], [], []
    for onset, dur, lab in zip(events["onset"], events["duration"], events["label"],
                               strict=True):
        if lab not in ("T0", "T1", "T2") or dur < 4.0 or onset + 4.0 > ts.duration:
            continue
        seg = ts.restrict(onset, onset + 4.0)
        codes = model.encode(seg)
        X_code.append(code_histograms(codes.codes, codebook_size))
        bp = band_powers(np.asarray(seg[:]), ts.rate)
        X_bp.append(np.log(np.concatenate([bp[b] for b in sorted(bp)]) + 1e-30))
        labels.append(lab)
    return np.array(X_code), np.array(X_bp), np.array(labels)


def probe(model, codebook_size: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parts = [_eeg(r) for r in ("04", "08", "12")]
    feats = [_trial_features(ts, ev, model, codebook_size) for ts, ev in parts]
    tr = [np.concatenate([f[i] for f in feats[:2]]) for i in range(3)]
    te = feats[2]
    rows = []
    for task, keep, target in [("rest vs task", ("T0", "T1", "T2"), lambda y: y != "T0"),
                               ("left vs right", ("T1", "T2"), lambda y: y == "T2")]:
        mtr, mte = np.isin(tr[2], keep), np.isin(te[2], keep)
        ytr, yte = target(tr[2][mtr]), target(te[2][mte])
        chance = max(yte.mean(), 1 - yte.mean())
        row = [task, f"{mtr.sum()}/{mte.sum()}", _fmt(chance)]
        for col in (0, 1):
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            clf.fit(tr[col][mtr], ytr)
            row.append(_fmt(clf.score(te[col][mte], yte)))
        rows.append(row)
    print("\n## Downstream probe (logistic regression; train R04+R08 trials, test R12)")
    print_table(["label", "n train/test", "chance", "RVQ code histograms", "log band power"],
                rows)


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
                    help="torch threads (1 is fastest on a shared, loaded machine)")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # tables appear as they are computed
    torch.set_num_threads(args.threads)
    print(f"# bench_tokenizers: torch {torch.__version__}, {args.threads} threads, "
          f"device cpu{' (quick)' if args.quick else ''}")
    seconds = 30.0 if args.quick else 120.0
    rt, parts = throughput(seconds, 3)
    print("\n## Encode throughput (RVQTokenizer default: 4x64 codes, 64 ch at 160 Hz → 200 Hz)")
    print_table(["signal", "patches", "total s", "resample s", "encoder s", "quantizer s",
                 "channel-s / s", "realtime x (64 ch)"],
                [[f"{seconds:g} s x 64 ch", parts["n_patches"], f"{parts['total']:.3f}",
                  f"{parts['resample']:.3f}", f"{parts['encoder']:.3f}",
                  f"{parts['quantizer']:.3f}", f"{64 * rt:.0f}", f"{rt:.0f}"]])
    st = step_time(256, 3 if args.quick else 10)
    print("\n## Training step (batch 256 patches, default size)")
    print_table(["step s", "patches / s"], [[f"{st:.3f}", f"{256 / st:.0f}"]])
    if not args.quick:
        if not (EEG / "S001R12.edf").exists():
            print(f"\n(real EEG not found in {EEG}; comparison skipped)")
        else:
            models = comparison(args.steps, [(2, 16), (3, 16), (4, 64)])
            best = models["RVQ 4x64"]
            probe(best, best.codebook_size)
            seeg(best)
    print(f"SUMMARY realtime_x={rt:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
