"""End-to-end Neuroformer runs on a ``Recording`` from a :class:`RunConfig`.

:func:`prepare` turns a recording into time-blocked train / validation / test windows
(spikes or calcium events, behaviour and stimulus aligned); :func:`train_run` trains and
evaluates; :func:`evaluate` measures on the test block what the issue asks for:

* token F1 of one-window-ahead generation (``condition="real"``) against the recorded
  spikes, beside a per-neuron rate baseline;
* behaviour decoding (Pearson r, mean absolute error) beside ridge regression on binned
  counts of the same span (and, for a model that reads past behaviour as an input, ridge
  on the counts plus the same past behaviour bins);
* PSTH Pearson r between generated (``condition="generated"``) and recorded trials when
  the test block holds trial events;
* attention connectivity AUROC against a true directed graph stored in the recording
  (the neuron-query head's attention when the model has it, else attention; every
  method's AUROC is reported).

The ``neuroloom neuroformer`` command calls these functions and writes the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurodata.log import logger, verbose
from neurodata.spikes import SpikeTrains

from .config import RunConfig
from .errors import NeuroformerError
from .estimator import Neuroformer
from .generate import generate_samples
from .readouts import (
    attention_connectivity,
    binned_features,
    connectivity_auroc,
    rate_baseline_f1,
    ridge_baseline,
    token_f1,
)
from .simulate import trial_psth
from .tokens import TokenWindows, calcium_event_trains, make_windows, time_blocked_split

__all__ = ["Prepared", "prepare", "train_run", "evaluate", "open_recording_path",
           "series_block", "in_vocab", "pearson", "BehaviourDecoding", "decode_behaviour",
           "Generated", "generate_interval"]


@dataclass
class Prepared:
    """Windows and inputs of one run (see :func:`prepare`)."""

    spikes: SpikeTrains
    tokenizer: Any
    blocks: list[tuple[float, float]]
    train: TokenWindows
    val: TokenWindows | None
    test: TokenWindows | None
    truth: np.ndarray | None = None
    trial_events: Any = None
    behaviour_names: list[str] = field(default_factory=list)


def open_recording_path(path: str | Path):
    """Open a converted ``.h5`` recording (or load any supported source file)."""
    import neurodata as nd

    p = Path(path)
    if not p.exists():
        raise nd.MissingFileError("no such recording; convert one with `neuroloom convert`",
                                  path=p)
    return nd.open(p) if p.suffix.lower() in (".h5", ".hdf5") else nd.load(p)


def series_block(rec: Any, name: str, channels: list[str] | None, what: str):
    """``((times, values), channel names)`` of a timeseries block, finite samples only."""
    if name not in rec.timeseries:
        raise NeuroformerError(f"no timeseries block {name!r} for the {what}; found "
                               f"{sorted(rec.timeseries)}", path=rec.path)
    ts = rec.timeseries[name]
    if channels:
        missing = [c for c in channels if c not in ts.ch_names]
        if missing:
            raise NeuroformerError(f"{what} channels {missing} not in block {name!r} "
                                   f"({ts.ch_names})", path=rec.path)
        ts = ts.pick(channels)
    t = np.asarray(ts.times, np.float64)
    v = np.asarray(ts[:], np.float32)
    ok = np.isfinite(v).all(axis=1)
    if not ok.all():  # dropped samples (NaN) are left out, never filled in
        t, v = t[ok], v[ok]
    return (t, v), list(ts.ch_names)


@verbose
def prepare(rec: Any, cfg: RunConfig, *, tokenizer: Any = None,
            verbose: bool | str | None = None) -> Prepared:
    """Spikes (or calcium events), tokenizer and time-blocked windows of one recording.

    Parameters
    ----------
    rec : neurodata.Recording
    cfg : RunConfig
    tokenizer : SpikeTokenizer or None
        Reuse a vocabulary (e.g. a trained model's); default: fit on the recording.
    verbose : bool or str or None
    """
    from ..tokenizers import SpikeTokenizer
    from .tokens import vocabulary_tokenizer

    d, t = cfg.data, cfg.tokens
    if d.source == "spikes":
        if not rec.spikes:
            raise NeuroformerError("the recording has no spike block; use data.source: "
                                   "calcium for calcium traces", path=rec.path)
        name = d.block or next(iter(rec.spikes))
        if name not in rec.spikes:
            raise NeuroformerError(f"no spike block {name!r}; found {sorted(rec.spikes)}",
                                   path=rec.path)
        spikes = rec.spikes[name]
    else:
        name = d.block or next((k for k, v in rec.timeseries.items()
                                if (v.channels["type"] == "neuron").any()), None)
        if name is None or name not in rec.timeseries:
            raise NeuroformerError(f"no calcium timeseries block {name!r}; found "
                                   f"{sorted(rec.timeseries)}", path=rec.path)
        spikes = calcium_event_trains(rec.timeseries[name], threshold=d.calcium_threshold,
                                      deconvolved=d.calcium_deconvolved, tau=d.calcium_tau)
    if tokenizer is None:
        tokenizer = SpikeTokenizer(window=t.window, past_window=t.past_window, dt=t.dt).fit(
            spikes)
    elif not hasattr(tokenizer, "units_"):
        tokenizer = vocabulary_tokenizer(list(tokenizer), window=t.window,
                                         past_window=t.past_window, dt=t.dt)
    t0, t1 = d.interval if d.interval else (spikes.t_start, spikes.t_stop)
    blocks = time_blocked_split(t0, t1, fractions=d.split, gap=d.gap)
    beh = stim = None
    names: list[str] = []
    if d.behaviour:
        beh, names = series_block(rec, d.behaviour, d.behaviour_channels, "behaviour")
    if d.stimulus:
        stim, _ = series_block(rec, d.stimulus, None, "stimulus")
    kw = dict(behaviour=beh, stimulus=stim, stimulus_steps=t.stimulus_steps,
              block_size=t.block_size, max_past=t.max_past, **_input_kw(rec, cfg))
    wins = [make_windows(spikes, tokenizer, interval=b, **kw) for b in blocks]
    truth = None
    if d.truth or "truth" in getattr(rec, "connectivity", {}):
        key = d.truth or "truth"
        if key not in rec.connectivity:
            raise NeuroformerError(f"no connectivity block {key!r}; found "
                                   f"{sorted(rec.connectivity)}", path=rec.path)
        con = rec.connectivity[key]
        order = [con.nodes.index(u) for u in map(str, tokenizer.units_["name"])]
        truth = np.asarray(con.weights)[np.ix_(order, order)] != 0
    return Prepared(spikes, tokenizer, blocks, wins[0], wins[1] if len(wins) > 1 else None,
                    wins[2] if len(wins) > 2 else None, truth,
                    rec.events.to_dataframe() if len(rec.events) else None, names)


def model_from_config(cfg: RunConfig, *, checkpoint_dir: str | None = None) -> Neuroformer:
    """The :class:`Neuroformer` estimator a config describes."""
    m, t, tr = cfg.model, cfg.tokens, cfg.train
    return Neuroformer(m.n_embd, n_head=m.n_head, n_layer=m.n_layer,
                       n_past_layer=m.n_past_layer, dropout=m.dropout,
                       block_size=t.block_size, past_block_size=t.max_past,
                       behaviour=m.behaviour, contrastive=m.contrastive,
                       neuron_attention=m.neuron_attention, token_loss=m.token_loss,
                       loss_weights=m.loss_weights, temperature=m.temperature,
                       epochs=tr.epochs, batch_size=tr.batch_size, lr=tr.lr,
                       weight_decay=tr.weight_decay, warmup=tr.warmup, min_lr=tr.min_lr,
                       grad_clip=tr.grad_clip, amp=tr.amp, device=tr.device,
                       max_steps=tr.max_steps, checkpoint_dir=checkpoint_dir,
                       random_state=tr.seed)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r of two arrays (NaN when either is constant)."""
    a, b = np.ravel(a), np.ravel(b)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@verbose
def evaluate(model: Neuroformer, prep: Prepared, cfg: RunConfig, *,
             verbose: bool | str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics on the test block (validation block when there is no test block).

    Returns
    -------
    metrics : dict
        JSON-able numbers (see the module docstring).
    artifacts : dict
        Arrays for figures: ``real``/``generated`` SpikeTrains excerpts, ``psth_real``,
        ``psth_generated``, ``connectivity``, ``truth``, ``behaviour_true``/``_pred``.
    """
    g = cfg.generate
    test = prep.test if prep.test is not None else prep.val
    if test is None:
        raise NeuroformerError("evaluation needs a validation or test block; give data.split "
                               "two or three fractions")
    block = prep.blocks[2] if prep.test is not None else prep.blocks[1]
    metrics: dict[str, Any] = {"test_block": list(block), "n_test_windows": test.n_windows,
                               "n_test_tokens": test.n_tokens}
    art: dict[str, Any] = {}
    metrics["test_losses"] = model.score_losses(test)
    first = test.first_chunks()
    sel = first if g.max_windows is None else first.subset(range(min(len(first),
                                                                    g.max_windows)))
    gen_real = generate_samples(model, sel, condition="real", temperature=g.temperature,
                                top_k=g.top_k, top_p=g.top_p, use_cache=g.use_cache,
                                n_samples=1, random_state=cfg.train.seed)[0]
    lo, hi = gen_real.t_start, gen_real.t_stop
    real = prep.spikes.restrict(max(lo, prep.spikes.t_start), min(hi, prep.spikes.t_stop))
    real = SpikeTrains(real.times, real.unit_index, real.units, t_start=lo, t_stop=hi)
    real = in_vocab(real, model.units_)
    metrics["token_f1"] = token_f1(real, gen_real, window=test.window)
    train_sp = in_vocab(prep.spikes.restrict(*_clip(prep.blocks[0], prep.spikes)),
                         model.units_)
    metrics["rate_baseline_f1"] = rate_baseline_f1(train_sp, real, window=test.window)
    art["real"], art["generated_real_past"] = real, gen_real
    gens = generate_samples(model, sel, condition=g.condition, temperature=g.temperature,
                            top_k=g.top_k, top_p=g.top_p, use_cache=g.use_cache,
                            n_samples=g.n_samples, random_state=cfg.train.seed)
    art["generated"] = gens
    metrics["generated_rate_hz"] = float(np.mean([s.n_spikes for s in gens]) / (hi - lo))
    metrics["real_rate_hz"] = float(real.n_spikes / (hi - lo))
    ev = prep.trial_events
    if ev is not None and "duration" in ev and len(ev):
        on = ev["onset"].to_numpy(float)
        dur = float(np.median(ev["duration"].to_numpy(float)))
        inside = on[(on >= lo) & (on + dur <= hi)]
        if dur > 0 and inside.size >= 2:
            bin_size = max(test.window, dur / 20)
            pr = trial_psth(real, inside, dur, bin_size=bin_size)
            pg = np.mean([trial_psth(s, inside, dur, bin_size=bin_size) for s in gens], axis=0)
            metrics["psth_r"] = pearson(pr, pg)
            metrics["psth_r_per_neuron_median"] = float(np.nanmedian(
                [pearson(pr[:, i], pg[:, i]) for i in range(pr.shape[1])]))
            metrics["n_psth_trials"] = int(inside.size)
            art["psth_real"], art["psth_generated"] = pr, pg
            art["psth_bin"] = bin_size
    if test.behaviour is not None and (model.config_.n_behaviour or
                                       model.config_.behaviour_classes):
        y = test.behaviour[test.chunk == 0]
        pred = model.predict_behaviour(test)
        tr_w = prep.train.first_chunks()
        bins = test.window
        xtr = binned_features(prep.spikes, tr_w.window_start, window=test.window,
                              past_window=test.past_window, bin_size=bins)
        xte = binned_features(prep.spikes, first.window_start, window=test.window,
                              past_window=test.past_window, bin_size=bins)
        ridge = ridge_baseline(xtr, tr_w.behaviour, xte)
        metrics["behaviour"] = {
            "names": prep.behaviour_names,
            "neuroformer_r": [pearson(pred[:, k], y[:, k]) for k in range(y.shape[1])],
            "neuroformer_mae": np.abs(pred - y).mean(0).tolist(),
            "ridge_r": [pearson(ridge[:, k], y[:, k]) for k in range(y.shape[1])],
            "ridge_mae": np.abs(ridge - y).mean(0).tolist()}
        if model.config_.n_behaviour_input and first.behaviour_input is not None:
            # the fair baseline of a model that reads past behaviour: ridge on the same
            # counts plus the same past-window behaviour bins
            def with_input(x, w):
                past = w.behaviour_input * w.behaviour_input_mask[..., None]
                return np.hstack([x.reshape(len(x), -1), past.reshape(len(w), -1)])

            ridge_in = ridge_baseline(with_input(xtr, tr_w), tr_w.behaviour,
                                      with_input(xte, first))
            metrics["behaviour"]["ridge_with_input_r"] = [
                pearson(ridge_in[:, k], y[:, k]) for k in range(y.shape[1])]
        art["behaviour_true"], art["behaviour_pred"], art["behaviour_ridge"] = y, pred, ridge
        art["behaviour_t"] = first.window_start
    if prep.truth is not None:
        methods = ["attention", "attention_grad"]
        if model.config_.neuron_attention:
            methods.insert(0, "neuron_attention")
        by_method = {}
        for method in methods:
            est_m = attention_connectivity(model, test, method=method)
            by_method[method] = connectivity_auroc(est_m, prep.truth)
            if method == methods[0]:
                est = est_m
        metrics["connectivity_method"] = methods[0]
        metrics["connectivity_auroc"] = by_method[methods[0]]
        metrics["connectivity_auroc_by_method"] = by_method
        art["connectivity"], art["truth"] = est, prep.truth
    logger.info("evaluate: token F1 %.3f (rate baseline %.3f)", metrics["token_f1"]["f1"],
                metrics["rate_baseline_f1"]["f1"])
    return metrics, art


def _clip(block: tuple[float, float], sp: SpikeTrains) -> tuple[float, float]:
    return max(block[0], sp.t_start), min(block[1], sp.t_stop)


def in_vocab(sp: SpikeTrains, units: list[str]) -> SpikeTrains:
    """The spikes re-indexed onto a vocabulary (units outside it dropped)."""
    index = {u: i for i, u in enumerate(units)}
    lut = np.array([index.get(str(n), -1) for n in sp.units["name"]], np.int64)
    u = lut[sp.unit_index] if sp.n_spikes else np.zeros(0, np.int64)
    keep = u >= 0
    return SpikeTrains(sp.times[keep], u[keep].astype(np.int32), list(units),
                       t_start=sp.t_start, t_stop=sp.t_stop, name=sp.name)


@verbose
def train_run(rec: Any, cfg: RunConfig, *, checkpoint_dir: str | None = None,
              resume: bool = False, verbose: bool | str | None = None
              ) -> tuple[Neuroformer, Prepared, dict[str, Any], dict[str, Any]]:
    """Prepare, train on the training block (validation each epoch), evaluate on test.

    Under ``torchrun`` every process trains its shard; only rank 0 evaluates (the others
    return empty metrics and artifacts).

    Returns
    -------
    model, prepared, metrics, artifacts
    """
    from .train import distributed_context

    prep = prepare(rec, cfg)
    model = model_from_config(cfg, checkpoint_dir=checkpoint_dir)
    model.fit(prep.train, prep.val, resume=resume)
    if distributed_context()[0] != 0:
        return model, prep, {}, {}
    metrics, art = evaluate(model, prep, cfg)
    h = model.history_
    metrics.update({"n_parameters": model.n_parameters(), "epochs": len(h),
                    "train_tokens": prep.train.n_tokens,
                    "train_tokens_per_s": float(np.mean([e["tokens_per_s"] for e in h]))
                    if h else None,
                    "final_train_loss": h[-1].get("train_loss") if h else None,
                    "final_val_loss": h[-1].get("val_loss") if h else None})
    return model, prep, metrics, art


def _input_kw(rec: Any, cfg: RunConfig) -> dict[str, Any]:
    """``make_windows`` keywords of the behaviour input (none when the config has none)."""
    d = cfg.data
    if not d.behaviour_input:
        return {}
    series, _ = series_block(rec, d.behaviour_input, d.behaviour_input_channels,
                             "behaviour input")
    return {"behaviour_input": series, "behaviour_steps": cfg.tokens.behaviour_steps}


def _stimulus_series(rec: Any, cfg: RunConfig, prep: Prepared):
    """``(times, values)`` of the stimulus block when the model was trained with one."""
    if prep.train.stimulus is None:
        return None
    return series_block(rec, cfg.data.stimulus, None, "stimulus")[0]


@dataclass
class BehaviourDecoding:
    """Behaviour decoded by a trained model over an interval (one row per window).

    Attributes
    ----------
    table : pandas.DataFrame
        ``window_start``, ``pred_<name>`` and, when the recording has the behaviour,
        ``true_<name>`` columns.
    metrics : dict
        ``interval``, ``n_windows`` and, with the truth, ``r`` and ``mae`` per variable.
    window_start, predicted, truth : numpy.ndarray
        The same values as arrays (``truth`` is None without behaviour).
    names : list of str
        The behaviour variables.
    """

    table: Any
    metrics: dict[str, Any]
    window_start: np.ndarray
    predicted: np.ndarray
    truth: np.ndarray | None
    names: list[str]


def decode_behaviour(rec: Any, cfg: RunConfig, model: Neuroformer,
                     interval: tuple[float, float] | None = None) -> BehaviourDecoding:
    """Decode behaviour with a trained model's behaviour head over ``interval``.

    Parameters
    ----------
    rec : Recording
        The recording the config names (``open_recording_path(cfg.data.recording)``).
    cfg : RunConfig
        The run config (tokens, behaviour and stimulus blocks).
    model : Neuroformer
        A fitted model with a behaviour head (its vocabulary is used).
    interval : (float, float) or None
        Seconds; default the test block of the time-blocked split.

    Returns
    -------
    BehaviourDecoding
    """
    import pandas as pd

    prep = prepare(rec, cfg, tokenizer=model.units_)
    t0, t1 = interval if interval is not None else prep.blocks[-1]
    beh = None
    if cfg.data.behaviour:
        beh = series_block(rec, cfg.data.behaviour, cfg.data.behaviour_channels,
                           "behaviour")[0]
    stim = _stimulus_series(rec, cfg, prep)
    w = make_windows(prep.spikes, prep.tokenizer, interval=(t0, t1), behaviour=beh,
                     stimulus=stim, stimulus_steps=cfg.tokens.stimulus_steps,
                     block_size=cfg.tokens.block_size, max_past=cfg.tokens.max_past,
                     **_input_kw(rec, cfg))
    first = w.first_chunks()
    pred = np.asarray(model.predict_behaviour(w)).reshape(len(first), -1)
    names = list(prep.behaviour_names or [str(k) for k in range(pred.shape[1])])
    table = pd.DataFrame(pred, columns=[f"pred_{n}" for n in names])
    table.insert(0, "window_start", first.window_start)
    metrics: dict[str, Any] = {"interval": [float(t0), float(t1)], "n_windows": len(first)}
    truth = None
    if first.behaviour is not None:
        truth = np.asarray(first.behaviour)
        for k in range(truth.shape[1]):
            table[f"true_{names[k]}"] = truth[:, k]
        metrics["r"] = [pearson(pred[:, k], truth[:, k]) for k in range(truth.shape[1])]
        metrics["mae"] = np.abs(pred - truth).mean(0).tolist()
    return BehaviourDecoding(table, metrics, np.asarray(first.window_start), pred, truth,
                             names)


@dataclass
class Generated:
    """Spike trains sampled over an interval, beside the real ones in the vocabulary."""

    samples: list[SpikeTrains]
    real: SpikeTrains
    interval: tuple[float, float]


def generate_interval(rec: Any, cfg: RunConfig, model: Neuroformer,
                      interval: tuple[float, float] | None = None, *,
                      n_samples: int | None = None) -> Generated:
    """Sample spike trains for ``interval`` (default the test block) from a trained model.

    Sampling settings come from ``cfg.generate`` (temperature, top-k, top-p, KV cache,
    conditioning) and the seed from ``cfg.train.seed``; ``n_samples`` overrides
    ``cfg.generate.n_samples``.
    """
    prep = prepare(rec, cfg, tokenizer=model.units_)
    model.check_windows(prep.train)
    t0, t1 = interval if interval is not None else prep.blocks[-1]
    stim = _stimulus_series(rec, cfg, prep)
    w = make_windows(prep.spikes, prep.tokenizer, interval=(t0, t1), stimulus=stim,
                     stimulus_steps=cfg.tokens.stimulus_steps,
                     block_size=cfg.tokens.block_size, max_past=cfg.tokens.max_past,
                     **_input_kw(rec, cfg))
    g = cfg.generate
    samples = generate_samples(model, w, n_samples=n_samples or g.n_samples,
                               condition=g.condition, temperature=g.temperature,
                               top_k=g.top_k, top_p=g.top_p, use_cache=g.use_cache,
                               random_state=cfg.train.seed)
    real = prep.spikes.restrict(max(t0, prep.spikes.t_start), min(t1, prep.spikes.t_stop))
    return Generated(samples, in_vocab(real, model.units_), (float(t0), float(t1)))
