"""Autoregressive generation of spike trains from a trained Neuroformer, with a KV cache.

Windows are generated one after another.  Inside a window the model samples the next
neuron ID (temperature, top-k, top-p), then its time offset given that ID; offsets may not
decrease (tokens are in time order, as the tokenizer writes them) and ``EOS`` ends the
window.  The past context of each window is either

* ``condition="generated"``: the spikes the model generated in the preceding past window
  (the first windows use the real spikes before the interval as a prompt), or
* ``condition="real"``: the recorded past window (one-window-ahead prediction; all windows
  then run in parallel).

Stimulus and behaviour inputs come from the real windows.  With ``use_cache=True`` every attention
layer keeps its keys and values, so each new token costs one position instead of the
whole prefix; results are identical to ``use_cache=False`` for the same random state.
A window that reaches the model's context (``block_size``) continues in a new chunk that
starts from its last token, exactly as training chunks do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurodata.log import verbose
from neurodata.spikes import SpikeTrains

from .errors import NeuroformerError
from .tokens import EOS, N_SPECIAL, PAD, SOS, TokenWindows

__all__ = ["generate", "generate_samples", "sample_logits"]

_UNK = 3


def sample_logits(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, generator: torch.Generator | None = None
                  ) -> torch.Tensor:
    """Sample one index per row of ``logits`` (B, V) with temperature, top-k and top-p.

    ``temperature == 0`` takes the arg-max.  Top-p keeps the smallest set of most likely
    entries whose probability reaches ``top_p`` (nucleus sampling, Holtzman et al. 2020).
    """
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k > 0 and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0 < top_p < 1:
        srt, idx = logits.sort(dim=-1, descending=True)
        cum = srt.softmax(-1).cumsum(-1)
        drop = cum - srt.softmax(-1) >= top_p  # keep the entry that crosses top_p
        srt = srt.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, srt)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def _pad(seqs: list[np.ndarray], device) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(1, max((len(s) for s in seqs), default=0))
    out = torch.full((len(seqs), n), PAD, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.bool)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(np.asarray(s, np.int64))
        mask[i, : len(s)] = True
    return out.to(device), mask.to(device)


@torch.no_grad()
def generate_windows(net, past_ids, past_dts, stimulus, *, n_win: int, max_tokens: int,
                      temperature, top_k, top_p, use_cache, generator, device,
                      stop_at_eos: bool = True, behaviour_input=None,
                      behaviour_input_mask=None):
    """Generate one window for each of B contexts; returns lists of (ids, offsets).

    ``stop_at_eos=False`` forbids EOS so that exactly ``max_tokens`` tokens are drawn (for
    timing the decoder at a fixed length).  ``behaviour_input`` (B, steps, channels) and
    its mask are the past-window behaviour bins of models built with that input.
    """
    b = len(past_ids)
    pid, pmask = _pad(past_ids, device)
    pdt, _ = _pad(past_dts, device)
    batch = {"past_id": pid, "past_dt": pdt, "past_mask": pmask}
    if stimulus is not None:
        batch["stimulus"] = torch.as_tensor(stimulus, dtype=torch.float32, device=device)
    if behaviour_input is not None:
        batch["behaviour_input"] = torch.as_tensor(behaviour_input, dtype=torch.float32,
                                                   device=device)
        if behaviour_input_mask is not None:
            batch["behaviour_input_mask"] = torch.as_tensor(behaviour_input_mask,
                                                            dtype=torch.bool, device=device)
    mem = net.encode_memory(batch)
    block = net.config.block_size
    last_id = torch.full((b, 1), SOS, dtype=torch.long, device=device)
    last_dt = torch.full((b, 1), SOS, dtype=torch.long, device=device)
    seq_id, seq_dt = last_id, last_dt
    cache = [{} for _ in net.decoder] if use_cache else None
    pos = 0
    done = torch.zeros(b, dtype=torch.bool, device=device)
    min_dt = torch.full((b,), N_SPECIAL, dtype=torch.long, device=device)
    dt_range = torch.arange(net.config.dt_vocab_size, device=device)
    out_id, out_dt = [], []
    raw_hist = None  # raw embeddings of the chunk's tokens (neuron-query head keys)
    for _ in range(max_tokens):
        if use_cache:
            h, _, raw = net.decode(last_id, last_dt, mem, start=pos, cache=cache)
            raw_hist = raw if raw_hist is None else torch.cat([raw_hist, raw], dim=1)
        else:
            h, _, raw_hist = net.decode(seq_id, seq_dt, mem, start=0)
        h = h[:, -1:]
        lid = net.id_logits(h, mem, raw_hist, start=pos)[0][:, -1]
        h = h[:, -1]
        lid[:, [PAD, SOS, _UNK] if stop_at_eos else [PAD, SOS, EOS, _UNK]] = float("-inf")
        nid = sample_logits(lid, temperature=temperature, top_k=top_k, top_p=top_p,
                            generator=generator)
        ldt = net.dt_logits(h, nid)
        ok = (dt_range[None, :] >= min_dt[:, None]) & (dt_range[None, :] < N_SPECIAL + n_win)
        ldt = ldt.masked_fill(~ok, float("-inf"))
        ndt = sample_logits(ldt, temperature=temperature, top_k=top_k, top_p=top_p,
                            generator=generator)
        eos = nid == EOS
        ndt = torch.where(eos, torch.full_like(ndt, EOS), ndt)
        nid = torch.where(done, torch.full_like(nid, PAD), nid)
        ndt = torch.where(done, torch.full_like(ndt, PAD), ndt)
        out_id.append(nid)
        out_dt.append(ndt)
        min_dt = torch.where(eos | done, min_dt, ndt)
        done = done | eos
        if bool(done.all()):
            break
        last_id, last_dt = nid[:, None], ndt[:, None]
        pos += 1
        if pos >= block:  # continue in a new chunk that starts from the last token
            pos = 0
            cache = [{} for _ in net.decoder] if use_cache else None
            raw_hist = None
            seq_id, seq_dt = last_id, last_dt
        elif not use_cache:
            seq_id = torch.cat([seq_id, last_id], dim=1)
            seq_dt = torch.cat([seq_dt, last_dt], dim=1)
    ids = torch.stack(out_id, 1).cpu().numpy() if out_id else np.zeros((b, 0), np.int64)
    dts = torch.stack(out_dt, 1).cpu().numpy() if out_dt else np.zeros((b, 0), np.int64)
    res = []
    for i in range(b):
        keep = (ids[i] >= N_SPECIAL) & (dts[i] >= N_SPECIAL)
        res.append((ids[i][keep], dts[i][keep] - N_SPECIAL))
    return res


def _behaviour_rows(w: TokenWindows, rows: list[int]) -> dict[str, Any]:
    """The recorded past-window behaviour inputs of chunks ``rows`` (none without)."""
    if w.behaviour_input is None:
        return {}
    return {"behaviour_input": w.behaviour_input[rows],
            "behaviour_input_mask": w.behaviour_input_mask[rows]}


def _prompt(windows: TokenWindows, n_past: int) -> tuple[np.ndarray, np.ndarray]:
    """Real past spikes of the first window as (global tick, id); tick 0 = its start."""
    ids, dts = windows.past_ids[0], windows.past_dts[0]
    return dts - N_SPECIAL - n_past, ids.astype(np.int64)


@verbose
def generate_samples(model: Any, windows: TokenWindows, *, n_samples: int = 1,
                     condition: str = "generated", temperature: float = 1.0,
                     top_k: int | None = None, top_p: float | None = None,
                     use_cache: bool = True, max_tokens_per_window: int | None = None,
                     batch_size: int = 256, random_state: int | None = 0,
                     verbose: bool | str | None = None) -> list[SpikeTrains]:
    """Generate ``n_samples`` spike trains over the interval of ``windows``.

    Parameters
    ----------
    model : Neuroformer
        A fitted estimator.
    windows : TokenWindows
        Real windows of the interval (:func:`make_windows`, consecutive, ``step`` =
        ``window``): they give the window starts, the stimulus inputs and the prompt.
    n_samples : int, default=1
        Independent samples, generated in parallel.
    condition : {"generated", "real"}, default="generated"
        Past context: the model's own spikes, or the recorded past window.
    temperature, top_k, top_p : sampling controls (``temperature=0``: greedy).
    use_cache : bool, default=True
        Key/value cache in every attention layer.
    max_tokens_per_window : int or None
        Cap on tokens per window (default: the model's ``block_size``).
    batch_size : int, default=256
        Sequences per forward pass with ``condition="real"``.
    random_state : int or None, default=0
    verbose : bool or str or None

    Returns
    -------
    samples : list of SpikeTrains
        ``n_samples`` blocks on ``[first window start, last window end]``, units = the
        model's vocabulary, times at bin centres, sorted.
    """
    model.check_windows(windows)
    if condition not in ("generated", "real"):
        raise NeuroformerError(f"condition must be 'generated' or 'real'; got {condition!r}")
    if int(n_samples) < 1:
        raise NeuroformerError(f"n_samples must be >= 1; got {n_samples}")
    net = model.net_.eval()
    device = next(net.parameters()).device
    w = windows.first_chunks()
    order = np.argsort(w.window_start, kind="stable")
    w = w.subset(order)
    dt = w.dt
    n_win = int(round(w.window / dt))
    n_past = int(round(w.past_window / dt))
    start_tick = np.rint((w.window_start - w.window_start[0]) / dt).astype(np.int64)
    if len(w) > 1 and np.any(np.diff(start_tick) != n_win) and condition == "generated":
        raise NeuroformerError("generation needs consecutive windows (step = window); make "
                               "the windows with the tokenizer's default step")
    max_tok = int(max_tokens_per_window or net.config.block_size)
    max_past = net.config.past_block_size
    gen = torch.Generator(device=device)
    gen.manual_seed(0 if random_state is None else int(random_state))
    kw = dict(n_win=n_win, max_tokens=max_tok, temperature=temperature, top_k=top_k,
              top_p=top_p, use_cache=use_cache, generator=gen, device=device)
    ticks: list[list[np.ndarray]] = [[] for _ in range(n_samples)]
    units: list[list[np.ndarray]] = [[] for _ in range(n_samples)]
    if condition == "real":
        jobs = [(k, s) for k in range(len(w)) for s in range(n_samples)]
        for j0 in range(0, len(jobs), batch_size):
            part = jobs[j0:j0 + batch_size]
            rows = [k for k, _ in part]
            stim = None if w.stimulus is None else w.stimulus[rows]
            res = generate_windows(net, [w.past_ids[k] for k, _ in part],
                                    [w.past_dts[k] for k, _ in part], stim, **kw,
                                    **_behaviour_rows(w, rows))
            for (k, s), (ids, offs) in zip(part, res, strict=True):
                ticks[s].append(offs + start_tick[k])
                units[s].append(ids)
    else:
        p_tick, p_id = _prompt(w, n_past)
        hist_t = [[p_tick] for _ in range(n_samples)]
        hist_u = [[p_id] for _ in range(n_samples)]
        for k in range(len(w)):
            lo = start_tick[k] - n_past
            pids, pdts = [], []
            for s in range(n_samples):
                ht = np.concatenate(hist_t[s])
                hu = np.concatenate(hist_u[s])
                sel = (ht >= lo) & (ht < start_tick[k])
                o = np.lexsort((hu[sel], ht[sel]))
                pids.append(hu[sel][o][-max_past:])
                pdts.append((ht[sel][o] - lo + N_SPECIAL)[-max_past:])
            stim = None if w.stimulus is None else np.repeat(w.stimulus[k:k + 1], n_samples, 0)
            res = generate_windows(net, pids, pdts, stim, **kw,
                                    **_behaviour_rows(w, [k] * n_samples))
            for s, (ids, offs) in enumerate(res):
                hist_t[s].append(offs + start_tick[k])
                hist_u[s].append(ids)
                ticks[s].append(offs + start_tick[k])
                units[s].append(ids)
    t0 = float(w.window_start[0])
    t1 = float(w.window_start[-1] + w.window)
    names = list(model.units_)
    out = []
    for s in range(n_samples):
        tk = np.concatenate(ticks[s]) if ticks[s] else np.zeros(0, np.int64)
        un = np.concatenate(units[s]) - N_SPECIAL if units[s] else np.zeros(0, np.int64)
        times = t0 + (tk + 0.5) * dt
        o = np.lexsort((un, times))
        out.append(SpikeTrains(times[o], un[o].astype(np.int32), names, t_start=t0, t_stop=t1,
                               name="generated"))
    return out


def generate(model: Any, windows: TokenWindows, **kwargs: Any) -> SpikeTrains:
    """One generated sample over the interval of ``windows`` (see :func:`generate_samples`).

    Examples
    --------
    >>> from decoders.neuroformer import Neuroformer, make_windows, simulate_circuit
    >>> from decoders.tokenizers import SpikeTokenizer
    >>> sim = simulate_circuit(n_neurons=6, n_trials=3, random_state=0)
    >>> st = sim.recording.spikes["units"]
    >>> tok = SpikeTokenizer(window=0.05, past_window=0.1, dt=0.01).fit(st)
    >>> w = make_windows(st, tok, block_size=16, max_past=32)
    >>> m = Neuroformer(16, n_head=2, n_layer=1, block_size=16, past_block_size=32,
    ...                 epochs=1, verbose=False).fit(w)
    >>> g = generate(m, w.subset(range(4)))
    >>> bool(g.t_start == w.window_start[0]), bool((g.times < g.t_stop).all())
    (True, True)
    """
    kwargs.pop("n_samples", None)
    return generate_samples(model, windows, n_samples=1, **kwargs)[0]
