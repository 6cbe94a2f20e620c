"""Neuroformer benchmark: throughput, KV cache, and accuracy on simulated and real data.

Parts (``--parts``, default all; ``--quick`` runs only ``sim`` at small settings):

* ``sim`` — the simulated recurrent circuit (``decoders.neuroformer.simulate``): training
  tokens/s (wall and CPU), peak memory, generation tokens/s with and without the KV cache
  (fixed 64-token windows so both do the same work), attention-connectivity AUROC against
  the true directed graph, PSTH Pearson r between generated and held-out trials, spike-token
  F1 on held-out windows (vs a per-neuron rate baseline), behaviour (speed) r vs ridge
  regression on binned counts;
* ``sim_behaviour_input`` — the same with the past window's speed as a cross-attention
  input (behaviour r beside ridge on counts and ridge on counts + the same past speed);
* ``hippocampus`` — the bundled rat linear-track units (run period), position as the
  behaviour: held-out position error of Neuroformer vs ridge on binned counts vs a GRU of
  similar parameter count, and token F1;
* ``celegans`` — the bundled C. elegans whole-brain calcium traces as event tokens:
  held-out next-event F1 vs the per-neuron rate baseline;
* ``park`` — mouse V1 calcium (Park et al. 2024, ../shared/data): grating direction of
  held-out trials, Neuroformer vs ridge on binned events vs logistic regression on trial
  counts (``decoders.neuroformer.trials``).

The last line is ``SUMMARY train_tokens_per_s=<n> kvcache_speedup=<no-cache time ÷ cache
time> connectivity_auroc=<AUROC>`` (from ``sim``).  Run with ``nice``; ``--json PATH``
writes every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb, print_config, timed  # noqa: E402


def pearson(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")


EPOCHS: int | None = None  # --epochs overrides every part's epochs
TOKEN_LOSS: str | None = None  # --token-loss overrides every part's model.token_loss


def _cfg(**sections):
    from decoders.neuroformer.config import config_from_dict

    if EPOCHS is not None:
        sections["train"]["epochs"] = EPOCHS
    if TOKEN_LOSS is not None:
        sections["model"]["token_loss"] = TOKEN_LOSS
    return config_from_dict(sections)


def _fit(prep, cfg):
    import torch

    from decoders.neuroformer.workflow import model_from_config

    model = model_from_config(cfg).set_params(verbose=False)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    wall, cpu, _ = timed(lambda: model.fit(prep.train, prep.val))
    tokens = sum(h["tokens"] for h in model.history_)
    out = {"train_wall_s": wall, "train_cpu_s": cpu, "train_tokens": tokens,
           "train_tokens_per_s": tokens / wall, "train_tokens_per_cpu_s": tokens / cpu,
           "n_parameters": model.n_parameters(), "peak_rss_mb": peak_rss_mb(),
           "val_loss": [h.get("val_loss") for h in model.history_],
           "device": str(next(model.net_.parameters()).device)}
    if torch.cuda.is_available():
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return model, out


def kv_cache_speed(model, windows, *, n_windows: int = 8, n_tokens: int = 64) -> dict:
    """Generation tokens/s with and without the KV cache at a fixed length."""
    import torch

    from decoders.neuroformer.generate import generate_windows

    w = windows.first_chunks().subset(range(min(n_windows, windows.n_windows)))
    net = model.net_.eval()
    dev = next(net.parameters()).device
    res = {}
    for cache in (True, False):
        gen = torch.Generator(device=dev).manual_seed(0)
        kw = dict(n_win=int(round(w.window / w.dt)), max_tokens=n_tokens, temperature=1.0,
                  top_k=None, top_p=None, use_cache=cache, generator=gen, device=dev,
                  stop_at_eos=False)
        generate_windows(net, w.past_ids[:2], w.past_dts[:2],
                          None if w.stimulus is None else w.stimulus[:2], **kw)  # warm-up
        wall, cpu, _ = timed(lambda kw=kw: generate_windows(
            net, w.past_ids, w.past_dts, w.stimulus, **kw))
        n = len(w) * n_tokens
        key = "cache" if cache else "nocache"
        res[f"gen_tokens_per_s_{key}"] = n / wall
        res[f"gen_tokens_per_cpu_s_{key}"] = n / cpu
        res[f"gen_wall_s_{key}"], res[f"gen_cpu_s_{key}"] = wall, cpu
    res["kvcache_speedup"] = res["gen_wall_s_nocache"] / res["gen_wall_s_cache"]
    res["kvcache_speedup_cpu"] = res["gen_cpu_s_nocache"] / res["gen_cpu_s_cache"]
    return res


def _sim_setup(quick: bool, seed: int, *, behaviour_input: bool = False):
    from decoders.neuroformer import simulate_circuit
    from decoders.neuroformer.workflow import prepare

    sim = simulate_circuit(n_neurons=16, n_trials=60 if quick else 200, random_state=seed)
    data = {"recording": "sim", "behaviour": "behavior", "stimulus": "stimulus",
            "split": [0.7, 0.1, 0.2]}
    if behaviour_input:  # the past window's speed as an input (never the current window's)
        data["behaviour_input"] = "behavior"
    cfg = _cfg(data=data,
               tokens={"window": 0.05, "past_window": 0.1, "dt": 0.01, "block_size": 48,
                       "max_past": 96},
               model={"n_embd": 64, "n_head": 4, "n_layer": 2, "n_past_layer": 0,
                      "neuron_attention": True, "dropout": 0.1},
               train={"epochs": 3 if quick else 10, "batch_size": 32, "lr": 2e-3,
                      "seed": seed},
               generate={"n_samples": 4, "condition": "generated",
                         "max_windows": 200 if quick else 400})
    return sim, cfg, prepare(sim.recording, cfg)


def part_sim(quick: bool, seed: int) -> dict:
    from decoders.neuroformer.workflow import evaluate

    sim, cfg, prep = _sim_setup(quick, seed)
    model, out = _fit(prep, cfg)
    out.update(kv_cache_speed(model, prep.test, n_tokens=48))
    metrics, _ = evaluate(model, prep, cfg)
    out.update({"connectivity_auroc": metrics.get("connectivity_auroc"),
                "connectivity_auroc_by_method": metrics.get("connectivity_auroc_by_method"),
                "psth_r": metrics.get("psth_r"), "n_psth_trials": metrics.get("n_psth_trials"),
                "token_f1": metrics["token_f1"]["f1"],
                "rate_baseline_f1": metrics["rate_baseline_f1"]["f1"],
                "behaviour_r": metrics["behaviour"]["neuroformer_r"][0],
                "ridge_r": metrics["behaviour"]["ridge_r"][0],
                "n_trials": len(sim.trial_starts)})
    return out


def part_sim_behaviour_input(quick: bool, seed: int) -> dict:
    """The same simulation and model with the past window's speed as a cross-attention
    input: current-window speed decoded from past speed + spikes, beside ridge on the
    counts alone and ridge on the counts + the same past speed bins."""
    from decoders.neuroformer.workflow import evaluate

    sim, cfg, prep = _sim_setup(quick, seed, behaviour_input=True)
    model, out = _fit(prep, cfg)
    metrics, _ = evaluate(model, prep, cfg)
    beh = metrics["behaviour"]
    out.update({"behaviour_r": beh["neuroformer_r"][0], "ridge_r": beh["ridge_r"][0],
                "ridge_with_input_r": beh["ridge_with_input_r"][0],
                "token_f1": metrics["token_f1"]["f1"],
                "rate_baseline_f1": metrics["rate_baseline_f1"]["f1"],
                "connectivity_auroc": metrics.get("connectivity_auroc"),
                "n_trials": len(sim.trial_starts)})
    return out


def _gru_hidden(n_in: int, target: int) -> int:
    """GRU width (2 layers + linear read-out) whose parameter count is closest to target."""
    def count(h):
        return 3 * (n_in * h + h * h + 2 * h) + 3 * (2 * h * h + 2 * h) + h + 1
    return min(range(4, 512), key=lambda h: abs(count(h) - target))


def part_hippocampus(quick: bool, seed: int) -> dict:
    import neurodata as nd
    from decoders.neuroformer.readouts import binned_features, gru_baseline, ridge_baseline
    from decoders.neuroformer.workflow import evaluate, prepare

    rec = nd.load_sample("nelpy_linear_track")
    cfg = _cfg(data={"recording": "nelpy_linear_track", "behaviour": "position",
                     "behaviour_channels": ["x"], "interval": [4397.0, 5390.0],
                     "split": [0.7, 0.15, 0.15]},
               tokens={"window": 0.1, "past_window": 0.3, "dt": 0.01, "block_size": 64,
                       "max_past": 128},
               model={"n_embd": 64, "n_head": 4, "n_layer": 2, "dropout": 0.1},
               train={"epochs": 4 if quick else 15, "batch_size": 32, "lr": 1e-3,
                      "seed": seed},
               generate={"n_samples": 1, "condition": "real", "max_windows": 1500})
    prep = prepare(rec, cfg)
    model, out = _fit(prep, cfg)
    metrics, _ = evaluate(model, prep, cfg)
    tr, te = prep.train.first_chunks(), prep.test.first_chunks()
    y = te.behaviour
    pred = model.predict_behaviour(prep.test)
    span = dict(window=te.window, past_window=te.past_window)
    xr_tr = binned_features(prep.spikes, tr.window_start, bin_size=te.window, **span)
    xr_te = binned_features(prep.spikes, te.window_start, bin_size=te.window, **span)
    ridge = ridge_baseline(xr_tr, tr.behaviour, xr_te)
    xg_tr = binned_features(prep.spikes, tr.window_start, bin_size=0.02, **span)
    xg_te = binned_features(prep.spikes, te.window_start, bin_size=0.02, **span)
    hidden = _gru_hidden(prep.spikes.n_units, out["n_parameters"])
    gru, n_gru = gru_baseline(xg_tr, tr.behaviour, xg_te, hidden=hidden,
                              epochs=10 if quick else 40, random_state=seed)
    out.update({
        "position_mae_px": {"neuroformer": float(np.abs(pred - y).mean()),
                            "ridge": float(np.abs(ridge - y).mean()),
                            "gru": float(np.abs(gru - y).mean()),
                            "mean_predictor": float(np.abs(tr.behaviour.mean() - y).mean())},
        "position_r": {"neuroformer": pearson(pred, y), "ridge": pearson(ridge, y),
                       "gru": pearson(gru, y)},
        "gru_parameters": n_gru, "gru_hidden": hidden,
        "token_f1": metrics["token_f1"]["f1"],
        "rate_baseline_f1": metrics["rate_baseline_f1"]["f1"],
        "n_test_windows": int(len(te))})
    return out


def part_celegans(quick: bool, seed: int) -> dict:
    import neurodata as nd
    from decoders.neuroformer.workflow import evaluate, prepare

    rec = nd.load_sample("celegans_atanas2023")
    cfg = _cfg(data={"recording": "celegans_atanas2023", "source": "calcium",
                     "calcium_threshold": 2.5, "split": [0.7, 0.15, 0.15]},
               tokens={"window": 1.8, "past_window": 3.6, "dt": 0.6, "block_size": 64,
                       "max_past": 128},
               model={"n_embd": 64, "n_head": 4, "n_layer": 2, "dropout": 0.1,
                      "behaviour": None},
               train={"epochs": 5 if quick else 30, "batch_size": 16, "lr": 1e-3,
                      "seed": seed},
               generate={"n_samples": 1, "condition": "real", "max_windows": None})
    prep = prepare(rec, cfg)
    model, out = _fit(prep, cfg)
    metrics, _ = evaluate(model, prep, cfg)
    f1s = [metrics["token_f1"]["f1"]]
    from decoders.neuroformer.generate import generate_samples
    from decoders.neuroformer.readouts import token_f1

    # average the sampled F1 over a few more seeds (one-window-ahead, real past)
    real = _real(prep, metrics)
    for s in range(1, 5):
        g = generate_samples(model, prep.test, condition="real", random_state=seed + s)[0]
        f1s.append(token_f1(real, g, window=prep.test.window)["f1"])
    out.update({"next_event_f1": float(np.mean(f1s)), "next_event_f1_sd": float(np.std(f1s)),
                "rate_baseline_f1": metrics["rate_baseline_f1"]["f1"],
                "n_events": int(prep.spikes.n_spikes),
                "n_test_events": metrics["token_f1"]["n_real"]})
    return out


def part_park(quick: bool, seed: int) -> dict:
    """Grating direction from V1 calcium events (Park et al. 2024, ../shared/data): the
    recipe of ``decoders.neuroformer.trials`` on every file (--quick: the demo file),
    seeds ``seed .. seed + 2`` (--quick: one)."""
    import os

    import neurodata as nd
    from decoders.neuroformer.trials import direction_decoding_run

    root = Path(os.environ.get("NEUROLOOM_SHARED_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))
    folder = root / "calcium" / "park2024_v1_gratings"
    files = sorted(folder.glob("*_data.mat"))
    if not files:
        raise SystemExit(f"part park needs {folder} (../shared/data)")
    if quick:
        files = [f for f in files if "mrcuts28" in f.name] or files[:1]
    out: dict = {}
    for f in files:
        rec = nd.load(f)
        accs = []
        for s in range(seed, seed + (1 if quick else 3)):
            r = direction_decoding_run(rec, random_state=s)
            accs.append(r.accuracy)
        key = f.name.split("_")[1]
        out[f"{key}_neuroformer"] = float(np.mean([a["neuroformer"] for a in accs]))
        out[f"{key}_neuroformer_sd"] = float(np.std([a["neuroformer"] for a in accs]))
        out[f"{key}_ridge_windows"] = accs[0]["ridge_windows"]
        out[f"{key}_logistic_trials"] = accs[0]["logistic_trials"]
        out[f"{key}_n_units_test_trials"] = f"{r.info['n_units']} units, {r.n_test_trials} trials"
    out["chance"] = accs[0]["chance"]
    return out


def _real(prep, metrics):
    from decoders.neuroformer.workflow import in_vocab
    from neurodata.spikes import SpikeTrains

    first = prep.test.first_chunks()
    lo, hi = float(first.window_start[0]), float(first.window_start[-1] + first.window)
    r = prep.spikes.restrict(lo, min(hi, prep.spikes.t_stop))
    r = SpikeTrains(r.times, r.unit_index, r.units, t_start=lo, t_stop=hi)
    return in_vocab(r, list(map(str, prep.tokenizer.units_["name"])))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="sim only, small (60 trials, 3 epochs; ~13 CPU-s)")
    ap.add_argument("--parts", default=None,
                    help="comma list of sim,sim_behaviour_input,hippocampus,celegans,park")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--json", help="write all numbers here")
    ap.add_argument("--epochs", type=int, help="override the epochs of every part")
    ap.add_argument("--token-loss", choices=["chunk", "token"],
                    help="model.token_loss of every part (default: each part's config)")
    args = ap.parse_args(argv)
    global EPOCHS, TOKEN_LOSS
    EPOCHS = args.epochs
    TOKEN_LOSS = args.token_loss
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print_config("bench_neuroformer" + (" --quick" if args.quick else ""))
    parts = (args.parts.split(",") if args.parts else
             (["sim"] if args.quick else ["sim", "hippocampus", "celegans"]))
    funcs = {"sim": part_sim, "sim_behaviour_input": part_sim_behaviour_input,
             "hippocampus": part_hippocampus, "celegans": part_celegans, "park": part_park}
    results = {}
    for p in parts:
        t0, c0 = time.perf_counter(), time.process_time()
        results[p] = funcs[p](args.quick, args.seed)
        results[p]["part_wall_s"] = time.perf_counter() - t0
        results[p]["part_cpu_s"] = time.process_time() - c0
        print(f"\n== {p} ({results[p]['part_wall_s']:.0f} s wall, "
              f"{results[p]['part_cpu_s']:.0f} s CPU)")
        for k, v in results[p].items():
            if isinstance(v, float):
                print(f"  {k:28s} {v:.4g}")
            elif isinstance(v, dict):
                print(f"  {k:28s} " + "  ".join(f"{a}={b:.4g}" for a, b in v.items()))
            else:
                print(f"  {k:28s} {v}")
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    s = results.get("sim")
    if s:
        print(f"SUMMARY train_tokens_per_s={s['train_tokens_per_s']:.0f} "
              f"kvcache_speedup={s['kvcache_speedup']:.2f} "
              f"connectivity_auroc={s['connectivity_auroc']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
