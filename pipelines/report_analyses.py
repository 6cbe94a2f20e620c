"""Report sections of the analysis steps: connectome, HMM-GLM, decoding, tokenizers,
Neuroformer and brain -> caption decoding (fMRI).

Each function takes a finished step's folder (with ``step.json``) and returns report
sections built from the files that step wrote; nothing is refitted here except the
tokenizers' round trips on a short segment (encode + decode with the saved tokenizer).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .report import ReportSection, figure_to_png, fmt

__all__ = ["connectome_sections", "glmhmm_sections", "decoding_sections",
           "tokenizer_sections", "homogenize_sections", "neuroformer_sections",
           "brain_decoding_sections"]


def _png(path: Path, caption: str) -> tuple[bytes, str] | None:
    return (path.read_bytes(), caption) if path.is_file() else None


def _figs(*items) -> list[tuple[bytes, str]]:
    return [i for i in items if i is not None]


def homogenize_sections(folder: Path, record: dict[str, Any]) -> list[ReportSection]:
    import neurodata as nd

    with nd.open(folder / record["main"]) as rec:
        ts = rec.timeseries[record["params"].get("block")] if record["params"].get("block") \
            else next(iter(rec.timeseries.values()))
        ch = ts.channels
        present = int(ch["present"].sum()) if "present" in ch else ts.n_channels
        row = {"recording": record["name"], "from": record["params"]["input"],
               "block": ts.name, "vocabulary": record["params"].get("channels", "own"),
               "channels": ts.n_channels, "recorded": present,
               "missing (NaN)": ts.n_channels - present, "rate (Hz)": ts.rate,
               "duration (s)": ts.duration,
               "normalisation": record["params"].get("normalize", "none")}
    return [ReportSection(
        f"Homogenized {record['name']}", tables=[pd.DataFrame([row])], level=2,
        reading="The recording mapped onto a shared channel vocabulary at one rate: "
                "'recorded' channels carry data, 'missing' ones are NaN placeholders so that "
                "recordings of different animals or labs line up channel by channel.")]


def _named_graph(cp: dict, pairs: np.ndarray, names: list[str], membership: list[int],
                 k: int, top: int = 120) -> bytes:
    import matplotlib.pyplot as plt

    load = cp["factor_0"][:, k]
    order = np.argsort(load)[::-1][:top]
    memb = np.asarray(membership)
    nodes = np.argsort(memb, kind="stable")
    ang = {int(n): 2 * np.pi * i / len(nodes) for i, n in enumerate(nodes)}
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    w = load[order] / (load[order].max() or 1)
    for (a, b), wi in zip(pairs[order], w, strict=True):
        xa, ya = np.cos(ang[int(a)]), np.sin(ang[int(a)])
        xb, yb = np.cos(ang[int(b)]), np.sin(ang[int(b)])
        ax.plot([xa, xb], [ya, yb], color="0.4", lw=0.3 + 1.5 * wi, alpha=0.2 + 0.5 * wi)
    for n, a in ang.items():
        c = f"C{memb[n] % 10}"
        ax.scatter(np.cos(a), np.sin(a), s=28, color=c, zorder=3, edgecolor="k", lw=0.3)
        ax.text(1.09 * np.cos(a), 1.09 * np.sin(a), names[n], fontsize=5.5,
                rotation=np.degrees(a) if np.cos(a) >= 0 else np.degrees(a) + 180,
                ha="left" if np.cos(a) >= 0 else "right", va="center",
                rotation_mode="anchor", color=c)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"component {k}: {len(set(memb.tolist()))} communities (colours), "
                 f"{len(order)} strongest pairs")
    return figure_to_png(fig)


def connectome_sections(folder: Path, record: dict[str, Any]) -> list[ReportSection]:
    out_dir = folder / record["main"]
    res = json.loads((out_dir / "result.json").read_text())
    comms = json.loads((out_dir / "communities.json").read_text())
    cp = dict(np.load(out_dir / "cp.npz"))
    aff = np.load(out_dir / "affinity.npz")
    pairs = aff["pairs"]
    fit = res.get("fit", {})
    data = res.get("data", {})
    overview = ReportSection(
        "Dynamic functional connectome", level=2,
        text=[f"{data.get('n_neurons')} neurons of {len(data.get('animals', []))} animal(s), "
              f"{data.get('n_windows')} windows of {res['config'].get('window_s')} s every "
              f"{res['config'].get('step_s')} s, {res['config'].get('affinity')} affinity "
              f"between all {data.get('n_pairs')} pairs, non-negative CP of rank "
              f"{res['config'].get('rank')} ({res['config'].get('restarts')} restarts): "
              f"relative reconstruction error {fmt(fit.get('relative_error'))}, "
              f"{'converged' if fit.get('converged') else 'not converged'} after "
              f"{fit.get('n_iter')} iterations."],
        tables=[pd.DataFrame([{"component": c["component"], "weight": c["weight"],
                               "peak time (s)": c["peak_time"],
                               "communities": c["n_communities"],
                               "community sizes": c["community_sizes"]}
                              for c in res["components"]])],
        figures=_figs(_png(out_dir / "figures" / "time_courses.png",
                           "time course of every component (window loading)")),
        reading="Each component is a set of neuron pairs whose coupling rises and falls "
                "together over time: its weight is its share of the data, its time course "
                "says when it is active, and a relative error of 0.5 means the components "
                "capture about three quarters of the affinity tensor's energy (1 - 0.5²).")
    sections = [overview]
    enrich = res.get("enrichment")
    for k, (c, comm) in enumerate(zip(res["components"], comms, strict=False)):
        names = comm["node_names"]
        memb = comm["membership"]
        table = pd.DataFrame([{"community": m, "size": int(np.sum(np.asarray(memb) == m)),
                               "neurons": ", ".join(n for n, mm in zip(names, memb,
                                                                       strict=True)
                                                    if mm == m)}
                              for m in sorted(set(memb))])
        tables = [table]
        if enrich:
            rows = [e for e in (enrich if isinstance(enrich, list) else enrich.get(
                "components", [])) if isinstance(e, dict) and e.get("component") == k]
            if rows:
                tables.append(pd.DataFrame(rows))
        sections.append(ReportSection(
            f"Connectome component {k}", level=3, tables=tables,
            text=[f"weight {fmt(c['weight'])}, peak at {fmt(c['peak_time'])} s; strongest "
                  f"community: {', '.join(c.get('strongest_community', [])[:20])}."],
            figures=_figs((_named_graph(cp, pairs, names, memb, k),
                           f"component {k}: neurons on a circle grouped by community, "
                           "edges = the pairs loading most on it"),
                          _png(out_dir / "figures" / f"affinity_component{k}.png",
                               f"component {k}: pair loadings as a neuron x neuron matrix")),
            reading="Neurons in one community couple with each other more than with the "
                    "rest while this component is active; the named lists are the "
                    "communities, largest first in the figure's colours."))
    sections.append(ReportSection(
        "Connectome: structural enrichment", level=3,
        tables=[pd.DataFrame(enrich if isinstance(enrich, list) else [enrich])] if enrich
        else [],
        text=[] if enrich else [
            "Not computed in this run: the test needs a structural connectome (the "
            "chemical synapses and gap junctions between named C. elegans neurons), and "
            "none is bundled because the published wiring diagrams (Cook et al. 2019, "
            "Varshney et al. 2011) carry no licence that allows redistributing them.",
            "To turn it on, get one of them yourself — a NemaNode/WormWideWeb .json such "
            "as cook_jarrell_2019_h.json, Varshney's WormAtlas NeuronConnect.csv, Cook "
            "2019's Supplementary Information 5 .xlsx, or a neuroloom .h5 with "
            "/connectivity — and set 'structural: PATH/TO/FILE' in the connectome section "
            "of the pipeline config (relative to the config file; 'shuffles' sets the "
            "degree-preserving shuffles per test, default 1000). Only the connectome job "
            "and this report rerun; see docs/pipelines.md, 'Structural enrichment'."],
        reading="Enrichment counts the structural edges (chemical, electrical, both) that "
                "fall inside communities ('observed') and compares the count with "
                "degree-preserving shuffles ('null_mean' ± 'null_std', z): observed above "
                "the null with a small p means functionally coupled neurons are also wired "
                "together."))
    return sections


def glmhmm_sections(folder: Path, record: dict[str, Any]) -> list[ReportSection]:
    out_dir = folder / record["main"]
    res = json.loads((out_dir / "result.json").read_text())
    models = pd.DataFrame(res["heldout"]["models"]).rename(columns={
        "model": "model", "ll_per_bin": "held-out log-lik. per bin (nats)",
        "bits_per_spike": "bits/spike over Poisson", "n_params": "parameters"})
    st = res["states"]
    beh = st.get("behavior", {})
    rows = []
    for k in range(len(st["occupancy"])):
        row = {"state": k, "occupancy": st["occupancy"][k],
               "mean dwell (s)": st["mean_dwell_s"][k]}
        for var, info in beh.items():
            if isinstance(info, dict) and "per_state" in info:
                row[f"mean {var} ({info.get('unit', '')})"] = info["per_state"]["mean"][k]
        rows.append(row)
    eta = ", ".join(f"{v}: {fmt(i['eta_squared'])}" for v, i in beh.items()
                    if isinstance(i, dict) and "eta_squared" in i)
    d = res["data"]
    figs = [f for f in (_png(out_dir / "figures" / n, c) for n, c in [
        ("posteriors.png", "state posteriors over time with the behaviour"),
        ("state_weights.png", "coupling weights of each state"),
        ("learned_prior.png", "learned prior")]) if f]
    return [ReportSection(
        "State-switching GLM (HMM-GLM)", level=2,
        text=[f"{d['n_units']} units, {res['config']['bin_s']}-s bins, "
              f"{res['config']['t_start']}-{res['config']['t_stop']} s, "
              f"{res['config']['states']} states, prior {res['config']['prior']}; held out "
              f"{res['heldout']['n_bins']} bins with {res['heldout']['n_spikes']} spikes.",
              f"States vs behaviour (eta², the share of behavioural variance the state "
              f"explains): {eta or 'no behaviour'}."],
        tables=[models, pd.DataFrame(rows)], figures=figs,
        reading="Model comparison: higher held-out log-likelihood (bits per spike above a "
                "constant-rate Poisson model) is better, so the HMM-GLM wins if it beats "
                "the single coupling GLM; state table: how often each state occurs, how "
                "long it lasts and the mean behaviour during it.")]


def decoding_sections(folder: Path, record: dict[str, Any]) -> list[ReportSection]:
    runs = folder / record["main"]
    latest = json.loads((runs / "latest.json").read_text())
    run_dir = Path(latest["path"])
    if not run_dir.is_absolute() or not run_dir.exists():
        run_dir = runs / latest["run_dir"]
    summary = pd.read_csv(run_dir / "summary.csv")
    table = pd.DataFrame({
        "pipeline": summary["pipeline"], "evaluation": summary["scheme"],
        "metric": summary["scoring"], "score (mean)": summary["mean"],
        "score (SD)": summary["std"], "folds": summary["n_folds"],
        "chance (permutations)": summary["chance_level"],
        "chance 95th pct": summary["chance_p95"], "p": summary["p_value"],
        "fit time (s)": summary["fit_time_s"]})
    p = record["params"]
    return [ReportSection(
        "Decoding benchmark", level=2,
        text=[f"Classes {', '.join(f'{k} = {v}' for k, v in p['classes'].items())}; epochs "
              f"{p['epochs'].get('tmin')}-{p['epochs'].get('tmax')} s after the cue, "
              f"{p['epochs'].get('l_freq')}-{p['epochs'].get('h_freq')} Hz; "
              f"{p.get('n_permutations', 0)} label permutations per evaluation give the "
              "empirical chance level."],
        tables=[table],
        figures=_figs(_png(run_dir / "scores.png", "score per pipeline and fold, with chance"),
                      _png(run_dir / "paired.png", "paired comparison of pipelines")),
        links=[("summary.md", str(run_dir / "summary.md")),
               ("results.csv (per fold)", str(run_dir / "results.csv"))],
        reading="A pipeline decodes above chance when its mean score is above the 95th "
                "percentile of the permutation scores (p < 0.05); ROC AUC 0.5 is guessing "
                "and 1.0 perfect, and with few trials the SD across folds is large.")]


def _rvq_section(folder: Path, record: dict[str, Any], rec_path: Path,
                 tok_path: Path) -> ReportSection:
    import matplotlib.pyplot as plt

    import neurodata as nd
    from decoders.tokenizers import RVQTokenizer

    tok = RVQTokenizer.load(tok_path)
    z = np.load(folder / record["main"])
    codes = z["codes"]
    meta = json.loads(str(z["meta"]))
    with nd.open(rec_path) as rec:
        ts = rec.timeseries[meta["block"]]
        seg = ts.restrict(ts.t0, min(ts.t_end, ts.t0 + 20.0)).load()
        target, recon = tok.reconstruct(seg)
        names = list(ts.ch_names)
    err = float(np.mean((target - recon) ** 2) / np.mean((target - target.mean(0)) ** 2))
    Q = codes.shape[2]
    usage = [len(np.unique(codes[:, :, q])) for q in range(Q)]
    t = np.arange(len(target)) / tok.sfreq
    show = min(4, target.shape[1])
    fig, axes = plt.subplots(show, 1, figsize=(11, 1.5 * show + 0.6), sharex=True,
                             squeeze=False)
    span = t <= 4.0
    for i in range(show):
        ax = axes[i, 0]
        ax.plot(t[span], target[span, i] * 1e6, color="k", lw=0.7, label="signal")
        ax.plot(t[span], recon[span, i] * 1e6, color="C1", lw=0.9, label="from codes")
        ax.set_ylabel(f"{names[i]} (µV)", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(f"RVQ reconstruction ({tok.n_codebooks} x {tok.codebook_size} codes = "
                 f"{tok.bits_per_patch:g} bits per {tok.patch_seconds:g}-s patch)")
    fig.tight_layout()
    table = pd.DataFrame([{"channels": codes.shape[0], "patches": codes.shape[1],
                           "codebooks": Q, "codebook size": tok.codebook_size,
                           "bits/patch": tok.bits_per_patch,
                           "codes used per codebook": usage,
                           "relative error (first 20 s)": err,
                           "training steps": tok.n_steps_done_}])
    return ReportSection(
        "Tokenizer: residual VQ (EEG)", level=3, tables=[table],
        figures=[(figure_to_png(fig), "first channels: signal (black) and its decoding from "
                                      "the codes (orange)")],
        reading="The relative error is the reconstruction's squared error over the signal's "
                "variance (0 is perfect, 1 is no better than the mean); 'codes used' near "
                "the codebook size means the codebook is fully exploited.")


def _spike_section(folder: Path, record: dict[str, Any], rec_path: Path,
                   tok_path: Path) -> ReportSection:
    import matplotlib.pyplot as plt

    import neurodata as nd
    from decoders.tokenizers import SpikeTokenizer

    tok = SpikeTokenizer.load(tok_path)
    z = np.load(folder / record["main"])
    lengths = z["lengths"]
    with nd.open(rec_path) as rec:
        sp = next(iter(rec.spikes.values()))
        t0 = float(sp.t_start)
        part = sp.restrict(t0, t0 + 30.0)
        tokens = tok.encode(part)
        back = tok.decode(tokens)
    dt = tok.dt
    n_in = len(part.times)

    def bins(times: np.ndarray, units: np.ndarray) -> Counter:
        # (unit name, time bin) pairs: unit indices differ between the two trains
        return Counter(zip(units.tolist(), np.floor((times - tokens.origin) / dt + 1e-9)
                           .astype(int).tolist(), strict=True))

    names_in = np.asarray(part.unit_names)[part.unit_index]
    names_out = np.asarray(back.unit_names)[back.unit_index]
    recovered = sum((bins(part.times, names_in) & bins(back.times, names_out)).values())
    fig, ax = plt.subplots(figsize=(11, 3.5))
    ax.scatter(part.times, part.unit_index, s=6, marker="|", color="k", label="recorded")
    ax.scatter(back.times, back.unit_index + 0.35, s=6, marker="|", color="C1",
               label="decoded from tokens")
    ax.set_xlim(t0, t0 + 10)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("unit")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"spike tokens round trip ({dt * 1000:g}-ms resolution), first 10 s")
    fig.tight_layout()
    table = pd.DataFrame([{"windows": len(lengths), "units in vocabulary": len(tok.units_),
                           "tokens per window (median)": float(np.median(lengths)),
                           "time resolution (ms)": dt * 1000,
                           "spikes in 30 s": n_in, "decoded spikes": len(back.times),
                           "recovered in their time bin": f"{recovered} of {n_in}"}])
    return ReportSection(
        "Tokenizer: spike tokens (hippocampus)", level=3, tables=[table],
        figures=[(figure_to_png(fig), "recorded spikes (black) and spikes decoded from the "
                                      "tokens (orange, shifted up)")],
        reading="Spike tokens are lossless up to the time resolution: every recorded spike "
                "should come back in its time bin, so 'decoded spikes' equals 'spikes'.")


def tokenizer_sections(folder: Path, record: dict[str, Any],
                       records: dict[str, tuple[Path, dict]]) -> list[ReportSection]:
    """One section per encoded tokenizer (``tokenize_encode`` jobs)."""
    tok_path = Path(record["inputs"]["tokenizer"][0]["path"])
    rec_path = Path(record["inputs"]["recording"][0]["path"])
    if record["name"] == "rvq":
        return [_rvq_section(folder, record, rec_path, tok_path)]
    return [_spike_section(folder, record, rec_path, tok_path)]


def _flat_metrics(obj: Any, prefix: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            rows += _flat_metrics(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, int | float | str | bool) or obj is None:
        rows.append({"metric": prefix, "value": obj})
    elif isinstance(obj, list) and len(obj) <= 8 and all(isinstance(v, int | float)
                                                          for v in obj):
        rows.append({"metric": prefix, "value": obj})
    return rows


def neuroformer_sections(folder: Path, record: dict[str, Any]) -> list[ReportSection]:
    """The Neuroformer run: test-block metrics against the rate baseline, figures."""
    out_dir = folder / record["main"]
    res = json.loads((out_dir / "result.json").read_text())
    metrics = res.get("metrics", {})
    f1 = metrics.get("token_f1", {}).get("f1")
    base = metrics.get("rate_baseline_f1", {}).get("f1")
    names = {"loss_curves.png": "training and validation loss per epoch",
             "raster_generated_vs_real.png": "spikes generated by the model vs recorded",
             "psth_comparison.png": "PSTH of generated vs recorded spikes",
             "connectivity_vs_truth.png": "attention connectivity vs the true wiring",
             "behaviour.png": "behaviour decoded from the model vs measured"}
    figs = _figs(*(_png(out_dir / "figures" / n, c) for n, c in names.items()))
    run = record["params"]["run"]
    return [ReportSection(
        "Neuroformer (generative spike model)", level=2,
        text=[f"Trained on '{record['params']['input']}' ({run.get('data', {}).get('source')}"
              f", interval {run.get('data', {}).get('interval', 'all')} s) for "
              f"{metrics.get('epochs')} epoch(s); test-block next-spike token F1 {fmt(f1)} "
              f"vs {fmt(base)} for a firing-rate baseline."],
        tables=[pd.DataFrame(_flat_metrics(metrics))], figures=figs,
        reading="Token F1 scores how well the model predicts which neuron fires next in "
                "each window of the held-out block (1 is perfect); it is only meaningful "
                "above the rate baseline, which predicts from firing rates alone.")]


def _pct(value: Any) -> str:
    return "" if value is None else f"{100 * float(value):.1f} %"


def brain_decoding_sections(folder: Path, record: dict[str, Any]) -> list[ReportSection]:
    """Brain -> caption retrieval (``neuroloom decode eval``): top-1 with chance and p,
    top-k and top-1 vs N curves, per-run scores beside nilearn's Decoder when computed."""
    out_dir = folder / record["main"]
    m = json.loads((out_dir / "metrics.json").read_text())
    n_cat = len(m["categories"])
    n_perm = int(m.get("n_permutations") or 0)
    space = m.get("embedding_space", {})
    summary = {"caption retrieval top-1": _pct(m["top1"]),
               f"chance (1/{n_cat})": _pct(m["chance"]),
               "permutation null mean": _pct(m.get("null_mean")),
               "null 95th pct": _pct(m.get("null_p95")),
               "p (permutations)": m.get("p_value"), "permutations": n_perm,
               "caption similarity (retrieved vs true)": m.get("caption_similarity")}
    if "nilearn_accuracy" in m:
        summary["nilearn Decoder (SVC) accuracy"] = _pct(m["nilearn_accuracy"])
    curve = pd.DataFrame({"k": [int(k) for k in m["topk_curve"]],
                          "top-k among all captions": list(m["topk_curve"].values()),
                          "chance (k/N)": [int(k) / n_cat for k in m["topk_curve"]]})
    vs_n = pd.DataFrame({"N candidate captions": [int(n) for n in m["topk_vs_n"]],
                         "top-1": list(m["topk_vs_n"].values()),
                         "chance (1/N)": [1 / int(n) for n in m["topk_vs_n"]]})
    per_run = pd.DataFrame({"held-out run": [int(r) for r in m["top1_per_run"]],
                            "caption top-1": list(m["top1_per_run"].values())})
    if "nilearn_per_run" in m:
        # both mappings come from JSON, so their run keys are the same strings
        per_run["nilearn Decoder"] = [m["nilearn_per_run"].get(r) for r in m["top1_per_run"]]
    text = [f"{m['n_blocks']} category blocks ({len(m['top1_per_run'])} runs x {n_cat} "
            f"categories, {m['n_voxels']} voxels, layout {m.get('layout')}): a ridge "
            f"decoder maps each block's voxels to the {space.get('dim')}-d "
            f"{space.get('name')} sentence embedding of its category's caption, trained "
            "on the other runs, and the block is assigned the nearest of the "
            f"{n_cat} captions.",
            f"Caption-retrieval top-1 {_pct(m['top1'])} against chance {_pct(m['chance'])}"
            + (f", permutation p = {fmt(m['p_value'])} ({n_perm} within-run label "
               f"permutations, smallest possible p {fmt(1 / (n_perm + 1))})"
               if m.get("p_value") is not None else ", no permutation test")
            + (f"; nilearn's Decoder (linear SVC on the same folds, classifying the "
               f"categories directly) {_pct(m['nilearn_accuracy'])}."
               if "nilearn_accuracy" in m else
               "; nilearn's Decoder was not run (brain_decoding.nilearn_reference: false).")]
    names = {"retrieval_curve.png": "top-k accuracy among all captions (chance dashed)",
             "topk_vs_n.png": "top-1 among N candidate captions (chance 1/N dashed)",
             "confusion_matrix.png": "true category (rows) vs retrieved caption (columns)",
             "per_run_scores.png": "top-1 per held-out run"
                                   + (", beside nilearn's Decoder" if "nilearn_accuracy"
                                      in m else "")}
    figs = _figs(*(_png(out_dir / n, c) for n, c in names.items()))
    links = [(n, str(out_dir / n)) for n in ("metrics.json", "per_run.csv", "topk_vs_n.csv",
                                             "retrieval_curve.csv")
             if (out_dir / n).is_file()]
    return [ReportSection(
        "Brain → caption decoding (fMRI)", level=2, text=text,
        tables=[pd.DataFrame([summary]), curve, vs_n, per_run], figures=figs, links=links,
        reading=f"Top-1 is the share of held-out blocks whose decoded embedding is closest "
                f"to the caption of the category actually shown: guessing gives 1/{n_cat} = "
                f"{_pct(1 / n_cat)}, p is the share of label permutations that scored as "
                "high, and in the curves the decoder should stay above the dashed chance "
                "line for every k and N.")]
